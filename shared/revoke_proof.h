/* revoke_proof.h - the proof a RevokeUserTokens request carries (users ->
 * auth): lower-case hex of HMAC-SHA256(cfg->secret,
 * "revoke-user:<user_id>:<not_before_ms>"). Every process holding the JWT
 * secret can make one, as it can sign tokens: the same trust. */
#ifndef SHARED_REVOKE_PROOF_H
#define SHARED_REVOKE_PROOF_H

#include <stdbool.h>
#include <stdint.h>

#include "jwt_hs256.h"

#define REVOKE_PROOF_HEX_LEN 64

/* The proof for (user_id, not_before_ms) into out (REVOKE_PROOF_HEX_LEN + 1
 * bytes); "" when cfg has no secret. */
void revoke_proof_make(const struct jwt_config *cfg, int64_t user_id, int64_t not_before_ms,
		       char *out);
/* true when proof is that proof (compared in constant time). */
bool revoke_proof_ok(const struct jwt_config *cfg, int64_t user_id, int64_t not_before_ms,
		     const char *proof);

#endif
