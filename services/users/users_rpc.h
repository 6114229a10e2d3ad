/* users_rpc.h - the UsersService method table for the shared rpc runtime. */
#ifndef USERS_RPC_H
#define USERS_RPC_H

#include <stddef.h>

#include "authn.h"
#include "rpc.h"
#include "users_service.h"

struct caller_resolver;

/* The handlers' app pointer. */
struct users_app {
	struct users_ctx svc;
	struct caller_resolver *callers; /* every call's credentials (caller.h) */
};

#define USERS_SERVICE_NAME "agentos.users.v1.UsersService"

extern const struct rpc_method users_rpc_methods[];
extern const size_t users_rpc_methods_count;

#endif
