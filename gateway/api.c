/* api.c - the gateway's request pipeline; see api.h. */
#include "api.h"

#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "agentos/common/v1/pagination.pb-c.h"
#include "caller.h"
#include "health.h"
#include "json_arena.h"
#include "openapi.h"
#include "ratelimit.h"
#include "log.h"
#include "revocation.h"
#include "metrics.h"
#include "seq_waiter.h"
#include "trace.h"
#include "transcode.h"
#include "util.h"

static void respond_error(const struct api *api, struct http_request *req,
			  struct http_response *res, const struct app_error *err)
{
	struct envelope_meta meta = { .version = api->version, .request_id = req->request_id };

	res->status = err_http_status(err->code);
	res->body = envelope_error(&meta, err, &res->body_len);
	if (res->status == 401)
		http_response_header(res, "WWW-Authenticate", "Bearer");
}

/* Admin-only body keys sent by a caller who is not an admin (whose effective
 * permissions, a key's limited ones included, lack "*"): 403. */
static int check_admin_only(const struct route *r, const json_t *body, const struct principal *p,
			    struct app_error *err)
{
	if (!r->admin_only || !body || perm_is_admin(p->perms))
		return 0;
	for (const char *const *k = r->admin_only; *k; k++) {
		if (json_object_get(body, *k))
			app_error_add_violation(err, *k, "Only an admin may set this field");
	}
	if (err->nviolations == 0)
		return 0;
	return app_error_set(err, ERR_FORBIDDEN, "You may not set these fields");
}

/* The value of a top-level int64 field (0 when absent). */
static int64_t int64_field(const ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *f = transcode_field(m->descriptor, name);

	if (!f || f->type != PROTOBUF_C_TYPE_INT64)
		return 0;
	return *(const int64_t *)((const char *)m + f->offset);
}

/* The reply's pagination (zeros when it has none). */
static struct page_info page_info_of(const ProtobufCMessage *reply)
{
	const ProtobufCFieldDescriptor *f = transcode_field(reply->descriptor, "pagination");
	const Agentos__Common__V1__Pagination *p = NULL;

	if (f)
		p = *(Agentos__Common__V1__Pagination *const *)((const char *)reply + f->offset);
	if (!p)
		return (struct page_info){ 0 };
	return (struct page_info){ .page = p->page,
				   .limit = p->limit,
				   .total = p->total,
				   .total_pages = p->total_pages,
				   .has_next = p->has_next,
				   .has_prev = p->has_prev };
}

/* The envelope written as text straight from the reply (transcode_write):
 * data is the reply, or for a list its repeated field and the pagination. */
static char *reply_envelope(const struct envelope_meta *meta, const struct route *r,
			    const ProtobufCMessage *reply, size_t *len)
{
	struct json_out o;
	struct page_info pi;

	jout_init(&o, 1024);
	envelope_open(&o);
	if (r->reply_kind == REPLY_LIST) {
		transcode_write_field(&o, reply, r->list_field);
		pi = page_info_of(reply);
		envelope_close(&o, meta, &pi);
	} else {
		transcode_write(&o, reply);
		envelope_close(&o, meta, NULL);
	}
	return jout_take(&o, len);
}

static void respond_reply(const struct api *api, struct http_request *req,
			  struct http_response *res, const struct route *r,
			  const ProtobufCMessage *reply)
{
	struct envelope_meta meta = { .version = api->version, .request_id = req->request_id };

	res->status = r->status;
	if (r->reply_kind == REPLY_EMPTY)
		return;
	if (r->etag) {
		char *tag = arena_sprintf(req->arena, "\"%" PRId64 "\"",
					  int64_field(reply, "version"));

		http_response_header(res, "ETag", tag);
	}
	res->body = reply_envelope(&meta, r, reply, &res->body_len);
}

