/* health.c - GET /health, /health/live and /health/ready; see health.h. */
#include "health.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "envelope.h"
#include "grpc/health/v1/health.pb-c.h"
#include "err.h"
#include "json_arena.h"
#include "kv.h"
#include "revocation.h"
#include "rpc.h"
#include "util.h"

#ifndef APP_VERSION
#define APP_VERSION "dev" /* the Makefile passes the build's version */
#endif

#define HEALTH_SERVING 1 /* grpc.health.v1 ServingStatus SERVING */

/* The check names of the upstream services, by enum route_upstream. */
static const char *const service_names[UPSTREAM__COUNT] = {
	[UPSTREAM_USERS] = "users",
	[UPSTREAM_POSTS] = "posts",
	[UPSTREAM_AUTH] = "auth",
};

/* The full gRPC service names: their Check is SERVING once the service's
 * database answers and its revocation state is loaded ("" would not wait
 * for the latter). */
static const char *const grpc_names[UPSTREAM__COUNT] = {
	[UPSTREAM_USERS] = "agentos.users.v1.UsersService",
	[UPSTREAM_POSTS] = "agentos.posts.v1.PostsService",
	[UPSTREAM_AUTH] = "agentos.auth.v1.AuthService",
};

#define HEALTH_CHECK_PATH "/grpc.health.v1.Health/Check"

/* A /health or /health/ready request waiting for the check in flight. */
struct health_waiter {
	struct health_waiter *next;
	struct http_request *req;
	struct http_response *res;
	bool ready; /* /health/ready (else /health) */
};

/* The check in flight (single flight, see health.h): every request that
 * arrives while it runs gets its result. */
struct health_flight {
	pthread_mutex_t lock;
	bool running;
	int probes_left; /* Checks not answered yet */
	bool serving[UPSTREAM__COUNT];
	bool redis_ok;
	struct health_waiter *waiters;
};

struct probe {
	struct api *api;
	int service; /* enum route_upstream */
};

struct health_flight *health_flight_new(void)
{
	struct health_flight *f = xcalloc(1, sizeof(*f));

	pthread_mutex_init(&f->lock, NULL);
	return f;
}

