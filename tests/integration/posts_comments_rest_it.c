/* posts_comments_rest_it.c - comments on posts through the REST gateway against
 * the real stack (API.md §2 "Posts and comments", §6): every comment row with
 * exact envelopes, validation, visibility (comments of an invisible post are a
 * 404), permissions (comment author, moderator, admin); embedded authors show
 * the current name and {id, name: null} once deleted; the N+1 proof (a page of
 * 100 posts by 100 authors costs one BatchGetUsers call); commentCount under
 * concurrent writers; and a stopped users service making lists fail fast with
 * a 503 (last: it stops a service). Posts themselves: posts_rest_it.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include <cmocka.h>

#include "it.h"
#include "support/http.h"
#include "util.h"

#define GW_IT_NAME "posts_comments_rest_it"
#include "support/posts_fixture.h"

/* ---- comments ------------------------------------------------------------------------ */

static const char *comments_path(int64_t post_id)
{
	static char path[96];

	snprintf(path, sizeof(path), "/posts/%lld/comments", (long long)post_id);
	return path;
}

static const char *comment_path(int64_t post_id, int64_t comment_id)
{
	static char path[128];

	snprintf(path, sizeof(path), "/posts/%lld/comments/%lld", (long long)post_id,
		 (long long)comment_id);
	return path;
}

/* A comment object exactly as API.md §2. */
static void assert_comment_shape(const json_t *c)
{
	static const char *const keys[] = { "id",        "postId",    "body", "author",
					    "createdAt", "updatedAt", NULL };

	assert_true(it_json_keys_are(c, keys));
	assert_author_shape(json_object_get(c, "author"));
	assert_true(it_json_int(c, "id") > 0);
	assert_true(it_json_int(c, "postId") > 0);
	it_json_str(c, "body");
	assert_true(it_rfc3339_utc(it_json_str(c, "createdAt")));
	assert_true(it_rfc3339_utc(it_json_str(c, "updatedAt")));
}

/* Comments on post_id as token with body text (201 asserted); its id. */
static int64_t comment_new(int64_t post_id, const char *token, const char *text)
{
	json_t *o = json_pack("{s:s}", "body", text);
	char *body = json_dumps(o, JSON_COMPACT);
	struct it_http_result r = call("POST", comments_path(post_id), token, body);
	int64_t id;

	json_decref(o);
	free(body);
	assert_true(it_http_is_success(&r, 201));
	assert_comment_shape(it_data(&r));
	assert_int_equal(it_json_int(it_data(&r), "postId"), post_id);
	assert_string_equal(it_json_str(it_data(&r), "body"), text);
	id = it_json_int(it_data(&r), "id");
	it_http_release(&r);
	return id;
}

static int64_t comment_count(int64_t post_id, const char *token)
{
	struct it_http_result r = call("GET", post_path(post_id), token, NULL);
	int64_t n = it_json_int(expect_post(&r, 200, true), "commentCount");

	it_http_release(&r);
	return n;
}

/* The comments list of post_id (list envelope asserted), each a comment. */
static struct it_http_result comments_list(int64_t post_id, const char *query, const char *token)
{
	char path[160];
	struct it_http_result r;
	const json_t *c;
	size_t i;

	snprintf(path, sizeof(path), "%s%s", comments_path(post_id), query);
	r = call("GET", path, token, NULL);
	assert_true(it_http_is_list(&r));
	json_array_foreach (it_data(&r), i, c)
		assert_comment_shape(c);
	return r;
}

static int64_t page_int(const struct it_http_result *r, const char *key)
{
	return it_json_int(json_object_get(r->json, "pagination"), key);
}

