/* posts_grpc_it.c - PostsService posts over real gRPC (no gateway) against
 * real users, auth and posts processes, PostgreSQL and Redis: every post RPC,
 * its documented failures with their exact status and ErrorInfo reason, draft
 * visibility, update masks and versions, soft delete (API.md §1, §2 "Posts
 * and comments", §3, §6). Comments and the cross-service cases are in
 * posts_comments_grpc_it.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agentos/auth/v1/auth.pb-c.h"
#include "util.h"

#define PIT_IT_NAME "posts_grpc_it"
#define PIT_WITH_AUTH true
#include "support/pit_fixture.h"

/* Posts matching q visible to token (optionally only author's / status),
 * asserting that total agrees with what came back. */
static size_t listed(const char *q, int64_t author, const char *status, const char *token)
{
	Agentos__Posts__V1__ListPostsRequest req = AGENTOS__POSTS__V1__LIST_POSTS_REQUEST__INIT;
	struct it_result r;
	size_t n;

	req.q = (char *)q;
	req.author_id = author;
	req.status = (char *)(status ? status : "");
	req.limit = 100;
	r = pit_list_posts(&P, &req, token);
	pit_expect_ok(&r, "ListPosts");
	n = PIT_POSTS(r)->n_posts;
	assert_non_null(PIT_POSTS(r)->pagination);
	assert_int_equal(PIT_POSTS(r)->pagination->total, n);
	it_result_release(&r);
	return n;
}

#define assert_stored(id, expr, want) \
	assert_true(it_stored_is(P.db, "posts.posts", (id), (expr), (want)))

/* ---- CreatePost ------------------------------------------------------------------ */

static void create_post_trims_defaults_to_draft_and_embeds_the_author(void **state)
{
	struct it_result r = pit_create_post(&P, "  Hello world  ", "First body", "", Alice.token);
	Agentos__Posts__V1__Post *post;
	char expected[64];

	(void)state;
	pit_expect_ok(&r, "CreatePost");
	post = PIT_POST(r);
	assert_true(post->id > 0);
	assert_string_equal(post->title, "Hello world");
	assert_string_equal(post->body, "First body");
	assert_string_equal(post->status, "draft");
	assert_non_null(post->author);
	assert_int_equal(post->author->id, Alice.id);
	assert_non_null(post->author->name);
	assert_string_equal(post->author->name->value, "Alice Author");
	assert_int_equal(post->comment_count, 0);
	assert_int_equal(post->version, 1);
	assert_non_null(post->created_at);
	assert_true(post->created_at->seconds > 1700000000);
	assert_null(post->published_at);
	snprintf(expected, sizeof(expected), "Hello world|draft|%lld|1|true", (long long)Alice.id);
	assert_stored(post->id,
		      "title || '|' || status || '|' || author_id || '|' || version"
		      " || '|' || (published_at IS NULL AND deleted_at IS NULL)",
		      expected);
	it_result_release(&r);

	r = pit_create_post(&P, "Out now", "Published body", "published", Alice.token);
	pit_expect_ok(&r, "CreatePost published");
	assert_string_equal(PIT_POST(r)->status, "published");
	assert_non_null(PIT_POST(r)->published_at);
	assert_stored(PIT_POST(r)->id, "published_at IS NOT NULL", "t");
	it_result_release(&r);
}

