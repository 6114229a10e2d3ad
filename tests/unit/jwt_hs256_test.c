/* jwt_hs256_test.c - the JWT verifier against forged tokens, and signing.
 *
 * Tokens are built here byte by byte (JSON, base64url, HMAC from libcrypto)
 * so that every attack is exactly the one named, independent of libjwt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jwt_hs256.h"

#define SECRET "0123456789abcdef0123456789abcdef-unit-test"
#define ISSUER "agentos-auth"
#define NOW INT64_C(1700000000)
#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static const struct jwt_config cfg = { SECRET, ISSUER, JWT_LEEWAY_S };

/* ---- forging ---------------------------------------------------------------- */

static char *b64url(const void *data, size_t len)
{
	static const char
		abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = data;
	char *out = malloc(len * 4 / 3 + 4);
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;

	assert_non_null(out);
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[n++] = abc[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[n++] = abc[(acc << (6 - bits)) & 63];
	out[n] = '\0';
	return out;
}

static char *join3(const char *a, const char *b, const char *c)
{
	size_t len = strlen(a) + strlen(b) + strlen(c) + 3;
	char *out = malloc(len);

	assert_non_null(out);
	snprintf(out, len, "%s.%s.%s", a, b, c);
	return out;
}

/* header.payload signed with HMAC(md, key); md NULL = empty signature. */
static char *forge_raw(const char *header, const char *payload, const EVP_MD *md, const char *key,
		       size_t keylen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char *h = b64url(header, strlen(header));
	char *p = b64url(payload, strlen(payload));
	char *signing = join3(h, p, "");
	char *sig, *token;

	signing[strlen(signing) - 1] = '\0'; /* "h.p." -> "h.p" */
	if (md)
		assert_non_null(HMAC(md, key, (int)keylen, (const unsigned char *)signing,
				     strlen(signing), mac, &maclen));
	sig = b64url(mac, maclen);
	token = join3(h, p, sig);
	free(h);
	free(p);
	free(signing);
	free(sig);
	return token;
}

/* Consumes claims. */
static char *forge(const char *header, json_t *claims, const EVP_MD *md, const char *key)
{
	char *payload = json_dumps(claims, JSON_COMPACT);
	char *token;

	assert_non_null(payload);
	json_decref(claims);
	token = forge_raw(header, payload, md, key, strlen(key));
	free(payload);
	return token;
}

static char *forge_good(json_t *claims)
{
	return forge(HS256, claims, EVP_sha256(), SECRET);
}

static json_t *good_claims(void)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:[s,s], s:I, s:I, s:s, s:s}", "sub", "user_42",
			      "email", "ann@example.com", "role", "user", "permissions",
			      "read:posts", "write:posts", "iat", (json_int_t)(NOW - 60), "exp",
			      (json_int_t)(NOW + 900), "jti", "jti-0001", "iss", ISSUER);

	assert_non_null(c);
	return c;
}

static json_t *claims_with(const char *name, json_t *value)
{
	json_t *c = good_claims();

	if (value)
		json_object_set_new(c, name, value);
	else
		json_object_del(c, name);
	return c;
}

/* Verifies token with c, frees it; checks a failure leaves nothing behind and
 * that the message never echoes the token. Returns the error code. */
static enum err_code verify_with(const struct jwt_config *c, char *token, struct principal *out)
{
	struct principal local;
	struct app_error err;
	int rc;

	if (!out)
		out = &local;
	app_error_init(&err);
	memset(out, 0x7f, sizeof(*out));
	rc = jwt_verify(c, token, NOW, out, &err);
	if (rc != 0) {
		assert_int_equal(rc, -1);
		assert_int_not_equal(err.code, ERR_OK);
		assert_int_equal(out->method, AUTH_NONE);
		assert_int_equal(out->user_id, 0);
		assert_int_equal(out->perms, 0);
		assert_true(err.message[0] != '\0');
		if (strlen(token) > 8)
			assert_null(strstr(err.message, token));
	} else {
		assert_int_equal(err.code, ERR_OK);
	}
	free(token);
	return rc == 0 ? ERR_OK : err.code;
}

