/* posts_rest_it.c - /api/v1/posts and /api/v1/users/:id/posts through the
 * REST gateway against the real stack (PostgreSQL, Redis, users, auth, posts):
 * every row of API.md §2 "Posts and comments" that concerns posts, with exact
 * envelopes; validation (§6 lengths, read-only fields); visibility of drafts;
 * every permission boundary (user, author, moderator, admin, limited API key);
 * versions, If-Match and publishedAt; soft delete; pagination edges, filters
 * and sorts. Comments, the N+1 proof, concurrency and a stopped users service
 * are in posts_comments_rest_it.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "it.h"
#include "support/http.h"
#include "util.h"

#define GW_IT_NAME "posts_rest_it"
#include "support/posts_fixture.h"

#define stored(id, expr) it_stored(G.db, "posts.posts", (id), (expr))
#define assert_stored(id, expr, want) \
	assert_true(it_stored_is(G.db, "posts.posts", (id), (expr), (want)))

/* ---- lists ------------------------------------------------------------------------- */

static struct it_http_result list(const char *path, const char *token)
{
	struct it_http_result r = call("GET", path, token, NULL);

	assert_true(it_http_is_list(&r));
	return r;
}

static bool list_has(const struct it_http_result *r, int64_t id)
{
	const json_t *data = it_data(r), *p;
	size_t i;

	json_array_foreach (data, i, p) {
		if (json_integer_value(json_object_get(p, "id")) == id)
			return true;
	}
	return false;
}

static int64_t page_int(const struct it_http_result *r, const char *key)
{
	return it_json_int(json_object_get(r->json, "pagination"), key);
}

static bool page_bool(const struct it_http_result *r, const char *key)
{
	return json_is_true(json_object_get(json_object_get(r->json, "pagination"), key));
}

/* pagination exactly {page, limit, total, totalPages, hasNext, hasPrev} and
 * data holding n items, each a post. */
static void expect_page(const struct it_http_result *r, int64_t page, int64_t limit, int64_t total,
			int64_t pages, size_t n)
{
	const json_t *p;
	size_t i;

	assert_int_equal(page_int(r, "page"), page);
	assert_int_equal(page_int(r, "limit"), limit);
	assert_int_equal(page_int(r, "total"), total);
	assert_int_equal(page_int(r, "totalPages"), pages);
	assert_int_equal(page_bool(r, "hasNext"), page < pages);
	assert_int_equal(page_bool(r, "hasPrev"), page > 1);
	assert_int_equal(json_array_size(it_data(r)), n);
	json_array_foreach (it_data(r), i, p)
		assert_post_shape(p);
}

/* Whether path, read with token, lists post id. */
static bool listed(const char *path, const char *token, int64_t id)
{
	struct it_http_result r = list(path, token);
	bool has = list_has(&r, id);

	it_http_release(&r);
	return has;
}

/* ---- POST /posts and GET /posts/:id ------------------------------------------------ */

static void create_post_defaults_and_reads_back(void **state)
{
	struct actor a = actor_new("author.one@example.com", "Author One", "user");
	struct it_http_result r;
	const json_t *p;
	int64_t id, pub;
	char *body;

	(void)state;
	r = call("POST", "/posts", a.token, "{\"title\":\"  Hello world  \",\"body\":\"First.\"}");
	p = expect_post(&r, 201, false);
	id = it_json_int(p, "id");
	assert_string_equal(it_json_str(p, "title"), "Hello world"); /* trimmed */
	assert_string_equal(it_json_str(p, "body"), "First.");
	assert_string_equal(it_json_str(p, "status"), "draft"); /* the default */
	assert_int_equal(it_json_int(p, "version"), 1);
	assert_int_equal(it_json_int(p, "commentCount"), 0);
	assert_int_equal(it_json_int(json_object_get(p, "author"), "id"), a.id);
	assert_string_equal(it_json_str(json_object_get(p, "author"), "name"), "Author One");
	it_http_release(&r);
	assert_stored(id, "title || '|' || status || '|' || (deleted_at IS NULL)",
		      "Hello world|draft|true");

	r = call("GET", post_path(id), a.token, NULL);
	p = expect_post(&r, 200, true);
	assert_int_equal(it_json_int(p, "id"), id);
	assert_string_equal(it_json_str(p, "title"), "Hello world");
	it_http_release(&r);

	body = post_json("Published at once", "Body", "published");
	r = call("POST", "/posts", a.token, body);
	p = expect_post(&r, 201, false);
	pub = it_json_int(p, "id");
	assert_string_equal(it_json_str(p, "status"), "published");
	it_http_release(&r);
	free(body);
	/* anyone may read a published post, anonymous included */
	r = call("GET", post_path(pub), NULL, NULL);
	p = expect_post(&r, 200, true);
	assert_string_equal(it_json_str(p, "title"), "Published at once");
	it_http_release(&r);
	it_expect_error(call("GET", "/posts/987654321", NULL, NULL), 404, "NOT_FOUND", NO_DETAILS);
	it_expect_error(call("GET", "/posts/abc", NULL, NULL), 400, "BAD_REQUEST", IT_ANY_DETAILS);
	it_expect_error(call("GET", "/posts/0", NULL, NULL), 400, "BAD_REQUEST", IT_ANY_DETAILS);
	actor_free(&a);
}

