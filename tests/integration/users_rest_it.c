/* users_rest_it.c - the REST gateway serves sign-up and reading one user
 * exactly as API.md §1, §2 and §6 say, as a client sees it: status, headers,
 * the exact envelope, what is (not) in the database after, and the access
 * log. Listing, routing and request ids: users_list_rest_it.c; updates,
 * deletion and passwords: users_write_rest_it.c; upstream failures:
 * gateway_upstream_rest_it.c. */
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
#include "support/http.h"
#include "util.h"

#define GW_IT_NAME "users_rest_it"
#include "support/gw_fixture.h"

static int64_t count_sql(const char *sql)
{
	return it_sql_int(G.db, sql);
}

static int64_t user_count(void)
{
	return count_sql("SELECT count(*) FROM users.users");
}

static int64_t email_count(const char *email)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM users.users WHERE email = '%s'", email);
	return count_sql(sql);
}

static char *moderator_token(void)
{
	return it_token(G.admin_id + 200000, "mod@example.com", "moderator");
}

/* ---- POST /users ------------------------------------------------------------------ */

static void sign_up_returns_201_and_exactly_the_user_object(void **state)
{
	const char
		*body = "{\"email\":\"  Ada.Lovelace@Example.COM \",\"password\":\"correct horse "
			"battery\",\"name\":\"  Ada Lovelace \"}";
	struct it_http_result r = call_h("POST", "/users", NULL,
					 HEADERS("X-Request-Id: it-signup-1"), body);
	json_t *u;
	char sql[160];

	assert_true(it_http_is_success(&r, 201));
	u = it_data(&r);
	assert_true(it_json_is_user(u));
	assert_string_equal(it_json_str(u, "email"), "ada.lovelace@example.com");
	assert_string_equal(it_json_str(u, "name"), "Ada Lovelace");
	assert_string_equal(it_json_str(u, "role"), "user");
	assert_true(json_is_true(json_object_get(u, "isActive")));
	assert_true(json_is_false(json_object_get(u, "isVerified")));
	assert_int_equal(it_json_int(u, "version"), 1);
	assert_string_equal(it_http_header(&r, "X-Request-Id"), "it-signup-1");
	assert_string_equal(it_json_str(json_object_get(r.json, "meta"), "requestId"),
			    "it-signup-1");
	/* no secret in the reply, in any form */
	assert_null(strstr(r.body, "correct horse"));
	assert_null(strstr(r.body, "argon2"));
	assert_null(strstr(r.body, "assword"));
	snprintf(sql, sizeof(sql),
		 "SELECT id FROM users.users WHERE email = "
		 "'ada.lovelace@example.com' AND name = 'Ada Lovelace'");
	assert_int_equal(count_sql(sql), it_json_int(u, "id"));
	it_http_release(&r);
}

