/* posts_cache.h - cache-aside `post:<id>` entries in Redis (via shared/kv.h).
 * Entries are JSON objects of struct post WITHOUT the author's name (names
 * are looked up at read time, so they are always current). Every function
 * degrades to a miss (or a no-op) when Redis is unavailable. */
#ifndef POSTS_CACHE_H
#define POSTS_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "kv.h"
#include "posts_service.h"

/* true on a hit (out filled, strings from a, author_name NULL); *seen says
 * what the read saw, for the fill that may follow. */
bool posts_cache_get(struct kv *kv, struct arena *a, int64_t id, struct post *out,
		     struct kv_seen *seen);
/* Fills post:<p->id> unless it changed since the read that saw *seen (so a
 * row loaded before a comment's commit is not stored after its
 * invalidation). */
void posts_cache_put(struct kv *kv, const struct post *p, int ttl_s, const struct kv_seen *seen);
/* Invalidates post:<id> (kv_cache_invalidate: a tombstone, retried until it
 * lands); called after every committed write that changes it (comment count
 * included). */
void posts_cache_invalidate(struct kv *kv, int64_t id);

#endif
