/* jwt_fuzz.c - libFuzzer harness for shared/jwt_hs256.c: jwt_verify (and
 * caller_parse_bearer) on a fuzzed token, with a fixed key, issuer and clock.
 *
 * Input: an Authorization value ("Bearer <token>") or a bare token; bytes
 * after a NUL are ignored, as they would be in a C string. The seeds are real
 * tokens signed with the harness's key (valid, expired, alg none, HS512, bad
 * signature, wrong iss, ...), so mutations explore the verifier's paths
 * around a signature that checks out as well as around one that does not.
 *
 * Checked beyond ASan/UBSan/LSan:
 *   - failure: UNAUTHORIZED or TOKEN_EXPIRED, *out all zero, a terminated
 *     message that does not quote the token;
 *   - success: every claim rule of jwt_hs256.h holds for the principal (user id
 *     in 1..2^53-1, known role, non-empty jti, exp + leeway after now, iat
 *     not after now + leeway);
 *   - determinism: a second verification gives the same answer;
 *   - signing: jwt_sign re-issues an accepted principal (same iat, exp, jti)
 *     and the new token verifies to the same principal. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caller.h"
#include "err.h"
#include "jwt_hs256.h"
#include "perm.h"

#define JWT_FUZZ_SECRET "fuzz-only-hs256-key-0123456789abcdef"
#define JWT_FUZZ_ISSUER "agentos-auth"
#define JWT_FUZZ_NOW INT64_C(1768473000) /* 2026-01-15T10:30:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct jwt_config cfg = {
	.secret = JWT_FUZZ_SECRET,
	.issuer = JWT_FUZZ_ISSUER,
	.leeway_s = JWT_LEEWAY_S,
};

static void fail(const char *what)
{
	fprintf(stderr, "jwt_fuzz: %s\n", what);
	abort();
}

static int all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static int terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static int same_principal(const struct principal *a, const struct principal *b)
{
	return a->method == b->method && a->user_id == b->user_id &&
	       strcmp(a->email, b->email) == 0 && strcmp(a->role, b->role) == 0 &&
	       a->perms == b->perms && strcmp(a->jti, b->jti) == 0 && a->iat == b->iat &&
	       a->exp == b->exp;
}

static void check_accepted(const struct principal *p)
{
	if (p->method != AUTH_JWT)
		fail("an accepted token is not AUTH_JWT");
	if (p->user_id <= 0 || p->user_id >= (INT64_C(1) << 53))
		fail("an accepted token has a user id outside 1..2^53-1");
	if (!terminated(p->email, sizeof(p->email)) || !terminated(p->role, sizeof(p->role)) ||
	    !terminated(p->jti, sizeof(p->jti)))
		fail("an unterminated principal string");
	if (!role_valid(p->role))
		fail("an accepted token has an unknown role");
	if (!p->jti[0])
		fail("an accepted token has an empty jti");
	if (p->exp <= JWT_FUZZ_NOW - JWT_LEEWAY_S)
		fail("an expired token was accepted");
	if (p->iat > JWT_FUZZ_NOW + JWT_LEEWAY_S)
		fail("a token issued in the future was accepted");
}

/* jwt_sign must re-issue what jwt_verify accepted, and the result must
 * verify to the same principal. */
static void check_resign(const struct principal *p)
{
	struct principal again;
	struct app_error err;
	char *token = jwt_sign(&cfg, p, p->iat, p->exp, p->jti);

	if (!token)
		fail("jwt_sign refuses a principal jwt_verify accepted");
	app_error_init(&err);
	if (jwt_verify(&cfg, token, JWT_FUZZ_NOW, &again, &err) != 0) {
		fprintf(stderr, "jwt_fuzz: %s\n", err.message);
		fail("a token from jwt_sign does not verify");
	}
	if (!same_principal(p, &again))
		fail("a re-signed token verifies to another principal");
	free(token);
}

static void check_token(const char *token)
{
	struct principal p, p2;
	struct app_error err, err2;
	int rc, rc2;

	app_error_init(&err);
	app_error_init(&err2);
	memset(&p, 0x5a, sizeof(p));
	rc = jwt_verify(&cfg, token, JWT_FUZZ_NOW, &p, &err);
	rc2 = jwt_verify(&cfg, token, JWT_FUZZ_NOW, &p2, &err2);
	if (rc != rc2 || err.code != err2.code)
		fail("two verifications of one token differ");
	if (rc != 0) {
		if (rc != -1 || (err.code != ERR_UNAUTHORIZED && err.code != ERR_TOKEN_EXPIRED))
			fail("a refusal that is not -1 with UNAUTHORIZED or TOKEN_EXPIRED");
		if (!all_zero(&p, sizeof(p)))
			fail("a refused token left data in *out");
		if (!terminated(err.message, sizeof(err.message)))
			fail("an unterminated error message");
		if (strlen(token) >= 16 && strstr(err.message, token))
			fail("an error message quotes the token");
		return;
	}
	if (!same_principal(&p, &p2))
		fail("two verifications of one token give different principals");
	check_accepted(&p);
	check_resign(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1); /* exact size: ASan sees over-reads */
	const char *token;

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	token = caller_parse_bearer(s);
	if (token && (token < s || token > s + strlen(s)))
		fail("caller_parse_bearer points outside its argument");
	check_token(token ? token : s);
	free(s);
	return 0;
}