static void comments_rows_shapes_and_order(void **state)
{
	struct actor a = actor_new("c.author@example.com", "Post Author", "user");
	struct actor b = actor_new("c.reader@example.com", "Comment Writer", "user");
	int64_t post = post_new(a.token, "Commented post", "published");
	int64_t c1, c2, c3;
	struct it_http_result r;
	const json_t *data;

	(void)state;
	c1 = comment_new(post, b.token, "first");
	c2 = comment_new(post, a.token, "second");
	c3 = comment_new(post, b.token, "third");
	r = comments_list(post, "", NULL); /* anonymous may read them */
	data = it_data(&r);
	assert_int_equal(json_array_size(data), 3);
	assert_int_equal(it_json_int(json_array_get(data, 0), "id"), c1); /* oldest first */
	assert_int_equal(it_json_int(json_array_get(data, 1), "id"), c2);
	assert_int_equal(it_json_int(json_array_get(data, 2), "id"), c3);
	assert_string_equal(it_json_str(json_object_get(json_array_get(data, 0), "author"), "name"),
			    "Comment Writer");
	assert_int_equal(it_json_int(json_object_get(json_array_get(data, 1), "author"), "id"),
			 a.id);
	assert_int_equal(page_int(&r, "total"), 3);
	it_http_release(&r);
	assert_int_equal(comment_count(post, NULL), 3);

	/* pagination: the last page, past the end */
	r = comments_list(post, "?limit=2&page=2", NULL);
	assert_int_equal(json_array_size(it_data(&r)), 1);
	assert_int_equal(it_json_int(json_array_get(it_data(&r), 0), "id"), c3);
	assert_int_equal(page_int(&r, "totalPages"), 2);
	assert_true(
		json_is_false(json_object_get(json_object_get(r.json, "pagination"), "hasNext")));
	it_http_release(&r);
	r = comments_list(post, "?limit=2&page=3", NULL);
	assert_int_equal(json_array_size(it_data(&r)), 0);
	assert_int_equal(page_int(&r, "total"), 3);
	it_http_release(&r);
	r = comments_list(post, "?sort=-createdAt", NULL);
	assert_int_equal(it_json_int(json_array_get(it_data(&r), 0), "id"), c3);
	it_http_release(&r);
	it_expect_error(call("GET", "/posts/987654321/comments", NULL, NULL), 404, "NOT_FOUND",
			NO_DETAILS);
	it_expect_error(call("POST", "/posts/987654321/comments", b.token, "{\"body\":\"x\"}"), 404,
			"NOT_FOUND", NO_DETAILS);
	it_expect_error(call("GET", "/posts/abc/comments", NULL, NULL), 400, "BAD_REQUEST",
			IT_ANY_DETAILS);
	actor_free(&a);
	actor_free(&b);
}

static void comment_validation(void **state)
{
	struct actor a = actor_new("cv.author@example.com", "Cv Author", "user");
	int64_t post = post_new(a.token, "Validated comments", "published");
	char *long_body = repeat("c", 10001), *max_body = repeat("\xc3\xa9", 10000), *json;
	const char *path = comments_path(post);
	json_t *o;

	(void)state;
	it_expect_error(call("POST", path, a.token, "{}"), 422, "VALIDATION_ERROR", FIELDS("body"));
	it_expect_error(call("POST", path, a.token, "{\"body\":\"\"}"), 422, "VALIDATION_ERROR",
			FIELDS("body"));
	it_expect_error(call("POST", path, a.token, "{\"body\":7}"), 422, "VALIDATION_ERROR",
			FIELDS("body"));
	o = json_pack("{s:s}", "body", long_body);
	json = json_dumps(o, JSON_COMPACT);
	it_expect_error(call("POST", path, a.token, json), 422, "VALIDATION_ERROR", FIELDS("body"));
	json_decref(o);
	free(json);
	it_expect_error(call("POST", path, a.token, "{\"body\":\"b\",\"mood\":\"happy\"}"), 422,
			"VALIDATION_ERROR", FIELDS("mood"));
	it_expect_error(call("POST", path, a.token,
			     "{\"body\":\"b\",\"postId\":1,\"author\":{\"id\":1},\"id\":3}"),
			422, "VALIDATION_ERROR", FIELDS("postId", "author", "id"));
	it_expect_error(call("POST", path, NULL, "{\"body\":\"b\"}"), 401, "UNAUTHORIZED",
			NO_DETAILS);
	it_expect_error(call_h("POST", path, a.token, HEADERS("Content-Type: text/plain"),
			       "{\"body\":\"b\"}"),
			415, "UNSUPPORTED_MEDIA_TYPE", NO_DETAILS);
	it_expect_error(call("POST", path, a.token, "\"just a string\""), 400, "INVALID_JSON",
			NO_DETAILS);
	assert_int_equal(comment_count(post, NULL), 0);
	comment_new(post, a.token, max_body); /* 10000 code points (20000 bytes) is allowed */
	assert_int_equal(comment_count(post, NULL), 1);
	free(long_body);
	free(max_body);
	actor_free(&a);
}

