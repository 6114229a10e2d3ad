/* users_write_rest_it.c - PUT, PATCH and DELETE /api/v1/users/:id and
 * POST /api/v1/users/:id/password through the REST gateway, as API.md §1, §2
 * and §6 say: versions and ETags, If-Match, field and object permissions,
 * conflicts, soft delete, and what the database holds after each refusal. */
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

#define GW_IT_NAME "users_write_rest_it"
#include "support/gw_fixture.h"

/* A user token issued 5 s ago: "before" any change this test then makes. */
static char *token_for(int64_t id, const char *email)
{
	return it_token_ex(id, email, "user", -5, 3600, IT_JWT_SECRET);
}

static char *moderator_token(void)
{
	return it_token(G.admin_id + 200000, "mod@example.com", "moderator");
}

#define stored(id, expr) it_stored(G.db, "users.users", (id), (expr))
#define assert_stored(id, expr, want) \
	assert_true(it_stored_is(G.db, "users.users", (id), (expr), (want)))

static const char *user_path(int64_t id)
{
	static char path[64];

	snprintf(path, sizeof(path), "/users/%lld", (long long)id);
	return path;
}

/* A 200 user reply with version and a matching ETag: "<version>". */
static void expect_user(struct it_http_result r, int64_t version)
{
	char etag[32];

	assert_true(it_http_is_success(&r, 200));
	assert_true(it_json_is_user(it_data(&r)));
	assert_int_equal(it_json_int(it_data(&r), "version"), version);
	snprintf(etag, sizeof(etag), "\"%lld\"", (long long)version);
	assert_non_null(it_http_header(&r, "ETag"));
	assert_string_equal(it_http_header(&r, "ETag"), etag);
	it_http_release(&r);
}

/* ---- PUT ----------------------------------------------------------------------------- */

static void put_user_replaces_email_and_name(void **state)
{
	int64_t id = it_gateway_sign_up(&G, "putter@example.com", "Putter");
	int64_t other = it_gateway_sign_up(&G, "put.other@example.com", "Put Other");
	char *t = token_for(id, "putter@example.com");
	struct it_http_result r;

	r = call("PUT", user_path(id), t,
		 "{\"email\":\" Putter.New@Example.com\",\"name\":\"  Putter New \"}");
	assert_true(it_http_is_success(&r, 200));
	assert_string_equal(it_json_str(it_data(&r), "email"), "putter.new@example.com");
	assert_string_equal(it_json_str(it_data(&r), "name"), "Putter New");
	expect_user(r, 2);
	assert_stored(id, "email || '|' || name || '|' || version",
		      "putter.new@example.com|Putter New|2");

	it_expect_error(call("PUT", user_path(id), t, "{\"name\":\"Only Name\"}"), 422,
			"VALIDATION_ERROR", FIELDS("email"));
	it_expect_error(call("PUT", user_path(id), t, "{\"email\":\"only@example.com\"}"), 422,
			"VALIDATION_ERROR", FIELDS("name"));
	it_expect_error(call("PUT", user_path(id), t, "{}"), 422, "VALIDATION_ERROR",
			FIELDS("email", "name"));
	it_expect_error(call("PUT", user_path(id), t, "{\"email\":\"bad\",\"name\":\"  \"}"), 422,
			"VALIDATION_ERROR", FIELDS("email", "name"));
	it_expect_error(call("PUT", user_path(id), t,
			     "{\"email\":\"p@example.com\",\"name\":\"P\",\"role\":\"admin\"}"),
			403, "FORBIDDEN", FIELDS("role"));
	it_expect_error(call("PUT", user_path(other), t,
			     "{\"email\":\"p@example.com\",\"name\":\"P\"}"),
			403, "FORBIDDEN", NO_DETAILS);
	it_expect_error(call_h("PUT", user_path(id), t, HEADERS("If-Match: \"1\""),
			       "{\"email\":\"p@example.com\",\"name\":\"P\"}"),
			409, "VERSION_CONFLICT", NO_DETAILS);
	it_expect_error(call_h("PUT", user_path(id), t, HEADERS("Content-Type: text/plain"),
			       "{\"email\":\"p@example.com\",\"name\":\"P\"}"),
			415, "UNSUPPORTED_MEDIA_TYPE", NO_DETAILS);
	it_expect_error(call("PUT", "/users/424242", G.admin_token,
			     "{\"email\":\"p@example.com\",\"name\":\"P\"}"),
			404, "NOT_FOUND", NO_DETAILS);
	assert_stored(id, "email || '|' || name || '|' || version",
		      "putter.new@example.com|Putter New|2");
	assert_stored(other, "email || '|' || name || '|' || version",
		      "put.other@example.com|Put Other|1");
	free(t);
}

