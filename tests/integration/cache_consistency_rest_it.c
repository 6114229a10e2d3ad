/* cache_consistency_rest_it.c - the user:<id> and post:<id> caches are never
 * silently left stale (issue 18 item 1), on the real stack (PostgreSQL,
 * Redis, users, auth, posts, gateway as processes):
 *
 *   - Redis stalled (SIGSTOP) while an admin disables a user whose entry is
 *     warm: the user's API key is refused as soon as Redis answers again (and
 *     the entry is gone once the retried invalidation lands), not an hour
 *     later;
 *   - readers racing comment commits: a row loaded before a commit is never
 *     stored after that commit's invalidation, so GetPost's commentCount is
 *     the database's after every comment. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "agentos/posts/v1/posts.pb-c.h"
#include "it.h"
#include "kv.h"
#include "rpc.h"
#include "util.h"

#define GW_IT_NAME "cache_consistency_rest_it"
#include "support/gw_fixture.h"

#define CACHE_MS 1000 /* API-key validations may be cached this long (caller.h) */
#define STALL_MS 1500 /* the Redis stall */
#define LAND_MS 4000  /* a retried invalidation lands within this after Redis is back */
#define READERS 6
#define ROUNDS 40

static struct kv *KV; /* the test's own view of Redis */

static int setup(void **state)
{
	if (gw_setup(state) != 0)
		return -1;
	KV = kv_new(stack_redis_url(G.stack), 500, 2);
	return KV ? 0 : -1;
}

static int teardown(void **state)
{
	kv_free(KV);
	return gw_teardown(state);
}

static long status_of(struct it_http_result r, const char *label)
{
	long s = r.status;

	if (s >= 500)
		it_http_dump(&r, label);
	it_http_release(&r);
	return s;
}

/* POST /posts with X-API-Key: the status. */
static long post_with_key(const char *key)
{
	char header[300];
	const char *headers[] = { header, NULL };

	snprintf(header, sizeof(header), "X-API-Key: %s", key);
	return status_of(it_gateway_call(&G, "POST", "/posts", NULL, headers,
					 "{\"title\":\"by key\",\"body\":\"b\"}"),
			 "POST /posts with a key");
}

/* The raw user:<id> entry (malloc'd; NULL when absent or Redis is down). */
static char *cached_user(int64_t id)
{
	char key[32], *val = NULL;
	size_t len = 0;

	snprintf(key, sizeof(key), "user:%lld", (long long)id);
	if (kv_get(KV, key, &val, &len) != 1)
		return NULL;
	return val;
}

/* A user with an API key that may write posts; *id set. malloc'd key. */
static char *user_with_key(const char *email, int64_t *id)
{
	char *token, *key;
	struct it_http_result r;

	*id = it_gateway_sign_up(&G, email, "Key Owner");
	token = it_token(*id, email, "user");
	r = it_gateway_call(&G, "POST", "/api-keys", token, NULL,
			    "{\"name\":\"ci\",\"permissions\":[\"write:posts\",\"read:posts\"]}");
	assert_true(it_http_is_success(&r, 201));
	key = xstrdup(it_json_str(it_data(&r), "key"));
	it_http_release(&r);
	free(token);
	return key;
}

/* isActive of a user:<id> record (users_cache.c: "U1 <id> <version>
 * <created> <updated> <flags> ..."; flags bit 0). */
static bool entry_active(const char *entry)
{
	long long id, version, created, updated;
	int flags;

	return sscanf(entry, "U1 %lld %lld %lld %lld %d", &id, &version, &created, &updated,
		      &flags) == 5 &&
	       (flags & 1);
}

/* (a) The DEL used to be skipped while Redis stalled (the kv client fails fast
 * after an error) and the entry kept isActive: true for its TTL. */
