/* auth_rpc.c - AuthService over gRPC: with auth_users.c, the only auth file
 * that touches generated protobuf types. Each handler resolves the caller
 * from metadata (a credential that is present but invalid is a 401 even on
 * the open methods), converts the request into the service's structs, and
 * the result back into a reply allocated from the call's arena. */
#include "auth_rpc.h"

#include "agentos/auth/v1/auth.pb-c.h"
#include "caller.h"
#include "google/protobuf/empty.pb-c.h"
#include "rpc_msg.h"
#include "util.h"

#define PATH(m) "/agentos.auth.v1.AuthService/" m

static int caller_of(struct auth_app *app, struct rpc_call *call, struct principal *p,
		     struct app_error *err)
{
	return caller_resolve(app->caller, rpc_call_metadata(call, "authorization"),
			      rpc_call_metadata(call, "x-api-key"), rpc_call_request_id(call), p,
			      err);
}

/* What calls made for this one inherit: its request id and deadline. */
static struct auth_origin origin_of(struct rpc_call *call)
{
	return (struct auth_origin){ .request_id = rpc_call_request_id(call),
				     .remaining_ms = rpc_call_remaining_ms(call) };
}

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

static int login(void *ctx, struct rpc_call *call, const ProtobufCMessage *req,
		 ProtobufCMessage **reply, struct app_error *err)
{
	struct auth_app *app = ctx;
	const Agentos__Auth__V1__LoginRequest *r = (const void *)req;
	struct arena *a = rpc_call_arena(call);
	struct auth_token_pair *pair = arena_alloc(a, sizeof(*pair));
	struct auth_origin origin = origin_of(call);
	struct principal p;

	if (caller_of(app, call, &p, err) != 0 ||
	    auth_login(&app->svc, a, &origin, r->email, r->password, pair, err) != 0)
		return -1;
	*reply = token_pair_msg(a, pair);
	return 0;
}

static int refresh(void *ctx, struct rpc_call *call, const ProtobufCMessage *req,
		   ProtobufCMessage **reply, struct app_error *err)
{
	struct auth_app *app = ctx;
	const Agentos__Auth__V1__RefreshRequest *r = (const void *)req;
	struct arena *a = rpc_call_arena(call);
	struct auth_token_pair *pair = arena_alloc(a, sizeof(*pair));
	struct auth_origin origin = origin_of(call);
	struct principal p;

	if (caller_of(app, call, &p, err) != 0 ||
	    auth_refresh(&app->svc, a, &origin, r->refresh_token, pair, err) != 0)
		return -1;
	*reply = token_pair_msg(a, pair);
	return 0;
}

static int logout(void *ctx, struct rpc_call *call, const ProtobufCMessage *req,
		  ProtobufCMessage **reply, struct app_error *err)
{
	struct auth_app *app = ctx;
	struct principal p;

	if (caller_of(app, call, &p, err) != 0 || auth_logout(&app->svc, &p, err) != 0)
		return -1;
	*reply = rpc_msg_empty(rpc_call_arena(call));
	return 0;
}

static int validate_token(void *ctx, struct rpc_call *call, const ProtobufCMessage *req,
			  ProtobufCMessage **reply, struct app_error *err)
{
	struct auth_app *app = ctx;
	const Agentos__Auth__V1__ValidateTokenRequest *r = (const void *)req;
	struct arena *a = rpc_call_arena(call);
	struct principal *out = arena_alloc(a, sizeof(*out));
	struct principal p;

	if (caller_of(app, call, &p, err) != 0 ||
	    auth_validate_token(&app->svc, &p, r->token, out, err) != 0)
		return -1;
	*reply = principal_msg(a, out);
	return 0;
}

static int validate_api_key(void *ctx, struct rpc_call *call, const ProtobufCMessage *req,
			    ProtobufCMessage **reply, struct app_error *err)
{
	struct auth_app *app = ctx;
	const Agentos__Auth__V1__ValidateApiKeyRequest *r = (const void *)req;
	struct arena *a = rpc_call_arena(call);
	struct principal *out = arena_alloc(a, sizeof(*out));
	struct auth_origin origin = origin_of(call);
	struct principal p;

	if (caller_of(app, call, &p, err) != 0 ||
	    auth_keys_validate(&app->svc, &origin, r->key, out, err) != 0)
		return -1;
	*reply = principal_msg(a, out);
	return 0;
}

/* ---- API keys ---------------------------------------------------------------------------- */

