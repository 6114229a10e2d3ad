/* revocation_test.c - the in-memory revocation copy (shared/revocation.c):
 * verdicts, the not-before boundary at millisecond precision, loading and
 * staleness, pruning (linear-probing deletion keeps every other entry
 * reachable), waiting for a position, and the memory of 1,000,000 revoked
 * tokens (printed; README and revocation.h quote it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "revocation.h"
#include "util.h"

static struct revocations *loaded_copy(int staleness_ms)
{
	struct revocations *r = revocations_new(staleness_ms);

	revocations_reset(r, "feed-1");
	revocations_synced(r, 1, true);
	return r;
}

static void verdicts(void **state)
{
	struct revocations *r = revocations_new(60000);

	(void)state;
	/* nothing loaded: nobody can be vouched for */
	assert_int_equal(revocations_check(r, "a", 1, 1000), REVOCATION_UNKNOWN);
	assert_false(revocations_current(r));
	assert_false(revocations_loaded(r));
	revocations_synced(r, 3, false); /* a page, not the whole load */
	assert_int_equal(revocations_check(r, "a", 1, 1000), REVOCATION_UNKNOWN);
	revocations_synced(r, 5, true);
	assert_true(revocations_loaded(r));
	assert_int_equal(revocations_check(r, "a", 1, 1000), REVOCATION_OK);

	revocations_add_token(r, "jti-1", INT64_MAX);
	assert_int_equal(revocations_check(r, "jti-1", 1, 1000), REVOCATION_REVOKED);
	assert_int_equal(revocations_check(r, "jti-2", 1, 1000), REVOCATION_OK);
	assert_int_equal(revocations_check(r, "", 1, 1000), REVOCATION_OK);

	/* iat_ms before the not-before: refused; at or after it: fine */
	revocations_add_user(r, 7, 1700000000123, INT64_MAX);
	assert_int_equal(revocations_check(r, "x", 7, 1700000000122), REVOCATION_REVOKED);
	assert_int_equal(revocations_check(r, "x", 7, 1700000000123), REVOCATION_OK);
	assert_int_equal(revocations_check(r, "x", 8, 0), REVOCATION_OK);
	/* an older not-before arriving late never moves it back */
	revocations_add_user(r, 7, 1600000000000, INT64_MAX);
	assert_int_equal(revocations_not_before(r, 7), 1700000000123);
	revocations_add_user(r, 7, 1700000000200, INT64_MAX);
	assert_int_equal(revocations_check(r, "x", 7, 1700000000123), REVOCATION_REVOKED);
	assert_int_equal(revocations_not_before(r, 8), 0);

	/* a reset drops everything and the position */
	revocations_reset(r, "feed-2");
	assert_int_equal(revocations_position(r, NULL), 0);
	assert_int_equal(revocations_check(r, "jti-1", 7, 0), REVOCATION_OK);
	revocations_free(r);
}

static void positions_never_move_back(void **state)
{
	struct revocations *r = loaded_copy(60000);
	char feed[REVOCATION_FEED_ID_MAX];

	(void)state;
	revocations_synced(r, 10, true);
	revocations_synced(r, 4, true);
	assert_int_equal(revocations_position(r, feed), 10);
	assert_string_equal(feed, "feed-1");
	assert_true(revocations_wait(r, 10, 0));
	assert_false(revocations_wait(r, 11, 20));
	assert_false(revocations_wait_beyond(r, 10, 20));
	revocations_free(r);
}

static void staleness_fails_closed(void **state)
{
	struct revocations *r = loaded_copy(1000);
	struct revocation_stats st;

	(void)state;
	assert_int_equal(revocations_check(r, "a", 1, 0), REVOCATION_OK);
	sleep_ms(1100);
	assert_false(revocations_current(r));
	assert_int_equal(revocations_check(r, "a", 1, 0), REVOCATION_UNKNOWN);
	revocations_stats(r, &st);
	assert_true(st.loaded);
	assert_false(st.current);
	assert_true(st.age_ms >= 1000);
	revocations_synced(r, 1, false); /* a heartbeat */
	assert_int_equal(revocations_check(r, "a", 1, 0), REVOCATION_OK);
	revocations_free(r);
}

