/* api_request.c - from an HTTP request to the upstream request message:
 * path parameters, query parameters, the JSON body, update mask, version. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "transcode.h"
#include "util.h"
#include "validate.h"

#define MAX_JSON_ID ((int64_t)1 << 53)

static bool is_query_credential(void *ctx, const char *name, const char *value)
{
	bool *found = ctx;

	if (strcmp(name, "api_key") == 0 || strcmp(name, "apiKey") == 0 ||
	    strcmp(name, "access_token") == 0 || strcmp(name, "key") == 0 ||
	    (value && strncmp(value, "ak_", 3) == 0)) {
		*found = true;
		return false;
	}
	return true;
}

int api_check_query_credentials(const struct http_request *req, struct app_error *err)
{
	bool found = false;

	http_query_each(req, is_query_credential, &found);
	if (found)
		return app_error_set(err, ERR_BAD_REQUEST,
				     "Credentials must not be sent in the query string; use the "
				     "Authorization or X-API-Key header");
	return 0;
}

/* "application/json", optionally with parameters ("; charset=utf-8"). */
static bool is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

#define MAX_NUMBER_CLAMPS 16

/* jansson refuses a number beyond double or int64 range (1e400, twenty
 * digits) as invalid JSON; the contract calls it a value out of range for
 * its field (422 naming it, found by the field rules later). So the number
 * that ends at end (jansson reports the end of the token it refused) is
 * rewritten in place as +-1e308 padded with spaces: a real, which no integer
 * field takes. false when there is no number there. */
static bool clamp_number(char *s, size_t end)
{
	size_t start = end;
	const char *with;

	while (start > 0 && s[start - 1] && strchr("0123456789+-.eE", s[start - 1]))
		start--;
	with = s[start] == '-' ? "-1e308" : "1e308";
	if (end - start < strlen(with))
		return false;
	memcpy(s + start, with, strlen(with));
	memset(s + start + strlen(with), ' ', end - start - strlen(with));
	return true;
}

static json_t *load_body(const struct http_request *req, json_error_t *jerr)
{
	char *copy = NULL;
	json_t *j = NULL;

	for (int i = 0; i <= MAX_NUMBER_CLAMPS; i++) {
		j = json_loadb(copy ? copy : req->body, req->body_len, JSON_REJECT_DUPLICATES,
			       jerr);
		if (j || json_error_code(jerr) != json_error_numeric_overflow)
			break;
		if (!copy) {
			copy = arena_alloc(req->arena, req->body_len + 1);
			memcpy(copy, req->body, req->body_len + 1);
		}
		if (jerr->position < 0 || (size_t)jerr->position > req->body_len ||
		    !clamp_number(copy, (size_t)jerr->position))
			break;
	}
	return j;
}

/* What is wrong, in the API's words (not the library's, whose texts name
 * its own flags). */
static const char *json_problem(const json_error_t *jerr)
{
	switch (json_error_code(jerr)) {
	case json_error_invalid_utf8:
		return "it is not valid UTF-8";
	case json_error_premature_end_of_input:
		return "it ends before the JSON value is complete";
	case json_error_end_of_input_expected:
		return "there is more after the JSON value";
	case json_error_null_character:
	case json_error_null_byte_in_key:
		return "strings must not contain the NUL character (\\u0000)";
	case json_error_duplicate_key:
		return "an object has the same key twice";
	case json_error_stack_overflow:
		return "it is nested too deeply";
	case json_error_numeric_overflow:
		return "a number is out of range";
	default:
		return "unexpected character or token";
	}
}

int api_parse_body(const struct http_request *req, json_t **body, struct app_error *err)
{
	json_error_t jerr;

	/* No body at all is a missing JSON object (400), whatever the headers say;
	 * a body in another media type is 415. */
	if (!req->body || req->body_len == 0)
		return app_error_set(err, ERR_INVALID_JSON,
				     "Request body is empty; a JSON object is required");
	if (!is_json_type(http_header(req, "Content-Type")))
		return app_error_set(err, ERR_UNSUPPORTED_MEDIA_TYPE, NULL);
	*body = load_body(req, &jerr);
	if (!*body)
		return app_error_set(err, ERR_INVALID_JSON,
				     "Request body is not valid JSON: %s (at position %d)",
				     json_problem(&jerr), jerr.position);
	if (!json_is_object(*body)) {
		json_decref(*body);
		*body = NULL;
		return app_error_set(err, ERR_INVALID_JSON, "Request body must be a JSON object");
	}
	return 0;
}

