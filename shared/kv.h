/* kv.h - Redis client (hiredis) for cache, revocations and limits.
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

struct kv;

struct kv_value {
	char *data; /* NULL when the key is missing; owned, see kv_values_release */
	size_t len;
};

/* url: redis://[:password@]host[:port][/db] (port 6379, db 0 by default).
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

#endif
