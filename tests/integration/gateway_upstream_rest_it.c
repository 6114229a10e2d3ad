/* gateway_upstream_rest_it.c - what a REST client sees when the users service
 * fails behind the gateway (API.md §1 table, §3 "Every gateway-to-service call
 * has a deadline"): a hung service is a 504 after GRPC_DEADLINE_MS, a stopped
 * one a 503 within it, both in the error envelope, and the gateway serves
 * again once the service is back, without being restarted. */
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

#define GW_IT_NAME "gateway_upstream_rest_it"
#include "support/gw_fixture.h"

#define SIGN_UP \
	"{\"email\":\"while.down@example.com\",\"password\":\"password123\",\"name\":\"Down\"}"

/* GET /users/<admin id> as the admin. */
static struct it_http_result get_me(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/users/%lld", (long long)G.admin_id);
	return it_gateway_call(&G, "GET", path, G.admin_token, NULL, NULL);
}

/* Polls GET /users/<admin> until it is a 200; true when it was within timeout_ms. */
static bool serves_again_within(int timeout_ms)
{
	char path[64];

	snprintf(path, sizeof(path), "/api/v1/users/%lld", (long long)G.admin_id);
	return it_gateway_await_200(&G, path, G.admin_token, timeout_ms);
}

static int64_t user_count(void)
{
	return it_sql_int(G.db, "SELECT count(*) FROM users.users");
}

static void healthy_upstream_serves(void **state)
{
	struct it_http_result r = get_me();

	assert_true(it_http_is_success(&r, 200));
	assert_true(r.elapsed_ms < IT_GW_DEADLINE_MS);
	it_http_release(&r);
}

static void hung_users_service_is_504_after_the_deadline(void **state)
{
	struct it_http_result r;
	char *tm = it_token(G.admin_id, IT_GW_ADMIN_EMAIL, "moderator");

	proc_signal(G.users, SIGSTOP);
	r = get_me();
	assert_true(it_http_is_error(&r, 504, "GATEWAY_TIMEOUT", NO_DETAILS));
	fprintf(stderr, "504 after %lld ms (deadline %d ms)\n", (long long)r.elapsed_ms,
		IT_GW_DEADLINE_MS);
	assert_true(r.elapsed_ms >= IT_GW_DEADLINE_MS);
	assert_true(r.elapsed_ms <= IT_GW_DEADLINE_MS + 1000);
	it_http_release(&r);

	r = it_gateway_call(&G, "GET", "/users?limit=1", tm, NULL, NULL);
	assert_true(it_http_is_error(&r, 504, "GATEWAY_TIMEOUT", NO_DETAILS));
	assert_true(r.elapsed_ms >= IT_GW_DEADLINE_MS);
	assert_true(r.elapsed_ms <= IT_GW_DEADLINE_MS + 1000);
	it_http_release(&r);

	/* what the gateway answers alone does not wait for the upstream */
	r = it_gateway_call(&G, "GET", "/users/abc", G.admin_token, NULL, NULL);
	assert_true(it_http_is_error(&r, 400, "BAD_REQUEST", IT_ANY_DETAILS));
	assert_true(r.elapsed_ms < 500);
	it_http_release(&r);

	proc_signal(G.users, SIGCONT);
	assert_true(serves_again_within(5000));
	free(tm);
}

static void stopped_users_service_is_503_within_the_deadline(void **state)
{
	int64_t before = user_count();
	struct it_http_result r;

	assert_int_equal(proc_stop(G.users), 0);
	for (int i = 0; i < 3; i++) {
		r = get_me();
		assert_true(it_http_is_error(&r, 503, "SERVICE_UNAVAILABLE", NO_DETAILS));
		fprintf(stderr, "503 after %lld ms\n", (long long)r.elapsed_ms);
		assert_true(r.elapsed_ms <= IT_GW_DEADLINE_MS);
		it_http_release(&r);
	}
	r = it_gateway_call(&G, "POST", "/users", NULL, NULL, SIGN_UP);
	assert_true(it_http_is_error(&r, 503, "SERVICE_UNAVAILABLE", NO_DETAILS));
	assert_true(r.elapsed_ms <= IT_GW_DEADLINE_MS);
	it_http_release(&r);
	assert_int_equal(user_count(), before);

	/* back on the same port: the same gateway process serves again */
	assert_true(it_gateway_users_start(&G));
	assert_true(serves_again_within(20000));
	r = it_gateway_call(&G, "POST", "/users", NULL, NULL, SIGN_UP);
	assert_true(it_http_is_success(&r, 201));
	it_http_release(&r);
	assert_int_equal(user_count(), before + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(healthy_upstream_serves),
		cmocka_unit_test(hung_users_service_is_504_after_the_deadline),
		cmocka_unit_test(stopped_users_service_is_503_within_the_deadline),
	};

	return cmocka_run_group_tests(tests, gw_setup, gw_teardown);
}
