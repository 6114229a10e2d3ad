/* revocation_it.c - shared/revocation.c against a real Redis: the keys and
 * their lifetimes (a denylisted jti lives until exp + leeway, at least 1 s;
 * a not-before 30 days), what revocation_check decides, that it costs
 * exactly one MGET, and that it says "cannot tell" while Redis is down. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "authn.h"
#include "it.h"
#include "kv.h"
#include "log.h"
#include "revocation.h"
#include "stack.h"
#include "util.h"

struct fixture {
	struct stack *stack;
	struct kv *kv;
	redisContext *raw; /* the test's own look at Redis */
};

static struct fixture F;

static int group_setup(void **state)
{
	const char *url;
	int port;

	signal(SIGPIPE, SIG_IGN);
	F.stack = stack_start("revocation_it");
	log_init(LOG_FATAL, LOG_FORMAT_JSON, "revocation_it");
	url = stack_redis_url(F.stack);
	F.kv = kv_new(url, 250, 2);
	if (!F.kv || sscanf(url, "redis://127.0.0.1:%d", &port) != 1)
		return -1;
	F.raw = redisConnect("127.0.0.1", port);
	if (!F.raw || F.raw->err)
		return -1;
	*state = &F;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (F.raw)
		redisFree(F.raw);
	kv_free(F.kv);
	stack_stop(F.stack);
	return 0;
}

static long long ttl_of(const char *key)
{
	redisReply *r = redisCommand(F.raw, "TTL %s", key);
	long long ttl;

	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	ttl = r->integer;
	freeReplyObject(r);
	return ttl;
}

static void set_raw(const char *key, const char *value)
{
	redisReply *r = redisCommand(F.raw, "SET %s %s", key, value);

	assert_non_null(r);
	freeReplyObject(r);
}

static int64_t now_s(void)
{
	return now_unix_ms() / 1000;
}

static void a_jti_is_refused_until_exp_plus_leeway(void **state)
{
	int64_t now = now_s();
	long long ttl;

	assert_int_equal(revocation_check(F.kv, "jti-a", 501, now), 0);
	assert_int_equal(revocation_revoke_jti(F.kv, "jti-a", now + 100), 0);
	ttl = ttl_of("revoked:jti:jti-a");
	assert_true(ttl >= 100 + JWT_LEEWAY_S - 2 && ttl <= 100 + JWT_LEEWAY_S);
	assert_int_equal(revocation_check(F.kv, "jti-a", 501, now), 1);
	assert_int_equal(revocation_check(F.kv, "jti-b", 501, now), 0); /* only that token */

	/* already expired (beyond the leeway): still stored, for at least 1 s */
	assert_int_equal(revocation_revoke_jti(F.kv, "jti-old", now - 3600), 0);
	ttl = ttl_of("revoked:jti:jti-old");
	assert_true(ttl >= 0 && ttl <= 1);
	/* inside the leeway: kept for what is left of it */
	assert_int_equal(revocation_revoke_jti(F.kv, "jti-late", now - 10), 0);
	ttl = ttl_of("revoked:jti:jti-late");
	assert_true(ttl >= JWT_LEEWAY_S - 10 - 2 && ttl <= JWT_LEEWAY_S - 10);

	assert_int_equal(revocation_revoke_jti(F.kv, "", now + 100), -1);
	assert_int_equal(revocation_revoke_jti(F.kv, NULL, now + 100), -1);
}

static void a_not_before_refuses_older_tokens_only(void **state)
{
	int64_t now = now_s(), nbf = -1;
	long long ttl;

	assert_int_equal(revocation_not_before(F.kv, 502, &nbf), 0);
	assert_int_equal(nbf, 0);
	assert_int_equal(revocation_set_not_before(F.kv, 502, now), 0);
	assert_int_equal(revocation_not_before(F.kv, 502, &nbf), 0);
	assert_int_equal(nbf, now);
	ttl = ttl_of("user:nbf:502");
	assert_true(ttl >= REVOCATION_NBF_TTL_S - 2 && ttl <= REVOCATION_NBF_TTL_S);

	assert_int_equal(revocation_check(F.kv, "jti-c", 502, now - 1), 1); /* issued before */
	assert_int_equal(revocation_check(F.kv, "jti-c", 502, now), 0);     /* same second */
	assert_int_equal(revocation_check(F.kv, "jti-c", 502, now + 1), 0); /* after */
	assert_int_equal(revocation_check(F.kv, "jti-c", 503, now - 1), 0); /* another user */
	assert_int_equal(revocation_check(F.kv, NULL, 502, now - 1), 1);    /* no jti: nbf only */
	assert_int_equal(revocation_check(F.kv, "", 502, now), 0);

	set_raw("user:nbf:504", "not-a-number"); /* ignored rather than refusing everything */
	assert_int_equal(revocation_check(F.kv, "jti-d", 504, 0), 0);
}

static void a_check_is_one_mget(void **state)
{
	const char *url = stack_redis_url(F.stack);

	assert_int_equal(revocation_set_not_before(F.kv, 505, now_s()), 0);
	it_redis_reset_stats(url);
	assert_int_equal(revocation_check(F.kv, "jti-e", 505, now_s() - 10), 1);
	assert_int_equal(it_redis_command_calls(url, "mget"), 1);
	assert_int_equal(it_redis_command_calls(url, "get"), 0);
	assert_int_equal(it_redis_command_calls(url, "exists"), 0);
}

static void redis_down_cannot_tell(void **state)
{
	int64_t nbf = 7, start;

	stack_redis_stop(F.stack);
	start = mono_ms();
	assert_int_equal(revocation_check(F.kv, "jti-a", 501, now_s()), -1);
	assert_int_equal(revocation_check(F.kv, "jti-a", 501, now_s()), -1);
	assert_int_equal(revocation_not_before(F.kv, 502, &nbf), -1);
	assert_int_equal(revocation_set_not_before(F.kv, 502, now_s()), -1);
	assert_int_equal(revocation_revoke_jti(F.kv, "jti-z", now_s() + 60), -1);
	assert_true(mono_ms() - start < 2000); /* fails fast */
	stack_redis_start(F.stack);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_jti_is_refused_until_exp_plus_leeway),
		cmocka_unit_test(a_not_before_refuses_older_tokens_only),
		cmocka_unit_test(a_check_is_one_mget),
		cmocka_unit_test(redis_down_cannot_tell),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