/* Every live entry stays findable after pruning about half of them, in a
 * table where runs wrap around and overlap. */
static void pruning_keeps_the_rest(void **state)
{
	struct revocations *r = loaded_copy(60000);
	struct revocation_stats st;
	char jti[32];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		snprintf(jti, sizeof(jti), "jti-%d", i);
		revocations_add_token(r, jti, i % 2 ? 1000 : 3000);
		revocations_add_user(r, i + 1, 5000, i % 3 ? 1000 : 3000);
	}
	revocations_prune(r, 2000);
	revocations_stats(r, &st);
	assert_int_equal(st.tokens, 10000);
	assert_int_equal(st.users, 6667);
	for (int i = 0; i < 20000; i++) {
		snprintf(jti, sizeof(jti), "jti-%d", i);
		assert_int_equal(revocations_check(r, jti, 0, 0),
				 i % 2 ? REVOCATION_OK : REVOCATION_REVOKED);
		assert_int_equal(revocations_not_before(r, i + 1), i % 3 ? 0 : 5000);
	}
	revocations_prune(r, 4000);
	revocations_stats(r, &st);
	assert_int_equal(st.tokens + st.users, 0);
	revocations_free(r);
}

struct reader {
	struct revocations *r;
	int refused;
};

static void *read_loop(void *arg)
{
	struct reader *rd = arg;

	for (int i = 0; i < 200000; i++)
		rd->refused += revocations_check(rd->r, "jti-hot", 1, 0) == REVOCATION_REVOKED;
	return NULL;
}

/* Readers and a writer at once (run under TSan/ASan in make asan). */
static void concurrent_readers_and_writer(void **state)
{
	struct revocations *r = loaded_copy(60000);
	struct reader rd[3];
	pthread_t t[3];
	char jti[32];

	(void)state;
	revocations_add_token(r, "jti-hot", INT64_MAX);
	for (int i = 0; i < 3; i++) {
		rd[i] = (struct reader){ .r = r };
		assert_int_equal(pthread_create(&t[i], NULL, read_loop, &rd[i]), 0);
	}
	for (int i = 0; i < 50000; i++) {
		snprintf(jti, sizeof(jti), "w-%d", i);
		revocations_add_token(r, jti, INT64_MAX);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(rd[i].refused, 200000);
	}
	revocations_free(r);
}

/* Memory for 1,000,000 revoked tokens: the table's bytes, printed. */
static void one_million_tokens(void **state)
{
	struct revocations *r = loaded_copy(60000);
	struct revocation_stats st;
	char jti[32];
	int64_t start = mono_ms();

	(void)state;
	for (int i = 0; i < 1000000; i++) {
		snprintf(jti, sizeof(jti), "%024d", i); /* jtis are 24 characters */
		revocations_add_token(r, jti, INT64_MAX);
	}
	revocations_stats(r, &st);
	assert_int_equal(st.tokens, 1000000);
	/* 2^21 slots of 16 bytes: 32 MiB, 33.6 bytes per token */
	assert_int_equal(st.bytes, (size_t)(1 << 21) * 16);
	printf("revocation: 1,000,000 tokens in %zu bytes (%.1f bytes each), loaded in %lld ms\n",
	       st.bytes, (double)st.bytes / 1e6, (long long)(mono_ms() - start));
	assert_int_equal(revocations_check(r, "000000000000000000999999", 0, 0),
			 REVOCATION_REVOKED);
	assert_int_equal(revocations_check(r, "000000000000000001000000", 0, 0), REVOCATION_OK);
	revocations_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(verdicts),
		cmocka_unit_test(positions_never_move_back),
		cmocka_unit_test(staleness_fails_closed),
		cmocka_unit_test(pruning_keeps_the_rest),
		cmocka_unit_test(concurrent_readers_and_writer),
		cmocka_unit_test(one_million_tokens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
