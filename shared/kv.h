/* kv.h - Redis client (hiredis) for cache and limits.
 *
 * A small pool of connections shared by threads. Every call fails fast when
 * Redis is down: after a failure, reconnecting is attempted at most once per
 * second, and calls in between return -1 at once, so callers fall back (the
 * cache to PostgreSQL, limits to in-process counters) without waiting.
 *
 * hiredis writes with write(2): the process must ignore SIGPIPE (as
 * rpc_runtime_init does), or a Redis that goes away kills it. */
#ifndef SHARED_KV_H
#define SHARED_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kv;

struct kv_value {
	char *data; /* NULL when the key is missing; owned, see kv_values_release */
	size_t len;
};

/* url: redis://[[user]:password@]host[:port][/db] (port 6379, db 0 by
 * default; user and password percent-decoded; a user is a Redis 6 ACL user:
 * AUTH user password, else AUTH password).
 * timeout_ms bounds connect and each command. Returns NULL when the URL is
 * malformed (nothing is connected yet; connections open on first use). */
struct kv *kv_new(const char *url, int timeout_ms, int max_conns);
void kv_free(struct kv *kv);

/* true when PING answers. */
bool kv_ping(struct kv *kv);

/* 1 found (*val malloc'd, caller frees; NUL-terminated for convenience, *len
 * excludes it), 0 missing, -1 Redis unavailable. */
int kv_get(struct kv *kv, const char *key, char **val, size_t *len);
/* SET key val EX ttl_s. 0 or -1. */
int kv_setex(struct kv *kv, const char *key, const void *val, size_t len, int ttl_s);
/* DEL of n keys in one command. 0 or -1. */
int kv_del(struct kv *kv, const char *const *keys, size_t n);
/* MGET of n keys in one command: out[i] filled (data NULL for misses).
 * 0 or -1 (then out is all misses). Release with kv_values_release. */
int kv_mget(struct kv *kv, const char *const *keys, size_t n, struct kv_value *out);
void kv_values_release(struct kv_value *v, size_t n);
/* SET key val EX ttl_s for n pairs, pipelined (one round trip). 0 or -1. */
int kv_setex_many(struct kv *kv, const char *const *keys, const struct kv_value *vals, size_t n,
		  int ttl_s);

/* A Lua script run with EVALSHA (loaded with EVAL the first time a server
 * has not seen it, e.g. after a restart). src must outlive the script. */
struct kv_script {
	const char *src;
	char sha[41]; /* hex SHA-1 of src */
};

void kv_script_init(struct kv_script *s, const char *src);

/* Runs the script atomically (Redis runs a script without interleaving other
 * commands) with nkeys KEYS and nargs ARGV; the reply must be an array of
 * integers: the first nout go to out. 0, or -1 when Redis is unavailable or
 * the reply is not such an array. */
int kv_eval_ints(struct kv *kv, const struct kv_script *s, int nkeys, const char *const *keys,
		 int nargs, const char *const *args, long long *out, size_t nout);

/* ---- cache entries that cannot go stale (kv_cache.c) --------------------------
 *
 * Cache-aside entries (user:<id>, post:<id>) for which two things hold:
 *
 * A late fill cannot overwrite newer data. An invalidation does not DEL the
 * entry: it writes a tombstone, a value unique to that invalidation ("~" and
 * 16 random hex digits) living KV_TOMBSTONE_TTL_S. A read remembers what it
 * saw (that tombstone, or that the key was absent) in a struct kv_seen before
 * it goes to the database, and its fill is one script that writes only when
 * the key still holds exactly that. An invalidation in between changed it, so
 * the fill of a row loaded before a commit is dropped. (A version check
 * alone would not do: a comment changes a post's commentCount, not its
 * version, and a DEL leaves nothing to compare with.) A tombstone that
 * expired could make "absent" match again, so a fill more than half the
 * tombstone's life after its read is dropped too. Values must not start
 * with '~'.
 *
 * An invalidation is never silently lost. One that does not reach Redis is
 * kept by this process and retried every KV_RETRY_INVALIDATE_MS by a
 * background thread until it lands. Until then (and for a read that overlaps
 * its landing) this process reads that key as a miss and does not fill it, so
 * it never answers from an entry older than its own committed write, Redis
 * stalled or not. What remains: another replica may still read the old entry
 * after Redis answers again and before this process's retry lands (about a
 * second), and an invalidation pending when the process dies is lost (the
 * entry then lives out its TTL). Beyond KV_PENDING_MAX pending keys the process
 * stops reading the cache altogether (and logs it): its own answers stay
 * fresh. */

/* The cache's key spaces. users_cache.c writes user:<id> and replaces it
 * with a tombstone after every committed write to that user; the posts
 * service follows that key for its copy of authors' names (posts_users.c),
 * so whatever changes a user must go on changing that key. */
#define KV_USER_PREFIX "user:"
#define KV_POST_PREFIX "post:"

#define KV_TOMBSTONE_TTL_S 60
#define KV_RETRY_INVALIDATE_MS 100
#define KV_PENDING_MAX 65536
#define KV_TOMBSTONE_MAX 24

/* What a cache read saw, for the fill that follows it. */
struct kv_seen {
	bool fillable;               /* false: Redis unavailable, or the key pending */
	char tomb[KV_TOMBSTONE_MAX]; /* the tombstone seen; "" = the key was absent */
	int64_t at_ms;               /* monotonic time of the read */
};

