/* auth_keys_rest_it.c - the API-key lifecycle through the REST gateway against the
 * real stack: create (the key shown once), use with X-API-Key within the
 * key's permissions, list and read, revoke, rotate with its grace period
 * (API_KEY_ROTATION_GRACE_SECONDS=2 here), owners disabled or deleted, keys
 * in the query string: API.md §2 "Auth and API keys" and §6. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "forge.h"
#include "it.h"
#include "support/http.h"
#include "util.h"

#define PASSWORD "Keys-Pa55word-xyz"
#define GRACE_S 2
#define CACHE_MS 1000 /* API-key validations may be cached this long (caller.h) */

#define AUTH_IT_NAME "auth_keys_rest_it"
#include "support/auth_fixture.h"

/* ---- requests --------------------------------------------------------------------- */

/* A request with the bearer token, or with `X-API-Key: key` when key is set. */
static struct it_http_result call_k(const char *method, const char *path, const char *token,
				    const char *key, const char *body)
{
	char header[512];
	const char *headers[] = { header, NULL };

	snprintf(header, sizeof(header), "X-API-Key: %s", key ? key : "");
	return call_h(method, path, token, key ? headers : NULL, body);
}

/* Signs up email and logs in through the gateway: a real access token. */
static char *user_token(const char *email, int64_t *id)
{
	char body[256];
	struct it_http_result r;
	char *token;

	snprintf(body, sizeof(body),
		 "{\"email\":\"%s\",\"password\":\"%s\",\"name\":\"Key Owner\"}", email, PASSWORD);
	r = call("POST", "/users", NULL, body);
	assert_true(it_http_is_success(&r, 201));
	if (id)
		*id = it_json_int(it_data(&r), "id");
	it_http_release(&r);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, PASSWORD);
	r = call("POST", "/auth/login", NULL, body);
	assert_true(it_http_is_success(&r, 200));
	token = xstrdup(remember(it_json_str(it_data(&r), "accessToken")));
	remember(it_json_str(it_data(&r), "refreshToken"));
	it_http_release(&r);
	return token;
}

/* A key just made (create or rotate reply). */
struct key {
	int64_t id;
	char key[256];
	char prefix[128];
	int64_t expires_at;
};

/* Checks a 201 create/rotate reply exactly and takes the key from it. */
static struct key key_of(struct it_http_result r)
{
	static const char *const keys[] = { "id",          "name",      "prefix",    "key",
					    "permissions", "expiresAt", "createdAt", NULL };
	struct key k;
	json_t *d = it_data(&r);
	const char *secret;

	if (!it_http_is_success(&r, 201))
		it_http_dump(&r, "expected a new key");
	assert_true(it_http_is_success(&r, 201));
	assert_true(it_json_keys_are(d, keys));
	k.id = it_json_int(d, "id");
	strlcpy_s(k.key, remember(it_json_str(d, "key")), sizeof(k.key));
	strlcpy_s(k.prefix, it_json_str(d, "prefix"), sizeof(k.prefix));
	k.expires_at = it_unix_of(it_json_str(d, "expiresAt"));
	assert_true(it_rfc3339_utc(it_json_str(d, "createdAt")));
	/* ak_<public id>_<secret>: the prefix is everything but the secret */
	assert_true(strncmp(k.prefix, "ak_", 3) == 0 && strlen(k.prefix) > 3);
	assert_true(strncmp(k.key, k.prefix, strlen(k.prefix)) == 0);
	assert_int_equal(k.key[strlen(k.prefix)], '_');
	secret = k.key + strlen(k.prefix) + 1;
	assert_true(strlen(secret) >= 43); /* 32 random bytes, base62 or base64url */
	assert_int_equal(strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					"0123456789-_"),
			 strlen(secret));
	remember(secret);
	it_http_release(&r);
	return k;
}

static struct key create_key(const char *token, const char *perms)
{
	char body[512];

	snprintf(body, sizeof(body), "{\"name\":\"it key\",\"permissions\":%s}", perms);
	return key_of(call("POST", "/api-keys", token, body));
}

