/* gateway_trace_rest_it.c - W3C Trace Context end to end (issue 15) on the real
 * stack (PostgreSQL, Redis, users, auth, posts, gateway): a request's
 * traceparent is continued by the gateway (or a trace is started when it is
 * missing or malformed), the reply carries the gateway's traceparent, and
 * the log lines of the gateway, posts, auth and users services carry one
 * trace id with distinct span ids whose parents form one chain:
 *   client -> gateway span -> gateway's call span -> posts span
 *          -> posts' call span -> users span
 * The logs are the processes' own files (proc_log_path), JSON lines. */
#include <setjmp.h>
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

#define GW_IT_NAME "gateway_trace_rest_it"
#include "support/gw_fixture.h"

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define PID "00f067aa0ba902b7"
#define LIST_POSTS "/agentos.posts.v1.PostsService/ListPosts"
#define BATCH_USERS "/agentos.users.v1.UsersService/BatchGetUsers"
#define LOGIN "/agentos.auth.v1.AuthService/Login"

static int setup(void **state)
{
	/* No near copy (the services inherit this environment): every list
	 * makes the posts -> users hop this test follows; with it, posts would
	 * answer known authors itself. */
	setenv("REDIS_NEAR_CACHE", "0", 1);
	return gw_setup(state);
}

/* The JSON log lines of p whose requestId is rid, as a new array. */
static json_t *lines_of(const struct proc *p, const char *rid)
{
	char *log = read_file_all(proc_log_path(p));
	json_t *out = json_array();

	for (const char *line = log; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		json_t *j = json_loadb(line, len, 0, NULL);
		const char *id = json_string_value(json_object_get(j, "requestId"));

		if (j && id && strcmp(id, rid) == 0)
			json_array_append(out, j);
		json_decref(j);
		line = eol ? eol + 1 : NULL;
	}
	free(log);
	return out;
}

/* The lines with this msg (and method, when not NULL). */
static size_t count_lines(const json_t *lines, const char *msg, const char *method, json_t **found)
{
	size_t n = 0, i;
	json_t *j;

	json_array_foreach (lines, i, j) {
		const char *m = json_string_value(json_object_get(j, "msg"));
		const char *meth = json_string_value(json_object_get(j, "method"));

		if (!m || strcmp(m, msg) != 0 || (method && (!meth || strcmp(meth, method) != 0)))
			continue;
		if (n++ == 0 && found)
			*found = j;
	}
	return n;
}

/* The one line with this msg and method, borrowed from lines; fails when
 * there is not exactly one. */
static json_t *the_line(const json_t *lines, const char *who, const char *msg, const char *method)
{
	json_t *found = NULL;
	size_t n = count_lines(lines, msg, method, &found);

	if (n != 1) {
		char *dump = json_dumps(lines, JSON_INDENT(1));

		fail_msg("%s: %zu \"%s\" lines for %s in:\n%s", who, n, msg,
			 method ? method : "(any method)", dump);
	}
	return found;
}

/* Waits (3 s at most) until p has logged a line msg/method for rid: a
 * service writes its line after sending the reply. */
static json_t *wait_lines(const struct proc *p, const char *rid, const char *msg,
			  const char *method)
{
	json_t *lines = NULL;

	for (int64_t deadline = mono_ms() + 3000;; usleep(20 * 1000)) {
		json_decref(lines);
		lines = lines_of(p, rid);
		if (count_lines(lines, msg, method, NULL) > 0 || mono_ms() > deadline)
			return lines;
	}
}

static const char *str(const json_t *line, const char *key)
{
	const char *s = json_string_value(json_object_get(line, key));

	if (!s) {
		char *dump = json_dumps(line, 0);

		fail_msg("no string \"%s\" in %s", key, dump);
	}
	return s;
}

static bool lower_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* A line of trace trace_id with a valid span id whose parent is parent
 * (NULL: the line has no parentSpanId); returns its span id. */
static const char *assert_span(const json_t *line, const char *trace_id, const char *parent)
{
	const char *span = str(line, "spanId");

	assert_string_equal(str(line, "traceId"), trace_id);
	assert_true(lower_hex(span, 16));
	if (parent)
		assert_string_equal(str(line, "parentSpanId"), parent);
	else
		assert_null(json_object_get(line, "parentSpanId"));
	return span;
}