static void sign_up_lists_every_invalid_field_at_once(void **state)
{
	int64_t before = user_count();
	char name[101 * 2 + 64], body[512];

	it_expect_error(
		call("POST", "/users", NULL,
		     "{\"email\":\"not-an-email\",\"password\":\"short\",\"name\":\"   \"}"),
		422, "VALIDATION_ERROR", FIELDS("email", "password", "name"));
	/* every required field missing */
	it_expect_error(call("POST", "/users", NULL, "{}"), 422, "VALIDATION_ERROR",
			FIELDS("email", "password", "name"));
	/* wrong JSON types are field errors too */
	it_expect_error(call("POST", "/users", NULL,
			     "{\"email\":42,\"password\":\"password123\",\"name\":\"Typed\"}"),
			422, "VALIDATION_ERROR", FIELDS("email"));
	/* 101 code points (202 bytes) is one too many; 129-character password */
	for (int i = 0; i < 101; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[202] = '\0';
	snprintf(body, sizeof(body),
		 "{\"email\":\"long@example.com\",\"password\":\"%0129d\","
		 "\"name\":\"%s\"}",
		 0, name);
	it_expect_error(call("POST", "/users", NULL, body), 422, "VALIDATION_ERROR",
			FIELDS("password", "name"));
	/* 255 characters; whitespace inside; two @ */
	snprintf(body, sizeof(body),
		 "{\"email\":\"%0243d@example.com\",\"password\":\"password123\","
		 "\"name\":\"Long Mail\"}",
		 0);
	it_expect_error(call("POST", "/users", NULL, body), 422, "VALIDATION_ERROR",
			FIELDS("email"));
	it_expect_error(
		call("POST", "/users", NULL,
		     "{\"email\":\"a b@example.com\",\"password\":\"password123\",\"name\":\"Ab\"}"),
		422, "VALIDATION_ERROR", FIELDS("email"));
	it_expect_error(
		call("POST", "/users", NULL,
		     "{\"email\":\"a@b@example.com\",\"password\":\"password123\",\"name\":\"Ab\"}"),
		422, "VALIDATION_ERROR", FIELDS("email"));
	assert_int_equal(user_count(), before);

	/* 100 code points are fine */
	name[200] = '\0';
	snprintf(body, sizeof(body),
		 "{\"email\":\"long@example.com\",\"password\":\"%0128d\","
		 "\"name\":\"%s\"}",
		 0, name);
	{
		struct it_http_result r = call("POST", "/users", NULL, body);

		assert_true(it_http_is_success(&r, 201));
		it_http_release(&r);
	}
}

static void sign_up_refuses_unknown_and_read_only_fields(void **state)
{
	int64_t before = user_count();

	it_expect_error(call("POST", "/users", NULL,
			     "{\"email\":\"extra@example.com\",\"password\":\"password123\","
			     "\"name\":\"Extra\",\"nickname\":\"x\"}"),
			422, "VALIDATION_ERROR", FIELDS("nickname"));
	it_expect_error(
		call("POST", "/users", NULL,
		     "{\"email\":\"ro@example.com\",\"password\":\"password123\",\"name\":\"Ro\","
		     "\"id\":7,\"createdAt\":\"2026-01-01T00:00:00Z\",\"version\":1}"),
		422, "VALIDATION_ERROR", FIELDS("id", "createdAt", "version"));
	it_expect_error(
		call("POST", "/users", NULL,
		     "{\"email\":\"ro@example.com\",\"password\":\"password123\",\"name\":\"Ro\","
		     "\"updatedAt\":\"2026-01-01T00:00:00Z\",\"passwordHash\":\"x\"}"),
		422, "VALIDATION_ERROR", FIELDS("updatedAt", "passwordHash"));
	assert_int_equal(user_count(), before);
	assert_int_equal(email_count("extra@example.com") + email_count("ro@example.com"), 0);
}

static void sign_up_duplicate_email_is_409(void **state)
{
	it_gateway_sign_up(&G, "dup@example.com", "First");
	it_expect_error(
		call("POST", "/users", NULL,
		     "{\"email\":\" DUP@Example.com\",\"password\":\"password123\",\"name\":\"Second\"}"),
		409, "DUPLICATE_RESOURCE", FIELDS("email"));
	assert_int_equal(email_count("dup@example.com"), 1);
	assert_int_equal(count_sql("SELECT count(*) FROM users.users WHERE name = 'Second'"), 0);
}

static void sign_up_with_admin_fields_is_403_unless_admin(void **state)
{
	const char *body =
		"{\"email\":\"climber@example.com\",\"password\":\"password123\","
		"\"name\":\"Climber\",\"role\":\"admin\",\"isActive\":true,\"isVerified\":true}";
	char *user_token = it_token(G.admin_id + 100000, "someone@example.com", "user");
	struct it_http_result r;

	it_expect_error(call("POST", "/users", NULL, body), 403, "FORBIDDEN",
			FIELDS("role", "isActive", "isVerified"));
	it_expect_error(call("POST", "/users", user_token,
			     "{\"email\":\"climber@example.com\",\"password\":\"password123\","
			     "\"name\":\"Climber\",\"role\":\"moderator\"}"),
			403, "FORBIDDEN", FIELDS("role"));
	assert_int_equal(email_count("climber@example.com"), 0);

	r = call(
		"POST", "/users", G.admin_token,
		"{\"email\":\"made.mod@example.com\",\"password\":\"password123\",\"name\":\"Mod\","
		"\"role\":\"moderator\",\"isVerified\":true}");
	assert_true(it_http_is_success(&r, 201));
	assert_string_equal(it_json_str(it_data(&r), "role"), "moderator");
	assert_true(json_is_true(json_object_get(it_data(&r), "isVerified")));
	it_http_release(&r);
	assert_int_equal(count_sql("SELECT count(*) FROM users.users WHERE email = "
				   "'made.mod@example.com' AND role = 'moderator' AND is_verified"),
			 1);
	free(user_token);
}

/* §6 order: forbidden fields (403) come before validation (422). */
static void sign_up_forbidden_fields_come_before_validation(void **state)
{
	int64_t before = user_count();

	it_expect_error(call("POST", "/users", NULL,
			     "{\"email\":\"not-an-email\",\"password\":\"short\",\"name\":\"X\","
			     "\"role\":\"admin\"}"),
			403, "FORBIDDEN", FIELDS("role"));
	it_expect_error(call("POST", "/users", NULL,
			     "{\"email\":\"order@example.com\",\"password\":\"password123\","
			     "\"name\":\"X\",\"isActive\":false,\"nickname\":\"x\"}"),
			403, "FORBIDDEN", FIELDS("isActive"));
	assert_int_equal(user_count(), before);
}

static void sign_up_malformed_bodies_are_400_invalid_json(void **state)
{
	static const char *const bodies[] = {
		"{\"email\":",
		"[]",
		"[{\"email\":\"a@example.com\",\"password\":\"password123\",\"name\":\"A\"}]",
		"\"just a string\"",
		"42",
		"null",
		"true",
		"",
		"{\"email\":\"a@example.com\",\"password\":\"password123\",\"name\":\"A\"} trailing",
		"{\"email\":\"bad\xff@example.com\",\"password\":\"password123\",\"name\":\"A\"}",
		"{\"email\":\"a@example.com\",\"password\":\"password123\",\"name\":\"\xc0\xaf\"}",
		"{\"email\":\"a@example.com\",\"password\":\"password123\",\"name\":\"\xed\xa0\x80\"}",
	};
	int64_t before = user_count();

	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		fprintf(stderr, "body #%zu\n", i);
		it_expect_error(call("POST", "/users", NULL, bodies[i]), 400, "INVALID_JSON",
				NO_DETAILS);
	}
	/* no body at all where one is required */
	it_expect_error(call("POST", "/users", NULL, NULL), 400, "INVALID_JSON", NO_DETAILS);
	assert_int_equal(user_count(), before);
}

