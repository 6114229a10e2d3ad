/* revoke_proof.c - the HMAC a RevokeUserTokens request carries; see
 * revoke_proof.h. */
#include "revoke_proof.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

void revoke_proof_make(const struct jwt_config *cfg, int64_t user_id, int64_t not_before_ms,
		       char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char msg[80];
	int n = snprintf(msg, sizeof(msg), "revoke-user:%lld:%lld", (long long)user_id,
			 (long long)not_before_ms);

	out[0] = '\0';
	if (!cfg || !cfg->secret ||
	    !HMAC(EVP_sha256(), cfg->secret, (int)strlen(cfg->secret), (const unsigned char *)msg,
		  (size_t)n, mac, &len) ||
	    len * 2 != REVOKE_PROOF_HEX_LEN)
		return;
	for (unsigned int i = 0; i < len; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[REVOKE_PROOF_HEX_LEN] = '\0';
}

bool revoke_proof_ok(const struct jwt_config *cfg, int64_t user_id, int64_t not_before_ms,
		     const char *proof)
{
	char want[REVOKE_PROOF_HEX_LEN + 1];

	revoke_proof_make(cfg, user_id, not_before_ms, want);
	return proof && want[0] && strlen(proof) == REVOKE_PROOF_HEX_LEN &&
	       CRYPTO_memcmp(want, proof, REVOKE_PROOF_HEX_LEN) == 0;
}
