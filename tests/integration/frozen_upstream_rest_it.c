/* frozen_upstream_rest_it.c - no HTTP thread of the gateway waits on an
 * upstream (issue 13; README "Gateway threads"): with one service frozen
 * (SIGSTOP), requests to routes that need it wait their deadline and end
 * 504, while requests to routes that do not keep their normal latency -
 * on a gateway with a single HTTP thread (GATEWAY_THREADS=1), where a
 * thread parked on the frozen service would stall every other request.
 *
 *   - posts frozen: 16 concurrent GET /posts are 504 after GRPC_DEADLINE_MS,
 *     meanwhile GET /users/:id (users service) and GET /health/live answer
 *     as fast as before the freeze;
 *   - auth frozen: requests with an API key the gateway has not cached
 *     (validated by the auth service) are 504 after the deadline, meanwhile
 *     bearer requests (revocation is checked in memory) answer as before;
 *   - clients that hang up while their request waits on the frozen service
 *     do not hold the gateway's shutdown: SIGTERM, exit 0 at once. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
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

#define GW_IT_NAME "frozen_upstream_rest_it"
#define GW_IT_ENV "GATEWAY_THREADS=1"
#include "support/gw_fixture.h"

#define STALLED 16  /* concurrent requests to the frozen service's route */
#define PROBES 30   /* requests to an unaffected route meanwhile */
#define SLOW_MS 250 /* no unaffected request may take this long */

/* ---- requests from threads ---------------------------------------------------------- */

struct stalled {
	pthread_t thread;
	const char *path;
	const char *header; /* "X-API-Key: ..." or NULL */
	long status;
	char code[40];
	int64_t elapsed_ms;
};

static void *stalled_main(void *arg)
{
	struct stalled *s = arg;
	const char *headers[] = { s->header, NULL };
	struct it_http_result r = it_gateway_call(&G, "GET", s->path, NULL,
						  s->header ? headers : NULL, NULL);
	json_t *error = r.json ? json_object_get(r.json, "error") : NULL;

	s->status = r.status;
	s->elapsed_ms = r.elapsed_ms;
	strlcpy_s(s->code, error ? it_json_str(error, "code") : "", sizeof(s->code));
	it_http_release(&r);
	return NULL;
}

static void start_stalled(struct stalled *s, const char *path, const char *header)
{
	for (int i = 0; i < STALLED; i++) {
		s[i] = (struct stalled){ .path = path, .header = header };
		assert_int_equal(pthread_create(&s[i].thread, NULL, stalled_main, &s[i]), 0);
	}
	sleep_ms(300); /* every one of them is waiting on the frozen service */
}

/* Each stalled request ended 504 GATEWAY_TIMEOUT after the deadline. */
static void expect_timeouts(struct stalled *s)
{
	for (int i = 0; i < STALLED; i++) {
		pthread_join(s[i].thread, NULL);
		if (s[i].status != 504 || strcmp(s[i].code, "GATEWAY_TIMEOUT") != 0)
			fail_msg("stalled request %d: HTTP %ld %s", i, s[i].status, s[i].code);
		assert_true(s[i].elapsed_ms >= IT_GW_DEADLINE_MS);
		assert_true(s[i].elapsed_ms <= IT_GW_DEADLINE_MS + 1500);
	}
}

/* The slowest of PROBES sequential GETs of path (under the API base, as the
 * admin; or, starting "http", that URL as it is), each 200. */
static int64_t slowest(const char *path)
{
	int64_t worst = 0;

	for (int i = 0; i < PROBES; i++) {
		struct it_http_result r = strncmp(path, "http", 4) == 0
						  ? it_http("GET", path, NULL, NULL)
						  : it_gateway_call(&G, "GET", path, G.admin_token,
								    NULL, NULL);

		if (r.status != 200)
			it_http_dump(&r, "200");
		assert_int_equal(r.status, 200);
		if (r.elapsed_ms > worst)
			worst = r.elapsed_ms;
		it_http_release(&r);
	}
	return worst;
}