static void create_post_validation(void **state)
{
	struct actor a = actor_new("validator@example.com", "Validator", "user");
	char *title200 = repeat("\xc3\xa9", 200), *title201 = repeat("t", 201);
	char *body50000 = repeat("b", 50000), *body50001 = repeat("b", 50001), *json;
	struct it_http_result r;
	int64_t before = it_sql_int(G.db, "SELECT count(*) FROM posts.posts");

	(void)state;
	it_expect_error(call("POST", "/posts", a.token, "{}"), 422, "VALIDATION_ERROR",
			FIELDS("title", "body"));
	it_expect_error(call("POST", "/posts", a.token,
			     "{\"title\":\"   \",\"body\":\"\",\"status\":\"archived\"}"),
			422, "VALIDATION_ERROR", FIELDS("title", "body", "status"));
	it_expect_error(call("POST", "/posts", a.token, "{\"title\":5,\"body\":\"b\"}"), 422,
			"VALIDATION_ERROR", FIELDS("title"));
	json = post_json(title201, body50001, NULL);
	it_expect_error(call("POST", "/posts", a.token, json), 422, "VALIDATION_ERROR",
			FIELDS("title", "body"));
	free(json);
	it_expect_error(call("POST", "/posts", a.token,
			     "{\"title\":\"T\",\"body\":\"B\",\"tags\":[\"x\"]}"),
			422, "VALIDATION_ERROR", FIELDS("tags"));
	it_expect_error(
		call("POST", "/posts", a.token,
		     "{\"title\":\"T\",\"body\":\"B\",\"author\":{\"id\":1},\"commentCount\":9,"
		     "\"version\":3,\"id\":7,\"createdAt\":\"2026-01-01T00:00:00Z\","
		     "\"publishedAt\":\"2026-01-01T00:00:00Z\"}"),
		422, "VALIDATION_ERROR",
		FIELDS("author", "commentCount", "version", "id", "createdAt", "publishedAt"));
	it_expect_error(call("POST", "/posts", a.token, "[{\"title\":\"T\"}]"), 400, "INVALID_JSON",
			NO_DETAILS);
	it_expect_error(call("POST", "/posts", a.token, "{\"title\":"), 400, "INVALID_JSON",
			NO_DETAILS);
	it_expect_error(call_h("POST", "/posts", a.token, HEADERS("Content-Type: text/plain"),
			       "{\"title\":\"T\",\"body\":\"B\"}"),
			415, "UNSUPPORTED_MEDIA_TYPE", NO_DETAILS);
	it_expect_error(call("POST", "/posts", NULL, "{\"title\":\"T\",\"body\":\"B\"}"), 401,
			"UNAUTHORIZED", NO_DETAILS);
	assert_int_equal(it_sql_int(G.db, "SELECT count(*) FROM posts.posts"), before);

	/* the limits themselves are allowed; lengths count code points */
	json = post_json(title200, body50000, "published");
	r = call("POST", "/posts", a.token, json);
	expect_post(&r, 201, false);
	assert_string_equal(it_json_str(it_data(&r), "title"), title200);
	assert_int_equal(strlen(it_json_str(it_data(&r), "body")), 50000);
	it_http_release(&r);
	free(json);
	free(title200);
	free(title201);
	free(body50000);
	free(body50001);
	actor_free(&a);
}

/* ---- visibility of drafts ------------------------------------------------------------ */

