/* health.h - the gateway's operational health endpoints (API.md §1 and §6
 * "Operational endpoints"): no /api prefix, no envelope, never rate limited.
 *
 *   GET /health        {"status","timestamp","version","checks":{"database",
 *                      "redis","users","posts","auth"}}: 200 when every check
 *                      is "ok", else 503. users/posts/auth: grpc.health.v1
 *                      Check("") is SERVING; database: all three answered
 *                      SERVING (a service is NOT_SERVING while its database
 *                      is down, and an unreachable one cannot vouch for it);
 *                      redis: PING answers.
 *   GET /health/live   200 {"status":"ok"} while the process runs.
 *   GET /health/ready  200 {"status":"ok"} when every service is reachable
 *                      and SERVING and the gateway is not draining; else 503
 *                      {"status":"error","checks":{"users","posts","auth",
 *                      "draining":true|false}}.
 *
 * The three service checks are started together on api->async with the
 * deadline api->health_timeout_ms (Redis' PING, bounded by 250 ms, on the
 * calling thread before): a hung dependency makes a check "error", never a
 * hung endpoint, and no HTTP thread waits for them (the requests are
 * deferred, http.h). Checks are shared: a request that arrives while a check
 * is in flight waits for that one and answers with its result instead of
 * starting its own, so a storm of health requests costs one check at a time
 * (and every answer is at most one check old).
 * Another method on these paths is 405 (Allow: GET) in the error envelope
 * (api.c). */
#ifndef GATEWAY_HEALTH_H
#define GATEWAY_HEALTH_H

#include <stdbool.h>

#include "http.h"

struct api;

/* The shared check state (api->health); health_flight_free(NULL) is a no-op. */
struct health_flight *health_flight_new(void);
void health_flight_free(struct health_flight *f);

/* GET /health and /health/ready: res filled, or the request deferred until
 * the checks are in; GET /health/live. Rows of api.c's table of operational
 * endpoints, which matches the path and the method. */
void health_serve(struct api *api, struct http_request *req, struct http_response *res);
void health_serve_ready(struct api *api, struct http_request *req, struct http_response *res);
void health_serve_live(struct api *api, struct http_request *req, struct http_response *res);

#endif