static void sign_up_needs_a_json_content_type(void **state)
{
	const char *body = "{\"email\":\"typed@example.com\",\"password\":\"password123\","
			   "\"name\":\"Typed\"}";
	char raw[512];
	int64_t before = user_count();
	struct it_http_result r;
	int n;

	it_expect_error(call_h("POST", "/users", NULL, HEADERS("Content-Type: text/plain"), body),
			415, "UNSUPPORTED_MEDIA_TYPE", NO_DETAILS);
	it_expect_error(call_h("POST", "/users", NULL,
			       HEADERS("Content-Type: application/x-www-form-urlencoded"), body),
			415, "UNSUPPORTED_MEDIA_TYPE", NO_DETAILS);
	/* a body and no Content-Type at all, sent byte for byte */
	n = snprintf(raw, sizeof(raw),
		     "POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     strlen(body), body);
	r = it_http_raw(G.port, raw, (size_t)n);
	assert_true(it_http_is_error(&r, 415, "UNSUPPORTED_MEDIA_TYPE", NO_DETAILS));
	it_http_release(&r);
	assert_int_equal(user_count(), before);

	/* a charset parameter is still JSON */
	r = it_gateway_call(&G, "POST", "/users", NULL,
			    HEADERS("Content-Type: application/json; charset=utf-8"), body);
	assert_true(it_http_is_success(&r, 201));
	it_http_release(&r);
	assert_int_equal(email_count("typed@example.com"), 1);
}

/* A JSON body of exactly len bytes: a sign-up with an unknown "pad" field. */
static char *padded_body(size_t len)
{
	const char *head = "{\"email\":\"big@example.com\",\"password\":\"password123\","
			   "\"name\":\"Big\",\"pad\":\"";
	char *b = xmalloc(len + 1);
	size_t hl = strlen(head);

	memcpy(b, head, hl);
	memset(b + hl, 'x', len - hl - 2);
	memcpy(b + len - 2, "\"}", 3);
	return b;
}

static void sign_up_oversized_body_is_413(void **state)
{
	char *big = padded_body(IT_GW_MAX_BODY + 1);
	char *exact = padded_body(IT_GW_MAX_BODY);
	int64_t before = user_count();
	struct it_http_result r;
	char *raw;
	int n;

	it_expect_error(call("POST", "/users", NULL, big), 413, "PAYLOAD_TOO_LARGE", NO_DETAILS);
	/* chunked: no Content-Length to refuse up front */
	raw = xmalloc(IT_GW_MAX_BODY + 512);
	n = snprintf(
		raw, IT_GW_MAX_BODY + 512,
		"POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
		"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n",
		strlen(big), big);
	r = it_http_raw(G.port, raw, (size_t)n);
	assert_true(it_http_is_error(&r, 413, "PAYLOAD_TOO_LARGE", NO_DETAILS));
	it_http_release(&r);
	assert_int_equal(user_count(), before);
	/* exactly MAX_BODY_BYTES is allowed in: what is wrong then is the field */
	it_expect_error(call("POST", "/users", NULL, exact), 422, "VALIDATION_ERROR",
			FIELDS("pad"));
	free(raw);
	free(big);
	free(exact);
}

/* Request smuggling shapes (QUALITY.md): both Content-Length and
 * Transfer-Encoding, or two Content-Length headers, are a 400. */
static void sign_up_smuggling_shapes_are_400(void **state)
{
	const char *body = "{\"email\":\"smuggler@example.com\",\"password\":\"password123\","
			   "\"name\":\"Smuggler\"}";
	char raw[1024];
	int64_t before = user_count();
	struct it_http_result r;
	int n;

	n = snprintf(
		raw, sizeof(raw),
		"POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		"Content-Type: application/json\r\nContent-Length: %zu\r\n"
		"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n",
		strlen(body) + 10, strlen(body), body);
	r = it_http_raw(G.port, raw, (size_t)n);
	assert_true(it_http_is_error(&r, 400, "BAD_REQUEST", IT_ANY_DETAILS));
	it_http_release(&r);
	n = snprintf(
		raw, sizeof(raw),
		"POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		"Content-Type: application/json\r\nContent-Length: %zu\r\nContent-Length: %zu\r\n"
		"Connection: close\r\n\r\n%s",
		strlen(body), strlen(body), body);
	r = it_http_raw(G.port, raw, (size_t)n);
	assert_true(it_http_is_error(&r, 400, "BAD_REQUEST", IT_ANY_DETAILS));
	it_http_release(&r);
	assert_int_equal(user_count(), before);
}

/* ---- GET /users/:id ------------------------------------------------------------------ */

static void get_user_returns_the_user_and_its_etag(void **state)
{
	int64_t id = it_gateway_sign_up(&G, "getter@example.com", "Getter");
	int64_t other = it_gateway_sign_up(&G, "other.getter@example.com", "Other Getter");
	char *t = it_token(id, "getter@example.com", "user");
	char *tm = moderator_token();
	char path[64];
	struct it_http_result r;

	snprintf(path, sizeof(path), "/users/%lld", (long long)id);
	r = call("GET", path, t, NULL);
	assert_true(it_http_is_success(&r, 200));
	assert_true(it_json_is_user(it_data(&r)));
	assert_int_equal(it_json_int(it_data(&r), "id"), id);
	assert_string_equal(it_json_str(it_data(&r), "email"), "getter@example.com");
	assert_non_null(it_http_header(&r, "ETag"));
	assert_string_equal(it_http_header(&r, "ETag"), "\"1\"");
	it_http_release(&r);

	r = call("GET", "/users/me", t, NULL);
	assert_true(it_http_is_success(&r, 200));
	assert_int_equal(it_json_int(it_data(&r), "id"), id);
	assert_string_equal(it_http_header(&r, "ETag"), "\"1\"");
	it_http_release(&r);

	r = call("GET", path, tm, NULL); /* read:users */
	assert_true(it_http_is_success(&r, 200));
	assert_int_equal(it_json_int(it_data(&r), "id"), id);
	it_http_release(&r);

	snprintf(path, sizeof(path), "/users/%lld", (long long)other);
	it_expect_error(call("GET", path, t, NULL), 403, "FORBIDDEN", NO_DETAILS);
	it_expect_error(call("GET", "/users/999999999", tm, NULL), 404, "NOT_FOUND", NO_DETAILS);
	it_expect_error(call("GET", "/users/9007199254740991", tm, NULL), 404, "NOT_FOUND",
			NO_DETAILS);
	free(t);
	free(tm);
}

static void get_user_malformed_id_is_400(void **state)
{
	static const char *const ids[] = {
		"abc",  "0",   "-1", "9007199254740992", "1.5", "1e3", "99999999999999999999",
		"0x10", "%201"
	};
	char *tm = moderator_token();
	char path[64];

	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		snprintf(path, sizeof(path), "/users/%s", ids[i]);
		fprintf(stderr, "GET %s\n", path);
		it_expect_error(call("GET", path, tm, NULL), 400, "BAD_REQUEST", IT_ANY_DETAILS);
	}
	free(tm);
}