/* A positive integer below 2^53 (ids in paths and queries). */
static bool parse_id(const char *s, int64_t *out)
{
	return parse_int64(s, out) && *out > 0 && *out < MAX_JSON_ID && s[0] != '0';
}

static int set_param(struct arena *a, ProtobufCMessage *msg, const char *name, const char *text,
		     struct app_error *err)
{
	const ProtobufCFieldDescriptor *f = transcode_field(msg->descriptor, name);

	if (!f) /* a table error, not the client's */
		return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
	return transcode_set_text(a, msg, f, name, text, err);
}

static int apply_path(struct arena *a, const struct route_match *m, const struct principal *caller,
		      ProtobufCMessage *msg, struct app_error *err)
{
	for (size_t i = 0; i < m->nparams; i++) {
		const struct route_param *p = &m->params[i];
		const char *value = p->value;
		int64_t id;

		if (m->route->me_alias && strcmp(value, "me") == 0) {
			if (caller->method == AUTH_NONE)
				return app_error_set(err, ERR_UNAUTHORIZED, NULL);
			value = arena_sprintf(a, "%" PRId64, caller->user_id);
		}
		if (!parse_id(value, &id))
			return app_error_set(err, ERR_BAD_REQUEST,
					     "%s must be a positive integer%s", p->name,
					     m->route->me_alias ? " or \"me\"" : "");
		if (set_param(a, msg, p->name, value, err) != 0)
			return -1;
	}
	return 0;
}

static int check_query_value(const struct route_query *q, const char *v, struct app_error *err)
{
	int64_t n;

	switch (q->kind) {
	case QUERY_ID:
		if (!parse_id(v, &n))
			return app_error_set(err, ERR_BAD_REQUEST, "%s must be a positive integer",
					     q->name);
		break;
	case QUERY_PAGE:
		if (!parse_int64(v, &n) || n < 1 || n > INT32_MAX)
			return app_error_set(err, ERR_BAD_REQUEST,
					     "page must be a positive integer");
		break;
	case QUERY_LIMIT:
		if (!parse_int64(v, &n) || n < 1 || n > 100)
			return app_error_set(err, ERR_BAD_REQUEST,
					     "limit must be between 1 and 100");
		break;
	case QUERY_ENUM:
		if (!*v) /* "status=" filters nothing: a mistake, like an unknown value */
			return app_error_set(err, ERR_BAD_REQUEST, "%s must not be empty", q->name);
		/* fall through */
	case QUERY_TEXT:
		if (!utf8_valid(v, strlen(v)))
			return app_error_set(err, ERR_BAD_REQUEST, "%s must be valid UTF-8",
					     q->name);
		break;
	}
	return 0;
}

static int apply_query(struct http_request *req, const struct route *r, ProtobufCMessage *msg,
		       struct app_error *err)
{
	for (const struct route_query *q = r->query; q < r->query + ROUTE_MAX_QUERY && q->name;
	     q++) {
		const char *v = NULL;
		int count = http_query(req, q->name, &v);

		if (count == 0)
			continue;
		if (count > 1)
			return app_error_set(err, ERR_BAD_REQUEST, "%s must be given at most once",
					     q->name);
		if (check_query_value(q, v, err) != 0 ||
		    set_param(req->arena, msg, q->name, v, err) != 0)
			return -1;
	}
	return 0;
}

