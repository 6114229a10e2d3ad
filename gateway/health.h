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
 * The three service checks run in parallel (one thread each) with the
 * deadline api->health_timeout_ms, Redis' PING meanwhile on the calling
 * thread: a hung dependency makes a check "error", never a hung endpoint.
 * Another method on these paths is 405 (Allow: GET) in the error envelope. */
#ifndef GATEWAY_HEALTH_H
#define GATEWAY_HEALTH_H

#include <stdbool.h>

#include "api.h"
#include "http.h"

/* Answers req when its path is exactly /health, /health/live or
 * /health/ready (res filled, true); false (res untouched) otherwise. */
bool health_handle(struct api *api, struct http_request *req, struct http_response *res);

#endif
