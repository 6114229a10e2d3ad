/* posts_cache.h - cache-aside `post:<id>` entries in Redis (via shared/kv.h).
 * Entries are JSON objects of struct post WITHOUT the author's name (names
 * are looked up at read time, so they are always current). Every function
 * degrades to a miss (or a no-op) when Redis is unavailable. */
#ifndef POSTS_CACHE_H
#define POSTS_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "posts_service.h"

struct kv;

/* true on a hit (out filled, strings from a, author_name NULL). */
bool posts_cache_get(struct kv *kv, struct arena *a, int64_t id, struct post *out);
void posts_cache_put(struct kv *kv, const struct post *p, int ttl_s);
/* Deletes post:<id>; called after every committed write that changes it
 * (comment count included). */
void posts_cache_invalidate(struct kv *kv, int64_t id);

#endif
