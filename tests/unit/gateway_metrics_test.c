/* gateway_metrics_test.c - the /metrics module: what a scrape shows after
 * known recordings (exact sample lines), status overflow, histogram buckets,
 * label escaping, exact totals under concurrent recording, and that the text
 * passes the contract check tests/contract/metrics.mjs when node is there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"

static const struct metrics_route test_routes[] = {
	{ "GET", "/api/v1/users/:id" },
	{ "POST", "/api/v1/users" },
	{ "", "unmatched" },
};
static const char *const test_services[] = { "users", "posts", "auth" };

static struct metrics *new_metrics(void)
{
	struct metrics_config cfg = {
		.routes = test_routes,
		.nroutes = 3,
		.services = test_services,
		.nservices = 3,
	};

	return metrics_new(&cfg);
}

/* The rendered text; the length reported must be the string's. */
static char *render(struct metrics *m)
{
	size_t len = 0;
	char *text = metrics_render(m, &len);

	assert_non_null(text);
	assert_int_equal(len, strlen(text));
	assert_true(len > 0 && text[len - 1] == '\n');
	return text;
}

/* Whether text holds line as a whole line. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static void assert_line(const char *text, const char *line)
{
	if (!has_line(text, line))
		fail_msg("missing line: %s\n--- rendered:\n%s", line, text);
}

static void assert_no_line(const char *text, const char *line)
{
	if (has_line(text, line))
		fail_msg("unexpected line: %s", line);
}

/* Number of lines starting with prefix. */
static int count_prefixed(const char *text, const char *prefix)
{
	int n = 0;
	size_t len = strlen(prefix);

	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');

		if (strncmp(p, prefix, len) == 0)
			n++;
		if (!eol)
			break;
		p = eol + 1;
	}
	return n;
}

static void fresh_render_has_every_family(void **state)
{
	static const char *const types[] = {
		"# TYPE http_requests_total counter",
		"# TYPE http_request_duration_seconds histogram",
		"# TYPE http_requests_in_flight gauge",
		"# TYPE upstream_requests_total counter",
		"# TYPE upstream_errors_total counter",
		"# TYPE upstream_request_duration_seconds histogram",
		"# TYPE rate_limit_rejections_total counter",
		"# TYPE rate_limit_fallback gauge",
		"# TYPE http_slow_clients_closed_total counter",
	};
	struct metrics *m = new_metrics();
	char *text = render(m);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		assert_line(text, types[i]);
	assert_int_equal(count_prefixed(text, "# HELP "), 9);
	assert_int_equal(count_prefixed(text, "# TYPE "), 9);
	assert_line(text, "http_slow_clients_closed_total{phase=\"headers\"} 0");
	assert_line(text, "http_slow_clients_closed_total{phase=\"body\"} 0");
	assert_line(text, "http_requests_in_flight 0");
	assert_line(text, "rate_limit_fallback 0");
	metrics_slow_client(m, false);
	metrics_slow_client(m, true);
	metrics_slow_client(m, true);
	free(text);
	text = render(m);
	assert_line(text, "http_slow_clients_closed_total{phase=\"headers\"} 1");
	assert_line(text, "http_slow_clients_closed_total{phase=\"body\"} 2");
	assert_line(text, "upstream_errors_total{service=\"auth\"} 0");
	assert_line(text, "rate_limit_rejections_total{limiter=\"general\"} 0");
	assert_line(text, "rate_limit_rejections_total{limiter=\"auth\"} 0");
	/* Nothing recorded: no request series, no histogram series. */
	assert_int_equal(count_prefixed(text, "http_requests_total{"), 0);
	assert_int_equal(count_prefixed(text, "http_request_duration_seconds_"), 0);
	assert_int_equal(count_prefixed(text, "upstream_requests_total{"), 0);
	free(text);
	metrics_free(m);
	metrics_free(NULL);
}

