/* posts_fixture.h - what the REST posts test binaries share: the stack G of
 * gw_fixture.h (bodies up to 50000 code points reach the posts service),
 * actors with roles, request helpers and the exact post shape. Header-only:
 * include it after the test's own includes, with GW_IT_NAME defined (the
 * binary's name, used for its throwaway folder). */
#ifndef TESTS_POSTS_FIXTURE_H
#define TESTS_POSTS_FIXTURE_H

#define GW_IT_ENV "MAX_BODY_BYTES=262144"
#include "gw_fixture.h"

/* cmocka group setup: the stack, and a 200 for GET /posts through the
 * gateway (its channel to the posts service may still be backing off from
 * an early attempt). */
static inline int posts_setup(void **state)
{
	if (gw_setup(state) != 0)
		return -1;
	if (it_gateway_await_200(&G, "/api/v1/posts", NULL, 20000))
		return 0;
	fprintf(stderr, "GET /posts through the gateway never answered 200; log: %s\n",
		proc_log_path(G.posts));
	return -1;
}

/* ---- actors ---------------------------------------------------------------------- */

struct actor {
	int64_t id;
	char *token;
	char email[96];
};

/* Signs up a user; role other than "user" is then given by the admin, and the
 * token is issued (2 s ahead, within the 30 s leeway) after that change. */
static inline struct actor actor_new(const char *email, const char *name, const char *role)
{
	struct actor a = { 0 };

	a.id = it_gateway_sign_up(&G, email, name);
	strlcpy_s(a.email, email, sizeof(a.email));
	if (strcmp(role, "user") != 0) {
		char path[64], body[64];
		struct it_http_result r;

		snprintf(path, sizeof(path), "/users/%lld", (long long)a.id);
		snprintf(body, sizeof(body), "{\"role\":\"%s\"}", role);
		r = it_gateway_call(&G, "PATCH", path, G.admin_token, NULL, body);
		assert_true(it_http_is_success(&r, 200));
		it_http_release(&r);
		a.token = it_token_ex(a.id, email, role, 2, 3600, IT_JWT_SECRET);
	} else {
		a.token = it_token(a.id, email, role);
	}
	return a;
}

static inline void actor_free(struct actor *a)
{
	free(a->token);
	a->token = NULL;
}

/* ---- requests -------------------------------------------------------------------- */

static inline const char *post_path(int64_t id)
{
	static char path[64];

	snprintf(path, sizeof(path), "/posts/%lld", (long long)id);
	return path;
}

/* A JSON body {title, body, status} (NULL members left out); malloc'd. */
static inline char *post_json(const char *title, const char *body, const char *status)
{
	json_t *o = json_object();
	char *s;

	if (title)
		json_object_set_new(o, "title", json_string(title));
	if (body)
		json_object_set_new(o, "body", json_string(body));
	if (status)
		json_object_set_new(o, "status", json_string(status));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* unit repeated n times; malloc'd. */
static inline char *repeat(const char *unit, size_t n)
{
	size_t len = strlen(unit);
	char *s = xmalloc(len * n + 1);

	for (size_t i = 0; i < n; i++)
		memcpy(s + i * len, unit, len);
	s[len * n] = '\0';
	return s;
}

/* An embedded author exactly as API.md §2: {id, name}, name null once the
 * user is gone. */
static inline void assert_author_shape(const json_t *author)
{
	static const char *const keys[] = { "id", "name", NULL };

	assert_true(it_json_keys_are(author, keys));
	assert_true(json_is_integer(json_object_get(author, "id")));
	assert_true(json_is_string(json_object_get(author, "name")) ||
		    json_is_null(json_object_get(author, "name")));
}

/* A post object exactly as API.md §2, publishedAt null exactly for drafts. */
static inline void assert_post_shape(const json_t *p)
{
	static const char *const keys[] = { "id",        "title",        "body",    "status",
					    "author",    "commentCount", "version", "createdAt",
					    "updatedAt", "publishedAt",  NULL };
	const json_t *published = json_object_get(p, "publishedAt");
	const char *status;

	assert_true(it_json_keys_are(p, keys));
	assert_author_shape(json_object_get(p, "author"));
	assert_true(it_json_int(p, "id") > 0);
	it_json_str(p, "title");
	it_json_str(p, "body");
	status = it_json_str(p, "status");
	assert_true(it_json_int(p, "commentCount") >= 0);
	assert_true(it_json_int(p, "version") >= 1);
	assert_true(it_rfc3339_utc(it_json_str(p, "createdAt")));
	assert_true(it_rfc3339_utc(it_json_str(p, "updatedAt")));
	if (strcmp(status, "draft") == 0) {
		assert_true(json_is_null(published));
	} else {
		assert_string_equal(status, "published");
		assert_true(json_is_string(published) &&
			    it_rfc3339_utc(json_string_value(published)));
	}
}

/* A 200/201 post reply: its shape, and ETag "<version>" when etag. Returns
 * the data (valid until r is released). */
static inline const json_t *expect_post(const struct it_http_result *r, long status, bool etag)
{
	const json_t *p;

	assert_true(it_http_is_success(r, status));
	p = it_data(r);
	assert_post_shape(p);
	if (etag) {
		char want[32];

		snprintf(want, sizeof(want), "\"%lld\"", (long long)it_json_int(p, "version"));
		assert_non_null(it_http_header(r, "ETag"));
		assert_string_equal(it_http_header(r, "ETag"), want);
	}
	return p;
}

/* Creates a post as token (201 asserted) and returns its id. */
static inline int64_t post_new(const char *token, const char *title, const char *status)
{
	char *body = post_json(title, "Some body text.", status);
	struct it_http_result r = call("POST", "/posts", token, body);
	int64_t id;

	free(body);
	id = it_json_int(expect_post(&r, 201, false), "id");
	it_http_release(&r);
	return id;
}

#endif