/* Comments of a post the caller may not see are a 404 (drafts, deleted posts). */
static void comments_of_invisible_posts(void **state)
{
	struct actor a = actor_new("cd.author@example.com", "Cd Author", "user");
	struct actor b = actor_new("cd.other@example.com", "Cd Other", "user");
	struct actor m = actor_new("cd.mod@example.com", "Cd Mod", "moderator");
	int64_t draft = post_new(a.token, "Draft with comments", "draft");
	struct it_http_result r;

	(void)state;
	comment_new(draft, a.token, "note to self");
	it_expect_error(call("GET", comments_path(draft), b.token, NULL), 404, "NOT_FOUND",
			NO_DETAILS);
	it_expect_error(call("GET", comments_path(draft), NULL, NULL), 404, "NOT_FOUND",
			NO_DETAILS);
	it_expect_error(call("POST", comments_path(draft), b.token, "{\"body\":\"peek\"}"), 404,
			"NOT_FOUND", NO_DETAILS);
	r = comments_list(draft, "", m.token);
	assert_int_equal(json_array_size(it_data(&r)), 1);
	it_http_release(&r);
	r = comments_list(draft, "", a.token);
	assert_int_equal(json_array_size(it_data(&r)), 1);
	it_http_release(&r);
	assert_int_equal(it_sql_int(G.db,
				    "SELECT count(*) FROM posts.comments WHERE body = 'peek'"),
			 0);
	actor_free(&a);
	actor_free(&b);
	actor_free(&m);
}

static void comment_permissions(void **state)
{
	struct actor a = actor_new("cp.author@example.com", "Cp Author", "user");
	struct actor b = actor_new("cp.writer@example.com", "Cp Writer", "user");
	struct actor c = actor_new("cp.other@example.com", "Cp Other", "user");
	struct actor m = actor_new("cp.mod@example.com", "Cp Mod", "moderator");
	int64_t post = post_new(a.token, "Permission post", "published");
	int64_t other_post = post_new(a.token, "Other post", "published");
	int64_t cid = comment_new(post, b.token, "original");
	int64_t c2 = comment_new(post, b.token, "to be removed");
	struct it_http_result r;

	(void)state;
	r = call("PATCH", comment_path(post, cid), b.token, "{\"body\":\"edited by writer\"}");
	assert_true(it_http_is_success(&r, 200));
	assert_comment_shape(it_data(&r));
	assert_string_equal(it_json_str(it_data(&r), "body"), "edited by writer");
	it_http_release(&r);
	/* not the comment's author: another user, the post's author, a moderator */
	it_expect_error(call("PATCH", comment_path(post, cid), c.token, "{\"body\":\"x\"}"), 403,
			"FORBIDDEN", NO_DETAILS);
	it_expect_error(call("PATCH", comment_path(post, cid), a.token, "{\"body\":\"x\"}"), 403,
			"FORBIDDEN", NO_DETAILS);
	it_expect_error(call("PATCH", comment_path(post, cid), m.token, "{\"body\":\"x\"}"), 403,
			"FORBIDDEN", NO_DETAILS);
	it_expect_error(call("PATCH", comment_path(post, cid), NULL, "{\"body\":\"x\"}"), 401,
			"UNAUTHORIZED", NO_DETAILS);
	it_expect_error(call("PATCH", comment_path(post, cid), b.token, "{\"body\":\"\"}"), 422,
			"VALIDATION_ERROR", FIELDS("body"));
	it_expect_error(call("PATCH", comment_path(post, cid), b.token, "{\"postId\":5}"), 422,
			"VALIDATION_ERROR", FIELDS("postId"));
	/* the comment under another post's path does not exist there */
	it_expect_error(call("PATCH", comment_path(other_post, cid), b.token, "{\"body\":\"x\"}"),
			404, "NOT_FOUND", NO_DETAILS);
	it_expect_error(call("DELETE", comment_path(other_post, cid), G.admin_token, NULL), 404,
			"NOT_FOUND", NO_DETAILS);
	it_expect_error(call("DELETE", comment_path(post, 987654321), G.admin_token, NULL), 404,
			"NOT_FOUND", NO_DETAILS);
	/* admins may edit anyone's comment */
	r = call("PATCH", comment_path(post, cid), G.admin_token, "{\"body\":\"edited by admin\"}");
	assert_true(it_http_is_success(&r, 200));
	assert_string_equal(it_json_str(it_data(&r), "body"), "edited by admin");
	assert_int_equal(it_json_int(json_object_get(it_data(&r), "author"), "id"), b.id);
	it_http_release(&r);

	it_expect_error(call("DELETE", comment_path(post, cid), c.token, NULL), 403, "FORBIDDEN",
			NO_DETAILS);
	it_expect_error(call("DELETE", comment_path(post, cid), a.token, NULL), 403, "FORBIDDEN",
			NO_DETAILS);
	assert_int_equal(comment_count(post, NULL), 2);
	it_expect_status(call("DELETE", comment_path(post, cid), m.token, NULL), 204);
	it_expect_status(call("DELETE", comment_path(post, c2), b.token, NULL), 204);
	it_expect_error(call("DELETE", comment_path(post, c2), b.token, NULL), 404, "NOT_FOUND",
			NO_DETAILS);
	assert_int_equal(comment_count(post, NULL), 0);
	r = comments_list(post, "", NULL);
	assert_int_equal(json_array_size(it_data(&r)), 0);
	assert_int_equal(page_int(&r, "total"), 0);
	it_http_release(&r);
	actor_free(&a);
	actor_free(&b);
	actor_free(&c);
	actor_free(&m);
}