static void counts_by_route_and_status(void **state)
{
	struct metrics *m = new_metrics();
	char *text;

	for (int i = 0; i < 3; i++)
		metrics_request_end(m, 0, 200, 0.01);
	metrics_request_end(m, 0, 404, 0.01);
	metrics_request_end(m, 1, 201, 0.01);
	metrics_request_end(m, 1, 422, 0.01);
	metrics_request_end(m, 1, 201, 0.01);
	metrics_request_end(m, 2, 404, 0.01);
	text = render(m);
	assert_line(
		text,
		"http_requests_total{method=\"GET\",route=\"/api/v1/users/:id\",status=\"200\"} 3");
	assert_line(
		text,
		"http_requests_total{method=\"GET\",route=\"/api/v1/users/:id\",status=\"404\"} 1");
	assert_line(text, "http_requests_total{method=\"POST\","
			  "route=\"/api/v1/users\",status=\"201\"} 2");
	assert_line(text, "http_requests_total{method=\"POST\","
			  "route=\"/api/v1/users\",status=\"422\"} 1");
	assert_line(text, "http_requests_total{method=\"\",route=\"unmatched\",status=\"404\"} 1");
	assert_int_equal(count_prefixed(text, "http_requests_total{"), 5);
	/* Statuses of one route come in ascending order, whatever the arrival order. */
	assert_true(strstr(text, "status=\"201\"") < strstr(text, "status=\"422\""));
	free(text);
	metrics_free(m);
}

static void status_overflow_counts_as_other(void **state)
{
	struct metrics *m = new_metrics();
	char *text;

	for (int s = 200; s < 200 + METRICS_MAX_STATUSES; s++)
		metrics_request_end(m, 0, s, 0.01);
	metrics_request_end(m, 0, 210, 0.01); /* has a slot: still counted under 210 */
	metrics_request_end(m, 0, 500, 0.01); /* no slot left */
	metrics_request_end(m, 0, 500, 0.01);
	metrics_request_end(m, 0, 999, 0.01);
	metrics_request_end(m, 1, 0, 0.01); /* not an HTTP status */
	metrics_request_end(m, 1, 1000, 0.01);
	text = render(m);
	assert_line(
		text,
		"http_requests_total{method=\"GET\",route=\"/api/v1/users/:id\",status=\"210\"} 2");
	assert_line(
		text,
		"http_requests_total{method=\"GET\",route=\"/api/v1/users/:id\",status=\"223\"} 1");
	assert_line(
		text,
		"http_requests_total{method=\"GET\",route=\"/api/v1/users/:id\",status=\"other\"} 3");
	assert_line(text, "http_requests_total{method=\"POST\","
			  "route=\"/api/v1/users\",status=\"other\"} 2");
	assert_null(strstr(text, "status=\"500\""));
	assert_null(strstr(text, "status=\"0\""));
	assert_int_equal(count_prefixed(text, "http_requests_total{method=\"GET\""),
			 METRICS_MAX_STATUSES + 1);
	free(text);
	metrics_free(m);
}

static void histogram_buckets_sum_count(void **state)
{
	static const char *const expect[] = {
		"le=\"0.005\"} 1", "le=\"0.01\"} 1", "le=\"0.025\"} 1", "le=\"0.05\"} 1",
		"le=\"0.1\"} 1",   "le=\"0.25\"} 2", "le=\"0.5\"} 2",   "le=\"1\"} 2",
		"le=\"2.5\"} 2",   "le=\"5\"} 2",    "le=\"10\"} 2",    "le=\"+Inf\"} 3",
	};
	struct metrics *m = new_metrics();
	char line[256], *text;

	metrics_request_end(m, 0, 200, 0.003);
	metrics_request_end(m, 0, 200, 0.2);
	metrics_request_end(m, 0, 200, 20);
	metrics_request_end(m, 1, 201, 0.005); /* a bound belongs to its bucket */
	metrics_request_end(m, 1, 201, 0.0050001);
	metrics_request_end(m, 1, 201, -1); /* counted as 0 s */
	metrics_request_end(m, 1, 201, NAN);
	text = render(m);
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		snprintf(line, sizeof(line),
			 "http_request_duration_seconds_bucket{method=\"GET\","
			 "route=\"/api/v1/users/:id\",%s",
			 expect[i]);
		assert_line(text, line);
	}
	assert_line(text, "http_request_duration_seconds_sum{method=\"GET\","
			  "route=\"/api/v1/users/:id\"} 20.203");
	assert_line(text, "http_request_duration_seconds_count{method=\"GET\","
			  "route=\"/api/v1/users/:id\"} 3");
	assert_line(text, "http_request_duration_seconds_bucket{method=\"POST\","
			  "route=\"/api/v1/users\",le=\"0.005\"} 3");
	assert_line(text, "http_request_duration_seconds_bucket{method=\"POST\","
			  "route=\"/api/v1/users\",le=\"0.01\"} 4");
	assert_line(text, "http_request_duration_seconds_sum{method=\"POST\","
			  "route=\"/api/v1/users\"} 0.0100001");
	/* A route without observations has no histogram series. */
	assert_null(strstr(text, "http_request_duration_seconds_count{method=\"\""));
	free(text);
	metrics_free(m);
}

