/* gateway_health_rest_it.c - the gateway's operational endpoints (API.md §1 and §6
 * "Operational endpoints") as a load balancer or an operator sees them:
 * GET /health aggregates the whole stack (database, Redis, the three
 * services), each check bounded by HEALTH_CHECK_TIMEOUT_MS, /health/live and
 * /health/ready answer {"status":"ok"} or 503, and after SIGTERM the gateway
 * drains: /health/ready is 503 for SHUTDOWN_DELAY_MS before it exits 0. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "it.h"
#include "util.h"

#define HEALTH_TIMEOUT_MS 500 /* HEALTH_CHECK_TIMEOUT_MS below */
#define DRAIN_DELAY_MS 1500

#define GW_IT_NAME "gateway_health_rest_it"
#define GW_IT_ENV "HEALTH_CHECK_TIMEOUT_MS=500"
#include "support/gw_fixture.h"

static const char *const TOP_KEYS[] = { "status", "timestamp", "version", "checks", NULL };
static const char *const CHECK_KEYS[] = { "database", "redis",      "users", "posts",
					  "auth",     "revocation", NULL };

/* GET http://127.0.0.1:<port><path> (outside /api/v1). */
static struct it_http_result get_on(int port, const char *method, const char *path)
{
	char url[160];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	return it_http(method, url, NULL, NULL);
}

static struct it_http_result get(const char *path)
{
	return get_on(G.port, "GET", path);
}

/* r's JSON Content-Type, X-Request-Id and no envelope/rate-limit headers:
 * what every health answer shares. */
static void assert_plain_json(const struct it_http_result *r)
{
	const char *ct = it_http_header(r, "Content-Type");

	if (!r->json)
		it_http_dump(r, "not JSON");
	assert_non_null(r->json);
	assert_true(json_is_object(r->json));
	assert_non_null(ct);
	assert_true(strncmp(ct, "application/json", 16) == 0);
	assert_non_null(it_http_header(r, "X-Request-Id"));
	assert_true(strlen(it_http_header(r, "X-Request-Id")) > 0);
	assert_null(json_object_get(r->json, "success"));
	assert_null(json_object_get(r->json, "meta"));
	assert_null(it_http_header(r, "RateLimit-Limit"));
	assert_null(it_http_header(r, "X-RateLimit-Limit"));
}

/* r is exactly {"status":"ok"} with a 200. */
static void assert_status_ok(const struct it_http_result *r)
{
	static const char *const keys[] = { "status", NULL };

	if (r->status != 200)
		it_http_dump(r, "expected 200 {\"status\":\"ok\"}");
	assert_int_equal(r->status, 200);
	assert_plain_json(r);
	assert_true(it_json_keys_are(r->json, keys));
	assert_string_equal(it_json_str(r->json, "status"), "ok");
}

/* A /health answer with exactly the documented shape; returns its checks. */
static const json_t *health_checks(const struct it_http_result *r, long status)
{
	const json_t *checks;
	const char *version;

	if (r->status != status)
		it_http_dump(r, "unexpected /health status");
	assert_int_equal(r->status, status);
	assert_plain_json(r);
	assert_true(it_json_keys_are(r->json, TOP_KEYS));
	assert_string_equal(it_json_str(r->json, "status"), status == 200 ? "ok" : "error");
	assert_true(it_rfc3339_utc(it_json_str(r->json, "timestamp")));
	version = it_json_str(r->json, "version");
	assert_true(strlen(version) > 0);
	checks = json_object_get(r->json, "checks");
	assert_true(it_json_keys_are(checks, CHECK_KEYS));
	return checks;
}

/* checks[name] is the string want ("ok" or "error"). */
static void assert_check(const json_t *checks, const char *name, const char *want)
{
	const char *got = it_json_str(checks, name);

	if (strcmp(got, want) != 0)
		fprintf(stderr, "check %s: got \"%s\", want \"%s\"\n", name, got, want);
	assert_string_equal(got, want);
}