/* ---- PATCH --------------------------------------------------------------------------- */

static struct it_http_result patch_if(int64_t id, const char *token, const char *if_match,
				      const char *body)
{
	char header[64];
	const char *h[] = { header, NULL };

	snprintf(header, sizeof(header), "If-Match: %s", if_match);
	return call_h("PATCH", user_path(id), token, h, body);
}

static void patch_user_versions_and_if_match(void **state)
{
	int64_t id = it_gateway_sign_up(&G, "patcher@example.com", "Patcher");
	char *t = token_for(id, "patcher@example.com");
	struct it_http_result r;

	expect_user(call("PATCH", user_path(id), t, "{\"name\":\"Patched\"}"), 2);
	assert_stored(id, "name || '|' || version", "Patched|2");
	/* no stored field changes: the version stays */
	expect_user(call("PATCH", user_path(id), t, "{\"name\":\"Patched\"}"), 2);
	assert_stored(id, "version", "2");

	expect_user(patch_if(id, t, "\"2\"", "{\"name\":\"P3\"}"), 3);
	expect_user(patch_if(id, t, "W/\"3\"", "{\"name\":\"P4\"}"), 4);
	it_expect_error(patch_if(id, t, "\"1\"", "{\"name\":\"Stale\"}"), 409, "VERSION_CONFLICT",
			NO_DETAILS);
	it_expect_error(call("PATCH", user_path(id), t, "{\"name\":\"Stale\",\"version\":2}"), 409,
			"VERSION_CONFLICT", NO_DETAILS);
	/* If-Match and body version both sent and different: 409 even if one is current */
	it_expect_error(patch_if(id, t, "\"4\"", "{\"name\":\"Stale\",\"version\":3}"), 409,
			"VERSION_CONFLICT", NO_DETAILS);
	it_expect_error(patch_if(id, t, "\"3\"", "{\"name\":\"Stale\",\"version\":4}"), 409,
			"VERSION_CONFLICT", NO_DETAILS);
	assert_stored(id, "name || '|' || version", "P4|4");

	expect_user(patch_if(id, t, "\"4\"", "{\"name\":\"P5\",\"version\":4}"), 5);
	expect_user(call("PATCH", user_path(id), t, "{\"name\":\"P6\",\"version\":5}"), 6);
	assert_stored(id, "name || '|' || version", "P6|6");
	r = call("GET", user_path(id), t, NULL);
	assert_true(it_http_is_success(&r, 200));
	assert_string_equal(it_json_str(it_data(&r), "name"), "P6");
	expect_user(r, 6);
	free(t);
}

/* One PATCH that must be refused: by whom, on whose profile (or at path),
 * with which headers and body, and the exact error. */
struct refusal {
	bool as_moderator; /* else as the profile's owner */
	bool other;        /* someone else's profile, else the owner's own */
	const char *path;  /* when set, instead of the profile */
	const char *const *headers;
	const char *body;
	long status;
	const char *code;
	const char *const *fields;
};

/* Sends every row's PATCH; names the first row that is not refused as written. */
static void expect_refusals(const struct refusal *rows, size_t n, int64_t id, int64_t other,
			    const char *t, const char *tm)
{
	for (size_t i = 0; i < n; i++) {
		const struct refusal *w = &rows[i];
		const char *path = w->path ? w->path : user_path(w->other ? other : id);
		struct it_http_result r = call_h("PATCH", path, w->as_moderator ? tm : t,
						 w->headers, w->body);
		bool ok = it_http_is_error(&r, w->status, w->code, w->fields);

		if (!ok)
			fprintf(stderr, "row %zu: PATCH %s %s -> %ld, want %ld %s\n", i, path,
				w->body, r.status, w->status, w->code);
		it_http_release(&r);
		assert_true(ok);
	}
}

