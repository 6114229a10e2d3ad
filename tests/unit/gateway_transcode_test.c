/* gateway_transcode_test.c - the REST <-> protobuf transcoder against the
 * JSON a client sends and reads: names, types, well-known types, every
 * violation at once, update-mask paths, exact output, text parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agentos/auth/v1/auth.pb-c.h"
#include "agentos/posts/v1/posts.pb-c.h"
#include "agentos/users/v1/users.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "transcode.h"
#include "transcode_text.h"

/* 2026-01-15T10:30:00Z */
#define T0 INT64_C(1768473000)

struct fx {
	struct arena a;
	struct app_error err;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	arena_init(&fx->a);
	app_error_init(&fx->err);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	arena_release(&fx->a);
	free(fx);
	return 0;
}

/* Parses text (NUL escapes allowed, so the transcoder's own check is reached),
 * fills a new message of type d, and drops the JSON at once: whatever the
 * message keeps must live in the arena. */
static int from(struct fx *fx, const ProtobufCMessageDescriptor *d, const char *text,
		const struct transcode_rules *rules, ProtobufCMessage **out, const char ***paths,
		size_t *npaths)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_ALLOW_NUL, &jerr);
	int rc;

	if (!j)
		fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
	*out = transcode_new(&fx->a, d);
	app_error_init(&fx->err);
	rc = transcode_from_json(&fx->a, j, *out, rules, paths, npaths, &fx->err);
	json_decref(j);
	return rc;
}

static void assert_json(const ProtobufCMessage *m, const char *expected)
{
	json_t *j = transcode_to_json(m);
	char *s = json_dumps(j, JSON_COMPACT);

	assert_non_null(s);
	assert_string_equal(s, expected);
	free(s);
	json_decref(j);
}

static void assert_violation(const struct app_error *err, size_t i, const char *field,
			     const char *description)
{
	if (i >= err->nviolations)
		fail_msg("violation %zu missing (have %zu)", i, err->nviolations);
	assert_string_equal(err->violations[i].field, field);
	assert_string_equal(err->violations[i].description, description);
}

/* from() refuses text (no rules) with exactly these violations, one
 * "<field>: <description>\n" each, in order. */
static void refused(struct fx *fx, const ProtobufCMessageDescriptor *d, const char *text,
		    const char *want)
{
	ProtobufCMessage *m;
	char got[1024] = "";
	size_t len = 0;

	assert_int_equal(from(fx, d, text, NULL, &m, NULL, NULL), -1);
	assert_int_equal(fx->err.code, ERR_VALIDATION_ERROR);
	for (size_t i = 0; i < fx->err.nviolations && len < sizeof(got); i++)
		len += (size_t)snprintf(got + len, sizeof(got) - len, "%s: %s\n",
					fx->err.violations[i].field,
					fx->err.violations[i].description);
	assert_string_equal(got, want);
}

/* ---- names ---- */

static void json_names(void **state)
{
	char out[32];
	char small[4];

	(void)state;
	transcode_json_name("is_active", out, sizeof(out));
	assert_string_equal(out, "isActive");
	transcode_json_name("id", out, sizeof(out));
	assert_string_equal(out, "id");
	transcode_json_name("created_at", out, sizeof(out));
	assert_string_equal(out, "createdAt");
	transcode_json_name("expires_in_days", out, sizeof(out));
	assert_string_equal(out, "expiresInDays");
	transcode_json_name("is_active", small, sizeof(small));
	assert_string_equal(small, "isA");
}

static void field_lookup_by_either_name(void **state)
{
	const ProtobufCMessageDescriptor *d = &agentos__users__v1__user__descriptor;
	const ProtobufCFieldDescriptor *f = transcode_field(d, "isActive");

	(void)state;
	assert_non_null(f);
	assert_string_equal(f->name, "is_active");
	assert_ptr_equal(transcode_field(d, "is_active"), f);
	assert_string_equal(transcode_field(d, "createdAt")->name, "created_at");
	assert_string_equal(transcode_field(d, "id")->name, "id");
	assert_null(transcode_field(d, "isactive"));
	assert_null(transcode_field(d, "nope"));
	assert_null(transcode_field(NULL, "id"));
}

