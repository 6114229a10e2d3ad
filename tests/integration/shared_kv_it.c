/* shared_kv_it.c - shared/kv.c against a real Redis: URL parsing, binary-safe
 * round trips, SELECT of a db, failing fast while Redis is down and coming
 * back after it restarts, and the once-per-second reconnect limit; and
 * kv_cache.c: a fill after an invalidation it did not see is dropped, an
 * invalidation Redis did not take is retried until it lands and its key
 * reads as a miss meanwhile. */
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "kv.h"
#include "log.h"
#include "stack.h"
#include "util.h"

struct fixture {
	struct stack *stack;
	int log_fd;
};

static struct fixture F;

static int group_setup(void **state)
{
	char path[4096];

	/* hiredis writes with write(2): a Redis that went away must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	F.stack = stack_start("shared_kv_it");
	snprintf(path, sizeof(path), "%s/shared_kv_it.log", stack_dir(F.stack));
	F.log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	assert_true(F.log_fd >= 0);
	log_init(LOG_INFO, LOG_FORMAT_JSON, "shared_kv_it");
	log_set_fd(F.log_fd);
	*state = &F;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	log_set_fd(1);
	close(F.log_fd);
	stack_stop(F.stack);
	return 0;
}

static void test_kv_url(void **state)
{
	const char *bad[] = { "http://127.0.0.1:6379",
			      "rediss://127.0.0.1",
			      "redis://",
			      "redis://127.0.0.1:0",
			      "redis://127.0.0.1:65536",
			      "redis://h:12ab",
			      "redis://h:6379/x",
			      "redis://h:-1",
			      NULL };
	const char *good[] = { "redis://127.0.0.1",   "redis://localhost:6380/3",
			       "redis://:s3cret@h:1", "redis://user:p%40ss@h/0",
			       "redis://[::1]:7000",  NULL };

	(void)state;
	for (int i = 0; bad[i]; i++) {
		struct kv *kv = kv_new(bad[i], 100, 1);

		if (kv)
			fail_msg("accepted %s", bad[i]);
	}
	for (int i = 0; good[i]; i++) {
		struct kv *kv = kv_new(good[i], 100, 1);

		if (!kv)
			fail_msg("refused %s", good[i]);
		kv_free(kv);
	}
}

/* redis://user:password@...: logs in as that ACL user, not as the default one. */
static void test_kv_acl_user(void **state)
{
	const char *base = stack_redis_url(F.stack) + strlen("redis://");
	char good[300], wrong[300];
	struct kv *app, *bad;

	(void)state;
	stack_redis_command(F.stack, "ACL SETUSER it_app on >s3cret ~it:acl:* +@all");
	snprintf(good, sizeof(good), "redis://it_app:s%%33cret@%s", base); /* %33 is '3' */
	snprintf(wrong, sizeof(wrong), "redis://it_app:nope@%s", base);
	app = kv_new(good, 500, 1);
	bad = kv_new(wrong, 500, 1);
	assert_non_null(app);
	assert_non_null(bad);
	assert_int_equal(kv_setex(app, "it:acl:1", "v", 1, 60), 0);
	/* the ACL user's key pattern: the default user could write this */
	assert_int_equal(kv_setex(app, "it:other", "v", 1, 60), -1);
	assert_int_equal(kv_setex(bad, "it:acl:2", "v", 1, 60), -1);
	kv_free(bad);
	kv_free(app);
	stack_redis_command(F.stack, "ACL SETUSER it_app off");
}

static void test_kv_roundtrip(void **state)
{
	static const char bin[] = { 'a', '\0', '\r', '\n', (char)0xff, 'z' };
	const char *keys[] = { "it:a", "it:missing", "it:b" };
	const char *many[] = { "it:m1", "it:m2" };
	const struct kv_value vals[] = { { (char *)bin, sizeof(bin) }, { (char *)"", 0 } };
	struct kv_value out[3];
	struct kv *kv = kv_new(stack_redis_url(F.stack), 500, 2);
	char *v;
	size_t len;

	(void)state;
	assert_non_null(kv);
	assert_true(kv_ping(kv));
	assert_int_equal(kv_setex(kv, "it:a", bin, sizeof(bin), 60), 0);
	assert_int_equal(kv_get(kv, "it:a", &v, &len), 1);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(v, bin, sizeof(bin));
	assert_int_equal(v[len], '\0');
	free(v);
	assert_int_equal(kv_get(kv, "it:missing", &v, &len), 0);
	assert_null(v);
	assert_int_equal(kv_setex(kv, "it:b", "bee", 3, 60), 0);
	assert_int_equal(kv_mget(kv, keys, 3, out), 0);
	assert_int_equal(out[0].len, sizeof(bin));
	assert_memory_equal(out[0].data, bin, sizeof(bin));
	assert_null(out[1].data);
	assert_int_equal(out[2].len, 3);
	assert_memory_equal(out[2].data, "bee", 3);
	kv_values_release(out, 3);
	assert_int_equal(kv_del(kv, keys, 3), 0);
	assert_int_equal(kv_get(kv, "it:a", &v, &len), 0);
	assert_int_equal(kv_setex_many(kv, many, vals, 2, 60), 0);
	assert_int_equal(kv_mget(kv, many, 2, out), 0);
	assert_int_equal(out[0].len, sizeof(bin));
	assert_memory_equal(out[0].data, bin, sizeof(bin));
	assert_non_null(out[1].data); /* present and empty, not missing */
	assert_int_equal(out[1].len, 0);
	kv_values_release(out, 2);
	/* The TTL is set: a 1-second key is gone after it. */
	assert_int_equal(kv_setex(kv, "it:short", "x", 1, 1), 0);
	usleep(1300 * 1000);
	assert_int_equal(kv_get(kv, "it:short", &v, &len), 0);
	kv_free(kv);
}

static void test_kv_selects_db(void **state)
{
	char url[160];
	struct kv *db0 = kv_new(stack_redis_url(F.stack), 500, 1);
	struct kv *db5;
	char *v;
	size_t len;

	(void)state;
	snprintf(url, sizeof(url), "%s/5", stack_redis_url(F.stack));
	db5 = kv_new(url, 500, 1);
	assert_non_null(db5);
	assert_int_equal(kv_setex(db5, "it:db", "five", 4, 60), 0);
	assert_int_equal(kv_get(db0, "it:db", &v, &len), 0);
	assert_int_equal(kv_get(db5, "it:db", &v, &len), 1);
	assert_string_equal(v, "five");
	free(v);
	kv_free(db0);
	kv_free(db5);
}

static void test_kv_fails_fast_and_recovers(void **state)
{
	const char *keys[] = { "it:r" };
	struct kv_value out[1];
	struct kv *kv = kv_new(stack_redis_url(F.stack), 500, 2);
	int64_t t0, slowest = 0;
	char *v;
	size_t len;
	bool back = false;

	(void)state;
	assert_int_equal(kv_setex(kv, "it:r", "1", 1, 60), 0);
	stack_redis_stop(F.stack);
	for (int i = 0; i < 20; i++) {
		t0 = mono_ms();
		assert_int_equal(kv_get(kv, "it:r", &v, &len), -1);
		assert_int_equal(kv_setex(kv, "it:r", "1", 1, 60), -1);
		assert_int_equal(kv_mget(kv, keys, 1, out), -1);
		assert_null(out[0].data);
		assert_false(kv_ping(kv));
		if (mono_ms() - t0 > slowest)
			slowest = mono_ms() - t0;
		usleep(60 * 1000); /* spans more than one reconnect interval */
	}
	assert_true(slowest < 100);
	stack_redis_start(F.stack);
	t0 = mono_ms();
	while (!back && mono_ms() - t0 < 3000) {
		back = kv_setex(kv, "it:r", "2", 1, 60) == 0;
		if (!back)
			usleep(20 * 1000);
	}
	assert_true(back);
	assert_true(mono_ms() - t0 <= 1500); /* within the reconnect backoff */
	assert_int_equal(kv_get(kv, "it:r", &v, &len), 1);
	assert_string_equal(v, "2");
	free(v);
	kv_free(kv);
}

/* A TCP server that accepts and at once closes every connection, counting
 * them: what a client sees of a Redis that is dying. */
struct closing_server {
	int fd;
	int port;
	volatile int accepted;
	volatile bool stop;
	pthread_t thread;
};

static void *closing_server_run(void *arg)
{
	struct closing_server *cs = arg;

	while (!cs->stop) {
		struct pollfd pfd = { .fd = cs->fd, .events = POLLIN };

		if (poll(&pfd, 1, 20) == 1) {
			int c = accept(cs->fd, NULL, NULL);

			if (c >= 0) {
				__atomic_add_fetch(&cs->accepted, 1, __ATOMIC_SEQ_CST);
				close(c);
			}
		}
	}
	return NULL;
}

static void closing_server_start(struct closing_server *cs)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	memset(cs, 0, sizeof(*cs));
	cs->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(cs->fd >= 0);
	assert_int_equal(bind(cs->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(cs->fd, 64), 0);
	assert_int_equal(getsockname(cs->fd, (struct sockaddr *)&sa, &len), 0);
	cs->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&cs->thread, NULL, closing_server_run, cs), 0);
}

