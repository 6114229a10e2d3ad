/* users_validate_test.c - the users field rules and update-mask parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "users_validate.h"

static void email_rules(void **state)
{
	char out[EMAIL_MAX_LEN + 1];
	struct app_error err;

	app_error_init(&err);
	assert_true(users_check_email("  Ada@Example.COM ", out, sizeof(out), &err));
	assert_string_equal(out, "ada@example.com");
	assert_false(users_check_email("", out, sizeof(out), &err));
	assert_false(users_check_email(NULL, out, sizeof(out), &err));
	assert_false(users_check_email("a@b", out, sizeof(out), &err));
	assert_false(users_check_email("a b@example.com", out, sizeof(out), &err));
	assert_false(users_check_email("a@@example.com", out, sizeof(out), &err));
	assert_int_equal(err.nviolations, 5);
	assert_string_equal(err.violations[0].field, "email");
	assert_string_equal(err.violations[0].description, "Email is required");
	assert_string_equal(err.violations[2].description, "Invalid email format");
}

static void name_rules(void **state)
{
	struct arena a;
	struct app_error err;
	const char *name = NULL;
	char long_name[101 * 3 + 1];

	arena_init(&a);
	app_error_init(&err);
	assert_true(users_check_name(&a, "  Grace Hopper \t", &name, &err));
	assert_string_equal(name, "Grace Hopper");
	assert_false(users_check_name(&a, "   ", &name, &err));
	assert_false(users_check_name(&a, "\xff\xfe", &name, &err));
	for (int i = 0; i < 101; i++)
		memcpy(long_name + 3 * i, "\xe2\x82\xac", 3); /* euro sign: 3 bytes, 1 code point */
	long_name[303] = '\0';
	assert_false(users_check_name(&a, long_name, &name, &err));
	long_name[300] = '\0';
	assert_true(users_check_name(&a, long_name, &name, &err));
	assert_int_equal(err.nviolations, 3);
	assert_string_equal(err.violations[2].description, "Name must be at most 100 characters");
	arena_release(&a);
}

static void password_rules(void **state)
{
	struct app_error err;
	char p128[129], p129[130];

	memset(p128, 'x', 128);
	p128[128] = '\0';
	memset(p129, 'x', 129);
	p129[129] = '\0';
	app_error_init(&err);
	assert_true(users_check_password("password", "12345678", &err));
	assert_true(users_check_password("password", p128, &err));
	assert_true(users_check_password(
		"password", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
		&err));
	assert_int_equal(err.nviolations, 0);
	assert_false(users_check_password("password", "1234567", &err));
	assert_false(users_check_password("newPassword", p129, &err));
	assert_false(users_check_password("password", "", &err));
	assert_int_equal(err.nviolations, 3);
	assert_string_equal(err.violations[0].description,
			    "Password must be at least 8 characters");
	assert_string_equal(err.violations[1].field, "newPassword");
	assert_string_equal(err.violations[1].description,
			    "Password must be at most 128 characters");
}

static void role_rules(void **state)
{
	struct app_error err;

	app_error_init(&err);
	assert_true(users_check_role("user", &err));
	assert_true(users_check_role("moderator", &err));
	assert_true(users_check_role("admin", &err));
	assert_false(users_check_role("superuser", &err));
	assert_false(users_check_role("Admin", &err));
	assert_int_equal(err.nviolations, 2);
	assert_string_equal(err.violations[0].field, "role");
}

static void mask_paths(void **state)
{
	const char *good[] = { "email", "name", "role", "is_active", "isVerified" };
	const char *bad[] = { "name", "password_hash", "createdAt", "id" };
	struct app_error err;
	unsigned fields;

	app_error_init(&err);
	assert_true(users_parse_mask(good, 5, &fields, &err));
	assert_int_equal(fields, USER_FIELD_EMAIL | USER_FIELD_NAME | USER_FIELD_ROLE |
					 USER_FIELD_IS_ACTIVE | USER_FIELD_IS_VERIFIED);
	assert_true(users_parse_mask(NULL, 0, &fields, &err));
	assert_int_equal(fields, 0);
	assert_false(users_parse_mask(bad, 4, &fields, &err));
	assert_int_equal(err.nviolations, 3); /* every unknown path, not just the first */
	assert_string_equal(err.violations[0].field, "password_hash");
	assert_string_equal(err.violations[2].field, "id");
	assert_string_equal(users_field_json_name(USER_FIELD_IS_ACTIVE), "isActive");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(email_rules),    cmocka_unit_test(name_rules),
		cmocka_unit_test(password_rules), cmocka_unit_test(role_rules),
		cmocka_unit_test(mask_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
