/* auth_rest_it.c - login, access tokens, refresh, logout and /auth/me
 * through the REST gateway, against the real stack (users and auth services,
 * PostgreSQL, Redis): API.md §1 "Authentication", §2 "Auth and API keys",
 * §6 "Credentials and their lifetime". API keys: auth_keys_rest_it.c; the same
 * attacks presented directly over gRPC: auth_grpc_it.c.
 * Forged tokens come from support/forge.h. */
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

#define PASSWORD "Gateway-Pa55word-xyz"

#define AUTH_IT_NAME "auth_rest_it"
#define GW_IT_ENV "AUTH_RATE_LIMIT_MAX=1000000"
#include "support/auth_fixture.h"

/* A JSON body from a jansson pack format (malloc'd). */
static char *jbody(const char *fmt, ...)
{
	va_list ap;
	json_t *j;
	char *s;

	va_start(ap, fmt);
	j = json_vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static int64_t sign_up(const char *email)
{
	char *body = jbody("{s:s, s:s, s:s}", "email", email, "password", PASSWORD, "name", "Auth");
	struct it_http_result r = call("POST", "/users", NULL, body);
	int64_t id;

	free(body);
	assert_true(it_http_is_success(&r, 201));
	id = it_json_int(it_data(&r), "id");
	it_http_release(&r);
	return id;
}

static struct it_http_result login(const char *email, const char *password)
{
	char *body = jbody("{s:s, s:s}", "email", email, "password", password);
	struct it_http_result r = call("POST", "/auth/login", NULL, body);

	free(body);
	return r;
}

static struct it_http_result refresh(const char *refresh_token)
{
	char *body = jbody("{s:s}", "refreshToken", refresh_token);
	struct it_http_result r = call("POST", "/auth/refresh", NULL, body);

	free(body);
	return r;
}

/* A token pair (login or refresh reply): both tokens, malloc'd. */
struct pair {
	char *access;
	char *refresh;
};

static struct pair pair_of(struct it_http_result r)
{
	struct pair p;

	if (!it_http_is_success(&r, 200))
		it_http_dump(&r, "expected a token pair");
	assert_true(it_http_is_success(&r, 200));
	p.access = xstrdup(remember(it_json_str(it_data(&r), "accessToken")));
	p.refresh = xstrdup(remember(it_json_str(it_data(&r), "refreshToken")));
	it_http_release(&r);
	return p;
}

static void pair_free(struct pair *p)
{
	free(p->access);
	free(p->refresh);
}

/* ---- refusals as tables ---------------------------------------------------------- */

/* Which of a session's credentials a row presents; the test maps each to the
 * string it holds at that moment (MINTED: one the test signed itself). */
enum cred { ACCESS, REFRESH, MINTED };

static const char *const cred_name[] = {
	[ACCESS] = "access token",
	[REFRESH] = "refresh token",
	[MINTED] = "minted token",
};

/* One request whose credential must be refused, and the exact error. POST
 * /auth/refresh takes its credential in the body, as the refresh token; every
 * other request as the bearer token. */
struct refusal {
	enum cred cred;
	const char *method;
	const char *path;
	long status;
	const char *code;
};

/* Sends every row in order with the credentials cred[] holds; names the table
 * and the first row that is not refused as written (it_expect_error alone would
 * point at its own line, the same for every row). */
static void expect_refusals(const char *table, const struct refusal *rows, size_t n,
			    const char *const *cred)
{
	for (size_t i = 0; i < n; i++) {
		const struct refusal *w = &rows[i];
		const char *c = cred[w->cred];
		struct it_http_result r = strcmp(w->path, "/auth/refresh") == 0
						  ? refresh(c)
						  : call(w->method, w->path, c, NULL);
		bool ok = it_http_is_error(&r, w->status, w->code, NO_DETAILS);

		if (!ok)
			fprintf(stderr, "%s row %zu: %s %s with the %s -> %ld, want %ld %s\n",
				table, i, w->method, w->path, cred_name[w->cred], r.status,
				w->status, w->code);
		it_http_release(&r);
		assert_true(ok);
	}
}

/* expect_refusals(rows) with the table's own name for the failure message. */
#define EXPECT_REFUSALS(rows, ...) expect_refusals(#rows, rows, ARRAY_SIZE(rows), __VA_ARGS__)

/* ---- login ------------------------------------------------------------------------- */

static void login_returns_the_token_pair_exactly(void **state)
{
	static const char *const keys[] = { "accessToken",  "tokenType", "expiresIn",
					    "refreshToken", "user",      NULL };
	int64_t id = sign_up("login.ok@example.com");
	struct it_http_result r = login("Login.OK@Example.COM", PASSWORD);
	json_t *d, *c;
	char sub[32];

	if (!it_http_is_success(&r, 200))
		it_http_dump(&r, "login");
	assert_true(it_http_is_success(&r, 200));
	d = it_data(&r);
	assert_true(it_json_keys_are(d, keys));
	assert_string_equal(it_json_str(d, "tokenType"), "Bearer");
	assert_true(it_json_is_user(json_object_get(d, "user")));
	assert_int_equal(it_json_int(json_object_get(d, "user"), "id"), id);
	assert_true(strlen(remember(it_json_str(d, "refreshToken"))) >= 32);
	c = it_jwt_claims(remember(it_json_str(d, "accessToken")));
	snprintf(sub, sizeof(sub), "user_%lld", (long long)id);
	assert_string_equal(it_json_str(c, "sub"), sub);
	assert_string_equal(it_json_str(c, "iss"), IT_JWT_ISSUER);
	assert_string_equal(it_json_str(c, "email"), "login.ok@example.com");
	assert_string_equal(it_json_str(c, "role"), "user");
	assert_true(strlen(it_json_str(c, "jti")) > 0);
	assert_true(json_is_array(json_object_get(c, "permissions")));
	/* expiresIn is exp - iat, in seconds */
	assert_int_equal(it_json_int(d, "expiresIn"),
			 it_json_int(c, "exp") - it_json_int(c, "iat"));
	assert_true(it_json_int(d, "expiresIn") > 0);
	assert_null(strstr(r.body, "assword"));
	json_decref(c);
	/* the token is accepted by the users service behind the gateway */
	it_expect_status(call("GET", "/users/me", it_json_str(d, "accessToken"), NULL), 200);
	it_http_release(&r);
}

static void login_failures_do_not_say_which_part_was_wrong(void **state)
{
	struct it_http_result unknown, wrong;

	sign_up("login.fail@example.com");
	unknown = login("nobody.here@example.com", PASSWORD);
	wrong = login("login.fail@example.com", "not-the-Pa55word");
	assert_true(it_http_is_error(&unknown, 401, "INVALID_CREDENTIALS", NO_DETAILS));
	assert_true(it_http_is_error(&wrong, 401, "INVALID_CREDENTIALS", NO_DETAILS));
	assert_string_equal(it_json_str(json_object_get(unknown.json, "error"), "message"),
			    it_json_str(json_object_get(wrong.json, "error"), "message"));
	it_http_release(&unknown);
	it_http_release(&wrong);
	/* an empty body where one is required */
	it_expect_error(call("POST", "/auth/login", NULL, ""), 400, "INVALID_JSON", NO_DETAILS);
	/* a bad credential sent to the open login is still a 401 */
	it_expect_error(call("POST", "/auth/login", "not.a.jwt",
			     "{\"email\":\"login.fail@example.com\",\"password\":\"" PASSWORD
			     "\"}"),
			401, "UNAUTHORIZED", NO_DETAILS);
}

static void login_of_disabled_and_deleted_users_is_refused(void **state)
{
	int64_t off = sign_up("login.off@example.com"), gone = sign_up("login.gone@example.com");
	char path[64];
	struct pair p;

	snprintf(path, sizeof(path), "/users/%lld", (long long)off);
	it_expect_status(call("PATCH", path, G.admin_token, "{\"isActive\":false}"), 200);
	it_expect_error(login("login.off@example.com", PASSWORD), 403, "ACCOUNT_DISABLED",
			NO_DETAILS);

	p = pair_of(login("login.gone@example.com", PASSWORD));
	it_expect_status(call("DELETE", "/users/me", p.access, NULL), 204);
	it_expect_error(login("login.gone@example.com", PASSWORD), 401, "INVALID_CREDENTIALS",
			NO_DETAILS);
	snprintf(path, sizeof(path), "/users/%lld", (long long)gone);
	it_expect_error(call("GET", path, G.admin_token, NULL), 404, "NOT_FOUND", NO_DETAILS);
	pair_free(&p);
}

/* ---- forged tokens -------------------------------------------------------------------- */

static void forged_tokens_are_401_at_the_gateway(void **state)
{
	static const char *const paths[] = { "/auth/me", "/users/me" };
	int64_t id = sign_up("forged@example.com");
	char *good = it_forge(IT_HS256_HEADER, it_claims(id, "forged@example.com", "user"),
			      IT_JWT_SECRET);
	struct it_attack a[IT_ATTACKS];

	/* the forging is right: the same claims, properly signed, are accepted */
	it_expect_status(call("GET", "/auth/me", good, NULL), 200);
	it_expect_status(call("GET", "/users/me", good, NULL), 200);
	it_attacks_make(id, "forged@example.com", a);
	for (size_t i = 0; i < IT_ATTACKS; i++) {
		const char *code = err_name(a[i].code);

		for (size_t k = 0; k < ARRAY_SIZE(paths); k++) {
			struct it_http_result r = call("GET", paths[k], a[i].token, NULL);
			const char *www = it_http_header(&r, "WWW-Authenticate");
			bool ok = it_http_is_error(&r, 401, code, NO_DETAILS);

			if (!ok)
				it_http_dump(&r, a[i].name);
			fprintf(stderr, "%s on GET %s: %s\n", a[i].name, paths[k],
				ok ? "ok" : "FAIL");
			assert_true(ok);
			assert_true(www && strncmp(www, "Bearer", 6) == 0);
			it_http_release(&r);
		}
		/* present but invalid on an open endpoint: still 401 */
		it_expect_error(call("POST", "/auth/refresh", a[i].token,
				     "{\"refreshToken\":\"x\"}"),
				401, code, NO_DETAILS);
	}
	it_attacks_free(a);
	free(good);
}

/* ---- refresh and logout ------------------------------------------------------------------ */

static void refresh_rotates_and_reuse_revokes_the_family(void **state)
{
	struct pair p1, p2, p3;
	struct it_http_result r;

	sign_up("refresh@example.com");
	p1 = pair_of(login("refresh@example.com", PASSWORD));
	r = refresh(p1.refresh);
	assert_true(it_http_is_success(&r, 200));
	assert_string_equal(it_json_str(it_data(&r), "tokenType"), "Bearer");
	assert_true(it_json_int(it_data(&r), "expiresIn") > 0);
	p2 = pair_of(r);
	assert_string_not_equal(p2.refresh, p1.refresh);
	assert_string_not_equal(p2.access, p1.access);
	it_expect_status(call("GET", "/auth/me", p2.access, NULL), 200);
	p3 = pair_of(refresh(p2.refresh));
	/* p1's refresh token is spent: re-use revokes the whole family */
	it_expect_error(refresh(p1.refresh), 401, "TOKEN_REVOKED", NO_DETAILS);
	it_expect_error(refresh(p3.refresh), 401, "TOKEN_REVOKED", NO_DETAILS);
	it_expect_error(refresh(p2.refresh), 401, "TOKEN_REVOKED", NO_DETAILS);
	/* another login is another family */
	pair_free(&p1);
	p1 = pair_of(login("refresh@example.com", PASSWORD));
	pair_free(&p2);
	p2 = pair_of(refresh(p1.refresh));
	pair_free(&p1);
	pair_free(&p2);
	pair_free(&p3);
}

static void refresh_with_unknown_tokens_is_401(void **state)
{
	struct pair p, next;
	char *altered, sql[256];

	it_expect_error(refresh("not-a-refresh-token"), 401, "UNAUTHORIZED", NO_DETAILS);
	it_expect_error(refresh("rt_0123456789abcdefghijklmnopqrstuvwxyzABCDEF"), 401,
			"UNAUTHORIZED", NO_DETAILS);
	sign_up("refresh.unknown@example.com");
	p = pair_of(login("refresh.unknown@example.com", PASSWORD));
	altered = xstrdup(p.refresh);
	altered[strlen(altered) - 2] = altered[strlen(altered) - 2] == 'A' ? 'B' : 'A';
	it_expect_error(refresh(altered), 401, "UNAUTHORIZED", NO_DETAILS);
	/* an access token is not a refresh token */
	it_expect_error(refresh(p.access), 401, "UNAUTHORIZED", NO_DETAILS);
	/* failed attempts did not spend or revoke the real one */
	next = pair_of(refresh(p.refresh));
	pair_free(&next);
	pair_free(&p);
	free(altered);
	it_expect_error(call("POST", "/auth/refresh", NULL, ""), 400, "INVALID_JSON", NO_DETAILS);
	/* an expired one (its expiry moved into the past in the database) */
	p = pair_of(login("refresh.unknown@example.com", PASSWORD));
	snprintf(sql, sizeof(sql),
		 "UPDATE auth.refresh_tokens SET expires_at = now() - interval "
		 "'1 minute' WHERE token_hash = encode(sha256('%s'::bytea), 'hex')",
		 p.refresh);
	assert_true(it_sql_exec(G.db, sql));
	it_expect_error(refresh(p.refresh), 401, "TOKEN_EXPIRED", NO_DETAILS);
	pair_free(&p);
}

static void logout_refuses_the_jti_and_revokes_the_family(void **state)
{
	/* the logged-out token everywhere, and its refresh family */
	static const struct refusal after_logout[] = {
		{ ACCESS, "GET", "/auth/me", 401, "TOKEN_REVOKED" },
		{ ACCESS, "GET", "/users/me", 401, "TOKEN_REVOKED" },
		{ ACCESS, "POST", "/auth/logout", 401, "TOKEN_REVOKED" },
		{ REFRESH, "POST", "/auth/refresh", 401, "TOKEN_REVOKED" },
	};
	struct pair p, other;
	struct it_http_result r;

	sign_up("logout@example.com");
	p = pair_of(login("logout@example.com", PASSWORD));
	other = pair_of(login("logout@example.com", PASSWORD));
	it_expect_error(call("POST", "/auth/logout", NULL, NULL), 401, "UNAUTHORIZED", NO_DETAILS);
	r = call("POST", "/auth/logout", p.access, NULL);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	it_http_release(&r);
	EXPECT_REFUSALS(after_logout,
			(const char *const[]){ [ACCESS] = p.access, [REFRESH] = p.refresh });
	/* the user's other session is untouched */
	it_expect_status(call("GET", "/users/me", other.access, NULL), 200);
	pair_free(&p);
	p = pair_of(refresh(other.refresh));
	pair_free(&p);
	pair_free(&other);
}

/* ---- /auth/me ------------------------------------------------------------------------------ */

static void auth_me_describes_jwt_and_api_key_callers(void **state)
{
	static const char *const keys[] = { "userId",     "email",     "role", "permissions",
					    "authMethod", "expiresAt", NULL };
	int64_t id = sign_up("me@example.com");
	struct pair p = pair_of(login("me@example.com", PASSWORD));
	struct it_http_result r = call("GET", "/auth/me", p.access, NULL);
	char key_header[512];
	json_t *c = it_jwt_claims(p.access), *d;
	int64_t key_expires;

	assert_true(it_http_is_success(&r, 200));
	d = it_data(&r);
	assert_true(it_json_keys_are(d, keys));
	assert_int_equal(it_json_int(d, "userId"), id);
	assert_string_equal(it_json_str(d, "email"), "me@example.com");
	assert_string_equal(it_json_str(d, "role"), "user");
	assert_string_equal(it_json_str(d, "authMethod"), "jwt");
	assert_int_equal(json_array_size(json_object_get(d, "permissions")), 5);
	assert_int_equal(it_unix_of(it_json_str(d, "expiresAt")), it_json_int(c, "exp"));
	json_decref(c);
	it_http_release(&r);
	it_expect_error(call("GET", "/auth/me", NULL, NULL), 401, "UNAUTHORIZED", NO_DETAILS);

	r = call("POST", "/api-keys", p.access,
		 "{\"name\":\"me-key\",\"permissions\":[\"read:posts\"],\"expiresInDays\":7}");
	assert_true(it_http_is_success(&r, 201));
	snprintf(key_header, sizeof(key_header), "X-API-Key: %s",
		 remember(it_json_str(it_data(&r), "key")));
	key_expires = it_unix_of(it_json_str(it_data(&r), "expiresAt"));
	it_http_release(&r);
	r = call_h("GET", "/auth/me", NULL, HEADERS(key_header), NULL);
	assert_true(it_http_is_success(&r, 200));
	d = it_data(&r);
	assert_true(it_json_keys_are(d, keys));
	assert_int_equal(it_json_int(d, "userId"), id);
	assert_string_equal(it_json_str(d, "authMethod"), "api_key");
	assert_int_equal(json_array_size(json_object_get(d, "permissions")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "permissions"), 0)),
			    "read:posts");
	assert_int_equal(it_unix_of(it_json_str(d, "expiresAt")), key_expires);
	assert_null(strstr(r.body, key_header + strlen("X-API-Key: ")));
	it_http_release(&r);
	pair_free(&p);
}