/* ---- JSON -> proto ---- */

static void create_user_with_wrappers(void **state)
{
	struct fx *fx = *state;
	ProtobufCMessage *m;
	Agentos__Users__V1__CreateUserRequest *r;
	const char **paths;
	size_t n;

	assert_int_equal(from(fx, &agentos__users__v1__create_user_request__descriptor,
			      "{\"email\":\"ann@example.com\",\"password\":\"s3cret-pass\","
			      "\"name\":\"Ann \\u00e9\",\"role\":\"admin\",\"isActive\":true,"
			      "\"isVerified\":false}",
			      NULL, &m, &paths, &n),
			 0);
	r = (Agentos__Users__V1__CreateUserRequest *)m;
	assert_string_equal(r->email, "ann@example.com");
	assert_string_equal(r->password, "s3cret-pass");
	assert_string_equal(r->name, "Ann \xc3\xa9");
	assert_string_equal(r->role, "admin");
	assert_non_null(r->is_active);
	assert_true(r->is_active->value);
	assert_non_null(r->is_verified);
	assert_false(r->is_verified->value);
	assert_int_equal(n, 6);
	assert_string_equal(paths[4], "is_active");

	/* null and absent wrappers are both absent; untouched strings stay "". */
	assert_int_equal(from(fx, &agentos__users__v1__create_user_request__descriptor,
			      "{\"isActive\":null,\"email\":\"b@example.com\"}", NULL, &m, &paths,
			      &n),
			 0);
	r = (Agentos__Users__V1__CreateUserRequest *)m;
	assert_null(r->is_active);
	assert_null(r->is_verified);
	assert_string_equal(r->name, "");
	assert_int_equal(n, 2);
	assert_string_equal(paths[0], "is_active");
	assert_string_equal(paths[1], "email");
}

static void user_with_timestamps(void **state)
{
	struct fx *fx = *state;
	ProtobufCMessage *m;
	Agentos__Users__V1__User *u;

	assert_int_equal(from(fx, &agentos__users__v1__user__descriptor,
			      "{\"id\":9007199254740991,\"version\":-3,"
			      "\"createdAt\":\"2026-01-15T10:30:00.123Z\","
			      "\"updatedAt\":\"2026-01-15T12:30:00.5+02:00\"}",
			      NULL, &m, NULL, NULL),
			 0);
	u = (Agentos__Users__V1__User *)m;
	assert_int_equal(u->id, INT64_C(9007199254740991));
	assert_int_equal(u->version, -3);
	assert_non_null(u->created_at);
	assert_int_equal(u->created_at->seconds, T0);
	assert_int_equal(u->created_at->nanos, 123000000);
	assert_int_equal(u->updated_at->seconds, T0);
	assert_int_equal(u->updated_at->nanos, 500000000);
}

static void timestamp_forms(void **state)
{
	static const struct {
		const char *text;
		int64_t seconds;
		int32_t nanos;
	} good[] = {
		{ "2026-01-15T10:30:00Z", T0, 0 },
		{ "2026-01-15T05:00:00-05:30", T0, 0 },
		{ "2026-01-15T10:30:00.123456789Z", T0, 123456789 },
		{ "2024-02-29T00:00:00Z", INT64_C(1709164800), 0 },
		{ "1969-12-31T23:59:59.999Z", -1, 999000000 },
		{ "0001-01-01T00:00:00Z", INT64_C(-62135596800), 0 },
		{ "9999-12-31T23:59:59Z", INT64_C(253402300799), 0 },
	};
	static const char *const bad[] = {
		"2026-02-30T00:00:00Z",
		"2100-02-29T00:00:00Z",
		"2026-01-15 10:30:00Z",
		"2026-01-15T10:30:00",
		"2026-01-15T24:00:00Z",
		"2026-01-15T10:60:00Z",
		"2026-01-15T10:30:60Z",
		"2026-01-15T10:30:00.Z",
		"2026-01-15T10:30:00.1234567891Z",
		"2026-01-15T10:30:00+2:00",
		"2026-01-15T10:30:00+02:00x",
		"0000-01-01T00:00:00Z",
		"2026-13-01T00:00:00Z",
		"2026-1-15T10:30:00Z",
		"2026-01-15",
		"",
		"2026-01-15T10:30:00 Z",
		"+2026-01-15T10:30:00Z",
	};
	struct fx *fx = *state;
	ProtobufCMessage *m;
	char body[128];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		Agentos__Users__V1__User *u;

		snprintf(body, sizeof(body), "{\"createdAt\":\"%s\"}", good[i].text);
		if (from(fx, &agentos__users__v1__user__descriptor, body, NULL, &m, NULL, NULL) !=
		    0)
			fail_msg("refused %s", good[i].text);
		u = (Agentos__Users__V1__User *)m;
		assert_int_equal(u->created_at->seconds, good[i].seconds);
		assert_int_equal(u->created_at->nanos, good[i].nanos);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{\"createdAt\":\"%s\"}", bad[i]);
		if (from(fx, &agentos__users__v1__user__descriptor, body, NULL, &m, NULL, NULL) ==
		    0)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(fx->err.code, ERR_VALIDATION_ERROR);
		assert_int_equal(fx->err.nviolations, 1);
		assert_violation(&fx->err, 0, "createdAt", "Must be an RFC 3339 timestamp");
	}
}