/* Polls GET /users/me with key (validated by the gateway and the users
 * service, each of which may cache it for CACHE_MS) until it is refused, at
 * most within_ms; asserts the refusal there and at GET /auth/me. */
static void expect_key_refused(const char *key, const char *code, int64_t within_ms)
{
	int64_t start = mono_ms();
	struct it_http_result r;

	for (;;) {
		r = call_k("GET", "/users/me", NULL, key, NULL);
		if (r.status != 200 || mono_ms() - start > within_ms)
			break;
		it_http_release(&r);
		usleep(50 * 1000);
	}
	fprintf(stderr, "key refused after %lld ms\n", (long long)(mono_ms() - start));
	it_expect_error(r, 401, code, NO_DETAILS);
	it_expect_error(call_k("GET", "/auth/me", NULL, key, NULL), 401, code, NO_DETAILS);
}

/* How many of the rows of the whole database contain text (0 = none). */
static int64_t rows_containing(const char *text)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM information_schema.tables t WHERE t.table_schema NOT IN "
		 "('pg_catalog', 'information_schema') AND t.table_type = 'BASE TABLE' AND "
		 "strpos(query_to_xml(format('SELECT * FROM %%I.%%I', t.table_schema, "
		 "t.table_name), true, false, '')::text, '%s') > 0",
		 text);
	return it_sql_int(G.db, sql);
}

/* ---- create and read -------------------------------------------------------------------- */

static void a_new_key_is_shown_once_and_never_stored(void **state)
{
	static const char *const read_keys[] = { "id",          "name",      "prefix",
						 "permissions", "expiresAt", "createdAt",
						 "lastUsedAt",  "revokedAt", NULL };
	char *token = user_token("keys.create@example.com", NULL), path[64];
	struct it_http_result r = call("POST", "/api-keys", token,
				       "{\"name\":\"ci\",\"permissions\":[\"read:own_profile\","
				       "\"read:posts\"],\"expiresInDays\":30}");
	struct key k;
	json_t *d;

	assert_string_equal(it_json_str(it_data(&r), "name"), "ci");
	assert_int_equal(json_array_size(json_object_get(it_data(&r), "permissions")), 2);
	k = key_of(r);
	/* 30 days from now */
	assert_true(llabs(k.expires_at - (now_unix_ms() / 1000 + 30 * 86400)) < 60);
	/* only a hash of the secret is stored: not the key, not the secret */
	assert_int_equal(rows_containing(strrchr(k.key, '_') + 1), 0);

	snprintf(path, sizeof(path), "/api-keys/%lld", (long long)k.id);
	r = call("GET", path, token, NULL);
	assert_true(it_http_is_success(&r, 200));
	d = it_data(&r);
	assert_true(it_json_keys_are(d, read_keys));
	assert_string_equal(it_json_str(d, "prefix"), k.prefix);
	assert_true(json_is_null(json_object_get(d, "lastUsedAt")));
	assert_true(json_is_null(json_object_get(d, "revokedAt")));
	assert_null(strstr(r.body, strrchr(k.key, '_') + 1));
	it_http_release(&r);
	r = call("GET", "/api-keys", token, NULL);
	assert_true(it_http_is_list(&r));
	assert_int_equal(json_array_size(it_data(&r)), 1);
	assert_true(it_json_keys_are(json_array_get(it_data(&r), 0), read_keys));
	assert_null(strstr(r.body, strrchr(k.key, '_') + 1));
	it_http_release(&r);

	/* the key works, and its use is recorded */
	it_expect_status(call_k("GET", "/users/me", NULL, k.key, NULL), 200);
	for (int64_t deadline = mono_ms() + 3000;; usleep(100 * 1000)) {
		bool used;

		r = call("GET", path, token, NULL);
		used = json_is_string(json_object_get(it_data(&r), "lastUsedAt")) &&
		       it_rfc3339_utc(it_json_str(it_data(&r), "lastUsedAt"));
		it_http_release(&r);
		if (used)
			break;
		assert_true(mono_ms() < deadline);
	}
	/* the default lifetime is 90 days */
	k = create_key(token, "[\"read:posts\"]");
	assert_true(llabs(k.expires_at - (now_unix_ms() / 1000 + 90 * 86400)) < 60);
	free(token);
}