/* ---- revocation: the per-user not-before of §6 --------------------------------------------- */

static void tokens_issued_before_not_before_are_revoked(void **state)
{
	/* after each change, what was issued before it and must now be refused */
	static const struct refusal after_password[] = {
		{ ACCESS, "GET", "/users/me", 401, "TOKEN_REVOKED" },
		{ ACCESS, "GET", "/auth/me", 401, "TOKEN_REVOKED" },
		{ MINTED, "GET", "/users/me", 401, "TOKEN_REVOKED" },
		{ REFRESH, "POST", "/auth/refresh", 401, "TOKEN_REVOKED" },
	};
	static const struct refusal after_role[] = {
		{ ACCESS, "GET", "/users/me", 401, "TOKEN_REVOKED" },
	};
	static const struct refusal after_disabling[] = {
		{ ACCESS, "GET", "/users/me", 401, "TOKEN_REVOKED" },
		{ REFRESH, "POST", "/auth/refresh", 401, "TOKEN_REVOKED" },
	};
	int64_t id = sign_up("nbf@example.com");
	struct pair p = pair_of(login("nbf@example.com", PASSWORD)), fresh;
	char *minted = it_token(id, "nbf@example.com", "user"), path[64];

	remember("New-Pa55word-nbf");
	it_expect_status(call("GET", "/users/me", p.access, NULL), 200);
	it_next_second();
	/* a password change: every earlier token and refresh family dies */
	it_expect_status(call("POST", "/users/me/password", p.access,
			      "{\"currentPassword\":\"" PASSWORD "\","
			      "\"newPassword\":\"New-Pa55word-nbf\"}"),
			 204);
	EXPECT_REFUSALS(after_password,
			(const char *const[]){
				[ACCESS] = p.access, [REFRESH] = p.refresh, [MINTED] = minted });
	it_expect_error(login("nbf@example.com", PASSWORD), 401, "INVALID_CREDENTIALS", NO_DETAILS);
	fresh = pair_of(login("nbf@example.com", "New-Pa55word-nbf"));
	it_expect_status(call("GET", "/users/me", fresh.access, NULL), 200);

	/* a role change by an admin */
	it_next_second();
	snprintf(path, sizeof(path), "/users/%lld", (long long)id);
	it_expect_status(call("PATCH", path, G.admin_token, "{\"role\":\"moderator\"}"), 200);
	EXPECT_REFUSALS(after_role, (const char *const[]){
					    [ACCESS] = fresh.access, [REFRESH] = fresh.refresh });
	pair_free(&fresh);
	fresh = pair_of(login("nbf@example.com", "New-Pa55word-nbf"));

	/* disabling */
	it_next_second();
	it_expect_status(call("PATCH", path, G.admin_token, "{\"isActive\":false}"), 200);
	EXPECT_REFUSALS(after_disabling,
			(const char *const[]){
				[ACCESS] = fresh.access, [REFRESH] = fresh.refresh });
	pair_free(&p);
	pair_free(&fresh);
	free(minted);
}

