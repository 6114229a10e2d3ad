/* gateway_ratelimit_test.c - the limiter without Redis: the in-process
 * fallback's windows, take-backs and memory bound, and the verdict and
 * headers ratelimit_hit gives when Redis is unreachable (a URL nobody
 * listens on). The Redis path is tested against a real Redis in
 * tests/integration/gateway_ratelimit_rest_it.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kv.h"
#include "ratelimit.h"

static void local_window_counts_and_expires(void **state)
{
	struct ratelimit_local *l = ratelimit_local_new(16);
	int64_t count, reset;

	(void)state;
	assert_true(ratelimit_local_add(l, "g:a", 1, 1000, 5000, &count, &reset));
	assert_int_equal(count, 1);
	assert_int_equal(reset, 1000);
	assert_true(ratelimit_local_add(l, "g:a", 1, 1000, 5400, &count, &reset));
	assert_int_equal(count, 2);
	assert_int_equal(reset, 600); /* the window started at the first request */
	/* another key is another counter */
	assert_true(ratelimit_local_add(l, "g:b", 1, 1000, 5400, &count, &reset));
	assert_int_equal(count, 1);
	/* the window ended: a new one starts at this request */
	assert_true(ratelimit_local_add(l, "g:a", 1, 1000, 6000, &count, &reset));
	assert_int_equal(count, 1);
	assert_int_equal(reset, 1000);
	ratelimit_local_free(l);
}

static void local_take_back_never_goes_below_zero(void **state)
{
	struct ratelimit_local *l = ratelimit_local_new(16);
	int64_t count, reset;

	(void)state;
	ratelimit_local_add(l, "a:x", 1, 1000, 0, &count, &reset);
	ratelimit_local_add(l, "a:x", -1, 1000, 10, &count, &reset);
	assert_int_equal(count, 0);
	ratelimit_local_add(l, "a:x", -1, 1000, 20, &count, &reset);
	assert_int_equal(count, 0);
	/* a take-back opens no window: the next hit starts its own */
	ratelimit_local_add(l, "a:y", -1, 1000, 0, &count, &reset);
	ratelimit_local_add(l, "a:y", 1, 1000, 500, &count, &reset);
	assert_int_equal(count, 1);
	assert_int_equal(reset, 1000);
	ratelimit_local_free(l);
}

static void local_table_is_bounded(void **state)
{
	struct ratelimit_local *l = ratelimit_local_new(4);
	int64_t count, reset;
	char key[16];

	(void)state;
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "g:%d", i);
		assert_true(ratelimit_local_add(l, key, 1, 1000, 0, &count, &reset));
	}
	/* full of open windows: a fifth client is not counted */
	assert_false(ratelimit_local_add(l, "g:new", 1, 1000, 10, &count, &reset));
	assert_int_equal(count, 1);
	/* known clients still are */
	assert_true(ratelimit_local_add(l, "g:0", 1, 1000, 10, &count, &reset));
	assert_int_equal(count, 2);
	/* once the windows ended, there is room again */
	assert_true(ratelimit_local_add(l, "g:new", 1, 1000, 2000, &count, &reset));
	ratelimit_local_free(l);
}

static void hit_without_redis_limits_in_process(void **state)
{
	const struct ratelimit_config cfg = {
		.enabled = true, .window_ms = 60000, .max = 2, .auth_max = 1
	};
	struct kv *kv = kv_new("redis://127.0.0.1:1", 100, 1); /* nobody listens */
	struct ratelimiter *rl = ratelimit_new(&cfg, kv, NULL);
	struct ratelimit_state st;

	(void)state;
	for (int i = 1; i <= 3; i++) {
		ratelimit_hit(rl, RATELIMIT_GENERAL, "192.0.2.1", &st);
		assert_int_equal(st.count, i);
		assert_int_equal(st.limit, 2);
		assert_true(st.limited == (i > 2));
	}
	ratelimit_hit(rl, RATELIMIT_AUTH, "192.0.2.1", &st);
	assert_int_equal(st.count, 1);
	assert_false(st.limited);
	ratelimit_take_back(rl, "192.0.2.1", &st);
	assert_int_equal(st.count, 0);
	ratelimit_hit(rl, RATELIMIT_AUTH, "192.0.2.1", &st);
	ratelimit_hit(rl, RATELIMIT_AUTH, "192.0.2.1", &st);
	assert_true(st.limited);
	ratelimit_free(rl);
	kv_free(kv);
}

static const char *header(const struct http_response *res, const char *name)
{
	for (size_t i = 0; i < res->nheaders; i++) {
		if (strcmp(res->headers[i].name, name) == 0)
			return res->headers[i].value;
	}
	return NULL;
}

static void headers_round_the_reset_up(void **state)
{
	const struct ratelimit_config cfg = {
		.enabled = true, .window_ms = 900000, .max = 100, .auth_max = 5
	};
	struct kv *kv = kv_new("redis://127.0.0.1:1", 100, 1);
	struct ratelimiter *rl = ratelimit_new(&cfg, kv, NULL);
	struct arena arena;
	struct http_request req = { .arena = &arena };
	struct http_response res = { 0 };
	struct ratelimit_state st = { .kind = RATELIMIT_GENERAL,
				      .limit = 100,
				      .count = 101,
				      .reset_ms = 1001,
				      .limited = true };

	(void)state;
	arena_init(&arena);
	ratelimit_headers(rl, &st, &req, &res);
	assert_string_equal(header(&res, "RateLimit-Policy"), "100;w=900");
	assert_string_equal(header(&res, "RateLimit-Limit"), "100");
	assert_string_equal(header(&res, "RateLimit-Remaining"), "0");
	assert_string_equal(header(&res, "RateLimit-Reset"), "2");
	assert_string_equal(header(&res, "Retry-After"), "2");

	memset(&res, 0, sizeof(res));
	st = (struct ratelimit_state){ .limit = 100, .count = 1, .reset_ms = 900000 };
	ratelimit_headers(rl, &st, &req, &res);
	assert_string_equal(header(&res, "RateLimit-Remaining"), "99");
	assert_string_equal(header(&res, "RateLimit-Reset"), "900");
	assert_null(header(&res, "Retry-After"));
	arena_release(&arena);
	ratelimit_free(rl);
	kv_free(kv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(local_window_counts_and_expires),
		cmocka_unit_test(local_take_back_never_goes_below_zero),
		cmocka_unit_test(local_table_is_bounded),
		cmocka_unit_test(hit_without_redis_limits_in_process),
		cmocka_unit_test(headers_round_the_reset_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
