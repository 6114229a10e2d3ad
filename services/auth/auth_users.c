/* auth_users.c - the auth service's client of UsersService (VerifyCredentials
 * at login, GetUser to read a user's current state): real gRPC calls with a
 * deadline, the request id forwarded. With auth_rpc.c, the only auth files
 * that touch generated protobuf types. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "agentos/users/v1/users.pb-c.h"
#include "auth_rpc.h"
#include "jwt_hs256.h"
#include "util.h"

#define USERS_PATH(m) "/agentos.users.v1.UsersService/" m

struct auth_users_client {
	struct rpc_channel *ch;
	int deadline_ms;
};

struct auth_users_client *auth_users_client_new(const char *target, int deadline_ms)
{
	struct auth_users_client *cl = xcalloc(1, sizeof(*cl));

	cl->ch = rpc_channel_new(target);
	cl->deadline_ms = deadline_ms;
	return cl;
}

void auth_users_client_free(struct auth_users_client *cl)
{
	if (!cl)
		return;
	rpc_channel_free(cl->ch);
	free(cl);
}

static int64_t timestamp_us(const Google__Protobuf__Timestamp *t)
{
	return t ? t->seconds * 1000000 + t->nanos / 1000 : 0;
}

static void user_from_msg(const Agentos__Users__V1__User *m, struct auth_user *u)
{
	u->id = m->id;
	strlcpy_s(u->email, m->email ? m->email : "", sizeof(u->email));
	strlcpy_s(u->name, m->name ? m->name : "", sizeof(u->name));
	strlcpy_s(u->role, m->role ? m->role : "", sizeof(u->role));
	u->is_active = m->is_active;
	u->is_verified = m->is_verified;
	u->version = m->version;
	u->created_at_us = timestamp_us(m->created_at);
	u->updated_at_us = timestamp_us(m->updated_at);
}

/* The configured deadline, shortened to end before the origin's own (a
 * margin left for our reply to reach it). */
/* The configured deadline, shortened to end before the origin's own. */
static int deadline_for(const struct auth_users_client *cl, const struct rpc_origin *origin)
{
	return rpc_deadline_within(cl->deadline_ms, origin ? origin->remaining_ms : INT64_MAX);
}

/* One call whose reply is a User. */
static int call_user(struct auth_users_client *cl, const char *method, const ProtobufCMessage *req,
		     const struct rpc_metadata *md, size_t nmd, const struct rpc_origin *origin,
		     struct auth_user *out, struct app_error *err)
{
	ProtobufCMessage *reply = NULL;

	if (rpc_call_unary(cl->ch, method, req, &agentos__users__v1__user__descriptor, md, nmd,
			   deadline_for(cl, origin), &reply, err, NULL) != 0)
		return -1;
	user_from_msg((const Agentos__Users__V1__User *)reply, out);
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

static const char *request_id_of(const struct rpc_origin *origin)
{
	return origin ? origin->request_id : NULL;
}

static int verify_credentials(void *ctx, const char *email, const char *password,
			      const struct rpc_origin *origin, struct auth_user *out,
			      struct app_error *err)
{
	Agentos__Users__V1__VerifyCredentialsRequest
		req = AGENTOS__USERS__V1__VERIFY_CREDENTIALS_REQUEST__INIT;
	struct rpc_metadata md[] = { { "x-request-id", request_id_of(origin) } };

	req.email = (char *)email;
	req.password = (char *)password;
	return call_user(ctx, USERS_PATH("VerifyCredentials"), &req.base, md, ARRAY_SIZE(md),
			 origin, out, err);
}

static int get_me(void *ctx, const char *token, const struct rpc_origin *origin,
		  struct auth_user *out, struct app_error *err)
{
	Agentos__Users__V1__GetUserRequest req = AGENTOS__USERS__V1__GET_USER_REQUEST__INIT;
	char bearer[JWT_MAX_TOKEN_BYTES + 8];
	struct rpc_metadata md[] = { { "authorization", bearer },
				     { "x-request-id", request_id_of(origin) } };

	if ((size_t)snprintf(bearer, sizeof(bearer), "Bearer %s", token) >= sizeof(bearer))
		return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
	req.id = 0; /* me */
	return call_user(ctx, USERS_PATH("GetUser"), &req.base, md, ARRAY_SIZE(md), origin, out,
			 err);
}

struct auth_users auth_users_client_api(struct auth_users_client *cl)
{
	return (struct auth_users){ .verify_credentials = verify_credentials,
				    .get_me = get_me,
				    .ctx = cl };
}