static void drafts_are_visible_only_to_author_and_moderators(void **state)
{
	struct actor a = actor_new("drafter@example.com", "Drafter", "user");
	struct actor b = actor_new("stranger@example.com", "Stranger", "user");
	struct actor m = actor_new("mod.vis@example.com", "Mod Vis", "moderator");
	int64_t draft = post_new(a.token, "Secret draft", "draft");
	int64_t pub = post_new(a.token, "Public post", "published");
	char by_author[96], users_path[96];
	struct it_http_result r;

	(void)state;
	snprintf(by_author, sizeof(by_author), "/posts?authorId=%lld&limit=100", (long long)a.id);
	snprintf(users_path, sizeof(users_path), "/users/%lld/posts?limit=100", (long long)a.id);
	/* others: 404 on the draft itself, absent from every list */
	it_expect_error(call("GET", post_path(draft), b.token, NULL), 404, "NOT_FOUND", NO_DETAILS);
	it_expect_error(call("GET", post_path(draft), NULL, NULL), 404, "NOT_FOUND", NO_DETAILS);
	assert_false(listed("/posts?limit=100", NULL, draft));
	assert_true(listed("/posts?limit=100", NULL, pub));
	assert_false(listed("/posts?limit=100", b.token, draft));
	assert_false(listed(by_author, b.token, draft));
	assert_true(listed(by_author, b.token, pub));
	assert_false(listed(users_path, b.token, draft));
	assert_false(listed(users_path, NULL, draft));
	assert_true(listed(users_path, NULL, pub));
	assert_false(listed("/posts?status=draft&limit=100", b.token, draft));

	/* the author: GET, authorId=self, /users/me/posts and /users/<self>/posts */
	r = call("GET", post_path(draft), a.token, NULL);
	expect_post(&r, 200, true);
	it_http_release(&r);
	assert_true(listed(by_author, a.token, draft));
	assert_true(listed("/users/me/posts?limit=100", a.token, draft));
	assert_true(listed(users_path, a.token, draft));

	/* moderators (update:posts) and admins see drafts too */
	r = call("GET", post_path(draft), m.token, NULL);
	expect_post(&r, 200, true);
	it_http_release(&r);
	r = call("GET", post_path(draft), G.admin_token, NULL);
	expect_post(&r, 200, true);
	it_http_release(&r);
	assert_true(listed("/posts?limit=100", m.token, draft));
	assert_true(listed(users_path, m.token, draft));
	assert_true(listed("/posts?status=draft&limit=100", G.admin_token, draft));
	assert_false(listed("/posts?status=published&limit=100", G.admin_token, draft));
	actor_free(&a);
	actor_free(&b);
	actor_free(&m);
}

/* ---- who may change a post ------------------------------------------------------------ */

/* Who asks: the post's owner, another user, nobody. */
enum who { OWNER, INTRUDER, ANONYMOUS };
/* Which post: the published one, the draft, one that never existed. */
enum target { PUBLISHED, DRAFT, MISSING };

/* One write that must be refused, and the exact error. */
struct post_refusal {
	enum who who;
	const char *method;
	enum target target;
	const char *body;
	long status;
	const char *code;
};

static void others_may_not_change_a_post(void **state)
{
	static const char patch[] = "{\"title\":\"Hijacked\"}";
	struct actor a = actor_new("owner@example.com", "Owner", "user");
	struct actor b = actor_new("intruder@example.com", "Intruder", "user");
	int64_t pub = post_new(a.token, "Owned post", "published");
	int64_t draft = post_new(a.token, "Owned draft", "draft");
	char *put = post_json("Hijacked", "Hijacked", "published");
	const struct post_refusal rows[] = {
		{ INTRUDER, "PUT", PUBLISHED, put, 403, "FORBIDDEN" },
		{ INTRUDER, "PATCH", PUBLISHED, patch, 403, "FORBIDDEN" },
		{ INTRUDER, "DELETE", PUBLISHED, NULL, 403, "FORBIDDEN" },
		/* another user's draft does not exist for them */
		{ INTRUDER, "PATCH", DRAFT, patch, 404, "NOT_FOUND" },
		{ INTRUDER, "DELETE", DRAFT, NULL, 404, "NOT_FOUND" },
		/* anonymous: credentials first */
		{ ANONYMOUS, "PATCH", PUBLISHED, patch, 401, "UNAUTHORIZED" },
		{ ANONYMOUS, "DELETE", PUBLISHED, NULL, 401, "UNAUTHORIZED" },
		{ OWNER, "PATCH", MISSING, "{\"title\":\"x\"}", 404, "NOT_FOUND" },
	};
	const char *token[] = { [OWNER] = a.token, [INTRUDER] = b.token, [ANONYMOUS] = NULL };
	const int64_t id[] = { [PUBLISHED] = pub, [DRAFT] = draft, [MISSING] = 987654321 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct post_refusal *w = &rows[i];
		struct it_http_result r = call(w->method, post_path(id[w->target]), token[w->who],
					       w->body);
		bool ok = it_http_is_error(&r, w->status, w->code, NO_DETAILS);

		if (!ok)
			fprintf(stderr, "row %zu: %s %s -> %ld, want %ld %s\n", i, w->method,
				post_path(id[w->target]), r.status, w->status, w->code);
		it_http_release(&r);
		assert_true(ok);
	}
	assert_stored(pub, "title || '|' || version || '|' || (deleted_at IS NULL)",
		      "Owned post|1|true");
	assert_stored(draft, "title || '|' || version || '|' || (deleted_at IS NULL)",
		      "Owned draft|1|true");
	free(put);
	actor_free(&a);
	actor_free(&b);
}