static void in_flight_gauge(void **state)
{
	struct metrics *m = new_metrics();
	char *text;

	metrics_request_begin(m);
	metrics_request_begin(m);
	metrics_request_begin(m);
	metrics_request_end(m, 0, 200, 0.001);
	text = render(m);
	assert_line(text, "http_requests_in_flight 2");
	free(text);
	/* An unknown route is not counted, but its request did finish. */
	metrics_request_end(m, 99, 200, 0.001);
	text = render(m);
	assert_line(text, "http_requests_in_flight 1");
	free(text);
	metrics_request_end(m, 2, 404, 0.001);
	text = render(m);
	assert_line(text, "http_requests_in_flight 0");
	free(text);
	metrics_free(m);
}

static void upstream_codes_and_errors(void **state)
{
	struct metrics *m = new_metrics();
	char *text;

	metrics_upstream(m, 0, 0, 0.002);
	metrics_upstream(m, 0, 0, 0.002);
	metrics_upstream(m, 0, 14, 0.002);
	metrics_upstream(m, 0, 4, 0.5);
	metrics_upstream(m, 1, 16, 0.002);
	metrics_upstream(m, 1, 99, 0.002); /* out of range: UNKNOWN */
	metrics_upstream(m, 1, -1, 0.002);
	text = render(m);
	assert_line(text, "upstream_requests_total{service=\"users\",code=\"OK\"} 2");
	assert_line(text, "upstream_requests_total{service=\"users\",code=\"UNAVAILABLE\"} 1");
	assert_line(text, "upstream_requests_total{service=\"users\","
			  "code=\"DEADLINE_EXCEEDED\"} 1");
	assert_line(text, "upstream_requests_total{service=\"posts\",code=\"UNAUTHENTICATED\"} 1");
	assert_line(text, "upstream_requests_total{service=\"posts\",code=\"UNKNOWN\"} 2");
	assert_int_equal(count_prefixed(text, "upstream_requests_total{"), 5);
	assert_line(text, "upstream_errors_total{service=\"users\"} 2");
	assert_line(text, "upstream_errors_total{service=\"posts\"} 3");
	assert_line(text, "upstream_errors_total{service=\"auth\"} 0");
	assert_line(text, "upstream_request_duration_seconds_bucket{service=\"users\","
			  "le=\"0.005\"} 3");
	assert_line(text, "upstream_request_duration_seconds_bucket{service=\"users\","
			  "le=\"0.5\"} 4");
	assert_line(text, "upstream_request_duration_seconds_sum{service=\"users\"} 0.506");
	assert_line(text, "upstream_request_duration_seconds_count{service=\"posts\"} 3");
	assert_null(strstr(text, "upstream_request_duration_seconds_count{service=\"auth\"}"));
	free(text);
	metrics_free(m);
}

static void rate_limit_counters_and_fallback(void **state)
{
	struct metrics *m = new_metrics();
	char *text;

	metrics_rate_limited(m, 0);
	metrics_rate_limited(m, 0);
	metrics_rate_limited(m, 1);
	metrics_rate_limited(m, 2); /* unknown limiters are ignored */
	metrics_rate_limited(m, -1);
	metrics_rate_limit_fallback(m, true);
	text = render(m);
	assert_line(text, "rate_limit_rejections_total{limiter=\"general\"} 2");
	assert_line(text, "rate_limit_rejections_total{limiter=\"auth\"} 1");
	assert_int_equal(count_prefixed(text, "rate_limit_rejections_total{"), 2);
	assert_line(text, "rate_limit_fallback 1");
	free(text);
	metrics_rate_limit_fallback(m, false);
	text = render(m);
	assert_line(text, "rate_limit_fallback 0");
	assert_no_line(text, "rate_limit_fallback 1");
	free(text);
	metrics_free(m);
}

static void label_values_are_escaped(void **state)
{
	static const struct metrics_route routes[] = { { "GET", "/a\"b\\c\nd" } };
	static const char *const services[] = { "us\"ers" };
	struct metrics_config cfg = { routes, 1, services, 1 };
	struct metrics *m = metrics_new(&cfg);
	char *text;

	metrics_request_end(m, 0, 200, 0.1);
	metrics_upstream(m, 0, 0, 0.1);
	text = render(m);
	assert_line(text, "http_requests_total{method=\"GET\","
			  "route=\"/a\\\"b\\\\c\\nd\",status=\"200\"} 1");
	assert_line(text, "http_request_duration_seconds_count{method=\"GET\","
			  "route=\"/a\\\"b\\\\c\\nd\"} 1");
	assert_line(text, "upstream_errors_total{service=\"us\\\"ers\"} 0");
	free(text);
	metrics_free(m);
}

