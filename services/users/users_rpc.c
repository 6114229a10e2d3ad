/* users_rpc.c - UsersService over gRPC: with users_auth.c (the AuthService
 * client) the only users files that touch generated protobuf types. The
 * runtime resolves each call's caller; a handler converts the request into
 * the service's structs, and the result back into a reply allocated from the
 * call's arena. */
#include "users_rpc.h"

#include "agentos/users/v1/users.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "log.h"
#include "revocation.h"
#include "rpc_msg.h"
#include "util.h"

#define PATH(m) "/agentos.users.v1.UsersService/" m

/* A reply User pointing into u (which must live as long as the call). full =
 * false gives only the public part (id, name). */
static Agentos__Users__V1__User *user_msg(struct arena *a, struct user *u, bool full)
{
	Agentos__Users__V1__User *m = arena_alloc(a, sizeof(*m));

	agentos__users__v1__user__init(m);
	m->id = u->id;
	m->name = u->name;
	if (!full)
		return m;
	m->email = u->email;
	m->role = u->role;
	m->is_active = u->is_active;
	m->is_verified = u->is_verified;
	m->version = u->version;
	m->created_at = rpc_msg_timestamp(a, u->created_at_us);
	m->updated_at = rpc_msg_timestamp(a, u->updated_at_us);
	return m;
}

/* A revoking write's feed position as a trailer: the gateway answers once
 * its revocation copy has it. */
static void answer_seq(struct rpc_ctx *cx, int64_t seq)
{
	if (seq > 0)
		rpc_call_set_trailer_i64(cx->call, REVOCATION_SEQ_TRAILER, seq);
}

static int create_user(void *app, struct rpc_ctx *cx)
{
	const Agentos__Users__V1__CreateUserRequest *r = cx->req;
	struct user *u = arena_alloc(cx->arena, sizeof(*u));
	struct user_create in = {
		.email = r->email,
		.password = r->password,
		.name = r->name,
		.role = r->role,
		.has_is_active = r->is_active != NULL,
		.is_active = r->is_active && r->is_active->value,
		.has_is_verified = r->is_verified != NULL,
		.is_verified = r->is_verified && r->is_verified->value,
	};

	if (users_create(app, cx->caller, cx->arena, &in, u, cx->err) != 0)
		return -1;
	return rpc_reply(cx, &user_msg(cx->arena, u, true)->base);
}

static int get_user(void *app, struct rpc_ctx *cx)
{
	const Agentos__Users__V1__GetUserRequest *r = cx->req;
	struct user *u = arena_alloc(cx->arena, sizeof(*u));

	if (users_get(app, cx->caller, r->id, u, cx->err) != 0)
		return -1;
	return rpc_reply(cx, &user_msg(cx->arena, u, true)->base);
}

