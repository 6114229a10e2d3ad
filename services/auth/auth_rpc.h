/* auth_rpc.h - the AuthService method table for the shared rpc runtime, and
 * the UsersService client the service logic reaches users through. */
#ifndef AUTH_RPC_H
#define AUTH_RPC_H

#include <stddef.h>

#include "auth_service.h"
#include "rpc.h"

#define AUTH_SERVICE_NAME "agentos.auth.v1.AuthService"

/* The handlers' app pointer is the struct auth_ctx; each call's caller is
 * resolved by the runtime (svc_run's resolver). */
extern const struct rpc_method auth_rpc_methods[];
extern const size_t auth_rpc_methods_count;

/* ---- UsersService client (auth_users.c) ------------------------------------------ */

struct auth_users_client;

/* A long-lived channel to UsersService at target (gRPC target syntax); every
 * call has deadline_ms. Never NULL; free with auth_users_client_free. */
struct auth_users_client *auth_users_client_new(const char *target, int deadline_ms);
/* NULL is a no-op. */
void auth_users_client_free(struct auth_users_client *cl);
/* The struct auth_users that calls UsersService through cl (which must
 * outlive every use of it). */
struct auth_users auth_users_client_api(struct auth_users_client *cl);

#endif