static enum err_code verify(char *token)
{
	return verify_with(&cfg, token, NULL);
}

/* ---- a valid token ------------------------------------------------------------- */

static void test_valid_token(void **state)
{
	struct principal p;

	(void)state;
	assert_int_equal(verify_with(&cfg, forge_good(good_claims()), &p), ERR_OK);
	assert_int_equal(p.method, AUTH_JWT);
	assert_int_equal(p.user_id, 42);
	assert_string_equal(p.email, "ann@example.com");
	assert_string_equal(p.role, "user");
	assert_int_equal(p.perms, PERM_BIT(PERM_READ_POSTS) | PERM_BIT(PERM_WRITE_POSTS));
	assert_string_equal(p.jti, "jti-0001");
	assert_int_equal(p.iat, NOW - 60);
	assert_int_equal(p.exp, NOW + 900);
}

static void test_header_without_typ_accepted(void **state)
{
	(void)state;
	assert_int_equal(verify(forge("{\"alg\":\"HS256\"}", good_claims(), EVP_sha256(), SECRET)),
			 ERR_OK);
}

/* ---- algorithm and signature ----------------------------------------------------- */

static void test_alg_none_empty_signature(void **state)
{
	(void)state;
	assert_int_equal(verify(forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", good_claims(), NULL,
				      "")),
			 ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge("{\"alg\":\"none\"}", good_claims(), NULL, "")),
			 ERR_UNAUTHORIZED);
}

static void test_alg_none_with_signature(void **state)
{
	(void)state;
	assert_int_equal(verify(forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", good_claims(),
				      EVP_sha256(), SECRET)),
			 ERR_UNAUTHORIZED);
}

static void test_alg_hs512_right_key(void **state)
{
	(void)state;
	assert_int_equal(verify(forge("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", good_claims(),
				      EVP_sha512(), SECRET)),
			 ERR_UNAUTHORIZED);
}

static void test_alg_rs256_header(void **state)
{
	(void)state;
	/* The key-confusion attack: RS256 named, HMAC under the shared secret. */
	assert_int_equal(verify(forge("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", good_claims(),
				      EVP_sha256(), SECRET)),
			 ERR_UNAUTHORIZED);
}

static void test_header_variants_refused(void **state)
{
	(void)state;
	assert_int_equal(verify(forge("{\"typ\":\"JWT\"}", good_claims(), EVP_sha256(), SECRET)),
			 ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge("{\"alg\":\"hs256\",\"typ\":\"JWT\"}", good_claims(),
				      EVP_sha256(), SECRET)),
			 ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge("{\"alg\":\"HS256\",\"typ\":\"JOSE\"}", good_claims(),
				      EVP_sha256(), SECRET)),
			 ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge("{\"alg\":\"HS256\",\"alg\":\"none\"}", good_claims(),
				      EVP_sha256(), SECRET)),
			 ERR_UNAUTHORIZED);
	/* libjwt would take the last "alg" and accept this one: refused here. */
	assert_int_equal(verify(forge("{\"alg\":\"none\",\"alg\":\"HS256\"}", good_claims(),
				      EVP_sha256(), SECRET)),
			 ERR_UNAUTHORIZED);
	/* libjwt compares typ case-insensitively; the contract is exactly "JWT". */
	assert_int_equal(verify(forge("{\"alg\":\"HS256\",\"typ\":\"jwt\"}", good_claims(),
				      EVP_sha256(), SECRET)),
			 ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge("{\"alg\":\"HS256\",\"typ\":1}", good_claims(), EVP_sha256(),
				      SECRET)),
			 ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", good_claims(),
				      EVP_sha256(), SECRET)),
			 ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge("[\"HS256\"]", good_claims(), EVP_sha256(), SECRET)),
			 ERR_UNAUTHORIZED);
}

static void test_signed_with_empty_key(void **state)
{
	(void)state;
	assert_int_equal(verify(forge(HS256, good_claims(), EVP_sha256(), "")), ERR_UNAUTHORIZED);
}