/* Each of database, redis, users, posts, auth: "ok" unless named in bad. */
static void assert_checks(const json_t *checks, const char *const *bad)
{
	for (const char *const *k = CHECK_KEYS; *k; k++) {
		bool is_bad = false;

		for (const char *const *b = bad; b && *b; b++)
			is_bad = is_bad || strcmp(*b, *k) == 0;
		assert_check(checks, *k, is_bad ? "error" : "ok");
	}
}

/* /health/ready is 503 with exactly these checks. */
static void assert_not_ready(int port, const char *bad_service, bool draining)
{
	static const char *const top[] = { "status", "checks", NULL };
	static const char *const keys[] = {
		"users", "posts", "auth", "revocation", "draining", NULL
	};
	struct it_http_result r = get_on(port, "GET", "/health/ready");
	const json_t *checks;

	if (r.status != 503)
		it_http_dump(&r, "expected /health/ready 503");
	assert_int_equal(r.status, 503);
	assert_plain_json(&r);
	assert_true(it_json_keys_are(r.json, top));
	assert_string_equal(it_json_str(r.json, "status"), "error");
	checks = json_object_get(r.json, "checks");
	assert_true(it_json_keys_are(checks, keys));
	for (int i = 0; i < 4; i++) {
		bool bad = bad_service && strcmp(keys[i], bad_service) == 0;

		assert_check(checks, keys[i], bad ? "error" : "ok");
	}
	assert_true(json_is_boolean(json_object_get(checks, "draining")));
	assert_true(json_is_true(json_object_get(checks, "draining")) == draining);
	it_http_release(&r);
}

static void everything_up_is_healthy(void **state)
{
	struct it_http_result r = get("/health");
	const json_t *checks = health_checks(&r, 200);

	assert_checks(checks, NULL);
	fprintf(stderr, "/health: %s (%lld ms)\n", r.body, (long long)r.elapsed_ms);
	it_http_release(&r);

	r = get("/health/live");
	assert_status_ok(&r);
	it_http_release(&r);
	r = get("/health/ready");
	assert_status_ok(&r);
	it_http_release(&r);

	/* never rate limited: far more calls than any health probe makes */
	for (int i = 0; i < 30; i++) {
		r = get("/health/live");
		assert_int_equal(r.status, 200);
		it_http_release(&r);
	}
}

static void other_paths_and_methods(void **state)
{
	static const char *const paths[] = { "/health", "/health/live", "/health/ready" };
	static const char *const methods[] = { "POST", "DELETE", "PUT" };
	struct it_http_result r = it_gateway_call(&G, "GET", "/health", NULL, NULL, NULL);

	/* /api/v1/health does not exist */
	assert_true(it_http_is_error(&r, 404, "NOT_FOUND", NULL));
	it_http_release(&r);
	r = get("/health/");
	assert_true(it_http_is_error(&r, 404, "NOT_FOUND", NULL));
	it_http_release(&r);
	r = get("/healthz");
	assert_true(it_http_is_error(&r, 404, "NOT_FOUND", NULL));
	it_http_release(&r);

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		r = get_on(G.port, methods[i], paths[i]);
		assert_true(it_http_is_error(&r, 405, "METHOD_NOT_ALLOWED", NULL));
		assert_non_null(it_http_header(&r, "Allow"));
		assert_string_equal(it_http_header(&r, "Allow"), "GET");
		it_http_release(&r);
	}
}

static void redis_down_is_a_failed_redis_check(void **state)
{
	static const char *const bad[] = { "redis", NULL };
	struct it_http_result r;

	stack_redis_stop(G.stack);
	r = get("/health");
	assert_checks(health_checks(&r, 503), bad);
	it_http_release(&r);
	/* the gateway can still serve without Redis: ready stays 200 */
	r = get("/health/ready");
	assert_status_ok(&r);
	it_http_release(&r);

	stack_redis_start(G.stack);
	assert_true(it_gateway_await_200(&G, "/health", NULL, 10000));
}

