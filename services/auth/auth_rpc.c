/* auth_rpc.c - AuthService over gRPC: with auth_users.c, the only auth files
 * that touch generated protobuf types. The runtime resolves each call's
 * caller (a credential that is present but invalid is a 401 even on the
 * open methods); a handler converts the request into the service's structs,
 * and the result back into a reply allocated from the call's arena. */
#include "auth_rpc.h"

#include "agentos/auth/v1/auth.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "rpc_msg.h"
#include "revocation.h"
#include "util.h"

#define PATH(m) "/agentos.auth.v1.AuthService/" m
#define AUTH_FEED_HEARTBEAT_MS 1000
#define AUTH_FEED_SLICE_MS 250

/* The permission names of set (static strings) in an array from a. */
static char **perm_array(struct arena *a, perm_set set, size_t *n)
{
	const char *names[PERM__COUNT];
	char **out = arena_alloc(a, sizeof(*out) * PERM__COUNT);
	int k = perm_names(set, names, PERM__COUNT);

	for (int i = 0; i < k; i++)
		out[i] = (char *)names[i];
	*n = (size_t)k;
	return out;
}

static Agentos__Users__V1__User *user_msg(struct arena *a, struct auth_user *u)
{
	Agentos__Users__V1__User *m = arena_alloc(a, sizeof(*m));

	agentos__users__v1__user__init(m);
	m->id = u->id;
	m->email = u->email;
	m->name = u->name;
	m->role = u->role;
	m->is_active = u->is_active;
	m->is_verified = u->is_verified;
	m->version = u->version;
	m->created_at = rpc_msg_timestamp(a, u->created_at_us);
	m->updated_at = rpc_msg_timestamp(a, u->updated_at_us);
	return m;
}

/* pair must live as long as the call (it is arena memory). */
static ProtobufCMessage *token_pair_msg(struct arena *a, struct auth_token_pair *pair)
{
	Agentos__Auth__V1__TokenPair *m = arena_alloc(a, sizeof(*m));

	agentos__auth__v1__token_pair__init(m);
	m->access_token = (char *)pair->access_token;
	m->token_type = "Bearer";
	m->expires_in = pair->expires_in;
	m->refresh_token = pair->refresh_token;
	m->user = user_msg(a, &pair->user);
	return &m->base;
}

static ProtobufCMessage *principal_msg(struct arena *a, struct principal *p)
{
	Agentos__Auth__V1__Principal *m = arena_alloc(a, sizeof(*m));

	agentos__auth__v1__principal__init(m);
	m->user_id = p->user_id;
	m->email = p->email;
	m->role = p->role;
	m->permissions = perm_array(a, p->perms, &m->n_permissions);
	m->auth_method = p->method == AUTH_API_KEY ? "api_key" : "jwt";
	m->expires_at = rpc_msg_timestamp(a, p->exp * 1000000);
	return &m->base;
}

static char *key_prefix(struct arena *a, const struct auth_api_key *k)
{
	return arena_sprintf(a, "ak_%s", k->public_id);
}

static Agentos__Auth__V1__ApiKey *api_key_msg(struct arena *a, struct auth_api_key *k)
{
	Agentos__Auth__V1__ApiKey *m = arena_alloc(a, sizeof(*m));

	agentos__auth__v1__api_key__init(m);
	m->id = k->id;
	m->name = k->name;
	m->prefix = key_prefix(a, k);
	m->permissions = perm_array(a, k->perms, &m->n_permissions);
	m->expires_at = rpc_msg_timestamp(a, k->expires_at_us);
	m->created_at = rpc_msg_timestamp(a, k->created_at_us);
	m->last_used_at = rpc_msg_timestamp(a, k->last_used_at_us);
	m->revoked_at = rpc_msg_timestamp(a, k->revoked_at_us);
	return m;
}

static ProtobufCMessage *new_api_key_msg(struct arena *a, struct auth_new_api_key *n)
{
	Agentos__Auth__V1__NewApiKey *m = arena_alloc(a, sizeof(*m));

	agentos__auth__v1__new_api_key__init(m);
	m->id = n->key.id;
	m->name = n->key.name;
	m->prefix = key_prefix(a, &n->key);
	m->key = n->full;
	m->permissions = perm_array(a, n->key.perms, &m->n_permissions);
	m->expires_at = rpc_msg_timestamp(a, n->key.expires_at_us);
	m->created_at = rpc_msg_timestamp(a, n->key.created_at_us);
	return &m->base;
}

/* ---- tokens ---------------------------------------------------------------------------- */

static int login(void *app, struct rpc_ctx *cx)
{
	const Agentos__Auth__V1__LoginRequest *r = cx->req;
	struct auth_token_pair *pair = arena_alloc(cx->arena, sizeof(*pair));

	if (auth_login(app, cx->arena, &cx->origin, r->email, r->password, pair, cx->err) != 0)
		return -1;
	return rpc_reply(cx, token_pair_msg(cx->arena, pair));
}

