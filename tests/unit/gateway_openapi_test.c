/* gateway_openapi_test.c - the embedded OpenAPI document is in step with the
 * route table (routes.c), the protos behind it and the error table, and
 * api_serve_operational serves it.
 *
 * The document tests collect every mismatch (printed, one line each) and fail
 * once at the end, so one run lists everything to fix. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api.h"
#include "err.h"
#include "openapi.h"
#include "routes.h"
#include "transcode.h"
#include "util.h"

#define API_BASE "/api/v1"
#define MAX_ID 9007199254740991.0 /* 2^53 - 1: ids are JSON numbers below 2^53 */

struct ctx {
	json_t *doc; /* NULL when openapi_doc is not valid JSON */
	int failures;
};

#define CHECK(c, cond, ...)                       \
	do {                                      \
		if (!(cond)) {                    \
			print_error(__VA_ARGS__); \
			print_error("\n");        \
			(c)->failures++;          \
		}                                 \
	} while (0)

static const char *const http_methods[] = { "get",   "put",  "post",    "delete",
					    "patch", "head", "options", "trace" };

/* The paths outside the /api/v1 server, each with servers [{"url": "/"}]. */
static const char *const operational_paths[] = { "/health", "/health/live", "/health/ready",
						 "/metrics", API_BASE "/openapi.json" };

static int load_doc(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	json_error_t e;

	if (!c)
		return -1;
	c->doc = json_loadb(openapi_doc, openapi_doc_len, JSON_REJECT_DUPLICATES, &e);
	if (!c->doc)
		print_error("openapi.json: line %d: %s\n", e.line, e.text);
	*state = c;
	return 0;
}

static int free_doc(void **state)
{
	struct ctx *c = *state;

	json_decref(c->doc);
	free(c);
	return 0;
}

/* ---- navigating the document ---------------------------------------------- */

static json_t *get(json_t *o, const char *key)
{
	return json_object_get(o, key);
}

/* A local JSON pointer ("#/components/schemas/User"), or NULL. */
static json_t *pointer(json_t *doc, const char *ref)
{
	json_t *cur = doc;
	const char *p = ref + 2;
	char seg[128];

	if (strncmp(ref, "#/", 2) != 0)
		return NULL;
	while (cur && *p) {
		size_t n = 0;

		while (*p && *p != '/' && n + 1 < sizeof(seg)) {
			if (p[0] == '~' && (p[1] == '0' || p[1] == '1')) {
				seg[n++] = p[1] == '0' ? '~' : '/';
				p += 2;
			} else {
				seg[n++] = *p++;
			}
		}
		seg[n] = '\0';
		cur = json_object_get(cur, seg);
		if (*p == '/')
			p++;
	}
	return cur;
}

/* node with its $ref (chain) followed; NULL for a dangling reference. */
static json_t *resolve(json_t *doc, json_t *node)
{
	for (int hops = 0; hops < 8 && json_is_object(node); hops++) {
		const char *ref = json_string_value(get(node, "$ref"));

		if (!ref)
			return node;
		node = pointer(doc, ref);
	}
	return node;
}

/* "/posts/:postId/comments" -> "/posts/{postId}/comments". */
static void doc_path(const char *pattern, char *out, size_t size)
{
	size_t n = 0;
	bool open = false;

	for (const char *p = pattern; *p && n + 2 < size; p++) {
		if (*p == ':' && p > pattern && p[-1] == '/') {
			out[n++] = '{';
			open = true;
			continue;
		}
		if (*p == '/' && open) {
			out[n++] = '}';
			open = false;
		}
		out[n++] = *p;
	}
	if (open)
		out[n++] = '}';
	out[n] = '\0';
}

static void lower(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; *s && n + 1 < size; s++)
		out[n++] = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
	out[n] = '\0';
}

static json_t *path_item(struct ctx *c, const struct route *r)
{
	char path[128];

	doc_path(r->pattern, path, sizeof(path));
	return get(get(c->doc, "paths"), path);
}