static void frozen_posts_stall_only_post_routes(void **state)
{
	struct stalled s[STALLED];
	char user[64], live_url[96];
	int64_t before, during, live;
	struct it_http_result r;

	snprintf(user, sizeof(user), "/users/%lld", (long long)G.admin_id);
	snprintf(live_url, sizeof(live_url), "http://127.0.0.1:%d/health/live", G.port);
	before = slowest(user);
	proc_signal(G.posts, SIGSTOP);
	start_stalled(s, "/posts?limit=5", NULL);
	during = slowest(user);
	live = slowest(live_url);
	fprintf(stderr,
		"GET /users/:id slowest: %lld ms before, %lld ms with %d requests on the "
		"frozen posts service; /health/live %lld ms\n",
		(long long)before, (long long)during, STALLED, (long long)live);
	assert_true(during < SLOW_MS);
	assert_true(live < SLOW_MS);
	expect_timeouts(s);
	proc_signal(G.posts, SIGCONT);
	r = it_gateway_call(&G, "GET", "/posts?limit=5", NULL, NULL, NULL);
	assert_int_equal(r.status, 200); /* served again */
	it_http_release(&r);
}

static void frozen_auth_stalls_only_api_keys(void **state)
{
	struct it_http_result r = it_gateway_call(
		&G, "POST", "/api-keys", G.admin_token, NULL,
		"{\"name\":\"frozen\",\"permissions\":[\"read:posts\"]}");
	struct stalled s[STALLED];
	char header[256], user[64];
	int64_t during;

	assert_int_equal(r.status, 201);
	snprintf(header, sizeof(header), "X-API-Key: %s", it_json_str(it_data(&r), "key"));
	it_http_release(&r);
	snprintf(user, sizeof(user), "/users/%lld", (long long)G.admin_id);
	sleep_ms(1100); /* past the gateway's API-key cache: the key must be asked for */
	proc_signal(G.auth, SIGSTOP);
	start_stalled(s, "/posts?limit=5", header);
	during = slowest(user);
	fprintf(stderr,
		"GET /users/:id (bearer) slowest: %lld ms with %d API-key requests on the "
		"frozen auth service\n",
		(long long)during, STALLED);
	assert_true(during < SLOW_MS);
	expect_timeouts(s);
	proc_signal(G.auth, SIGCONT);
}

/* Sends a request on a new connection to port and hangs up with a reset
 * (as wrk does with the requests in flight at its end). */
static void send_and_hang_up(int port, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct linger reset = { .l_onoff = 1, .l_linger = 0 };
	char req[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	sleep_ms(100); /* read and deferred by now */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)), 0);
	close(fd);
}

static void clients_gone_while_waiting_do_not_hold_shutdown(void **state)
{
	static const char *const extra[] = { "GATEWAY_THREADS=1", NULL };
	int port = stack_free_port();
	struct proc *gw = it_gateway_spawn_extra(&G, "gateway-gone", port, extra);
	int64_t start;
	int status;

	assert_non_null(gw);
	proc_signal(G.posts, SIGSTOP);
	for (int i = 0; i < 5; i++)
		send_and_hang_up(port, "/api/v1/posts?limit=5");
	sleep_ms(IT_GW_DEADLINE_MS + 500); /* answered (to nobody) after the deadline */
	proc_signal(G.posts, SIGCONT);
	start = mono_ms();
	status = proc_stop(gw);
	fprintf(stderr, "gateway exited %d, %lld ms after SIGTERM\n", status,
		(long long)(mono_ms() - start));
	assert_int_equal(status, 0);
	assert_true(mono_ms() - start < 3000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(frozen_posts_stall_only_post_routes),
		cmocka_unit_test(frozen_auth_stalls_only_api_keys),
		cmocka_unit_test(clients_gone_while_waiting_do_not_hold_shutdown),
	};

	return cmocka_run_group_tests(tests, gw_setup, gw_teardown);
}