static void closing_server_stop(struct closing_server *cs)
{
	cs->stop = true;
	pthread_join(cs->thread, NULL);
	close(cs->fd);
}

/* Against a server that drops every connection, a burst of calls over 1.5 s
 * makes at most one connection attempt per second. */
static void test_kv_reconnects_at_most_once_per_second(void **state)
{
	struct closing_server cs;
	char url[64], *v;
	size_t len;
	struct kv *kv;
	int64_t t0;
	int calls = 0;

	(void)state;
	closing_server_start(&cs);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", cs.port);
	kv = kv_new(url, 500, 4);
	assert_non_null(kv);
	t0 = mono_ms();
	while (mono_ms() - t0 < 1500) {
		assert_int_equal(kv_get(kv, "k", &v, &len), -1);
		calls++;
		usleep(5 * 1000);
	}
	kv_free(kv);
	closing_server_stop(&cs);
	assert_true(calls > 100);
	assert_true(cs.accepted >= 1);
	assert_true(cs.accepted <= 2);
}

/* The raw value of key through a fresh client (NULL: absent). */
static char *raw_get(const char *key)
{
	struct kv *kv = kv_new(stack_redis_url(F.stack), 500, 1);
	char *val = NULL;
	size_t len = 0;

	assert_true(kv_get(kv, key, &val, &len) >= 0);
	kv_free(kv);
	return val;
}