static void a_key_acts_only_within_its_permissions(void **state)
{
	int64_t id;
	char *token = user_token("keys.perm@example.com", &id), sql[128];
	struct key profile = create_key(token, "[\"read:own_profile\",\"update:own_profile\"]");
	struct key posts = create_key(token, "[\"read:posts\"]");
	struct it_http_result r = call_k("GET", "/users/me", NULL, profile.key, NULL);

	assert_true(it_http_is_success(&r, 200));
	assert_int_equal(it_json_int(it_data(&r), "id"), id);
	it_http_release(&r);
	it_expect_status(call_k("PATCH", "/users/me", NULL, profile.key, "{\"name\":\"Renamed\"}"),
			 200);
	/* read:posts only: neither reads nor writes the profile */
	it_expect_error(call_k("PATCH", "/users/me", NULL, posts.key, "{\"name\":\"Hijacked\"}"),
			403, "FORBIDDEN", NO_DETAILS);
	it_expect_error(call_k("GET", "/users/me", NULL, posts.key, NULL), 403, "FORBIDDEN",
			NO_DETAILS);
	it_expect_error(call_k("POST", "/users/me/password", NULL, posts.key,
			       "{\"currentPassword\":\"" PASSWORD "\","
			       "\"newPassword\":\"Other-pass-1\"}"),
			403, "FORBIDDEN", NO_DETAILS);
	snprintf(sql, sizeof(sql), "SELECT name FROM users.users WHERE id = %lld", (long long)id);
	{
		char *name = it_sql(G.db, sql);

		assert_string_equal(name, "Renamed");
		free(name);
	}
	free(token);
}

/* POST /api-keys named "k" with permissions perms (JSON) and more fields. */
static struct it_http_result ask(const char *token, const char *perms, const char *more)
{
	char body[512];

	snprintf(body, sizeof(body), "{\"name\":\"k\",\"permissions\":%s%s}", perms, more);
	return call("POST", "/api-keys", token, body);
}

static void key_requests_are_checked(void **state)
{
	char *token = user_token("keys.ask@example.com", NULL), body[256];

	/* more than the creator has */
	it_expect_error(ask(token, "[\"read:users\"]", ""), 403, "FORBIDDEN", IT_ANY_DETAILS);
	it_expect_error(ask(token, "[\"read:posts\",\"*\"]", ""), 403, "FORBIDDEN", IT_ANY_DETAILS);
	/* unknown or no permissions, bad name or lifetime, read-only fields */
	it_expect_error(ask(token, "[\"root:all\"]", ""), 422, "VALIDATION_ERROR", IT_ANY_DETAILS);
	it_expect_error(ask(token, "[]", ""), 422, "VALIDATION_ERROR", FIELDS("permissions"));
	it_expect_error(ask(token, "[\"read:posts\"]", ",\"expiresInDays\":366"), 422,
			"VALIDATION_ERROR", FIELDS("expiresInDays"));
	it_expect_error(ask(token, "[\"read:posts\"]", ",\"key\":\"ak_1_x\""), 422,
			"VALIDATION_ERROR", FIELDS("key"));
	it_expect_error(call("POST", "/api-keys", token, "{\"permissions\":[\"read:posts\"]}"), 422,
			"VALIDATION_ERROR", FIELDS("name"));
	snprintf(body, sizeof(body), "{\"name\":\"%0101d\",\"permissions\":[\"read:posts\"]}", 0);
	it_expect_error(call("POST", "/api-keys", token, body), 422, "VALIDATION_ERROR",
			FIELDS("name"));
	it_expect_error(ask(NULL, "[\"read:posts\"]", ""), 401, "UNAUTHORIZED", NO_DETAILS);
	assert_int_equal(it_sql_int(G.db, "SELECT count(*) FROM auth.api_keys WHERE name = 'k'"),
			 0);
	/* an admin may hand out "*" */
	create_key(G.admin_token, "[\"*\"]");
	free(token);
}

