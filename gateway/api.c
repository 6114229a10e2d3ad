/* api.c - the gateway's request pipeline; see api.h. */
#include "api.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agentos/common/v1/pagination.pb-c.h"
#include "caller.h"
#include "health.h"
#include "openapi.h"
#include "ratelimit.h"
#include "log.h"
#include "revocation.h"
#include "metrics.h"
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

/* Resolves the caller early (caller.h: 400 for both headers; 401 for a bad,
 * expired or revoked token or API key; 503 when keys cannot be validated) so
 * that credentials are refused before anything else is looked at, and the
 * caller's effective permissions are known (an API key's included). The
 * service resolves them again: it trusts nothing the gateway decided. */
static int check_credentials(const struct api *api, const struct http_request *req,
			     const struct route *r, struct principal *p, struct app_error *err)
{
	if (caller_resolve(api->callers, http_header(req, "Authorization"),
			   http_header(req, "X-API-Key"), req->request_id, p, err) != 0)
		return -1;
	if (p->method == AUTH_NONE && r->auth_required)
		return app_error_set(err, ERR_UNAUTHORIZED, NULL);
	return 0;
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

/* The call wrote a revocation (a logout, a password or role change...):
 * answer once this gateway's copy has it, so that the client's next request
 * with the old token is refused here too. Bounded: after
 * REVOCATION_SEQ_WAIT_MS the reply goes out anyway (logged). */
static void await_revocation(const struct api *api, const char *seq_text)
{
	long long seq = strtoll(seq_text, NULL, 10);

	if (!api->revocations || seq <= 0)
		return;
	if (!revocations_wait(api->revocations, seq, REVOCATION_SEQ_WAIT_MS))
		log_warn("revocation not applied here in time; answering anyway",
			 LOG_I("seq", seq), LOG_I("waitedMs", REVOCATION_SEQ_WAIT_MS));
}

static int call_upstream(const struct api *api, const struct http_request *req,
			 const struct route *r, const ProtobufCMessage *request,
			 ProtobufCMessage **reply, struct app_error *err)
{
	struct rpc_metadata md[] = {
		{ "authorization", http_header(req, "Authorization") },
		{ "x-api-key", http_header(req, "X-API-Key") },
		{ "x-request-id", req->request_id },
	};

	int64_t start = mono_us();
	grpc_status_code status = GRPC_STATUS_OK;
	char seq[24];
	int rc = rpc_call_unary_trailer(api->upstream[r->upstream], r->rpc, request, r->reply, md,
					ARRAY_SIZE(md), api->deadline_ms, reply, err, &status,
					REVOCATION_SEQ_TRAILER, seq, sizeof(seq));

	metrics_upstream(api->metrics, (size_t)r->upstream, rc == 0 ? 0 : (int)status,
			 (double)(mono_us() - start) / 1e6);
	if (rc == 0 && seq[0])
		await_revocation(api, seq);
	return rc;
}

/* The value of a top-level int64 field (0 when absent). */
static int64_t int64_field(const ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *f = transcode_field(m->descriptor, name);

	if (!f || f->type != PROTOBUF_C_TYPE_INT64)
		return 0;
	return *(const int64_t *)((const char *)m + f->offset);
}

static char *list_envelope(const struct envelope_meta *meta, const struct route *r,
			   const ProtobufCMessage *reply, size_t *len)
{
	json_t *obj = transcode_to_json(reply);
	json_t *items;
	char key[64];

	transcode_json_name(r->list_field, key, sizeof(key));
	items = json_incref(json_object_get(obj, key));
	const ProtobufCFieldDescriptor *f = transcode_field(reply->descriptor, "pagination");
	const Agentos__Common__V1__Pagination *p =
		f ? *(Agentos__Common__V1__Pagination *const *)((const char *)reply + f->offset) : NULL;
	struct page_info pi = { 0 };

	if (p) {
		pi = (struct page_info){ .page = p->page, .limit = p->limit, .total = p->total,
					 .total_pages = p->total_pages, .has_next = p->has_next,
					 .has_prev = p->has_prev };
	}
	json_decref(obj);
	return envelope_list(meta, items ? items : json_array(), &pi, len);
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
		char *tag = arena_sprintf(req->arena, "\"%" PRId64 "\"", int64_field(reply, "version"));

		http_response_header(res, "ETag", tag);
	}
	if (r->reply_kind == REPLY_LIST)
		res->body = list_envelope(&meta, r, reply, &res->body_len);
	else
		res->body = envelope_success(&meta, transcode_to_json(reply), &res->body_len);
}

