/* auth_grpc_it.c - the credentials of API.md §1 presented DIRECTLY to the
 * services over gRPC, bypassing the gateway: "a caller inside the network gets
 * nothing it could not get through the gateway" (§3). Forged, expired and
 * revoked tokens are UNAUTHENTICATED with the documented ErrorInfo reason at
 * the users service and at the auth service; Login, Refresh, Logout,
 * ValidateToken, ValidateApiKey and the key RPCs work over gRPC; an API key
 * in x-api-key metadata acts on UsersService within its permissions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agentos/auth/v1/auth.pb-c.h"
#include "agentos/users/v1/users.pb-c.h"
#include "forge.h"
#include "google/protobuf/empty.pb-c.h"
#include "it.h"
#include "support/http.h"
#include "util.h"

#define PASSWORD "Grpc-Pa55word-xyz"
#define CACHE_MS 1000

static struct rpc_channel *Users_ch, *Auth_ch;
#define AUTH_IT_NAME "auth_grpc_it"
#include "support/auth_fixture.h"

/* ---- the stack (support/auth_fixture.h) and this binary's channels ---------------- */

static int setup(void **state)
{
	if (auth_setup(state) != 0)
		return -1;
	Users_ch = rpc_channel_new(G.users_target);
	Auth_ch = rpc_channel_new(G.auth_target);
	return 0;
}

static int teardown(void **state)
{
	rpc_channel_free(Users_ch);
	rpc_channel_free(Auth_ch);
	return auth_teardown(state);
}

/* ---- calls ----------------------------------------------------------------------------- */

/* Asserts that r failed with status and ErrorInfo reason code, releases it. */
static void expect_refused(struct it_result r, grpc_status_code status, enum err_code code,
			   const char *what)
{
	bool ok = r.status == status && r.err.code == code && !r.reply;

	if (!ok)
		fprintf(stderr, "%s: expected status %d %s, got %d %s (%s)\n", what, status,
			err_name(code), r.status, err_name(r.err.code), r.err.message);
	it_result_release(&r);
	assert_true(ok);
}

static void expect_ok(struct it_result *r, const char *what)
{
	if (r->status != GRPC_STATUS_OK)
		fprintf(stderr, "%s: expected OK, got %d %s (%s)\n", what, r->status,
			err_name(r->err.code), r->err.message);
	assert_int_equal(r->status, GRPC_STATUS_OK);
	assert_non_null(r->reply);
}

static struct it_result get_me(const char *token, const char *key)
{
	Agentos__Users__V1__GetUserRequest req = AGENTOS__USERS__V1__GET_USER_REQUEST__INIT;

	return it_call(Users_ch, USERS("GetUser"), &req.base, &agentos__users__v1__user__descriptor,
		       token, key);
}

/* ValidateToken{token} with the metadata credentials token_md / key. */
static struct it_result validate(const char *token, const char *token_md, const char *key)
{
	Agentos__Auth__V1__ValidateTokenRequest
		req = AGENTOS__AUTH__V1__VALIDATE_TOKEN_REQUEST__INIT;

	req.token = (char *)(token ? token : "");
	return it_call(Auth_ch, AUTH("ValidateToken"), &req.base,
		       &agentos__auth__v1__principal__descriptor, token_md, key);
}

static struct it_result validate_key(const char *key)
{
	Agentos__Auth__V1__ValidateApiKeyRequest
		req = AGENTOS__AUTH__V1__VALIDATE_API_KEY_REQUEST__INIT;

	req.key = (char *)key;
	return it_call(Auth_ch, AUTH("ValidateApiKey"), &req.base,
		       &agentos__auth__v1__principal__descriptor, NULL, NULL);
}

static struct it_result login(const char *email, const char *password, const char *token)
{
	Agentos__Auth__V1__LoginRequest req = AGENTOS__AUTH__V1__LOGIN_REQUEST__INIT;

	req.email = (char *)email;
	req.password = (char *)password;
	return it_call(Auth_ch, AUTH("Login"), &req.base,
		       &agentos__auth__v1__token_pair__descriptor, token, NULL);
}

