/* gateway_ratelimit_rest_it.c - the gateway's rate limiters (API.md §1 "Rate
 * limiting", §6) as clients see them: the general limit over every /api
 * request, the auth limit over failed logins and refreshes only, the
 * RateLimit-* headers and Retry-After, the client's identity (X-Forwarded-For
 * only as far as TRUST_PROXY allows), one limit shared by two gateway
 * processes through Redis, and limiting in-process while Redis is down.
 *
 * Every test is its own client: the main gateway trusts one proxy hop, so a
 * test picks a fresh address in X-Forwarded-For and starts from zero. */
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
#include "kv.h"
#include "support/http.h"
#include "util.h"

#define MAX 10     /* RATE_LIMIT_MAX */
#define AUTH_MAX 3 /* AUTH_RATE_LIMIT_MAX */
#define WINDOW_S 4 /* RATE_LIMIT_WINDOW_MS / 1000 */

static struct it_gateway G;
static struct proc *twin; /* a second gateway, same settings, same Redis */
static int twin_port;
static struct proc *untrusting; /* TRUST_PROXY=0 */
static int untrusting_port;
static struct proc *unlimited; /* RATE_LIMIT_ENABLED=false */
static int unlimited_port;

static int setup(void **state)
{
	static const char *const limits[] = {
		"RATE_LIMIT_MAX=10",
		"AUTH_RATE_LIMIT_MAX=3",
		"RATE_LIMIT_WINDOW_MS=4000",
		"TRUST_PROXY=1",
		NULL,
	};
	static const char *const no_trust[] = {
		"RATE_LIMIT_MAX=10",
		"AUTH_RATE_LIMIT_MAX=3",
		"RATE_LIMIT_WINDOW_MS=4000",
		"TRUST_PROXY=0",
		NULL,
	};
	static const char *const off[] = { "RATE_LIMIT_ENABLED=false", "RATE_LIMIT_MAX=1", NULL };

	(void)state;
	_Static_assert(MAX == 10 && AUTH_MAX == 3 && WINDOW_S == 4, "env above");
	if (!it_gateway_start(&G, "gateway_ratelimit_rest_it", limits))
		return -1;
	twin_port = stack_free_port();
	twin = it_gateway_spawn_extra(&G, "gateway-twin", twin_port, limits);
	untrusting_port = stack_free_port();
	untrusting = it_gateway_spawn_extra(&G, "gateway-untrusting", untrusting_port, no_trust);
	unlimited_port = stack_free_port();
	unlimited = it_gateway_spawn_extra(&G, "gateway-unlimited", unlimited_port, off);
	return twin && untrusting && unlimited ? 0 : -1;
}

static int teardown(void **state)
{
	int bad = 0;

	(void)state;
	for (struct proc **p = (struct proc *[]){ twin, untrusting, unlimited, NULL }; *p; p++)
		bad |= proc_stop(*p) != 0;
	return it_gateway_stop(&G) == 0 && !bad ? 0 : -1;
}

/* ---- requests ------------------------------------------------------------------ */

/* method <path below /api/v1> on the gateway at port, as client (sent in
 * X-Forwarded-For; NULL: no header), with body (JSON) when not NULL. */
static struct it_http_result call_as(int port, const char *client, const char *method,
				     const char *path, const char *body)
{
	char url[256], xff[96];
	const char *headers[3] = { NULL, NULL, NULL };
	size_t n = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1%s", port, path);
	if (client) {
		snprintf(xff, sizeof(xff), "X-Forwarded-For: %s", client);
		headers[n++] = xff;
	}
	if (body)
		headers[n++] = "Content-Type: application/json";
	return it_http(method, url, headers, body);
}

static struct it_http_result list_posts(int port, const char *client)
{
	return call_as(port, client, "GET", "/posts?limit=1", NULL);
}

static struct it_http_result bad_login(const char *client)
{
	return call_as(G.port, client, "POST", "/auth/login",
		       "{\"email\":\"" IT_GW_ADMIN_EMAIL "\",\"password\":\"wrong-password\"}");
}

static struct it_http_result good_login(const char *client)
{
	return call_as(G.port, client, "POST", "/auth/login",
		       "{\"email\":\"" IT_GW_ADMIN_EMAIL "\",\"password\":\"" IT_GW_ADMIN_PASSWORD
		       "\"}");
}

/* ---- assertions ------------------------------------------------------------------ */

static int64_t header_int(const struct it_http_result *r, const char *name)
{
	const char *v = it_http_header(r, name);
	int64_t n = -1;

	if (!v || !parse_int64(v, &n)) {
		it_http_dump(r, name);
		fail_msg("header %s is missing or not an integer", name);
	}
	return n;
}

/* The four RateLimit headers of a limiter with limit, and remaining left;
 * Reset in 1..WINDOW_S. Returns Reset. */