static void out_of_range_indexes_are_ignored(void **state)
{
	struct metrics *m = new_metrics(), *fresh = new_metrics();
	char *text, *fresh_text;

	metrics_request_begin(m);
	metrics_request_end(m, 3, 200, 0.1);
	metrics_request_end(m, SIZE_MAX, 200, 0.1);
	metrics_request_begin(m);
	metrics_upstream(m, 3, 0, 0.1);
	metrics_upstream(m, SIZE_MAX, 14, 0.1);
	text = render(m);
	fresh_text = render(fresh);
	assert_string_equal(text, fresh_text);
	free(text);
	free(fresh_text);
	metrics_free(m);
	metrics_free(fresh);
}

/* Many routes: the text grows far past any initial buffer, nothing is cut. */
static void large_render_is_complete(void **state)
{
	enum { NROUTES = 500 };
	static char names[NROUTES][32];
	static struct metrics_route routes[NROUTES];
	static const char *const services[] = { "users" };
	struct metrics_config cfg = { routes, NROUTES, services, 1 };
	struct metrics *m;
	char *text, line[128];

	for (int i = 0; i < NROUTES; i++) {
		snprintf(names[i], sizeof(names[i]), "/api/v1/r%d/:id", i);
		routes[i] = (struct metrics_route){ "GET", names[i] };
	}
	m = metrics_new(&cfg);
	for (size_t i = 0; i < NROUTES; i++)
		metrics_request_end(m, i, 200, 0.05);
	text = render(m);
	assert_true(strlen(text) > 100000);
	assert_int_equal(count_prefixed(text, "http_request_duration_seconds_bucket{"),
			 NROUTES * 12);
	snprintf(line, sizeof(line),
		 "http_requests_total{method=\"GET\","
		 "route=\"%s\",status=\"200\"} 1",
		 names[NROUTES - 1]);
	assert_line(text, line);
	assert_line(text, "rate_limit_fallback 0");
	free(text);
	metrics_free(m);
}

#define THREADS 4
#define PER_THREAD 100000

/* Each thread: routes alternate, 25 statuses (one more than the slots) so
 * that slot claiming races too, seconds 0.001 (exactly 1 ms). */
static void *record_many(void *arg)
{
	struct metrics *m = arg;

	for (int j = 0; j < PER_THREAD; j++) {
		metrics_request_begin(m);
		metrics_request_end(m, (size_t)(j % 2), 200 + j % 25, 0.001);
		metrics_upstream(m, 0, j % 2 ? 14 : 0, 0.001);
		metrics_rate_limited(m, j % 2);
	}
	return NULL;
}

/* Every status lands wholly in its slot or wholly in "other" (slots are never
 * released), so each of the 24 slot series and "other" holds 8000 per route. */
static void concurrent_recording_is_exact(void **state)
{
	struct metrics *m = new_metrics();
	pthread_t threads[THREADS];
	char *text;

	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, record_many, m), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	text = render(m);
	assert_int_equal(count_prefixed(text, "http_requests_total{method=\"GET\""), 25);
	assert_int_equal(count_prefixed(text, "http_requests_total{method=\"POST\""), 25);
	for (const char *p = text; (p = strstr(p, "\nhttp_requests_total{")) != NULL; p++)
		assert_int_equal(strtol(strchr(p, '}') + 2, NULL, 10), 8000);
	assert_line(
		text,
		"http_requests_total{method=\"GET\",route=\"/api/v1/users/:id\",status=\"other\"} 8000");
	assert_line(text, "http_request_duration_seconds_count{method=\"GET\","
			  "route=\"/api/v1/users/:id\"} 200000");
	assert_line(text, "http_request_duration_seconds_sum{method=\"GET\","
			  "route=\"/api/v1/users/:id\"} 200");
	assert_line(text, "http_requests_in_flight 0");
	assert_line(text, "upstream_requests_total{service=\"users\",code=\"OK\"} 200000");
	assert_line(text, "upstream_requests_total{service=\"users\",code=\"UNAVAILABLE\"} 200000");
	assert_line(text, "upstream_errors_total{service=\"users\"} 200000");
	assert_line(text, "upstream_request_duration_seconds_count{service=\"users\"} 400000");
	assert_line(text, "rate_limit_rejections_total{limiter=\"general\"} 200000");
	assert_line(text, "rate_limit_rejections_total{limiter=\"auth\"} 200000");
	free(text);
	metrics_free(m);
}