static void get_user_refuses_bad_credentials(void **state)
{
	int64_t id = it_gateway_sign_up(&G, "cred@example.com", "Cred");
	char *expired = it_token_ex(id, "cred@example.com", "user", -7200, -3600, IT_JWT_SECRET);
	char *leeway = it_token_ex(id, "cred@example.com", "user", -3600, -10, IT_JWT_SECRET);
	char *forged = it_token_ex(id, "cred@example.com", "admin", 0, 3600,
				   "some-other-secret-that-is-long-enough!!");
	char *tampered = it_token(id, "cred@example.com", "user");
	struct it_http_result r;
	char *sig = strrchr(tampered, '.') + 5;
	int64_t before = user_count();
	char own[64], key_in_query[96];

	snprintf(own, sizeof(own), "/users/%lld", (long long)id);
	snprintf(key_in_query, sizeof(key_in_query), "%s?api_key=ak_1_secret", own);

	*sig = *sig == 'A' ? 'B' : 'A'; /* a bit inside the signature, not its padding */
	it_expect_error(call("GET", own, expired, NULL), 401, "TOKEN_EXPIRED", NO_DETAILS);
	r = call("GET", own, tampered, NULL);
	assert_true(it_http_is_error(&r, 401, "UNAUTHORIZED", NO_DETAILS));
	assert_non_null(it_http_header(&r, "WWW-Authenticate"));
	assert_true(strncmp(it_http_header(&r, "WWW-Authenticate"), "Bearer", 6) == 0);
	it_http_release(&r);
	it_expect_error(call("GET", own, forged, NULL), 401, "UNAUTHORIZED", NO_DETAILS);
	it_expect_error(call("GET", own, "not.a.jwt", NULL), 401, "UNAUTHORIZED", NO_DETAILS);
	it_expect_error(call_h("GET", own, NULL, HEADERS("Authorization: Basic dXNlcjpwYXNz"),
			       NULL),
			401, "UNAUTHORIZED", NO_DETAILS);
	/* a credential that is present but bad is 401 even on the open sign-up */
	it_expect_error(call("POST", "/users", forged,
			     "{\"email\":\"forged@example.com\",\"password\":\"password123\","
			     "\"name\":\"Forged\"}"),
			401, "UNAUTHORIZED", NO_DETAILS);
	assert_int_equal(user_count(), before);
	/* both credential headers; an API key in the query string */
	it_expect_error(call_h("GET", own, G.admin_token, HEADERS("X-API-Key: ak_1_secret"), NULL),
			400, "BAD_REQUEST", IT_ANY_DETAILS);
	it_expect_error(call("GET", key_in_query, G.admin_token, NULL), 400, "BAD_REQUEST",
			IT_ANY_DETAILS);
	/* 30 s leeway on exp */
	r = call("GET", own, leeway, NULL);
	assert_true(it_http_is_success(&r, 200));
	it_http_release(&r);
	free(expired);
	free(leeway);
	free(forged);
	free(tampered);
}

