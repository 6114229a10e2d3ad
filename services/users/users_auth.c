/* users_auth.c - the users service's client of AuthService: delivers a
 * token revocation (RevokeUserTokens) with the proof every holder of the
 * JWT secret can make (revoke_proof.h). With users_rpc.c, the only users files
 * that touch generated protobuf types. */
#include <stdlib.h>

#include "agentos/auth/v1/auth.pb-c.h"
#include "revoke_proof.h"
#include "users_rpc.h"
#include "util.h"

#define REVOKE_PATH "/agentos.auth.v1.AuthService/RevokeUserTokens"

struct users_auth_client {
	struct rpc_channel *ch; /* borrowed */
	const struct jwt_config *jwt;
};

struct users_auth_client *users_auth_client_new(struct rpc_channel *ch,
						const struct jwt_config *jwt)
{
	struct users_auth_client *cl = xcalloc(1, sizeof(*cl));

	cl->ch = ch;
	cl->jwt = jwt;
	return cl;
}

void users_auth_client_free(struct users_auth_client *cl)
{
	free(cl);
}

int users_auth_revoke(void *ctx, int64_t user_id, int64_t not_before_ms, int deadline_ms,
		      int64_t *seq, struct app_error *err)
{
	struct users_auth_client *cl = ctx;
	Agentos__Auth__V1__RevokeUserTokensRequest
		req = AGENTOS__AUTH__V1__REVOKE_USER_TOKENS_REQUEST__INIT;
	char proof[REVOKE_PROOF_HEX_LEN + 1];
	ProtobufCMessage *reply = NULL;

	revoke_proof_make(cl->jwt, user_id, not_before_ms, proof);
	req.user_id = user_id;
	req.not_before_ms = not_before_ms;
	req.proof = proof;
	if (rpc_call_unary(cl->ch, REVOKE_PATH, &req.base,
			   &agentos__auth__v1__revoke_user_tokens_response__descriptor, NULL, 0,
			   deadline_ms, &reply, err, NULL) != 0)
		return -1;
	*seq = ((const Agentos__Auth__V1__RevokeUserTokensResponse *)reply)->seq;
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}
