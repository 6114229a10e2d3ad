/* health.c - GET /health, /health/live and /health/ready; see health.h. */
#include "health.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "envelope.h"
#include "err.h"
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

/* One service's Check(<its name>), run on its own thread. */
struct probe {
	struct rpc_channel *ch;
	const char *service;
	int deadline_ms;
	int status;       /* rpc_health_check's answer: 1 SERVING, 2 NOT_SERVING, -1 failed */
	pthread_t thread;
	bool threaded;    /* thread was started and must be joined */
};

static void *probe_run(void *arg)
{
	struct probe *p = arg;

	p->status = p->ch ? rpc_health_check(p->ch, p->service, p->deadline_ms) : -1;
	return NULL;
}

/* The check in flight and the last result; see health.h. */
struct health_flight {
	pthread_mutex_t lock;
	pthread_cond_t done;
	bool running;
	uint64_t generation; /* completed checks */
	bool serving[UPSTREAM__COUNT];
	bool redis_ok;
};

void health_init(struct api *api)
{
	struct health_flight *f = xcalloc(1, sizeof(*f));

	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->done, NULL);
	api->health = f;
}

void health_free(struct api *api)
{
	struct health_flight *f = api->health;

	if (!f)
		return;
	pthread_cond_destroy(&f->done);
	pthread_mutex_destroy(&f->lock);
	free(f);
	api->health = NULL;
}

/* Checks every service in parallel; serving[i] is true iff service i answered
 * SERVING; Redis is pinged meanwhile on this thread. The whole takes about
 * one deadline at most. */
static void run_checks(struct api *api, bool serving[UPSTREAM__COUNT], bool *redis_ok)
{
	struct probe probes[UPSTREAM__COUNT];

	for (int i = 0; i < UPSTREAM__COUNT; i++) {
		probes[i] = (struct probe){ .ch = api->upstream[i], .service = grpc_names[i],
					    .deadline_ms = api->health_timeout_ms, .status = -1 };
		probes[i].threaded =
			pthread_create(&probes[i].thread, NULL, probe_run, &probes[i]) == 0;
	}
	*redis_ok = api->kv && kv_ping(api->kv);
	for (int i = 0; i < UPSTREAM__COUNT; i++) {
		if (probes[i].threaded)
			pthread_join(probes[i].thread, NULL);
		else
			probe_run(&probes[i]); /* no thread to be had: check it here */
		serving[i] = probes[i].status == HEALTH_SERVING;
	}
}

/* The result of the check in flight when there is one, else of a new one
 * run on this thread (single flight, see health.h). */
static void check_dependencies(struct api *api, bool serving[UPSTREAM__COUNT], bool *redis_ok)
{
	struct health_flight *f = api->health;
	bool ok[UPSTREAM__COUNT], redis;

	pthread_mutex_lock(&f->lock);
	if (f->running) {
		uint64_t gen = f->generation;

		while (f->generation == gen)
			pthread_cond_wait(&f->done, &f->lock);
	} else {
		f->running = true;
		pthread_mutex_unlock(&f->lock);
		run_checks(api, ok, &redis);
		pthread_mutex_lock(&f->lock);
		memcpy(f->serving, ok, sizeof(ok));
		f->redis_ok = redis;
		f->generation++;
		f->running = false;
		pthread_cond_broadcast(&f->done);
	}
	memcpy(serving, f->serving, sizeof(f->serving));
	if (redis_ok)
		*redis_ok = f->redis_ok;
	pthread_mutex_unlock(&f->lock);
}

static json_t *ok_or_error(bool ok)
{
	return json_string(ok ? "ok" : "error");
}

/* Fills res with obj (stolen) as compact JSON. */
static void respond_json(struct http_response *res, int status, json_t *obj)
{
	res->status = status;
	res->body = json_dumps(obj, JSON_COMPACT);
	res->body_len = res->body ? strlen(res->body) : 0;
	res->content_type = "application/json";
	http_response_header(res, "Cache-Control", "no-store");
	json_decref(obj);
}

/* GET /health: every dependency of the stack, each check "ok" or "error". */
static void serve_health(struct api *api, struct http_response *res)
{
	bool serving[UPSTREAM__COUNT], redis_ok = false, all_serving = true;
	bool revocation_ok = !api->revocations || revocations_current(api->revocations);
	json_t *checks = json_object(), *obj = json_object();
	bool ok;
	char ts[32];

	check_dependencies(api, serving, &redis_ok);
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
static void serve_ready(struct api *api, struct http_response *res)
{
	bool serving[UPSTREAM__COUNT], ready;
	bool draining = atomic_load(&api->draining);
	bool revocation_ok = !api->revocations || revocations_current(api->revocations);
	json_t *checks;

	check_dependencies(api, serving, NULL);
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

static bool is_health_path(const char *path)
{
	return strcmp(path, "/health") == 0 || strcmp(path, "/health/live") == 0 ||
	       strcmp(path, "/health/ready") == 0;
}

bool health_handle(struct api *api, struct http_request *req, struct http_response *res)
{
	if (!is_health_path(req->path))
		return false;
	if (strcmp(req->method, "GET") != 0)
		api_refuse_method(api, req, res, "GET");
	else if (strcmp(req->path, "/health") == 0)
		serve_health(api, res);
	else if (strcmp(req->path, "/health/ready") == 0)
		serve_ready(api, res);
	else
		respond_json(res, 200, json_pack("{s:s}", "status", "ok"));
	return true;
}
