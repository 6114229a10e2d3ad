/* validate_test.c - UTF-8, trimming, emails, LIKE escaping, pagination maths
 * and sort parameters, as API.md §1 and §6 state them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "err.h"
#include "db.h"
#include "validate.h"

static bool valid(const char *s)
{
	return utf8_valid(s, strlen(s));
}

static void test_utf8_valid(void **state)
{
	/* ASCII, 2-, 3- and 4-byte sequences, and the extremes of each range. */
	assert_true(valid(""));
	assert_true(valid("plain ascii"));
	assert_true(valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
	assert_true(valid("\xc2\x80"));         /* U+0080 */
	assert_true(valid("\xe0\xa0\x80"));     /* U+0800 */
	assert_true(valid("\xed\x9f\xbf"));     /* U+D7FF, last before surrogates */
	assert_true(valid("\xee\x80\x80"));     /* U+E000, first after */
	assert_true(valid("\xef\xbf\xbf"));     /* U+FFFF */
	assert_true(valid("\xf0\x90\x80\x80")); /* U+10000 */
	assert_true(valid("\xf4\x8f\xbf\xbf")); /* U+10FFFF */
	assert_true(utf8_valid("a\0b", 3));     /* U+0000 is a code point */
	assert_true(utf8_valid(NULL, 0));

	/* Overlongs. */
	assert_false(valid("\xc0\xaf"));
	assert_false(valid("\xc1\xbf"));
	assert_false(valid("\xe0\x80\xaf"));
	assert_false(valid("\xe0\x9f\xbf"));
	assert_false(valid("\xf0\x80\x80\xaf"));
	assert_false(valid("\xf0\x8f\xbf\xbf"));
	/* Surrogates. */
	assert_false(valid("\xed\xa0\x80"));
	assert_false(valid("\xed\xbf\xbf"));
	/* Beyond U+10FFFF. */
	assert_false(valid("\xf4\x90\x80\x80"));
	assert_false(valid("\xf5\x80\x80\x80"));
	assert_false(valid("\xff"));
	/* Truncated and stray bytes. */
	assert_false(valid("\xc3"));
	assert_false(valid("ab\xe2\x82"));
	assert_false(valid("\xf0\x9f\x98"));
	assert_false(valid("\x80"));
	assert_false(valid("\xe2\x82\x41"));
	/* The length bounds the check: a sequence cut by len is invalid. */
	assert_false(utf8_valid("\xc3\xa9", 1));
	assert_true(utf8_valid("ab\xff", 2));
}

