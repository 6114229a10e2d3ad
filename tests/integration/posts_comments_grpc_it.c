/* posts_comments_grpc_it.c - PostsService comments, and what the posts
 * service owes its callers across the users service, over real gRPC (no
 * gateway) against real processes: comment permission boundaries, an exact
 * commentCount under concurrent writes, embedded authors (deleted ones with
 * a null name), one BatchGetUsers per page (no N+1), and UNAVAILABLE within
 * the deadline when the users service is down (API.md §1, §2, §3, §6). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "agentos/users/v1/users.pb-c.h"
#include "kv.h"
#include "stack.h"
#include "util.h"

#define PIT_IT_NAME "posts_comments_grpc_it"
#define PIT_WITH_AUTH false
#include "support/pit_fixture.h"

#define BATCH_LINE "\"method\":\"/agentos.users.v1.UsersService/BatchGetUsers\""
#define THREADS 8
#define PER_THREAD 10

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int64_t comment_count(int64_t post_id, const char *token)
{
	struct it_result r = pit_get_post(&P, post_id, token);
	int64_t n;

	pit_expect_ok(&r, "GetPost");
	n = PIT_POST(r)->comment_count;
	it_result_release(&r);
	return n;
}

static void assert_comment_body(int64_t id, const char *expected)
{
	char *got = pit_sqlf(&P, "SELECT body FROM posts.comments WHERE id = %lld", (long long)id);

	assert_string_equal(got, expected);
	free(got);
}

/* ---- create and list ------------------------------------------------------------------ */

static void comments_are_validated_listed_oldest_first_and_counted(void **state)
{
	int64_t post = pit_make_post(&P, "Commented", "published", Alice.token);
	char *long_body = xmalloc(10002);
	struct it_result r;
	Agentos__Posts__V1__ListCommentsResponse *list;

	(void)state;
	r = pit_create_comment(&P, post, "Anonymous", NULL);
	pit_expect_error(&r, GRPC_STATUS_UNAUTHENTICATED, ERR_UNAUTHORIZED);
	r = pit_create_comment(&P, post, "", Bob.token);
	pit_expect_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_VALIDATION_ERROR);
	assert_true(it_has_violation(&r, "body"));
	memset(long_body, 'c', 10001);
	long_body[10001] = '\0';
	r = pit_create_comment(&P, post, long_body, Bob.token);
	pit_expect_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_VALIDATION_ERROR);
	assert_true(it_has_violation(&r, "body"));
	free(long_body);
	r = pit_create_comment(&P, 987654321, "Nowhere", Bob.token);
	pit_expect_error(&r, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND);

	r = pit_create_comment(&P, post, "first", Bob.token);
	pit_expect_ok(&r, "CreateComment");
	assert_int_equal(PIT_COMMENT(r)->post_id, post);
	assert_string_equal(PIT_COMMENT(r)->body, "first");
	assert_int_equal(PIT_COMMENT(r)->author->id, Bob.id);
	assert_string_equal(PIT_COMMENT(r)->author->name->value, "Bob Reader");
	assert_non_null(PIT_COMMENT(r)->created_at);
	it_result_release(&r);
	pit_make_comment(&P, post, "second", Carol.token);
	pit_make_comment(&P, post, "third", Bob.token);

	r = pit_list_comments(&P, post, NULL, NULL); /* anyone who may see the post */
	pit_expect_ok(&r, "ListComments");
	list = PIT_COMMENTS(r);
	assert_int_equal(list->n_comments, 3);
	assert_string_equal(list->comments[0]->body, "first");
	assert_string_equal(list->comments[1]->body, "second");
	assert_string_equal(list->comments[2]->body, "third");
	assert_string_equal(list->comments[1]->author->name->value, "Carol Other");
	assert_int_equal(list->pagination->total, 3);
	it_result_release(&r);
	r = pit_list_comments(&P, post, "-createdAt", NULL);
	pit_expect_ok(&r, "ListComments -createdAt");
	assert_string_equal(PIT_COMMENTS(r)->comments[0]->body, "third");
	it_result_release(&r);
	r = pit_list_comments(&P, post, "title", NULL);
	pit_expect_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_BAD_REQUEST);
	assert_int_equal(comment_count(post, NULL), 3);
}

/* ---- permission boundaries --------------------------------------------------------------- */

