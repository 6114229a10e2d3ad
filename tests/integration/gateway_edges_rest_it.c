/* gateway_edges_rest_it.c - what a hostile client tries at the gateway's edges
 * (issues 14 and 18): over-limit bodies the client keeps sending, email
 * rules, empty and repeated filters, integer-only JSON fields, error words of
 * our own, tokens in URLs kept out of the log, invalid UTF-8 / NUL / %2F in
 * URLs, too many query parameters, and SIGTERM refusing new connections at
 * once. Everything over real sockets against the real stack, with
 * MAX_BODY_BYTES at its default (1 MiB). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "it.h"
#include "util.h"

#define GW_IT_NAME "gateway_edges_rest_it"
#define GW_IT_ENV "MAX_BODY_BYTES=1048576"
#include "support/gw_fixture.h"

/* ---- 14.2 / 18.5: over-limit bodies get a readable 413 ------------------------- */

/* Connects to the gateway, writes head then body_len bytes in 16 KiB
 * pieces a millisecond apart (a client on a real network), and reads
 * everything until the server closes (5 s at most). Returns the send error
 * (0 when all was written) and the reply's bytes in *reply (malloc'd). */
static int write_then_read(const char *head, size_t body_len, char **reply, size_t *reply_len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)G.port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), send_err = 0;
	char piece[16 * 1024], buf[4096];
	struct timeval tv = { .tv_sec = 5 };
	ssize_t n;

	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	memset(piece, 'x', sizeof(piece));
	if (send(fd, head, strlen(head), MSG_NOSIGNAL) < 0)
		send_err = errno;
	for (size_t sent = 0; !send_err && sent < body_len; sent += (size_t)n) {
		n = send(fd, piece,
			 body_len - sent < sizeof(piece) ? body_len - sent : sizeof(piece),
			 MSG_NOSIGNAL);
		if (n < 0)
			send_err = errno;
		usleep(1000);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*reply = xmalloc(1);
	*reply_len = 0;
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		*reply = xrealloc(*reply, *reply_len + (size_t)n + 1);
		memcpy(*reply + *reply_len, buf, (size_t)n);
		*reply_len += (size_t)n;
	}
	(*reply)[*reply_len] = '\0';
	close(fd);
	return send_err;
}

/* A client that announces 1 MiB + 1 KiB and writes it all before reading
 * (as Node.js does) can write it all and then reads the 413, instead of
 * EPIPE / ECONNRESET half-way. */
static void announced_body_over_the_limit_is_answered_after_it_is_sent(void **state)
{
	char *reply;
	size_t len;
	int err;

	(void)state;
	err = write_then_read("POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			      "Content-Type: application/json\r\nContent-Length: 1049600\r\n"
			      "Connection: close\r\n\r\n",
			      1049600, &reply, &len);
	if (err)
		fail_msg("writing the body failed: %s (reply so far: %zu bytes)", strerror(err),
			 len);
	if (strncmp(reply, "HTTP/1.1 413 ", 13) != 0 || !strstr(reply, "\"PAYLOAD_TOO_LARGE\""))
		fail_msg("no readable 413: %.300s", reply);
	free(reply);
}

/* A chunked body of 2.5 MB (no length to refuse up front): a readable 413. */
static void chunked_body_over_the_limit_is_answered(void **state)
{
	const size_t chunk = 64 * 1024, nchunks = 40;
	const char *head = "POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			   "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
			   "Connection: close\r\n\r\n";
	size_t cap = strlen(head) + nchunks * (chunk + 16) + 16, len = 0;
	char *req = xmalloc(cap);
	struct it_http_result r;

	(void)state;
	len += (size_t)snprintf(req, cap, "%s", head);
	for (size_t i = 0; i < nchunks; i++) {
		len += (size_t)snprintf(req + len, cap - len, "%zx\r\n", chunk);
		memset(req + len, 'x', chunk);
		len += chunk;
		memcpy(req + len, "\r\n", 2);
		len += 2;
	}
	memcpy(req + len, "0\r\n\r\n", 5);
	len += 5;
	r = it_http_raw(G.port, req, len);
	if (!it_http_is_error(&r, 413, "PAYLOAD_TOO_LARGE", NO_DETAILS))
		it_http_dump(&r, "chunked 2.5 MB");
	assert_true(it_http_is_error(&r, 413, "PAYLOAD_TOO_LARGE", NO_DETAILS));
	it_http_release(&r);
	free(req);
}

