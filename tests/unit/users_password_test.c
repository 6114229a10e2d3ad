/* users_password_test.c - argon2id parameters and the concurrency bound. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "users_service.h"
#include "util.h"

static void hash_uses_owasp_parameters_and_verifies(void **state)
{
	struct users_hasher *h = users_hasher_new(2);
	char hash[USERS_HASH_MAX], again[USERS_HASH_MAX];
	struct app_error err;
	bool ok;

	app_error_init(&err);
	assert_int_equal(users_hasher_hash(h, "correct horse", 1000, hash, sizeof(hash), &err), 0);
	assert_true(strncmp(hash, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
	assert_null(strstr(hash, "correct horse"));
	assert_int_equal(users_hasher_hash(h, "correct horse", 1000, again, sizeof(again), &err),
			 0);
	assert_string_not_equal(hash, again); /* random salt */
	assert_int_equal(users_hasher_verify(h, hash, "correct horse", 1000, &ok, &err), 0);
	assert_true(ok);
	assert_int_equal(users_hasher_verify(h, hash, "wrong horse", 1000, &ok, &err), 0);
	assert_false(ok);
	/* NULL = the dummy hash: costs the same, never matches. */
	assert_int_equal(users_hasher_verify(h, NULL, "anything", 1000, &ok, &err), 0);
	assert_false(ok);
	users_hasher_free(h);
}

struct job {
	struct users_hasher *h;
	int rc;
	enum err_code code;
	int64_t ms;
};

static void *hash_job(void *p)
{
	struct job *j = p;
	char hash[USERS_HASH_MAX];
	struct app_error err;
	int64_t start = mono_ms();

	app_error_init(&err);
	j->rc = users_hasher_hash(j->h, "password123", 5, hash, sizeof(hash), &err);
	j->code = err.code;
	j->ms = mono_ms() - start;
	return NULL;
}

static void concurrent_hashes_are_bounded(void **state)
{
	/* One slot, four callers willing to wait 5 ms: a hash takes far longer,
	 * so exactly one runs and the others are refused instead of allocating. */
	struct users_hasher *h = users_hasher_new(1);
	struct job jobs[4];
	pthread_t t[4];
	int ran = 0, refused = 0;

	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct job){ .h = h };
		pthread_create(&t[i], NULL, hash_job, &jobs[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		if (jobs[i].rc == 0) {
			ran++;
		} else {
			assert_int_equal(jobs[i].code, ERR_SERVICE_UNAVAILABLE);
			assert_true(jobs[i].ms < 1000);
			refused++;
		}
	}
	assert_true(ran >= 1);
	assert_true(refused >= 1);
	assert_int_equal(ran + refused, 4);
	users_hasher_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hash_uses_owasp_parameters_and_verifies),
		cmocka_unit_test(concurrent_hashes_are_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