/* ---- access log ---------------------------------------------------------------------------- */

/* The access-log lines (those with a statusCode) whose requestId is id. */
static size_t access_lines(const char *log, const char *id, json_t **first)
{
	size_t n = 0;

	*first = NULL;
	for (const char *line = log; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		json_t *j = json_loadb(line, len, 0, NULL);
		const char *rid = json_string_value(json_object_get(j, "requestId"));

		if (j && rid && strcmp(rid, id) == 0 && json_object_get(j, "statusCode")) {
			if (n++ == 0)
				*first = json_incref(j);
		}
		json_decref(j);
		line = eol ? eol + 1 : NULL;
	}
	return n;
}

static void assert_access_line(const char *log, const char *id, const char *method,
			       const char *path, int64_t status)
{
	json_t *j;

	assert_int_equal(access_lines(log, id, &j), 1);
	assert_string_equal(it_json_str(j, "method"), method);
	assert_non_null(strstr(it_json_str(j, "url"), path));
	assert_int_equal(it_json_int(j, "statusCode"), status);
	assert_true(json_is_number(json_object_get(j, "duration")));
	assert_true(json_number_value(json_object_get(j, "duration")) >= 0);
	assert_string_equal(it_json_str(j, "userAgent"), "it-agent/1.0");
	assert_string_equal(it_json_str(j, "ip"), "127.0.0.1");
	assert_non_null(json_object_get(j, "level"));
	assert_non_null(json_object_get(j, "time"));
	assert_non_null(json_object_get(j, "msg"));
	json_decref(j);
}