/* ---- logs ------------------------------------------------------------------------------------ */

static void no_log_line_contains_a_secret(void **state)
{
	static const char *const query_key = "ak_999_querysecretquerysecretquerysecret";
	char path[128];

	/* a key in the query string is refused, and never logged either */
	snprintf(path, sizeof(path), "/users/me?api_key=%s", query_key);
	it_expect_error(call("GET", path, NULL, NULL), 400, "BAD_REQUEST", NO_DETAILS);
	snprintf(path, sizeof(path), "/users/me?q=%s", query_key);
	it_expect_error(call("GET", path, NULL, NULL), 400, "BAD_REQUEST", NO_DETAILS);
	remember(query_key);
	assert_logs_free_of_secrets();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(login_returns_the_token_pair_exactly),
		cmocka_unit_test(login_failures_do_not_say_which_part_was_wrong),
		cmocka_unit_test(login_of_disabled_and_deleted_users_is_refused),
		cmocka_unit_test(forged_tokens_are_401_at_the_gateway),
		cmocka_unit_test(refresh_rotates_and_reuse_revokes_the_family),
		cmocka_unit_test(refresh_with_unknown_tokens_is_401),
		cmocka_unit_test(logout_refuses_the_jti_and_revokes_the_family),
		cmocka_unit_test(auth_me_describes_jwt_and_api_key_callers),
		cmocka_unit_test(tokens_issued_before_not_before_are_revoked),
		cmocka_unit_test(no_log_line_contains_a_secret),
	};

	return cmocka_run_group_tests(tests, auth_setup, auth_teardown);
}