static void create_post_reports_every_invalid_field(void **state)
{
	int64_t before = pit_sql_intf(&P, "SELECT count(*) FROM posts.posts");
	char title[201 * 2 + 1], *body = xmalloc(50002);
	struct it_result r;

	(void)state;
	r = pit_create_post(&P, "   ", "", "bogus", Alice.token);
	pit_expect_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_VALIDATION_ERROR);
	assert_int_equal(r.err.nviolations, 3);
	assert_true(it_has_violation(&r, "title"));
	assert_true(it_has_violation(&r, "body"));
	assert_true(it_has_violation(&r, "status"));

	memset(body, 'b', 50001); /* 50001 characters: one too many */
	body[50001] = '\0';
	for (int i = 0; i < 201; i++) /* 201 two-byte code points: one too many */
		memcpy(title + 2 * i, "\xc3\xa9", 2);
	title[402] = '\0';
	r = pit_create_post(&P, title, body, "draft", Alice.token);
	pit_expect_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_VALIDATION_ERROR);
	assert_int_equal(r.err.nviolations, 2);
	assert_true(it_has_violation(&r, "title"));
	assert_true(it_has_violation(&r, "body"));
	assert_int_equal(pit_sql_intf(&P, "SELECT count(*) FROM posts.posts"), before);

	title[400] = '\0'; /* 200 code points and 50000 characters are fine */
	body[50000] = '\0';
	r = pit_create_post(&P, title, body, "draft", Alice.token);
	pit_expect_ok(&r, "CreatePost at the limits");
	assert_int_equal(strlen(PIT_POST(r)->body), 50000);
	it_result_release(&r);
	free(body);
}

/* ---- credentials ------------------------------------------------------------------ */

/* The calls the permission tables make (COMMENTS: ListComments, COMMENT:
 * CreateComment, both on the post). */
enum post_op { CREATE, UPDATE, DELETE, GET, COMMENTS, COMMENT };

/* One call on post id and what it must answer (ERR_OK: success). */
struct post_claim {
	const char *what;
	enum post_op op;
	const char *token;
	grpc_status_code status;
	enum err_code code;
};

/* A post_claim on a post of its own, for tables whose rows differ in post. */
struct post_claim_on {
	int64_t id;
	struct post_claim claim;
};

static void check_post_claim(size_t row, const struct post_claim *c, int64_t id)
{
	Agentos__Posts__V1__Post patch = AGENTOS__POSTS__V1__POST__INIT;
	const char *title_path[] = { "title", NULL };
	struct it_result r;

	patch.title = "Refused edit";
	if (c->op == CREATE)
		r = pit_create_post(&P, "Refused", "Body", "published", c->token);
	else if (c->op == UPDATE)
		r = pit_update_post(&P, id, &patch, title_path, 0, c->token);
	else if (c->op == DELETE)
		r = pit_delete_post(&P, id, c->token);
	else if (c->op == COMMENTS)
		r = pit_list_comments(&P, id, NULL, c->token);
	else if (c->op == COMMENT)
		r = pit_create_comment(&P, id, "Refused comment", c->token);
	else
		r = pit_get_post(&P, id, c->token);
	if (r.status != c->status || r.err.code != c->code)
		fprintf(stderr, "row %zu (%s)\n", row, c->what);
	if (c->code == ERR_OK) {
		pit_expect_ok(&r, c->what);
		it_result_release(&r);
	} else {
		pit_expect_error(&r, c->status, c->code);
	}
}

