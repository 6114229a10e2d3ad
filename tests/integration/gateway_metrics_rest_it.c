/* gateway_metrics_rest_it.c - GET /metrics of a real gateway after real traffic
 * (API.md §1 "Operational endpoints", issue 6): requests by route template
 * and status, latency histograms, upstream calls and errors by service,
 * rate-limit rejections, in-flight requests; and the whole text passes a
 * Prometheus text-format parser (tests/contract/metrics.mjs, npm's
 * parse-prometheus-text-format plus a strict line grammar) and Prometheus'
 * own linter, `promtool check metrics` (issue 15). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "it.h"
#include "util.h"

#define GW_IT_NAME "gateway_metrics_rest_it"
#define GW_IT_ENV "AUTH_RATE_LIMIT_MAX=1"
#include "support/gw_fixture.h"

static struct it_http_result scrape(void);
static int Scrapes; /* scrapes made so far */

/* A scrape once every earlier request is counted: the server counts a
 * request when its response is sent, which a fast client can beat by a few
 * microseconds (more on a loaded machine), so the scrape is taken again,
 * for up to 2 s, until it is the only request in flight. */
static struct it_http_result scrape_settled(void)
{
	int64_t deadline = mono_ms() + 2000;
	struct it_http_result r = scrape();

	while (!strstr(r.body, "\nhttp_requests_in_flight 1\n") && mono_ms() < deadline) {
		it_http_release(&r);
		sleep_ms(10);
		r = scrape();
	}
	return r;
}