static json_t *operation(struct ctx *c, const struct route *r)
{
	char method[16];

	lower(r->method, method, sizeof(method));
	return get(path_item(c, r), method);
}

/* The parameter (in, name) of an operation, declared on it or its path item. */
static json_t *param(struct ctx *c, json_t *item, json_t *op, const char *in, const char *name)
{
	json_t *lists[2] = { get(op, "parameters"), get(item, "parameters") };
	json_t *p;
	size_t i;

	for (int l = 0; l < 2; l++) {
		json_array_foreach (lists[l], i, p) {
			p = resolve(c->doc, p);
			if (json_is_string(get(p, "name")) &&
			    strcmp(json_string_value(get(p, "name")), name) == 0 &&
			    json_is_string(get(p, "in")) &&
			    strcmp(json_string_value(get(p, "in")), in) == 0)
				return p;
		}
	}
	return NULL;
}

static json_t *response(struct ctx *c, json_t *op, int status)
{
	char code[8];

	snprintf(code, sizeof(code), "%d", status);
	return resolve(c->doc, get(get(op, "responses"), code));
}

static json_t *json_schema_of(struct ctx *c, json_t *holder)
{
	return resolve(c->doc, get(get(get(holder, "content"), "application/json"), "schema"));
}

/* The set (object of keys) of JSON field names of a message. */
static json_t *field_names(const ProtobufCMessageDescriptor *d)
{
	json_t *set = json_object();
	char name[64];

	for (unsigned i = 0; i < d->n_fields; i++) {
		transcode_json_name(d->fields[i].name, name, sizeof(name));
		json_object_set_new(set, name, json_true());
	}
	return set;
}

/* Compares the keys of props with the set want (stolen); a mismatch names
 * the keys missing from props and those it has too many. */
static void check_keys(struct ctx *c, json_t *props, json_t *want, const char *what)
{
	char missing[512] = "", extra[512] = "";
	const char *k;
	json_t *v;

	json_object_foreach (want, k, v)
		if (!get(props, k))
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
				 " %s", k);
	json_object_foreach (props, k, v)
		if (!get(want, k))
			snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), " %s", k);
	CHECK(c, props && !missing[0] && !extra[0], "%s: missing [%s ], unexpected [%s ]", what,
	      missing, extra);
	json_decref(want);
}

/* ---- the document --------------------------------------------------------- */

static void document_is_openapi_3_1(void **state)
{
	struct ctx *c = *state;
	json_t *servers;

	assert_non_null(c->doc); /* valid JSON, no duplicate keys */
	assert_string_equal(json_string_value(get(c->doc, "openapi")), "3.1.0");
	assert_string_equal(json_string_value(get(get(c->doc, "info"), "version")), "1.0.0");
	assert_true(json_string_length(get(get(c->doc, "info"), "title")) > 0);
	assert_true(json_string_length(get(get(c->doc, "info"), "description")) > 0);
	servers = get(c->doc, "servers");
	assert_int_equal(json_array_size(servers), 1);
	assert_string_equal(json_string_value(get(json_array_get(servers, 0), "url")), API_BASE);
	assert_true(json_is_object(
		get(get(get(c->doc, "components"), "securitySchemes"), "bearerAuth")));
	assert_true(json_is_object(
		get(get(get(c->doc, "components"), "securitySchemes"), "apiKeyAuth")));
	/* the document as served ends where the file ends */
	assert_int_equal(strlen(openapi_doc), openapi_doc_len);
}

/* Walks every "$ref" below node. */
static void check_refs(struct ctx *c, json_t *node)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_array(node)) {
		json_array_foreach (node, i, v)
			check_refs(c, v);
		return;
	}
	json_object_foreach (node, k, v) {
		if (strcmp(k, "$ref") == 0 && json_is_string(v))
			CHECK(c, pointer(c->doc, json_string_value(v)), "dangling $ref %s",
			      json_string_value(v));
		else
			check_refs(c, v);
	}
}

static void every_reference_resolves(void **state)
{
	struct ctx *c = *state;

	assert_non_null(c->doc);
	check_refs(c, c->doc);
	assert_int_equal(c->failures, 0);
}

