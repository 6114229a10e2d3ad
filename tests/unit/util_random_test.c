/* util_random_test.c - random_alnum and the id pool (random_id_bytes,
 * random_id_alnum): exact lengths, only [A-Za-z0-9], every character
 * reachable, no id handed out twice, requests that straddle a refill. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void ids_are_not_repeated(void **state)
{
	enum { N = 20000 };
	uint64_t *ids = malloc(N * sizeof(*ids));

	for (int i = 0; i < N; i++)
		random_id_bytes(&ids[i], sizeof(ids[i]));
	qsort(ids, N, sizeof(*ids), cmp_u64);
	for (int i = 1; i < N; i++)
		assert_true(ids[i] != ids[i - 1]);
	free(ids);
}

static void requests_of_any_size(void **state)
{
	unsigned char buf[1500];

	for (size_t n = 1; n <= sizeof(buf); n += 37) {
		size_t zeros = 0;

		memset(buf, 0, sizeof(buf));
		random_id_bytes(buf, n);
		for (size_t i = 0; i < n; i++)
			zeros += buf[i] == 0;
		assert_true(zeros <= n / 16 + 2); /* filled, not left zero */
	}
}

static void check_alnum(void (*fn)(char *, size_t))
{
	bool seen[128] = { false };
	char buf[130];
	int kinds = 0;

	for (int round = 0; round < 200; round++) {
		for (size_t n = 0; n < sizeof(buf) - 1; n += 13) {
			memset(buf, 'x' | 0x80, sizeof(buf));
			fn(buf, n);
			assert_int_equal(strlen(buf), n);
			for (size_t i = 0; i < n; i++) {
				unsigned char c = (unsigned char)buf[i];

				assert_true((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
					    (c >= '0' && c <= '9'));
				seen[c] = true;
			}
		}
	}
	for (int c = 0; c < 128; c++)
		kinds += seen[c];
	assert_int_equal(kinds, 62);
}

static void alnum_ids_and_secrets(void **state)
{
	check_alnum(random_id_alnum);
	check_alnum(random_alnum);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ids_are_not_repeated),
		cmocka_unit_test(requests_of_any_size),
		cmocka_unit_test(alnum_ids_and_secrets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
