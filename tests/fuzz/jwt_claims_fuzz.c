/* jwt_claims_fuzz.c - libFuzzer harness for shared/jwt_hs256.c's claim checks:
 * a fuzzed payload is signed correctly (libjwt, HS256, the harness's key),
 * then handed to jwt_verify. Random tokens almost never carry a valid
 * signature; this one always does, so every claim rule is reached.
 *
 * Input: the claims as JSON text, optionally preceded by one line of extra
 * header fields as a JSON object ("{\"typ\":\"JOSE\"}\n{...claims...}").
 * Bytes after a NUL are ignored.
 *
 * Checked beyond ASan/UBSan/LSan:
 *   - failure: -1 with UNAUTHORIZED or TOKEN_EXPIRED;
 *   - success: the principal is exactly the claims (sub = "user_<id>",
 *     email, role, jti, iat, exp, the known permissions), iss is the issuer,
 *     exp + leeway is after now, iat is not after now + leeway, the header
 *     libjwt wrote says HS256, has no crit and a typ of "JWT" if any (libjwt
 *     itself overwrites alg and typ: the extra line mostly adds other fields);
 *   - jwt_sign re-issues the principal and the token verifies to it again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <jwt.h>

#include "err.h"
#include "jwt_hs256.h"
#include "perm.h"

#define CLAIMS_FUZZ_SECRET "fuzz-only-hs256-key-0123456789abcdef"
#define CLAIMS_FUZZ_ISSUER "agentos-auth"
#define CLAIMS_FUZZ_NOW INT64_C(1768473000) /* 2026-01-15T10:30:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct jwt_config cfg = {
	.secret = CLAIMS_FUZZ_SECRET,
	.issuer = CLAIMS_FUZZ_ISSUER,
	.leeway_s = JWT_LEEWAY_S,
};

static void fail(const char *what)
{
	fprintf(stderr, "jwt_claims_fuzz: %s\n", what);
	abort();
}

/* A token for these header fields (may be NULL) and claims, signed with the
 * harness's key; NULL when libjwt will not build one. Caller frees. */
static char *sign_raw(const char *header, const char *claims)
{
	jwt_t *jwt = NULL;
	char *token = NULL;

	if (jwt_new(&jwt) != 0)
		return NULL;
	if (jwt_add_grants_json(jwt, claims) == 0 &&
	    (!header || jwt_add_headers_json(jwt, header) == 0) &&
	    jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)CLAIMS_FUZZ_SECRET,
			(int)strlen(CLAIMS_FUZZ_SECRET)) == 0)
		token = jwt_encode_str(jwt);
	jwt_free(jwt);
	return token;
}

static int string_claim_is(const json_t *claims, const char *name, const char *want)
{
	const json_t *v = json_object_get(claims, name);

	return json_is_string(v) && strcmp(json_string_value(v), want) == 0 &&
	       strlen(want) == json_string_length(v);
}

static int int_claim_is(const json_t *claims, const char *name, int64_t want)
{
	const json_t *v = json_object_get(claims, name);

	return json_is_integer(v) && json_integer_value(v) == want;
}

/* sub, email, role, jti and iss of an accepted token are the principal's. */
static void check_identity(const struct principal *p, const json_t *claims)
{
	char sub[40];

	snprintf(sub, sizeof(sub), "user_%lld", (long long)p->user_id);
	if (p->method != AUTH_JWT || p->user_id <= 0 || p->user_id >= (INT64_C(1) << 53) ||
	    !string_claim_is(claims, "sub", sub))
		fail("the principal's user id is not the sub claim");
	if (!string_claim_is(claims, "email", p->email) ||
	    !string_claim_is(claims, "role", p->role) || !role_valid(p->role))
		fail("the principal's email or role is not the claim's");
	if (!p->jti[0] || !string_claim_is(claims, "jti", p->jti))
		fail("the principal's jti is not the claim's");
	if (!string_claim_is(claims, "iss", CLAIMS_FUZZ_ISSUER))
		fail("a token of another issuer was accepted");
}