/* (b) every row is an operation that declares the row's status. */
static void every_route_is_documented(void **state)
{
	struct ctx *c = *state;

	assert_non_null(c->doc);
	for (size_t i = 0; i < routes_count; i++) {
		const struct route *r = &routes[i];
		json_t *op = operation(c, r);

		CHECK(c, op, "%s %s: not in the document", r->method, r->pattern);
		CHECK(c, !op || response(c, op, r->status), "%s %s: no %d response", r->method,
		      r->pattern, r->status);
		CHECK(c, !op || !get(path_item(c, r), "servers"), "%s %s: overrides servers",
		      r->method, r->pattern);
	}
	assert_int_equal(c->failures, 0);
}

static size_t rows_for(const char *path, const char *method)
{
	char p[128], m[16];
	size_t n = 0;

	for (size_t i = 0; i < routes_count; i++) {
		doc_path(routes[i].pattern, p, sizeof(p));
		lower(routes[i].method, m, sizeof(m));
		n += strcmp(p, path) == 0 && strcmp(m, method) == 0;
	}
	return n;
}

static bool is_operational(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(operational_paths); i++)
		if (strcmp(path, operational_paths[i]) == 0)
			return true;
	return false;
}

static void check_operational(struct ctx *c, const char *path, json_t *item)
{
	json_t *servers = get(item, "servers");

	CHECK(c, is_operational(path), "%s: overrides servers but is no operational endpoint",
	      path);
	CHECK(c,
	      json_array_size(servers) == 1 &&
		      json_is_string(get(json_array_get(servers, 0), "url")) &&
		      strcmp(json_string_value(get(json_array_get(servers, 0), "url")), "/") == 0,
	      "%s: servers must be [{\"url\": \"/\"}]", path);
	for (size_t m = 0; m < ARRAY_SIZE(http_methods); m++)
		CHECK(c, !get(item, http_methods[m]) == (strcmp(http_methods[m], "get") != 0),
		      "%s: must have exactly one operation, get (%s)", path, http_methods[m]);
	CHECK(c, response(c, get(item, "get"), 200), "%s: no 200 response", path);
}

/* (c) no operation the table lacks; the operational endpoints apart. */
static void documented_operations_are_routes(void **state)
{
	struct ctx *c = *state;
	const char *path;
	json_t *item;

	assert_non_null(c->doc);
	json_object_foreach (get(c->doc, "paths"), path, item) {
		if (get(item, "servers")) {
			check_operational(c, path, item);
			continue;
		}
		for (size_t m = 0; m < ARRAY_SIZE(http_methods); m++)
			CHECK(c,
			      !get(item, http_methods[m]) || rows_for(path, http_methods[m]) == 1,
			      "%s %s: documented, but not a route of routes.c", http_methods[m],
			      path);
	}
	for (size_t i = 0; i < ARRAY_SIZE(operational_paths); i++)
		CHECK(c, get(get(c->doc, "paths"), operational_paths[i]), "%s: not documented",
		      operational_paths[i]);
	assert_int_equal(c->failures, 0);
}

/* Every path parameter declared in list is a {name} of the template path. */
static void check_declared_path_params(struct ctx *c, const struct route *r, const char *path,
				       json_t *list)
{
	char brace[40];
	json_t *p;
	size_t k;

	json_array_foreach (list, k, p) {
		p = resolve(c->doc, p);
		if (strcmp(json_string_value(get(p, "in")) ?: "", "path") != 0)
			continue;
		snprintf(brace, sizeof(brace), "{%s}", json_string_value(get(p, "name")) ?: "");
		CHECK(c, strstr(path, brace), "%s %s: path parameter %s is not in the template",
		      r->method, path, brace);
	}
}