static int refresh(void *app, struct rpc_ctx *cx)
{
	const Agentos__Auth__V1__RefreshRequest *r = cx->req;
	struct auth_token_pair *pair = arena_alloc(cx->arena, sizeof(*pair));

	if (auth_refresh(app, cx->arena, &cx->origin, r->refresh_token, pair, cx->err) != 0)
		return -1;
	return rpc_reply(cx, token_pair_msg(cx->arena, pair));
}

static int logout(void *app, struct rpc_ctx *cx)
{
	int64_t seq = 0;

	if (auth_logout(app, cx->caller, &seq, cx->err) != 0)
		return -1;
	if (seq > 0) /* the gateway answers once its copy has it */
		rpc_call_set_trailer_i64(cx->call, REVOCATION_SEQ_TRAILER, seq);
	return rpc_reply(cx, rpc_msg_empty(cx->arena));
}

static int revoke_user_tokens(void *app, struct rpc_ctx *cx)
{
	const Agentos__Auth__V1__RevokeUserTokensRequest *r = cx->req;
	Agentos__Auth__V1__RevokeUserTokensResponse *m;
	int64_t seq = 0;

	if (auth_revoke_user_tokens(app, r->user_id, r->not_before_ms, r->proof, &seq, cx->err) !=
	    0)
		return -1;
	m = arena_alloc(cx->arena, sizeof(*m));
	agentos__auth__v1__revoke_user_tokens_response__init(m);
	m->seq = seq;
	return rpc_reply(cx, &m->base);
}

/* A batch for one page of the feed, from a. */
static ProtobufCMessage *batch_msg(struct arena *a, const struct auth_revocation_page *pg)
{
	Agentos__Auth__V1__RevocationBatch *m = arena_alloc(a, sizeof(*m));
	size_t nt = 0, nu = 0;

	agentos__auth__v1__revocation_batch__init(m);
	m->seq = pg->seq;
	m->feed_id = (char *)pg->feed_id;
	m->reset = pg->reset;
	m->caught_up = !pg->more;
	m->tokens = arena_alloc(a, (pg->n ? pg->n : 1) * sizeof(*m->tokens));
	m->users = arena_alloc(a, (pg->n ? pg->n : 1) * sizeof(*m->users));
	for (size_t i = 0; i < pg->n; i++) {
		const struct auth_revocation_row *row = &pg->rows[i];

		if (row->jti) {
			Agentos__Auth__V1__RevokedToken *t = arena_alloc(a, sizeof(*t));

			agentos__auth__v1__revoked_token__init(t);
			t->jti = (char *)row->jti;
			t->expires_at_ms = row->expires_at_ms;
			m->tokens[nt++] = t;
		} else {
			Agentos__Auth__V1__UserNotBefore *u = arena_alloc(a, sizeof(*u));

			agentos__auth__v1__user_not_before__init(u);
			u->user_id = row->user_id;
			u->not_before_ms = row->not_before_ms;
			u->expires_at_ms = row->expires_at_ms;
			m->users[nu++] = u;
		}
	}
	m->n_tokens = nt;
	m->n_users = nu;
	return &m->base;
}

/* Waits until this process's copy moves past seq, at most a heartbeat
 * interval; false when the stream is over. */
static bool wait_for_change(struct auth_ctx *svc, struct rpc_stream *st, int64_t seq)
{
	for (int waited = 0; waited < AUTH_FEED_HEARTBEAT_MS; waited += AUTH_FEED_SLICE_MS) {
		if (rpc_stream_done(st))
			return false;
		if (revocations_wait_beyond(svc->revocations, seq, AUTH_FEED_SLICE_MS))
			break;
	}
	return !rpc_stream_done(st);
}

/* The feed, from the follower's position: pages of changes, then each new
 * change as it lands, and a heartbeat every second while nothing does. */
static int watch_revocations(void *app, struct rpc_call *call, const ProtobufCMessage *req,
			     struct rpc_stream *st, struct app_error *err)
{
	const Agentos__Auth__V1__WatchRevocationsRequest *r = (const void *)req;
	char feed_id[REVOCATION_FEED_ID_MAX];
	int64_t seq = r->after_seq;

	(void)call;
	strlcpy_s(feed_id, r->feed_id ? r->feed_id : "", sizeof(feed_id));
	for (;;) {
		struct auth_revocation_page pg;
		struct arena a;
		int rc;

		arena_init(&a);
		rc = auth_revocations_page(app, seq, feed_id, &a, &pg, err);
		if (rc == 0)
			rc = rpc_stream_send(st, batch_msg(&a, &pg));
		arena_release(&a);
		if (rc != 0)
			return err->code == ERR_OK ? 0 : -1; /* a failed send: the client is gone */
		seq = pg.seq;
		strlcpy_s(feed_id, pg.feed_id, sizeof(feed_id));
		if (!pg.more && !wait_for_change(app, st, seq))
			return 0;
	}
}

static int validate_token(void *app, struct rpc_ctx *cx)
{
	const Agentos__Auth__V1__ValidateTokenRequest *r = cx->req;
	struct principal *out = arena_alloc(cx->arena, sizeof(*out));

	if (auth_validate_token(app, cx->caller, r->token, out, cx->err) != 0)
		return -1;
	return rpc_reply(cx, principal_msg(cx->arena, out));
}