static void moderators_and_admins_may_change_any_post(void **state)
{
	struct actor a = actor_new("moderated@example.com", "Moderated", "user");
	struct actor m = actor_new("mod.edit@example.com", "Mod Edit", "moderator");
	int64_t pub = post_new(a.token, "Needs moderation", "published");
	int64_t draft = post_new(a.token, "Draft to moderate", "draft");
	int64_t gone = post_new(a.token, "Spam", "published");
	struct it_http_result r;
	const json_t *p;

	(void)state;
	r = call("PATCH", post_path(pub), m.token, "{\"title\":\"Moderated title\"}");
	p = expect_post(&r, 200, true);
	assert_string_equal(it_json_str(p, "title"), "Moderated title");
	assert_int_equal(it_json_int(p, "version"), 2);
	/* the author stays the author */
	assert_int_equal(it_json_int(json_object_get(p, "author"), "id"), a.id);
	it_http_release(&r);
	r = call("PATCH", post_path(draft), m.token, "{\"body\":\"Moderated body\"}");
	expect_post(&r, 200, true);
	it_http_release(&r);
	r = call("PATCH", post_path(pub), G.admin_token, "{\"body\":\"Admin body\"}");
	p = expect_post(&r, 200, true);
	assert_int_equal(it_json_int(p, "version"), 3);
	it_http_release(&r);
	it_expect_status(call("DELETE", post_path(gone), m.token, NULL), 204);
	assert_stored(gone, "deleted_at IS NOT NULL", "t");
	assert_stored(pub, "title || '|' || body || '|' || version",
		      "Moderated title|Admin body|3");
	actor_free(&a);
	actor_free(&m);
}

/* An API key limited to read:posts reads but cannot write, even its owner's posts. */
static void limited_api_key_reads_but_cannot_write(void **state)
{
	struct actor a = actor_new("keyholder@example.com", "Key Holder", "user");
	int64_t own = post_new(a.token, "Key holder post", "published");
	int64_t draft = post_new(a.token, "Key holder draft", "draft");
	char header[512];
	const char *key;
	struct it_http_result r;

	(void)state;
	if (!G.auth) {
		fprintf(stderr, "(skipped: no auth service in this build)\n");
		skip();
	}
	r = call("POST", "/api-keys", a.token,
		 "{\"name\":\"reader\",\"permissions\":[\"read:posts\"]}");
	assert_true(it_http_is_success(&r, 201));
	key = it_json_str(it_data(&r), "key");
	snprintf(header, sizeof(header), "X-API-Key: %s", key);
	it_http_release(&r);

	r = call_h("GET", post_path(own), NULL, HEADERS(header), NULL);
	expect_post(&r, 200, true);
	it_http_release(&r);
	r = call_h("GET", "/posts", NULL, HEADERS(header), NULL);
	assert_true(it_http_is_list(&r));
	it_http_release(&r);
	it_expect_error(call_h("POST", "/posts", NULL, HEADERS(header),
			       "{\"title\":\"By key\",\"body\":\"B\"}"),
			403, "FORBIDDEN", NO_DETAILS);
	it_expect_error(call_h("PATCH", post_path(own), NULL, HEADERS(header),
			       "{\"title\":\"By key\"}"),
			403, "FORBIDDEN", NO_DETAILS);
	it_expect_error(call_h("DELETE", post_path(own), NULL, HEADERS(header), NULL), 403,
			"FORBIDDEN", NO_DETAILS);
	it_expect_error(call_h("POST", "/posts/1/comments", NULL, HEADERS(header),
			       "{\"body\":\"c\"}"),
			403, "FORBIDDEN", NO_DETAILS);
	/* the key acts as its owner: the owner's draft is readable with it */
	r = call_h("GET", post_path(draft), NULL, HEADERS(header), NULL);
	expect_post(&r, 200, true);
	it_http_release(&r);
	assert_int_equal(it_sql_int(G.db,
				    "SELECT count(*) FROM posts.posts WHERE title = 'By key'"),
			 0);
	assert_stored(own, "title || '|' || (deleted_at IS NULL)", "Key holder post|true");
	actor_free(&a);
}