static void an_api_key_cannot_manage_keys_or_log_out(void **state)
{
	char *token = user_token("keys.self@example.com", NULL), path[64], rot[80];
	struct key k = create_key(token, "[\"read:own_profile\",\"read:posts\"]");

	snprintf(path, sizeof(path), "/api-keys/%lld", (long long)k.id);
	snprintf(rot, sizeof(rot), "%s/rotate", path);
	it_expect_error(call_k("POST", "/api-keys", NULL, k.key,
			       "{\"name\":\"child\",\"permissions\":[\"read:posts\"]}"),
			403, "FORBIDDEN", NO_DETAILS);
	it_expect_error(call_k("GET", "/api-keys", NULL, k.key, NULL), 403, "FORBIDDEN",
			NO_DETAILS);
	it_expect_error(call_k("POST", rot, NULL, k.key, NULL), 403, "FORBIDDEN", NO_DETAILS);
	it_expect_error(call_k("DELETE", path, NULL, k.key, NULL), 403, "FORBIDDEN", NO_DETAILS);
	it_expect_error(call_k("POST", "/auth/logout", NULL, k.key, NULL), 403, "FORBIDDEN",
			NO_DETAILS);
	/* none of it touched the key */
	it_expect_status(call_k("GET", "/users/me", NULL, k.key, NULL), 200);
	free(token);
}

static void lists_are_own_keys_or_all_for_an_admin(void **state)
{
	int64_t b_id;
	char *a = user_token("keys.list.a@example.com", NULL);
	char *b = user_token("keys.list.b@example.com", &b_id), path[96];
	struct key kb = create_key(b, "[\"read:posts\"]");
	struct it_http_result r;
	json_t *p;

	create_key(a, "[\"read:posts\"]");
	create_key(a, "[\"write:posts\"]");
	r = call("GET", "/api-keys?limit=1", a, NULL);
	assert_true(it_http_is_list(&r));
	p = json_object_get(r.json, "pagination");
	assert_int_equal(it_json_int(p, "total"), 2);
	assert_int_equal(it_json_int(p, "totalPages"), 2);
	assert_true(json_is_true(json_object_get(p, "hasNext")));
	it_http_release(&r);
	snprintf(path, sizeof(path), "/api-keys?userId=%lld&limit=100", (long long)b_id);
	r = call("GET", path, G.admin_token, NULL);
	assert_true(it_http_is_list(&r));
	assert_int_equal(it_json_int(json_object_get(r.json, "pagination"), "total"), 1);
	assert_int_equal(it_json_int(json_array_get(it_data(&r), 0), "id"), kb.id);
	it_http_release(&r);
	r = call("GET", "/api-keys?limit=100", G.admin_token, NULL);
	assert_true(it_http_is_list(&r));
	assert_true(it_json_int(json_object_get(r.json, "pagination"), "total") >= 3);
	it_http_release(&r);
	/* ?userId= is for admins only */
	it_expect_error(call("GET", path, a, NULL), 403, "FORBIDDEN", NO_DETAILS);

	/* another user's key does not exist for the caller; an admin sees it */
	snprintf(path, sizeof(path), "/api-keys/%lld", (long long)kb.id);
	it_expect_error(call("GET", path, a, NULL), 404, "NOT_FOUND", NO_DETAILS);
	it_expect_error(call("DELETE", path, a, NULL), 404, "NOT_FOUND", NO_DETAILS);
	snprintf(path, sizeof(path), "/api-keys/%lld/rotate", (long long)kb.id);
	it_expect_error(call("POST", path, a, NULL), 404, "NOT_FOUND", NO_DETAILS);
	snprintf(path, sizeof(path), "/api-keys/%lld", (long long)kb.id);
	it_expect_status(call("GET", path, G.admin_token, NULL), 200);
	it_expect_status(call_k("GET", "/users/me", NULL, kb.key, NULL), 403); /* read:posts only */
	free(a);
	free(b);
}