/* ---- the contract check (node tests/contract/metrics.mjs) ------------------ */

/* Writes text to a fresh temporary file; path receives its name. */
static void write_temp(const char *text, char *path, size_t pathsize)
{
	const char *dir = getenv("TEST_TMPDIR");
	FILE *f;
	int fd;

	snprintf(path, pathsize, "%s/metrics_XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Runs the checker on text; the exit status, or -1 when it cannot run here.
 * quiet: its messages are not shown (runs that are meant to fail). */
static int run_contract_check(const char *root, const char *text, const char *flags, bool quiet)
{
	char path[512], cmd[2048];
	int rc;

	write_temp(text, path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "node '%s/tests/contract/metrics.mjs' %s '%s'%s", root, flags,
		 path, quiet ? " >/dev/null 2>&1" : "");
	rc = system(cmd);
	unlink(path);
	if (rc == -1 || !WIFEXITED(rc))
		return -1;
	return WEXITSTATUS(rc);
}

/* The repository root (TEST_SOURCE_DIR or the current folder), or NULL when
 * node or the contract check's node_modules are missing. */
static const char *contract_root(void)
{
	const char *root = getenv("TEST_SOURCE_DIR");
	char dir[1024];

	if (!root || !*root)
		root = ".";
	snprintf(dir, sizeof(dir), "%s/tests/contract/node_modules/parse-prometheus-text-format",
		 root);
	if (strchr(root, '\'') || access(dir, F_OK) != 0 ||
	    system("command -v node >/dev/null 2>&1") != 0)
		return NULL;
	return root;
}

/* A scrape with every kind of series in it. */
static char *busy_render(const struct metrics_config *cfg)
{
	struct metrics *m = cfg ? metrics_new(cfg) : new_metrics();
	char *text;

	metrics_request_begin(m);
	metrics_request_end(m, 0, 200, 0.003);
	metrics_request_end(m, 0, 404, 20);
	metrics_request_end(m, cfg ? 0 : 2, 404, 0.2);
	metrics_upstream(m, 0, 0, 0.01);
	metrics_upstream(m, cfg ? 0 : 1, 14, 1.5);
	metrics_rate_limited(m, 1);
	metrics_rate_limit_fallback(m, true);
	text = render(m);
	metrics_free(m);
	return text;
}

static void render_passes_contract_check(void **state)
{
	static const struct metrics_route raw_route[] = { { "GET", "/api/v1/users/12" } };
	static const char *const services[] = { "users" };
	struct metrics_config raw_cfg = { raw_route, 1, services, 1 };
	const char *root = contract_root();
	char *text, *garbled;
	size_t len;

	if (!root) {
		printf("note: node or tests/contract/node_modules missing: "
		       "metrics.mjs contract check skipped\n");
		skip();
	}
	text = busy_render(NULL);
	assert_int_equal(run_contract_check(root, text, "--route-templates-only", false), 0);
	/* The checker can fail: the same text with one garbled sample line... */
	len = strlen(text);
	garbled = malloc(len + 32);
	assert_non_null(garbled);
	memcpy(garbled, text, len);
	memcpy(garbled + len, "garbage line here\n", sizeof("garbage line here\n"));
	assert_int_equal(run_contract_check(root, garbled, "", true), 1);
	free(garbled);
	free(text);
	/* ...or a raw id where a route template belongs (only with the option). */
	text = busy_render(&raw_cfg);
	assert_int_equal(run_contract_check(root, text, "", false), 0);
	assert_int_equal(run_contract_check(root, text, "--route-templates-only", true), 1);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fresh_render_has_every_family),
		cmocka_unit_test(counts_by_route_and_status),
		cmocka_unit_test(status_overflow_counts_as_other),
		cmocka_unit_test(histogram_buckets_sum_count),
		cmocka_unit_test(in_flight_gauge),
		cmocka_unit_test(upstream_codes_and_errors),
		cmocka_unit_test(rate_limit_counters_and_fallback),
		cmocka_unit_test(label_values_are_escaped),
		cmocka_unit_test(out_of_range_indexes_are_ignored),
		cmocka_unit_test(large_render_is_complete),
		cmocka_unit_test(concurrent_recording_is_exact),
		cmocka_unit_test(render_passes_contract_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
