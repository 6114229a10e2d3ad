/* shutdown_rest_it.c - SIGTERM while a request is in flight (issue 6, API.md
 * "graceful shutdown"): the gateway and a service each stop accepting, let
 * the slow request finish with its real answer, and exit 0.
 *
 * A request is made slow by freezing the users service (SIGSTOP) that it
 * needs; it is thawed after the SIGTERM, so the request can only succeed if
 * the stopping process waited for it. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "it.h"
#include "support/http.h"
#include "util.h"

static struct it_gateway G;
static int64_t post_id;

static int setup(void **state)
{
	struct it_http_result r;

	(void)state;
	if (!it_gateway_start(&G, "shutdown_rest_it", NULL))
		return -1;
	r = it_gateway_call(
		&G, "POST", "/posts", G.admin_token, NULL,
		"{\"title\":\"Slow\",\"body\":\"Read me slowly\",\"status\":\"published\"}");
	if (r.status != 201) {
		it_http_dump(&r, "create post");
		it_http_release(&r);
		return -1;
	}
	post_id = it_json_int(it_data(&r), "id");
	it_http_release(&r);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	/* the tests stopped the gateway, posts and auth themselves (exit 0) */
	return it_gateway_stop(&G) == 0 ? 0 : -1;
}

struct slow_call {
	const char *path;
	const char *token;
	int port;
	struct it_http_result r;
	pthread_t thread;
};

static void *slow_call_run(void *arg)
{
	struct slow_call *c = arg;
	char url[160];
	char auth[2048];
	const char *headers[] = { auth, NULL };

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1%s", c->port, c->path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
	c->r = it_http("GET", url, c->token ? headers : NULL, NULL);
	return NULL;
}

/* Freezes users, starts the call, SIGTERMs victim once the call is surely in
 * flight, thaws users; the call must then complete with 200 and victim
 * exit 0. */
static void sigterm_during(struct proc *victim, struct slow_call *c)
{
	int status;

	proc_signal(G.users, SIGSTOP);
	assert_int_equal(pthread_create(&c->thread, NULL, slow_call_run, c), 0);
	sleep_ms(300);
	proc_signal(victim, SIGTERM);
	sleep_ms(300);
	assert_int_equal(proc_wait(victim, 0), -1); /* still waiting for the request */
	proc_signal(G.users, SIGCONT);
	pthread_join(c->thread, NULL);
	if (c->r.status != 200)
		it_http_dump(&c->r, "the slow request");
	assert_int_equal(c->r.status, 200);
	assert_true(c->r.elapsed_ms >= 500);
	status = proc_wait(victim, 10000);
	assert_int_equal(status, 0);
}

static void posts_service_finishes_a_slow_request_then_exits_0(void **state)
{
	char path[64];
	struct slow_call c = { .path = path, .port = G.port };

	(void)state;
	/* GET /posts/:id embeds the author: one call from posts to users */
	snprintf(path, sizeof(path), "/posts/%lld", (long long)post_id);
	sigterm_during(G.posts, &c);
	assert_int_equal(it_json_int(it_data(&c.r), "id"), post_id);
	it_http_release(&c.r);
	/* it is gone: its routes are a 503 now, the users' are served */
	{
		struct it_http_result r = it_gateway_call(&G, "GET", path, NULL, NULL, NULL);

		it_expect_error(r, 503, "SERVICE_UNAVAILABLE", NULL);
		r = it_gateway_call(&G, "GET", "/users/me", G.admin_token, NULL, NULL);
		assert_int_equal(r.status, 200);
		it_http_release(&r);
	}
}

/* Nothing in flight, but clients (the gateway, the users service) keep
 * their connections open: the service must not wait its whole grace
 * (SHUTDOWN_GRACE_MS, 10 s by default) for them to go away. */
static void idle_service_exits_at_once(void **state)
{
	struct it_http_result r;
	int64_t start;
	int status;

	(void)state;
	r = it_gateway_call(&G, "POST", "/auth/login", NULL, NULL,
			    "{\"email\":\"" IT_GW_ADMIN_EMAIL
			    "\",\"password\":\"" IT_GW_ADMIN_PASSWORD "\"}");
	assert_int_equal(r.status, 200); /* the gateway holds a connection to auth */
	it_http_release(&r);
	start = mono_ms();
	proc_signal(G.auth, SIGTERM);
	status = proc_wait(G.auth, 5000);
	fprintf(stderr, "auth-service exited %d after %lld ms\n", status,
		(long long)(mono_ms() - start));
	assert_int_equal(status, 0);
	assert_true(mono_ms() - start < 3000);
}

static void gateway_finishes_a_slow_request_then_exits_0(void **state)
{
	struct slow_call c = { .path = "/users/me", .token = G.admin_token, .port = G.port };
	struct it_http_result r;

	(void)state;
	sigterm_during(G.gateway, &c);
	assert_int_equal(it_json_int(it_data(&c.r), "id"), G.admin_id);
	it_http_release(&c.r);
	/* nothing listens any more */
	r = it_gateway_call(&G, "GET", "/users/me", G.admin_token, NULL, NULL);
	assert_int_equal(r.status, 0);
	it_http_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(posts_service_finishes_a_slow_request_then_exits_0),
		cmocka_unit_test(idle_service_exits_at_once),
		cmocka_unit_test(gateway_finishes_a_slow_request_then_exits_0),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