static void test_signed_with_other_key(void **state)
{
	(void)state;
	assert_int_equal(verify(forge(HS256, good_claims(), EVP_sha256(),
				      "another-secret-of-enough-length-000000")),
			 ERR_UNAUTHORIZED);
}

static void test_bad_signature_one_char(void **state)
{
	char *token = forge_good(good_claims());
	char *c = token + strlen(token) - 10; /* inside the signature */

	(void)state;
	*c = *c == 'A' ? 'B' : 'A';
	assert_int_equal(verify(token), ERR_UNAUTHORIZED);
}

static void test_payload_tampered(void **state)
{
	char *token = forge_good(good_claims());
	char *admin = forge_good(claims_with("role", json_string("admin")));
	char *tdot1 = strchr(token, '.'), *tdot2 = strrchr(token, '.');
	char *adot1 = strchr(admin, '.'), *adot2 = strrchr(admin, '.');
	char *mixed = malloc(strlen(token) + strlen(admin));

	(void)state;
	assert_non_null(mixed);
	/* header and signature of the user token around the admin payload */
	snprintf(mixed, strlen(token) + strlen(admin), "%.*s%.*s%s", (int)(tdot1 - token), token,
		 (int)(adot2 - adot1), adot1, tdot2);
	assert_int_equal(verify(mixed), ERR_UNAUTHORIZED);
	assert_int_equal(verify(token), ERR_OK);
	assert_int_equal(verify(admin), ERR_OK);
}

/* ---- exp and iat ------------------------------------------------------------------- */

static void test_exp_missing(void **state)
{
	(void)state;
	assert_int_equal(verify(forge_good(claims_with("exp", NULL))), ERR_UNAUTHORIZED);
}

static void test_exp_string(void **state)
{
	char buf[32];

	(void)state;
	snprintf(buf, sizeof(buf), "%lld", (long long)(NOW + 900));
	assert_int_equal(verify(forge_good(claims_with("exp", json_string(buf)))),
			 ERR_UNAUTHORIZED);
}

static void test_exp_float(void **state)
{
	(void)state;
	assert_int_equal(verify(forge_good(claims_with("exp", json_real((double)(NOW + 900))))),
			 ERR_UNAUTHORIZED);
}

static void test_exp_past_beyond_leeway(void **state)
{
	(void)state;
	assert_int_equal(verify(forge_good(claims_with("exp", json_integer(NOW - 31)))),
			 ERR_TOKEN_EXPIRED);
	assert_int_equal(verify(forge_good(claims_with("exp", json_integer(NOW - 30)))),
			 ERR_TOKEN_EXPIRED);
	assert_int_equal(verify(forge_good(claims_with("exp", json_integer(NOW - 86400)))),
			 ERR_TOKEN_EXPIRED);
}

static void test_exp_past_within_leeway(void **state)
{
	(void)state;
	assert_int_equal(verify(forge_good(claims_with("exp", json_integer(NOW - 29)))), ERR_OK);
	assert_int_equal(verify(forge_good(claims_with("exp", json_integer(NOW - 1)))), ERR_OK);
}

static void test_expired_but_invalid_is_unauthorized(void **state)
{
	json_t *c = claims_with("exp", json_integer(NOW - 3600));

	(void)state;
	/* TOKEN_EXPIRED invites a refresh: only said of an otherwise valid token. */
	json_object_set_new(c, "iss", json_string("someone-else"));
	assert_int_equal(verify(forge_good(c)), ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge(HS256, claims_with("exp", json_integer(NOW - 3600)),
				      EVP_sha256(), "wrong-key-wrong-key-wrong-key-wrong")),
			 ERR_UNAUTHORIZED);
}

static void test_iat_future_beyond_leeway(void **state)
{
	(void)state;
	assert_int_equal(verify(forge_good(claims_with("iat", json_integer(NOW + 31)))),
			 ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge_good(claims_with("iat", json_integer(NOW + 30)))), ERR_OK);
}

static void test_iat_missing_or_not_integer(void **state)
{
	(void)state;
	assert_int_equal(verify(forge_good(claims_with("iat", NULL))), ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge_good(claims_with("iat", json_real((double)NOW)))),
			 ERR_UNAUTHORIZED);
}