static void every_violation_at_once(void **state)
{
	static const char *const read_only[] = { "id", "createdAt", NULL };
	static const char *const required[] = { "email", "name", "isVerified", NULL };
	const struct transcode_rules rules = { .read_only = read_only, .required = required };
	struct fx *fx = *state;
	ProtobufCMessage *m;
	const char **paths = (const char **)1;
	size_t n = 99;

	assert_int_equal(from(fx, &agentos__users__v1__create_user_request__descriptor,
			      "{\"id\":5,\"bogus\":1,\"password\":12,\"role\":null,"
			      "\"isActive\":\"yes\",\"createdAt\":\"x\",\"email\":\"a\\u0000b\","
			      "\"is_active\":true,\"isVerified\":null}",
			      &rules, &m, &paths, &n),
			 -1);
	assert_int_equal(fx->err.code, ERR_VALIDATION_ERROR);
	assert_null(paths);
	assert_int_equal(n, 0);
	assert_int_equal(fx->err.nviolations, 10);
	assert_violation(&fx->err, 0, "id", "Field is read-only");
	assert_violation(&fx->err, 1, "bogus", "Unknown field");
	assert_violation(&fx->err, 2, "password", "Must be a string");
	assert_violation(&fx->err, 3, "role", "Must not be null");
	assert_violation(&fx->err, 4, "isActive", "Must be a boolean");
	assert_violation(&fx->err, 5, "createdAt", "Field is read-only");
	assert_violation(&fx->err, 6, "email", "Must not contain NUL characters");
	/* Proto names are not JSON names: no way around the read-only list. */
	assert_violation(&fx->err, 7, "is_active", "Unknown field");
	assert_violation(&fx->err, 8, "name", "Field is required");
	assert_violation(&fx->err, 9, "isVerified", "Field is required");
}

static void integer_and_nested_violations(void **state)
{
	struct fx *fx = *state;

	refused(fx, &agentos__users__v1__user__descriptor,
		"{\"id\":1.5,\"version\":1.0,\"isActive\":\"true\",\"createdAt\":12,"
		"\"isVerified\":1,\"email\":[]}",
		"id: Must be an integer\n"
		"version: Must be an integer\n"
		"isActive: Must be a boolean\n"
		"createdAt: Must be an RFC 3339 timestamp\n"
		"isVerified: Must be a boolean\n"
		"email: Must be a string\n");

	refused(fx, &agentos__auth__v1__create_api_key_request__descriptor,
		"{\"name\":\"k\",\"permissions\":[\"read:posts\",3,null],"
		"\"expiresInDays\":2147483648}",
		"permissions[1]: Must be a string\n"
		"permissions[2]: Must not be null\n"
		"expiresInDays: Must be an integer between -2147483648 and 2147483647\n");

	refused(fx, &agentos__posts__v1__post__descriptor,
		"{\"author\":{\"id\":\"7\",\"name\":5,\"x\":1},\"publishedAt\":{},"
		"\"commentCount\":-2147483649,\"title\":{}}",
		"author.id: Must be an integer\n"
		"author.name: Must be a string\n"
		"author.x: Unknown field\n"
		"publishedAt: Must be an RFC 3339 timestamp\n"
		"title: Must be a string\n");

	refused(fx, &agentos__posts__v1__post__descriptor, "{\"author\":[1]}",
		"author: Must be an object\n");
}