/* ---- one routed request ----------------------------------------------------------
 *
 * A routed request runs as a chain of steps that never wait: the caller is
 * resolved (an API key the cache does not hold is validated by the auth
 * service asynchronously), the upstream call is started on api->async, and
 * its completion (on a completion-queue thread) writes the reply; when the
 * call wrote a revocation, the reply waits (on the seq waiter's thread) for
 * this gateway's copy to hold it. Anything answered before the first
 * asynchronous step is answered on the HTTP thread as before; from the first
 * one on, the request is deferred (http_defer) and http_finish hands the
 * response back. */
struct exchange {
	struct api *api;
	struct http_request *req;
	struct http_response *res;
	struct route_match m;
	const char *client; /* the limiters' key; NULL: not limited */
	struct ratelimit_state limit;
	bool counted; /* the general limiter counted it: its headers */
	bool deferred;
	json_t *body;
	struct principal caller;
	struct app_error err;
	ProtobufCMessage *reply; /* the upstream's, freed once written */
};

/* The end of every routed request: the reply or the error envelope, the
 * auth limiter's take-back, the limiter headers, and the hand-back. */
static void exchange_end(struct exchange *x, int rc)
{
	struct api *api = x->api;

	json_decref(x->body);
	x->body = NULL;
	/* an error envelope's JSON tree lives and dies in the thread's arena
	 * (a reply is written as text: reply_envelope) */
	json_arena_begin();
	if (rc == 0)
		respond_reply(api, x->req, x->res, x->m.route, x->reply);
	else
		respond_error(api, x->req, x->res, &x->err);
	json_arena_end();
	if (x->reply)
		protobuf_c_message_free_unpacked(x->reply, NULL);
	x->reply = NULL;
	if (x->client && x->limit.kind == RATELIMIT_AUTH && x->res->status < 400)
		ratelimit_take_back(api->limits, x->client, &x->limit);
	if (x->counted)
		ratelimit_headers(api->limits, &x->limit, x->req, x->res);
	if (x->deferred)
		http_finish(x->req); /* nothing of x may be touched after this */
}

static void defer(struct exchange *x)
{
	if (!x->deferred) {
		x->deferred = true;
		http_defer(x->req);
	}
}

static void revocation_applied(void *arg, bool applied)
{
	struct exchange *x = arg;

	if (!applied)
		log_warn("revocation not applied here in time; answering anyway",
			 LOG_S("requestId", x->req->request_id),
			 LOG_I("waitedMs", REVOCATION_SEQ_WAIT_MS));
	exchange_end(x, 0);
}

/* The upstream call finished (on a completion-queue thread). When it wrote
 * a revocation (a logout, a password or role change...), the answer waits
 * until this gateway's copy has it, so that the client's next request with
 * the old token is refused here too (bounded: REVOCATION_SEQ_WAIT_MS). */
static void upstream_done(void *arg, struct rpc_result *res)
{
	struct exchange *x = arg;
	long long seq = res->rc == 0 ? strtoll(res->trailer, NULL, 10) : 0;

	metrics_upstream(x->api->metrics, (size_t)x->m.route->upstream,
			 res->rc == 0 ? 0 : (int)res->status, res->seconds);
	if (res->rc != 0) {
		x->err = res->err;
		exchange_end(x, -1);
		return;
	}
	x->reply = res->reply;
	res->reply = NULL;
	if (seq > 0 && x->api->revocations)
		seq_waiter_add(x->api->seq_waiter, x->api->revocations, seq, REVOCATION_SEQ_WAIT_MS,
			       revocation_applied, x);
	else
		exchange_end(x, 0);
}

/* The caller is known: admin-only fields (403), the request message, then
 * the upstream call. Runs on the HTTP thread, or on a completion-queue
 * thread after an API key's validation. */