/* ---- identity claims --------------------------------------------------------------- */

static void test_iss_wrong_or_missing(void **state)
{
	(void)state;
	assert_int_equal(verify(forge_good(claims_with("iss", json_string("agentos-auth2")))),
			 ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge_good(claims_with("iss", json_string("")))), ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge_good(claims_with("iss", NULL))), ERR_UNAUTHORIZED);
}

static void test_jti_missing_or_empty(void **state)
{
	char long_jti[129];

	(void)state;
	assert_int_equal(verify(forge_good(claims_with("jti", NULL))), ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge_good(claims_with("jti", json_string("")))), ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge_good(claims_with("jti", json_integer(7)))), ERR_UNAUTHORIZED);
	memset(long_jti, 'j', 128);
	long_jti[128] = '\0';
	assert_int_equal(verify(forge_good(claims_with("jti", json_string(long_jti)))),
			 ERR_UNAUTHORIZED);
	long_jti[127] = '\0';
	assert_int_equal(verify(forge_good(claims_with("jti", json_string(long_jti)))), ERR_OK);
}

static void test_sub_forms(void **state)
{
	static const char *const bad[] = { "admin",
					   "user_",
					   "user_0",
					   "user_-1",
					   "user_12x",
					   "user_+1",
					   "user_012",
					   "user_ 1",
					   "User_1",
					   "user_9007199254740992",
					   "user_99999999999999999999",
					   "" };
	struct principal p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("sub \"%s\"\n", bad[i]);
		assert_int_equal(verify(forge_good(claims_with("sub", json_string(bad[i])))),
				 ERR_UNAUTHORIZED);
	}
	assert_int_equal(verify(forge_good(claims_with("sub", json_integer(42)))),
			 ERR_UNAUTHORIZED);
	assert_int_equal(verify_with(&cfg,
				     forge_good(claims_with("sub",
							    json_string("user_9007199254740991"))),
				     &p),
			 ERR_OK);
	assert_int_equal(p.user_id, INT64_C(9007199254740991));
}

static void test_role_unknown(void **state)
{
	(void)state;
	assert_int_equal(verify(forge_good(claims_with("role", json_string("superuser")))),
			 ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge_good(claims_with("role", json_string("Admin")))),
			 ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge_good(claims_with("role", NULL))), ERR_UNAUTHORIZED);
}

static void test_permissions_shapes(void **state)
{
	struct principal p;

	(void)state;
	assert_int_equal(verify(forge_good(claims_with("permissions", json_string("*")))),
			 ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge_good(claims_with("permissions", NULL))), ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge_good(
				 claims_with("permissions", json_pack("[s,i]", "read:posts", 1)))),
			 ERR_UNAUTHORIZED);
	/* Unknown names are ignored, known ones kept. */
	assert_int_equal(verify_with(&cfg,
				     forge_good(claims_with("permissions",
							    json_pack("[s,s]", "fly:away",
								      "delete:posts"))),
				     &p),
			 ERR_OK);
	assert_int_equal(p.perms, PERM_BIT(PERM_DELETE_POSTS));
}

static void test_email_shapes(void **state)
{
	char long_email[300];

	(void)state;
	assert_int_equal(verify(forge_good(claims_with("email", NULL))), ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge_good(claims_with("email", json_integer(1)))),
			 ERR_UNAUTHORIZED);
	memset(long_email, 'e', sizeof(long_email) - 1);
	long_email[sizeof(long_email) - 1] = '\0';
	assert_int_equal(verify(forge_good(claims_with("email", json_string(long_email)))),
			 ERR_UNAUTHORIZED);
}

/* ---- keys and shape -------------------------------------------------------------- */