static void disable_during_a_redis_stall_is_not_hidden_by_the_cache(void **state)
{
	char path[64], *key, *entry;
	int64_t id, started;
	long s;

	(void)state;
	key = user_with_key("stalled.owner@example.com", &id);
	assert_int_equal(post_with_key(key), 201); /* warms user:<id> (auth reads the owner) */
	entry = cached_user(id);
	assert_non_null(entry);
	assert_true(entry_active(entry));
	free(entry);

	started = mono_ms();
	stack_redis_signal(G.stack, SIGSTOP);
	snprintf(path, sizeof(path), "/users/%lld", (long long)id);
	s = status_of(it_gateway_call(&G, "PATCH", path, G.admin_token, NULL,
				      "{\"isActive\":false}"),
		      "PATCH isActive during the stall");
	while (mono_ms() - started < STALL_MS)
		sleep_ms(20);
	stack_redis_signal(G.stack, SIGCONT);
	assert_int_equal(s, 200);
	while (mono_ms() - started < CACHE_MS + 300) /* past any cached key validation */
		sleep_ms(20);

	/* From the first request on, through the service's reconnection to Redis and
	 * until long after: never answered from the entry older than the change. */
	started = mono_ms();
	while (mono_ms() - started < LAND_MS) {
		s = post_with_key(key);
		if (s != 401)
			fail_msg("the disabled user's key got %ld %lld ms after Redis resumed", s,
				 (long long)(mono_ms() - started));
		sleep_ms(100);
	}
	/* The retried invalidation has landed: the old entry is gone for everyone. */
	entry = cached_user(id);
	if (entry && entry_active(entry))
		fail_msg("user:%lld still holds isActive true %d ms after Redis resumed",
			 (long long)id, LAND_MS);
	free(entry);
	assert_int_equal(post_with_key(key), 401);
	free(key);
}

/* ---- (b) readers racing comment commits ------------------------------------------- */

static struct {
	atomic_bool stop;
	int64_t post_id;
	atomic_long reads;
} Race;

static void *reader_main(void *arg)
{
	struct rpc_channel *ch = rpc_channel_new(G.posts_target);
	Agentos__Posts__V1__GetPostRequest req = AGENTOS__POSTS__V1__GET_POST_REQUEST__INIT;

	(void)arg;
	req.id = Race.post_id;
	while (!atomic_load(&Race.stop)) {
		struct it_result r = it_call(ch, "/agentos.posts.v1.PostsService/GetPost",
					     &req.base, &agentos__posts__v1__post__descriptor, NULL,
					     NULL);

		it_result_release(&r);
		atomic_fetch_add(&Race.reads, 1);
	}
	rpc_channel_free(ch);
	return NULL;
}

/* GetPost's commentCount, as a reader sees it (through the cache). */
static int64_t served_count(struct rpc_channel *ch, int64_t post_id)
{
	Agentos__Posts__V1__GetPostRequest req = AGENTOS__POSTS__V1__GET_POST_REQUEST__INIT;
	struct it_result r;
	int64_t n;

	req.id = post_id;
	r = it_call(ch, "/agentos.posts.v1.PostsService/GetPost", &req.base,
		    &agentos__posts__v1__post__descriptor, NULL, NULL);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	n = ((Agentos__Posts__V1__Post *)r.reply)->comment_count;
	it_result_release(&r);
	return n;
}

/* One comment through the gateway, in a thread (it waits on the row lock). */
struct comment_job {
	pthread_t thread;
	const char *token;
	long status;
};

static void *comment_main(void *arg)
{
	struct comment_job *j = arg;
	char path[64];

	snprintf(path, sizeof(path), "/posts/%lld/comments", (long long)Race.post_id);
	j->status = status_of(it_gateway_call(&G, "POST", path, j->token, NULL, "{\"body\":\"c\"}"),
			      "POST a comment");
	return NULL;
}

/* Sessions of the database waiting for a lock (the held comment). */
static int64_t lock_waiters(void)
{
	return it_sql_int(G.db,
			  "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'");
}