static void credentials_are_required_for_writes_and_checked_everywhere(void **state)
{
	int64_t pub = pit_make_post(&P, "cred-4k public", "published", Alice.token);
	char *expired = it_token_ex(Alice.id, Alice.email, "user", -7200, -3600, IT_JWT_SECRET);
	char *forged = it_token_ex(Alice.id, Alice.email, "admin", 0, 3600,
				   "some-other-secret-that-is-long-enough!!");
	const struct post_claim rows[] = {
		{ "anonymous CreatePost", CREATE, NULL, GRPC_STATUS_UNAUTHENTICATED,
		  ERR_UNAUTHORIZED },
		{ "anonymous UpdatePost", UPDATE, NULL, GRPC_STATUS_UNAUTHENTICATED,
		  ERR_UNAUTHORIZED },
		{ "anonymous DeletePost", DELETE, NULL, GRPC_STATUS_UNAUTHENTICATED,
		  ERR_UNAUTHORIZED },
		/* reading a published post is open... */
		{ "anonymous GetPost", GET, NULL, GRPC_STATUS_OK, ERR_OK },
		/* ... but a credential that is present must be valid */
		{ "expired GetPost", GET, expired, GRPC_STATUS_UNAUTHENTICATED, ERR_TOKEN_EXPIRED },
		{ "forged GetPost", GET, forged, GRPC_STATUS_UNAUTHENTICATED, ERR_UNAUTHORIZED },
		{ "forged CreatePost", CREATE, forged, GRPC_STATUS_UNAUTHENTICATED,
		  ERR_UNAUTHORIZED },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		check_post_claim(i, &rows[i], pub);
	assert_stored(pub, "title || (deleted_at IS NULL)", "cred-4k publictrue");
	assert_int_equal(pit_sql_intf(&P,
				      "SELECT count(*) FROM posts.posts WHERE title = 'Refused'"),
			 0);
	free(expired);
	free(forged);
}

/* Creates an API key of Alice's limited to perms (n of them); the full key. */
static char *alice_key(const char **perms, size_t n)
{
	Agentos__Auth__V1__CreateApiKeyRequest
		req = AGENTOS__AUTH__V1__CREATE_API_KEY_REQUEST__INIT;
	struct it_result r;
	char *key;

	req.name = "posts it";
	req.permissions = (char **)perms;
	req.n_permissions = n;
	r = it_call(P.auth_ch, "/agentos.auth.v1.AuthService/CreateApiKey", &req.base,
		    &agentos__auth__v1__new_api_key__descriptor, Alice.token, NULL);
	pit_expect_ok(&r, "CreateApiKey");
	key = xstrdup(((Agentos__Auth__V1__NewApiKey *)r.reply)->key);
	it_result_release(&r);
	return key;
}

static void api_keys_act_as_their_creator_within_their_permissions(void **state)
{
	const char *read_only[] = { "read:posts" };
	const char *writer[] = { "read:posts", "write:posts" };
	char *ro = alice_key(read_only, 1), *rw = alice_key(writer, 2);
	Agentos__Posts__V1__CreatePostRequest req = AGENTOS__POSTS__V1__CREATE_POST_REQUEST__INIT;
	struct it_result r;

	(void)state;
	req.title = "Via key";
	req.body = "Written with an API key";
	req.status = "published";
	r = it_call(P.ch, "/agentos.posts.v1.PostsService/CreatePost", &req.base,
		    &agentos__posts__v1__post__descriptor, NULL, ro);
	pit_expect_error(&r, GRPC_STATUS_PERMISSION_DENIED, ERR_FORBIDDEN);
	r = it_call(P.ch, "/agentos.posts.v1.PostsService/CreatePost", &req.base,
		    &agentos__posts__v1__post__descriptor, NULL, rw);
	pit_expect_ok(&r, "CreatePost with a write:posts key");
	assert_int_equal(PIT_POST(r)->author->id, Alice.id);
	assert_string_equal(PIT_POST(r)->author->name->value, "Alice Author");
	it_result_release(&r);
	r = it_call(P.ch, "/agentos.posts.v1.PostsService/CreatePost", &req.base,
		    &agentos__posts__v1__post__descriptor, NULL,
		    "ak_nosuchkey_0123456789abcdefghijklmnopqrstuvwxyzABCD");
	pit_expect_error(&r, GRPC_STATUS_UNAUTHENTICATED, ERR_UNAUTHORIZED);
	r = it_call(P.ch, "/agentos.posts.v1.PostsService/CreatePost", &req.base,
		    &agentos__posts__v1__post__descriptor, Alice.token, rw);
	pit_expect_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_BAD_REQUEST); /* both */
	assert_int_equal(pit_sql_intf(&P,
				      "SELECT count(*) FROM posts.posts WHERE title = 'Via key'"),
			 1);
	free(ro);
	free(rw);
}

/* ---- visibility --------------------------------------------------------------------- */

/* One ListPosts of the posts titled "vis-7f..." and how many it must list. */
struct list_claim {
	const char *what;
	const char *q;
	bool of_alice; /* author_id = Alice's */
	const char *status;
	const char *token;
	size_t want;
};