/* ---- PUT / PATCH: versions, If-Match, publishedAt ------------------------------------- */

static struct it_http_result patch_if(int64_t id, const char *token, const char *if_match,
				      const char *body)
{
	char header[64];
	const char *h[] = { header, NULL };

	snprintf(header, sizeof(header), "If-Match: %s", if_match);
	return call_h("PATCH", post_path(id), token, h, body);
}

static void put_and_patch_versions(void **state)
{
	struct actor a = actor_new("editor@example.com", "Editor", "user");
	int64_t id = post_new(a.token, "Original", "draft");
	struct it_http_result r;
	char *put;

	(void)state;
	it_expect_error(call("PUT", post_path(id), a.token, "{}"), 422, "VALIDATION_ERROR",
			FIELDS("title", "body", "status"));
	it_expect_error(call("PUT", post_path(id), a.token, "{\"title\":\"Only title\"}"), 422,
			"VALIDATION_ERROR", FIELDS("body", "status"));
	it_expect_error(call("PATCH", post_path(id), a.token,
			     "{\"title\":\" \",\"status\":\"bogus\",\"commentCount\":3}"),
			422, "VALIDATION_ERROR", IT_ANY_DETAILS);
	it_expect_error(call("PATCH", post_path(id), a.token, "{\"author\":{\"id\":1}}"), 422,
			"VALIDATION_ERROR", FIELDS("author"));
	assert_stored(id, "title || '|' || version", "Original|1");

	put = post_json(" Replaced ", "Replaced body", "draft");
	r = call("PUT", post_path(id), a.token, put);
	expect_post(&r, 200, true);
	assert_string_equal(it_json_str(it_data(&r), "title"), "Replaced");
	assert_int_equal(it_json_int(it_data(&r), "version"), 2);
	it_http_release(&r);
	free(put);
	/* no stored field changes: the version stays */
	r = call("PATCH", post_path(id), a.token, "{\"title\":\"Replaced\"}");
	expect_post(&r, 200, true);
	assert_int_equal(it_json_int(it_data(&r), "version"), 2);
	it_http_release(&r);

	r = patch_if(id, a.token, "\"2\"", "{\"title\":\"V3\"}");
	expect_post(&r, 200, true);
	assert_int_equal(it_json_int(it_data(&r), "version"), 3);
	it_http_release(&r);
	r = patch_if(id, a.token, "W/\"3\"", "{\"title\":\"V4\"}");
	expect_post(&r, 200, true);
	assert_int_equal(it_json_int(it_data(&r), "version"), 4);
	it_http_release(&r);
	it_expect_error(patch_if(id, a.token, "\"1\"", "{\"title\":\"Stale\"}"), 409,
			"VERSION_CONFLICT", NO_DETAILS);
	it_expect_error(call("PATCH", post_path(id), a.token,
			     "{\"title\":\"Stale\",\"version\":3}"),
			409, "VERSION_CONFLICT", NO_DETAILS);
	it_expect_error(patch_if(id, a.token, "\"4\"", "{\"title\":\"Stale\",\"version\":3}"), 409,
			"VERSION_CONFLICT", NO_DETAILS);
	put = post_json("Stale", "Stale", "draft");
	it_expect_error(call_h("PUT", post_path(id), a.token, HEADERS("If-Match: \"3\""), put), 409,
			"VERSION_CONFLICT", NO_DETAILS);
	free(put);
	assert_stored(id, "title || '|' || version", "V4|4");
	r = call("PATCH", post_path(id), a.token, "{\"title\":\"V5\",\"version\":4}");
	expect_post(&r, 200, true);
	assert_int_equal(it_json_int(it_data(&r), "version"), 5);
	it_http_release(&r);
	assert_stored(id, "title || '|' || version", "V5|5");
	actor_free(&a);
}

static char *published_at(int64_t id, const char *token)
{
	struct it_http_result r = call("GET", post_path(id), token, NULL);
	const json_t *p = expect_post(&r, 200, true);
	const json_t *v = json_object_get(p, "publishedAt");
	char *s = json_is_null(v) ? NULL : xstrdup(json_string_value(v));

	it_http_release(&r);
	return s;
}