static struct it_result refresh(const char *refresh_token)
{
	Agentos__Auth__V1__RefreshRequest req = AGENTOS__AUTH__V1__REFRESH_REQUEST__INIT;

	req.refresh_token = (char *)refresh_token;
	return it_call(Auth_ch, AUTH("Refresh"), &req.base,
		       &agentos__auth__v1__token_pair__descriptor, NULL, NULL);
}

/* Both tokens of a successful Login/Refresh (malloc'd), r released. */
struct pair {
	char *access;
	char *refresh;
};

static struct pair pair_of(struct it_result r, const char *what)
{
	const Agentos__Auth__V1__TokenPair *tp;
	struct pair p;

	expect_ok(&r, what);
	tp = (const void *)r.reply;
	assert_string_equal(tp->token_type, "Bearer");
	assert_true(tp->expires_in > 0);
	p.access = xstrdup(remember(tp->access_token));
	p.refresh = xstrdup(remember(tp->refresh_token));
	it_result_release(&r);
	return p;
}

static void pair_free(struct pair *p)
{
	free(p->access);
	free(p->refresh);
}

/* Signs up over gRPC and returns the new id. */
static int64_t sign_up(const char *email)
{
	Agentos__Users__V1__CreateUserRequest req = AGENTOS__USERS__V1__CREATE_USER_REQUEST__INIT;
	struct it_result r;
	int64_t id;

	req.email = (char *)email;
	req.password = PASSWORD;
	req.name = "Grpc User";
	r = it_call(Users_ch, USERS("CreateUser"), &req.base, &agentos__users__v1__user__descriptor,
		    NULL, NULL);
	expect_ok(&r, "CreateUser");
	id = ((Agentos__Users__V1__User *)r.reply)->id;
	it_result_release(&r);
	return id;
}

/* Admin changes through the gateway: only the set-up of a test. */
static void admin_rest(const char *method, int64_t id, const char *body, long status)
{
	char path[64];
	struct it_http_result r;

	snprintf(path, sizeof(path), "/users/%lld", (long long)id);
	r = it_gateway_call(&G, method, path, G.admin_token, NULL, body);
	if (r.status != status)
		it_http_dump(&r, "admin set-up");
	assert_int_equal(r.status, status);
	it_http_release(&r);
}

/* ---- forged tokens, directly ---------------------------------------------------------- */

static void forged_tokens_are_refused_by_the_users_service(void **state)
{
	int64_t id = sign_up("grpc.forged.users@example.com");
	char *good = it_forge(IT_HS256_HEADER,
			      it_claims(id, "grpc.forged.users@example.com", "user"),
			      IT_JWT_SECRET);
	struct it_attack a[IT_ATTACKS];
	struct it_result r = get_me(good, NULL);

	expect_ok(&r, "GetUser with a well-forged token"); /* the forging is right */
	it_result_release(&r);
	it_attacks_make(id, "grpc.forged.users@example.com", a);
	for (size_t i = 0; i < IT_ATTACKS; i++) {
		Agentos__Users__V1__CreateUserRequest
			c = AGENTOS__USERS__V1__CREATE_USER_REQUEST__INIT;

		fprintf(stderr, "UsersService: %s\n", a[i].name);
		expect_refused(get_me(a[i].token, NULL), GRPC_STATUS_UNAUTHENTICATED, a[i].code,
			       a[i].name);
		/* present but invalid on the open sign-up: still refused, nothing made */
		c.email = "grpc.forged.signup@example.com";
		c.password = PASSWORD;
		c.name = "Forged";
		expect_refused(it_call(Users_ch, USERS("CreateUser"), &c.base,
				       &agentos__users__v1__user__descriptor, a[i].token, NULL),
			       GRPC_STATUS_UNAUTHENTICATED, a[i].code, a[i].name);
	}
	assert_int_equal(it_sql_int(G.db, "SELECT count(*) FROM users.users WHERE email = "
					  "'grpc.forged.signup@example.com'"),
			 0);
	it_attacks_free(a);
	free(good);
}