/* GET key: 1 hit (*val and *len as kv_get), 0 miss (a tombstone counts as
 * one; *seen says whether and how a fill may follow). */
int kv_cache_get(struct kv *kv, const char *key, char **val, size_t *len, struct kv_seen *seen);
/* MGET of n keys: out[i].data NULL for each miss, seen[i] filled. Returns
 * hits. Release out with kv_values_release. */
size_t kv_cache_mget(struct kv *kv, const char *const *keys, size_t n, struct kv_value *out,
		     struct kv_seen *seen);
/* Stores vals[i] under keys[i] (EX ttl_s) for each i whose seen[i] allows it
 * and whose key still holds what seen[i] saw; one round trip. Failures are
 * ignored (the database stays the truth). */
void kv_cache_fill(struct kv *kv, const char *const *keys, const struct kv_value *vals,
		   const struct kv_seen *seen, size_t n, int ttl_s);
/* Replaces key with a fresh tombstone; when Redis does not take it, the key
 * is pending (see above) until the retry lands. Call after every committed
 * write that changes what the entry holds. */
void kv_cache_invalidate(struct kv *kv, const char *key);
/* Keys whose invalidation has not landed yet (tests, logs). */
size_t kv_cache_pending(struct kv *kv);

/* ---- a near copy of cache entries (kv_near.c) ----------------------------------
 *
 * With kv_cache_near, this process also keeps up to `entries` of the cache
 * entries under some key prefixes in its own memory, so that a read of a
 * hot entry costs no round trip. The copy is exact, not a TTL cache: Redis
 * (6.0 or later) sends a message on every change of a key under the
 * prefixes, by any client, and expiry and FLUSHALL included (CLIENT
 * TRACKING ... BCAST), and one thread of this process drops what each
 * names. A read's answer from Redis enters the copy only when no
 * invalidation of its key arrived while it was on its way. A read uses the
 * copy only when no message waits unread on the link, nor read but not yet
 * applied by its thread (kv_near_usable).
 * kv_cache_invalidate drops the key here before and after its tombstone
 * lands, so this process reads its own writes at once.
 *
 * The copy is used only while its link answers: a ping every 100 ms, and no
 * answer for 300 ms (Redis frozen, the thread starved) turns every read
 * back into a Redis read, which falls back to the database when Redis does
 * not answer. A lost link empties the copy; so does a new one. An entry
 * lives at most 60 s. What this adds to the cache's guarantees above:
 * another process's write reaches this copy when its invalidation message
 * does (Redis writes it microseconds after its answer to the writer); an
 * invalidation that has not landed (pending in its writer) is not seen
 * until it lands, or the entry's 60 s run out; while Redis is frozen the
 * copy is read for up to 300 ms after its last answer. Where Redis refuses
 * (older than 6.0, CLIENT disabled) the copy stays empty and it is
 * logged. */

/* Starts the copy for keys starting with one of prefixes (NULL-terminated,
 * at most 4, each under 32 bytes). false when entries is 0 or a prefix is
 * unusable (no copy is kept then). Call once, before the client is shared. */
bool kv_cache_near(struct kv *kv, const char *const *prefixes, size_t entries);
/* true while the copy is in use (tests, health). */
bool kv_cache_near_live(struct kv *kv);

/* Entries a process derives itself, e.g. from another service's reply about
 * the thing a followed key caches: they live in the same copy under that
 * key, until it changes in Redis, exactly as a cache entry's copy does.
 * Check kv_near_usable once per request, before its gets (it is what makes
 * the copy answer only what a message has not overtaken; one poll(2)); then
 * for each miss, kv_near_mark before asking the owner, kv_near_put after. */
struct kv_near_mark {
	bool usable;
	uint64_t gen, seq;
};
bool kv_near_usable(struct kv *kv);
/* A hit copies the entry into *val (malloc'd, NUL-terminated). */
bool kv_near_get(struct kv *kv, const char *key, char **val, size_t *len);
void kv_near_mark(struct kv *kv, const char *key, struct kv_near_mark *m);
void kv_near_put(struct kv *kv, const char *key, const char *val, size_t len,
		 const struct kv_near_mark *m);

/* Internal (kv.c <-> kv_cache.c <-> kv_near.c). */
struct kv_near;
struct kv_near *kv__near_new(struct kv *kv, const char *const *prefixes, size_t entries);
void kv__near_free(struct kv_near *n);
struct kv_near *kv__near(struct kv *kv);
bool kv__near_usable(struct kv_near *n);
/* No usable check: the caller made it. */
bool kv__near_get(struct kv_near *n, const char *key, char **val, size_t *len);
/* Notes, before a Redis read of key, what the put after it checks. */
void kv__near_mark(struct kv_near *n, const char *key, struct kv_near_mark *m);
void kv__near_put(struct kv_near *n, const char *key, const char *val, size_t len,
		  const struct kv_near_mark *m);
void kv__near_drop(struct kv_near *n, const char *key);
/* A connected, authenticated context on the client's db, or NULL. */
struct redisContext;
struct redisContext *kv__open(struct kv *kv);

/* Internal (kv.c <-> kv_cache.c): the pending invalidations of one client. */
struct kv_pending;
struct kv_pending *kv__pending_new(struct kv *kv);
/* Stops the retry thread after one last attempt; logs what is left. */
void kv__pending_free(struct kv_pending *p);
struct kv_pending *kv__pending(struct kv *kv);

#endif