static int batch_get_users(void *app, struct rpc_ctx *cx)
{
	const Agentos__Users__V1__BatchGetUsersRequest *r = cx->req;
	Agentos__Users__V1__BatchGetUsersResponse *m = arena_alloc(cx->arena, sizeof(*m));
	struct user *users;
	size_t n;
	bool full;

	if (users_batch_get(app, cx->caller, cx->arena, r->ids, r->n_ids, &users, &n, &full,
			    cx->err) != 0)
		return -1;
	agentos__users__v1__batch_get_users_response__init(m);
	m->users = arena_alloc(cx->arena, sizeof(*m->users) * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		m->users[i] = user_msg(cx->arena, &users[i], full);
	m->n_users = n;
	return rpc_reply(cx, &m->base);
}

static int list_users(void *app, struct rpc_ctx *cx)
{
	const Agentos__Users__V1__ListUsersRequest *r = cx->req;
	Agentos__Users__V1__ListUsersResponse *m = arena_alloc(cx->arena, sizeof(*m));
	struct user_query q = { .page = r->page,
				.limit = r->limit,
				.sort = r->sort,
				.name = r->name,
				.email = r->email,
				.status = r->status,
				.role = r->role };
	struct page_info pi;
	struct user *users;
	size_t n;

	if (users_list(app, cx->caller, cx->arena, &q, &users, &n, &pi, cx->err) != 0)
		return -1;
	agentos__users__v1__list_users_response__init(m);
	m->users = arena_alloc(cx->arena, sizeof(*m->users) * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		m->users[i] = user_msg(cx->arena, &users[i], true);
	m->n_users = n;
	m->pagination = rpc_msg_pagination(cx->arena, &pi);
	return rpc_reply(cx, &m->base);
}

static int update_user(void *app, struct rpc_ctx *cx)
{
	const Agentos__Users__V1__UpdateUserRequest *r = cx->req;
	struct user *u = arena_alloc(cx->arena, sizeof(*u));
	const Agentos__Users__V1__User *v = r->user;
	struct user_patch patch = {
		.paths = r->update_mask ? (const char *const *)r->update_mask->paths : NULL,
		.npaths = r->update_mask ? r->update_mask->n_paths : 0,
		.email = v ? v->email : "",
		.name = v ? v->name : "",
		.role = v ? v->role : "",
		.is_active = v && v->is_active,
		.is_verified = v && v->is_verified,
		.expected_version = r->version,
	};
	int64_t seq = 0;

	if (users_update(app, cx->caller, cx->arena, r->id, &patch, u, &seq, cx->err) != 0)
		return -1;
	answer_seq(cx, seq);
	return rpc_reply(cx, &user_msg(cx->arena, u, true)->base);
}

static int delete_user(void *app, struct rpc_ctx *cx)
{
	const Agentos__Users__V1__DeleteUserRequest *r = cx->req;
	int64_t seq = 0;

	if (users_delete(app, cx->caller, r->id, &seq, cx->err) != 0)
		return -1;
	answer_seq(cx, seq);
	return rpc_reply(cx, rpc_msg_empty(cx->arena));
}

static int change_password(void *app, struct rpc_ctx *cx)
{
	const Agentos__Users__V1__ChangePasswordRequest *r = cx->req;
	int64_t seq = 0;

	if (users_change_password(app, cx->caller, cx->arena, r->id, r->current_password,
				  r->new_password, &seq, cx->err) != 0)
		return -1;
	answer_seq(cx, seq);
	return rpc_reply(cx, rpc_msg_empty(cx->arena));
}

static int verify_credentials(void *app, struct rpc_ctx *cx)
{
	const Agentos__Users__V1__VerifyCredentialsRequest *r = cx->req;
	struct user *u = arena_alloc(cx->arena, sizeof(*u));

	if (users_verify_credentials(app, cx->arena, rpc_call_peer_host(cx->call), r->email,
				     r->password, u, cx->err) != 0)
		return -1;
	return rpc_reply(cx, &user_msg(cx->arena, u, true)->base);
}

const struct rpc_method users_rpc_methods[] = {
	/* GetUser and BatchGetUsers (a cache hit, a Redis round trip) share the
	 * quick workers; the rest wait on argon2, transactions or the auth
	 * service, each in a lane of its own (rpc.h). */
	RPC_UNARY_SLOW(PATH("CreateUser"), &agentos__users__v1__create_user_request__descriptor,
		       create_user),
	RPC_UNARY(PATH("GetUser"), &agentos__users__v1__get_user_request__descriptor, get_user),
	RPC_UNARY(PATH("BatchGetUsers"), &agentos__users__v1__batch_get_users_request__descriptor,
		  batch_get_users),
	RPC_UNARY_SLOW(PATH("ListUsers"), &agentos__users__v1__list_users_request__descriptor,
		       list_users),
	RPC_UNARY_SLOW(PATH("UpdateUser"), &agentos__users__v1__update_user_request__descriptor,
		       update_user),
	RPC_UNARY_SLOW(PATH("DeleteUser"), &agentos__users__v1__delete_user_request__descriptor,
		       delete_user),
	RPC_UNARY_SLOW(PATH("ChangePassword"),
		       &agentos__users__v1__change_password_request__descriptor, change_password),
	RPC_UNARY_SLOW(PATH("VerifyCredentials"),
		       &agentos__users__v1__verify_credentials_request__descriptor,
		       verify_credentials),
};
const size_t users_rpc_methods_count = ARRAY_SIZE(users_rpc_methods);