static void test_verifier_key_refused(void **state)
{
	const char *key31 = "0123456789abcdef0123456789abcde";
	const struct jwt_config empty = { "", ISSUER, JWT_LEEWAY_S };
	const struct jwt_config short31 = { key31, ISSUER, JWT_LEEWAY_S };
	const struct jwt_config none = { NULL, ISSUER, JWT_LEEWAY_S };

	(void)state;
	assert_int_equal(strlen(key31), 31);
	assert_false(jwt_key_acceptable(""));
	assert_false(jwt_key_acceptable(key31));
	assert_false(jwt_key_acceptable(NULL));
	assert_true(jwt_key_acceptable(SECRET));
	/* Even tokens really signed with these keys. */
	assert_int_equal(verify_with(&empty, forge(HS256, good_claims(), EVP_sha256(), ""), NULL),
			 ERR_UNAUTHORIZED);
	assert_int_equal(verify_with(&short31, forge(HS256, good_claims(), EVP_sha256(), key31),
				     NULL),
			 ERR_UNAUTHORIZED);
	assert_int_equal(verify_with(&none, forge_good(good_claims()), NULL), ERR_UNAUTHORIZED);
}

static void test_token_too_long(void **state)
{
	char *pad = malloc(9001);

	(void)state;
	assert_non_null(pad);
	memset(pad, 'x', 9000);
	pad[9000] = '\0';
	assert_int_equal(verify(forge_good(claims_with("pad", json_string(pad)))),
			 ERR_UNAUTHORIZED);
	pad[5000] = '\0'; /* the same token, under the limit, passes */
	assert_int_equal(verify(forge_good(claims_with("pad", json_string(pad)))), ERR_OK);
	free(pad);
}

static void test_malformed_shapes(void **state)
{
	static const char *const bad[] = {
		"",
		"abc",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEifQ",
		"eyJhbGciOiJIUzI1NiJ9",
		"...",
		"a.b.c.d",
		"!!!!.@@@@.####",
		"eyJhbGciOiJIUzI1NiJ9=.eyJ9.AAAA",
		"e.e.e",
	};
	char *good = forge_good(good_claims());
	size_t len = strlen(good);
	char *four = malloc(len + 3);

	(void)state;
	assert_non_null(four);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *t = strdup(bad[i]);

		print_message("token \"%s\"\n", bad[i]);
		assert_int_equal(verify(t), ERR_UNAUTHORIZED);
	}
	/* A valid token with an extra segment, or with whitespace, is refused. */
	snprintf(four, len + 3, "%s.x", good);
	assert_int_equal(verify(four), ERR_UNAUTHORIZED);
	four = malloc(len + 2);
	assert_non_null(four);
	snprintf(four, len + 2, "%s ", good);
	assert_int_equal(verify(four), ERR_UNAUTHORIZED);
	free(good);
}

static void test_garbage_base64(void **state)
{
	char *good = forge_good(good_claims());

	(void)state;
	/* Payload segment replaced by base64url of non-JSON, signed correctly. */
	assert_int_equal(verify(forge_raw(HS256, "not json at all", EVP_sha256(), SECRET,
					  strlen(SECRET))),
			 ERR_UNAUTHORIZED);
	assert_int_equal(verify(forge_raw("{\"alg\":", "{}", EVP_sha256(), SECRET, strlen(SECRET))),
			 ERR_UNAUTHORIZED);
	/* A character outside the alphabet inside the header. */
	good[3] = '*';
	assert_int_equal(verify(good), ERR_UNAUTHORIZED);
}

/* ---- signing ------------------------------------------------------------------------ */

static struct principal sample_principal(void)
{
	struct principal p = { .method = AUTH_JWT, .user_id = 7 };

	snprintf(p.email, sizeof(p.email), "%s", "mod@example.com");
	snprintf(p.role, sizeof(p.role), "%s", "moderator");
	assert_true(role_permissions("moderator", &p.perms));
	return p;
}