/* ---- 14.3 / 18.5: email rules, before any hashing ------------------------------ */

static void expect_email_refused(const char *method, const char *path, const char *token,
				 const char *email, const char *extra)
{
	json_t *o = json_pack("{s:s}", "email", email);
	char *body;
	struct it_http_result r;

	if (extra) {
		json_t *more = json_loads(extra, 0, NULL);

		json_object_update(o, more);
		json_decref(more);
	}
	body = json_dumps(o, JSON_COMPACT);
	r = call(method, path, token, body);
	if (!it_http_is_error(&r, 422, "VALIDATION_ERROR", FIELDS("email"))) {
		fprintf(stderr, "%s %s with email [%s]\n", method, path, email);
		it_http_dump(&r, "email");
	}
	assert_true(it_http_is_error(&r, 422, "VALIDATION_ERROR", FIELDS("email")));
	it_http_release(&r);
	free(body);
	json_decref(o);
}

static void email_rules_on_sign_up_put_and_patch(void **state)
{
	static const char *const bad[] = {
		"a b@example.com", /* whitespace inside */
		"a\tb@example.com",
		"a\xc2\xa0"
		"b@example.com",              /* NBSP */
		"ab\xe2\x80\x8b@example.com", /* zero-width space */
		"\xef\xbb\xbf"
		"ab@example.com",           /* BOM */
		"adm\xc4\xb0n@example.com", /* dotted capital I: lower-cases to non-ASCII */
		"\xef\xbd\x81"
		"dmin@example.com", /* full-width a */
		"@example.com",
		"a@b@example.com",
		"ab@localhost",
		"ab",
	};
	char long_email[300];
	int64_t id = it_gateway_sign_up(&G, "emailer@example.com", "Emailer");
	char *t = it_token(id, "emailer@example.com", "user");
	char path[64];
	struct it_http_result r;

	(void)state;
	snprintf(path, sizeof(path), "/users/%lld", (long long)id);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		expect_email_refused("POST", "/users", NULL, bad[i],
				     "{\"password\":\"password123\",\"name\":\"N\"}");
		expect_email_refused("PUT", path, t, bad[i], "{\"name\":\"N\"}");
		expect_email_refused("PATCH", path, t, bad[i], NULL);
	}
	/* 255 characters: one over */
	memset(long_email, 'a', 243);
	memcpy(long_email + 243, "@example.com", 13);
	assert_int_equal(strlen(long_email), 255);
	expect_email_refused("POST", "/users", NULL, long_email,
			     "{\"password\":\"password123\",\"name\":\"N\"}");
	/* trimmed and lower-cased */
	r = call("POST", "/users", NULL,
		 "{\"email\":\"  Mixed.Case@Example.COM \",\"password\":\"password123\","
		 "\"name\":\"Mixed\"}");
	assert_true(it_http_is_success(&r, 201));
	assert_string_equal(it_json_str(it_data(&r), "email"), "mixed.case@example.com");
	it_http_release(&r);
	free(t);
}

/* ---- 14.4: empty and repeated filters, integer-only fields ---------------------- */

static void empty_or_repeated_filters_are_400(void **state)
{
	static const char *const paths[] = {
		"/users?role=",
		"/users?status=",
		"/users?role=admin&role=user",
		"/users?status=active&status=active",
		"/posts?status=",
		"/posts?status=draft&status=published",
		"/posts?q=a&q=b",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		struct it_http_result r = call("GET", paths[i], G.admin_token, NULL);

		if (!it_http_is_error(&r, 400, "BAD_REQUEST", NO_DETAILS))
			it_http_dump(&r, paths[i]);
		assert_true(it_http_is_error(&r, 400, "BAD_REQUEST", NO_DETAILS));
		it_http_release(&r);
	}
}