static void published_at_transitions(void **state)
{
	struct actor a = actor_new("publisher@example.com", "Publisher", "user");
	int64_t id = post_new(a.token, "To publish", "draft");
	struct it_http_result r;
	char *first, *after_edit, *again;

	(void)state;
	assert_null(published_at(id, a.token));
	r = call("PATCH", post_path(id), a.token, "{\"status\":\"published\"}");
	expect_post(&r, 200, true);
	assert_string_equal(it_json_str(it_data(&r), "status"), "published");
	it_http_release(&r);
	first = published_at(id, NULL);
	assert_non_null(first);
	assert_stored(id, "published_at IS NOT NULL", "t");

	sleep_ms(1100); /* an edit a second later must not move it */
	r = call("PATCH", post_path(id), a.token, "{\"body\":\"Edited after publishing\"}");
	expect_post(&r, 200, true);
	assert_string_not_equal(it_json_str(it_data(&r), "updatedAt"), first);
	it_http_release(&r);
	after_edit = published_at(id, NULL);
	assert_non_null(after_edit);
	assert_string_equal(after_edit, first);

	/* back to draft: cleared, and the post disappears for others */
	r = call("PATCH", post_path(id), a.token, "{\"status\":\"draft\"}");
	expect_post(&r, 200, true);
	assert_true(json_is_null(json_object_get(it_data(&r), "publishedAt")));
	it_http_release(&r);
	assert_stored(id, "published_at IS NULL", "t");
	it_expect_error(call("GET", post_path(id), NULL, NULL), 404, "NOT_FOUND", NO_DETAILS);

	/* published again: set again, not earlier than the first time */
	r = call("PATCH", post_path(id), a.token, "{\"status\":\"published\"}");
	expect_post(&r, 200, true);
	it_http_release(&r);
	again = published_at(id, NULL);
	assert_non_null(again);
	assert_true(strcmp(again, first) > 0);
	free(first);
	free(after_edit);
	free(again);
	actor_free(&a);
}

/* ---- DELETE ----------------------------------------------------------------------------- */

static void delete_post_is_soft(void **state)
{
	struct actor a = actor_new("deleter@example.com", "Deleter", "user");
	struct actor b = actor_new("commenter.del@example.com", "Commenter Del", "user");
	int64_t id = post_new(a.token, "Short lived", "published");
	char comments[96];
	struct it_http_result r;

	(void)state;
	snprintf(comments, sizeof(comments), "/posts/%lld/comments", (long long)id);
	r = call("POST", comments, b.token, "{\"body\":\"Soon gone\"}");
	assert_true(it_http_is_success(&r, 201));
	it_http_release(&r);

	r = call("DELETE", post_path(id), a.token, NULL);
	it_expect_status(r, 204);
	assert_stored(id, "deleted_at IS NOT NULL", "t");
	assert_stored(id, "count(*)", "1"); /* soft: the row stays */
	it_expect_error(call("GET", post_path(id), a.token, NULL), 404, "NOT_FOUND", NO_DETAILS);
	it_expect_error(call("GET", post_path(id), G.admin_token, NULL), 404, "NOT_FOUND",
			NO_DETAILS);
	it_expect_error(call("GET", comments, NULL, NULL), 404, "NOT_FOUND", NO_DETAILS);
	it_expect_error(call("POST", comments, b.token, "{\"body\":\"Too late\"}"), 404,
			"NOT_FOUND", NO_DETAILS);
	it_expect_error(call("PATCH", post_path(id), a.token, "{\"title\":\"Ghost\"}"), 404,
			"NOT_FOUND", NO_DETAILS);
	it_expect_error(call("DELETE", post_path(id), a.token, NULL), 404, "NOT_FOUND", NO_DETAILS);
	assert_false(listed("/posts?limit=100", G.admin_token, id));
	actor_free(&a);
	actor_free(&b);
}

/* ---- lists: pagination edges, filters, sorts ------------------------------------------ */