static void test_sign_verify_round_trip(void **state)
{
	struct principal in = sample_principal(), out;
	char *token = jwt_sign(&cfg, &in, NOW - 5, NOW + 3600, "jti-round-trip");
	char *copy;

	(void)state;
	assert_non_null(token);
	copy = strdup(token);
	assert_int_equal(verify_with(&cfg, token, &out), ERR_OK);
	assert_int_equal(out.method, AUTH_JWT);
	assert_int_equal(out.user_id, 7);
	assert_string_equal(out.email, "mod@example.com");
	assert_string_equal(out.role, "moderator");
	assert_int_equal(out.perms, in.perms);
	assert_string_equal(out.jti, "jti-round-trip");
	assert_int_equal(out.iat, NOW - 5);
	assert_int_equal(out.exp, NOW + 3600);
	/* The header libjwt wrote is the one pinned: {"alg":"HS256","typ":"JWT"}. */
	{
		const struct jwt_config other = { "x-different-secret-of-32-bytes-or-more", ISSUER,
						  JWT_LEEWAY_S };
		assert_int_equal(verify_with(&other, copy, NULL), ERR_UNAUTHORIZED);
	}
}

static void test_sign_admin_star(void **state)
{
	struct principal in = sample_principal(), out;
	char *token;

	(void)state;
	snprintf(in.role, sizeof(in.role), "%s", "admin");
	in.perms = PERM_BIT(PERM_ALL) | PERM_BIT(PERM_READ_POSTS);
	token = jwt_sign(&cfg, &in, NOW, NOW + 60, "j");
	assert_non_null(token);
	assert_int_equal(verify_with(&cfg, token, &out), ERR_OK);
	assert_int_equal(out.perms, PERM_BIT(PERM_ALL));
	assert_true(perm_is_admin(out.perms));
}

static void test_sign_refuses(void **state)
{
	const struct jwt_config short31 = { "0123456789abcdef0123456789abcde", ISSUER, 30 };
	const struct jwt_config empty = { "", ISSUER, 30 };
	struct principal in = sample_principal();

	(void)state;
	assert_null(jwt_sign(&short31, &in, NOW, NOW + 60, "j"));
	assert_null(jwt_sign(&empty, &in, NOW, NOW + 60, "j"));
	assert_null(jwt_sign(&cfg, &in, NOW, NOW + 60, ""));
	snprintf(in.role, sizeof(in.role), "%s", "root");
	assert_null(jwt_sign(&cfg, &in, NOW, NOW + 60, "j"));
	in = sample_principal();
	in.user_id = 0;
	assert_null(jwt_sign(&cfg, &in, NOW, NOW + 60, "j"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_token),
		cmocka_unit_test(test_header_without_typ_accepted),
		cmocka_unit_test(test_alg_none_empty_signature),
		cmocka_unit_test(test_alg_none_with_signature),
		cmocka_unit_test(test_alg_hs512_right_key),
		cmocka_unit_test(test_alg_rs256_header),
		cmocka_unit_test(test_header_variants_refused),
		cmocka_unit_test(test_signed_with_empty_key),
		cmocka_unit_test(test_signed_with_other_key),
		cmocka_unit_test(test_bad_signature_one_char),
		cmocka_unit_test(test_payload_tampered),
		cmocka_unit_test(test_exp_missing),
		cmocka_unit_test(test_exp_string),
		cmocka_unit_test(test_exp_float),
		cmocka_unit_test(test_exp_past_beyond_leeway),
		cmocka_unit_test(test_exp_past_within_leeway),
		cmocka_unit_test(test_expired_but_invalid_is_unauthorized),
		cmocka_unit_test(test_iat_future_beyond_leeway),
		cmocka_unit_test(test_iat_missing_or_not_integer),
		cmocka_unit_test(test_iss_wrong_or_missing),
		cmocka_unit_test(test_jti_missing_or_empty),
		cmocka_unit_test(test_sub_forms),
		cmocka_unit_test(test_role_unknown),
		cmocka_unit_test(test_permissions_shapes),
		cmocka_unit_test(test_email_shapes),
		cmocka_unit_test(test_verifier_key_refused),
		cmocka_unit_test(test_token_too_long),
		cmocka_unit_test(test_malformed_shapes),
		cmocka_unit_test(test_garbage_base64),
		cmocka_unit_test(test_sign_verify_round_trip),
		cmocka_unit_test(test_sign_admin_star),
		cmocka_unit_test(test_sign_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
