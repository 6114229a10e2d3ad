/* posts_users.c - the posts service's client of UsersService: the authors'
 * current names, from the near copy (kv.h) where it has them and otherwise
 * from one BatchGetUsers call per reply. BatchGetUsers is open, so no
 * credentials are sent (only x-request-id). With posts_rpc.c, the only
 * posts files that touch generated protobuf types.
 *
 * A name is kept under the key of the user's cache entry, user:<id>: the
 * users service replaces that key after every committed write to the
 * user, and Redis's message about it drops the name here. The copy holds
 * "=<name>", or "-" for a user BatchGetUsers does not know (deleted). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentos/users/v1/users.pb-c.h"
#include "kv.h"
#include "log.h"
#include "posts_rpc.h"
#include "util.h"

#define BATCH_PATH "/agentos.users.v1.UsersService/BatchGetUsers"
#define KEY_MAX 32

struct posts_users_client {
	struct rpc_channel *ch;
	int deadline_ms;
	struct kv *kv; /* NULL: no copy */
};

struct posts_users_client *posts_users_client_new(const char *target, int deadline_ms,
						  struct kv *kv)
{
	struct posts_users_client *cl = xcalloc(1, sizeof(*cl));

	cl->ch = rpc_channel_new(target);
	cl->deadline_ms = deadline_ms;
	cl->kv = kv;
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

static void user_key(char *buf, int64_t id)
{
	snprintf(buf, KEY_MAX, KV_USER_PREFIX "%" PRId64, id);
}

/* true when the copy knows id: *name is its name (from a), or NULL. */
static bool known(struct kv *kv, struct arena *a, int64_t id, const char **name)
{
	char key[KEY_MAX], *val = NULL;
	size_t len;

	user_key(key, id);
	if (!kv_near_get(kv, key, &val, &len))
		return false;
	*name = val[0] == '=' ? arena_strdup(a, val + 1) : NULL;
	free(val);
	return true;
}

/* Keeps what BatchGetUsers said of ask[k], unless the user changed since
 * marks[k] was taken. */
static void remember(struct kv *kv, int64_t id, const char *name, const struct kv_near_mark *m)
{
	char key[KEY_MAX];
	size_t len = name ? strlen(name) : 0;
	char *val = xmalloc(len + 2);

	user_key(key, id);
	val[0] = name ? '=' : '-';
	memcpy(val + 1, name ? name : "", len + 1);
	kv_near_put(kv, key, val, len + 1, m);
	free(val);
}

/* One BatchGetUsers for ids[0..n): names[i] set for each one it knows. */
static int batch_get(struct posts_users_client *cl, struct arena *a,
		     const struct rpc_origin *origin, const int64_t *ids, size_t n,
		     const char **names, struct app_error *err)
{
	Agentos__Users__V1__BatchGetUsersRequest
		req = AGENTOS__USERS__V1__BATCH_GET_USERS_REQUEST__INIT;
	const Agentos__Users__V1__BatchGetUsersResponse *m;
	struct rpc_metadata md[] = { { "x-request-id", origin ? origin->request_id : NULL } };
	ProtobufCMessage *reply = NULL;

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
				names[i] = arena_strdup(a,
							m->users[u]->name ? m->users[u]->name : "");
		}
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int posts_users_names(void *ctx, struct arena *a, const struct rpc_origin *origin,
		      const int64_t *ids, size_t n, const char **names, struct app_error *err)
{
	struct posts_users_client *cl = ctx;
	bool copy = cl->kv && kv_near_usable(cl->kv);
	int64_t *ask = arena_alloc(a, sizeof(*ask) * (n ? n : 1));
	size_t *at = arena_alloc(a, sizeof(*at) * (n ? n : 1));
	struct kv_near_mark *marks = arena_alloc(a, sizeof(*marks) * (n ? n : 1));
	const char **got = arena_alloc(a, sizeof(*got) * (n ? n : 1));
	size_t nask = 0;
	char key[KEY_MAX];

	for (size_t i = 0; i < n; i++) {
		names[i] = NULL;
		if (copy && known(cl->kv, a, ids[i], &names[i]))
			continue;
		if (cl->kv) {
			user_key(key, ids[i]);
			kv_near_mark(cl->kv, key, &marks[nask]);
		} else {
			marks[nask].usable = false;
		}
		got[nask] = NULL;
		at[nask] = i;
		ask[nask++] = ids[i];
	}
	if (nask == 0)
		return 0;
	if (batch_get(cl, a, origin, ask, nask, got, err) != 0)
		return -1;
	for (size_t k = 0; k < nask; k++) {
		names[at[k]] = got[k];
		if (cl->kv)
			remember(cl->kv, ask[k], got[k], &marks[k]);
	}
	return 0;
}