static void pagination_edges(void **state)
{
	struct actor a = actor_new("pager@example.com", "Pager", "user");
	char path[128];
	struct it_http_result r;

	(void)state;
	snprintf(path, sizeof(path), "/users/%lld/posts", (long long)a.id);
	r = list(path, NULL); /* empty */
	expect_page(&r, 1, 20, 0, 0, 0);
	it_http_release(&r);
	for (int i = 0; i < 5; i++) {
		char title[32];

		snprintf(title, sizeof(title), "Page item %d", i);
		post_new(a.token, title, "published");
	}
	snprintf(path, sizeof(path), "/users/%lld/posts?limit=2", (long long)a.id);
	r = list(path, NULL);
	expect_page(&r, 1, 2, 5, 3, 2);
	it_http_release(&r);
	snprintf(path, sizeof(path), "/posts?authorId=%lld&limit=2&page=3", (long long)a.id);
	r = list(path, NULL); /* the last page */
	expect_page(&r, 3, 2, 5, 3, 1);
	it_http_release(&r);
	snprintf(path, sizeof(path), "/posts?authorId=%lld&limit=2&page=4", (long long)a.id);
	r = list(path, NULL); /* past the end: empty data, correct pagination */
	expect_page(&r, 4, 2, 5, 3, 0);
	it_http_release(&r);

	it_expect_error(call("GET", "/posts?page=0", NULL, NULL), 400, "BAD_REQUEST",
			IT_ANY_DETAILS);
	it_expect_error(call("GET", "/posts?page=abc", NULL, NULL), 400, "BAD_REQUEST",
			IT_ANY_DETAILS);
	it_expect_error(call("GET", "/posts?limit=0", NULL, NULL), 400, "BAD_REQUEST",
			IT_ANY_DETAILS);
	it_expect_error(call("GET", "/posts?limit=101", NULL, NULL), 400, "BAD_REQUEST",
			IT_ANY_DETAILS);
	it_expect_error(call("GET", "/posts?limit=5&limit=6", NULL, NULL), 400, "BAD_REQUEST",
			IT_ANY_DETAILS);
	it_expect_error(call("GET", "/posts?sort=author", NULL, NULL), 400, "BAD_REQUEST",
			IT_ANY_DETAILS);
	it_expect_error(call("GET", "/posts?status=bogus", NULL, NULL), 400, "BAD_REQUEST",
			IT_ANY_DETAILS);
	it_expect_error(call("GET", "/posts?authorId=abc", NULL, NULL), 400, "BAD_REQUEST",
			IT_ANY_DETAILS);
	it_expect_error(call("GET", "/posts/", NULL, NULL), 404, "NOT_FOUND", NO_DETAILS);
	actor_free(&a);
}

/* The titles of a list reply, joined by '|', malloc'd. */
static char *titles(const char *path)
{
	struct it_http_result r = list(path, NULL);
	const json_t *p;
	char *out = xstrdup("");
	size_t i;

	json_array_foreach (it_data(&r), i, p) {
		const char *t = it_json_str(p, "title");
		size_t len = strlen(out);

		out = xrealloc(out, len + strlen(t) + 2);
		snprintf(out + len, strlen(t) + 2, "%s%s", len ? "|" : "", t);
	}
	it_http_release(&r);
	return out;
}

static void assert_titles(const char *path, const char *want)
{
	char *got = titles(path);

	if (strcmp(got, want) != 0)
		fail_msg("GET %s lists \"%s\", expected \"%s\"", path, got, want);
	free(got);
}

static void filters_and_sorts(void **state)
{
	struct actor a = actor_new("sorter@example.com", "Sorter", "user");
	char path[160];
	int n;

	(void)state;
	post_new(a.token, "cherry 100% sure", "published");
	post_new(a.token, "apple a_b", "published");
	post_new(a.token, "banana axb", "published");
	post_new(a.token, "damson draft", "draft");
	n = snprintf(path, sizeof(path), "/posts?authorId=%lld", (long long)a.id);
	/* default -createdAt: newest first; drafts of others' never listed */
	assert_titles(path, "banana axb|apple a_b|cherry 100% sure");
	snprintf(path + n, sizeof(path) - (size_t)n, "&sort=title");
	assert_titles(path, "apple a_b|banana axb|cherry 100% sure");
	snprintf(path + n, sizeof(path) - (size_t)n, "&sort=-title");
	assert_titles(path, "cherry 100% sure|banana axb|apple a_b");
	snprintf(path + n, sizeof(path) - (size_t)n, "&sort=createdAt");
	assert_titles(path, "cherry 100% sure|apple a_b|banana axb");
	snprintf(path + n, sizeof(path) - (size_t)n, "&sort=publishedAt");
	assert_titles(path, "cherry 100% sure|apple a_b|banana axb");
	/* q: case-insensitive substring, % and _ taken literally */
	snprintf(path + n, sizeof(path) - (size_t)n, "&q=BANANA");
	assert_titles(path, "banana axb");
	snprintf(path + n, sizeof(path) - (size_t)n, "&q=100%%25");
	assert_titles(path, "cherry 100% sure");
	snprintf(path + n, sizeof(path) - (size_t)n, "&q=ana%%25axb"); /* not a wildcard */
	assert_titles(path, "");
	snprintf(path + n, sizeof(path) - (size_t)n, "&q=ple%%20a_b");
	assert_titles(path, "apple a_b");
	snprintf(path + n, sizeof(path) - (size_t)n, "&q=ana%%20a_b"); /* _ is no wildcard */
	assert_titles(path, "");
	snprintf(path + n, sizeof(path) - (size_t)n, "&q=nothing-like-this");
	assert_titles(path, "");
	snprintf(path + n, sizeof(path) - (size_t)n, "&status=published&sort=title");
	assert_titles(path, "apple a_b|banana axb|cherry 100% sure");
	actor_free(&a);
}