static void integer_fields_take_json_integers_only(void **state)
{
	static const char *const values[] = {
		"\"7\"", "1.5", "7.0e0", "7.0", "true", "1e400", "-1e400", "99999999999999999999999"
	};
	char body[256];
	int64_t id = it_gateway_sign_up(&G, "integers@example.com", "Integers");
	char *t = it_token(id, "integers@example.com", "user");
	char path[64];

	(void)state;
	snprintf(path, sizeof(path), "/users/%lld", (long long)id);
	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		snprintf(body, sizeof(body),
			 "{\"name\":\"k\",\"permissions\":[\"read:posts\"],\"expiresInDays\":%s}",
			 values[i]);
		it_expect_error(call("POST", "/api-keys", t, body), 422, "VALIDATION_ERROR",
				FIELDS("expiresInDays"));
		snprintf(body, sizeof(body), "{\"name\":\"Other\",\"version\":%s}", values[i]);
		it_expect_error(call("PATCH", path, t, body), 422, "VALIDATION_ERROR",
				FIELDS("version"));
	}
	free(t);
}

/* ---- 14.5: our words for invalid JSON -------------------------------------------- */

static void invalid_json_is_explained_in_our_words(void **state)
{
	static const char *const bodies[] = {
		"{\"email\":\"a\\u0000b@example.com\"}",
		"{\"email\":",
		"{\"a\":1,\"a\":2}",
		"[1,2",
		"{\"email\":\"\xff\"}",
		"{\"n\":NaN}",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		struct it_http_result r = call("POST", "/users", NULL, bodies[i]);
		const char *msg;

		assert_true(it_http_is_error(&r, 400, "INVALID_JSON", NO_DETAILS));
		msg = json_string_value(
			json_object_get(json_object_get(r.json, "error"), "message"));
		if (strstr(msg, "JSON_") || strstr(msg, "jansson") || !strstr(msg, "position"))
			fail_msg("body %zu: message names the library or no position: %s", i, msg);
		it_http_release(&r);
	}
}

/* ---- 18.3: no token in the access log ---------------------------------------------- */

static void jwts_anywhere_in_the_url_are_redacted_in_the_log(void **state)
{
	char *t = it_token(G.admin_id, IT_GW_ADMIN_EMAIL, "admin");
	const char *sig = strrchr(t, '.') + 1;
	static const char *const around[][2] = { { "/posts?token=", "" },
						 { "/posts?jwt=", "" },
						 { "/posts?x=Bearer%20", "&page=1" },
						 { "/posts/", "" },
						 { "/posts?", "=1" } };
	char path[2048], *log;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(around); i++) {
		struct it_http_result r;

		snprintf(path, sizeof(path), "%s%s%s", around[i][0], t, around[i][1]);
		r = call("GET", path, NULL, NULL);
		if (r.status == 0 || r.status >= 500)
			fail_msg("%s: HTTP %ld", path, r.status);
		it_http_release(&r);
	}
	usleep(200 * 1000); /* the log line is written after the response */
	log = read_file_all(proc_log_path(G.gateway));
	assert_non_null(log);
	if (strstr(log, sig) || strstr(log, "eyJ"))
		fail_msg("a JWT reached the gateway's log");
	assert_non_null(strstr(log, "/posts?token=[REDACTED]"));
	assert_non_null(strstr(log, "/posts?x=Bearer%20[REDACTED]&page=1"));
	free(log);
	free(t);
}

/* ---- 18.5: URLs that decode to something else ------------------------------------- */