static void test_utf8_decode_and_length(void **state)
{
	uint32_t cp = 0;

	assert_int_equal(utf8_decode("A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(utf8_decode("\xc3\xa9", 2, &cp), 2);
	assert_int_equal(cp, 0xE9);
	assert_int_equal(utf8_decode("\xe2\x82\xac", 3, &cp), 3);
	assert_int_equal(cp, 0x20AC);
	assert_int_equal(utf8_decode("\xf4\x8f\xbf\xbf", 4, &cp), 4);
	assert_int_equal(cp, 0x10FFFF);
	assert_int_equal(utf8_decode("\xed\xa0\x80", 3, &cp), 0);
	assert_int_equal(utf8_decode("", 0, &cp), 0);

	assert_int_equal(utf8_length(""), 0);
	assert_int_equal(utf8_length("abc"), 3);
	assert_int_equal(utf8_length("caf\xc3\xa9"), 4);
	assert_int_equal(utf8_length("\xe2\x82\xac\xf0\x9f\x98\x80!"), 3);
	assert_int_equal(utf8_length(NULL), 0);
}

static void test_trim_dup(void **state)
{
	struct arena a;

	arena_init(&a);
	assert_string_equal(trim_dup(&a, "  \t\r\n hello world \v\f "), "hello world");
	assert_string_equal(trim_dup(&a, "x"), "x");
	assert_string_equal(trim_dup(&a, "   "), "");
	assert_string_equal(trim_dup(&a, ""), "");
	/* Only ASCII whitespace: a no-break space (U+00A0) stays. */
	assert_string_equal(trim_dup(&a, "\xc2\xa0x\xc2\xa0"), "\xc2\xa0x\xc2\xa0");
	assert_null(trim_dup(&a, NULL));
	arena_release(&a);
}

static void assert_email(const char *in, bool ok, const char *normalized)
{
	char out[EMAIL_MAX_LEN + 1];

	memset(out, 'Z', sizeof(out));
	if (email_normalize(in, out, sizeof(out)) != ok)
		fail_msg("email_normalize(\"%s\") should be %s", in, ok ? "valid" : "invalid");
	if (normalized)
		assert_string_equal(out, normalized);
}

static void test_email_normalize(void **state)
{
	char local[260];
	char addr[300];

	assert_email("alice@example.com", true, "alice@example.com");
	assert_email("  Alice.Smith+Tag@Example.COM \t\n", true, "alice.smith+tag@example.com");
	assert_email("a@b.co", true, "a@b.co");
	assert_email("jorg@xn--exmple-cua.org", true, "jorg@xn--exmple-cua.org");
	/* Nothing outside printable ASCII: PostgreSQL's lower() would not agree
	 * with ours, and invisible or look-alike characters make twin addresses. */
	assert_email("j\xc3\xb6rg@exa.mple.org", false, NULL);
	assert_email("adm\xc4\xb0n@example.com", false, NULL);
	assert_email("\xef\xbd\x81"
		     "dmin@example.com",
		     false, NULL);
	assert_email("a\xc2\xa0"
		     "b@example.com",
		     false, NULL);
	assert_email("ab\xe2\x80\x8b@example.com", false, NULL);
	assert_email("a b@example.com", false, NULL);

	assert_email("", false, "");
	assert_email("   ", false, "");
	assert_email("alice", false, "alice");
	assert_email("@example.com", false, NULL);
	assert_email("alice@", false, NULL);
	assert_email("a@b@example.com", false, NULL);
	assert_email("alice@@example.com", false, NULL);
	assert_email("alice@localhost", false, NULL);
	assert_email("alice@.example", false, NULL);
	assert_email("alice@example.", false, NULL);
	assert_email("alice@.", false, NULL);
	assert_email("al ice@example.com", false, "al ice@example.com");
	assert_email("alice@exa mple.com", false, NULL);
	assert_email("alice\t@example.com", false, NULL);
	assert_email("alice@example.com\x01", false, NULL);
	assert_email("alice\x7f@example.com", false, NULL);
	assert_email("alice\xc2\x85@example.com", false, NULL); /* C1 control NEL */
	assert_email("alice\xff@example.com", false, NULL);     /* not UTF-8 */
	assert_false(email_normalize(NULL, addr, sizeof(addr)));
	assert_string_equal(addr, "");

	/* 254 characters is the limit; 255 is too long (and truncated in out). */
	memset(local, 'a', sizeof(local));
	local[254 - 12] = '\0'; /* + "@example.com" (12) = 254 */
	snprintf(addr, sizeof(addr), "%s@example.com", local);
	assert_int_equal(strlen(addr), 254);
	assert_email(addr, true, addr);
	memmove(addr + 1, addr, strlen(addr) + 1);
	addr[0] = 'B';
	assert_int_equal(strlen(addr), 255);
	{
		char out[EMAIL_MAX_LEN + 1];

		assert_false(email_normalize(addr, out, sizeof(out)));
		assert_int_equal(strlen(out), 254);
		assert_int_equal(out[0], 'b');
	}
}

static void test_db_like_escape(void **state)
{
	struct arena a;

	arena_init(&a);
	assert_string_equal(db_like_escape(&a, "plain"), "plain");
	assert_string_equal(db_like_escape(&a, "100%"), "100\\%");
	assert_string_equal(db_like_escape(&a, "snake_case"), "snake\\_case");
	assert_string_equal(db_like_escape(&a, "C:\\dir"), "C:\\\\dir");
	assert_string_equal(db_like_escape(&a, "%_\\'"), "\\%\\_\\\\'");
	assert_string_equal(db_like_escape(&a, ""), "");
	assert_null(db_like_escape(&a, NULL));
	arena_release(&a);
}

static void test_page_resolve(void **state)
{
	struct page p = { -9, -9 };
	struct app_error err;

	app_error_init(&err);
	assert_int_equal(page_resolve(0, 0, &p, &err), 0);
	assert_int_equal(p.page, 1);
	assert_int_equal(p.limit, PAGE_DEFAULT_LIMIT);
	assert_int_equal(page_resolve(3, 100, &p, &err), 0);
	assert_int_equal(p.page, 3);
	assert_int_equal(p.limit, 100);
	assert_int_equal(page_resolve(1, 1, &p, &err), 0);
	assert_int_equal(p.limit, 1);
	assert_int_equal(err.code, ERR_OK);

	assert_int_equal(page_resolve(1, 101, &p, &err), -1);
	assert_int_equal(err.code, ERR_BAD_REQUEST);
	assert_string_equal(err.message, "limit must be between 1 and 100");
	assert_int_equal(err.nviolations, 0);

	app_error_init(&err);
	assert_int_equal(page_resolve(1, -1, &p, &err), -1);
	assert_int_equal(err.code, ERR_BAD_REQUEST);
	assert_string_equal(err.message, "limit must be between 1 and 100");

	app_error_init(&err);
	assert_int_equal(page_resolve(-1, 20, &p, &err), -1);
	assert_int_equal(err.code, ERR_BAD_REQUEST);
	assert_non_null(strstr(err.message, "page"));
	assert_null(strstr(err.message, "limit"));
}

static struct page_info info(int32_t page, int32_t limit, int64_t total)
{
	struct page p = { page, limit };

	return page_info_make(&p, total);
}

static void test_page_maths(void **state)
{
	struct page_info pi;
	struct page p = { 1, 20 };

	pi = info(1, 20, 0);
	assert_int_equal(pi.total_pages, 0);
	assert_false(pi.has_next);
	assert_false(pi.has_prev);

	pi = info(1, 20, 150); /* API.md's example */
	assert_int_equal(pi.page, 1);
	assert_int_equal(pi.limit, 20);
	assert_int_equal(pi.total, 150);
	assert_int_equal(pi.total_pages, 8);
	assert_true(pi.has_next);
	assert_false(pi.has_prev);

	pi = info(8, 20, 150); /* last page */
	assert_false(pi.has_next);
	assert_true(pi.has_prev);

	pi = info(7, 20, 140); /* exact multiple */
	assert_int_equal(pi.total_pages, 7);
	assert_false(pi.has_next);

	pi = info(50, 20, 150); /* past the end: not an error */
	assert_int_equal(pi.total_pages, 8);
	assert_false(pi.has_next);
	assert_true(pi.has_prev);

	pi = info(1, 1, 1);
	assert_int_equal(pi.total_pages, 1);
	assert_false(pi.has_next);

	pi = info(1, 100, INT64_MAX); /* no overflow in the ceiling */
	assert_true(pi.total_pages == INT64_MAX / 100 + 1);

	assert_int_equal(page_offset(&p), 0);
	p.page = 3;
	assert_int_equal(page_offset(&p), 40);
	p.page = INT32_MAX;
	p.limit = 100;
	assert_true(page_offset(&p) == (int64_t)(INT32_MAX - 1) * 100);
}

static const char *const user_sorts[] = { "createdAt", "name", "email", NULL };

static void test_sort_parse(void **state)
{
	struct app_error err;
	int index = -1;
	bool desc = false;

	app_error_init(&err);
	assert_int_equal(sort_parse("", "-createdAt", user_sorts, &index, &desc, &err), 0);
	assert_int_equal(index, 0);
	assert_true(desc);
	assert_int_equal(sort_parse(NULL, "name", user_sorts, &index, &desc, &err), 0);
	assert_int_equal(index, 1);
	assert_false(desc);
	assert_int_equal(sort_parse("email", "-createdAt", user_sorts, &index, &desc, &err), 0);
	assert_int_equal(index, 2);
	assert_false(desc);
	assert_int_equal(sort_parse("-name", "-createdAt", user_sorts, &index, &desc, &err), 0);
	assert_int_equal(index, 1);
	assert_true(desc);
	assert_int_equal(err.code, ERR_OK);

	index = 7;
	assert_int_equal(sort_parse("password", "-createdAt", user_sorts, &index, &desc, &err), -1);
	assert_int_equal(err.code, ERR_BAD_REQUEST);
	assert_non_null(strstr(err.message, "sort"));
	assert_non_null(strstr(err.message, "\"password\""));
	assert_int_equal(index, 7); /* untouched on failure */

	app_error_init(&err);
	assert_int_equal(sort_parse("-", "-createdAt", user_sorts, &index, &desc, &err), -1);
	assert_int_equal(err.code, ERR_BAD_REQUEST);
	app_error_init(&err);
	assert_int_equal(sort_parse("--name", "-createdAt", user_sorts, &index, &desc, &err), -1);
	assert_int_equal(err.code, ERR_BAD_REQUEST);
	app_error_init(&err);
	assert_int_equal(sort_parse("Name", "-createdAt", user_sorts, &index, &desc, &err), -1);
	assert_int_equal(err.code, ERR_BAD_REQUEST);
	app_error_init(&err);
	assert_int_equal(sort_parse("name ", "-createdAt", user_sorts, &index, &desc, &err), -1);
	assert_int_equal(err.code, ERR_BAD_REQUEST);
	/* Bytes that are not printable ASCII are not echoed back. */
	app_error_init(&err);
	assert_int_equal(sort_parse("x\n\xff", "-createdAt", user_sorts, &index, &desc, &err), -1);
	assert_null(strchr(err.message, '\n'));
	assert_null(strchr(err.message, '\xff'));

	/* A default that is not allowed is the caller's bug. */
	app_error_init(&err);
	assert_int_equal(sort_parse("", "bogus", user_sorts, &index, &desc, &err), -1);
	assert_int_equal(err.code, ERR_INTERNAL_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_decode_and_length),
		cmocka_unit_test(test_trim_dup),
		cmocka_unit_test(test_email_normalize),
		cmocka_unit_test(test_db_like_escape),
		cmocka_unit_test(test_page_resolve),
		cmocka_unit_test(test_page_maths),
		cmocka_unit_test(test_sort_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
