/* ratelimit.c - shared fixed-window limiters in Redis, in-process while Redis
 * is unreachable (see ratelimit.h). */
#include "ratelimit.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define CLIENT_MAX 64   /* an IPv6 address in text fits */
#define XFF_MAX_HOPS 32 /* X-Forwarded-For entries looked at */

/* KEYS[1] counter, ARGV[1] window (ms): count this request; a new counter
 * (or one that somehow lost its expiry) starts a window. -> {count, ms left} */
static const char hit_lua[] =
	"local n = redis.call('INCR', KEYS[1])\n"
	"local ttl = redis.call('PTTL', KEYS[1])\n"
	"if ttl < 0 then\n"
	"  redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
	"  ttl = tonumber(ARGV[1])\n"
	"end\n"
	"return {n, ttl}\n";

/* KEYS[1] counter: take one count back, never below 0, keeping the window;
 * a counter whose window ended has nothing to take. -> {count, ms left} */
static const char take_back_lua[] =
	"local ttl = redis.call('PTTL', KEYS[1])\n"
	"if ttl < 0 then return {0, 0} end\n"
	"local n = redis.call('DECR', KEYS[1])\n"
	"if n < 0 then\n"
	"  redis.call('SET', KEYS[1], 0, 'KEEPTTL')\n"
	"  n = 0\n"
	"end\n"
	"return {n, ttl}\n";

static const char *const kind_key[RATELIMIT__COUNT] = { "g", "a" };

struct ratelimiter {
	struct ratelimit_config cfg;
	struct kv *kv;
	struct metrics *metrics;
	struct ratelimit_local *local;
	struct kv_script hit;
	struct kv_script take_back;
	char window[24];   /* ARGV[1] */
	atomic_bool fallback; /* counting in-process (Redis unreachable) */
};

struct ratelimiter *ratelimit_new(const struct ratelimit_config *cfg, struct kv *kv,
				  struct metrics *metrics)
{
	struct ratelimiter *rl = xcalloc(1, sizeof(*rl));

	rl->cfg = *cfg;
	rl->kv = kv;
	rl->metrics = metrics;
	rl->local = ratelimit_local_new(cfg->local_max_clients);
	kv_script_init(&rl->hit, hit_lua);
	kv_script_init(&rl->take_back, take_back_lua);
	snprintf(rl->window, sizeof(rl->window), "%" PRId64, cfg->window_ms);
	return rl;
}

void ratelimit_free(struct ratelimiter *rl)
{
	if (!rl)
		return;
	ratelimit_local_free(rl->local);
	free(rl);
}

bool ratelimit_enabled(const struct ratelimiter *rl)
{
	return rl && rl->cfg.enabled;
}

/* ---- client identity ------------------------------------------------------ */

static bool is_ip(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Splits the joined X-Forwarded-For value into trimmed entries (in place). */
static size_t split_hops(char *xff, char **hops, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *t = strtok_r(xff, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		for (char *e = t + strlen(t); e > t && (e[-1] == ' ' || e[-1] == '\t'); e--)
			e[-1] = '\0';
		hops[n++] = t;
	}
	return n;
}

const char *ratelimit_client(const struct ratelimiter *rl, const struct http_request *req)
{
	char *hops[XFF_MAX_HOPS];
	const char *xff;
	char *copy;
	size_t n;
	const char *client = req->ip;

	if (rl->cfg.trust_proxy <= 0)
		return req->ip;
	xff = http_header_all(req, "X-Forwarded-For");
	if (!xff)
		return req->ip;
	copy = arena_strdup(req->arena, xff);
	n = split_hops(copy, hops, ARRAY_SIZE(hops));
	/* The peer is hop 0; hops[n - 1] is 1, hops[n - k] is k. */
	for (int k = 1; k <= rl->cfg.trust_proxy && (size_t)k <= n; k++) {
		const char *h = hops[n - (size_t)k];

		if (!is_ip(h) || strlen(h) >= CLIENT_MAX)
			break;
		client = h;
	}
	return client;
}

/* ---- counting ------------------------------------------------------------- */

static void set_fallback(struct ratelimiter *rl, bool on)
{
	if (atomic_exchange(&rl->fallback, on) == on)
		return;
	if (on)
		log_warn("rate limiting in-process: Redis is unreachable; limits are per gateway "
			 "until it is back");
	else
		log_info("rate limiting on Redis again");
	if (rl->metrics)
		metrics_rate_limit_fallback(rl->metrics, on);
}

/* Adds delta (1 or -1) to the counter, in Redis or else in-process. */
static void count(struct ratelimiter *rl, enum ratelimit_kind kind, const char *client, int delta,
		  struct ratelimit_state *st)
{
	char key[CLIENT_MAX + 8];
	long long r[2];
	const char *keys[1] = { key };
	const char *args[1] = { rl->window };
	const struct kv_script *script = delta > 0 ? &rl->hit : &rl->take_back;

	snprintf(key, sizeof(key), "rl:%s:%s", kind_key[kind], client);
	if (kv_eval_ints(rl->kv, script, 1, keys, delta > 0 ? 1 : 0, args, r, 2) == 0) {
		set_fallback(rl, false);
		st->count = r[0];
		st->reset_ms = r[1];
		return;
	}
	set_fallback(rl, true);
	ratelimit_local_add(rl->local, key, delta, rl->cfg.window_ms, mono_ms(), &st->count,
			    &st->reset_ms);
}

void ratelimit_hit(struct ratelimiter *rl, enum ratelimit_kind kind, const char *client,
		   struct ratelimit_state *st)
{
	st->kind = kind;
	st->limit = kind == RATELIMIT_AUTH ? rl->cfg.auth_max : rl->cfg.max;
	count(rl, kind, client, 1, st);
	st->limited = st->count > st->limit;
}

void ratelimit_take_back(struct ratelimiter *rl, const char *client, struct ratelimit_state *st)
{
	count(rl, RATELIMIT_AUTH, client, -1, st);
	st->limited = false;
}

/* ---- headers ---------------------------------------------------------------- */

static int64_t ceil_s(int64_t ms)
{
	return ms <= 0 ? 0 : (ms + 999) / 1000;
}

void ratelimit_headers(const struct ratelimiter *rl, const struct ratelimit_state *st,
		       struct http_request *req, struct http_response *res)
{
	int64_t remaining = st->limit - st->count;
	int64_t reset = ceil_s(st->reset_ms);

	if (remaining < 0)
		remaining = 0;
	http_response_header(res, "RateLimit-Policy",
			     arena_sprintf(req->arena, "%" PRId64 ";w=%" PRId64, st->limit,
					   ceil_s(rl->cfg.window_ms)));
	http_response_header(res, "RateLimit-Limit",
			     arena_sprintf(req->arena, "%" PRId64, st->limit));
	http_response_header(res, "RateLimit-Remaining",
			     arena_sprintf(req->arena, "%" PRId64, remaining));
	http_response_header(res, "RateLimit-Reset", arena_sprintf(req->arena, "%" PRId64, reset));
	if (st->limited)
		http_response_header(res, "Retry-After",
				     arena_sprintf(req->arena, "%" PRId64, reset > 0 ? reset : 1));
}