static void not_an_object(void **state)
{
	struct fx *fx = *state;
	ProtobufCMessage *m;

	assert_int_equal(from(fx, &agentos__users__v1__user__descriptor, "[1]", NULL, &m, NULL,
			      NULL),
			 -1);
	assert_int_equal(fx->err.code, ERR_INVALID_JSON);
}

static void paths_follow_key_order(void **state)
{
	struct fx *fx = *state;
	ProtobufCMessage *m;
	Agentos__Posts__V1__Post *p;
	const char **paths;
	size_t n;

	assert_int_equal(from(fx, &agentos__posts__v1__post__descriptor,
			      "{\"status\":\"draft\",\"author\":null,\"title\":\"T\","
			      "\"publishedAt\":null,\"commentCount\":0}",
			      NULL, &m, &paths, &n),
			 0);
	p = (Agentos__Posts__V1__Post *)m;
	assert_null(p->author);
	assert_null(p->published_at);
	assert_int_equal(n, 5);
	assert_string_equal(paths[0], "status");
	assert_string_equal(paths[1], "author");
	assert_string_equal(paths[2], "title");
	assert_string_equal(paths[3], "published_at");
	assert_string_equal(paths[4], "comment_count");

	assert_int_equal(from(fx, &agentos__posts__v1__post__descriptor, "{}", NULL, &m, &paths,
			      &n),
			 0);
	assert_int_equal(n, 0);
}

static void repeated_strings(void **state)
{
	struct fx *fx = *state;
	ProtobufCMessage *m;
	Agentos__Auth__V1__CreateApiKeyRequest *r;

	assert_int_equal(from(fx, &agentos__auth__v1__create_api_key_request__descriptor,
			      "{\"name\":\"ci\",\"permissions\":[\"read:posts\",\"write:posts\"],"
			      "\"expiresInDays\":30}",
			      NULL, &m, NULL, NULL),
			 0);
	r = (Agentos__Auth__V1__CreateApiKeyRequest *)m;
	assert_int_equal(r->n_permissions, 2);
	assert_string_equal(r->permissions[0], "read:posts");
	assert_string_equal(r->permissions[1], "write:posts");
	assert_int_equal(r->expires_in_days, 30);

	assert_int_equal(from(fx, &agentos__auth__v1__create_api_key_request__descriptor,
			      "{\"permissions\":[]}", NULL, &m, NULL, NULL),
			 0);
	assert_int_equal(((Agentos__Auth__V1__CreateApiKeyRequest *)m)->n_permissions, 0);

	refused(fx, &agentos__auth__v1__create_api_key_request__descriptor,
		"{\"permissions\":\"read:posts\"}", "permissions: Must be an array\n");
	refused(fx, &agentos__auth__v1__create_api_key_request__descriptor,
		"{\"permissions\":null}", "permissions: Must not be null\n");
}

static void repeated_messages(void **state)
{
	struct fx *fx = *state;
	ProtobufCMessage *m;
	Agentos__Users__V1__ListUsersResponse *r;

	assert_int_equal(from(fx, &agentos__users__v1__list_users_response__descriptor,
			      "{\"users\":[{\"id\":1},{\"id\":2,\"name\":\"B\"}],"
			      "\"pagination\":{\"page\":1,\"hasNext\":true}}",
			      NULL, &m, NULL, NULL),
			 0);
	r = (Agentos__Users__V1__ListUsersResponse *)m;
	assert_int_equal(r->n_users, 2);
	assert_int_equal(r->users[0]->id, 1);
	assert_string_equal(r->users[1]->name, "B");
	assert_true(r->pagination->has_next);

	refused(fx, &agentos__users__v1__list_users_response__descriptor,
		"{\"users\":[{\"id\":1,\"createdAt\":\"x\"},null,7]}",
		"users[0].createdAt: Must be an RFC 3339 timestamp\n"
		"users[1]: Must not be null\n"
		"users[2]: Must be an object\n");
}