static void fill_one(struct kv *kv, const char *key, const char *val, const struct kv_seen *seen)
{
	const char *keys[] = { key };
	struct kv_value v = { .data = (char *)val, .len = strlen(val) };

	kv_cache_fill(kv, keys, &v, seen, 1, 60);
}

static void test_kv_cache_late_fill_is_dropped(void **state)
{
	struct kv *kv = kv_new(stack_redis_url(F.stack), 500, 2);
	struct kv_seen early, late;
	char *val = NULL, *raw;
	size_t len;

	(void)state;
	/* a read misses, a write invalidates, the read's fill comes late: dropped */
	assert_int_equal(kv_cache_get(kv, "c:1", &val, &len, &early), 0);
	assert_true(early.fillable);
	assert_string_equal(early.tomb, "");
	kv_cache_invalidate(kv, "c:1");
	fill_one(kv, "c:1", "{\"v\":1}", &early);
	raw = raw_get("c:1");
	assert_non_null(raw);
	assert_int_equal(raw[0], '~');
	free(raw);
	/* a read after the invalidation fills, and then it is a hit */
	assert_int_equal(kv_cache_get(kv, "c:1", &val, &len, &late), 0);
	assert_true(late.fillable && late.tomb[0] == '~');
	fill_one(kv, "c:1", "{\"v\":2}", &late);
	fill_one(kv, "c:1", "{\"v\":1}", &early); /* never over a newer fill either */
	assert_int_equal(kv_cache_get(kv, "c:1", &val, &len, &late), 1);
	assert_string_equal(val, "{\"v\":2}");
	free(val);
	assert_int_equal(kv_cache_pending(kv), 0);
	kv_free(kv);
}