static void patch_user_field_and_object_permissions(void **state)
{
	const struct refusal rows[] = {
		{ .body = "{\"role\":\"admin\"}",
		  .status = 403,
		  .code = "FORBIDDEN",
		  .fields = FIELDS("role") },
		{ .body = "{\"role\":\"admin\",\"isActive\":false,\"isVerified\":true}",
		  .status = 403,
		  .code = "FORBIDDEN",
		  .fields = FIELDS("role", "isActive", "isVerified") },
		{ .body = "{\"nickname\":\"x\"}",
		  .status = 422,
		  .code = "VALIDATION_ERROR",
		  .fields = FIELDS("nickname") },
		{ .body = "{\"id\":5,\"createdAt\":\"2026-01-01T00:00:00Z\","
			  "\"updatedAt\":\"2026-01-01T00:00:00Z\"}",
		  .status = 422,
		  .code = "VALIDATION_ERROR",
		  .fields = FIELDS("id", "createdAt", "updatedAt") },
		{ .body = "{\"name\":\" \",\"email\":\"bad\"}",
		  .status = 422,
		  .code = "VALIDATION_ERROR",
		  .fields = FIELDS("name", "email") },
		{ .body = "{\"name\":5}",
		  .status = 422,
		  .code = "VALIDATION_ERROR",
		  .fields = FIELDS("name") },
		{ .body = "[{\"name\":\"x\"}]", .status = 400, .code = "INVALID_JSON" },
		{ .headers = HEADERS("Content-Type: text/plain"),
		  .body = "{\"name\":\"x\"}",
		  .status = 415,
		  .code = "UNSUPPORTED_MEDIA_TYPE" },
		{ .path = "/users/abc",
		  .body = "{\"name\":\"x\"}",
		  .status = 400,
		  .code = "BAD_REQUEST",
		  .fields = IT_ANY_DETAILS },
		/* someone else's profile: a user, and a moderator (update needs self or admin) */
		{ .other = true,
		  .body = "{\"name\":\"Hijacked\"}",
		  .status = 403,
		  .code = "FORBIDDEN" },
		{ .as_moderator = true,
		  .other = true,
		  .body = "{\"name\":\"Hijacked\"}",
		  .status = 403,
		  .code = "FORBIDDEN" },
	};
	int64_t id = it_gateway_sign_up(&G, "perm@example.com", "Perm");
	int64_t other = it_gateway_sign_up(&G, "perm.other@example.com", "Perm Other");
	char *t = token_for(id, "perm@example.com");
	char *tm = moderator_token();
	const char *snapshot = "role || '|' || is_active || '|' || is_verified || '|' || name || "
			       "'|' || version";
	struct it_http_result r;

	expect_refusals(rows, ARRAY_SIZE(rows), id, other, t, tm);
	assert_stored(id, snapshot, "user|true|false|Perm|1");
	assert_stored(other, "name || '|' || version", "Perm Other|1");

	r = call("PATCH", user_path(id), G.admin_token,
		 "{\"role\":\"moderator\",\"isActive\":false}");
	assert_true(it_http_is_success(&r, 200));
	assert_string_equal(it_json_str(it_data(&r), "role"), "moderator");
	assert_true(json_is_false(json_object_get(it_data(&r), "isActive")));
	expect_user(r, 2);
	assert_stored(id, snapshot, "moderator|false|false|Perm|2");
	it_expect_error(call("PATCH", "/users/424242", G.admin_token, "{\"name\":\"Nobody\"}"), 404,
			"NOT_FOUND", NO_DETAILS);
	free(t);
	free(tm);
}