static int validate_api_key(void *app, struct rpc_ctx *cx)
{
	const Agentos__Auth__V1__ValidateApiKeyRequest *r = cx->req;
	struct principal *out = arena_alloc(cx->arena, sizeof(*out));

	if (auth_keys_validate(app, &cx->origin, r->key, out, cx->err) != 0)
		return -1;
	return rpc_reply(cx, principal_msg(cx->arena, out));
}

/* ---- API keys ---------------------------------------------------------------------------- */

static int create_api_key(void *app, struct rpc_ctx *cx)
{
	const Agentos__Auth__V1__CreateApiKeyRequest *r = cx->req;
	struct auth_new_api_key *out = arena_alloc(cx->arena, sizeof(*out));
	struct auth_key_create in = { .name = r->name,
				      .perms = (const char *const *)r->permissions,
				      .nperms = r->n_permissions,
				      .expires_in_days = r->expires_in_days };

	if (auth_keys_create(app, cx->caller, cx->arena, &in, out, cx->err) != 0)
		return -1;
	return rpc_reply(cx, new_api_key_msg(cx->arena, out));
}

static int list_api_keys(void *app, struct rpc_ctx *cx)
{
	const Agentos__Auth__V1__ListApiKeysRequest *r = cx->req;
	Agentos__Auth__V1__ListApiKeysResponse *m = arena_alloc(cx->arena, sizeof(*m));
	struct auth_api_key *keys;
	struct page_info pi;
	size_t n;

	if (auth_keys_list(app, cx->caller, cx->arena, r->page, r->limit, r->user_id, &keys, &n,
			   &pi, cx->err) != 0)
		return -1;
	agentos__auth__v1__list_api_keys_response__init(m);
	m->api_keys = arena_alloc(cx->arena, sizeof(*m->api_keys) * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		m->api_keys[i] = api_key_msg(cx->arena, &keys[i]);
	m->n_api_keys = n;
	m->pagination = rpc_msg_pagination(cx->arena, &pi);
	return rpc_reply(cx, &m->base);
}

static int get_api_key(void *app, struct rpc_ctx *cx)
{
	const Agentos__Auth__V1__GetApiKeyRequest *r = cx->req;
	struct auth_api_key *k = arena_alloc(cx->arena, sizeof(*k));

	if (auth_keys_get(app, cx->caller, r->id, k, cx->err) != 0)
		return -1;
	return rpc_reply(cx, &api_key_msg(cx->arena, k)->base);
}

static int revoke_api_key(void *app, struct rpc_ctx *cx)
{
	const Agentos__Auth__V1__RevokeApiKeyRequest *r = cx->req;

	if (auth_keys_revoke(app, cx->caller, r->id, cx->err) != 0)
		return -1;
	return rpc_reply(cx, rpc_msg_empty(cx->arena));
}

static int rotate_api_key(void *app, struct rpc_ctx *cx)
{
	const Agentos__Auth__V1__RotateApiKeyRequest *r = cx->req;
	struct auth_new_api_key *out = arena_alloc(cx->arena, sizeof(*out));

	if (auth_keys_rotate(app, cx->caller, r->id, out, cx->err) != 0)
		return -1;
	return rpc_reply(cx, new_api_key_msg(cx->arena, out));
}

const struct rpc_method auth_rpc_methods[] = {
	RPC_UNARY(PATH("Login"), &agentos__auth__v1__login_request__descriptor, login),
	RPC_UNARY(PATH("Refresh"), &agentos__auth__v1__refresh_request__descriptor, refresh),
	RPC_UNARY(PATH("Logout"), &agentos__auth__v1__logout_request__descriptor, logout),
	RPC_UNARY(PATH("ValidateToken"), &agentos__auth__v1__validate_token_request__descriptor,
		  validate_token),
	RPC_UNARY(PATH("ValidateApiKey"), &agentos__auth__v1__validate_api_key_request__descriptor,
		  validate_api_key),
	RPC_UNARY(PATH("CreateApiKey"), &agentos__auth__v1__create_api_key_request__descriptor,
		  create_api_key),
	RPC_UNARY(PATH("ListApiKeys"), &agentos__auth__v1__list_api_keys_request__descriptor,
		  list_api_keys),
	RPC_UNARY(PATH("GetApiKey"), &agentos__auth__v1__get_api_key_request__descriptor,
		  get_api_key),
	RPC_UNARY(PATH("RevokeApiKey"), &agentos__auth__v1__revoke_api_key_request__descriptor,
		  revoke_api_key),
	RPC_UNARY(PATH("RotateApiKey"), &agentos__auth__v1__rotate_api_key_request__descriptor,
		  rotate_api_key),
	RPC_UNARY_NO_CALLER(PATH("RevokeUserTokens"),
			    &agentos__auth__v1__revoke_user_tokens_request__descriptor,
			    revoke_user_tokens),
	RPC_STREAM(PATH("WatchRevocations"),
		   &agentos__auth__v1__watch_revocations_request__descriptor, watch_revocations),
};
const size_t auth_rpc_methods_count = ARRAY_SIZE(auth_rpc_methods);