/* One round: the comment's transaction is held just before its commit (the
 * test holds the post's row lock), post:<id> is dropped (as a TTL or an
 * eviction would) and the lock released at once, so the readers load the
 * row while the comment commits and invalidates; then what GetPost serves
 * is compared with the database. true when it was stale. */
static bool race_round(PGconn *lk, const char *key, const char *token, struct rpc_channel *ch,
		       int round)
{
	struct comment_job job = { .token = token };
	const char *keys[] = { key };
	char sql[128];
	int64_t db, served, t0 = mono_ms();
	PGresult *res;

	snprintf(sql, sizeof(sql), "SELECT 1 FROM posts.posts WHERE id = %lld FOR UPDATE",
		 (long long)Race.post_id);
	PQclear(PQexec(lk, "BEGIN"));
	res = PQexec(lk, sql);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	PQclear(res);
	assert_int_equal(pthread_create(&job.thread, NULL, comment_main, &job), 0);
	while (lock_waiters() == 0 && mono_ms() - t0 < 3000)
		sleep_ms(2);
	assert_int_equal(kv_del(KV, keys, 1), 0);
	PQclear(PQexec(lk, "COMMIT"));
	pthread_join(job.thread, NULL);
	assert_int_equal(job.status, 201);
	sleep_ms(30); /* fills in flight land */
	snprintf(sql, sizeof(sql), "SELECT comment_count FROM posts.posts WHERE id = %lld",
		 (long long)Race.post_id);
	db = it_sql_int(G.db, sql);
	served = served_count(ch, Race.post_id);
	if (served == db)
		return false;
	fprintf(stderr, "round %d: GetPost says %lld comments, the database %lld\n", round,
		(long long)served, (long long)db);
	return true;
}

/* The late fill used to store the count from before a comment for an hour. */
static void readers_racing_comments_never_store_an_old_count(void **state)
{
	struct rpc_channel *ch = rpc_channel_new(G.posts_target);
	PGconn *lk = PQconnectdb(G.db);
	pthread_t readers[READERS];
	char *token, key[32];
	int64_t author;
	int stale = 0;

	(void)state;
	assert_int_equal(PQstatus(lk), CONNECTION_OK);
	author = it_gateway_sign_up(&G, "racer@example.com", "Racer");
	token = it_token(author, "racer@example.com", "user");
	{
		struct it_http_result r = it_gateway_call(
			&G, "POST", "/posts", token, NULL,
			"{\"title\":\"raced\",\"body\":\"b\",\"status\":\"published\"}");

		assert_true(it_http_is_success(&r, 201));
		Race.post_id = it_json_int(it_data(&r), "id");
		it_http_release(&r);
	}
	/* A long body (50000 four-byte characters, the most a post holds) makes a
	 * reader's load-to-fill window wide enough to straddle a commit. */
	{
		char sql[160];

		snprintf(
			sql, sizeof(sql),
			"UPDATE posts.posts SET body = repeat(U&'\\+01F600', 50000) WHERE id = %lld",
			(long long)Race.post_id);
		assert_true(it_sql_exec(G.db, sql));
	}
	snprintf(key, sizeof(key), "post:%lld", (long long)Race.post_id);
	for (int i = 0; i < READERS; i++)
		assert_int_equal(pthread_create(&readers[i], NULL, reader_main, NULL), 0);
	for (int round = 0; round < ROUNDS; round++)
		stale += race_round(lk, key, token, ch, round);
	atomic_store(&Race.stop, true);
	for (int i = 0; i < READERS; i++)
		pthread_join(readers[i], NULL);
	fprintf(stderr, "%ld reads raced %d comments\n", atomic_load(&Race.reads), ROUNDS);
	assert_int_equal(served_count(ch, Race.post_id), ROUNDS);
	assert_int_equal(stale, 0);
	PQfinish(lk);
	rpc_channel_free(ch);
	free(token);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(disable_during_a_redis_stall_is_not_hidden_by_the_cache),
		cmocka_unit_test(readers_racing_comments_never_store_an_old_count),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
