/* authn.h - who is calling: JWT verification (HS256 pinned), signing, and the
 * principal taken from request metadata.
 *
 * Debian's libjwt 1.10 checks no claim, takes the algorithm from the token and
 * accepts any signature when the key is empty. The verifier therefore:
 *   - refuses a key shorter than JWT_MIN_KEY_BYTES (empty included);
 *   - requires the header's alg to be exactly "HS256" (none/HS512/RS256: 401);
 *   - checks the signature with libjwt, then every claim itself:
 *     exp (present, integer, not past - leeway), iat_ms (optional integer:
 *     the issue time in unix ms, within iat's second), iat (present, integer, not
 *     after now + leeway), iss (== issuer), jti (non-empty string), sub
 *     ("user_<positive id>"), role (known), permissions (array of strings;
 *     unknown names are ignored), email (string).
 * Expired tokens are TOKEN_EXPIRED; every other failure is UNAUTHORIZED. */
#ifndef SHARED_AUTHN_H
#define SHARED_AUTHN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "perm.h"

#define JWT_MIN_KEY_BYTES 32
#define JWT_MAX_TOKEN_BYTES 8192
#define JWT_LEEWAY_S 30

enum auth_method { AUTH_NONE, AUTH_JWT, AUTH_API_KEY };

struct principal {
	enum auth_method method; /* AUTH_NONE = anonymous; the rest is zero */
	int64_t user_id;
	char email[256];
	char role[16];
	perm_set perms;
	char jti[128];
	int64_t iat;
	int64_t iat_ms; /* the iat_ms claim; iat * 1000 when the token has none */
	int64_t exp;
};

struct jwt_config {
	const char *secret; /* HS256 key; must be >= JWT_MIN_KEY_BYTES */
	const char *issuer; /* iss every token must carry */
	int leeway_s;       /* clock leeway for exp and iat */
};

/* true when secret is usable as an HS256 key (non-NULL, >= JWT_MIN_KEY_BYTES). */
bool jwt_key_acceptable(const char *secret);

/* Verifies token at time now_s (unix seconds). 0 and *out filled (method
 * AUTH_JWT), or -1 with err: UNAUTHORIZED or TOKEN_EXPIRED. */
int jwt_verify(const struct jwt_config *cfg, const char *token, int64_t now_s, struct principal *out,
	       struct app_error *err);

/* Signs an access token for p (sub, email, role, permissions from p->perms)
 * with iat/exp/jti and cfg->issuer, plus iat_ms when p->iat_ms is set and
 * falls within iat's second (revocation compares it with a user's
 * not-before, API.md §6). Returns a malloc'd token (caller frees),
 * or NULL for anything jwt_verify would refuse: an unacceptable key, an empty
 * issuer, a user id outside 1..2^53-1, an unknown role, an empty or over-127-
 * byte jti, an email that does not fit. */
char *jwt_sign(const struct jwt_config *cfg, const struct principal *p, int64_t iat, int64_t exp,
	       const char *jti);

/* The proof a RevokeUserTokens request carries: lower-case hex of
 * HMAC-SHA256(cfg->secret, "revoke-user:<user_id>:<not_before_ms>") into out
 * (AUTHN_PROOF_HEX_LEN + 1 bytes). Every process holding the JWT secret can
 * make one, as it can sign tokens: the same trust. */
#define AUTHN_PROOF_HEX_LEN 64
void authn_revocation_proof(const struct jwt_config *cfg, int64_t user_id, int64_t not_before_ms,
			    char *out);
/* true when proof is that proof (compared in constant time). */
bool authn_revocation_proof_ok(const struct jwt_config *cfg, int64_t user_id,
			       int64_t not_before_ms, const char *proof);

/* The token of an Authorization value "Bearer <token>": the scheme in any
 * case, exactly one space, a non-empty token not starting with a space.
 * Points into authorization; NULL for any other form (and for NULL). */
const char *authn_parse_bearer(const char *authorization);

#endif