/* Starts the posts service again on the same port, as the harness did. */
static void posts_restart(void)
{
	G.posts = it_gateway_posts_spawn(&G, "posts", G.posts_port);
	assert_true(stack_wait_grpc_serving(G.posts_target, 20000));
}

static void stopped_posts_service_fails_posts_and_database(void **state)
{
	static const char *const bad[] = { "posts", "database", NULL };
	struct it_http_result r;
	char path[64];

	assert_int_equal(proc_stop(G.posts), 0);
	r = get("/health");
	assert_checks(health_checks(&r, 503), bad);
	assert_true(r.elapsed_ms < 2 * HEALTH_TIMEOUT_MS);
	it_http_release(&r);
	assert_not_ready(G.port, "posts", false);

	/* routes to the other services are unaffected */
	snprintf(path, sizeof(path), "/users/%lld", (long long)G.admin_id);
	r = it_gateway_call(&G, "GET", path, G.admin_token, NULL, NULL);
	assert_true(it_http_is_success(&r, 200));
	it_http_release(&r);

	posts_restart();
	assert_true(it_gateway_await_200(&G, "/health", NULL, 20000));
	r = get("/health/ready");
	assert_status_ok(&r);
	it_http_release(&r);
}

static void frozen_users_service_is_an_error_within_the_deadline(void **state)
{
	static const char *const bad[] = { "users", "database", NULL };
	static const char *const two_bad[] = { "users", "auth", "database", NULL };
	struct it_http_result r;

	proc_signal(G.users, SIGSTOP);
	r = get("/health");
	fprintf(stderr, "/health with users frozen: %lld ms (check deadline %d ms)\n",
		(long long)r.elapsed_ms, HEALTH_TIMEOUT_MS);
	assert_checks(health_checks(&r, 503), bad);
	assert_true(r.elapsed_ms >= HEALTH_TIMEOUT_MS - 50);
	assert_true(r.elapsed_ms < 3 * HEALTH_TIMEOUT_MS);
	it_http_release(&r);

	/* two hung services: the checks run in parallel, about one deadline */
	proc_signal(G.auth, SIGSTOP);
	r = get("/health");
	proc_signal(G.auth, SIGCONT);
	fprintf(stderr, "/health with users and auth frozen: %lld ms\n", (long long)r.elapsed_ms);
	assert_checks(health_checks(&r, 503), two_bad);
	assert_true(r.elapsed_ms < 2 * HEALTH_TIMEOUT_MS);
	it_http_release(&r);

	r = get("/health/ready");
	assert_int_equal(r.status, 503);
	assert_true(r.elapsed_ms < 3 * HEALTH_TIMEOUT_MS);
	it_http_release(&r);
	assert_not_ready(G.port, "users", false);

	/* liveness does not depend on anything */
	r = get("/health/live");
	assert_status_ok(&r);
	assert_true(r.elapsed_ms < HEALTH_TIMEOUT_MS);
	it_http_release(&r);

	proc_signal(G.users, SIGCONT);
	assert_true(it_gateway_await_200(&G, "/health", NULL, 10000));
}

/* A second gateway on the same stack with SHUTDOWN_DELAY_MS; waits until it
 * answers /health/ready 200 and returns its port. */
static struct proc *second_gateway(int *port_out)
{
	static const char *const extra[] = { "HEALTH_CHECK_TIMEOUT_MS=500",
					     "SHUTDOWN_DELAY_MS=1500", NULL };
	int p = stack_free_port();
	int64_t deadline = mono_ms() + 20000;
	struct proc *gw;