static void field_mask_enum_and_bytes(void **state)
{
	struct fx *fx = *state;
	ProtobufCMessage *m;
	Agentos__Users__V1__UpdateUserRequest *u;
	Google__Protobuf__Any *any;

	assert_int_equal(from(fx, &agentos__users__v1__update_user_request__descriptor,
			      "{\"updateMask\":\"email,isActive,user.createdAt\"}", NULL, &m, NULL,
			      NULL),
			 0);
	u = (Agentos__Users__V1__UpdateUserRequest *)m;
	assert_int_equal(u->update_mask->n_paths, 3);
	assert_string_equal(u->update_mask->paths[0], "email");
	assert_string_equal(u->update_mask->paths[1], "is_active");
	assert_string_equal(u->update_mask->paths[2], "user.created_at");
	assert_json(m, "{\"id\":0,\"user\":null,\"updateMask\":\"email,isActive,user.createdAt\","
		       "\"version\":0}");
	refused(fx, &agentos__users__v1__update_user_request__descriptor,
		"{\"updateMask\":\"email,,name\"}",
		"updateMask: Must be a comma-separated list of field names\n");

	assert_int_equal(from(fx, &grpc__health__v1__health_check_response__descriptor,
			      "{\"status\":\"NOT_SERVING\"}", NULL, &m, NULL, NULL),
			 0);
	assert_json(m, "{\"status\":\"NOT_SERVING\"}");
	refused(fx, &grpc__health__v1__health_check_response__descriptor, "{\"status\":\"UP\"}",
		"status: Must be one of: UNKNOWN, SERVING, NOT_SERVING, SERVICE_UNKNOWN\n");

	assert_int_equal(from(fx, &google__protobuf__any__descriptor,
			      "{\"typeUrl\":\"t\",\"value\":\"aGVsbG8=\"}", NULL, &m, NULL, NULL),
			 0);
	any = (Google__Protobuf__Any *)m;
	assert_int_equal(any->value.len, 5);
	assert_memory_equal(any->value.data, "hello", 5);
	assert_json(m, "{\"typeUrl\":\"t\",\"value\":\"aGVsbG8=\"}");
	refused(fx, &google__protobuf__any__descriptor, "{\"value\":\"aGVsbG8\"}",
		"value: Must be a base64 string\n");
}

/* ---- proto -> JSON ---- */

static void user_to_json(void **state)
{
	Agentos__Users__V1__User u = AGENTOS__USERS__V1__USER__INIT;
	Google__Protobuf__Timestamp created = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	Google__Protobuf__Timestamp updated = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

	(void)state;
	assert_json(&u.base,
		    "{\"id\":0,\"email\":\"\",\"name\":\"\",\"role\":\"\",\"isActive\":false,"
		    "\"isVerified\":false,\"version\":0,\"createdAt\":null,\"updatedAt\":null}");
	u.id = INT64_C(9007199254740991);
	u.email = "ann@example.com";
	u.name = "Ann \"A\"";
	u.role = "user";
	u.is_active = 1;
	u.version = 3;
	created.seconds = T0;
	updated.seconds = T0 + 60;
	updated.nanos = 123999999; /* truncated to milliseconds */
	u.created_at = &created;
	u.updated_at = &updated;
	assert_json(&u.base, "{\"id\":9007199254740991,\"email\":\"ann@example.com\","
			     "\"name\":\"Ann \\\"A\\\"\",\"role\":\"user\",\"isActive\":true,"
			     "\"isVerified\":false,\"version\":3,"
			     "\"createdAt\":\"2026-01-15T10:30:00.000Z\","
			     "\"updatedAt\":\"2026-01-15T10:31:00.123Z\"}");
}

