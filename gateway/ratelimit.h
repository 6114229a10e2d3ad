/* ratelimit.h - the gateway's rate limiters (API.md §1 "Rate limiting", §6).
 *
 * Two fixed-window limiters per client: "general" (every /api request, max
 * RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS) and "auth" (POST /auth/login and
 * /auth/refresh, AUTH_RATE_LIMIT_MAX failed attempts per window). A window
 * starts at the client's first counted request. A request counts when it
 * arrives (one atomic Redis script per limiter: INCR, and PEXPIRE when the
 * window is new), so concurrent requests cannot slip past; the request that
 * makes the count exceed the limit is the first one refused. For the auth
 * limiter a successful response takes its count back (ratelimit_take_back).
 *
 * Counters live in Redis under "rl:<limiter>:<client>" so every gateway
 * replica shares them. When Redis is unreachable the limiter counts
 * in-process (per gateway, same rules), logs the switch once per outage and
 * never fails a request for it; the next call that reaches Redis switches
 * back (kv.h retries a dead Redis at most once per second). */
#ifndef GATEWAY_RATELIMIT_H
#define GATEWAY_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "ratelimit_store.h"

struct kv;
struct metrics;

enum ratelimit_kind { RATELIMIT_GENERAL, RATELIMIT_AUTH, RATELIMIT__COUNT };

struct ratelimit_config {
	bool enabled;             /* RATE_LIMIT_ENABLED (false: no counting, no headers) */
	int64_t window_ms;        /* RATE_LIMIT_WINDOW_MS, both limiters */
	int64_t max;              /* RATE_LIMIT_MAX */
	int64_t auth_max;         /* AUTH_RATE_LIMIT_MAX */
	int trust_proxy;          /* TRUST_PROXY: X-Forwarded-For hops to trust (0: ignore it) */
	size_t local_max_clients; /* in-process table bound (0: default 65536) */
};

/* One limiter's verdict for one request. */
struct ratelimit_state {
	enum ratelimit_kind kind;
	int64_t limit;
	int64_t count;    /* after this request */
	int64_t reset_ms; /* until the window ends */
	bool limited;     /* count > limit: answer 429 */
};

struct ratelimiter;

/* kv and metrics are borrowed (metrics may be NULL: it only gets the
 * fallback gauge; rejections are counted where the 429 is sent). */
struct ratelimiter *ratelimit_new(const struct ratelimit_config *cfg, struct kv *kv,
				  struct metrics *metrics);
void ratelimit_free(struct ratelimiter *rl);
bool ratelimit_enabled(const struct ratelimiter *rl);

/* The client's identity: the peer address, or with TRUST_PROXY = n the
 * address n hops back in X-Forwarded-For (every X-Forwarded-For header,
 * joined in order, then the peer; an entry that is not an IP address stops
 * the walk at the last trusted one). In req->arena. */
const char *ratelimit_client(const struct ratelimiter *rl, const struct http_request *req);

/* Counts one request of client on the limiter and fills st. */
void ratelimit_hit(struct ratelimiter *rl, enum ratelimit_kind kind, const char *client,
		   struct ratelimit_state *st);

/* Takes back the count of a request that succeeded (auth limiter); st is
 * updated to the counter after it. */
void ratelimit_take_back(struct ratelimiter *rl, const char *client, struct ratelimit_state *st);

/* RateLimit-Policy, -Limit, -Remaining, -Reset (whole seconds, rounded up),
 * and on a refused request Retry-After; strings in req->arena. */
void ratelimit_headers(const struct ratelimiter *rl, const struct ratelimit_state *st,
		       struct http_request *req, struct http_response *res);

#endif