static int64_t assert_limit_headers(const struct it_http_result *r, int limit, int remaining)
{
	char policy[32];
	int64_t reset;

	snprintf(policy, sizeof(policy), "%d;w=%d", limit, WINDOW_S);
	if (!it_http_header(r, "RateLimit-Policy"))
		it_http_dump(r, "no RateLimit-Policy");
	assert_string_equal(it_http_header(r, "RateLimit-Policy"), policy);
	assert_int_equal(header_int(r, "RateLimit-Limit"), limit);
	if (header_int(r, "RateLimit-Remaining") != remaining)
		it_http_dump(r, "RateLimit-Remaining");
	assert_int_equal(header_int(r, "RateLimit-Remaining"), remaining);
	reset = header_int(r, "RateLimit-Reset");
	assert_true(reset >= 1 && reset <= WINDOW_S);
	return reset;
}

/* A 429 in the RATE_LIMIT_EXCEEDED envelope with Retry-After == Reset. */
static void assert_refused(struct it_http_result r, int limit)
{
	int64_t reset = assert_limit_headers(&r, limit, 0);

	assert_int_equal(header_int(&r, "Retry-After"), reset);
	it_expect_error(r, 429, "RATE_LIMIT_EXCEEDED", NULL);
}

static void assert_no_limit_headers(const struct it_http_result *r)
{
	static const char *const names[] = { "RateLimit-Policy", "RateLimit-Limit",
					     "RateLimit-Remaining", "RateLimit-Reset",
					     "Retry-After" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		assert_null(it_http_header(r, names[i]));
}

/* n successful list requests as client on port, counting down from left. */
static void spend(int port, const char *client, int n, int left)
{
	for (int i = 0; i < n; i++) {
		struct it_http_result r = list_posts(port, client);

		if (r.status != 200)
			it_http_dump(&r, "spend");
		assert_int_equal(r.status, 200);
		assert_limit_headers(&r, MAX, left - 1 - i);
		it_http_release(&r);
	}
}

/* Forgets the socket address's counters (tests without X-Forwarded-For share
 * 127.0.0.1 across gateways, through Redis). */
static void forget_loopback(void)
{
	struct kv *kv = kv_new(stack_redis_url(G.stack), 1000, 1);
	const char *keys[] = { "rl:g:127.0.0.1", "rl:a:127.0.0.1" };

	assert_int_equal(kv_del(kv, keys, 2), 0);
	kv_free(kv);
}

/* ---- the general limiter ------------------------------------------------------------ */

static void general_limit_counts_down_then_refuses(void **state)
{
	struct kv *kv = kv_new(stack_redis_url(G.stack), 1000, 1);
	char *count = NULL;
	size_t len;

	(void)state;
	spend(G.port, "203.0.113.1", MAX, MAX);
	assert_refused(list_posts(G.port, "203.0.113.1"), MAX);
	/* the 429 counted too: the next one is refused as well */
	assert_refused(list_posts(G.port, "203.0.113.1"), MAX);
	/* the counter is in Redis, shared by every replica */
	assert_int_equal(kv_get(kv, "rl:g:203.0.113.1", &count, &len), 1);
	assert_string_equal(count, "12");
	free(count);
	kv_free(kv);
	/* another client is not affected */
	spend(G.port, "203.0.113.2", 1, MAX);
}

/* rate_limit_rejections_total{limiter="general"} of the main gateway. */
static int64_t general_rejections(void)
{
	static const char name[] = "rate_limit_rejections_total{limiter=\"general\"} ";
	char url[160];
	struct it_http_result r;
	const char *line;
	int64_t n = -1;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", G.port);
	r = it_http("GET", url, NULL, NULL);
	line = strstr(r.body, name);
	assert_non_null(line);
	n = strtoll(line + strlen(name), NULL, 10);
	it_http_release(&r);
	return n;
}

static void unknown_routes_count_and_keep_their_404(void **state)
{
	struct it_http_result r;
	int64_t rejected = general_rejections();

	(void)state;
	for (int i = 0; i < MAX; i++) {
		r = call_as(G.port, "203.0.113.10", "GET", "/no-such-thing", NULL);
		assert_limit_headers(&r, MAX, MAX - 1 - i);
		it_expect_error(r, 404, "NOT_FOUND", NULL);
	}
	/* route before rate limit (API.md §6): still a 404, with the headers */
	r = call_as(G.port, "203.0.113.10", "DELETE", "/posts", NULL);
	assert_limit_headers(&r, MAX, 0);
	it_expect_error(r, 405, "METHOD_NOT_ALLOWED", NULL);
	assert_refused(list_posts(G.port, "203.0.113.10"), MAX);
	/* only the 429 is a rejection, not the 405 past the limit */
	assert_int_equal(general_rejections() - rejected, 1);
}

static void operational_endpoints_are_never_limited(void **state)
{
	static const char *const paths[] = { "/health/live", "/health/ready", "/metrics",
					     "/api/v1/openapi.json" };
	char url[160];

	(void)state;
	forget_loopback();
	spend(G.port, NULL, MAX, MAX); /* no X-Forwarded-For: the socket's address */
	assert_refused(list_posts(G.port, NULL), MAX);
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		struct it_http_result r;

		snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", G.port, paths[i]);
		r = it_http("GET", url, NULL, NULL);
		if (r.status != 200)
			it_http_dump(&r, paths[i]);
		assert_int_equal(r.status, 200);
		assert_no_limit_headers(&r);
		it_http_release(&r);
	}
}