static void comment_edit_boundaries(void **state)
{
	int64_t post = pit_make_post(&P, "Boundaries", "published", Alice.token);
	int64_t other = pit_make_post(&P, "Elsewhere", "published", Alice.token);
	int64_t c = pit_make_comment(&P, post, "original", Bob.token);
	struct it_result r;

	(void)state;
	r = pit_update_comment(&P, post, c, "edited by Bob", Bob.token); /* own */
	pit_expect_ok(&r, "author UpdateComment");
	assert_string_equal(PIT_COMMENT(r)->body, "edited by Bob");
	assert_non_null(PIT_COMMENT(r)->updated_at);
	it_result_release(&r);
	assert_comment_body(c, "edited by Bob");
	r = pit_update_comment(&P, post, c, "", Bob.token);
	pit_expect_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_VALIDATION_ERROR);
	assert_true(it_has_violation(&r, "body"));
	r = pit_update_comment(&P, post, c, "anonymous", NULL);
	pit_expect_error(&r, GRPC_STATUS_UNAUTHENTICATED, ERR_UNAUTHORIZED);

	r = pit_update_comment(&P, post, c, "edited by Carol", Carol.token);
	pit_expect_error(&r, GRPC_STATUS_PERMISSION_DENIED, ERR_FORBIDDEN);
	r = pit_update_comment(&P, post, c, "edited by the post's author", Alice.token);
	pit_expect_error(&r, GRPC_STATUS_PERMISSION_DENIED, ERR_FORBIDDEN);
	r = pit_update_comment(&P, post, c, "edited by a moderator", Mod.token);
	pit_expect_error(&r, GRPC_STATUS_PERMISSION_DENIED, ERR_FORBIDDEN);
	assert_comment_body(c, "edited by Bob");
	r = pit_update_comment(&P, post, c, "edited by an admin", P.admin_token);
	pit_expect_ok(&r, "admin UpdateComment");
	assert_int_equal(PIT_COMMENT(r)->author->id, Bob.id); /* still Bob's */
	it_result_release(&r);
	assert_comment_body(c, "edited by an admin");
	r = pit_update_comment(&P, other, c, "wrong post", Bob.token); /* not under that post */
	pit_expect_error(&r, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND);
}

static void comment_delete_boundaries(void **state)
{
	int64_t post = pit_make_post(&P, "Deletions", "published", Alice.token);
	int64_t other = pit_make_post(&P, "Elsewhere too", "published", Alice.token);
	int64_t c = pit_make_comment(&P, post, "to be moderated", Bob.token);
	struct it_result r;

	(void)state;
	r = pit_delete_comment(&P, post, c, Carol.token);
	pit_expect_error(&r, GRPC_STATUS_PERMISSION_DENIED, ERR_FORBIDDEN);
	r = pit_delete_comment(&P, post, c, Alice.token);
	pit_expect_error(&r, GRPC_STATUS_PERMISSION_DENIED, ERR_FORBIDDEN);
	r = pit_delete_comment(&P, other, c, Mod.token);
	pit_expect_error(&r, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND);
	r = pit_delete_comment(&P, post, c, NULL);
	pit_expect_error(&r, GRPC_STATUS_UNAUTHENTICATED, ERR_UNAUTHORIZED);
	assert_int_equal(comment_count(post, NULL), 1);
	r = pit_delete_comment(&P, post, c, Mod.token); /* delete:comments */
	pit_expect_ok(&r, "moderator DeleteComment");
	it_result_release(&r);
	assert_int_equal(comment_count(post, NULL), 0);
	r = pit_list_comments(&P, post, NULL, NULL);
	pit_expect_ok(&r, "ListComments after delete");
	assert_int_equal(PIT_COMMENTS(r)->n_comments, 0);
	it_result_release(&r);
	r = pit_delete_comment(&P, post, c, Bob.token);
	pit_expect_error(&r, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND);
	r = pit_update_comment(&P, post, c, "after delete", Bob.token);
	pit_expect_error(&r, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND);

	c = pit_make_comment(&P, post, "mine to remove", Bob.token);
	r = pit_delete_comment(&P, post, c, Bob.token); /* own, with write:comments */
	pit_expect_ok(&r, "author DeleteComment");
	it_result_release(&r);
}

static void comments_on_someone_elses_draft_are_not_found(void **state)
{
	int64_t draft = pit_make_post(&P, "Unseen draft", "draft", Alice.token);
	struct it_result r;

	(void)state;
	r = pit_create_comment(&P, draft, "Can I?", Bob.token);
	pit_expect_error(&r, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND);
	r = pit_list_comments(&P, draft, NULL, Bob.token);
	pit_expect_error(&r, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND);
	r = pit_list_comments(&P, draft, NULL, NULL);
	pit_expect_error(&r, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND);
	assert_int_equal(pit_sql_intf(&P,
				      "SELECT count(*) FROM posts.comments WHERE post_id = %lld",
				      (long long)draft),
			 0);
	r = pit_update_comment(&P, draft, 1, "Blind edit", Bob.token);
	pit_expect_error(&r, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND);

	pit_make_comment(&P, draft, "A note to self", Alice.token); /* the author sees it */
	r = pit_list_comments(&P, draft, NULL, Mod.token);          /* update:posts sees drafts */
	pit_expect_ok(&r, "moderator ListComments of a draft");
	assert_int_equal(PIT_COMMENTS(r)->n_comments, 1);
	it_result_release(&r);
}

