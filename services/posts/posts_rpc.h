/* posts_rpc.h - the PostsService method table for the shared rpc runtime, and
 * the UsersService client the service reaches authors' names through. */
#ifndef POSTS_RPC_H
#define POSTS_RPC_H

#include <stddef.h>

#include "posts_service.h"
#include "rpc.h"

#define POSTS_SERVICE_NAME "agentos.posts.v1.PostsService"

/* The handlers' app pointer is the struct posts_ctx; each call's caller is
 * resolved by the runtime (svc_run's resolver). */
extern const struct rpc_method posts_rpc_methods[];
extern const size_t posts_rpc_methods_count;

/* ---- UsersService client (posts_users.c) ------------------------------------ */

struct posts_users_client;

/* A long-lived channel to UsersService at target; every call has deadline_ms
 * at most (less when the incoming call has less time left). Names it got
 * are kept in kv's near copy (kv.h) under user:<id>, until that entry
 * changes; kv may be NULL (no copy). Never NULL. */
struct posts_users_client *posts_users_client_new(const char *target, int deadline_ms,
						  struct kv *kv);
/* NULL is a no-op. */
void posts_users_client_free(struct posts_users_client *cl);
/* A posts_names_fn over UsersService.BatchGetUsers; ctx is the client. */
int posts_users_names(void *ctx, struct arena *a, const struct rpc_origin *origin,
		      const int64_t *ids, size_t n, const char **names, struct app_error *err);

#endif