/* Every line logged for the request belongs to the trace. */
static void assert_all_in_trace(const json_t *lines, const char *trace_id)
{
	size_t i;
	json_t *j;

	json_array_foreach (lines, i, j)
		assert_string_equal(str(j, "traceId"), trace_id);
}

static void assert_distinct(const char *const *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = i + 1; k < n; k++) {
			if (strcmp(ids[i], ids[k]) == 0)
				fail_msg("span ids %zu and %zu are both %s", i, k, ids[i]);
		}
	}
}

/* The gateway's reply carries traceparent 00-<trace>-<span>-<flags>; the
 * trace id and span id are copied out. */
static void reply_traceparent(const struct it_http_result *r, char *trace_id, char *span_id,
			      const char *flags)
{
	const char *tp = it_http_header(r, "traceparent");

	assert_non_null(tp);
	assert_int_equal(strlen(tp), 55);
	assert_memory_equal(tp, "00-", 3);
	assert_true(tp[35] == '-' && tp[52] == '-');
	assert_string_equal(tp + 53, flags);
	memcpy(trace_id, tp + 3, 32);
	trace_id[32] = '\0';
	memcpy(span_id, tp + 36, 16);
	span_id[16] = '\0';
	assert_true(lower_hex(trace_id, 32) && lower_hex(span_id, 16));
}

static void publish_a_post(void)
{
	struct it_http_result r = it_gateway_call(
		&G, "POST", "/posts", G.admin_token, NULL,
		"{\"title\":\"Traced\",\"body\":\"Followed across services\",\"status\":\"published\"}");

	if (r.status != 201)
		it_http_dump(&r, "POST /posts");
	assert_int_equal(r.status, 201);
	it_http_release(&r);
}

/* GET /api/v1/posts?limit=5 with rid and traceparent tp; checks the whole
 * chain and returns the trace id seen (into trace_id). parent: the span id
 * the gateway must log as its parent (NULL: it started the trace). */
static void list_and_check_chain(const char *rid, const char *tp, const char *parent,
				 char *trace_id)
{
	char hrid[96], htp[128], gw_span[17];
	const char *headers[] = { hrid, htp, "tracestate: rojo=00f067aa0ba902b7", NULL };
	json_t *gw, *posts, *users;
	const char *ids[6];
	size_t nids = 0;
	struct it_http_result r;

	snprintf(hrid, sizeof(hrid), "X-Request-Id: %s", rid);
	snprintf(htp, sizeof(htp), "traceparent: %s", tp);
	r = it_gateway_call(&G, "GET", "/posts?limit=5", NULL, headers, NULL);
	assert_true(it_http_is_list(&r));
	assert_true(json_array_size(it_data(&r)) >= 1); /* so that posts asks users for authors */
	reply_traceparent(&r, trace_id, gw_span, "01");
	it_http_release(&r);

	gw = wait_lines(G.gateway, rid, "HTTP Request", NULL);
	posts = wait_lines(G.posts, rid, "rpc", LIST_POSTS);
	users = wait_lines(G.users, rid, "rpc", BATCH_USERS);
	if (parent)
		ids[nids++] = parent;
	/* gateway: its span (the reply's), then its call to posts */
	ids[nids] = assert_span(the_line(gw, "gateway", "HTTP Request", NULL), trace_id, parent);
	assert_string_equal(ids[nids++], gw_span);
	ids[nids] = assert_span(the_line(gw, "gateway", "rpc call", LIST_POSTS), trace_id, gw_span);
	nids++;
	/* posts: its span of that call, then its call to users */
	ids[nids] = assert_span(the_line(posts, "posts", "rpc", LIST_POSTS), trace_id,
				ids[nids - 1]);
	nids++;
	ids[nids] = assert_span(the_line(posts, "posts", "rpc call", BATCH_USERS), trace_id,
				ids[nids - 1]);
	nids++;
	/* users: its span of posts' call */
	ids[nids] = assert_span(the_line(users, "users", "rpc", BATCH_USERS), trace_id,
				ids[nids - 1]);
	nids++;
	assert_distinct(ids, nids);
	assert_all_in_trace(gw, trace_id);
	assert_all_in_trace(posts, trace_id);
	assert_all_in_trace(users, trace_id);
	json_decref(gw);
	json_decref(posts);
	json_decref(users);
}