/* (d) the template's {names} and the declared path parameters are the same. */
static void path_parameters_are_declared(void **state)
{
	struct ctx *c = *state;

	assert_non_null(c->doc);
	for (size_t i = 0; i < routes_count; i++) {
		const struct route *r = &routes[i];
		json_t *item = path_item(c, r), *op = operation(c, r), *p;
		char path[128], name[32];

		if (!op)
			continue; /* every_route_is_documented says so */
		doc_path(r->pattern, path, sizeof(path));
		for (const char *s = strchr(path, '{'); s; s = strchr(s + 1, '{')) {
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(s + 1, "}"), s + 1);
			p = param(c, item, op, "path", name);
			CHECK(c, p && json_is_true(get(p, "required")),
			      "%s %s: path parameter %s undeclared", r->method, path, name);
		}
		check_declared_path_params(c, r, path, get(item, "parameters"));
		check_declared_path_params(c, r, path, get(op, "parameters"));
	}
	assert_int_equal(c->failures, 0);
}

/* The schema of a query parameter admits what the gateway admits. */
static void check_query_kind(struct ctx *c, const struct route *r, const struct route_query *q,
			     json_t *schema)
{
	double min = json_number_value(get(schema, "minimum"));
	double max = json_number_value(get(schema, "maximum"));
	bool integer = json_is_string(get(schema, "type")) &&
		       strcmp(json_string_value(get(schema, "type")), "integer") == 0;

	switch (q->kind) {
	case QUERY_PAGE:
		CHECK(c, integer && min == 1, "%s %s: page must be an integer >= 1", r->method,
		      r->pattern);
		break;
	case QUERY_LIMIT:
		CHECK(c, integer && min == 1 && max == 100,
		      "%s %s: limit must be an integer 1..100", r->method, r->pattern);
		break;
	case QUERY_ID:
		CHECK(c, integer && min == 1 && max == MAX_ID,
		      "%s %s: %s must be an id (1..2^53-1)", r->method, r->pattern, q->name);
		break;
	case QUERY_TEXT:
	case QUERY_ENUM:
		CHECK(c, !integer, "%s %s: %s is text", r->method, r->pattern, q->name);
		break;
	}
}

static bool route_has_query(const struct route *r, const char *name)
{
	if (!name)
		return false;
	for (const struct route_query *q = r->query; q < r->query + ROUTE_MAX_QUERY && q->name; q++)
		if (strcmp(q->name, name) == 0)
			return true;
	return false;
}

/* (e) the query parameters of each row, no more, with their kinds. */
static void query_parameters_match_routes(void **state)
{
	struct ctx *c = *state;

	assert_non_null(c->doc);
	for (size_t i = 0; i < routes_count; i++) {
		const struct route *r = &routes[i];
		json_t *item = path_item(c, r), *op = operation(c, r), *p;
		size_t k;

		if (!op)
			continue;
		for (const struct route_query *q = r->query;
		     q < r->query + ROUTE_MAX_QUERY && q->name; q++) {
			p = param(c, item, op, "query", q->name);
			CHECK(c, p, "%s %s: query parameter %s undeclared", r->method, r->pattern,
			      q->name);
			if (p)
				check_query_kind(c, r, q, resolve(c->doc, get(p, "schema")));
		}
		json_array_foreach (get(op, "parameters"), k, p) {
			p = resolve(c->doc, p);
			CHECK(c,
			      strcmp(json_string_value(get(p, "in")) ?: "", "query") != 0 ||
				      route_has_query(r, json_string_value(get(p, "name"))),
			      "%s %s: query parameter %s is not in routes.c", r->method, r->pattern,
			      json_string_value(get(p, "name")));
		}
	}
	assert_int_equal(c->failures, 0);
}