static void test_kv_cache_invalidation_is_retried_until_it_lands(void **state)
{
	struct kv *kv = kv_new(stack_redis_url(F.stack), 300, 2);
	struct kv_seen seen;
	char *val = NULL, *raw;
	size_t len;
	int64_t t0;

	(void)state;
	assert_int_equal(kv_cache_get(kv, "c:2", &val, &len, &seen), 0);
	fill_one(kv, "c:2", "{\"old\":true}", &seen);
	assert_int_equal(kv_cache_get(kv, "c:2", &val, &len, &seen), 1);
	free(val);

	stack_redis_signal(F.stack, SIGSTOP);
	kv_cache_invalidate(kv, "c:2"); /* times out: kept, retried */
	assert_int_equal(kv_cache_pending(kv), 1);
	stack_redis_signal(F.stack, SIGCONT);
	/* Redis answers again but the retry may not have landed: still a miss */
	assert_int_equal(kv_cache_get(kv, "c:2", &val, &len, &seen), 0);
	assert_null(val);
	assert_false(seen.fillable);
	t0 = mono_ms();
	while (kv_cache_pending(kv) > 0) {
		if (mono_ms() - t0 > 5000)
			fail_msg("the invalidation did not land within 5 s of Redis answering");
		sleep_ms(50);
	}
	raw = raw_get("c:2");
	assert_non_null(raw);
	assert_int_equal(raw[0], '~');
	free(raw);
	kv_free(kv);
}

/* ---- the near copy (kv_near.c) ---------------------------------------------------- */

static struct kv *near_client(void)
{
	struct kv *kv = kv_new(stack_redis_url(F.stack), 300, 2);
	const char *prefixes[] = { "n:", "d:", NULL };
	int64_t t0 = mono_ms();

	assert_true(kv_cache_near(kv, prefixes, 64));
	assert_false(kv_cache_near(kv, prefixes, 64)); /* once */
	while (!kv_cache_near_live(kv)) {
		if (mono_ms() - t0 > 3000)
			fail_msg("the near copy's link did not come up within 3 s");
		sleep_ms(10);
	}
	return kv;
}

/* kv_cache_get of key; its value (malloc'd) or NULL on a miss. */
static char *cache_read(struct kv *kv, const char *key)
{
	struct kv_seen seen;
	char *val = NULL;
	size_t len;

	if (kv_cache_get(kv, key, &val, &len, &seen) != 1)
		return NULL;
	assert_int_equal(strlen(val), len);
	return val;
}

/* Waits up to ms for key to read as want (NULL: a miss) through kv. */
static void expect_read_within(struct kv *kv, const char *key, const char *want, int ms,
			       const char *after)
{
	int64_t t0 = mono_ms();

	for (;;) {
		char *got = cache_read(kv, key);
		bool same = want ? got && strcmp(got, want) == 0 : got == NULL;

		if (same) {
			free(got);
			return;
		}
		if (mono_ms() - t0 > ms)
			fail_msg("%s: %s still reads \"%s\" after %d ms, not \"%s\"", after, key,
				 got ? got : "(miss)", ms, want ? want : "(miss)");
		free(got);
		sleep_ms(1);
	}
}