static void post_to_json(void **state)
{
	Agentos__Posts__V1__Post p = AGENTOS__POSTS__V1__POST__INIT;
	Agentos__Posts__V1__Author author = AGENTOS__POSTS__V1__AUTHOR__INIT;
	Google__Protobuf__StringValue name = GOOGLE__PROTOBUF__STRING_VALUE__INIT;
	Google__Protobuf__Timestamp created = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

	(void)state;
	p.id = 10;
	p.title = "Hello";
	p.body = "World";
	p.status = "draft";
	p.author = &author;
	p.version = 1;
	created.seconds = T0;
	p.created_at = &created;
	p.updated_at = &created;
	author.id = 7;
	assert_json(&p.base,
		    "{\"id\":10,\"title\":\"Hello\",\"body\":\"World\",\"status\":\"draft\","
		    "\"author\":{\"id\":7,\"name\":null},\"commentCount\":0,\"version\":1,"
		    "\"createdAt\":\"2026-01-15T10:30:00.000Z\","
		    "\"updatedAt\":\"2026-01-15T10:30:00.000Z\",\"publishedAt\":null}");
	name.value = "Ann";
	author.name = &name;
	p.author = &author;
	p.comment_count = 2;
	p.published_at = &created;
	assert_json(&p.base,
		    "{\"id\":10,\"title\":\"Hello\",\"body\":\"World\",\"status\":\"draft\","
		    "\"author\":{\"id\":7,\"name\":\"Ann\"},\"commentCount\":2,\"version\":1,"
		    "\"createdAt\":\"2026-01-15T10:30:00.000Z\","
		    "\"updatedAt\":\"2026-01-15T10:30:00.000Z\","
		    "\"publishedAt\":\"2026-01-15T10:30:00.000Z\"}");
}

static void list_to_json(void **state)
{
	Agentos__Users__V1__ListUsersResponse r = AGENTOS__USERS__V1__LIST_USERS_RESPONSE__INIT;
	Agentos__Common__V1__Pagination pg = AGENTOS__COMMON__V1__PAGINATION__INIT;
	Agentos__Users__V1__User u = AGENTOS__USERS__V1__USER__INIT;
	Agentos__Users__V1__User *users[] = { &u };
	Agentos__Auth__V1__CreateApiKeyRequest k = AGENTOS__AUTH__V1__CREATE_API_KEY_REQUEST__INIT;
	char *perms[] = { "read:posts", "write:posts" };

	(void)state;
	assert_json(&r.base, "{\"users\":[],\"pagination\":null}");
	pg.page = 2;
	pg.limit = 20;
	pg.total = 21;
	pg.total_pages = 2;
	pg.has_prev = 1;
	r.pagination = &pg;
	u.id = 5;
	r.users = users;
	r.n_users = 1;
	assert_json(&r.base,
		    "{\"users\":[{\"id\":5,\"email\":\"\",\"name\":\"\",\"role\":\"\","
		    "\"isActive\":false,\"isVerified\":false,\"version\":0,"
		    "\"createdAt\":null,\"updatedAt\":null}],"
		    "\"pagination\":{\"page\":2,\"limit\":20,\"total\":21,\"totalPages\":2,"
		    "\"hasNext\":false,\"hasPrev\":true}}");

	assert_json(&k.base, "{\"name\":\"\",\"permissions\":[],\"expiresInDays\":0}");
	k.permissions = perms;
	k.n_permissions = 2;
	assert_json(&k.base, "{\"name\":\"\",\"permissions\":[\"read:posts\",\"write:posts\"],"
			     "\"expiresInDays\":0}");
}

static void wrappers_to_json(void **state)
{
	Agentos__Users__V1__CreateUserRequest r = AGENTOS__USERS__V1__CREATE_USER_REQUEST__INIT;
	Google__Protobuf__BoolValue f = GOOGLE__PROTOBUF__BOOL_VALUE__INIT;

	(void)state;
	r.is_verified = &f;
	assert_json(&r.base, "{\"email\":\"\",\"password\":\"\",\"name\":\"\",\"role\":\"\","
			     "\"isActive\":null,\"isVerified\":false}");
}

