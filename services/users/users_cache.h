/* users_cache.h - cache-aside `user:<id>` entries in Redis (via shared/kv.h).
 * Entries are JSON objects of struct user. Every function degrades to a miss
 * (or a no-op) when Redis is unavailable: the database stays the truth. */
#ifndef USERS_CACHE_H
#define USERS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "kv.h"
#include "users_service.h"

/* Reads remember what they saw (struct kv_seen, kv.h) and hand it to the fill
 * that follows, so a row loaded before a write cannot be stored after that
 * write's invalidation. */

/* true on a hit (out filled). */
bool users_cache_get(struct kv *kv, int64_t id, struct user *out, struct kv_seen *seen);
/* hit[i] set and out[i] filled for each id found, seen[i] for each; one MGET.
 * Returns hits. */
size_t users_cache_get_many(struct kv *kv, struct arena *a, const int64_t *ids, size_t n,
			    struct user *out, bool *hit, struct kv_seen *seen);
/* Fills user:<u->id> unless it changed since the read that saw *seen. */
void users_cache_put(struct kv *kv, const struct user *u, int ttl_s, const struct kv_seen *seen);
/* The same for the n rows u, read as ids[k] with seen[k] (k < nids); one
 * round trip. */
void users_cache_put_many(struct kv *kv, struct arena *a, const struct user *u, size_t n,
			  const int64_t *ids, const struct kv_seen *seen, size_t nids, int ttl_s);
/* Invalidates user:<id> (kv_cache_invalidate: a tombstone, retried until it
 * lands, and this process reads the entry as a miss until then); called after
 * every committed write. */
void users_cache_invalidate(struct kv *kv, int64_t id);

#endif
