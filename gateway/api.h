/* api.h - the gateway's request pipeline: route -> checks -> upstream gRPC
 * call -> envelope, in API.md §6's precedence order:
 *   route (404/405) -> query credentials (400) -> body (413 in http.c; 415,
 *   400) -> credentials (400 for both headers, 401) -> admin-only body fields
 *   (403) -> path and query parameters (400) -> body structure: unknown,
 *   read-only, mistyped or missing fields (422) -> upstream, which decides
 *   permission (403), resource (404), value validation (422, every failing
 *   value at once) and conflicts (409).
 * One deliberate difference from API.md §6: a body that does not fit the
 * resource's schema (unknown, read-only or mistyped keys) is refused here,
 * before the service looks at permission or existence, because such a
 * request cannot be expressed to the service at all. */
#ifndef GATEWAY_API_H
#define GATEWAY_API_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "envelope.h"
#include "http.h"
#include "jwt_hs256.h"
#include "router.h"
#include "rpc.h"

struct caller_resolver;
struct kv;
struct health_flight;
struct metrics;
struct ratelimiter;

/* Metrics labels: routes[i] is label i; then these, from routes_count on. */
enum api_label {
	API_LABEL_HEALTH,
	API_LABEL_HEALTH_LIVE,
	API_LABEL_HEALTH_READY,
	API_LABEL_METRICS,
	API_LABEL_OPENAPI,
	API_LABEL_UNMATCHED,
	API_LABEL__COUNT
};

struct api {
	const char *version; /* API_VERSION */
	char base[40];       /* "/api/<version>" */
	struct rpc_channel *upstream[UPSTREAM__COUNT];
	struct rpc_async *async; /* where upstream calls finish (rpc.h): no HTTP thread waits */
	struct seq_waiter *seq_waiter; /* replies that wrote a revocation (seq_waiter.h) */
	const char *upstream_target[UPSTREAM__COUNT];
	int deadline_ms; /* GRPC_DEADLINE_MS */
	struct jwt_config jwt;
	struct kv *kv;                   /* REDIS_URL: rate limits */
	struct revocations *revocations; /* in-memory revocation copy (revocation.h) */
	struct caller_resolver *callers; /* credentials of every request (caller.h) */
	int health_timeout_ms; /* HEALTH_CHECK_TIMEOUT_MS: deadline of each health check */
	/* Set once SIGTERM/SIGINT arrived: /health/ready answers 503 from then on
	 * (main.c keeps serving SHUTDOWN_DELAY_MS longer so load balancers see it). */
	atomic_bool draining;
	struct health_flight *health; /* the health check in flight (health.h) */
	struct ratelimiter *limits;   /* RATE_LIMIT_* (ratelimit.h) */
	struct metrics *metrics;      /* GET /metrics (metrics.h): api_metrics_new */
};

/* The http_handler_fn of the gateway (app = struct api). */
void api_handle(void *app, struct http_request *req, struct http_response *res);

/* A method the path does not allow: 405 in the error envelope with Allow. */
void api_refuse_method(const struct api *api, struct http_request *req, struct http_response *res,
		       const char *allow);

/* A new metrics registry (metrics.h; free it with metrics_free) with a label
 * per route ("<base><pattern>") and per api_label, for the API under base
 * ("/api/v1"); the http_server_config on_begin/on_done hooks that feed
 * api->metrics. */
struct metrics *api_metrics_new(const char *base);
void api_on_begin(void *app);
void api_on_done(void *app, const struct http_request *req, int status, double seconds);
/* http_server_config.on_slow_client: counts it in /metrics. */
void api_on_slow_client(void *app, bool body);
/* GET /metrics: the Prometheus text (metrics.h); another method is 405. */
void api_serve_metrics(struct api *api, struct http_request *req, struct http_response *res);
/* Answers req when its path is one of the operational endpoints (/health,
 * /health/live, /health/ready, /metrics, <base>/openapi.json: a table in
 * api.c): true (res filled or the request deferred); false otherwise. */
bool api_serve_operational(struct api *api, struct http_request *req, struct http_response *res);

/* ---- api_request.c ---------------------------------------------------- */

/* Refuses credentials in the query string (api_key, apiKey, access_token,
 * key, or any value starting "ak_"): 400. */
int api_check_query_credentials(const struct http_request *req, struct app_error *err);
/* Content-Type and JSON parsing for a route that takes a body: 415, 400.
 * *body is a new reference to the JSON object. */
int api_parse_body(const struct http_request *req, json_t **body, struct app_error *err);
/* The upstream request message (in req->arena) from the match, the query
 * string and the body (which may be modified: "version" is taken out). */
int api_build_request(const struct api *api, struct http_request *req, const struct route_match *m,
		      const struct principal *caller, json_t *body, ProtobufCMessage **out,
		      struct app_error *err);

#endif