/* (f) auth_required: credentials only; otherwise anonymous ({}) allowed. */
static void security_matches_auth_required(void **state)
{
	struct ctx *c = *state;
	json_t *schemes;

	assert_non_null(c->doc);
	schemes = get(get(c->doc, "components"), "securitySchemes");
	for (size_t i = 0; i < routes_count; i++) {
		const struct route *r = &routes[i];
		json_t *op = operation(c, r), *sec, *req;
		bool anonymous = false, named = true;
		size_t k;

		if (!op)
			continue;
		sec = get(op, "security") ? get(op, "security") : get(c->doc, "security");
		json_array_foreach (sec, k, req) {
			const char *name;
			json_t *v;

			anonymous = anonymous || json_object_size(req) == 0;
			json_object_foreach (req, name, v)
				named = named && get(schemes, name);
		}
		CHECK(c, named, "%s %s: security names an unknown scheme", r->method, r->pattern);
		CHECK(c, json_array_size(sec) > 0, "%s %s: no security", r->method, r->pattern);
		CHECK(c, anonymous == !r->auth_required, "%s %s: anonymous %s, routes.c says %s",
		      r->method, r->pattern, anonymous ? "allowed" : "refused",
		      r->auth_required ? "auth required" : "anonymous allowed");
	}
	assert_int_equal(c->failures, 0);
}

/* The request body schema has exactly the keys the transcoder accepts. */
static void check_body(struct ctx *c, const struct route *r, json_t *op)
{
	json_t *body = get(op, "requestBody"), *schema = json_schema_of(c, body), *want, *req;
	const ProtobufCMessageDescriptor *target = r->request;
	char what[96];
	size_t k;

	CHECK(c, (body != NULL) == (r->body == BODY_JSON), "%s %s: requestBody %s", r->method,
	      r->pattern, body ? "documented but the route takes none" : "missing");
	if (r->body != BODY_JSON || !body)
		return;
	CHECK(c, json_is_true(get(body, "required")) && schema, "%s %s: body must be required JSON",
	      r->method, r->pattern);
	if (r->body_field)
		target = transcode_field(r->request, r->body_field)->descriptor;
	want = field_names(target);
	for (const char *const *ro = r->read_only; ro && *ro; ro++)
		json_object_del(want, *ro);
	if (r->versioned)
		json_object_set_new(want, "version", json_true());
	snprintf(what, sizeof(what), "%s %s: body", r->method, r->pattern);
	check_keys(c, get(schema, "properties"), want, what);
	CHECK(c, json_is_false(get(schema, "additionalProperties")),
	      "%s %s: unknown body keys are 422: additionalProperties must be false", r->method,
	      r->pattern);
	req = get(schema, "required");
	for (const char *const *rq = r->required; r->update == UPDATE_PUT && rq && *rq; rq++) {
		bool found = false;
		json_t *v;

		json_array_foreach (req, k, v)
			found = found || strcmp(json_string_value(v) ?: "", *rq) == 0;
		CHECK(c, found, "%s %s: %s must be required", r->method, r->pattern, *rq);
	}
}

/* The success response: envelope kind, data fields from the reply, ETag. */
static void check_reply(struct ctx *c, const struct route *r, json_t *op)
{
	json_t *res = response(c, op, r->status), *schema, *e, *data = NULL;
	const ProtobufCMessageDescriptor *d = r->reply;
	const char *base = r->reply_kind == REPLY_LIST ? "#/components/schemas/ListSuccess"
						       : "#/components/schemas/Success";
	bool enveloped = false;
	char what[128];
	size_t k;

	if (!res)
		return;
	CHECK(c, !get(get(res, "headers"), "ETag") == !r->etag, "%s %s: ETag header %s", r->method,
	      r->pattern, r->etag ? "missing" : "documented but not sent");
	schema = json_schema_of(c, res);
	if (r->reply_kind == REPLY_EMPTY) {
		CHECK(c, r->status == 204 && !get(res, "content"), "%s %s: 204 without a body",
		      r->method, r->pattern);
		return;
	}
	json_array_foreach (get(schema, "allOf"), k, e) {
		enveloped = enveloped || strcmp(json_string_value(get(e, "$ref")) ?: "", base) == 0;
		if (get(get(e, "properties"), "data"))
			data = get(get(e, "properties"), "data");
	}
	CHECK(c, enveloped && data, "%s %s: success must be allOf [%s, {data}]", r->method,
	      r->pattern, base);
	if (r->reply_kind == REPLY_LIST) {
		d = transcode_field(r->reply, r->list_field)->descriptor;
		data = get(data, "items");
	}
	snprintf(what, sizeof(what), "%s %s: data (%s)", r->method, r->pattern, d->name);
	check_keys(c, get(resolve(c->doc, data), "properties"), field_names(d), what);
}