/* ---- the client's identity ------------------------------------------------------------ */

static void forwarded_for_is_trusted_one_hop_only(void **state)
{
	struct it_http_result r;

	(void)state;
	/* With one trusted hop the client is the last entry: whatever a client
	 * writes in front of it cannot give it a fresh counter. */
	for (int i = 0; i < MAX; i++) {
		char chain[64];

		snprintf(chain, sizeof(chain), "10.9.9.%d, 203.0.113.20", i);
		r = list_posts(G.port, chain);
		assert_int_equal(r.status, 200);
		assert_limit_headers(&r, MAX, MAX - 1 - i);
		it_http_release(&r);
	}
	assert_refused(list_posts(G.port, "10.9.9.99, 203.0.113.20"), MAX);
	/* the same chain split over two headers is the same chain */
	{
		char url[160];
		const char *headers[] = { "X-Forwarded-For: 10.9.9.1",
					  "X-Forwarded-For: 203.0.113.20", NULL };

		snprintf(url, sizeof(url), "%s/posts?limit=1", G.base);
		assert_refused(it_http("GET", url, headers, NULL), MAX);
	}
	/* an entry that is not an address is not a client: the peer is */
	r = list_posts(G.port, "not-an-address");
	assert_non_null(it_http_header(&r, "RateLimit-Limit"));
	it_http_release(&r);
	{
		struct kv *kv = kv_new(stack_redis_url(G.stack), 1000, 1);
		char *v = NULL;
		size_t len;

		assert_int_equal(kv_get(kv, "rl:g:not-an-address", &v, &len), 0);
		assert_int_equal(kv_get(kv, "rl:g:10.9.9.99", &v, &len), 0);
		kv_free(kv);
	}
}

static void forwarded_for_is_ignored_without_trust_proxy(void **state)
{
	(void)state;
	forget_loopback();
	/* TRUST_PROXY=0: a new X-Forwarded-For every time changes nothing */
	for (int i = 0; i < MAX; i++) {
		char spoof[32];
		struct it_http_result r;

		snprintf(spoof, sizeof(spoof), "198.51.100.%d", i + 1);
		r = list_posts(untrusting_port, spoof);
		assert_int_equal(r.status, 200);
		it_http_release(&r);
	}
	assert_refused(list_posts(untrusting_port, "198.51.100.200"), MAX);
}

/* ---- shared between gateways ------------------------------------------------------------ */

static void two_gateways_enforce_one_limit(void **state)
{
	(void)state;
	for (int i = 0; i < MAX; i++) {
		struct it_http_result r = list_posts(i % 2 ? twin_port : G.port, "203.0.113.30");

		assert_int_equal(r.status, 200);
		assert_limit_headers(&r, MAX, MAX - 1 - i);
		it_http_release(&r);
	}
	assert_refused(list_posts(twin_port, "203.0.113.30"), MAX);
	assert_refused(list_posts(G.port, "203.0.113.30"), MAX);
}

static void disabled_limits_count_nothing(void **state)
{
	(void)state;
	for (int i = 0; i < 15; i++) {
		struct it_http_result r = list_posts(unlimited_port, NULL);

		assert_int_equal(r.status, 200);
		assert_no_limit_headers(&r);
		it_http_release(&r);
	}
}

/* ---- the auth limiter ------------------------------------------------------------ */

static void auth_limiter_counts_only_failures(void **state)
{
	const char *c = "203.0.113.40";
	struct it_http_result r;

	(void)state;
	/* successes take their count back: the auth headers stay at full */
	for (int i = 0; i < AUTH_MAX; i++) {
		r = good_login(c);
		assert_int_equal(r.status, 200);
		assert_limit_headers(&r, AUTH_MAX, AUTH_MAX);
		it_http_release(&r);
	}
	for (int i = 0; i < AUTH_MAX; i++) {
		r = bad_login(c);
		assert_limit_headers(&r, AUTH_MAX, AUTH_MAX - 1 - i);
		it_expect_error(r, 401, "INVALID_CREDENTIALS", NULL);
	}
	assert_refused(bad_login(c), AUTH_MAX);
	/* now even the right password waits for the window */
	assert_refused(good_login(c), AUTH_MAX);
	/* refresh shares the counter */
	assert_refused(call_as(G.port, c, "POST", "/auth/refresh", "{\"refreshToken\":\"x\"}"),
		       AUTH_MAX);
	/* the general limiter is untouched by the auth one: other routes work */
	r = list_posts(G.port, c);
	assert_int_equal(r.status, 200);
	it_http_release(&r);
}