static void forged_tokens_are_refused_by_the_auth_service(void **state)
{
	int64_t id = sign_up("grpc.forged.auth@example.com");
	struct it_attack a[IT_ATTACKS];

	it_attacks_make(id, "grpc.forged.auth@example.com", a);
	for (size_t i = 0; i < IT_ATTACKS; i++) {
		Agentos__Auth__V1__ListApiKeysRequest
			list = AGENTOS__AUTH__V1__LIST_API_KEYS_REQUEST__INIT;

		fprintf(stderr, "AuthService: %s\n", a[i].name);
		/* as the caller's credential (REST /auth/me) */
		expect_refused(validate(NULL, a[i].token, NULL), GRPC_STATUS_UNAUTHENTICATED,
			       a[i].code, a[i].name);
		/* as the token to validate, by an anonymous caller */
		expect_refused(validate(a[i].token, NULL, NULL), GRPC_STATUS_UNAUTHENTICATED,
			       a[i].code, a[i].name);
		expect_refused(it_call(Auth_ch, AUTH("ListApiKeys"), &list.base,
				       &agentos__auth__v1__list_api_keys_response__descriptor,
				       a[i].token, NULL),
			       GRPC_STATUS_UNAUTHENTICATED, a[i].code, a[i].name);
		/* present but invalid on the open Login */
		expect_refused(login("grpc.forged.auth@example.com", PASSWORD, a[i].token),
			       GRPC_STATUS_UNAUTHENTICATED, a[i].code, a[i].name);
	}
	expect_refused(validate(NULL, NULL, NULL), GRPC_STATUS_UNAUTHENTICATED, ERR_UNAUTHORIZED,
		       "ValidateToken without any credential");
	it_attacks_free(a);
}

static void revoked_tokens_are_refused_by_every_service(void **state)
{
	int64_t id = sign_up("grpc.revoked@example.com");
	struct pair p = pair_of(login("grpc.revoked@example.com", PASSWORD, NULL), "Login");
	struct pair q = pair_of(login("grpc.revoked@example.com", PASSWORD, NULL), "Login");
	Agentos__Auth__V1__LogoutRequest out = AGENTOS__AUTH__V1__LOGOUT_REQUEST__INIT;
	Agentos__Users__V1__ChangePasswordRequest
		cp = AGENTOS__USERS__V1__CHANGE_PASSWORD_REQUEST__INIT;
	struct it_result r = it_call(Auth_ch, AUTH("Logout"), &out.base,
				     &google__protobuf__empty__descriptor, p.access, NULL);

	expect_ok(&r, "Logout");
	it_result_release(&r);
	/* the auth service refuses it at once; the users service once the
	 * change is pushed to it (a few ms; the bound is 1 s) */
	for (int64_t start = mono_ms(); mono_ms() - start < 1000; sleep_ms(5)) {
		r = get_me(p.access, NULL);
		bool refused = r.err.code == ERR_TOKEN_REVOKED;

		it_result_release(&r);
		if (refused)
			break;
	}
	expect_refused(get_me(p.access, NULL), GRPC_STATUS_UNAUTHENTICATED, ERR_TOKEN_REVOKED,
		       "GetUser after logout");
	expect_refused(validate(NULL, p.access, NULL), GRPC_STATUS_UNAUTHENTICATED,
		       ERR_TOKEN_REVOKED, "ValidateToken (metadata) after logout");
	expect_refused(validate(p.access, NULL, NULL), GRPC_STATUS_UNAUTHENTICATED,
		       ERR_TOKEN_REVOKED, "ValidateToken (request) after logout");
	expect_refused(refresh(p.refresh), GRPC_STATUS_UNAUTHENTICATED, ERR_TOKEN_REVOKED,
		       "Refresh of a logged-out family");

	/* the user's not-before: a password change kills q, changed over gRPC */
	r = get_me(q.access, NULL);
	expect_ok(&r, "GetUser before the password change");
	it_result_release(&r);
	it_next_second();
	cp.id = id;
	cp.current_password = PASSWORD;
	cp.new_password = "Grpc-New-Pa55word";
	remember(cp.new_password);
	r = it_call(Users_ch, USERS("ChangePassword"), &cp.base,
		    &google__protobuf__empty__descriptor, q.access, NULL);
	expect_ok(&r, "ChangePassword");
	it_result_release(&r);
	expect_refused(get_me(q.access, NULL), GRPC_STATUS_UNAUTHENTICATED, ERR_TOKEN_REVOKED,
		       "GetUser with a token older than the password change");
	expect_refused(validate(NULL, q.access, NULL), GRPC_STATUS_UNAUTHENTICATED,
		       ERR_TOKEN_REVOKED, "ValidateToken with a token older than not-before");
	expect_refused(refresh(q.refresh), GRPC_STATUS_UNAUTHENTICATED, ERR_TOKEN_REVOKED,
		       "Refresh after the password change");
	pair_free(&p);
	pair_free(&q);
}