/* If-Match: "N" or W/"N"; "*" means no condition. 0 = absent. */
static int parse_if_match(const char *h, int64_t *version, struct app_error *err)
{
	char digits[24];
	size_t len;

	*version = 0;
	if (!h || strcmp(h, "*") == 0)
		return 0;
	if (strncmp(h, "W/", 2) == 0)
		h += 2;
	len = strlen(h);
	if (len < 3 || len > sizeof(digits) + 1 || h[0] != '"' || h[len - 1] != '"')
		goto bad;
	memcpy(digits, h + 1, len - 2);
	digits[len - 2] = '\0';
	if (parse_id(digits, version))
		return 0;
bad:
	return app_error_set(err, ERR_BAD_REQUEST, "If-Match must be an entity tag such as \"3\"");
}

/* Takes "version" out of the body and reconciles it with If-Match. */
static int take_version(struct http_request *req, json_t *body, int64_t *version,
			struct app_error *err)
{
	json_t *v = body ? json_object_get(body, "version") : NULL;
	int64_t header = 0, from_body = 0;

	if (parse_if_match(http_header(req, "If-Match"), &header, err) != 0)
		return -1;
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1) {
			app_error_add_violation(err, "version", "Must be a positive integer");
			return app_error_set(err, ERR_VALIDATION_ERROR, NULL);
		}
		from_body = json_integer_value(v);
		json_object_del(body, "version");
	}
	if (header && from_body && header != from_body)
		return app_error_set(err, ERR_VERSION_CONFLICT,
				     "If-Match (%" PRId64 ") and body version (%" PRId64 ") differ",
				     header, from_body);
	*version = header ? header : from_body;
	return 0;
}

static int set_mask(struct arena *a, ProtobufCMessage *msg, const char **paths, size_t n,
		    struct app_error *err)
{
	const ProtobufCFieldDescriptor *f = transcode_field(msg->descriptor, "update_mask");
	Google__Protobuf__FieldMask *mask;

	if (!f)
		return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
	mask = (Google__Protobuf__FieldMask *)
		transcode_new(a, &google__protobuf__field_mask__descriptor);
	mask->paths = (char **)paths;
	mask->n_paths = n;
	*(ProtobufCMessage **)((char *)msg + f->offset) = &mask->base;
	return 0;
}

/* Fills the request (or its body_field sub-message) from the body. */
static int apply_body(struct arena *a, const struct route *r, json_t *body, ProtobufCMessage *msg,
		      struct app_error *err)
{
	struct transcode_rules rules = {
		.read_only = r->read_only,
		.required = r->update == UPDATE_PUT ? r->required : NULL,
	};
	ProtobufCMessage *target = msg;
	const char **paths = NULL;
	size_t npaths = 0;

	if (r->body_field) {
		const ProtobufCFieldDescriptor *f = transcode_field(msg->descriptor, r->body_field);

		if (!f)
			return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
		target = transcode_new(a, f->descriptor);
		*(ProtobufCMessage **)((char *)msg + f->offset) = target;
	}
	if (transcode_from_json(a, body, target, &rules, &paths, &npaths, err) != 0)
		return -1;
	return r->update != UPDATE_NONE ? set_mask(a, msg, paths, npaths, err) : 0;
}

int api_build_request(const struct api *api, struct http_request *req, const struct route_match *m,
		      const struct principal *caller, json_t *body, ProtobufCMessage **out,
		      struct app_error *err)
{
	const struct route *r = m->route;
	ProtobufCMessage *msg = transcode_new(req->arena, r->request);
	int64_t version = 0;
	char text[24];

	(void)api;
	if (apply_path(req->arena, m, caller, msg, err) != 0 || apply_query(req, r, msg, err) != 0)
		return -1;
	if (r->fixed_field && set_param(req->arena, msg, r->fixed_field, r->fixed_value, err) != 0)
		return -1;
	if (r->versioned && take_version(req, body, &version, err) != 0)
		return -1;
	if (body && apply_body(req->arena, r, body, msg, err) != 0)
		return -1;
	if (version) {
		snprintf(text, sizeof(text), "%" PRId64, version);
		if (set_param(req->arena, msg, "version", text, err) != 0)
			return -1;
	}
	*out = msg;
	return 0;
}