static void drafts_are_seen_by_their_author_and_update_posts_only(void **state)
{
	int64_t draft = pit_make_post(&P, "vis-7f draft", "draft", Alice.token);
	const struct post_claim reads[] = {
		{ "author reads own draft", GET, Alice.token, GRPC_STATUS_OK, ERR_OK },
		{ "update:posts reads a draft", GET, Mod.token, GRPC_STATUS_OK, ERR_OK },
		{ "admin reads a draft", GET, P.admin_token, GRPC_STATUS_OK, ERR_OK },
		/* not even its existence is told */
		{ "another user", GET, Bob.token, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND },
		{ "anonymous", GET, NULL, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND },
	};
	const struct list_claim lists[] = {
		{ "anonymous", "vis-7f", false, NULL, NULL, 1 },
		{ "another user", "vis-7f", false, NULL, Bob.token, 1 },
		{ "another user, by author", "vis-7f", true, NULL, Bob.token, 1 },
		{ "anonymous, drafts", "vis-7f", false, "draft", NULL, 0 },
		{ "another user, drafts", "vis-7f", false, "draft", Bob.token, 0 },
		{ "author, own posts", "vis-7f", true, NULL, Alice.token, 2 },
		{ "author, own drafts", "vis-7f", true, "draft", Alice.token, 1 },
		{ "update:posts", "vis-7f", false, NULL, Mod.token, 2 },
		{ "update:posts, drafts, q ignores case", "VIS-7F", false, "draft", Mod.token, 1 },
	};
	struct it_result r;

	(void)state;
	pit_make_post(&P, "vis-7f published", "published", Alice.token);
	for (size_t i = 0; i < ARRAY_SIZE(reads); i++)
		check_post_claim(i, &reads[i], draft);
	r = pit_get_post(&P, draft, Alice.token);
	pit_expect_ok(&r, "author GetPost of own draft");
	assert_string_equal(PIT_POST(r)->status, "draft");
	it_result_release(&r);
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		const struct list_claim *l = &lists[i];
		size_t n = listed(l->q, l->of_alice ? Alice.id : 0, l->status, l->token);

		if (n != l->want)
			fprintf(stderr, "list row %zu (%s): %zu posts, want %zu\n", i, l->what, n,
				l->want);
		assert_int_equal(n, l->want);
	}
}

/* ---- ListPosts ---------------------------------------------------------------------- */

static void list_posts_sorts_and_pages(void **state)
{
	const char *titles[] = { "pg3a c", "pg3a a", "pg3a e", "pg3a b", "pg3a d" };
	Agentos__Posts__V1__ListPostsRequest req = AGENTOS__POSTS__V1__LIST_POSTS_REQUEST__INIT;
	Agentos__Posts__V1__ListPostsResponse *resp;
	struct it_result r;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(titles); i++)
		pit_make_post(&P, titles[i], "published", Bob.token);
	req.q = "PG3A";
	req.sort = "title";
	req.page = 2;
	req.limit = 2;
	r = pit_list_posts(&P, &req, NULL);
	pit_expect_ok(&r, "ListPosts page 2");
	resp = PIT_POSTS(r);
	assert_int_equal(resp->n_posts, 2);
	assert_string_equal(resp->posts[0]->title, "pg3a c");
	assert_string_equal(resp->posts[1]->title, "pg3a d");
	assert_int_equal(resp->pagination->page, 2);
	assert_int_equal(resp->pagination->limit, 2);
	assert_int_equal(resp->pagination->total, 5);
	assert_int_equal(resp->pagination->total_pages, 3);
	assert_true(resp->pagination->has_next);
	assert_true(resp->pagination->has_prev);
	assert_int_equal(resp->posts[0]->author->id, Bob.id);
	assert_string_equal(resp->posts[0]->author->name->value, "Bob Reader");
	it_result_release(&r);

	req.page = 4; /* past the end: empty, not an error */
	r = pit_list_posts(&P, &req, NULL);
	pit_expect_ok(&r, "ListPosts past the end");
	assert_int_equal(PIT_POSTS(r)->n_posts, 0);
	assert_int_equal(PIT_POSTS(r)->pagination->total, 5);
	assert_false(PIT_POSTS(r)->pagination->has_next);
	it_result_release(&r);

	req.page = 1;
	req.limit = 0; /* proto3 zero: the default 20 */
	req.sort = "";
	r = pit_list_posts(&P, &req, NULL); /* default -createdAt: newest first */
	pit_expect_ok(&r, "ListPosts default sort");
	assert_int_equal(PIT_POSTS(r)->pagination->limit, 20);
	assert_string_equal(PIT_POSTS(r)->posts[0]->title, "pg3a d");
	assert_string_equal(PIT_POSTS(r)->posts[4]->title, "pg3a c");
	it_result_release(&r);
	req.sort = "-title";
	r = pit_list_posts(&P, &req, NULL);
	pit_expect_ok(&r, "ListPosts -title");
	assert_string_equal(PIT_POSTS(r)->posts[0]->title, "pg3a e");
	it_result_release(&r);
}

