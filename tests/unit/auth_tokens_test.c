/* auth_tokens_test.c - the token rules that need no database: access-token
 * validation, the bearer-only logout gate, refresh-token shape checks, login
 * errors passed through from UsersService, and the short-lived token the
 * service mints to read a user (fake UsersService). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth_service.h"
#include "rpc.h"
#include "util.h"

#define SECRET "unit-test-secret-0123456789abcdef0123"

static const struct jwt_config jwt = { .secret = SECRET,
				       .issuer = "agentos-auth",
				       .leeway_s = JWT_LEEWAY_S };

/* The fake UsersService: records what it was sent, answers as told. */
struct fake_users {
	int calls;
	enum err_code answer;
	struct principal seen; /* the verified token get_me received */
	int64_t seen_ttl;
	const struct rpc_origin *seen_origin; /* what the call forwarded */
};

static const struct rpc_origin origin = { .request_id = "req_1", .remaining_ms = INT64_MAX };

static int fake_verify(void *ctx, const char *email, const char *password,
		       const struct rpc_origin *o, struct auth_user *out, struct app_error *err)
{
	struct fake_users *f = ctx;

	f->calls++;
	f->seen_origin = o;
	return app_error_set(err, f->answer, NULL);
}

static int fake_get_me(void *ctx, const char *token, const struct rpc_origin *o,
		       struct auth_user *out, struct app_error *err)
{
	struct fake_users *f = ctx;
	struct app_error verr;

	f->calls++;
	f->seen_origin = o;
	app_error_init(&verr);
	assert_int_equal(jwt_verify(&jwt, token, now_unix_ms() / 1000, &f->seen, &verr), 0);
	f->seen_ttl = f->seen.exp - f->seen.iat;
	if (f->answer != ERR_OK)
		return app_error_set(err, f->answer, NULL);
	memset(out, 0, sizeof(*out));
	out->id = f->seen.user_id;
	strlcpy_s(out->role, "moderator", sizeof(out->role));
	out->is_active = true;
	return 0;
}

static struct auth_ctx make_ctx(struct fake_users *f)
{
	return (struct auth_ctx){
		.jwt = &jwt,
		.access_ttl_s = 3600,
		.refresh_ttl_s = 86400,
		.users = { .verify_credentials = fake_verify, .get_me = fake_get_me, .ctx = f }
	};
}

static char *sign(int64_t user_id, const char *role, int64_t iat, int64_t exp)
{
	struct principal p = { .method = AUTH_JWT, .user_id = user_id };

	strlcpy_s(p.email, "ada@example.com", sizeof(p.email));
	strlcpy_s(p.role, role, sizeof(p.role));
	assert_true(role_permissions(role, &p.perms));
	return jwt_sign(&jwt, &p, iat, exp, "jti-1");
}

static void validate_token_reads_the_given_token(void **state)
{
	struct fake_users f = { 0 };
	struct auth_ctx ctx = make_ctx(&f);
	struct principal anon = { .method = AUTH_NONE }, out;
	int64_t now = now_unix_ms() / 1000;
	char *good = sign(42, "moderator", now, now + 600);
	char *old = sign(42, "user", now - 7200, now - 3600);
	struct app_error err;

	app_error_init(&err);
	/* kv is NULL: revocation cannot be decided, the token is accepted (logged). */
	assert_int_equal(auth_validate_token(&ctx, &anon, good, &out, &err), 0);
	assert_int_equal(out.user_id, 42);
	assert_int_equal(out.method, AUTH_JWT);
	assert_string_equal(out.role, "moderator");
	assert_string_equal(out.email, "ada@example.com");
	assert_int_equal(out.exp, now + 600);
	assert_true(perm_has(out.perms, PERM_DELETE_POSTS));
	assert_int_equal(auth_validate_token(&ctx, &anon, old, &out, &err), -1);
	assert_string_equal(err_name(err.code), "TOKEN_EXPIRED");
	good[strlen(good) - 2] ^= 1; /* break the signature */
	assert_int_equal(auth_validate_token(&ctx, &anon, good, &out, &err), -1);
	assert_string_equal(err_name(err.code), "UNAUTHORIZED");
	assert_int_equal(auth_validate_token(&ctx, &anon, "not.a.jwt", &out, &err), -1);
	assert_string_equal(err_name(err.code), "UNAUTHORIZED");
	free(good);
	free(old);
}

static void validate_empty_token_is_the_caller(void **state)
{
	struct fake_users f = { 0 };
	struct auth_ctx ctx = make_ctx(&f);
	struct principal anon = { .method = AUTH_NONE }, out;
	struct principal key = { .method = AUTH_API_KEY,
				 .user_id = 9,
				 .exp = 1900000000,
				 .perms = PERM_BIT(PERM_READ_POSTS) };
	struct app_error err;

	app_error_init(&err);
	assert_int_equal(auth_validate_token(&ctx, &anon, "", &out, &err), -1);
	assert_string_equal(err_name(err.code), "UNAUTHORIZED");
	assert_int_equal(auth_validate_token(&ctx, &key, NULL, &out, &err), 0);
	assert_int_equal(out.method, AUTH_API_KEY);
	assert_int_equal(out.user_id, 9);
	assert_int_equal(out.perms, PERM_BIT(PERM_READ_POSTS));
	assert_int_equal(out.exp, 1900000000);
}

