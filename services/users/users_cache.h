/* users_cache.h - cache-aside `user:<id>` entries in Redis (via shared/kv.h).
 * Entries are JSON objects of struct user. Every function degrades to a miss
 * (or a no-op) when Redis is unavailable: the database stays the truth. */
#ifndef USERS_CACHE_H
#define USERS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "users_service.h"

struct kv;

/* true on a hit (out filled). */
bool users_cache_get(struct kv *kv, int64_t id, struct user *out);
/* hit[i] set and out[i] filled for each id found; one MGET. Returns hits. */
size_t users_cache_get_many(struct kv *kv, struct arena *a, const int64_t *ids, size_t n,
			    struct user *out, bool *hit);
void users_cache_put(struct kv *kv, const struct user *u, int ttl_s);
/* One pipelined round trip. */
void users_cache_put_many(struct kv *kv, struct arena *a, const struct user *u, size_t n, int ttl_s);
/* Deletes user:<id>; called after every committed write. */
void users_cache_invalidate(struct kv *kv, int64_t id);

#endif