/* Everything after routing; -1 with err for the error envelope. */
static int serve(const struct api *api, struct http_request *req, struct http_response *res,
		 const struct route_match *m, struct app_error *err)
{
	const struct route *r = m->route;
	ProtobufCMessage *request = NULL, *reply = NULL;
	struct principal caller;
	json_t *body = NULL;
	int rc;

	if (api_check_query_credentials(req, err) != 0)
		return -1;
	if (r->body == BODY_JSON && api_parse_body(req, &body, err) != 0)
		return -1;
	rc = check_credentials(api, req, r, &caller, err);
	if (rc == 0)
		rc = check_admin_only(r, body, &caller, err);
	if (rc == 0)
		rc = api_build_request(api, req, m, &caller, body, &request, err);
	json_decref(body);
	if (rc == 0)
		rc = call_upstream(api, req, r, request, &reply, err);
	if (rc != 0)
		return -1;
	respond_reply(api, req, res, r, reply);
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
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

/* The operational endpoints: outside the envelope and the limiters. */
static bool handle_operational(struct api *api, struct http_request *req,
			       struct http_response *res)
{
	static const struct {
		const char *path;
		enum api_label label;
	} ops[] = {
		{ "/health", API_LABEL_HEALTH },
		{ "/health/live", API_LABEL_HEALTH_LIVE },
		{ "/health/ready", API_LABEL_HEALTH_READY },
		{ "/metrics", API_LABEL_METRICS },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		if (strcmp(req->path, ops[i].path) == 0)
			req->label = (int)(routes_count + ops[i].label);
	}
	if (health_handle(api, req, res))
		return true;
	if (strcmp(req->path, "/metrics") == 0) {
		api_serve_metrics(api, req, res);
		return true;
	}
	if (openapi_handle(api, req, res)) {
		req->label = (int)(routes_count + API_LABEL_OPENAPI);
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

/* A matched route: the limiters, then serve. The auth limiter counts login
 * and refresh attempts on arrival and takes back those that succeed; their
 * responses show its headers instead of the general limiter's. */
static void serve_limited(struct api *api, struct http_request *req, struct http_response *res,
			  const struct route_match *m, const char *client,
			  struct ratelimit_state *st)
{
	struct app_error err;

	if (st->limited) {
		refuse_limited(api, req, res, st);
		return;
	}
	if (client && m->route->auth_limited) {
		ratelimit_hit(api->limits, RATELIMIT_AUTH, client, st);
		if (st->limited) {
			refuse_limited(api, req, res, st);
			return;
		}
	}
	app_error_init(&err);
	if (serve(api, req, res, m, &err) != 0)
		respond_error(api, req, res, &err);
	if (client && st->kind == RATELIMIT_AUTH && res->status < 400)
		ratelimit_take_back(api->limits, client, st);
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

	if (handle_operational(api, req, res))
		return;
	counted = count_general(api, req, &client, &limit);
	if (strncmp(req->path, api->base, base_len) == 0 && req->path[base_len] == '/')
		found = router_match(routes, routes_count, req->method, req->path + base_len, &m, allow,
				     sizeof(allow));
	app_error_init(&err);
	if (found == ROUTER_FOUND) {
		req->label = (int)(m.route - routes);
		serve_limited(api, req, res, &m, client, &limit);
	} else if (found == ROUTER_METHOD_NOT_ALLOWED) {
		api_refuse_method(api, req, res, arena_strdup(req->arena, allow));
	} else {
		app_error_set(&err, ERR_NOT_FOUND, "No route for %s %s", req->method, req->path);
		respond_error(api, req, res, &err);
	}
	if (counted)
		ratelimit_headers(api->limits, &limit, req, res);
}
