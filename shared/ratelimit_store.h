/* ratelimit_store.h - fixed-window counters shared through Redis, counted
 * in-process while Redis is unreachable: the storage under the gateway's
 * limiters (gateway/ratelimit.h) and the users service's VerifyCredentials
 * limiter (services/users/users_limit.h), so both count the same way.
 *
 * A counter's window starts at its first hit. A hit is one atomic Redis
 * script (INCR, and PEXPIRE when the window is new), so concurrent hits
 * cannot slip past; a take-back (DECR, never below 0) keeps the window. When
 * Redis does not answer, the same rules run on an in-process table (per
 * process); the next call that reaches Redis uses it again (kv.h retries a
 * dead Redis at most once per second). */
#ifndef SHARED_RATELIMIT_STORE_H
#define SHARED_RATELIMIT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kv;
struct ratelimit_store;

/* kv is borrowed. local_max_clients bounds the in-process table (0: 65536). */
struct ratelimit_store *ratelimit_store_new(struct kv *kv, int64_t window_ms,
					    size_t local_max_clients);
void ratelimit_store_free(struct ratelimit_store *s);

/* count += delta on key (delta 1: a hit, opening a window when none is open;
 * -1: a take-back, never below 0). Fills *count (after it) and *reset_ms
 * (until the window ends). true when Redis counted it, false when the
 * in-process table did. */
bool ratelimit_store_add(struct ratelimit_store *s, const char *key, int delta, int64_t *count,
			 int64_t *reset_ms);

/* ---- ratelimit_local.c: the in-process fallback -------------------------- */

struct ratelimit_local;

/* At most max_clients counters; when full after dropping expired windows, a
 * new key is not counted (fails open) and the caller is told so by a false
 * return. */
struct ratelimit_local *ratelimit_local_new(size_t max_clients);
void ratelimit_local_free(struct ratelimit_local *l);
/* count += delta (delta 1: a hit, starting a window of window_ms when none is
 * open; -1: a take-back, never below 0). Fills *count and *reset_ms. */
bool ratelimit_local_add(struct ratelimit_local *l, const char *key, int delta, int64_t window_ms,
			 int64_t now_ms, int64_t *count, int64_t *reset_ms);

#endif