static void patch_user_email_duplicate_and_unverify(void **state)
{
	int64_t id = it_gateway_sign_up(&G, "first.mail@example.com", "First Mail");
	char *t = token_for(id, "first.mail@example.com");
	struct it_http_result r;

	it_gateway_sign_up(&G, "taken.mail@example.com", "Taken Mail");
	r = call("PATCH", user_path(id), G.admin_token, "{\"isVerified\":true}");
	assert_true(it_http_is_success(&r, 200));
	assert_true(json_is_true(json_object_get(it_data(&r), "isVerified")));
	expect_user(r, 2);
	assert_stored(id, "is_verified", "t");

	it_expect_error(call("PATCH", user_path(id), t, "{\"email\":\"TAKEN.mail@example.com\"}"),
			409, "DUPLICATE_RESOURCE", FIELDS("email"));
	assert_stored(id, "email || '|' || version", "first.mail@example.com|2");

	r = call("PATCH", user_path(id), t, "{\"email\":\" New.Mail@Example.com \"}");
	assert_true(it_http_is_success(&r, 200));
	assert_string_equal(it_json_str(it_data(&r), "email"), "new.mail@example.com");
	assert_true(json_is_false(json_object_get(it_data(&r), "isVerified")));
	expect_user(r, 3);
	assert_stored(id, "email || '|' || is_verified", "new.mail@example.com|false");
	free(t);
}

/* ---- DELETE ----------------------------------------------------------------------------- */

static void delete_user_is_soft_and_frees_the_email(void **state)
{
	int64_t id = it_gateway_sign_up(&G, "leaver@example.com", "Leaver");
	int64_t other = it_gateway_sign_up(&G, "stayer@example.com", "Stayer");
	int64_t third = it_gateway_sign_up(&G, "third@example.com", "Third");
	char *t = token_for(id, "leaver@example.com");
	char *tm = moderator_token();
	struct it_http_result r;

	it_expect_error(call("DELETE", user_path(other), t, NULL), 403, "FORBIDDEN", NO_DETAILS);
	it_expect_error(call("DELETE", user_path(other), tm, NULL), 403, "FORBIDDEN", NO_DETAILS);
	assert_stored(other, "deleted_at IS NULL", "t");

	r = call("DELETE", user_path(id), t, NULL);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	assert_non_null(it_http_header(&r, "X-Request-Id"));
	it_http_release(&r);
	assert_stored(id, "deleted_at IS NOT NULL", "t");
	assert_stored(id, "count(*)", "1"); /* soft: the row stays */

	it_expect_error(call("GET", user_path(id), tm, NULL), 404, "NOT_FOUND", NO_DETAILS);
	it_expect_error(call("DELETE", user_path(id), G.admin_token, NULL), 404, "NOT_FOUND",
			NO_DETAILS);
	it_expect_error(call("PATCH", user_path(id), G.admin_token, "{\"name\":\"Ghost\"}"), 404,
			"NOT_FOUND", NO_DETAILS);
	/* the email is free again */
	assert_true(it_gateway_sign_up(&G, "leaver@example.com", "Newcomer") != id);

	/* DELETE takes no body: one sent (of any type) is ignored */
	r = call_h("DELETE", user_path(third), G.admin_token, HEADERS("Content-Type: text/plain"),
		   "please ignore me");
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	it_http_release(&r);
	assert_stored(third, "deleted_at IS NOT NULL", "t");
	free(t);
	free(tm);
}

/* ---- POST /users/:id/password ---------------------------------------------------------------- */