static void bodies_and_replies_match_the_protos(void **state)
{
	struct ctx *c = *state;

	assert_non_null(c->doc);
	for (size_t i = 0; i < routes_count; i++) {
		const struct route *r = &routes[i];
		json_t *op = operation(c, r);

		if (!op)
			continue;
		check_body(c, r, op);
		check_reply(c, r, op);
		CHECK(c, !r->versioned || param(c, path_item(c, r), op, "header", "If-Match"),
		      "%s %s: If-Match undeclared", r->method, r->pattern);
	}
	assert_int_equal(c->failures, 0);
}

/* ---- errors and headers --------------------------------------------------- */

static void error_codes_are_the_error_table(void **state)
{
	struct ctx *c = *state;
	json_t *codes, *want = json_object(), *have = json_object(), *v;
	size_t k;

	assert_non_null(c->doc);
	codes = get(pointer(c->doc, "#/components/schemas/ErrorCode"), "enum");
	for (int e = 0; e < ERR__COUNT; e++)
		if (e != ERR_OK)
			json_object_set_new(want, err_name((enum err_code)e), json_true());
	json_array_foreach (codes, k, v)
		json_object_set_new(have, json_string_value(v) ?: "?", json_true());
	check_keys(c, have, want, "ErrorCode enum");
	json_decref(have);
	assert_int_equal(c->failures, 0);
}

/* One response of an operation: its headers, and for an error the codes
 * it lists answer with that status (err.h). */
static void check_response(struct ctx *c, const char *where, const char *status, json_t *res,
			   bool limited)
{
	json_t *h = get(res, "headers"), *e, *v;
	int64_t status_num = 0;
	int code = parse_int64(status, &status_num) ? (int)status_num : 0;
	size_t k, j;

	CHECK(c, res, "%s %s: dangling response", where, status);
	CHECK(c, get(h, "X-Request-Id"), "%s %s: no X-Request-Id header", where, status);
	CHECK(c,
	      !limited || (get(h, "RateLimit-Limit") && get(h, "RateLimit-Remaining") &&
			   get(h, "RateLimit-Reset") && get(h, "RateLimit-Policy")),
	      "%s %s: RateLimit-* headers missing", where, status);
	CHECK(c, code != 429 || get(h, "Retry-After"), "%s 429: no Retry-After", where);
	CHECK(c, code != 401 || get(h, "WWW-Authenticate"), "%s 401: no WWW-Authenticate", where);
	if (code < 400)
		return;
	json_array_foreach (get(json_schema_of(c, res), "allOf"), k, e) {
		json_array_foreach (get(get(get(get(get(e, "properties"), "error"), "properties"),
					    "code"),
					"enum"),
				    j, v) {
			enum err_code ec;

			CHECK(c,
			      err_from_name(json_string_value(v) ?: "", &ec) &&
				      err_http_status(ec) == code,
			      "%s %s: %s is not a %s", where, status, json_string_value(v), status);
		}
	}
}

static void every_response_declares_its_headers(void **state)
{
	struct ctx *c = *state;
	const char *path, *status;
	json_t *item, *op, *res;
	char where[160];

	assert_non_null(c->doc);
	json_object_foreach (get(c->doc, "paths"), path, item) {
		for (size_t m = 0; m < ARRAY_SIZE(http_methods); m++) {
			op = get(item, http_methods[m]);
			if (!op)
				continue;
			snprintf(where, sizeof(where), "%s %s", http_methods[m], path);
			CHECK(c, json_object_size(get(op, "responses")) > 0, "%s: no responses",
			      where);
			json_object_foreach (get(op, "responses"), status, res)
				check_response(c, where, status, resolve(c->doc, res),
					       !get(item, "servers"));
		}
	}
	assert_int_equal(c->failures, 0);
}

/* ---- api_serve_operational: the document ------------------------------------ */