/* ---- concurrency --------------------------------------------------------------------- */

struct writer {
	pthread_t thread;
	int64_t post;
	int ok;
};

static void *write_comments(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		struct it_result r = pit_create_comment(&P, w->post, "concurrent", Bob.token);

		if (r.status == GRPC_STATUS_OK)
			w->ok++;
		else
			fprintf(stderr, "CreateComment: %s (%s)\n", err_name(r.err.code),
				r.err.message);
		it_result_release(&r);
	}
	return NULL;
}

static void comment_count_is_exact_under_concurrent_writes(void **state)
{
	int64_t post = pit_make_post(&P, "Busy thread", "published", Alice.token);
	struct writer w[THREADS];
	int ok = 0;

	(void)state;
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct writer){ .post = post };
		assert_int_equal(pthread_create(&w[i].thread, NULL, write_comments, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(w[i].thread, NULL);
		ok += w[i].ok;
	}
	assert_int_equal(ok, THREADS * PER_THREAD);
	assert_int_equal(comment_count(post, NULL), THREADS * PER_THREAD);
	assert_int_equal(pit_sql_intf(&P,
				      "SELECT count(*) FROM posts.comments WHERE post_id = %lld",
				      (long long)post),
			 THREADS * PER_THREAD);
}

/* ---- embedded authors ------------------------------------------------------------------ */

static void rename_user(const struct pit_user *u, const char *name)
{
	Agentos__Users__V1__UpdateUserRequest req = AGENTOS__USERS__V1__UPDATE_USER_REQUEST__INIT;
	Agentos__Users__V1__User user = AGENTOS__USERS__V1__USER__INIT;
	Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
	char *paths[] = { "name" };
	struct it_result r;

	user.name = (char *)name;
	mask.paths = paths;
	mask.n_paths = 1;
	req.id = u->id;
	req.user = &user;
	req.update_mask = &mask;
	r = it_call(P.users_ch, "/agentos.users.v1.UsersService/UpdateUser", &req.base,
		    &agentos__users__v1__user__descriptor, u->token, NULL);
	pit_expect_ok(&r, "UpdateUser");
	it_result_release(&r);
}

static void embedded_authors_are_current_and_null_once_deleted(void **state)
{
	struct pit_user ghost = pit_user_new(&P, "ghost", "Ghost Writer", "user");
	int64_t post = pit_make_post(&P, "emb-5x ghost's post", "published", ghost.token);
	int64_t host = pit_make_post(&P, "emb-5x host", "published", Alice.token);
	Agentos__Posts__V1__ListPostsRequest req = AGENTOS__POSTS__V1__LIST_POSTS_REQUEST__INIT;
	int64_t c = pit_make_comment(&P, host, "ghost was here", ghost.token);
	struct it_result r;

	(void)state;
	r = pit_get_post(&P, post, Bob.token); /* possibly cached now */
	pit_expect_ok(&r, "GetPost");
	assert_string_equal(PIT_POST(r)->author->name->value, "Ghost Writer");
	it_result_release(&r);
	rename_user(&ghost, "Ghost Renamed"); /* the current name, never a stale one */
	r = pit_get_post(&P, post, Bob.token);
	pit_expect_ok(&r, "GetPost after rename");
	assert_string_equal(PIT_POST(r)->author->name->value, "Ghost Renamed");
	it_result_release(&r);

	pit_user_delete(&P, &ghost);
	r = pit_get_post(&P, post, Bob.token); /* posts stay, author {id, name: null} */
	pit_expect_ok(&r, "GetPost of a deleted user's post");
	assert_int_equal(PIT_POST(r)->author->id, ghost.id);
	assert_null(PIT_POST(r)->author->name);
	it_result_release(&r);
	req.q = "emb-5x";
	req.sort = "title";
	r = pit_list_posts(&P, &req, NULL);
	pit_expect_ok(&r, "ListPosts with a deleted author");
	assert_int_equal(PIT_POSTS(r)->n_posts, 2);
	assert_int_equal(PIT_POSTS(r)->posts[0]->author->id, ghost.id);
	assert_null(PIT_POSTS(r)->posts[0]->author->name);
	assert_string_equal(PIT_POSTS(r)->posts[1]->author->name->value, "Alice Author");
	it_result_release(&r);
	r = pit_list_comments(&P, host, NULL, NULL);
	pit_expect_ok(&r, "ListComments with a deleted author");
	assert_int_equal(PIT_COMMENTS(r)->n_comments, 1);
	assert_int_equal(PIT_COMMENTS(r)->comments[0]->id, c);
	assert_int_equal(PIT_COMMENTS(r)->comments[0]->author->id, ghost.id);
	assert_null(PIT_COMMENTS(r)->comments[0]->author->name);
	it_result_release(&r);
	pit_user_free(&ghost);
}