/* ---- login and refresh over gRPC ----------------------------------------------------- */

static void login_over_grpc(void **state)
{
	int64_t id = sign_up("grpc.login@example.com"), off = sign_up("grpc.login.off@example.com");
	int64_t gone = sign_up("grpc.login.gone@example.com");
	struct it_result r = login("GRPC.Login@example.com", PASSWORD, NULL), unknown, wrong;
	const Agentos__Auth__V1__TokenPair *tp;
	const Agentos__Auth__V1__Principal *pr;
	json_t *c;

	expect_ok(&r, "Login");
	tp = (const void *)r.reply;
	remember(tp->access_token);
	remember(tp->refresh_token);
	assert_string_equal(tp->token_type, "Bearer");
	assert_non_null(tp->user);
	assert_int_equal(tp->user->id, id);
	assert_string_equal(tp->user->email, "grpc.login@example.com");
	c = it_jwt_claims(tp->access_token);
	assert_non_null(c);
	assert_int_equal(tp->expires_in, json_integer_value(json_object_get(c, "exp")) -
						 json_integer_value(json_object_get(c, "iat")));
	json_decref(c);
	{
		struct it_result v = validate(tp->access_token, NULL, NULL);

		expect_ok(&v, "ValidateToken of a fresh token");
		pr = (const void *)v.reply;
		assert_int_equal(pr->user_id, id);
		assert_string_equal(pr->auth_method, "jwt");
		assert_string_equal(pr->role, "user");
		assert_non_null(pr->expires_at);
		it_result_release(&v);
	}
	it_result_release(&r);

	unknown = login("grpc.nobody@example.com", PASSWORD, NULL);
	wrong = login("grpc.login@example.com", "Wrong-Pa55word", NULL);
	assert_int_equal(unknown.err.code, ERR_INVALID_CREDENTIALS);
	assert_int_equal(unknown.status, GRPC_STATUS_UNAUTHENTICATED);
	assert_string_equal(unknown.err.message, wrong.err.message);
	expect_refused(wrong, GRPC_STATUS_UNAUTHENTICATED, ERR_INVALID_CREDENTIALS,
		       "wrong password");
	it_result_release(&unknown);
	admin_rest("PATCH", off, "{\"isActive\":false}", 200);
	expect_refused(login("grpc.login.off@example.com", PASSWORD, NULL),
		       GRPC_STATUS_PERMISSION_DENIED, ERR_ACCOUNT_DISABLED, "disabled login");
	admin_rest("DELETE", gone, NULL, 204);
	expect_refused(login("grpc.login.gone@example.com", PASSWORD, NULL),
		       GRPC_STATUS_UNAUTHENTICATED, ERR_INVALID_CREDENTIALS, "deleted login");
}