void health_flight_free(struct health_flight *f)
{
	if (!f)
		return;
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static void serve_health(struct api *api, struct http_response *res, const bool *serving,
			 bool redis_ok);
static void serve_ready(struct api *api, struct http_response *res, const bool *serving);

/* One service's Check(<its full name>) answered (or failed). The last one
 * ends the flight and answers everyone who waited for it. */
static void probe_done(void *arg, struct rpc_result *res)
{
	struct probe *p = arg;
	struct api *api = p->api;
	struct health_flight *f = api->health;
	const Grpc__Health__V1__HealthCheckResponse *m = (const void *)res->reply;
	bool serving[UPSTREAM__COUNT], redis_ok;
	struct health_waiter *w = NULL;

	pthread_mutex_lock(&f->lock);
	f->serving[p->service] = res->rc == 0 && m && m->status == HEALTH_SERVING;
	if (--f->probes_left == 0) {
		w = f->waiters;
		f->waiters = NULL;
		f->running = false;
		memcpy(serving, f->serving, sizeof(serving));
		redis_ok = f->redis_ok;
	}
	pthread_mutex_unlock(&f->lock);
	free(p);
	while (w) {
		struct health_waiter *next = w->next;

		if (w->ready)
			serve_ready(api, w->res, serving);
		else
			serve_health(api, w->res, serving, redis_ok);
		http_finish(w->req); /* w lived in that request's arena */
		w = next;
	}
}

/* Starts a flight: Redis is pinged here (bounded by its 250 ms timeout),
 * every service's Check is started on api->async (each bounded by
 * HEALTH_CHECK_TIMEOUT_MS), and nothing waits for them. */
static void start_checks(struct api *api)
{
	struct health_flight *f = api->health;
	Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	bool redis_ok = api->kv && kv_ping(api->kv);

	pthread_mutex_lock(&f->lock);
	f->redis_ok = redis_ok;
	pthread_mutex_unlock(&f->lock);
	for (int i = 0; i < UPSTREAM__COUNT; i++) {
		struct probe *p = xcalloc(1, sizeof(*p));

		p->api = api;
		p->service = i;
		req.service = (char *)grpc_names[i];
		rpc_call_async(api->async, api->upstream[i], HEALTH_CHECK_PATH, &req.base,
			       &grpc__health__v1__health_check_response__descriptor, NULL, 0,
			       api->health_timeout_ms, NULL, probe_done, p);
	}
}

/* Defers req until the check in flight (or a new one) is done. */
static void await_checks(struct api *api, struct http_request *req, struct http_response *res,
			 bool ready)
{
	struct health_flight *f = api->health;
	struct health_waiter *w = arena_alloc(req->arena, sizeof(*w));
	bool start;

	w->req = req;
	w->res = res;
	w->ready = ready;
	http_defer(req);
	pthread_mutex_lock(&f->lock);
	w->next = f->waiters;
	f->waiters = w;
	start = !f->running;
	if (start) {
		f->running = true;
		f->probes_left = UPSTREAM__COUNT;
	}
	pthread_mutex_unlock(&f->lock);
	if (start)
		start_checks(api);
}

static json_t *ok_or_error(bool ok)
{
	return json_string(ok ? "ok" : "error");
}

/* Fills res with obj (stolen) as compact JSON. */
static void respond_json(struct http_response *res, int status, json_t *obj)
{
	res->status = status;
	res->body = json_arena_dump(obj, &res->body_len);
	res->content_type = "application/json";
	http_response_header(res, "Cache-Control", "no-store");
	json_decref(obj);
}

/* GET /health: every dependency of the stack, each check "ok" or "error". */
static void serve_health(struct api *api, struct http_response *res, const bool *serving,
			 bool redis_ok)
{
	bool all_serving = true;
	bool revocation_ok = !api->revocations || revocations_current(api->revocations);
	json_t *checks = json_object(), *obj = json_object();
	bool ok;
	char ts[32];

	for (int i = 0; i < UPSTREAM__COUNT; i++)
		all_serving = all_serving && serving[i];
	/* Each service is NOT_SERVING while its database is down; an unreachable
	 * one cannot vouch for it. */
	json_object_set_new(checks, "database", ok_or_error(all_serving));
	json_object_set_new(checks, "redis", ok_or_error(redis_ok));
	for (int i = 0; i < UPSTREAM__COUNT; i++)
		json_object_set_new(checks, service_names[i], ok_or_error(serving[i]));
	/* This gateway's revocation copy: loaded and synced within
	 * REVOCATION_MAX_STALENESS_MS (else credentials get 503). */
	json_object_set_new(checks, "revocation", ok_or_error(revocation_ok));
	ok = all_serving && redis_ok && revocation_ok;
	format_rfc3339_ms(now_unix_ms(), ts, sizeof(ts));
	json_object_set_new(obj, "status", ok_or_error(ok));
	json_object_set_new(obj, "timestamp", json_string(ts));
	json_object_set_new(obj, "version", json_string(APP_VERSION));
	json_object_set_new(obj, "checks", checks);
	respond_json(res, ok ? 200 : 503, obj);
}

/* GET /health/ready: can this gateway serve? Every service reachable and
 * SERVING, the revocation copy current, and not draining. Redis is not
 * required: without it the gateway still serves (limits degrade to
 * in-process counters). */
static void serve_ready(struct api *api, struct http_response *res, const bool *serving)
{
	bool ready;
	bool draining = atomic_load(&api->draining);
	bool revocation_ok = !api->revocations || revocations_current(api->revocations);
	json_t *checks;

	ready = !draining && revocation_ok;
	for (int i = 0; i < UPSTREAM__COUNT; i++)
		ready = ready && serving[i];
	if (ready) {
		respond_json(res, 200, json_pack("{s:s}", "status", "ok"));
		return;
	}
	checks = json_object();
	for (int i = 0; i < UPSTREAM__COUNT; i++)
		json_object_set_new(checks, service_names[i], ok_or_error(serving[i]));
	json_object_set_new(checks, "revocation", ok_or_error(revocation_ok));
	json_object_set_new(checks, "draining", json_boolean(draining));
	respond_json(res, 503, json_pack("{s:s,s:o}", "status", "error", "checks", checks));
}

void health_serve(struct api *api, struct http_request *req, struct http_response *res)
{
	await_checks(api, req, res, false);
}

void health_serve_ready(struct api *api, struct http_request *req, struct http_response *res)
{
	await_checks(api, req, res, true);
}

void health_serve_live(struct api *api, struct http_request *req, struct http_response *res)
{
	(void)api;
	(void)req;
	respond_json(res, 200, json_pack("{s:s}", "status", "ok"));
}
