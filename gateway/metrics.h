/* metrics.h - the gateway's Prometheus metrics (API.md §1 "Operational
 * endpoints": GET /metrics, text exposition format 0.0.4).
 *
 * Families rendered (every one with HELP and TYPE lines, always present even
 * when nothing was counted yet):
 *   http_requests_total{method,route,status}          counter
 *   http_request_duration_seconds{method,route}       histogram (le buckets
 *       0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10 +Inf, _sum, _count)
 *   http_requests_in_flight                           gauge
 *   upstream_requests_total{service,code}             counter (code: the gRPC
 *       status name: OK, UNAVAILABLE, DEADLINE_EXCEEDED, ...)
 *   upstream_errors_total{service}                    counter (code != OK)
 *   upstream_request_duration_seconds{service}        histogram (same buckets)
 *   rate_limit_rejections_total{limiter}              counter ("general", "auth")
 *   rate_limit_fallback                               gauge (1 while limiting
 *       in-process because Redis is unreachable)
 *   http_slow_clients_closed_total{phase}             counter ("headers", "body":
 *       connections closed past HTTP_HEADER_TIMEOUT_MS / HTTP_BODY_TIMEOUT_MS)
 *
 * Labels come only from fixed sets given at creation (route templates such as
 * "/api/v1/users/:id", never raw paths or ids), so the number of series is
 * bounded whatever clients send. Status codes are the one open label: at most
 * METRICS_MAX_STATUSES distinct codes per route are kept, further ones are
 * counted under status="other".
 *
 * Every recording function is lock-free (atomics) and safe from any thread;
 * rendering may run concurrently with recording (values are read atomically,
 * a scrape is not a snapshot across series). */
#ifndef GATEWAY_METRICS_H
#define GATEWAY_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#define METRICS_MAX_STATUSES 24

/* One route label pair (metrics_new copies both strings). */
struct metrics_route {
	const char *method; /* "GET", ...; "" for a catch-all row */
	const char *route;  /* "/api/v1/users/:id", "/health", "unmatched" */
};

/* The upstream services, by index (the gateway passes enum route_upstream). */
struct metrics_config {
	const struct metrics_route *routes;
	size_t nroutes;
	const char *const *services; /* "users", "posts", "auth" */
	size_t nservices;
};

struct metrics;

/* Copies the arrays and the route strings. Never NULL (aborts on OOM).
 * metrics_free(NULL) is a no-op. */
struct metrics *metrics_new(const struct metrics_config *cfg);
void metrics_free(struct metrics *m);

/* A request arrived / finished. route indexes cfg->routes (out of range is
 * ignored); status is the HTTP status sent; seconds from arrival to the
 * response being queued. */
void metrics_request_begin(struct metrics *m);
void metrics_request_end(struct metrics *m, size_t route, int status, double seconds);

/* One upstream gRPC call: grpc_code is the numeric gRPC status (0 = OK,
 * 1..16; anything else is rendered as "UNKNOWN"). */
void metrics_upstream(struct metrics *m, size_t service, int grpc_code, double seconds);

/* A connection closed past its head (body false) or body deadline. */
void metrics_slow_client(struct metrics *m, bool body);

/* limiter: 0 = "general", 1 = "auth". */
void metrics_rate_limited(struct metrics *m, int limiter);
void metrics_rate_limit_fallback(struct metrics *m, bool active);

/* The whole exposition text, malloc'd (caller frees), *len without the NUL. */
char *metrics_render(struct metrics *m, size_t *len);

#endif