static void refresh_over_grpc(void **state)
{
	struct pair p1, p2, p3;
	char sql[256];

	sign_up("grpc.refresh@example.com");
	p1 = pair_of(login("grpc.refresh@example.com", PASSWORD, NULL), "Login");
	p2 = pair_of(refresh(p1.refresh), "Refresh");
	assert_string_not_equal(p1.refresh, p2.refresh);
	p3 = pair_of(refresh(p2.refresh), "Refresh again");
	expect_refused(refresh(p1.refresh), GRPC_STATUS_UNAUTHENTICATED, ERR_TOKEN_REVOKED,
		       "re-use of a spent refresh token");
	expect_refused(refresh(p3.refresh), GRPC_STATUS_UNAUTHENTICATED, ERR_TOKEN_REVOKED,
		       "newest refresh token of a revoked family");
	expect_refused(refresh("garbage"), GRPC_STATUS_UNAUTHENTICATED, ERR_UNAUTHORIZED,
		       "malformed refresh token");
	expect_refused(refresh("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		       GRPC_STATUS_UNAUTHENTICATED, ERR_UNAUTHORIZED, "unknown refresh token");
	/* an expired one */
	pair_free(&p1);
	p1 = pair_of(login("grpc.refresh@example.com", PASSWORD, NULL), "Login");
	snprintf(sql, sizeof(sql),
		 "UPDATE auth.refresh_tokens SET expires_at = now() - interval "
		 "'1 minute' WHERE token_hash = encode(sha256('%s'::bytea), 'hex')",
		 p1.refresh);
	assert_true(it_sql_exec(G.db, sql));
	expect_refused(refresh(p1.refresh), GRPC_STATUS_UNAUTHENTICATED, ERR_TOKEN_EXPIRED,
		       "expired refresh token");
	pair_free(&p1);
	pair_free(&p2);
	pair_free(&p3);
}

/* ---- API keys over gRPC ------------------------------------------------------------------ */

/* CreateApiKey{"grpc key", [read:own_profile]} as the bearer token or key. */
static struct it_result create_key_as(const char *token, const char *key)
{
	Agentos__Auth__V1__CreateApiKeyRequest
		req = AGENTOS__AUTH__V1__CREATE_API_KEY_REQUEST__INIT;
	char *perms[] = { "read:own_profile" };

	req.name = "grpc key";
	req.n_permissions = 1;
	req.permissions = perms;
	return it_call(Auth_ch, AUTH("CreateApiKey"), &req.base,
		       &agentos__auth__v1__new_api_key__descriptor, token, key);
}

static Agentos__Auth__V1__NewApiKey *create_key(const char *token, const char *perm,
						struct it_result *r)
{
	Agentos__Auth__V1__CreateApiKeyRequest
		req = AGENTOS__AUTH__V1__CREATE_API_KEY_REQUEST__INIT;
	char *perms[] = { (char *)perm };

	req.name = "grpc key";
	req.n_permissions = 1;
	req.permissions = perms;
	*r = it_call(Auth_ch, AUTH("CreateApiKey"), &req.base,
		     &agentos__auth__v1__new_api_key__descriptor, token, NULL);
	return r->reply ? (void *)r->reply : NULL;
}

static void api_keys_over_grpc(void **state)
{
	int64_t id = sign_up("grpc.keys@example.com");
	struct pair p = pair_of(login("grpc.keys@example.com", PASSWORD, NULL), "Login");
	struct it_result kr, pr, r;
	Agentos__Auth__V1__NewApiKey *k = create_key(p.access, "read:own_profile", &kr);
	const Agentos__Auth__V1__Principal *who;
	Agentos__Auth__V1__RevokeApiKeyRequest
		rev = AGENTOS__AUTH__V1__REVOKE_API_KEY_REQUEST__INIT;

	expect_ok(&kr, "CreateApiKey");
	remember(k->key);
	assert_true(strncmp(k->key, k->prefix, strlen(k->prefix)) == 0);
	/* ValidateApiKey: the key's own permissions, not the owner's */
	pr = validate_key(k->key);
	expect_ok(&pr, "ValidateApiKey");
	who = (const void *)pr.reply;
	assert_int_equal(who->user_id, id);
	assert_string_equal(who->auth_method, "api_key");
	assert_int_equal(who->n_permissions, 1);
	assert_string_equal(who->permissions[0], "read:own_profile");
	assert_non_null(who->expires_at);
	it_result_release(&pr);
	expect_refused(validate_key("ak_nope"), GRPC_STATUS_UNAUTHENTICATED, ERR_UNAUTHORIZED,
		       "ValidateApiKey of a malformed key");
	/* as x-api-key metadata on the users service */
	r = get_me(NULL, k->key);
	expect_ok(&r, "GetUser with x-api-key");
	assert_int_equal(((Agentos__Users__V1__User *)r.reply)->id, id);
	it_result_release(&r);
	r = validate(NULL, NULL, k->key);
	expect_ok(&r, "ValidateToken with x-api-key (REST /auth/me)");
	assert_string_equal(((Agentos__Auth__V1__Principal *)r.reply)->auth_method, "api_key");
	it_result_release(&r);
	expect_refused(get_me(p.access, k->key), GRPC_STATUS_INVALID_ARGUMENT, ERR_BAD_REQUEST,
		       "both credentials");
	/* a key cannot make keys */
	expect_refused(create_key_as(NULL, NULL), GRPC_STATUS_UNAUTHENTICATED, ERR_UNAUTHORIZED,
		       "CreateApiKey without credentials");
	expect_refused(create_key_as(NULL, k->key), GRPC_STATUS_PERMISSION_DENIED, ERR_FORBIDDEN,
		       "CreateApiKey with an API key");
	/* revoked: refused by both services within the cache lifetime */
	rev.id = k->id;
	r = it_call(Auth_ch, AUTH("RevokeApiKey"), &rev.base, &google__protobuf__empty__descriptor,
		    p.access, NULL);
	expect_ok(&r, "RevokeApiKey");
	it_result_release(&r);
	expect_refused(validate_key(k->key), GRPC_STATUS_UNAUTHENTICATED, ERR_TOKEN_REVOKED,
		       "ValidateApiKey of a revoked key");
	usleep((CACHE_MS + 100) * 1000);
	expect_refused(get_me(NULL, k->key), GRPC_STATUS_UNAUTHENTICATED, ERR_TOKEN_REVOKED,
		       "GetUser with a revoked key");
	it_result_release(&kr);
	pair_free(&p);
}

static void a_read_posts_key_cannot_write_over_grpc(void **state)
{
	int64_t id = sign_up("grpc.keys.ro@example.com");
	struct pair p = pair_of(login("grpc.keys.ro@example.com", PASSWORD, NULL), "Login");
	struct it_result kr;
	Agentos__Auth__V1__NewApiKey *k = create_key(p.access, "read:posts", &kr);
	Agentos__Users__V1__UpdateUserRequest up = AGENTOS__USERS__V1__UPDATE_USER_REQUEST__INIT;
	Agentos__Users__V1__User u = AGENTOS__USERS__V1__USER__INIT;
	Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
	char *paths[] = { "name" }, sql[128], *name;

	expect_ok(&kr, "CreateApiKey read:posts");
	remember(k->key);
	u.name = "Hijacked";
	mask.n_paths = 1;
	mask.paths = paths;
	up.id = id;
	up.user = &u;
	up.update_mask = &mask;
	expect_refused(it_call(Users_ch, USERS("UpdateUser"), &up.base,
			       &agentos__users__v1__user__descriptor, NULL, k->key),
		       GRPC_STATUS_PERMISSION_DENIED, ERR_FORBIDDEN, "UpdateUser with read:posts");
	expect_refused(get_me(NULL, k->key), GRPC_STATUS_PERMISSION_DENIED, ERR_FORBIDDEN,
		       "GetUser with read:posts");
	snprintf(sql, sizeof(sql), "SELECT name FROM users.users WHERE id = %lld", (long long)id);
	name = it_sql(G.db, sql);
	assert_string_equal(name, "Grpc User");
	free(name);
	it_result_release(&kr);
	pair_free(&p);
}

/* ---- logs ---------------------------------------------------------------------------------- */

static void no_log_line_contains_a_secret(void **state)
{

	assert_logs_free_of_secrets();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(forged_tokens_are_refused_by_the_users_service),
		cmocka_unit_test(forged_tokens_are_refused_by_the_auth_service),
		cmocka_unit_test(revoked_tokens_are_refused_by_every_service),
		cmocka_unit_test(login_over_grpc),
		cmocka_unit_test(refresh_over_grpc),
		cmocka_unit_test(api_keys_over_grpc),
		cmocka_unit_test(a_read_posts_key_cannot_write_over_grpc),
		cmocka_unit_test(no_log_line_contains_a_secret),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