static void a_given_traceparent_is_followed_through_posts_and_users(void **state)
{
	char trace_id[33];

	(void)state;
	publish_a_post();
	list_and_check_chain("it-trace-given", "00-" TID "-" PID "-01", PID, trace_id);
	assert_string_equal(trace_id, TID);
}

static void a_malformed_traceparent_starts_a_new_trace(void **state)
{
	static const char *const bad[] = {
		"00-" TID "-" PID "-1",                           /* short */
		"00-00000000000000000000000000000000-" PID "-01", /* all-zero trace id */
		"ff-" TID "-" PID "-01",                          /* forbidden version */
	};
	char trace_id[33], prev[33] = "";

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char rid[32];

		snprintf(rid, sizeof(rid), "it-trace-bad-%zu", i);
		list_and_check_chain(rid, bad[i], NULL, trace_id);
		assert_string_not_equal(trace_id, TID);
		assert_string_not_equal(trace_id, "00000000000000000000000000000000");
		assert_string_not_equal(trace_id, prev); /* a new trace each time */
		memcpy(prev, trace_id, sizeof(prev));
	}
}

static void a_request_without_traceparent_gets_one(void **state)
{
	char trace_id[33], span_id[17], url[160];
	const char *const headers[] = { "X-Request-Id: it-trace-none", NULL };
	struct it_http_result r;
	json_t *gw;

	(void)state;
	/* an answer of the gateway alone (no upstream call) has one too */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health/live", G.port);
	r = it_http("GET", url, headers, NULL);
	assert_int_equal(r.status, 200);
	reply_traceparent(&r, trace_id, span_id, "01");
	it_http_release(&r);
	gw = wait_lines(G.gateway, "it-trace-none", "HTTP Request", NULL);
	assert_string_equal(assert_span(the_line(gw, "gateway", "HTTP Request", NULL), trace_id,
					NULL),
			    span_id);
	json_decref(gw);
}

/* auth -> users is followed too: a login's chain runs gateway -> auth ->
 * users, and a not-sampled flag is passed on as it came. */
static void a_login_is_followed_through_auth_and_users(void **state)
{
	const char *const headers[] = { "X-Request-Id: it-trace-login",
					"traceparent: 00-" TID "-" PID "-00", NULL };
	char trace_id[33], gw_span[17];
	const char *call_span, *auth_span, *auth_call;
	json_t *gw, *auth, *users;
	struct it_http_result r;
	char body[256];

	(void)state;
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", IT_GW_ADMIN_EMAIL,
		 IT_GW_ADMIN_PASSWORD);
	r = it_gateway_call(&G, "POST", "/auth/login", NULL, headers, body);
	if (r.status != 200)
		it_http_dump(&r, "POST /auth/login");
	assert_int_equal(r.status, 200);
	reply_traceparent(&r, trace_id, gw_span, "00");
	assert_string_equal(trace_id, TID);
	it_http_release(&r);

	gw = wait_lines(G.gateway, "it-trace-login", "HTTP Request", NULL);
	auth = wait_lines(G.auth, "it-trace-login", "rpc", LOGIN);
	users = wait_lines(G.users, "it-trace-login", "rpc", NULL);
	assert_string_equal(assert_span(the_line(gw, "gateway", "HTTP Request", NULL), TID, PID),
			    gw_span);
	call_span = assert_span(the_line(gw, "gateway", "rpc call", LOGIN), TID, gw_span);
	auth_span = assert_span(the_line(auth, "auth", "rpc", LOGIN), TID, call_span);
	assert_int_equal(count_lines(auth, "rpc call", NULL, NULL), 1);
	auth_call = assert_span(the_line(auth, "auth", "rpc call", NULL), TID, auth_span);
	assert_string_equal(str(the_line(users, "users", "rpc", NULL), "method"),
			    str(the_line(auth, "auth", "rpc call", NULL), "method"));
	assert_span(the_line(users, "users", "rpc", NULL), TID, auth_call);
	assert_all_in_trace(auth, TID);
	assert_all_in_trace(users, TID);
	json_decref(gw);
	json_decref(auth);
	json_decref(users);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_given_traceparent_is_followed_through_posts_and_users),
		cmocka_unit_test(a_malformed_traceparent_starts_a_new_trace),
		cmocka_unit_test(a_request_without_traceparent_gets_one),
		cmocka_unit_test(a_login_is_followed_through_auth_and_users),
	};

	return cmocka_run_group_tests(tests, setup, gw_teardown);
}
