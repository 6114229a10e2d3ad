/* ratelimit_store.c - fixed-window counters in Redis, in-process while Redis
 * is unreachable (see ratelimit_store.h). */
#include "ratelimit_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "kv.h"
#include "util.h"

/* KEYS[1] counter, ARGV[1] window (ms): count this request; a new counter
 * (or one that somehow lost its expiry) starts a window. -> {count, ms left} */
static const char hit_lua[] = "local n = redis.call('INCR', KEYS[1])\n"
			      "local ttl = redis.call('PTTL', KEYS[1])\n"
			      "if ttl < 0 then\n"
			      "  redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
			      "  ttl = tonumber(ARGV[1])\n"
			      "end\n"
			      "return {n, ttl}\n";

/* KEYS[1] counter: take one count back, never below 0, keeping the window;
 * a counter whose window ended has nothing to take. -> {count, ms left} */
static const char take_back_lua[] = "local ttl = redis.call('PTTL', KEYS[1])\n"
				    "if ttl < 0 then return {0, 0} end\n"
				    "local n = redis.call('DECR', KEYS[1])\n"
				    "if n < 0 then\n"
				    "  redis.call('SET', KEYS[1], 0, 'KEEPTTL')\n"
				    "  n = 0\n"
				    "end\n"
				    "return {n, ttl}\n";

struct ratelimit_store {
	struct kv *kv;
	struct ratelimit_local *local;
	struct kv_script hit;
	struct kv_script take_back;
	int64_t window_ms;
	char window[24]; /* ARGV[1] */
};

struct ratelimit_store *ratelimit_store_new(struct kv *kv, int64_t window_ms,
					    size_t local_max_clients)
{
	struct ratelimit_store *s = xcalloc(1, sizeof(*s));

	s->kv = kv;
	s->local = ratelimit_local_new(local_max_clients);
	kv_script_init(&s->hit, hit_lua);
	kv_script_init(&s->take_back, take_back_lua);
	s->window_ms = window_ms;
	snprintf(s->window, sizeof(s->window), "%" PRId64, window_ms);
	return s;
}

void ratelimit_store_free(struct ratelimit_store *s)
{
	if (!s)
		return;
	ratelimit_local_free(s->local);
	free(s);
}

bool ratelimit_store_add(struct ratelimit_store *s, const char *key, int delta, int64_t *count,
			 int64_t *reset_ms)
{
	long long r[2];
	const char *keys[1] = { key };
	const char *args[1] = { s->window };
	const struct kv_script *script = delta > 0 ? &s->hit : &s->take_back;

	if (s->kv && kv_eval_ints(s->kv, script, 1, keys, delta > 0 ? 1 : 0, args, r, 2) == 0) {
		*count = r[0];
		*reset_ms = r[1];
		return true;
	}
	ratelimit_local_add(s->local, key, delta, s->window_ms, mono_ms(), count, reset_ms);
	return false;
}