/* The known names of the permissions claim are the principal's perms. */
static void check_perms(const struct principal *p, const json_t *claims)
{
	const json_t *perms = json_object_get(claims, "permissions"), *v;
	perm_set want = 0;
	size_t i;

	if (!json_is_array(perms))
		fail("accepted without a permissions array");
	json_array_foreach (perms, i, v) {
		enum perm e;

		if (!json_is_string(v))
			fail("accepted a permission that is not a string");
		if (perm_parse(json_string_value(v), &e))
			want |= PERM_BIT(e);
	}
	if (want != p->perms)
		fail("the principal's permissions are not the claim's");
}

/* The accepted principal says exactly what the claims say. */
static void check_matches(const struct principal *p, const char *claims_text)
{
	json_t *claims = json_loads(claims_text, 0, NULL);

	if (!json_is_object(claims))
		fail("accepted claims that are not a JSON object");
	check_identity(p, claims);
	if (!int_claim_is(claims, "iat", p->iat) || !int_claim_is(claims, "exp", p->exp))
		fail("iat or exp differ from the claims (or are not integers)");
	if (p->exp <= CLAIMS_FUZZ_NOW - JWT_LEEWAY_S || p->iat > CLAIMS_FUZZ_NOW + JWT_LEEWAY_S)
		fail("an expired or future token was accepted");
	check_perms(p, claims);
	json_decref(claims);
}

/* The JSON of the token's first segment (base64url, unpadded), or NULL. */
static json_t *token_header(const char *token)
{
	static const char
		alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t len = strcspn(token, "."), n = 0;
	char *raw = malloc(len * 3 / 4 + 1);
	uint32_t acc = 0;
	int bits = 0;
	json_t *h;

	if (!raw)
		abort();
	for (size_t i = 0; i < len; i++) {
		const char *c = memchr(alphabet, token[i], 64);

		if (!c) {
			free(raw);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)(c - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			raw[n++] = (char)(acc >> bits);
			acc &= (1u << bits) - 1u;
		}
	}
	h = json_loadb(raw, n, 0, NULL);
	free(raw);
	return h;
}

/* The header of an accepted token (as libjwt wrote it, the extra fields
 * included) says HS256, has no crit, and typ, if any, is "JWT". */
static void check_header(const char *token)
{
	json_t *h = token_header(token);
	const json_t *typ;

	if (!json_is_object(h))
		fail("an accepted token's header is not a JSON object");
	typ = json_object_get(h, "typ");
	if (!string_claim_is(h, "alg", "HS256"))
		fail("a token whose header is not alg HS256 was accepted");
	if (json_object_get(h, "crit"))
		fail("a token with a crit header was accepted");
	if (typ && !string_claim_is(h, "typ", "JWT"))
		fail("a token with a typ other than JWT was accepted");
	json_decref(h);
}

static void check_resign(const struct principal *p)
{
	struct principal again;
	struct app_error err;
	char *token = jwt_sign(&cfg, p, p->iat, p->exp, p->jti);

	if (!token)
		fail("jwt_sign refuses a principal jwt_verify accepted");
	app_error_init(&err);
	if (jwt_verify(&cfg, token, CLAIMS_FUZZ_NOW, &again, &err) != 0)
		fail("a token from jwt_sign does not verify");
	if (again.user_id != p->user_id || again.perms != p->perms || again.iat != p->iat ||
	    again.exp != p->exp || strcmp(again.email, p->email) != 0 ||
	    strcmp(again.role, p->role) != 0 || strcmp(again.jti, p->jti) != 0)
		fail("a re-signed token verifies to another principal");
	free(token);
}

static void run(const char *header, const char *claims)
{
	struct principal p;
	struct app_error err;
	char *token = sign_raw(header, claims);

	if (!token)
		return;
	app_error_init(&err);
	if (jwt_verify(&cfg, token, CLAIMS_FUZZ_NOW, &p, &err) != 0) {
		if (err.code != ERR_UNAUTHORIZED && err.code != ERR_TOKEN_EXPIRED)
			fail("a refusal that is not UNAUTHORIZED or TOKEN_EXPIRED");
	} else {
		check_matches(&p, claims);
		check_header(token);
		check_resign(&p);
	}
	free(token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1); /* exact size: ASan sees over-reads */
	char *nl;

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	nl = strchr(s, '\n');
	if (nl && s[0] == '{' && nl > s && nl[-1] == '}') {
		*nl = '\0';
		run(s, nl + 1);
	} else {
		run(NULL, s);
	}
	free(s);
	return 0;
}
