/* perm_test.c - the role table of API.md §1, perm_has, names and parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "perm.h"

static perm_set bits(const enum perm *list, size_t n)
{
	perm_set s = 0;

	for (size_t i = 0; i < n; i++)
		s |= PERM_BIT(list[i]);
	return s;
}

static void test_user_role_exact(void **state)
{
	const enum perm want[] = { PERM_READ_OWN_PROFILE, PERM_UPDATE_OWN_PROFILE, PERM_READ_POSTS,
				   PERM_WRITE_POSTS, PERM_WRITE_COMMENTS };
	perm_set got = 0;

	(void)state;
	assert_true(role_permissions("user", &got));
	assert_int_equal(got, bits(want, 5));
	assert_false(perm_has(got, PERM_READ_USERS));
	assert_false(perm_has(got, PERM_DELETE_POSTS));
	assert_false(perm_is_admin(got));
}

static void test_moderator_role_exact(void **state)
{
	const enum perm want[] = { PERM_READ_OWN_PROFILE, PERM_UPDATE_OWN_PROFILE,
				   PERM_READ_POSTS,       PERM_WRITE_POSTS,
				   PERM_WRITE_COMMENTS,   PERM_READ_USERS,
				   PERM_UPDATE_POSTS,     PERM_DELETE_POSTS,
				   PERM_DELETE_COMMENTS };
	perm_set got = 0, user = 0;

	(void)state;
	assert_true(role_permissions("moderator", &got));
	assert_int_equal(got, bits(want, 9));
	assert_true(role_permissions("user", &user));
	assert_int_equal(got & user, user); /* everything user has */
	/* Moderator lacks "*": not admin, and holds nothing beyond its list. */
	assert_false(perm_has(got, PERM_ALL));
	assert_false(perm_is_admin(got));
}

static void test_admin_role_is_star(void **state)
{
	perm_set got = 0;

	(void)state;
	assert_true(role_permissions("admin", &got));
	assert_int_equal(got, PERM_BIT(PERM_ALL));
	assert_true(perm_is_admin(got));
	for (int p = 0; p < PERM__COUNT; p++)
		assert_true(perm_has(got, (enum perm)p));
}

static void test_unknown_roles(void **state)
{
	perm_set got = 0x5a5a;

	(void)state;
	assert_false(role_valid("superuser"));
	assert_false(role_valid("Admin"));
	assert_false(role_valid("admin "));
	assert_false(role_valid(""));
	assert_false(role_valid(NULL));
	assert_false(role_permissions("root", &got));
	assert_int_equal(got, 0x5a5a); /* untouched on failure */
	assert_true(role_valid("user"));
	assert_true(role_valid("moderator"));
	assert_true(role_valid("admin"));
}

static void test_perm_has_exact_bit(void **state)
{
	perm_set held = PERM_BIT(PERM_READ_POSTS);

	(void)state;
	assert_true(perm_has(held, PERM_READ_POSTS));
	assert_false(perm_has(held, PERM_WRITE_POSTS));
	assert_false(perm_has(0, PERM_READ_POSTS));
	assert_false(perm_has(held, PERM__COUNT));
	assert_true(perm_has(PERM_BIT(PERM_ALL), PERM_DELETE_COMMENTS));
}

static void test_parse_name_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < PERM__COUNT; i++) {
		enum perm p = PERM__COUNT;
		const char *name = perm_name((enum perm)i);

		assert_non_null(name);
		assert_true(perm_parse(name, &p));
		assert_int_equal(p, i);
	}
	assert_string_equal(perm_name(PERM_ALL), "*");
	assert_string_equal(perm_name(PERM_READ_OWN_PROFILE), "read:own_profile");
	assert_string_equal(perm_name(PERM_DELETE_COMMENTS), "delete:comments");
	assert_null(perm_name(PERM__COUNT));
}

static void test_parse_rejects_unknown(void **state)
{
	enum perm p = PERM_READ_POSTS;

	(void)state;
	assert_false(perm_parse("read:everything", &p));
	assert_false(perm_parse("READ:POSTS", &p));
	assert_false(perm_parse("read:posts ", &p));
	assert_false(perm_parse("", &p));
	assert_false(perm_parse(NULL, &p));
	assert_int_equal(p, PERM_READ_POSTS);
}

static void test_names_table_order(void **state)
{
	const char *out[PERM__COUNT];
	perm_set held = PERM_BIT(PERM_DELETE_COMMENTS) | PERM_BIT(PERM_READ_POSTS) |
			PERM_BIT(PERM_READ_OWN_PROFILE);
	int n;

	(void)state;
	n = perm_names(held, out, PERM__COUNT);
	assert_int_equal(n, 3);
	assert_string_equal(out[0], "read:own_profile");
	assert_string_equal(out[1], "read:posts");
	assert_string_equal(out[2], "delete:comments");

	n = perm_names(held, out, 2); /* truncated to max */
	assert_int_equal(n, 2);
	assert_string_equal(out[1], "read:posts");

	assert_int_equal(perm_names(0, out, PERM__COUNT), 0);
	assert_int_equal(perm_names(held, out, 0), 0);
}

static void test_names_star_alone(void **state)
{
	const char *out[PERM__COUNT];
	int n;

	(void)state;
	n = perm_names(PERM_BIT(PERM_ALL) | PERM_BIT(PERM_READ_POSTS), out, PERM__COUNT);
	assert_int_equal(n, 1);
	assert_string_equal(out[0], "*");
}

static void test_names_moderator(void **state)
{
	const char *want[] = { "read:own_profile", "update:own_profile", "read:posts",
			       "write:posts",      "write:comments",     "read:users",
			       "update:posts",     "delete:posts",       "delete:comments" };
	const char *out[PERM__COUNT];
	perm_set mod = 0;
	int n;

	(void)state;
	assert_true(role_permissions("moderator", &mod));
	n = perm_names(mod, out, PERM__COUNT);
	assert_int_equal(n, 9);
	for (int i = 0; i < n; i++)
		assert_string_equal(out[i], want[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_role_exact),
		cmocka_unit_test(test_moderator_role_exact),
		cmocka_unit_test(test_admin_role_is_star),
		cmocka_unit_test(test_unknown_roles),
		cmocka_unit_test(test_perm_has_exact_bit),
		cmocka_unit_test(test_parse_name_round_trip),
		cmocka_unit_test(test_parse_rejects_unknown),
		cmocka_unit_test(test_names_table_order),
		cmocka_unit_test(test_names_star_alone),
		cmocka_unit_test(test_names_moderator),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