static void invalid_utf8_nul_and_encoded_slash_in_urls(void **state)
{
	static const struct {
		const char *path;
		long status;
		const char *code;
	} cases[] = {
		{ "/posts?q=%FF%FE", 400, "BAD_REQUEST" },
		{ "/users?name=%FF", 400, "BAD_REQUEST" },
		{ "/users?email=%C0%80", 400, "BAD_REQUEST" },
		{ "/posts/1%00", 400, "BAD_REQUEST" },
		{ "/posts?q=a%00b", 400, "BAD_REQUEST" },
		{ "/posts%2f1", 404, "NOT_FOUND" },
		{ "/posts%2F1", 404, "NOT_FOUND" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct it_http_result r = call("GET", cases[i].path, G.admin_token, NULL);

		if (!it_http_is_error(&r, cases[i].status, cases[i].code, NO_DETAILS))
			it_http_dump(&r, cases[i].path);
		assert_true(it_http_is_error(&r, cases[i].status, cases[i].code, NO_DETAILS));
		it_http_release(&r);
	}
}

/* 1000 query parameters: a 414 at once, not a connection held 30 s. */
static void too_many_query_parameters_is_414_at_once(void **state)
{
	size_t cap = 16 * 1024, len;
	char *req = xmalloc(cap);
	struct it_http_result r;

	(void)state;
	len = (size_t)snprintf(req, cap, "GET /api/v1/posts?a=1");
	for (int i = 1; i < 1000; i++)
		len += (size_t)snprintf(req + len, cap - len, "&a=1");
	len += (size_t)snprintf(req + len, cap - len,
				" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
	r = it_http_raw(G.port, req, len);
	if (!it_http_is_error(&r, 414, "URI_TOO_LONG", NO_DETAILS))
		it_http_dump(&r, "1000 parameters");
	assert_true(it_http_is_error(&r, 414, "URI_TOO_LONG", NO_DETAILS));
	assert_true(r.elapsed_ms < 2000);
	it_http_release(&r);
	/* 100 are still served */
	len = (size_t)snprintf(req, cap, "/posts?a=1");
	for (int i = 1; i < 100; i++)
		len += (size_t)snprintf(req + len, cap - len, "&a=1");
	r = call("GET", req, NULL, NULL);
	assert_true(it_http_is_list(&r));
	it_http_release(&r);
	free(req);
}

/* ---- 18.5: SIGTERM refuses new connections at once -------------------------------- */

static int try_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int rc;

	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	rc = rc == 0 ? 0 : errno;
	close(fd);
	return rc;
}

/* With SHUTDOWN_DELAY_MS=0 and a request still in flight (the posts
 * service frozen: the gateway waits for it up to its gRPC deadline), a
 * connection made after SIGTERM is refused at once. */
static void sigterm_closes_the_listener_first(void **state)
{
	int port = stack_free_port();
	struct proc *gw = it_gateway_spawn_extra(&G, "gateway_sigterm", port, NULL);
	char url[128];
	pid_t pid;
	int64_t start;

	(void)state;
	assert_non_null(gw);
	assert_non_null(G.posts);
	proc_signal(G.posts, SIGSTOP);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/posts", port);
	pid = fork();
	if (pid == 0) { /* the request in flight, in a child: it outlives our look */
		struct it_http_result r = it_http("GET", url, NULL, NULL);

		_exit(r.status == 0 ? 1 : 0);
	}
	usleep(300 * 1000);
	proc_signal(gw, SIGTERM);
	usleep(200 * 1000);
	start = mono_ms();
	assert_int_equal(try_connect(port), ECONNREFUSED);
	assert_true(mono_ms() - start < 200);
	proc_signal(G.posts, SIGCONT);
	assert_int_equal(proc_wait(gw, 15000), 0);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(announced_body_over_the_limit_is_answered_after_it_is_sent),
		cmocka_unit_test(chunked_body_over_the_limit_is_answered),
		cmocka_unit_test(email_rules_on_sign_up_put_and_patch),
		cmocka_unit_test(empty_or_repeated_filters_are_400),
		cmocka_unit_test(integer_fields_take_json_integers_only),
		cmocka_unit_test(invalid_json_is_explained_in_our_words),
		cmocka_unit_test(jwts_anywhere_in_the_url_are_redacted_in_the_log),
		cmocka_unit_test(invalid_utf8_nul_and_encoded_slash_in_urls),
		cmocka_unit_test(too_many_query_parameters_is_414_at_once),
		cmocka_unit_test(sigterm_closes_the_listener_first),
	};

	return cmocka_run_group_tests(tests, gw_setup, gw_teardown);
}