static void logout_needs_a_bearer_token(void **state)
{
	struct fake_users f = { 0 };
	struct auth_ctx ctx = make_ctx(&f);
	struct principal anon = { .method = AUTH_NONE };
	struct principal key = { .method = AUTH_API_KEY, .user_id = 9 };
	struct app_error err;
	int64_t seq = 0;

	app_error_init(&err);
	assert_int_equal(auth_logout(&ctx, &anon, &seq, &err), -1);
	assert_string_equal(err_name(err.code), "UNAUTHORIZED");
	assert_int_equal(auth_logout(&ctx, &key, &seq, &err), -1);
	assert_string_equal(err_name(err.code), "FORBIDDEN");
}

static void malformed_refresh_tokens_are_unauthorized(void **state)
{
	static const char *const bad[] = { "", "short", "ak_abcdefghijkl_x",
					   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+" };
	struct fake_users f = { 0 };
	struct auth_ctx ctx = make_ctx(&f);
	struct auth_token_pair pair;
	struct app_error err;
	struct arena a;

	arena_init(&a);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		app_error_init(&err);
		assert_int_equal(auth_refresh(&ctx, &a, &origin, bad[i], &pair, &err), -1);
		assert_string_equal(err_name(err.code), "UNAUTHORIZED");
	}
	app_error_init(&err);
	assert_int_equal(auth_refresh(&ctx, &a, &origin, NULL, &pair, &err), -1);
	assert_string_equal(err_name(err.code), "UNAUTHORIZED");
	assert_int_equal(f.calls, 0);
	arena_release(&a);
}

static void login_passes_users_errors_through(void **state)
{
	static const enum err_code answers[] = { ERR_INVALID_CREDENTIALS, ERR_ACCOUNT_DISABLED,
						 ERR_SERVICE_UNAVAILABLE, ERR_GATEWAY_TIMEOUT };
	struct fake_users f = { 0 };
	struct auth_ctx ctx = make_ctx(&f);
	struct auth_token_pair pair;
	struct app_error err;
	struct arena a;

	arena_init(&a);
	for (size_t i = 0; i < ARRAY_SIZE(answers); i++) {
		f.answer = answers[i];
		app_error_init(&err);
		assert_int_equal(auth_login(&ctx, &a, &origin, "a@b.co", "pw", &pair, &err), -1);
		assert_string_equal(err_name(err.code), err_name(answers[i]));
	}
	assert_int_equal(f.calls, (int)ARRAY_SIZE(answers));
	assert_ptr_equal(f.seen_origin, &origin); /* request id and deadline go along */
	arena_release(&a);
}

static void fetch_user_mints_a_minimal_short_token(void **state)
{
	struct fake_users f = { 0 };
	struct auth_ctx ctx = make_ctx(&f);
	struct auth_user u;
	struct app_error err;

	app_error_init(&err);
	assert_int_equal(auth_fetch_user(&ctx, 77, &origin, &u, &err), 0);
	assert_int_equal(u.id, 77);
	assert_int_equal(f.seen.user_id, 77);
	assert_string_equal(f.seen.role, "user");
	assert_int_equal(f.seen.perms, PERM_BIT(PERM_READ_OWN_PROFILE));
	assert_int_equal(f.seen_ttl, 60);
	assert_ptr_equal(f.seen_origin, &origin);
	assert_true(f.seen.jti[0] != '\0');
}

static void fetch_user_maps_users_refusals(void **state)
{
	/* A deleted user is NOT_FOUND (callers make it TOKEN_REVOKED); users
	 * refusing our own token is our misconfiguration, never the caller's 401. */
	static const struct {
		enum err_code answer, want;
	} rows[] = { { ERR_NOT_FOUND, ERR_NOT_FOUND },
		     { ERR_UNAUTHORIZED, ERR_INTERNAL_ERROR },
		     { ERR_TOKEN_REVOKED, ERR_INTERNAL_ERROR },
		     { ERR_SERVICE_UNAVAILABLE, ERR_SERVICE_UNAVAILABLE } };
	struct fake_users f = { 0 };
	struct auth_ctx ctx = make_ctx(&f);
	struct auth_user u;
	struct app_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		f.answer = rows[i].answer;
		app_error_init(&err);
		assert_int_equal(auth_fetch_user(&ctx, 77, NULL, &u, &err), -1);
		assert_string_equal(err_name(err.code), err_name(rows[i].want));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(validate_token_reads_the_given_token),
		cmocka_unit_test(validate_empty_token_is_the_caller),
		cmocka_unit_test(logout_needs_a_bearer_token),
		cmocka_unit_test(malformed_refresh_tokens_are_unauthorized),
		cmocka_unit_test(login_passes_users_errors_through),
		cmocka_unit_test(fetch_user_mints_a_minimal_short_token),
		cmocka_unit_test(fetch_user_maps_users_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