/* ---- revoke and rotate --------------------------------------------------------------------- */

static void a_revoked_key_stops_within_a_second(void **state)
{
	char *token = user_token("keys.revoke@example.com", NULL), path[64], rot[80];
	struct key k = create_key(token, "[\"read:own_profile\"]");
	struct it_http_result r;

	snprintf(path, sizeof(path), "/api-keys/%lld", (long long)k.id);
	snprintf(rot, sizeof(rot), "%s/rotate", path);
	it_expect_status(call_k("GET", "/users/me", NULL, k.key, NULL), 200);
	r = call("DELETE", path, token, NULL);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	it_http_release(&r);
	expect_key_refused(k.key, "TOKEN_REVOKED", CACHE_MS + 300);
	/* still listed, with revokedAt */
	r = call("GET", path, token, NULL);
	assert_true(it_http_is_success(&r, 200));
	assert_true(it_rfc3339_utc(json_string_value(json_object_get(it_data(&r), "revokedAt"))));
	it_http_release(&r);
	it_expect_error(call("POST", rot, token, NULL), 409, "CONFLICT", NO_DETAILS);
	free(token);
}

static void an_expired_key_is_401_token_expired(void **state)
{
	char *token = user_token("keys.expired@example.com", NULL), sql[128], rot[80];
	struct key k = create_key(token, "[\"read:own_profile\"]");

	snprintf(sql, sizeof(sql),
		 "UPDATE auth.api_keys SET expires_at = now() - interval "
		 "'1 second' WHERE id = %lld",
		 (long long)k.id);
	assert_true(it_sql_exec(G.db, sql));
	expect_key_refused(k.key, "TOKEN_EXPIRED", CACHE_MS + 300);
	snprintf(rot, sizeof(rot), "/api-keys/%lld/rotate", (long long)k.id);
	it_expect_error(call("POST", rot, token, NULL), 409, "CONFLICT", NO_DETAILS);
	free(token);
}

static void rotation_keeps_the_old_key_for_the_grace_only(void **state)
{
	char *token = user_token("keys.rotate@example.com", NULL), path[64], rot[80];
	struct key old = create_key(token, "[\"read:own_profile\",\"read:posts\"]"), neu;
	struct it_http_result r;
	int64_t rotated_at;

	snprintf(path, sizeof(path), "/api-keys/%lld", (long long)old.id);
	snprintf(rot, sizeof(rot), "%s/rotate", path);
	it_expect_status(call_k("GET", "/users/me", NULL, old.key, NULL), 200); /* cached now */
	rotated_at = now_unix_ms() / 1000;
	r = call("POST", rot, token, NULL);
	assert_string_equal(it_json_str(it_data(&r), "name"), "it key");
	assert_int_equal(json_array_size(json_object_get(it_data(&r), "permissions")), 2);
	neu = key_of(r);
	assert_int_not_equal(neu.id, old.id);
	assert_string_not_equal(neu.key, old.key);
	assert_true(llabs(neu.expires_at - old.expires_at) <= 2); /* the remaining lifetime */
	it_expect_status(call_k("GET", "/users/me", NULL, neu.key, NULL), 200);
	it_expect_status(call_k("GET", "/users/me", NULL, old.key, NULL), 200); /* in its grace */
	r = call("GET", path, token, NULL);
	assert_true(it_http_is_success(&r, 200));
	assert_true(llabs(it_unix_of(it_json_str(it_data(&r), "expiresAt")) - rotated_at -
			  GRACE_S) <= 2);
	it_http_release(&r);
	it_expect_error(call("POST", rot, token, NULL), 409, "CONFLICT", NO_DETAILS);
	/* grace, then at most the cache lifetime */
	expect_key_refused(old.key, "TOKEN_EXPIRED", GRACE_S * 1000 + CACHE_MS + 1500);
	it_expect_status(call_k("GET", "/users/me", NULL, neu.key, NULL), 200);
	free(token);
}