/* ---- embedded authors -------------------------------------------------------------------- */

static const char *author_name_in(const struct it_http_result *r, int64_t post_id)
{
	const json_t *p;
	size_t i;

	json_array_foreach (it_data(r), i, p) {
		if (json_integer_value(json_object_get(p, "id")) == post_id)
			return json_string_value(
				json_object_get(json_object_get(p, "author"), "name"));
	}
	fail_msg("post %lld is not listed", (long long)post_id);
	return NULL;
}

static void authors_show_the_current_name_then_null(void **state)
{
	struct actor a = actor_new("renamed@example.com", "Old Name", "user");
	struct actor b = actor_new("c.leaver@example.com", "Leaving Commenter", "user");
	int64_t post = post_new(a.token, "Renamed author post", "published");
	char path[96];
	struct it_http_result r;

	(void)state;
	comment_new(post, b.token, "soon anonymous");
	snprintf(path, sizeof(path), "/posts?authorId=%lld", (long long)a.id);
	r = call("GET", post_path(post), NULL, NULL); /* read once: any cache is warm now */
	assert_string_equal(it_json_str(json_object_get(expect_post(&r, 200, true), "author"),
					"name"),
			    "Old Name");
	it_http_release(&r);
	r = call("PATCH", "/users/me", a.token, "{\"name\":\"New Name\"}");
	assert_true(it_http_is_success(&r, 200));
	it_http_release(&r);
	r = call("GET", post_path(post), NULL, NULL);
	assert_string_equal(it_json_str(json_object_get(expect_post(&r, 200, true), "author"),
					"name"),
			    "New Name");
	it_http_release(&r);
	r = call("GET", path, NULL, NULL);
	assert_true(it_http_is_list(&r));
	assert_string_equal(author_name_in(&r, post), "New Name");
	it_http_release(&r);

	/* deleted authors: {id, name: null}, the posts and comments stay */
	it_expect_status(call("DELETE", "/users/me", a.token, NULL), 204);
	it_expect_status(call("DELETE", "/users/me", b.token, NULL), 204);
	r = call("GET", post_path(post), NULL, NULL);
	expect_post(&r, 200, true);
	assert_int_equal(it_json_int(json_object_get(it_data(&r), "author"), "id"), a.id);
	assert_true(json_is_null(json_object_get(json_object_get(it_data(&r), "author"), "name")));
	assert_int_equal(it_json_int(it_data(&r), "commentCount"), 1);
	it_http_release(&r);
	r = call("GET", path, NULL, NULL);
	assert_true(it_http_is_list(&r));
	assert_null(author_name_in(&r, post));
	it_http_release(&r);
	r = comments_list(post, "", NULL);
	assert_int_equal(json_array_size(it_data(&r)), 1);
	assert_int_equal(it_json_int(json_object_get(json_array_get(it_data(&r), 0), "author"),
				     "id"),
			 b.id);
	assert_true(json_is_null(
		json_object_get(json_object_get(json_array_get(it_data(&r), 0), "author"),
				"name")));
	it_http_release(&r);
	actor_free(&a);
	actor_free(&b);
}

/* ---- no N+1: one BatchGetUsers per page ------------------------------------------------------ */