static void test_kv_near_copy_answers_locally_and_follows_every_change(void **state)
{
	struct kv *kv = near_client(), *other = kv_new(stack_redis_url(F.stack), 300, 1);
	long long before;
	char *val;

	(void)state;
	assert_int_equal(kv_setex(other, "n:1", "v1", 2, 60), 0);
	val = cache_read(kv, "n:1"); /* from Redis, kept */
	assert_string_equal(val, "v1");
	free(val);
	before = stack_redis_reads(F.stack);
	for (int i = 0; i < 20; i++) {
		val = cache_read(kv, "n:1");
		assert_string_equal(val, "v1");
		free(val);
	}
	/* A read that finds a message (a pong) not read yet by the link asks
	 * Redis: rare, not none. */
	assert_true(stack_redis_reads(F.stack) - before <= 2);

	/* Another client's writes reach the copy: a SET, a DEL. */
	assert_int_equal(kv_setex(other, "n:1", "v2", 2, 60), 0);
	expect_read_within(kv, "n:1", "v2", 100, "another client's SET");
	assert_int_equal(kv_del(other, (const char *[]){ "n:1" }, 1), 0);
	expect_read_within(kv, "n:1", NULL, 100, "another client's DEL");

	/* This client's own invalidation holds at once, message or not. */
	assert_int_equal(kv_setex(other, "n:1", "v3", 2, 60), 0);
	expect_read_within(kv, "n:1", "v3", 100, "another client's SET");
	kv_cache_invalidate(kv, "n:1");
	val = cache_read(kv, "n:1");
	assert_null(val);

	/* Expiry and FLUSHALL reach it too. */
	assert_int_equal(kv_setex(other, "n:2", "short", 5, 1), 0);
	expect_read_within(kv, "n:2", "short", 100, "a SET");
	expect_read_within(kv, "n:2", NULL, 2500, "its 1 s TTL");
	assert_int_equal(kv_setex(other, "n:3", "x", 1, 60), 0);
	expect_read_within(kv, "n:3", "x", 100, "a SET");
	stack_redis_command(F.stack, "FLUSHALL");
	expect_read_within(kv, "n:3", NULL, 100, "FLUSHALL");

	/* Keys outside the prefix are not kept. */
	assert_int_equal(kv_setex(other, "m:1", "y", 1, 60), 0);
	free(cache_read(kv, "m:1"));
	before = stack_redis_reads(F.stack);
	free(cache_read(kv, "m:1"));
	assert_int_equal(stack_redis_reads(F.stack) - before, 1);
	kv_free(other);
	kv_free(kv);
}

static void test_kv_near_copy_mget_asks_only_for_what_it_lacks(void **state)
{
	struct kv *kv = near_client(), *other = kv_new(stack_redis_url(F.stack), 300, 1);
	const char *keys[] = { "n:7", "n:5", "n:6" };
	struct kv_value out[3];
	struct kv_seen seen[3];
	long long before;

	(void)state;
	assert_int_equal(kv_setex(other, "n:5", "five", 4, 60), 0);
	assert_int_equal(kv_setex(other, "n:6", "six", 3, 60), 0);
	free(cache_read(kv, "n:5")); /* n:5 kept, n:6 only in Redis, n:7 nowhere */
	assert_int_equal(kv_cache_mget(kv, keys, 3, out, seen), 2);
	assert_null(out[0].data);
	assert_true(seen[0].fillable);
	assert_string_equal(out[1].data, "five");
	assert_string_equal(out[2].data, "six");
	assert_int_equal(out[2].len, 3);
	kv_values_release(out, 3);
	before = stack_redis_reads(F.stack);
	assert_int_equal(kv_cache_mget(kv, keys, 3, out, seen), 2);
	assert_string_equal(out[1].data, "five");
	assert_string_equal(out[2].data, "six");
	kv_values_release(out, 3);
	assert_int_equal(stack_redis_reads(F.stack) - before, 1); /* one MGET: n:7, or all */
	before = stack_redis_reads(F.stack);
	assert_int_equal(kv_cache_mget(kv, keys + 1, 2, out, seen), 2);
	kv_values_release(out, 2);
	assert_true(stack_redis_reads(F.stack) - before <= 1); /* none, but for a pong */
	kv_free(other);
	kv_free(kv);
}

