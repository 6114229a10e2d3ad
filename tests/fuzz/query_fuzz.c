/* query_fuzz.c - libFuzzer harness for the text that turns into request
 * values: query-string parameters, path ids ("me" included) and If-Match,
 * from the gateway down to the services' parsers.
 *
 * What runs, in the gateway's order (gateway/api_request.c and the modules it
 * calls): router_match over the real route table, then
 * api_check_query_credentials, then api_build_request (path ids -> parse_id,
 * query values -> check_query_value (QUERY_ID/PAGE/LIMIT) and
 * transcode_set_text -> parse_int64 / strings, If-Match -> parse_if_match),
 * then, on the message built, what the services do with those values
 * (shared/validate.c): page_resolve, page_offset, page_info_make, sort_parse
 * with each service's sort fields, db_like_escape, email_normalize.
 *
 * http.c's accessors are provided here over a parsed copy of the input (so
 * no libmicrohttpd connection is needed), with http.c's semantics: a
 * parameter without '=' has the value "", the first of repeated parameters is
 * the value, names and values are %XX-decoded C strings ('+' is a space).
 *
 * Input, as text lines: "[METHOD ]/path[?query]" then any "Name: value"
 * header lines (If-Match is the one that matters). A header line
 * "X-Fuzz-Anonymous: 1" makes the caller anonymous; otherwise it is user 42.
 *
 * Checked beyond ASan/UBSan/LSan:
 *   - failures are BAD_REQUEST (or UNAUTHORIZED for "me" when anonymous),
 *     never INTERNAL_ERROR (that would be a route-table bug);
 *   - credentials in the query are refused exactly when present;
 *   - on success each given query parameter reached its field unchanged,
 *     ids are 1..2^53-1, page >= 1, limit 1..100, "me" became 42, If-Match
 *     "N" became version N; the message packs (protobuf-c);
 *   - what the gateway let through, the services accept: page_resolve
 *     succeeds, offsets do not overflow; sort_parse answers a field of the
 *     list or refuses; db_like_escape is reversible. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "agentos/auth/v1/auth.pb-c.h"
#include "agentos/posts/v1/posts.pb-c.h"
#include "agentos/users/v1/users.pb-c.h"
#include "api.h"
#include "arena.h"
#include "err.h"
#include "http.h"
#include "principal.h"
#include "router.h"
#include "routes.h"
#include "transcode.h"
#include "util.h"
#include "db.h"
#include "validate.h"

#define QUERY_FUZZ_MAX_INPUT 4096
#define QUERY_FUZZ_MAX_PARAMS 32
#define QUERY_FUZZ_MAX_HEADERS 8
#define QUERY_FUZZ_USER 42
#define MAX_ID ((int64_t)1 << 53)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The services' sort fields (static in services/ *_service.c, copied here). */
static const char *const user_sorts[] = { "createdAt", "name", "email", NULL };
static const char *const post_sorts[] = { "createdAt", "publishedAt", "title", NULL };
static const char *const comment_sorts[] = { "createdAt", NULL };

struct kv_pair {
	const char *name;
	const char *value; /* NULL: no '=' in the query string */
};

/* http.h leaves this type to its implementation: here, the parsed input. */
struct http_request_impl {
	size_t nparams;
	struct kv_pair params[QUERY_FUZZ_MAX_PARAMS];
	size_t nheaders;
	struct kv_pair headers[QUERY_FUZZ_MAX_HEADERS];
};

static void fail(const char *what)
{
	fprintf(stderr, "query_fuzz: %s\n", what);
	abort();
}

/* ---- http.c's accessors over the parsed input ---------------------------- */

const char *http_header(const struct http_request *req, const char *name)
{
	if (!req || !req->impl || !name)
		return NULL;
	for (size_t i = 0; i < req->impl->nheaders; i++)
		if (strcasecmp(req->impl->headers[i].name, name) == 0)
			return req->impl->headers[i].value;
	return NULL;
}

int http_query(const struct http_request *req, const char *name, const char **value)
{
	const char *first = NULL;
	int count = 0;

	for (size_t i = 0; req && req->impl && name && i < req->impl->nparams; i++) {
		const struct kv_pair *p = &req->impl->params[i];

		if (strcmp(p->name, name) == 0 && count++ == 0)
			first = p->value ? p->value : "";
	}
	if (value)
		*value = first;
	return count;
}