#define N1_AUTHORS 100
#define BATCH_LINE "\"method\":\"/agentos.users.v1.UsersService/BatchGetUsers\""
#define GET_LINE "\"method\":\"/agentos.users.v1.UsersService/GetUser\""

static int64_t log_count(const char *needle)
{
	char *log = read_file_all(proc_log_path(G.users));
	int64_t n = 0;

	assert_non_null(log);
	for (const char *p = strstr(log, needle); p; p = strstr(p + 1, needle))
		n++;
	free(log);
	return n;
}

/* Creates N1_AUTHORS users (straight in the database: hashing 100 passwords
 * would only slow the test) and one published post by each; fills ids. */
static void hundred_authors_post(int64_t *ids)
{
	assert_true(it_sql_exec(G.db, "INSERT INTO users.users (email, name, password_hash) "
				      "SELECT 'nplus1-' || g || '@example.com', 'N1 Author ' || g, "
				      "'not-a-hash' FROM generate_series(1, 100) g"));
	for (int i = 0; i < N1_AUTHORS; i++) {
		char sql[160], email[64], *token;

		snprintf(email, sizeof(email), "nplus1-%d@example.com", i + 1);
		snprintf(sql, sizeof(sql), "SELECT id FROM users.users WHERE email = '%s'", email);
		ids[i] = it_sql_int(G.db, sql);
		assert_true(ids[i] > 0);
		token = it_token(ids[i], email, "user");
		post_new(token, "N+1 proof post", "published");
		free(token);
	}
}

static void page_of_100_authors_costs_one_batch_call(void **state)
{
	int64_t ids[N1_AUTHORS], batch, get, users_sql, all_sql;
	struct it_http_result r;
	const json_t *p;
	size_t i;

	(void)state;
	hundred_authors_post(ids);
	assert_true(it_sql_exec(G.db, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"));
	sleep_ms(300); /* the posts' own log lines are written */
	batch = log_count(BATCH_LINE);
	get = log_count(GET_LINE);
	assert_true(it_sql_exec(G.db, "SELECT pg_stat_statements_reset()"));

	r = call("GET", "/posts?limit=100", NULL, NULL);
	assert_true(it_http_is_list(&r));
	users_sql = it_sql_int(
		G.db, "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
		      "WHERE query LIKE '%users%' AND query NOT LIKE '%pg_stat_statements%'");
	all_sql = it_sql_int(G.db, "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
				   "WHERE query NOT LIKE '%pg_stat_statements%'");
	sleep_ms(300);
	assert_int_equal(json_array_size(it_data(&r)), N1_AUTHORS);
	json_array_foreach (it_data(&r), i, p) {
		int64_t author = it_json_int(json_object_get(p, "author"), "id");
		char want[32];

		/* newest first: the last author's post leads */
		assert_int_equal(author, ids[N1_AUTHORS - 1 - i]);
		snprintf(want, sizeof(want), "N1 Author %zu", (size_t)N1_AUTHORS - i);
		assert_string_equal(it_json_str(json_object_get(p, "author"), "name"), want);
	}
	it_http_release(&r);
	assert_int_equal(log_count(BATCH_LINE) - batch, 1);
	assert_int_equal(log_count(GET_LINE) - get, 0);
	/* at most one users.users query (cache misses), and no query per row anywhere */
	if (users_sql > 1 || all_sql >= 20)
		fail_msg("one page cost %lld users queries and %lld statements in all",
			 (long long)users_sql, (long long)all_sql);
}

/* ---- commentCount under concurrent writers --------------------------------------------------- */

#define WRITERS 8
#define PER_WRITER 10

struct writer {
	pthread_t thread;
	int64_t post;
	char *token;
	long status[PER_WRITER];
};

/* No cmocka in here: statuses are checked by the main thread. */
static void *write_comments(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < PER_WRITER; i++) {
		char body[64];
		struct it_http_result r;

		snprintf(body, sizeof(body), "{\"body\":\"parallel %d\"}", i);
		r = call("POST", comments_path(w->post), w->token, body);
		w->status[i] = r.status;
		it_http_release(&r);
	}
	return NULL;
}

static void comment_count_survives_concurrent_writers(void **state)
{
	struct actor a = actor_new("busy.author@example.com", "Busy Author", "user");
	struct actor writers_a[WRITERS];
	struct writer w[WRITERS];
	int64_t post = post_new(a.token, "Busy post", "published");
	char sql[160];
	struct it_http_result r;

	(void)state;
	for (int i = 0; i < WRITERS; i++) {
		char email[64];

		snprintf(email, sizeof(email), "writer%d@example.com", i);
		writers_a[i] = actor_new(email, "Parallel Writer", "user");
		w[i] = (struct writer){ .post = post, .token = writers_a[i].token };
	}
	for (int i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_create(&w[i].thread, NULL, write_comments, &w[i]), 0);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i].thread, NULL);
	for (int i = 0; i < WRITERS; i++) {
		for (int j = 0; j < PER_WRITER; j++) {
			if (w[i].status[j] != 201)
				fail_msg("writer %d comment %d: HTTP %ld", i, j, w[i].status[j]);
		}
		actor_free(&writers_a[i]);
	}
	assert_int_equal(comment_count(post, NULL), WRITERS * PER_WRITER);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM posts.comments WHERE post_id = %lld",
		 (long long)post);
	assert_int_equal(it_sql_int(G.db, sql), WRITERS * PER_WRITER);
	r = comments_list(post, "?limit=100", NULL);
	assert_int_equal(json_array_size(it_data(&r)), WRITERS * PER_WRITER);
	assert_int_equal(page_int(&r, "total"), WRITERS * PER_WRITER);
	it_http_release(&r);
	actor_free(&a);
}