static void test_kv_near_derived_entries_live_until_their_key_changes(void **state)
{
	struct kv *kv = near_client(), *other = kv_new(stack_redis_url(F.stack), 300, 1);
	struct kv_near_mark m, late;
	char *val = NULL;
	size_t len;
	int64_t t0;

	(void)state;
	/* what this process derived about d:1 (say, from its owner's reply) */
	assert_true(kv_near_usable(kv));
	kv_near_mark(kv, "d:1", &m);
	kv_near_put(kv, "d:1", "=Ada", 4, &m);
	assert_true(kv_near_get(kv, "d:1", &val, &len));
	assert_string_equal(val, "=Ada");
	assert_int_equal(len, 4);
	free(val);
	/* the owner's write to d:1 (a tombstone, say) drops it */
	assert_int_equal(kv_setex(other, "d:1", "~t", 2, 60), 0);
	t0 = mono_ms();
	while (kv_near_get(kv, "d:1", &val, &len)) {
		free(val);
		if (mono_ms() - t0 > 100)
			fail_msg("d:1 still derived 100 ms after its key changed");
		sleep_ms(1);
	}
	/* an answer the change overtook is not kept */
	kv_near_mark(kv, "d:1", &late);
	assert_int_equal(kv_setex(other, "d:1", "~u", 2, 60), 0);
	sleep_ms(20); /* the link reads the message */
	kv_near_put(kv, "d:1", "=Old", 4, &late);
	assert_false(kv_near_get(kv, "d:1", &val, &len));
	/* keys of no followed prefix are never kept */
	kv_near_mark(kv, "x:1", &m);
	kv_near_put(kv, "x:1", "=X", 2, &m);
	assert_false(kv_near_get(kv, "x:1", &val, &len));
	kv_free(other);
	kv_free(kv);
}

static void test_kv_near_copy_is_left_when_redis_stalls_or_restarts(void **state)
{
	struct kv *kv = near_client(), *other = kv_new(stack_redis_url(F.stack), 300, 1);
	int64_t t0;
	char *val;

	(void)state;
	assert_int_equal(kv_setex(other, "n:8", "old", 3, 600), 0);
	expect_read_within(kv, "n:8", "old", 100, "a SET");
	stack_redis_signal(F.stack, SIGSTOP);
	t0 = mono_ms();
	while (kv_cache_near_live(kv)) {
		if (mono_ms() - t0 > 600)
			fail_msg(
				"the near copy was still trusted 600 ms after Redis stopped answering");
		sleep_ms(5);
	}
	val = cache_read(kv, "n:8"); /* Redis, which times out: a miss */
	stack_redis_signal(F.stack, SIGCONT);
	assert_null(val);
	t0 = mono_ms();
	while (!kv_cache_near_live(kv)) {
		if (mono_ms() - t0 > 1000)
			fail_msg("the near copy did not come back within 1 s of Redis answering");
		sleep_ms(5);
	}
	/* the pool fails fast for a second after the timed-out read (kv.h) */
	expect_read_within(kv, "n:8", "old", 2500, "Redis answering again");

	/* A restart loses the link: the copy starts empty on the new one. */
	stack_redis_stop(F.stack);
	stack_redis_start(F.stack);
	t0 = mono_ms();
	while (!kv_cache_near_live(kv)) {
		if (mono_ms() - t0 > 3000)
			fail_msg("the near copy did not come back within 3 s of a restart");
		sleep_ms(10);
	}
	kv_free(other);
	other = kv_new(stack_redis_url(F.stack), 300, 1);
	/* kv's pool met the reset and reconnects at most once a second (kv.h);
	 * once it reads again, the new link must carry the next change at once. */
	assert_int_equal(kv_setex(other, "n:8", "mid", 3, 600), 0);
	expect_read_within(kv, "n:8", "mid", 2500, "the pool after the restart");
	assert_int_equal(kv_setex(other, "n:8", "new", 3, 600), 0);
	expect_read_within(kv, "n:8", "new", 100, "a SET after the restart");
	kv_free(other);
	kv_free(kv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kv_url),
		cmocka_unit_test(test_kv_acl_user),
		cmocka_unit_test(test_kv_roundtrip),
		cmocka_unit_test(test_kv_selects_db),
		cmocka_unit_test(test_kv_fails_fast_and_recovers),
		cmocka_unit_test(test_kv_reconnects_at_most_once_per_second),
		cmocka_unit_test(test_kv_cache_late_fill_is_dropped),
		cmocka_unit_test(test_kv_cache_invalidation_is_retried_until_it_lands),
		cmocka_unit_test(test_kv_near_copy_answers_locally_and_follows_every_change),
		cmocka_unit_test(test_kv_near_copy_mget_asks_only_for_what_it_lacks),
		cmocka_unit_test(test_kv_near_derived_entries_live_until_their_key_changes),
		cmocka_unit_test(test_kv_near_copy_is_left_when_redis_stalls_or_restarts),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
