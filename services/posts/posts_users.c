/* posts_users.c - the posts service's client of UsersService: one
 * BatchGetUsers call per reply for the authors' current names. BatchGetUsers
 * is open, so no credentials are sent (only x-request-id). With posts_rpc.c,
 * the only posts files that touch generated protobuf types. */
#include <stdint.h>
#include <stdlib.h>

#include "agentos/users/v1/users.pb-c.h"
#include "log.h"
#include "posts_rpc.h"
#include "util.h"

#define BATCH_PATH "/agentos.users.v1.UsersService/BatchGetUsers"

struct posts_users_client {
	struct rpc_channel *ch;
	int deadline_ms;
};

struct posts_users_client *posts_users_client_new(const char *target, int deadline_ms)
{
	struct posts_users_client *cl = xcalloc(1, sizeof(*cl));

	cl->ch = rpc_channel_new(target);
	cl->deadline_ms = deadline_ms;
	return cl;
}

void posts_users_client_free(struct posts_users_client *cl)
{
	if (!cl)
		return;
	rpc_channel_free(cl->ch);
	free(cl);
}

/* The configured deadline, shortened to end before the origin's own. */
static int deadline_for(const struct posts_users_client *cl, const struct rpc_origin *origin)
{
	return rpc_deadline_within(cl->deadline_ms, origin ? origin->remaining_ms : INT64_MAX);
}

int posts_users_names(void *ctx, struct arena *a, const struct rpc_origin *origin,
		      const int64_t *ids, size_t n, const char **names, struct app_error *err)
{
	struct posts_users_client *cl = ctx;
	Agentos__Users__V1__BatchGetUsersRequest req =
		AGENTOS__USERS__V1__BATCH_GET_USERS_REQUEST__INIT;
	const Agentos__Users__V1__BatchGetUsersResponse *m;
	struct rpc_metadata md[] = { { "x-request-id", origin ? origin->request_id : NULL } };
	ProtobufCMessage *reply = NULL;

	for (size_t i = 0; i < n; i++)
		names[i] = NULL;
	if (n == 0)
		return 0;
	req.ids = (int64_t *)ids;
	req.n_ids = n;
	if (rpc_call_unary(cl->ch, BATCH_PATH, &req.base,
			   &agentos__users__v1__batch_get_users_response__descriptor, md,
			   ARRAY_SIZE(md), deadline_for(cl, origin), &reply, err, NULL) != 0) {
		log_warn("users lookup failed", LOG_S("code", err_name(err->code)),
			 LOG_S("requestId", origin ? origin->request_id : ""));
		return -1;
	}
	m = (const void *)reply;
	for (size_t u = 0; u < m->n_users; u++) {
		for (size_t i = 0; i < n; i++) {
			if (ids[i] == m->users[u]->id)
				names[i] = arena_strdup(a, m->users[u]->name ? m->users[u]->name : "");
		}
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}