	_Static_assert(DRAIN_DELAY_MS == 1500, "env above");
	gw = it_gateway_spawn_extra(&G, "gateway2", p, extra);
	assert_non_null(gw);
	while (mono_ms() < deadline && proc_wait(gw, 0) < 0) {
		struct it_http_result r = get_on(p, "GET", "/health/ready");
		bool ready = r.status == 200;

		it_http_release(&r);
		if (ready) {
			*port_out = p;
			return gw;
		}
		usleep(50 * 1000);
	}
	fprintf(stderr, "second gateway never became ready; log: %s\n", proc_log_path(gw));
	fail();
	return NULL;
}

/* How many health checks the posts service has answered (its RPC log). */
static int posts_checks_logged(void)
{
	char *log = read_file_all(proc_log_path(G.posts));
	int n = 0;

	for (const char *s = log; s && (s = strstr(s, "/grpc.health.v1.Health/Check")); s++)
		n++;
	free(log);
	return n;
}

static void *health_thread(void *arg)
{
	struct it_http_result *r = arg;

	*r = get("/health");
	return NULL;
}

/* Concurrent /health requests while a check hangs on the frozen users
 * service share the check in flight (health.h): the posts service sees fewer
 * checks than requests. Not exactly one: each of the gateway's HTTP threads
 * serves its connections one request at a time, so requests that landed on
 * the same thread run one after another (one check per such round). */
static void concurrent_health_requests_share_one_check(void **state)
{
	enum { N = 6 };
	static const char *const bad[] = { "users", "database", NULL };
	struct it_http_result r[N];
	pthread_t t[N];
	int before;

	(void)state;
	sleep_ms(200); /* earlier checks' log lines are written */
	before = posts_checks_logged();
	proc_signal(G.users, SIGSTOP);
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_create(&t[i], NULL, health_thread, &r[i]), 0);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		fprintf(stderr, "request %d: %lld ms\n", i, (long long)r[i].elapsed_ms);
		assert_checks(health_checks(&r[i], 503), bad);
		assert_true(r[i].elapsed_ms < N * HEALTH_TIMEOUT_MS);
		it_http_release(&r[i]);
	}
	proc_signal(G.users, SIGCONT);
	sleep_ms(200);
	fprintf(stderr, "%d concurrent /health: %d checks reached posts\n", N,
		posts_checks_logged() - before);
	assert_true(posts_checks_logged() - before < N);
	assert_true(it_gateway_await_200(&G, "/health", NULL, 10000));
}

static void sigterm_drains_before_exiting(void **state)
{
	int port = 0;
	struct proc *gw = second_gateway(&port);
	int64_t t0;
	struct it_http_result r;

	proc_signal(gw, SIGTERM);
	t0 = mono_ms();
	usleep(200 * 1000); /* let it see the signal */
	assert_not_ready(port, NULL, true);
	/* still serving everything else while draining */
	r = get_on(port, "GET", "/health/live");
	assert_status_ok(&r);
	it_http_release(&r);
	r = get_on(port, "GET", "/health");
	health_checks(&r, 200);
	it_http_release(&r);
	assert_true(mono_ms() - t0 < DRAIN_DELAY_MS);
	assert_int_equal(proc_wait(gw, 10000), 0);
	fprintf(stderr, "gateway exited %lld ms after SIGTERM (delay %d ms)\n",
		(long long)(mono_ms() - t0), DRAIN_DELAY_MS);
	assert_true(mono_ms() - t0 >= DRAIN_DELAY_MS - 50);

	/* the test's own gateway is not draining */
	r = get("/health/ready");
	assert_status_ok(&r);
	it_http_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(everything_up_is_healthy),
		cmocka_unit_test(other_paths_and_methods),
		cmocka_unit_test(redis_down_is_a_failed_redis_check),
		cmocka_unit_test(stopped_posts_service_fails_posts_and_database),
		cmocka_unit_test(frozen_users_service_is_an_error_within_the_deadline),
		cmocka_unit_test(concurrent_health_requests_share_one_check),
		cmocka_unit_test(sigterm_drains_before_exiting),
	};

	return cmocka_run_group_tests(tests, gw_setup, gw_teardown);
}
