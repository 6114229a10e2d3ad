/* auth_secret_test.c - the shapes of refresh tokens and API keys, and the
 * SHA-256 that is all the database ever sees of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth_service.h"

static bool only_chars(const char *s, const char *alphabet)
{
	return strspn(s, alphabet) == strlen(s);
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

static void sha256_matches_known_vectors(void **state)
{
	char hex[AUTH_SHA256_HEX_LEN + 1];

	auth_sha256_hex("abc", 3, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	auth_sha256_hex("", 0, hex);
	assert_string_equal(hex,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void generated_key_has_the_documented_shape(void **state)
{
	char pub[AUTH_KEY_PUBLIC_LEN + 1], sec[AUTH_KEY_SECRET_LEN + 1], key[AUTH_KEY_LEN + 1];
	char pub2[AUTH_KEY_PUBLIC_LEN + 1], sec2[AUTH_KEY_SECRET_LEN + 1], key2[AUTH_KEY_LEN + 1];
	char ppub[AUTH_KEY_PUBLIC_LEN + 1], psec[AUTH_KEY_SECRET_LEN + 1];

	auth_key_generate(pub, sec, key);
	assert_int_equal(strlen(key), 3 + 12 + 1 + 43);
	assert_int_equal(strlen(pub), 12);
	assert_int_equal(strlen(sec), 43);
	assert_true(only_chars(pub, ALNUM));
	assert_true(only_chars(sec, ALNUM));
	assert_memory_equal(key, "ak_", 3);
	assert_memory_equal(key + 3, pub, 12);
	assert_int_equal(key[15], '_');
	assert_string_equal(key + 16, sec);
	/* What is generated parses back to the same parts. */
	assert_true(auth_key_parse(key, ppub, psec));
	assert_string_equal(ppub, pub);
	assert_string_equal(psec, sec);
	/* Two keys never share a secret or public id. */
	auth_key_generate(pub2, sec2, key2);
	assert_string_not_equal(pub, pub2);
	assert_string_not_equal(sec, sec2);
}

static void key_parse_is_strict(void **state)
{
	char pub[AUTH_KEY_PUBLIC_LEN + 1], sec[AUTH_KEY_SECRET_LEN + 1], key[AUTH_KEY_LEN + 1];
	char buf[128];

	auth_key_generate(pub, sec, key);
	assert_false(auth_key_parse(NULL, pub, sec));
	assert_false(auth_key_parse("", pub, sec));
	assert_false(auth_key_parse("ak_", pub, sec));
	/* Wrong prefix (case matters). */
	memcpy(buf, key, sizeof(key));
	buf[0] = 'A';
	assert_false(auth_key_parse(buf, pub, sec));
	/* Separator missing or moved. */
	memcpy(buf, key, sizeof(key));
	buf[15] = 'x';
	assert_false(auth_key_parse(buf, pub, sec));
	/* A non-alphanumeric character in the secret or the public id. */
	memcpy(buf, key, sizeof(key));
	buf[40] = '-';
	assert_false(auth_key_parse(buf, pub, sec));
	memcpy(buf, key, sizeof(key));
	buf[5] = '_';
	assert_false(auth_key_parse(buf, pub, sec));
	/* One character short, one too many, trailing whitespace. */
	memcpy(buf, key, sizeof(key));
	buf[AUTH_KEY_LEN - 1] = '\0';
	assert_false(auth_key_parse(buf, pub, sec));
	snprintf(buf, sizeof(buf), "%sA", key);
	assert_false(auth_key_parse(buf, pub, sec));
	snprintf(buf, sizeof(buf), "%s\n", key);
	assert_false(auth_key_parse(buf, pub, sec));
	snprintf(buf, sizeof(buf), " %s", key);
	assert_false(auth_key_parse(buf, pub, sec));
	assert_true(auth_key_parse(key, pub, sec));
}

static void refresh_tokens_are_256_bit_base64url(void **state)
{
	char a[AUTH_REFRESH_TOKEN_LEN + 1], b[AUTH_REFRESH_TOKEN_LEN + 1];

	auth_refresh_token_new(a);
	auth_refresh_token_new(b);
	assert_int_equal(strlen(a), 43); /* ceil(32 * 8 / 6) without padding */
	assert_true(only_chars(a, ALNUM "-_"));
	assert_true(auth_refresh_token_well_formed(a));
	assert_string_not_equal(a, b);
}

static void refresh_token_shape_check(void **state)
{
	char t[AUTH_REFRESH_TOKEN_LEN + 2];

	assert_false(auth_refresh_token_well_formed(NULL));
	assert_false(auth_refresh_token_well_formed(""));
	memset(t, 'A', 42);
	t[42] = '\0';
	assert_false(auth_refresh_token_well_formed(t));
	memset(t, 'A', 44);
	t[44] = '\0';
	assert_false(auth_refresh_token_well_formed(t));
	t[43] = '\0';
	assert_true(auth_refresh_token_well_formed(t));
	t[10] = '+'; /* standard base64, not base64url */
	assert_false(auth_refresh_token_well_formed(t));
	t[10] = '=';
	assert_false(auth_refresh_token_well_formed(t));
	t[10] = '-';
	assert_true(auth_refresh_token_well_formed(t));
}

static void random_ids_are_alphanumeric(void **state)
{
	char a[AUTH_ID_LEN + 1], b[AUTH_ID_LEN + 1];

	auth_random_id(a);
	auth_random_id(b);
	assert_int_equal(strlen(a), AUTH_ID_LEN);
	assert_true(only_chars(a, ALNUM));
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha256_matches_known_vectors),
		cmocka_unit_test(generated_key_has_the_documented_shape),
		cmocka_unit_test(key_parse_is_strict),
		cmocka_unit_test(refresh_tokens_are_256_bit_base64url),
		cmocka_unit_test(refresh_token_shape_check),
		cmocka_unit_test(random_ids_are_alphanumeric),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