static struct it_http_result scrape(void)
{
	char url[160];
	struct it_http_result r;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", G.port);
	r = it_http("GET", url, NULL, NULL);
	Scrapes++;
	if (r.status != 200)
		it_http_dump(&r, "GET /metrics");
	assert_int_equal(r.status, 200);
	assert_string_equal(it_http_header(&r, "Content-Type"),
			    "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(it_http_header(&r, "X-Request-Id"));
	return r;
}

/* The exposition has this exact line. */
static void assert_line(const struct it_http_result *r, const char *line)
{
	char *want = xmalloc(strlen(line) + 3);
	bool found;

	snprintf(want, strlen(line) + 3, "\n%s\n", line);
	found = strstr(r->body, want) != NULL;
	if (!found)
		fprintf(stderr, "missing line: %s\n--- /metrics:\n%s", line, r->body);
	free(want);
	assert_true(found);
}

static void call_expect(const char *method, const char *path, const char *token, const char *body,
			long status)
{
	struct it_http_result r = it_gateway_call(&G, method, path, token, NULL, body);

	if (r.status != status)
		it_http_dump(&r, path);
	assert_int_equal(r.status, status);
	it_http_release(&r);
}

static void traffic_is_counted_by_route_template(void **state)
{
	char path[64], big[8192];
	struct it_http_result r;

	(void)state;
	snprintf(path, sizeof(path), "/users/%lld", (long long)G.admin_id);
	call_expect("GET", path, G.admin_token, NULL, 200);
	call_expect("GET", path, G.admin_token, NULL, 200);
	call_expect("GET", "/users/999999", G.admin_token, NULL, 404);
	call_expect("GET", "/no-such-route", NULL, NULL, 404);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	call_expect("POST", "/posts", G.admin_token, big, 413); /* answered by the HTTP layer */
	call_expect("POST", "/auth/login", NULL,
		    "{\"email\":\"nobody@example.com\",\"password\":\"x\"}", 401);
	call_expect("POST", "/auth/login", NULL,
		    "{\"email\":\"nobody@example.com\",\"password\":\"x\"}", 429);

	r = scrape_settled();
	assert_line(&r, "http_requests_total{method=\"GET\",route=\"/api/v1/users/:id\","
			"status=\"200\"} 2");
	assert_line(&r, "http_requests_total{method=\"GET\",route=\"/api/v1/users/:id\","
			"status=\"404\"} 1");
	assert_line(&r, "http_request_duration_seconds_count{method=\"GET\","
			"route=\"/api/v1/users/:id\"} 3");
	assert_line(&r, "http_requests_total{method=\"\",route=\"unmatched\",status=\"404\"} 1");
	assert_line(&r, "http_requests_total{method=\"POST\",route=\"/api/v1/posts\","
			"status=\"413\"} 1");
	assert_line(&r, "http_requests_total{method=\"POST\",route=\"/api/v1/auth/login\","
			"status=\"429\"} 1");
	assert_line(&r, "upstream_requests_total{service=\"users\",code=\"OK\"} 2");
	assert_line(&r, "upstream_requests_total{service=\"users\",code=\"NOT_FOUND\"} 1");
	assert_line(&r, "upstream_errors_total{service=\"users\"} 1");
	assert_line(&r, "upstream_request_duration_seconds_count{service=\"users\"} 3");
	assert_line(&r, "rate_limit_rejections_total{limiter=\"auth\"} 1");
	assert_line(&r, "rate_limit_rejections_total{limiter=\"general\"} 0");
	assert_line(&r, "rate_limit_fallback 0");
	assert_line(&r, "http_requests_in_flight 1"); /* the scrape itself */
	/* raw ids never become labels */
	assert_null(strstr(r.body, "/users/999999"));
	it_http_release(&r);

	/* the previous scrape is counted under its own route */
	{
		int64_t deadline = mono_ms() + 2000;
		char line[128];

		for (;;) { /* every earlier scrape, once each has been counted */
			r = scrape();
			snprintf(line, sizeof(line),
				 "http_requests_total{method=\"GET\",route=\"/metrics\","
				 "status=\"200\"} %d\n",
				 Scrapes - 1);
			if (strstr(r.body, line) || mono_ms() > deadline)
				break;
			it_http_release(&r);
			sleep_ms(10);
		}
		line[strlen(line) - 1] = '\0';
		assert_line(&r, line);
	}
	it_http_release(&r);
}

static void exposition_parses_with_a_prometheus_parser(void **state)
{
	struct it_http_result r;
	char file[4096], cmd[8192];
	FILE *f;

	(void)state;
	r = scrape();
	snprintf(file, sizeof(file), "%s/metrics.txt", stack_dir(G.stack));
	f = fopen(file, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(r.body, 1, r.body_len, f), r.body_len);
	fclose(f);
	it_http_release(&r);
	/* make test installs tests/contract's packages first (tests/contract/check.sh) */
	snprintf(cmd, sizeof(cmd), "node tests/contract/metrics.mjs --route-templates-only %s",
		 file);
	assert_int_equal(system(cmd), 0);
	/* Prometheus' own linter (deploy/deps.sh installs it): parse errors,
	 * missing HELP/TYPE, counters without _total, non-base units... */
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", file);
	assert_int_equal(system(cmd), 0);
}

/* The promtool check above can fail: a counter without the _total suffix and
 * without HELP is rejected (so a missing or no-op promtool cannot pass). */
static void promtool_rejects_a_bad_exposition(void **state)
{
	static const char bad[] = "# TYPE upstream_calls counter\nupstream_calls 1\n";
	char file[4096], cmd[10240];
	FILE *f;

	(void)state;
	snprintf(file, sizeof(file), "%s/metrics-bad.txt", stack_dir(G.stack));
	f = fopen(file, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(bad, 1, sizeof(bad) - 1, f), sizeof(bad) - 1);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s > %s.out 2>&1", file, file);
	assert_int_not_equal(system(cmd), 0);
}

static void metrics_is_get_only(void **state)
{
	char url[160];

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", G.port);
	it_expect_error(it_http("POST", url, NULL, ""), 405, "METHOD_NOT_ALLOWED", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(traffic_is_counted_by_route_template),
		cmocka_unit_test(exposition_parses_with_a_prometheus_parser),
		cmocka_unit_test(promtool_rejects_a_bad_exposition),
		cmocka_unit_test(metrics_is_get_only),
	};

	return cmocka_run_group_tests(tests, gw_setup, gw_teardown);
}