/* ---- no N+1 ------------------------------------------------------------------------------ */

/* BatchGetUsers calls the users service has logged so far. */
static int batch_calls(void)
{
	char *log = read_file_all(proc_log_path(P.users));
	int n = 0;

	assert_non_null(log);
	for (const char *at = strstr(log, BATCH_LINE); at; at = strstr(at + 1, BATCH_LINE))
		n++;
	free(log);
	return n;
}

static void a_page_of_100_authors_costs_one_batch_call(void **state)
{
	Agentos__Posts__V1__ListPostsRequest req = AGENTOS__POSTS__V1__LIST_POSTS_REQUEST__INIT;
	Agentos__Posts__V1__ListPostsResponse *resp;
	struct it_result r;
	int before, after;
	int64_t deadline;

	(void)state;
	assert_true(it_sql_exec(P.db, "INSERT INTO users.users (email, name, password_hash)"
				      " SELECT 'n1-' || g || '@example.com', 'N1 Author ' || g, 'x'"
				      " FROM generate_series(1, 100) g"));
	assert_true(it_sql_exec(P.db,
				"INSERT INTO posts.posts (author_id, title, body, status,"
				" published_at) SELECT id, 'n1-post ' || name, 'body',"
				" 'published', now() FROM users.users WHERE email LIKE 'n1-%'"));
	before = batch_calls();
	req.q = "n1-post";
	req.limit = 100;
	r = pit_list_posts(&P, &req, NULL);
	pit_expect_ok(&r, "ListPosts limit 100");
	resp = PIT_POSTS(r);
	assert_int_equal(resp->n_posts, 100);
	assert_int_equal(resp->pagination->total, 100);
	for (size_t i = 0; i < resp->n_posts; i++) {
		const Agentos__Posts__V1__Post *post = resp->posts[i];

		assert_non_null(post->author);
		assert_non_null(post->author->name);
		/* each post carries its own author's name, not a neighbour's */
		assert_string_equal(post->author->name->value, post->title + strlen("n1-post "));
	}
	it_result_release(&r);
	/* the users service logs a call after answering it: wait for the line */
	deadline = mono_ms() + 3000;
	while ((after = batch_calls()) < before + 1 && mono_ms() < deadline)
		pause_ms(20);
	pause_ms(300); /* and any further call a little longer */
	after = batch_calls();
	if (after != before + 1)
		fprintf(stderr, "BatchGetUsers calls for one page: %d\n", after - before);
	assert_int_equal(after, before + 1);
}

/* ---- users service down (last: it stays down) ------------------------------------------- */

static void users_down_is_unavailable_within_the_deadline(void **state)
{
	Agentos__Posts__V1__ListPostsRequest req = AGENTOS__POSTS__V1__LIST_POSTS_REQUEST__INIT;
	struct it_result r;
	int64_t started, took;

	struct kv *kv = kv_new(stack_redis_url(P.stack), 500, 1);
	char key[32];

	(void)state;
	pit_make_post(&P, "down-2v needs its author", "published", Alice.token);
	/* A change to Alice (her entry replaced, as the users service does
	 * after a write) drops her name from posts' copy: the list must ask. */
	snprintf(key, sizeof(key), KV_USER_PREFIX "%lld", (long long)Alice.id);
	kv_cache_invalidate(kv, key);
	kv_free(kv);
	assert_int_equal(proc_stop(P.users), 0);
	req.q = "down-2v";
	started = mono_ms();
	r = pit_list_posts(&P, &req, NULL);
	took = mono_ms() - started;
	pit_expect_error(&r, GRPC_STATUS_UNAVAILABLE, ERR_SERVICE_UNAVAILABLE);
	if (took > PIT_DEADLINE_MS)
		fprintf(stderr, "ListPosts took %lld ms with the users service down\n",
			(long long)took);
	assert_true(took <= PIT_DEADLINE_MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(comments_are_validated_listed_oldest_first_and_counted),
		cmocka_unit_test(comment_edit_boundaries),
		cmocka_unit_test(comment_delete_boundaries),
		cmocka_unit_test(comments_on_someone_elses_draft_are_not_found),
		cmocka_unit_test(comment_count_is_exact_under_concurrent_writes),
		cmocka_unit_test(embedded_authors_are_current_and_null_once_deleted),
		cmocka_unit_test(a_page_of_100_authors_costs_one_batch_call),
		cmocka_unit_test(users_down_is_unavailable_within_the_deadline),
	};

	return cmocka_run_group_tests(tests, pit_setup, pit_teardown);
}
