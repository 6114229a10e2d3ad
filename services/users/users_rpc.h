/* users_rpc.h - the UsersService method table for the shared rpc runtime. */
#ifndef USERS_RPC_H
#define USERS_RPC_H

#include <stddef.h>

#include "jwt_hs256.h"
#include "rpc.h"
#include "users_service.h"

/* The client of AuthService.RevokeUserTokens (users_auth.c) on ch
 * (borrowed); jwt signs the proofs. Never NULL. */
struct users_auth_client;
struct users_auth_client *users_auth_client_new(struct rpc_channel *ch,
						const struct jwt_config *jwt);
void users_auth_client_free(struct users_auth_client *cl);
/* The users_ctx.revoke_tokens implementation; ctx is the client. */
int users_auth_revoke(void *ctx, int64_t user_id, int64_t not_before_ms, int deadline_ms,
		      int64_t *seq, struct app_error *err);

#define USERS_SERVICE_NAME "agentos.users.v1.UsersService"

/* The handlers' app pointer is the struct users_ctx; each call's caller is
 * resolved by the runtime (svc_run's resolver). */
extern const struct rpc_method users_rpc_methods[];
extern const size_t users_rpc_methods_count;

#endif