static void list_posts_refuses_bad_parameters(void **state)
{
	Agentos__Posts__V1__ListPostsRequest req = AGENTOS__POSTS__V1__LIST_POSTS_REQUEST__INIT;
	struct it_result r;

	(void)state;
	req.sort = "bogus";
	r = pit_list_posts(&P, &req, NULL);
	pit_expect_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_BAD_REQUEST);
	req.sort = "";
	req.limit = 101;
	r = pit_list_posts(&P, &req, NULL);
	pit_expect_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_BAD_REQUEST);
	req.limit = 10;
	req.status = "bogus";
	r = pit_list_posts(&P, &req, NULL);
	pit_expect_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_BAD_REQUEST);
	req.status = "";
	req.page = -1;
	r = pit_list_posts(&P, &req, NULL);
	pit_expect_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_BAD_REQUEST);
}

/* GET /users/:id/posts over gRPC: author_must_exist. */
static void list_posts_of_an_author_that_must_exist(void **state)
{
	struct pit_user ghost = pit_user_new(&P, "ghost-author", "Ghost Author", "user");
	Agentos__Posts__V1__ListPostsRequest req = AGENTOS__POSTS__V1__LIST_POSTS_REQUEST__INIT;
	const char *tokens[] = { NULL, Bob.token, Alice.token, Mod.token };
	int64_t all, published, expect[4];
	struct it_result r;

	(void)state;
	pit_make_post(&P, "ghost's post", "published", ghost.token);
	pit_user_delete(&P, &ghost);
	req.author_must_exist = true;
	req.limit = 100;
	req.author_id = 987654321;
	r = pit_list_posts(&P, &req, NULL);
	pit_expect_error(&r, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND);
	req.author_id = ghost.id; /* soft-deleted */
	r = pit_list_posts(&P, &req, Mod.token);
	pit_expect_error(&r, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND);
	req.author_id = Mod.id; /* exists, no posts: empty */
	r = pit_list_posts(&P, &req, NULL);
	pit_expect_ok(&r, "ListPosts of an author without posts");
	assert_int_equal(PIT_POSTS(r)->pagination->total, 0);
	it_result_release(&r);

	all = pit_sql_intf(&P,
			   "SELECT count(*) FROM posts.posts WHERE author_id = %lld"
			   " AND deleted_at IS NULL",
			   (long long)Alice.id);
	published = pit_sql_intf(&P,
				 "SELECT count(*) FROM posts.posts WHERE author_id = %lld"
				 " AND deleted_at IS NULL AND status = 'published'",
				 (long long)Alice.id);
	assert_true(all > published && published > 0);
	req.author_id = Alice.id; /* the author and update:posts see the drafts too */
	expect[0] = expect[1] = published;
	expect[2] = expect[3] = all;
	for (size_t i = 0; i < ARRAY_SIZE(tokens); i++) {
		r = pit_list_posts(&P, &req, tokens[i]);
		pit_expect_ok(&r, "ListPosts author_must_exist");
		assert_int_equal(PIT_POSTS(r)->pagination->total, expect[i]);
		for (size_t k = 0; k < PIT_POSTS(r)->n_posts; k++)
			assert_int_equal(PIT_POSTS(r)->posts[k]->author->id, Alice.id);
		it_result_release(&r);
	}
	pit_user_free(&ghost);
}