static int create_api_key(void *ctx, struct rpc_call *call, const ProtobufCMessage *req,
			  ProtobufCMessage **reply, struct app_error *err)
{
	struct auth_app *app = ctx;
	const Agentos__Auth__V1__CreateApiKeyRequest *r = (const void *)req;
	struct arena *a = rpc_call_arena(call);
	struct auth_new_api_key *out = arena_alloc(a, sizeof(*out));
	struct auth_key_create in = { .name = r->name, .perms = (const char *const *)r->permissions,
				      .nperms = r->n_permissions,
				      .expires_in_days = r->expires_in_days };
	struct principal p;

	if (caller_of(app, call, &p, err) != 0 ||
	    auth_keys_create(&app->svc, &p, a, &in, out, err) != 0)
		return -1;
	*reply = new_api_key_msg(a, out);
	return 0;
}

static int list_api_keys(void *ctx, struct rpc_call *call, const ProtobufCMessage *req,
			 ProtobufCMessage **reply, struct app_error *err)
{
	struct auth_app *app = ctx;
	const Agentos__Auth__V1__ListApiKeysRequest *r = (const void *)req;
	struct arena *a = rpc_call_arena(call);
	Agentos__Auth__V1__ListApiKeysResponse *m = arena_alloc(a, sizeof(*m));
	struct auth_api_key *keys;
	struct page_info pi;
	size_t n;
	struct principal p;

	if (caller_of(app, call, &p, err) != 0 ||
	    auth_keys_list(&app->svc, &p, a, r->page, r->limit, r->user_id, &keys, &n, &pi,
			   err) != 0)
		return -1;
	agentos__auth__v1__list_api_keys_response__init(m);
	m->api_keys = arena_alloc(a, sizeof(*m->api_keys) * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		m->api_keys[i] = api_key_msg(a, &keys[i]);
	m->n_api_keys = n;
	m->pagination = rpc_msg_pagination(a, &pi);
	*reply = &m->base;
	return 0;
}

static int get_api_key(void *ctx, struct rpc_call *call, const ProtobufCMessage *req,
		       ProtobufCMessage **reply, struct app_error *err)
{
	struct auth_app *app = ctx;
	const Agentos__Auth__V1__GetApiKeyRequest *r = (const void *)req;
	struct arena *a = rpc_call_arena(call);
	struct auth_api_key *k = arena_alloc(a, sizeof(*k));
	struct principal p;

	if (caller_of(app, call, &p, err) != 0 || auth_keys_get(&app->svc, &p, r->id, k, err) != 0)
		return -1;
	*reply = &api_key_msg(a, k)->base;
	return 0;
}

static int revoke_api_key(void *ctx, struct rpc_call *call, const ProtobufCMessage *req,
			  ProtobufCMessage **reply, struct app_error *err)
{
	struct auth_app *app = ctx;
	const Agentos__Auth__V1__RevokeApiKeyRequest *r = (const void *)req;
	struct principal p;

	if (caller_of(app, call, &p, err) != 0 || auth_keys_revoke(&app->svc, &p, r->id, err) != 0)
		return -1;
	*reply = rpc_msg_empty(rpc_call_arena(call));
	return 0;
}

static int rotate_api_key(void *ctx, struct rpc_call *call, const ProtobufCMessage *req,
			  ProtobufCMessage **reply, struct app_error *err)
{
	struct auth_app *app = ctx;
	const Agentos__Auth__V1__RotateApiKeyRequest *r = (const void *)req;
	struct arena *a = rpc_call_arena(call);
	struct auth_new_api_key *out = arena_alloc(a, sizeof(*out));
	struct principal p;

	if (caller_of(app, call, &p, err) != 0 ||
	    auth_keys_rotate(&app->svc, &p, r->id, out, err) != 0)
		return -1;
	*reply = new_api_key_msg(a, out);
	return 0;
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
	RPC_UNARY(PATH("GetApiKey"), &agentos__auth__v1__get_api_key_request__descriptor, get_api_key),
	RPC_UNARY(PATH("RevokeApiKey"), &agentos__auth__v1__revoke_api_key_request__descriptor,
	  revoke_api_key),
	RPC_UNARY(PATH("RotateApiKey"), &agentos__auth__v1__rotate_api_key_request__descriptor,
	  rotate_api_key),
};
const size_t auth_rpc_methods_count = ARRAY_SIZE(auth_rpc_methods);