static void *bad_login_thread(void *arg)
{
	struct it_http_result *r = arg;

	*r = bad_login("203.0.113.50");
	return NULL;
}

static void concurrent_failures_cannot_slip_past(void **state)
{
	enum { N = 8 };
	struct it_http_result r[N];
	pthread_t t[N];
	int unauthorized = 0, limited = 0;

	(void)state;
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_create(&t[i], NULL, bad_login_thread, &r[i]), 0);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		unauthorized += r[i].status == 401;
		limited += r[i].status == 429;
		it_http_release(&r[i]);
	}
	assert_int_equal(unauthorized, AUTH_MAX);
	assert_int_equal(limited, N - AUTH_MAX);
}

static void auth_window_resets(void **state)
{
	const char *c = "203.0.113.60";
	struct it_http_result r;
	int64_t reset;

	(void)state;
	for (int i = 0; i < AUTH_MAX; i++) {
		r = bad_login(c);
		assert_int_equal(r.status, 401);
		it_http_release(&r);
	}
	r = bad_login(c);
	assert_int_equal(r.status, 429);
	reset = header_int(&r, "Retry-After");
	it_http_release(&r);
	sleep_ms((int)reset * 1000 + 200);
	r = bad_login(c);
	assert_limit_headers(&r, AUTH_MAX, AUTH_MAX - 1);
	it_expect_error(r, 401, "INVALID_CREDENTIALS", NULL);
}

/* ---- without Redis ------------------------------------------------------------ */

/* How many lines of the gateway's log contain text. */
static int log_count(const struct proc *p, const char *text)
{
	char *log = read_file_all(proc_log_path(p));
	int n = 0;

	for (const char *s = log; s && (s = strstr(s, text)); s++)
		n++;
	free(log);
	return n;
}

static void redis_down_limits_in_process_then_shared_again(void **state)
{
	struct it_http_result r;
	char url[160];

	(void)state;
	stack_redis_stop(G.stack);
	/* served, and still limited, per gateway */
	spend(G.port, "203.0.113.70", MAX, MAX);
	assert_refused(list_posts(G.port, "203.0.113.70"), MAX);
	spend(twin_port, "203.0.113.70", MAX, MAX);
	assert_refused(list_posts(twin_port, "203.0.113.70"), MAX);
	assert_int_equal(log_count(G.gateway, "rate limiting in-process"), 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", G.port);
	r = it_http("GET", url, NULL, NULL);
	assert_int_equal(r.status, 503);
	assert_string_equal(it_json_str(json_object_get(r.json, "checks"), "redis"), "error");
	it_http_release(&r);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", G.port);
	r = it_http("GET", url, NULL, NULL);
	assert_non_null(strstr(r.body, "\nrate_limit_fallback 1\n"));
	it_http_release(&r);

	stack_redis_start(G.stack);
	sleep_ms(1500); /* kv.h: a dead Redis is retried at most once per second */
	/* back to one limit for both gateways */
	for (int i = 0; i < MAX; i++) {
		r = list_posts(i % 2 ? twin_port : G.port, "203.0.113.71");
		assert_int_equal(r.status, 200);
		assert_limit_headers(&r, MAX, MAX - 1 - i);
		it_http_release(&r);
	}
	assert_refused(list_posts(twin_port, "203.0.113.71"), MAX);
	assert_int_equal(log_count(G.gateway, "rate limiting on Redis again"), 1);
	assert_int_equal(log_count(G.gateway, "rate limiting in-process"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(general_limit_counts_down_then_refuses),
		cmocka_unit_test(unknown_routes_count_and_keep_their_404),
		cmocka_unit_test(operational_endpoints_are_never_limited),
		cmocka_unit_test(forwarded_for_is_trusted_one_hop_only),
		cmocka_unit_test(forwarded_for_is_ignored_without_trust_proxy),
		cmocka_unit_test(two_gateways_enforce_one_limit),
		cmocka_unit_test(disabled_limits_count_nothing),
		cmocka_unit_test(auth_limiter_counts_only_failures),
		cmocka_unit_test(concurrent_failures_cannot_slip_past),
		cmocka_unit_test(auth_window_resets),
		cmocka_unit_test(redis_down_limits_in_process_then_shared_again),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