/* ---- UpdatePost -------------------------------------------------------------------- */

static struct it_result set_status(int64_t id, const char *status)
{
	Agentos__Posts__V1__Post patch = AGENTOS__POSTS__V1__POST__INIT;
	const char *path[] = { "status", NULL };

	patch.status = (char *)status;
	return pit_update_post(&P, id, &patch, path, 0, Alice.token);
}

static void update_post_masks_versions_and_published_at(void **state)
{
	int64_t id = pit_make_post(&P, "Masked", "draft", Alice.token);
	Agentos__Posts__V1__Post patch = AGENTOS__POSTS__V1__POST__INIT;
	const char *title_path[] = { "title", NULL };
	Google__Protobuf__Timestamp first;
	struct it_result r;

	(void)state;
	patch.title = "  Masked twice  "; /* body and status are empty: not in the mask */
	r = pit_update_post(&P, id, &patch, title_path, 1, Alice.token);
	pit_expect_ok(&r, "UpdatePost title");
	assert_string_equal(PIT_POST(r)->title, "Masked twice");
	assert_string_equal(PIT_POST(r)->body, "Body of Masked");
	assert_string_equal(PIT_POST(r)->status, "draft");
	assert_int_equal(PIT_POST(r)->version, 2);
	it_result_release(&r);
	assert_stored(id, "title || '|' || body || '|' || version",
		      "Masked twice|Body of Masked|2");

	r = pit_update_post(&P, id, &patch, title_path, 0, Alice.token); /* no change */
	pit_expect_ok(&r, "UpdatePost no-op");
	assert_int_equal(PIT_POST(r)->version, 2);
	it_result_release(&r);
	assert_stored(id, "version", "2");

	r = set_status(id, "published");
	pit_expect_ok(&r, "publish");
	assert_int_equal(PIT_POST(r)->version, 3);
	assert_non_null(PIT_POST(r)->published_at);
	first = *PIT_POST(r)->published_at;
	it_result_release(&r);
	assert_stored(id, "published_at IS NOT NULL", "t");

	patch.title = "Edited after publishing"; /* an edit does not move publishedAt */
	r = pit_update_post(&P, id, &patch, title_path, 3, Alice.token);
	pit_expect_ok(&r, "edit published");
	assert_int_equal(PIT_POST(r)->version, 4);
	assert_non_null(PIT_POST(r)->published_at);
	assert_int_equal(PIT_POST(r)->published_at->seconds, first.seconds);
	assert_int_equal(PIT_POST(r)->published_at->nanos, first.nanos);
	it_result_release(&r);

	r = set_status(id, "draft"); /* back to draft: cleared */
	pit_expect_ok(&r, "unpublish");
	assert_null(PIT_POST(r)->published_at);
	assert_int_equal(PIT_POST(r)->version, 5);
	it_result_release(&r);
	assert_stored(id, "published_at IS NULL", "t");
	r = pit_get_post(&P, id, Alice.token);
	pit_expect_ok(&r, "GetPost after unpublish");
	assert_null(PIT_POST(r)->published_at);
	assert_int_equal(PIT_POST(r)->version, 5);
	it_result_release(&r);
}