static void change_password_rules(void **state)
{
	int64_t id = it_gateway_sign_up(&G, "pw@example.com", "Pw");
	int64_t other = it_gateway_sign_up(&G, "pw.other@example.com", "Pw Other");
	char *t = token_for(id, "pw@example.com");
	char path[80], other_path[80], *hash = stored(id, "password_hash");
	char *other_hash = stored(other, "password_hash");
	struct it_http_result r;
	char *log;

	snprintf(path, sizeof(path), "/users/%lld/password", (long long)id);
	snprintf(other_path, sizeof(other_path), "/users/%lld/password", (long long)other);
	it_expect_error(
		call("POST", path, t,
		     "{\"currentPassword\":\"wrong-password\",\"newPassword\":\"new-password-1\"}"),
		401, "INVALID_CREDENTIALS", NO_DETAILS);
	it_expect_error(call("POST", path, t,
			     "{\"currentPassword\":\"password123\",\"newPassword\":\"short\"}"),
			422, "VALIDATION_ERROR", FIELDS("newPassword"));
	it_expect_error(
		call("POST", path, t,
		     "{\"currentPassword\":\"password123\",\"newPassword\":\"new-password-1\","
		     "\"oldPassword\":\"x\"}"),
		422, "VALIDATION_ERROR", FIELDS("oldPassword"));
	it_expect_error(
		call_h("POST", path, t, HEADERS("Content-Type: text/plain"),
		       "{\"currentPassword\":\"password123\",\"newPassword\":\"new-password-1\"}"),
		415, "UNSUPPORTED_MEDIA_TYPE", NO_DETAILS);
	/* self only: another user, and an admin, are refused */
	it_expect_error(
		call("POST", other_path, t,
		     "{\"currentPassword\":\"password123\",\"newPassword\":\"new-password-1\"}"),
		403, "FORBIDDEN", NO_DETAILS);
	it_expect_error(
		call("POST", other_path, G.admin_token,
		     "{\"currentPassword\":\"password123\",\"newPassword\":\"new-password-1\"}"),
		403, "FORBIDDEN", NO_DETAILS);
	assert_stored(id, "password_hash", hash);
	assert_stored(other, "password_hash", other_hash);

	r = call("POST", path, t,
		 "{\"currentPassword\":\"password123\",\"newPassword\":\"new-password-1\"}");
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	assert_non_null(it_http_header(&r, "X-Request-Id"));
	it_http_release(&r);
	assert_stored(id, "password_hash <> '' AND password_hash LIKE '$argon2id$v=19$%'", "t");
	{
		char *now = stored(id, "password_hash");

		assert_string_not_equal(now, hash);
		free(now);
	}
	assert_stored(id, "version", "1"); /* a password change leaves the version */

	log = read_file_all(proc_log_path(G.gateway));
	assert_non_null(log);
	assert_null(strstr(log, "new-password-1"));
	assert_null(strstr(log, "wrong-password"));
	assert_null(strstr(log, "$argon2id$"));
	free(log);
	free(hash);
	free(other_hash);
	free(t);
}

/* ---- me ---------------------------------------------------------------------------------- */

static void me_stands_for_the_caller_on_every_route(void **state)
{
	int64_t id = it_gateway_sign_up(&G, "its.me@example.com", "Its Me");
	int64_t id2 = it_gateway_sign_up(&G, "its.me2@example.com", "Its Me Too");
	char *t = token_for(id, "its.me@example.com");
	char *t2 = token_for(id2, "its.me2@example.com");
	char *hash = stored(id2, "password_hash");
	struct it_http_result r;

	r = call("GET", "/users/me", t, NULL);
	assert_true(it_http_is_success(&r, 200));
	assert_int_equal(it_json_int(it_data(&r), "id"), id);
	expect_user(r, 1);
	r = call("PUT", "/users/me", t, "{\"email\":\"its.me@example.com\",\"name\":\"Put Me\"}");
	assert_true(it_http_is_success(&r, 200));
	assert_int_equal(it_json_int(it_data(&r), "id"), id);
	expect_user(r, 2);
	r = call("PATCH", "/users/me", t, "{\"name\":\"Patch Me\"}");
	assert_true(it_http_is_success(&r, 200));
	assert_int_equal(it_json_int(it_data(&r), "id"), id);
	expect_user(r, 3);
	assert_stored(id, "name || '|' || version", "Patch Me|3");

	r = call("POST", "/users/me/password", t2,
		 "{\"currentPassword\":\"password123\",\"newPassword\":\"new-password-2\"}");
	assert_int_equal(r.status, 204);
	it_http_release(&r);
	{
		char *now = stored(id2, "password_hash");

		assert_string_not_equal(now, hash);
		free(now);
	}
	r = call("DELETE", "/users/me", t, NULL);
	assert_int_equal(r.status, 204);
	it_http_release(&r);
	assert_stored(id, "deleted_at IS NOT NULL", "t");
	assert_stored(id2, "deleted_at IS NULL", "t");
	/* anonymous: there is no "me" */
	it_expect_error(call("GET", "/users/me", NULL, NULL), 401, "UNAUTHORIZED", NO_DETAILS);
	free(hash);
	free(t);
	free(t2);
}