static bool handle(const char *base, const char *method, const char *path,
		   struct http_response *res)
{
	struct api api = { .version = "v1" };
	struct http_request req = { .method = method, .path = path, .request_id = "req_openapi" };

	strlcpy_s(api.base, base, sizeof(api.base));
	memset(res, 0, sizeof(*res));
	return api_serve_operational(&api, &req, res);
}

static const char *header_of(const struct http_response *res, const char *name)
{
	for (size_t i = 0; i < res->nheaders; i++)
		if (strcasecmp(res->headers[i].name, name) == 0)
			return res->headers[i].value;
	return NULL;
}

static void serves_the_document(void **state)
{
	struct http_response res;

	(void)state;
	assert_true(handle(API_BASE, "GET", API_BASE "/openapi.json", &res));
	assert_int_equal(res.status, 200);
	assert_non_null(res.content_type);
	assert_string_equal(res.content_type, "application/json");
	assert_int_equal(res.body_len, openapi_doc_len);
	assert_non_null(res.body);
	assert_ptr_not_equal(res.body, openapi_doc); /* a copy the server may free */
	assert_memory_equal(res.body, openapi_doc, openapi_doc_len);
	assert_null(header_of(&res, "Allow"));
	free(res.body);
	/* the base follows API_VERSION */
	assert_true(handle("/api/v2", "GET", "/api/v2/openapi.json", &res));
	assert_int_equal(res.status, 200);
	free(res.body);
}

static void other_paths_are_not_handled(void **state)
{
	static const char *const paths[] = {
		API_BASE "/openapi.json/",
		API_BASE "/openapi.jsonx",
		API_BASE "/openapi",
		"/openapi.json",
		"/api/v2/openapi.json",
		API_BASE "/users",
		API_BASE,
		API_BASE "//openapi.json",
		"/api/v1x/openapi.json",
		"",
	};
	struct http_response res;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		assert_false(handle(API_BASE, "GET", paths[i], &res));
		assert_int_equal(res.status, 0); /* untouched */
		assert_null(res.body);
		assert_int_equal(res.nheaders, 0);
	}
}

static void other_methods_are_405_with_allow(void **state)
{
	static const char *const methods[] = {
		"POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"
	};
	struct http_response res;
	json_t *body;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
		assert_true(handle(API_BASE, methods[i], API_BASE "/openapi.json", &res));
		assert_int_equal(res.status, 405);
		assert_non_null(header_of(&res, "Allow"));
		assert_string_equal(header_of(&res, "Allow"), "GET");
		assert_non_null(res.body);
		body = json_loadb(res.body, res.body_len, 0, NULL);
		assert_non_null(body);
		assert_true(json_is_false(get(body, "success")));
		assert_string_equal(json_string_value(get(get(body, "error"), "code")),
				    "METHOD_NOT_ALLOWED");
		assert_string_equal(json_string_value(get(get(body, "meta"), "requestId")),
				    "req_openapi");
		assert_string_equal(json_string_value(get(get(body, "meta"), "version")), "v1");
		json_decref(body);
		free(res.body);
	}
}

int main(void)
{
#define DOC_TEST(t) cmocka_unit_test_setup_teardown(t, load_doc, free_doc)
	const struct CMUnitTest tests[] = {
		DOC_TEST(document_is_openapi_3_1),
		DOC_TEST(every_reference_resolves),
		DOC_TEST(every_route_is_documented),
		DOC_TEST(documented_operations_are_routes),
		DOC_TEST(path_parameters_are_declared),
		DOC_TEST(query_parameters_match_routes),
		DOC_TEST(security_matches_auth_required),
		DOC_TEST(bodies_and_replies_match_the_protos),
		DOC_TEST(error_codes_are_the_error_table),
		DOC_TEST(every_response_declares_its_headers),
		cmocka_unit_test(serves_the_document),
		cmocka_unit_test(other_paths_are_not_handled),
		cmocka_unit_test(other_methods_are_405_with_allow),
	};
#undef DOC_TEST

	return cmocka_run_group_tests(tests, NULL, NULL);
}