static void round_trip(void **state)
{
	static const char *const bodies[] = {
		"{\"id\":10,\"title\":\"T\",\"body\":\"B \xc3\xa9\",\"status\":\"published\","
		"\"author\":{\"id\":7,\"name\":null},\"commentCount\":3,\"version\":2,"
		"\"createdAt\":\"2026-01-15T10:30:00.123Z\",\"updatedAt\":\"2026-01-15T10:30:00.000Z\","
		"\"publishedAt\":null}",
		"{\"id\":1,\"title\":\"\",\"body\":\"\",\"status\":\"\","
		"\"author\":{\"id\":2,\"name\":\"Bo\"},\"commentCount\":0,\"version\":0,"
		"\"createdAt\":null,\"updatedAt\":null,\"publishedAt\":\"1969-12-31T23:59:59.999Z\"}",
	};
	struct fx *fx = *state;
	ProtobufCMessage *m;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(from(fx, &agentos__posts__v1__post__descriptor, bodies[i], NULL,
				      &m, NULL, NULL),
				 0);
		assert_json(m, bodies[i]);
	}
	assert_int_equal(from(fx, &agentos__auth__v1__create_api_key_request__descriptor,
			      "{\"name\":\"k\",\"permissions\":[\"a\",\"b\"],\"expiresInDays\":-1}",
			      NULL, &m, NULL, NULL),
			 0);
	assert_json(m, "{\"name\":\"k\",\"permissions\":[\"a\",\"b\"],\"expiresInDays\":-1}");
}

/* ---- text parameters ---- */

static void set(struct fx *fx, ProtobufCMessage *m, const char *name, const char *text, int rc)
{
	const ProtobufCFieldDescriptor *f = transcode_field(m->descriptor, name);

	assert_non_null(f);
	app_error_init(&fx->err);
	assert_int_equal(transcode_set_text(&fx->a, m, f, name, text, &fx->err), rc);
	if (rc == 0)
		assert_int_equal(fx->err.code, ERR_OK);
}

static void set_fails(struct fx *fx, ProtobufCMessage *m, const char *name, const char *text,
		      const char *message)
{
	set(fx, m, name, text, -1);
	assert_int_equal(fx->err.code, ERR_BAD_REQUEST);
	assert_string_equal(fx->err.message, message);
	assert_int_equal(fx->err.nviolations, 0);
}

static void set_text_params(void **state)
{
	struct fx *fx = *state;
	ProtobufCMessage *m = transcode_new(&fx->a,
					    &agentos__users__v1__list_users_request__descriptor);
	Agentos__Users__V1__ListUsersRequest *r = (Agentos__Users__V1__ListUsersRequest *)m;
	char sort[] = "-createdAt";

	set(fx, m, "page", "2", 0);
	set(fx, m, "limit", "-7", 0);
	assert_int_equal(r->page, 2);
	assert_int_equal(r->limit, -7);
	set_fails(fx, m, "page", "abc", "page must be an integer");
	set_fails(fx, m, "page", "1.0", "page must be an integer");
	set_fails(fx, m, "page", "+1", "page must be an integer");
	set_fails(fx, m, "page", " 1", "page must be an integer");
	set_fails(fx, m, "page", "", "page must be an integer");
	set_fails(fx, m, "page", "99999999999999999999", "page must be an integer");
	set_fails(fx, m, "page", "2147483648",
		  "page must be an integer between -2147483648 and 2147483647");
	assert_int_equal(r->page, 2); /* failures leave the field alone */
	set(fx, m, "sort", sort, 0);
	sort[0] = 'X';
	assert_string_equal(r->sort, "-createdAt");

	m = transcode_new(&fx->a, &agentos__users__v1__get_user_request__descriptor);
	set(fx, m, "id", "9007199254740993", 0);
	assert_int_equal(((Agentos__Users__V1__GetUserRequest *)m)->id, INT64_C(9007199254740993));
	set_fails(fx, m, "id", "12abc", "id must be an integer");

	m = transcode_new(&fx->a, &agentos__common__v1__pagination__descriptor);
	set(fx, m, "hasNext", "true", 0);
	assert_true(((Agentos__Common__V1__Pagination *)m)->has_next);
	set_fails(fx, m, "hasNext", "yes", "hasNext must be true or false");
	set_fails(fx, m, "hasNext", "TRUE", "hasNext must be true or false");
}