static void exchange_call(struct exchange *x)
{
	const struct route *r = x->m.route;
	ProtobufCMessage *request = NULL;
	struct rpc_metadata md[] = {
		{ "authorization", http_header(x->req, "Authorization") },
		{ "x-api-key", http_header(x->req, "X-API-Key") },
		{ "x-request-id", x->req->request_id },
	};

	if (check_admin_only(r, x->body, &x->caller, &x->err) != 0 ||
	    api_build_request(x->api, x->req, &x->m, &x->caller, x->body, &request, &x->err) != 0) {
		exchange_end(x, -1);
		return;
	}
	json_decref(x->body);
	x->body = NULL;
	defer(x);
	rpc_call_async(x->api->async, x->api->upstream[r->upstream], r->rpc, request, r->reply, md,
		       ARRAY_SIZE(md), x->api->deadline_ms, REVOCATION_SEQ_TRAILER, upstream_done,
		       x);
}

static void caller_known(void *arg, int rc, const struct principal *p, const struct app_error *err)
{
	struct exchange *x = arg;
	const struct trace_ctx *prev = trace_current();

	if (rc != 0) {
		x->err = *err;
		exchange_end(x, -1);
		return;
	}
	x->caller = *p;
	/* the upstream call is a child of the request's span on this thread too */
	trace_set_current(http_request_trace(x->req));
	exchange_call(x);
	trace_set_current(prev);
}

/* Everything after routing and the limiters, in API.md §6's order. The
 * caller is resolved early (caller.h: 400 for both headers; 401 for a bad,
 * expired or revoked token or API key; 503 when keys cannot be validated) so
 * that credentials are refused before anything else is looked at, and the
 * caller's effective permissions are known (an API key's included). The
 * service resolves them again: it trusts nothing the gateway decided. */
static void exchange_begin(struct exchange *x)
{
	const struct route *r = x->m.route;
	struct http_request *req = x->req;
	const char *api_key = http_header(req, "X-API-Key");
	int rc;

	if (api_check_query_credentials(req, &x->err) != 0 ||
	    (r->body == BODY_JSON && api_parse_body(req, &x->body, &x->err) != 0)) {
		exchange_end(x, -1);
		return;
	}
	if (api_key)
		defer(x); /* the validation may finish on another thread at any time */
	rc = caller_resolve_start(x->api->callers, x->api->async, http_header(req, "Authorization"),
				  api_key, req->request_id, &x->caller, &x->err, caller_known, x);
	if (rc == CALLER_PENDING)
		return;
	if (rc == 0 && x->caller.method == AUTH_NONE && r->auth_required)
		rc = app_error_set(&x->err, ERR_UNAUTHORIZED, NULL);
	if (rc != 0)
		exchange_end(x, -1);
	else
		exchange_call(x);
}

void api_refuse_method(const struct api *api, struct http_request *req, struct http_response *res,
		       const char *allow)
{
	struct app_error err;

	app_error_init(&err);
	app_error_set(&err, ERR_METHOD_NOT_ALLOWED, "Method %s is not allowed here; use %s",
		      req->method, allow);
	respond_error(api, req, res, &err);
	http_response_header(res, "Allow", allow);
}

/* The operational endpoints (API.md §6): outside the envelope and the
 * limiters, GET only (another method: 405 with Allow: GET). A NULL path is
 * <base>/openapi.json. Matched exactly: no trailing slash, no prefix. */
static const struct operational {
	const char *path;
	enum api_label label;
	void (*serve)(struct api *api, struct http_request *req, struct http_response *res);
} operational[] = {
	{ "/health", API_LABEL_HEALTH, health_serve },
	{ "/health/live", API_LABEL_HEALTH_LIVE, health_serve_live },
	{ "/health/ready", API_LABEL_HEALTH_READY, health_serve_ready },
	{ "/metrics", API_LABEL_METRICS, api_serve_metrics },
	{ NULL, API_LABEL_OPENAPI, openapi_serve },
};

static bool is_openapi_path(const struct api *api, const char *path)
{
	size_t base_len = strlen(api->base);

	return strncmp(path, api->base, base_len) == 0 &&
	       strcmp(path + base_len, OPENAPI_PATH) == 0;
}