static void keys_of_disabled_or_deleted_owners_are_revoked(void **state)
{
	int64_t off_id, gone_id;
	char *off = user_token("keys.off@example.com", &off_id);
	char *gone = user_token("keys.gone@example.com", &gone_id), path[64];
	struct key koff = create_key(off, "[\"read:own_profile\"]");
	struct key kgone = create_key(gone, "[\"read:own_profile\"]");

	it_expect_status(call_k("GET", "/users/me", NULL, koff.key, NULL), 200);
	it_expect_status(call_k("GET", "/users/me", NULL, kgone.key, NULL), 200);
	snprintf(path, sizeof(path), "/users/%lld", (long long)off_id);
	it_expect_status(call("PATCH", path, G.admin_token, "{\"isActive\":false}"), 200);
	snprintf(path, sizeof(path), "/users/%lld", (long long)gone_id);
	it_expect_status(call("DELETE", path, G.admin_token, NULL), 204);
	expect_key_refused(koff.key, "TOKEN_REVOKED", CACHE_MS + 300);
	expect_key_refused(kgone.key, "TOKEN_REVOKED", CACHE_MS + 300);
	free(off);
	free(gone);
}

static void malformed_keys_and_keys_in_the_url_are_refused(void **state)
{
	static const char *const params[] = { "api_key", "apiKey", "access_token", "key", "q" };
	char *token = user_token("keys.url@example.com", NULL), path[512], wrong[256];
	struct key k = create_key(token, "[\"read:own_profile\"]");

	for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
		snprintf(path, sizeof(path), "/users/me?%s=%s", params[i], k.key);
		it_expect_error(call("GET", path, NULL, NULL), 400, "BAD_REQUEST", IT_ANY_DETAILS);
	}
	it_expect_error(call_k("GET", "/users/me", token, k.key, NULL), 400, "BAD_REQUEST",
			IT_ANY_DETAILS);
	/* unknown or malformed: 401 UNAUTHORIZED, and no harm to the real key */
	snprintf(wrong, sizeof(wrong), "%s_%s", k.prefix,
		 "WrongSecretWrongSecretWrongSecretWrongSecret0");
	it_expect_error(call_k("GET", "/users/me", NULL, wrong, NULL), 401, "UNAUTHORIZED",
			NO_DETAILS);
	it_expect_error(call_k("GET", "/users/me", NULL,
			       "ak_987654321_WrongSecretWrongSecretWrongSecretWrongSecret0", NULL),
			401, "UNAUTHORIZED", NO_DETAILS);
	it_expect_error(call_k("GET", "/users/me", NULL, "not-a-key", NULL), 401, "UNAUTHORIZED",
			NO_DETAILS);
	it_expect_status(call_k("GET", "/users/me", NULL, k.key, NULL), 200);
	free(token);
}

/* ---- logs ---------------------------------------------------------------------------------- */

static void no_log_line_contains_a_secret(void **state)
{

	assert_logs_free_of_secrets();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_new_key_is_shown_once_and_never_stored),
		cmocka_unit_test(a_key_acts_only_within_its_permissions),
		cmocka_unit_test(key_requests_are_checked),
		cmocka_unit_test(an_api_key_cannot_manage_keys_or_log_out),
		cmocka_unit_test(lists_are_own_keys_or_all_for_an_admin),
		cmocka_unit_test(a_revoked_key_stops_within_a_second),
		cmocka_unit_test(an_expired_key_is_401_token_expired),
		cmocka_unit_test(rotation_keeps_the_old_key_for_the_grace_only),
		cmocka_unit_test(keys_of_disabled_or_deleted_owners_are_revoked),
		cmocka_unit_test(malformed_keys_and_keys_in_the_url_are_refused),
		cmocka_unit_test(no_log_line_contains_a_secret),
	};

	return cmocka_run_group_tests(tests, auth_setup, auth_teardown);
}