static void set_text_other_kinds(void **state)
{
	struct fx *fx = *state;
	ProtobufCMessage *m = transcode_new(&fx->a,
					    &agentos__users__v1__create_user_request__descriptor);
	Agentos__Users__V1__CreateUserRequest *c = (Agentos__Users__V1__CreateUserRequest *)m;
	Agentos__Users__V1__BatchGetUsersRequest *b;

	set(fx, m, "isActive", "false", 0);
	assert_non_null(c->is_active);
	assert_false(c->is_active->value);
	set_fails(fx, m, "isVerified", "1", "isVerified must be true or false");
	assert_null(c->is_verified);

	m = transcode_new(&fx->a, &agentos__users__v1__batch_get_users_request__descriptor);
	b = (Agentos__Users__V1__BatchGetUsersRequest *)m;
	set(fx, m, "ids", "4", 0);
	set(fx, m, "ids", "5", 0);
	set_fails(fx, m, "ids", "x", "ids must be an integer");
	assert_int_equal(b->n_ids, 2);
	assert_int_equal(b->ids[0], 4);
	assert_int_equal(b->ids[1], 5);

	m = transcode_new(&fx->a, &grpc__health__v1__health_check_response__descriptor);
	set(fx, m, "status", "SERVING", 0);
	assert_int_equal(((Grpc__Health__V1__HealthCheckResponse *)m)->status,
			 GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
	set_fails(fx, m, "status", "serving",
		  "status must be one of: UNKNOWN, SERVING, NOT_SERVING, SERVICE_UNKNOWN");

	/* A field text cannot fill is the route table's bug, not the client's. */
	m = transcode_new(&fx->a, &agentos__posts__v1__post__descriptor);
	set(fx, m, "author", "7", -1);
	assert_int_equal(fx->err.code, ERR_INTERNAL_ERROR);
}

/* Found by tests/fuzz/transcode_fuzz.c: an offset must not carry a date-time
 * outside 0001..9999 (the range a google.protobuf.Timestamp may hold). */
static void rfc3339_offsets_stay_in_range(void **state)
{
	static const struct {
		const char *text;
		bool ok;
		int64_t secs;
	} cases[] = {
		{ "0001-01-01T00:00:00+00:01", false, 0 },
		{ "9999-12-31T23:59:59-00:01", false, 0 },
		{ "9999-12-31T23:59:59.999999-05:30", false, 0 },
		{ "0001-01-01T00:00:00Z", true, TS_MIN_SECONDS },
		{ "0001-01-01T00:30:00+00:30", true, TS_MIN_SECONDS },
		{ "9999-12-31T23:59:59Z", true, TS_MAX_SECONDS },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t secs = 0;
		int32_t nanos = 0;
		bool ok = transcode_parse_rfc3339(cases[i].text, strlen(cases[i].text), &secs,
						  &nanos);

		if (ok != cases[i].ok)
			fprintf(stderr, "%s: %s\n", cases[i].text, ok ? "accepted" : "refused");
		assert_true(ok == cases[i].ok);
		if (ok)
			assert_int_equal(secs, cases[i].secs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_names),
		cmocka_unit_test(field_lookup_by_either_name),
		cmocka_unit_test_setup_teardown(create_user_with_wrappers, setup, teardown),
		cmocka_unit_test_setup_teardown(user_with_timestamps, setup, teardown),
		cmocka_unit_test_setup_teardown(timestamp_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(every_violation_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(integer_and_nested_violations, setup, teardown),
		cmocka_unit_test_setup_teardown(not_an_object, setup, teardown),
		cmocka_unit_test_setup_teardown(paths_follow_key_order, setup, teardown),
		cmocka_unit_test_setup_teardown(repeated_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(repeated_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(field_mask_enum_and_bytes, setup, teardown),
		cmocka_unit_test(user_to_json),
		cmocka_unit_test(post_to_json),
		cmocka_unit_test(list_to_json),
		cmocka_unit_test(wrappers_to_json),
		cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(set_text_params, setup, teardown),
		cmocka_unit_test_setup_teardown(set_text_other_kinds, setup, teardown),
		cmocka_unit_test(rfc3339_offsets_stay_in_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