void http_query_each(const struct http_request *req,
		     bool (*fn)(void *ctx, const char *name, const char *value), void *ctx)
{
	for (size_t i = 0; req && req->impl && i < req->impl->nparams; i++) {
		const struct kv_pair *p = &req->impl->params[i];

		if (!fn(ctx, p->name, p->value ? p->value : ""))
			return;
	}
}

/* ---- input parsing --------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %XX-decodes s[0..n) into a new arena string, and '+' into a space in the
 * query (as libmicrohttpd does); a decoded NUL ends it (the server hands C
 * strings over). */
static char *decode(struct arena *a, const char *s, size_t n, bool plus)
{
	char *out = arena_alloc(a, n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else if (plus && s[i] == '+') {
			*o++ = ' ';
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

static void parse_query(struct arena *a, const char *q, struct http_request_impl *impl)
{
	while (*q && impl->nparams < QUERY_FUZZ_MAX_PARAMS) {
		size_t len = strcspn(q, "&");
		const char *eq = memchr(q, '=', len);
		struct kv_pair *p;

		if (len) {
			p = &impl->params[impl->nparams++];
			p->name = decode(a, q, eq ? (size_t)(eq - q) : len, true);
			p->value = eq ? decode(a, eq + 1, len - (size_t)(eq + 1 - q), true) : NULL;
		}
		q += len;
		if (*q == '&')
			q++;
	}
}

/* "Name: value" lines after the first. */
static void parse_headers(struct arena *a, const char *s, struct http_request_impl *impl)
{
	while (*s && impl->nheaders < QUERY_FUZZ_MAX_HEADERS) {
		size_t len = strcspn(s, "\n");
		const char *colon = memchr(s, ':', len);

		if (colon) {
			struct kv_pair *h = &impl->headers[impl->nheaders++];
			const char *v = colon + 1;

			while (*v == ' ' && v < s + len)
				v++;
			h->name = arena_strndup(a, s, (size_t)(colon - s));
			h->value = arena_strndup(a, v, (size_t)(s + len - v));
		}
		s += len;
		if (*s == '\n')
			s++;
	}
}

/* ---- checks ------------------------------------------------------------------ */

static bool is_credential(const struct kv_pair *p)
{
	const char *v = p->value ? p->value : "";

	return strcmp(p->name, "api_key") == 0 || strcmp(p->name, "apiKey") == 0 ||
	       strcmp(p->name, "access_token") == 0 || strcmp(p->name, "key") == 0 ||
	       strncmp(v, "ak_", 3) == 0;
}

/* The field named by JSON name in m. */
static const void *field_slot(const ProtobufCMessage *m, const char *name,
			      const ProtobufCFieldDescriptor **f)
{
	*f = transcode_field(m->descriptor, name);
	if (!*f)
		fail("a route names a field its request does not have");
	return (const char *)m + (*f)->offset;
}

static int64_t int_field(const ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *f;
	const void *slot = field_slot(m, name, &f);

	if (f->type == PROTOBUF_C_TYPE_INT32)
		return *(const int32_t *)slot;
	if (f->type == PROTOBUF_C_TYPE_INT64)
		return *(const int64_t *)slot;
	fail("an integer query or path field is not int32/int64");
	return 0;
}

static bool in_range(enum query_kind kind, int64_t n)
{
	switch (kind) {
	case QUERY_ID:
		return n >= 1 && n < MAX_ID;
	case QUERY_PAGE:
		return n >= 1;
	case QUERY_LIMIT:
		return n >= 1 && n <= PAGE_MAX_LIMIT;
	default:
		return true;
	}
}

/* A text query parameter is its string field, unchanged. */
static void check_text_field(const ProtobufCMessage *m, const char *name, const char *v)
{
	const ProtobufCFieldDescriptor *f;
	const void *slot = field_slot(m, name, &f);
	const char *got;

	if (f->type != PROTOBUF_C_TYPE_STRING)
		return;
	got = *(char *const *)slot;
	if (strcmp(got ? got : "", v) != 0)
		fail("a text query parameter did not reach its field unchanged");
}

/* Each given query parameter is in the message as given, within its range. */
static void check_query_fields(const struct http_request *req, const struct route *r,
			       const ProtobufCMessage *m)
{
	for (const struct route_query *q = r->query; q < r->query + ROUTE_MAX_QUERY && q->name;
	     q++) {
		const char *v = NULL;
		int64_t n, want;

		if (http_query(req, q->name, &v) != 1)
			continue;
		if (q->kind == QUERY_TEXT || q->kind == QUERY_ENUM) {
			/* an enum filter is its string field too (never empty: 400) */
			if (q->kind == QUERY_ENUM && !*v)
				fail("an empty enum filter was accepted");
			check_text_field(m, q->name, v);
			continue;
		}
		n = int_field(m, q->name);
		if (!parse_int64(v, &want) || want != n)
			fail("an integer query parameter did not reach its field unchanged");
		if (!in_range(q->kind, n))
			fail("a query parameter outside its range was accepted");
	}
}

static void check_path_fields(const struct route_match *match, const struct principal *caller,
			      const ProtobufCMessage *m)
{
	for (size_t i = 0; i < match->nparams; i++) {
		int64_t n = int_field(m, match->params[i].name);

		if (n < 1 || n >= MAX_ID)
			fail("a path id outside 1..2^53-1 was accepted");
		if (strcmp(match->params[i].value, "me") == 0 &&
		    (!match->route->me_alias || n != caller->user_id))
			fail("\"me\" did not become the caller's id");
	}
}

/* If-Match "N" / W/"N" sets version N on a versioned route. */
static void check_version(const struct http_request *req, const struct route *r,
			  const ProtobufCMessage *m)
{
	const char *h = http_header(req, "If-Match");
	char digits[32];
	size_t len;
	int64_t want;

	if (!r->versioned)
		return;
	if (!h || strcmp(h, "*") == 0) {
		if (int_field(m, "version") != 0)
			fail("a version was set without If-Match");
		return;
	}
	if (strncmp(h, "W/", 2) == 0)
		h += 2;
	len = strlen(h);
	if (len < 3 || len - 2 >= sizeof(digits) || h[0] != '"' || h[len - 1] != '"')
		fail("a malformed If-Match was accepted");
	memcpy(digits, h + 1, len - 2);
	digits[len - 2] = '\0';
	if (!parse_int64(digits, &want) || want < 1 || want >= MAX_ID || digits[0] == '0' ||
	    int_field(m, "version") != want)
		fail("If-Match did not become the request's version");
}

/* db_like_escape's output, unescaped, is the input. */
static void check_like(struct arena *a, const char *s)
{
	const char *e = db_like_escape(a, s);
	char *back = arena_alloc(a, strlen(e) + 1), *o = back;

	for (const char *p = e; *p; p++) {
		if (*p == '\\') {
			p++;
			if (*p != '%' && *p != '_' && *p != '\\')
				fail("db_like_escape escaped something else or ended in a backslash");
		} else if (*p == '%' || *p == '_') {
			fail("db_like_escape left a wildcard unescaped");
		}
		*o++ = *p;
	}
	*o = '\0';
	if (strcmp(back, s) != 0)
		fail("db_like_escape is not reversible");
}

static void check_sort(const char *s, const char *def, const char *const *allowed)
{
	struct app_error err;
	bool desc = false;
	int index = -1;

	app_error_init(&err);
	if (sort_parse(s, def, allowed, &index, &desc, &err) != 0) {
		if (err.code != ERR_BAD_REQUEST || !*s)
			fail("sort_parse refused with something other than BAD_REQUEST");
		return;
	}
	if (index < 0 || !allowed[index])
		fail("sort_parse answered an index outside its list");
	if (*s && (strcmp(s + desc, allowed[index]) != 0 || (desc != (s[0] == '-'))))
		fail("sort_parse answered another field than the one asked");
}

/* What a list service does with page and limit the gateway let through. */
static void check_page(int32_t page, int32_t limit)
{
	static const int64_t totals[] = { 0, 1, 99, INT64_MAX };
	struct app_error err;
	struct page pg;

	app_error_init(&err);
	if (page_resolve(page, limit, &pg, &err) != 0)
		fail("page_resolve refuses page/limit the gateway accepted");
	if (page_offset(&pg) < 0)
		fail("a negative page offset");
	for (size_t i = 0; i < ARRAY_SIZE(totals); i++) {
		struct page_info pi = page_info_make(&pg, totals[i]);

		if (pi.total_pages < 0 || pi.has_next != (pi.page < pi.total_pages))
			fail("page_info_make is inconsistent");
	}
}

#define TEXT(s) ((s) ? (s) : "") /* what the services do with an absent string */

static void check_services(struct arena *a, const ProtobufCMessage *m)
{
	char email[EMAIL_MAX_LEN + 1];

	if (m->descriptor == &agentos__users__v1__list_users_request__descriptor) {
		const Agentos__Users__V1__ListUsersRequest *q = (const void *)m;

		check_page(q->page, q->limit);
		check_sort(TEXT(q->sort), "-createdAt", user_sorts);
		check_like(a, TEXT(q->name));
		if (email_normalize(TEXT(q->email), email, sizeof(email)) && !strchr(email, '@'))
			fail("email_normalize accepted an address without '@'");
	} else if (m->descriptor == &agentos__posts__v1__list_posts_request__descriptor) {
		const Agentos__Posts__V1__ListPostsRequest *q = (const void *)m;

		check_page(q->page, q->limit);
		check_sort(TEXT(q->sort), "-createdAt", post_sorts);
		check_like(a, TEXT(q->q));
	} else if (m->descriptor == &agentos__posts__v1__list_comments_request__descriptor) {
		const Agentos__Posts__V1__ListCommentsRequest *q = (const void *)m;

		check_page(q->page, q->limit);
		check_sort(TEXT(q->sort), "createdAt", comment_sorts);
	} else if (m->descriptor == &agentos__auth__v1__list_api_keys_request__descriptor) {
		const Agentos__Auth__V1__ListApiKeysRequest *q = (const void *)m;

		check_page(q->page, q->limit);
	}
}

static void check_packs(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		abort();
	if (!protobuf_c_message_check(m) || protobuf_c_message_pack(m, buf) != len)
		fail("the request message does not pack");
	free(buf);
}

/* ---- one request ---------------------------------------------------------------- */

static void run(struct http_request *req, const struct principal *caller)
{
	struct route_match match;
	struct app_error err;
	ProtobufCMessage *msg = NULL;
	char allow[64];
	bool cred = false;
	int rc;

	if (router_match(routes, routes_count, req->method, req->path, &match, allow,
			 sizeof(allow)) != ROUTER_FOUND)
		return;
	app_error_init(&err);
	for (size_t i = 0; i < req->impl->nparams; i++)
		cred = cred || is_credential(&req->impl->params[i]);
	rc = api_check_query_credentials(req, &err);
	if ((rc != 0) != cred || (rc != 0 && err.code != ERR_BAD_REQUEST))
		fail("query credentials were not refused exactly when present");
	if (rc != 0)
		return;
	if (api_build_request(NULL, req, &match, caller, NULL, &msg, &err) != 0) {
		if (err.code != ERR_BAD_REQUEST &&
		    !(err.code == ERR_UNAUTHORIZED && caller->method == AUTH_NONE))
			fail("a request failed with something other than BAD_REQUEST");
		return;
	}
	if (!msg || msg->descriptor != match.route->request)
		fail("the request message is not of the route's type");
	check_query_fields(req, match.route, msg);
	check_path_fields(&match, caller, msg);
	check_version(req, match.route, msg);
	check_packs(msg);
	check_services(req->arena, msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request_impl impl = { 0 };
	struct principal caller = { .method = AUTH_JWT,
				    .user_id = QUERY_FUZZ_USER,
				    .role = "user" };
	struct http_request req = { .impl = &impl, .request_id = "fuzz", .ip = "127.0.0.1" };
	struct arena a;
	char *s, *line, *q, *sp;
	size_t len;

	if (size > QUERY_FUZZ_MAX_INPUT || memchr(data, '\0', size))
		return -1;
	arena_init(&a);
	req.arena = &a;
	s = arena_strndup(&a, (const char *)data, size);
	len = strcspn(s, "\n");
	line = arena_strndup(&a, s, len);
	parse_headers(&a, s + len + (s[len] == '\n'), &impl);
	if (http_header(&req, "X-Fuzz-Anonymous"))
		memset(&caller, 0, sizeof(caller));
	sp = strchr(line, ' ');
	if (line[0] >= 'A' && line[0] <= 'Z' && sp) {
		*sp = '\0';
		req.method = line;
		line = sp + 1;
	} else {
		req.method = "GET";
	}
	q = strchr(line, '?');
	if (q)
		*q++ = '\0';
	req.path = decode(&a, line, strlen(line), false);
	if (q)
		parse_query(&a, q, &impl);
	run(&req, &caller);
	arena_release(&a);
	return 0;
}