static void update_post_permissions_validation_and_conflicts(void **state)
{
	int64_t pub = pit_make_post(&P, "Owned", "published", Alice.token);
	int64_t draft = pit_make_post(&P, "Owned draft", "draft", Alice.token);
	const struct post_claim_on refused[] = {
		{ pub,
		  { "another user's post", UPDATE, Bob.token, GRPC_STATUS_PERMISSION_DENIED,
		    ERR_FORBIDDEN } },
		/* another user's draft does not exist for them */
		{ draft,
		  { "another user's draft", UPDATE, Bob.token, GRPC_STATUS_NOT_FOUND,
		    ERR_NOT_FOUND } },
		{ 987654321,
		  { "admin, no such post", UPDATE, P.admin_token, GRPC_STATUS_NOT_FOUND,
		    ERR_NOT_FOUND } },
	};
	Agentos__Posts__V1__Post patch = AGENTOS__POSTS__V1__POST__INIT;
	const char *title_path[] = { "title", NULL };
	const char *put[] = { "title", "body", "status", NULL };
	const char *bogus[] = { "author_id", NULL };
	struct it_result r;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		check_post_claim(i, &refused[i].claim, refused[i].id);
	assert_stored(pub, "title || version", "Owned1");
	assert_stored(draft, "title || version", "Owned draft1");

	patch.title = "Moderated"; /* update:posts */
	r = pit_update_post(&P, pub, &patch, title_path, 1, Mod.token);
	pit_expect_ok(&r, "moderator UpdatePost");
	assert_int_equal(PIT_POST(r)->version, 2);
	assert_int_equal(PIT_POST(r)->author->id, Alice.id); /* still Alice's */
	it_result_release(&r);

	patch.title = "Stale";
	r = pit_update_post(&P, pub, &patch, title_path, 1, Alice.token);
	pit_expect_error(&r, GRPC_STATUS_ABORTED, ERR_VERSION_CONFLICT);
	assert_stored(pub, "title || version", "Moderated2");

	patch.title = "   "; /* PUT: every failing field at once, nothing written */
	patch.body = "";
	patch.status = "archived";
	r = pit_update_post(&P, pub, &patch, put, 0, Alice.token);
	pit_expect_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_VALIDATION_ERROR);
	assert_int_equal(r.err.nviolations, 3);
	assert_true(it_has_violation(&r, "title"));
	assert_true(it_has_violation(&r, "body"));
	assert_true(it_has_violation(&r, "status"));
	assert_stored(pub, "title || version", "Moderated2");

	r = pit_update_post(&P, pub, &patch, bogus, 0, Alice.token);
	pit_expect_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_VALIDATION_ERROR);
	assert_true(r.err.nviolations >= 1);
}

/* ---- DeletePost ---------------------------------------------------------------------- */

static void delete_post_is_soft_and_hides_the_post_and_its_comments(void **state)
{
	int64_t pub = pit_make_post(&P, "del-9q doomed", "published", Alice.token);
	int64_t draft = pit_make_post(&P, "del-9q draft", "draft", Alice.token);
	int64_t bobs = pit_make_post(&P, "del-9q bob's", "published", Bob.token);
	const struct post_claim_on refused[] = {
		{ pub,
		  { "another user deletes", DELETE, Bob.token, GRPC_STATUS_PERMISSION_DENIED,
		    ERR_FORBIDDEN } },
		{ draft,
		  { "another user's draft", DELETE, Bob.token, GRPC_STATUS_NOT_FOUND,
		    ERR_NOT_FOUND } },
	};
	/* once deleted, the post and its comments are gone for everyone, whatever they ask */
	const struct post_claim gone[] = {
		{ "author reads it", GET, Alice.token, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND },
		{ "admin reads it", GET, P.admin_token, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND },
		{ "anonymous lists its comments", COMMENTS, NULL, GRPC_STATUS_NOT_FOUND,
		  ERR_NOT_FOUND },
		{ "admin lists its comments", COMMENTS, P.admin_token, GRPC_STATUS_NOT_FOUND,
		  ERR_NOT_FOUND },
		{ "another user comments", COMMENT, Bob.token, GRPC_STATUS_NOT_FOUND,
		  ERR_NOT_FOUND },
		{ "author edits it", UPDATE, Alice.token, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND },
		{ "author deletes it again", DELETE, Alice.token, GRPC_STATUS_NOT_FOUND,
		  ERR_NOT_FOUND },
	};
	struct it_result r;

	(void)state;
	pit_make_comment(&P, pub, "A comment that disappears with its post", Bob.token);
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		check_post_claim(i, &refused[i].claim, refused[i].id);
	assert_stored(pub, "deleted_at IS NULL", "t");

	r = pit_delete_post(&P, pub, Alice.token);
	pit_expect_ok(&r, "author DeletePost");
	it_result_release(&r);
	assert_stored(pub, "deleted_at IS NOT NULL", "t"); /* the row stays */
	for (size_t i = 0; i < ARRAY_SIZE(gone); i++)
		check_post_claim(i, &gone[i], pub);
	assert_int_equal(listed("del-9q doomed", 0, NULL, Mod.token), 0);

	r = pit_delete_post(&P, bobs, Mod.token); /* delete:posts */
	pit_expect_ok(&r, "moderator DeletePost");
	it_result_release(&r);
	assert_stored(bobs, "deleted_at IS NOT NULL", "t");
}