static void access_log_has_one_line_per_request_and_no_secrets(void **state)
{
	const char *const h1[] = { "X-Request-Id: it-log-create", "User-Agent: it-agent/1.0",
				   NULL };
	const char *const h2[] = { "X-Request-Id: it-log-get", "User-Agent: it-agent/1.0", NULL };
	const char *const h3[] = { "X-Request-Id: it-log-404", "User-Agent: it-agent/1.0", NULL };
	const char *const h4[] = { "X-Request-Id: it-log-key", "User-Agent: it-agent/1.0", NULL };
	int64_t id;
	char *token, *log = NULL, path[96], url[96];
	struct it_http_result r;
	json_t *j = NULL;

	r = call_h("POST", "/users", NULL, h1,
		   "{\"email\":\"logger@example.com\",\"password\":\"log-secret-Pa55word\","
		   "\"name\":\"Logger\"}");
	assert_true(it_http_is_success(&r, 201));
	id = it_json_int(it_data(&r), "id");
	it_http_release(&r);
	token = it_token(id, "logger@example.com", "user");
	snprintf(path, sizeof(path), "/users/%lld", (long long)id);
	r = call_h("GET", path, token, h2, NULL);
	assert_int_equal(r.status, 200);
	it_http_release(&r);
	r = call_h("GET", "/nope", token, h3, NULL);
	it_http_release(&r);
	snprintf(path, sizeof(path), "/users/%lld?api_key=ak_leaky_0123456789", (long long)id);
	r = call_h("GET", path, token, h4, NULL);
	it_http_release(&r);

	for (int64_t deadline = mono_ms() + 3000; mono_ms() < deadline; usleep(50 * 1000)) {
		free(log);
		log = read_file_all(proc_log_path(G.gateway));
		if (log && access_lines(log, "it-log-key", &j) > 0)
			break;
	}
	json_decref(j);
	assert_non_null(log);
	assert_access_line(log, "it-log-create", "POST", "/api/v1/users", 201);
	snprintf(url, sizeof(url), "/api/v1/users/%lld", (long long)id);
	assert_access_line(log, "it-log-get", "GET", url, 200);
	assert_access_line(log, "it-log-404", "GET", "/api/v1/nope", 404);
	assert_access_line(log, "it-log-key", "GET", url, 400);
	assert_null(strstr(log, "log-secret-Pa55word"));
	assert_null(strstr(log, "password123"));
	assert_null(strstr(log, "$argon2id$"));
	assert_null(strstr(log, token));
	assert_null(strstr(log, strrchr(token, '.')));
	assert_null(strstr(log, G.admin_token));
	assert_null(strstr(log, "ak_leaky_0123456789"));
	free(log);
	free(token);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sign_up_returns_201_and_exactly_the_user_object),
		cmocka_unit_test(sign_up_lists_every_invalid_field_at_once),
		cmocka_unit_test(sign_up_refuses_unknown_and_read_only_fields),
		cmocka_unit_test(sign_up_duplicate_email_is_409),
		cmocka_unit_test(sign_up_with_admin_fields_is_403_unless_admin),
		cmocka_unit_test(sign_up_forbidden_fields_come_before_validation),
		cmocka_unit_test(sign_up_malformed_bodies_are_400_invalid_json),
		cmocka_unit_test(sign_up_needs_a_json_content_type),
		cmocka_unit_test(sign_up_oversized_body_is_413),
		cmocka_unit_test(sign_up_smuggling_shapes_are_400),
		cmocka_unit_test(get_user_returns_the_user_and_its_etag),
		cmocka_unit_test(get_user_malformed_id_is_400),
		cmocka_unit_test(get_user_refuses_bad_credentials),
		cmocka_unit_test(access_log_has_one_line_per_request_and_no_secrets),
	};

	return cmocka_run_group_tests(tests, gw_setup, gw_teardown);
}
