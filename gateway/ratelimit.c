/* ratelimit.c - shared fixed-window limiters in Redis, in-process while Redis
 * is unreachable (see ratelimit.h). */
#include "ratelimit.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "util.h"

#define CLIENT_MAX 64   /* an IPv6 address in text fits */
#define XFF_MAX_HOPS 32 /* X-Forwarded-For entries looked at */

static const char *const kind_key[RATELIMIT__COUNT] = { "g", "a" };

struct ratelimiter {
	struct ratelimit_config cfg;
	struct metrics *metrics;
	struct ratelimit_store *store;
	atomic_bool fallback; /* counting in-process (Redis unreachable) */
};

struct ratelimiter *ratelimit_new(const struct ratelimit_config *cfg, struct kv *kv,
				  struct metrics *metrics)
{
	struct ratelimiter *rl = xcalloc(1, sizeof(*rl));

	rl->cfg = *cfg;
	rl->metrics = metrics;
	rl->store = ratelimit_store_new(kv, cfg->window_ms, cfg->local_max_clients);
	return rl;
}

void ratelimit_free(struct ratelimiter *rl)
{
	if (!rl)
		return;
	ratelimit_store_free(rl->store);
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

/* Splits the joined X-Forwarded-For value into trimmed entries (in place).
 * Empty fields ("a,,b", a trailing comma) are skipped; a field of blanks is
 * kept as "" (not an address: it ends the walk in ratelimit_client). */
static size_t split_hops(char *xff, char **hops, size_t max)
{
	size_t n = 0;

	for (char *t = xff; t && n < max;) {
		char *comma = strchr(t, ',');

		if (comma)
			*comma = '\0';
		if (*t) {
			while (*t == ' ' || *t == '\t')
				t++;
			for (char *e = t + strlen(t); e > t && (e[-1] == ' ' || e[-1] == '\t'); e--)
				e[-1] = '\0';
			hops[n++] = t;
		}
		t = comma ? comma + 1 : NULL;
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

	snprintf(key, sizeof(key), "rl:%s:%s", kind_key[kind], client);
	set_fallback(rl, !ratelimit_store_add(rl->store, key, delta, &st->count, &st->reset_ms));
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