/* ---- health and logs ----------------------------------------------------------------- */

static void health_and_logs(void **state)
{
	char *log = read_file_all(proc_log_path(P.posts));

	(void)state;
	assert_int_equal(rpc_health_check(P.ch, "", 1000), 1);
	assert_int_equal(rpc_health_check(P.ch, "agentos.posts.v1.PostsService", 1000), 1);
	assert_int_equal(rpc_health_check(P.ch, "agentos.users.v1.UsersService", 1000), -1);
	assert_non_null(log);
	assert_non_null(strstr(log, "\"method\":\"/agentos.posts.v1.PostsService/CreatePost\""));
	assert_non_null(strstr(log, "\"requestId\":\"it-req-1\""));
	assert_null(strstr(log, Alice.token));
	assert_null(strstr(log, P.admin_token));
	free(log);
}

/* The list totals come from post_counts (a trigger, migrations/002), not from
 * count(*): after this suite's creates, publishes, unpublishes and deletes,
 * every stored total must equal counting the rows. */
static void stored_totals_match_counting_after_every_kind_of_write(void **state)
{
	(void)state;
	assert_int_equal(
		pit_sql_intf(&P, "SELECT count(*) FROM ("
				 " SELECT author_id, status, count(*) AS n FROM posts.posts"
				 " WHERE deleted_at IS NULL GROUP BY 1, 2"
				 " UNION ALL SELECT 0, status, count(*) FROM posts.posts"
				 " WHERE deleted_at IS NULL GROUP BY 2) counted"
				 " FULL JOIN (SELECT * FROM posts.post_counts WHERE n <> 0) stored"
				 " USING (author_id, status)"
				 " WHERE counted.n IS DISTINCT FROM stored.n"),
		0);
	/* and the suite did write: drafts, published and deleted posts exist */
	assert_true(pit_sql_intf(&P, "SELECT count(DISTINCT status) FROM posts.posts"
				     " WHERE deleted_at IS NULL") == 2);
	assert_true(pit_sql_intf(&P, "SELECT count(*) FROM posts.posts"
				     " WHERE deleted_at IS NOT NULL") > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_post_trims_defaults_to_draft_and_embeds_the_author),
		cmocka_unit_test(create_post_reports_every_invalid_field),
		cmocka_unit_test(credentials_are_required_for_writes_and_checked_everywhere),
		cmocka_unit_test(api_keys_act_as_their_creator_within_their_permissions),
		cmocka_unit_test(drafts_are_seen_by_their_author_and_update_posts_only),
		cmocka_unit_test(list_posts_sorts_and_pages),
		cmocka_unit_test(list_posts_refuses_bad_parameters),
		cmocka_unit_test(list_posts_of_an_author_that_must_exist),
		cmocka_unit_test(update_post_masks_versions_and_published_at),
		cmocka_unit_test(update_post_permissions_validation_and_conflicts),
		cmocka_unit_test(delete_post_is_soft_and_hides_the_post_and_its_comments),
		cmocka_unit_test(health_and_logs),
		cmocka_unit_test(stored_totals_match_counting_after_every_kind_of_write),
	};

	return cmocka_run_group_tests(tests, pit_setup, pit_teardown);
}