/* Bounded search cost: a q without 3 letters or digits in a row (nothing the
 * trigram index can use) is 400 before any query; a served search counts
 * exactly what it matches. */
static void short_searches_are_refused(void **state)
{
	static const char *const refused[] = { "a",       "%25",       "_",         "ab",
					       "a_b",     "%25%25%25", "%20%20%20", "a%20b%20c",
					       "%C3%A9t", "--x--" };
	struct actor a = actor_new("searcher@example.com", "Searcher", "user");
	struct it_http_result r;
	char path[160];

	(void)state;
	post_new(a.token, "zebra one", "published");
	post_new(a.token, "zebra two", "published");
	post_new(a.token, "okapi", "published");
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(path, sizeof(path), "/posts?q=%s", refused[i]);
		it_expect_error(call("GET", path, NULL, NULL), 400, "BAD_REQUEST", NO_DETAILS);
		snprintf(path, sizeof(path), "/users/%lld/posts?q=%s", (long long)a.id, refused[i]);
		it_expect_error(call("GET", path, NULL, NULL), 400, "BAD_REQUEST", NO_DETAILS);
	}
	/* three in a row are enough, ASCII or not; empty is no filter */
	snprintf(path, sizeof(path), "/posts?authorId=%lld&q=ZEB&limit=1", (long long)a.id);
	r = list(path, NULL);
	assert_int_equal(page_int(&r, "total"), 2);
	assert_int_equal(page_int(&r, "totalPages"), 2);
	it_http_release(&r);
	snprintf(path, sizeof(path), "/posts?authorId=%lld&q=%%C3%%A9t%%C3%%A9", (long long)a.id);
	r = list(path, NULL);
	assert_int_equal(page_int(&r, "total"), 0);
	it_http_release(&r);
	snprintf(path, sizeof(path), "/posts?authorId=%lld&q=", (long long)a.id);
	r = list(path, NULL);
	assert_int_equal(page_int(&r, "total"), 3);
	it_http_release(&r);
	actor_free(&a);
}

/* GET /users/:id/posts: 404 for an unknown or soft-deleted user. */
static void user_posts_of_unknown_and_deleted_users(void **state)
{
	struct actor a = actor_new("leaving.author@example.com", "Leaving Author", "user");
	char path[96];

	(void)state;
	post_new(a.token, "Left behind", "published");
	it_expect_error(call("GET", "/users/987654321/posts", NULL, NULL), 404, "NOT_FOUND",
			NO_DETAILS);
	it_expect_error(call("GET", "/users/abc/posts", NULL, NULL), 400, "BAD_REQUEST",
			IT_ANY_DETAILS);
	it_expect_error(call("GET", "/users/me/posts", NULL, NULL), 401, "UNAUTHORIZED",
			NO_DETAILS);
	snprintf(path, sizeof(path), "/users/%lld", (long long)a.id);
	it_expect_status(call("DELETE", path, G.admin_token, NULL), 204);
	snprintf(path, sizeof(path), "/users/%lld/posts", (long long)a.id);
	it_expect_error(call("GET", path, NULL, NULL), 404, "NOT_FOUND", NO_DETAILS);
	it_expect_error(call("GET", path, G.admin_token, NULL), 404, "NOT_FOUND", NO_DETAILS);
	actor_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_post_defaults_and_reads_back),
		cmocka_unit_test(create_post_validation),
		cmocka_unit_test(drafts_are_visible_only_to_author_and_moderators),
		cmocka_unit_test(others_may_not_change_a_post),
		cmocka_unit_test(moderators_and_admins_may_change_any_post),
		cmocka_unit_test(limited_api_key_reads_but_cannot_write),
		cmocka_unit_test(put_and_patch_versions),
		cmocka_unit_test(published_at_transitions),
		cmocka_unit_test(delete_post_is_soft),
		cmocka_unit_test(pagination_edges),
		cmocka_unit_test(filters_and_sorts),
		cmocka_unit_test(short_searches_are_refused),
		cmocka_unit_test(user_posts_of_unknown_and_deleted_users),
	};

	return cmocka_run_group_tests(tests, posts_setup, gw_teardown);
}