/* ---- the users service stopped (last: it stops a service) ---------------------------------- */

/* With the users service down, a page whose authors' names this posts
 * service holds (its near copy, posts_users.c) still answers, with those
 * names; a page with a name it does not hold fails fast with 503. */
static void users_service_down_makes_lists_fail_fast(void **state)
{
	struct actor a = actor_new("outage@example.com", "Outage Author", "user");
	struct actor b = actor_new("steady@example.com", "Steady Author", "user");
	int64_t post = post_new(a.token, "Outage post", "published");
	char steady[64];
	struct it_http_result r;
	int64_t deadline;
	long status = 0;

	(void)state;
	post_new(b.token, "Steady post", "published");
	comment_new(post, a.token, "outage comment");
	snprintf(steady, sizeof(steady), "/posts?authorId=%lld", (long long)b.id);
	it_expect_status(call("GET", steady, NULL, NULL), 200); /* b's name is known now */
	/* a's change drops a's name: the next page with a must ask users */
	it_expect_status(call("PATCH", "/users/me", a.token, "{\"name\":\"Outage Renamed\"}"), 200);
	assert_int_equal(proc_stop(G.users), 0);
	r = call("GET", steady, NULL, NULL);
	assert_true(it_http_is_list(&r));
	assert_string_equal(author_name_in(&r, it_json_int(json_array_get(it_data(&r), 0), "id")),
			    "Steady Author");
	it_http_release(&r);
	r = call("GET", "/posts?limit=10", NULL, NULL);
	if (r.elapsed_ms >= IT_GW_DEADLINE_MS)
		fail_msg("GET /posts took %lld ms with the users service down",
			 (long long)r.elapsed_ms);
	it_expect_error(r, 503, "SERVICE_UNAVAILABLE", NO_DETAILS);
	r = call("GET", comments_path(post), NULL, NULL);
	assert_true(r.elapsed_ms < IT_GW_DEADLINE_MS);
	it_expect_error(r, 503, "SERVICE_UNAVAILABLE", NO_DETAILS);

	/* and it recovers once the users service is back */
	assert_true(it_gateway_users_start(&G));
	deadline = mono_ms() + 20000;
	while (mono_ms() < deadline && status != 200) {
		r = call("GET", "/posts?limit=10", NULL, NULL);
		status = r.status;
		it_http_release(&r);
		if (status != 200)
			sleep_ms(200);
	}
	assert_int_equal(status, 200);
	actor_free(&b);
	actor_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(comments_rows_shapes_and_order),
		cmocka_unit_test(comment_validation),
		cmocka_unit_test(comments_of_invisible_posts),
		cmocka_unit_test(comment_permissions),
		cmocka_unit_test(authors_show_the_current_name_then_null),
		cmocka_unit_test(page_of_100_authors_costs_one_batch_call),
		cmocka_unit_test(comment_count_survives_concurrent_writers),
		cmocka_unit_test(users_service_down_makes_lists_fail_fast),
	};

	return cmocka_run_group_tests(tests, posts_setup, gw_teardown);
}