/* ---- credentials resolved at the gateway (caller.h) -------------------------------------- */

/* A body the gateway refuses with a 422 (unknown field): a 401 instead shows
 * the credential was refused by the gateway itself, before the body. */
#define BAD_BODY "{\"bogus\":1}"

static void revoked_tokens_are_refused_at_the_gateway(void **state)
{
	int64_t id = it_gateway_sign_up(&G, "gw.revoked@example.com", "Gw Revoked");
	char *t = token_for(id, "gw.revoked@example.com"), *fresh;
	struct it_http_result r;

	it_expect_error(call("PATCH", "/users/me", t, BAD_BODY), 422, "VALIDATION_ERROR",
			IT_ANY_DETAILS);
	r = call("PATCH", user_path(id), G.admin_token, "{\"role\":\"moderator\"}");
	assert_true(it_http_is_success(&r, 200));
	it_http_release(&r);
	r = call("PATCH", "/users/me", t, BAD_BODY);
	assert_true(it_http_is_error(&r, 401, "TOKEN_REVOKED", NO_DETAILS));
	assert_non_null(it_http_header(&r, "WWW-Authenticate"));
	it_http_release(&r);
	it_expect_error(call("GET", "/users/me", t, NULL), 401, "TOKEN_REVOKED", NO_DETAILS);
	fresh = it_token(id, "gw.revoked@example.com", "moderator"); /* issued after the change */
	r = call("GET", "/users/me", fresh, NULL);
	assert_true(it_http_is_success(&r, 200));
	it_http_release(&r);
	free(fresh);
	free(t);
}

/* With the auth service in the stack: an API key is resolved at the gateway,
 * its own (limited) permissions decide admin-only fields, a bad key is a 401. */
static void api_keys_are_resolved_at_the_gateway(void **state)
{
	char header[512];
	struct it_http_result r;
	const char *key;

	if (!G.auth) {
		fprintf(stderr, "(skipped: no auth service in this build)\n");
		skip();
	}
	it_expect_error(call_h("PATCH", "/users/me", NULL, HEADERS("X-API-Key: ak_nope_notakey"),
			       BAD_BODY),
			401, "UNAUTHORIZED", NO_DETAILS);
	r = call("POST", "/api-keys", G.admin_token,
		 "{\"name\":\"reader\",\"permissions\":[\"read:posts\"]}");
	assert_true(it_http_is_success(&r, 201));
	key = json_string_value(json_object_get(it_data(&r), "key"));
	assert_non_null(key);
	snprintf(header, sizeof(header), "X-API-Key: %s", key);
	it_http_release(&r);
	/* the admin's key limited to read:posts is not admin: 403 naming the field */
	it_expect_error(call_h("PATCH", user_path(G.admin_id), NULL, HEADERS(header),
			       "{\"role\":\"user\"}"),
			403, "FORBIDDEN", FIELDS("role"));
	assert_stored(G.admin_id, "role", "admin");
	it_expect_error(call_h("GET", "/users/me", G.admin_token, HEADERS(header), NULL), 400,
			"BAD_REQUEST", IT_ANY_DETAILS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_user_replaces_email_and_name),
		cmocka_unit_test(patch_user_versions_and_if_match),
		cmocka_unit_test(patch_user_field_and_object_permissions),
		cmocka_unit_test(patch_user_email_duplicate_and_unverify),
		cmocka_unit_test(delete_user_is_soft_and_frees_the_email),
		cmocka_unit_test(change_password_rules),
		cmocka_unit_test(me_stands_for_the_caller_on_every_route),
		cmocka_unit_test(revoked_tokens_are_refused_at_the_gateway),
		cmocka_unit_test(api_keys_are_resolved_at_the_gateway),
	};

	return cmocka_run_group_tests(tests, gw_setup, gw_teardown);
}
