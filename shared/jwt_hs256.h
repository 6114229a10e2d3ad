/* jwt_hs256.h - access tokens: JWT verification (HS256 pinned) and signing.
 * (Not "jwt.h": libjwt's header has that name.)
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
#ifndef SHARED_JWT_HS256_H
#define SHARED_JWT_HS256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "principal.h"

#define JWT_MIN_KEY_BYTES 32
#define JWT_MAX_TOKEN_BYTES 8192
#define JWT_LEEWAY_S 30

struct jwt_config {
	const char *secret; /* HS256 key; must be >= JWT_MIN_KEY_BYTES */
	const char *issuer; /* iss every token must carry */
	int leeway_s;       /* clock leeway for exp and iat */
};

/* true when secret is usable as an HS256 key (non-NULL, >= JWT_MIN_KEY_BYTES). */
bool jwt_key_acceptable(const char *secret);

/* Verifies token at time now_s (unix seconds). 0 and *out filled (method
 * AUTH_JWT), or -1 with err: UNAUTHORIZED or TOKEN_EXPIRED. */
int jwt_verify(const struct jwt_config *cfg, const char *token, int64_t now_s,
	       struct principal *out, struct app_error *err);

/* Signs an access token for p (sub, email, role, permissions from p->perms)
 * with iat/exp/jti and cfg->issuer, plus iat_ms when p->iat_ms is set and
 * falls within iat's second (revocation compares it with a user's
 * not-before, API.md §6). Returns a malloc'd token (caller frees),
 * or NULL for anything jwt_verify would refuse: an unacceptable key, an empty
 * issuer, a user id outside 1..2^53-1, an unknown role, an empty or over-127-
 * byte jti, an email that does not fit. */
char *jwt_sign(const struct jwt_config *cfg, const struct principal *p, int64_t iat, int64_t exp,
	       const char *jti);

#endif
