/* auth_rules_test.c - the auth service's authorization as tables: caller
 * (anonymous, bearer user/admin, API key) x key owner (self, other) x
 * action -> allowed or the error code; key permissions within the creator's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth_rules.h"

#define SELF 7
#define OTHER 8

enum caller_kind { ANON, USER, ADMIN, KEY, ADMIN_KEY };
enum action { CREATE, LIST_OWN, LIST_OTHERS, GET, REVOKE, ROTATE, LOGOUT, ME };

static struct principal caller(enum caller_kind k)
{
	struct principal p;

	memset(&p, 0, sizeof(p));
	if (k == ANON)
		return p;
	p.method = k == KEY || k == ADMIN_KEY ? AUTH_API_KEY : AUTH_JWT;
	p.user_id = SELF;
	assert_true(role_permissions(k == ADMIN || k == ADMIN_KEY ? "admin" : "user", &p.perms));
	return p;
}

/* The decision as the service makes it: the id and bearer checks before
 * the lookup, the ownership check on the loaded key. */
static enum err_code decide(const struct principal *p, enum action act, int64_t owner)
{
	struct app_error err;
	int64_t user_id = act == LIST_OTHERS ? OTHER : 0;

	app_error_init(&err);
	switch (act) {
	case CREATE:
		auth_rule_manage_keys(p, &err);
		break;
	case LIST_OWN:
	case LIST_OTHERS:
		if (auth_rule_list_keys(p, &user_id, &err) == 0 && !perm_is_admin(p->perms))
			assert_int_equal(user_id, p->user_id); /* a non-admin sees their own */
		break;
	case LOGOUT:
		auth_rule_logout(p, &err);
		break;
	case ME:
		auth_rule_me(p, &err);
		break;
	default: /* GET, REVOKE, ROTATE: one key by id */
		if (auth_rule_key_id(p, 1, &err) == 0)
			auth_rule_key_visible(p, owner, &err);
	}
	return err.code;
}

static const struct {
	enum caller_kind who;
	enum action act;
	int64_t owner;
	enum err_code want;
} table[] = {
	{ ANON, CREATE, 0, ERR_UNAUTHORIZED },
	{ ANON, LIST_OWN, 0, ERR_UNAUTHORIZED },
	{ ANON, GET, SELF, ERR_UNAUTHORIZED },
	{ ANON, REVOKE, SELF, ERR_UNAUTHORIZED },
	{ ANON, ROTATE, SELF, ERR_UNAUTHORIZED },
	{ ANON, LOGOUT, 0, ERR_UNAUTHORIZED },
	{ ANON, ME, 0, ERR_UNAUTHORIZED },
	{ USER, CREATE, 0, ERR_OK },
	{ USER, LIST_OWN, 0, ERR_OK },
	{ USER, LIST_OTHERS, 0, ERR_FORBIDDEN },
	{ USER, GET, SELF, ERR_OK },
	{ USER, GET, OTHER, ERR_NOT_FOUND },
	{ USER, REVOKE, SELF, ERR_OK },
	{ USER, REVOKE, OTHER, ERR_NOT_FOUND },
	{ USER, ROTATE, SELF, ERR_OK },
	{ USER, ROTATE, OTHER, ERR_NOT_FOUND },
	{ USER, LOGOUT, 0, ERR_OK },
	{ USER, ME, 0, ERR_OK },
	{ ADMIN, CREATE, 0, ERR_OK },
	{ ADMIN, LIST_OTHERS, 0, ERR_OK },
	{ ADMIN, GET, OTHER, ERR_OK },
	{ ADMIN, REVOKE, OTHER, ERR_OK },
	{ ADMIN, ROTATE, OTHER, ERR_OK },
	/* an API key manages no keys and cannot log out, even an admin's */
	{ KEY, CREATE, 0, ERR_FORBIDDEN },
	{ KEY, LIST_OWN, 0, ERR_FORBIDDEN },
	{ KEY, GET, SELF, ERR_FORBIDDEN },
	{ KEY, REVOKE, SELF, ERR_FORBIDDEN },
	{ KEY, ROTATE, SELF, ERR_FORBIDDEN },
	{ KEY, LOGOUT, 0, ERR_FORBIDDEN },
	{ KEY, ME, 0, ERR_OK },
	{ ADMIN_KEY, CREATE, 0, ERR_FORBIDDEN },
	{ ADMIN_KEY, LIST_OTHERS, 0, ERR_FORBIDDEN },
	{ ADMIN_KEY, GET, OTHER, ERR_FORBIDDEN },
};

static void caller_by_owner_by_action(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct principal p = caller(table[i].who);
		enum err_code got = decide(&p, table[i].act, table[i].owner);

		if (got != table[i].want)
			fail_msg("row %zu: got %s, want %s", i, err_name(got),
				 err_name(table[i].want));
	}
}

static void bad_ids(void **state)
{
	struct principal user = caller(USER), admin = caller(ADMIN);
	struct app_error err;
	int64_t uid = -3;

	(void)state;
	app_error_init(&err);
	assert_int_equal(auth_rule_key_id(&user, 0, &err), -1);
	assert_int_equal(err.code, ERR_BAD_REQUEST);
	app_error_init(&err);
	assert_int_equal(auth_rule_list_keys(&admin, &uid, &err), -1);
	assert_int_equal(err.code, ERR_BAD_REQUEST);
	app_error_init(&err);
	uid = 0;
	assert_int_equal(auth_rule_list_keys(&admin, &uid, &err), 0);
	assert_int_equal(uid, 0); /* an admin without a filter: everyone's keys */
}

static void key_permissions_within_the_creator(void **state)
{
	static const struct {
		const char *role;
		perm_set want;
		enum err_code code;
		size_t nviolations;
	} rows[] = {
		{ "user", PERM_BIT(PERM_READ_POSTS) | PERM_BIT(PERM_WRITE_POSTS), ERR_OK, 0 },
		{ "user", PERM_BIT(PERM_READ_USERS), ERR_FORBIDDEN, 1 },
		{ "user", PERM_BIT(PERM_ALL), ERR_FORBIDDEN, 1 },
		{ "moderator", PERM_BIT(PERM_DELETE_POSTS) | PERM_BIT(PERM_READ_USERS), ERR_OK, 0 },
		{ "moderator", PERM_BIT(PERM_ALL) | PERM_BIT(PERM_READ_POSTS), ERR_FORBIDDEN, 1 },
		{ "admin", PERM_BIT(PERM_ALL), ERR_OK, 0 },
		{ "admin", PERM_BIT(PERM_READ_USERS), ERR_OK, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct app_error err;
		perm_set held;

		assert_true(role_permissions(rows[i].role, &held));
		app_error_init(&err);
		auth_rule_key_perms(held, rows[i].want, &err);
		assert_int_equal(err.code, rows[i].code);
		assert_int_equal(err.nviolations, rows[i].nviolations);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(caller_by_owner_by_action),
		cmocka_unit_test(bad_ids),
		cmocka_unit_test(key_permissions_within_the_creator),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