bool api_serve_operational(struct api *api, struct http_request *req, struct http_response *res)
{
	for (size_t i = 0; i < ARRAY_SIZE(operational); i++) {
		const struct operational *op = &operational[i];

		if (op->path ? strcmp(req->path, op->path) != 0 : !is_openapi_path(api, req->path))
			continue;
		req->label = (int)(routes_count + op->label);
		if (strcmp(req->method, "GET") != 0)
			api_refuse_method(api, req, res, "GET");
		else
			op->serve(api, req, res);
		return true;
	}
	return false;
}

/* The general limiter's verdict for a request under /api (API.md §1: every
 * /api request counts, unknown routes included). false when not limited. */
static bool count_general(struct api *api, struct http_request *req, const char **client,
			  struct ratelimit_state *st)
{
	if (!ratelimit_enabled(api->limits) || strncmp(req->path, "/api/", 5) != 0)
		return false;
	*client = ratelimit_client(api->limits, req);
	ratelimit_hit(api->limits, RATELIMIT_GENERAL, *client, st);
	return true;
}

/* The 429 (counted in rate_limit_rejections_total{limiter}). */
static void refuse_limited(const struct api *api, struct http_request *req,
			   struct http_response *res, const struct ratelimit_state *st)
{
	struct app_error err;

	metrics_rate_limited(api->metrics, (int)st->kind);
	app_error_init(&err);
	app_error_set(&err, ERR_RATE_LIMIT_EXCEEDED, "Too many requests, please try again later");
	respond_error(api, req, res, &err);
}

/* A matched route: the limiters, then the exchange. The auth limiter counts
 * login and refresh attempts on arrival and takes back those that succeed;
 * their responses show its headers instead of the general limiter's. */
static void serve_limited(struct api *api, struct http_request *req, struct http_response *res,
			  const struct route_match *m, const char *client,
			  const struct ratelimit_state *st, bool counted)
{
	struct exchange *x = arena_alloc(req->arena, sizeof(*x));

	memset(x, 0, sizeof(*x));
	x->api = api;
	x->req = req;
	x->res = res;
	x->m = *m;
	x->client = client;
	x->limit = *st;
	x->counted = counted;
	app_error_init(&x->err);
	if (!x->limit.limited && client && m->route->auth_limited)
		ratelimit_hit(api->limits, RATELIMIT_AUTH, client, &x->limit);
	if (x->limit.limited) {
		refuse_limited(api, req, res, &x->limit);
		if (counted)
			ratelimit_headers(api->limits, &x->limit, req, res);
		return;
	}
	exchange_begin(x);
}

void api_handle(void *app, struct http_request *req, struct http_response *res)
{
	struct api *api = app;
	size_t base_len = strlen(api->base);
	struct ratelimit_state limit = { 0 };
	const char *client = NULL;
	bool counted;
	struct app_error err;
	struct route_match m;
	char allow[64];
	enum router_result found = ROUTER_NOT_FOUND;

	if (api_serve_operational(api, req, res))
		return;
	counted = count_general(api, req, &client, &limit);
	if (strncmp(req->path, api->base, base_len) == 0 && req->path[base_len] == '/')
		found = router_match(routes, routes_count, req->method, req->path + base_len, &m,
				     allow, sizeof(allow));
	if (found == ROUTER_FOUND) {
		req->label = (int)(m.route - routes);
		serve_limited(api, req, res, &m, client, &limit, counted);
		return; /* the exchange adds the limiter's headers */
	}
	if (found == ROUTER_METHOD_NOT_ALLOWED) {
		api_refuse_method(api, req, res, arena_strdup(req->arena, allow));
	} else {
		app_error_init(&err);
		app_error_set(&err, ERR_NOT_FOUND, "No route for %s %s", req->method, req->path);
		respond_error(api, req, res, &err);
	}
	if (counted)
		ratelimit_headers(api->limits, &limit, req, res);
}
