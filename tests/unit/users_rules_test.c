/* users_rules_test.c - the users service's authorization as tables: caller
 * (role or API key) x target (self, other) x action -> allowed or the error
 * code; the admin-only fields; and the gateway's route rows held to the
 * service's admin-only field list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "perm.h"
#include "routes.h"
#include "users_rules.h"
#include "users_validate.h"

#define SELF 7
#define OTHER 8

enum caller_kind { ANON, USER, MOD, ADMIN, KEY_READ_POSTS, KEY_OWN_PROFILE };
enum action { READ, LIST, UPDATE, DELETE, PASSWORD };

static struct principal caller(enum caller_kind k)
{
	static const char *const roles[] = { "user", "user", "moderator", "admin", "user", "user" };
	struct principal p;

	memset(&p, 0, sizeof(p));
	if (k == ANON)
		return p;
	p.method = k >= KEY_READ_POSTS ? AUTH_API_KEY : AUTH_JWT;
	p.user_id = SELF;
	assert_true(role_permissions(roles[k], &p.perms));
	if (k == KEY_READ_POSTS)
		p.perms = PERM_BIT(PERM_READ_POSTS);
	if (k == KEY_OWN_PROFILE)
		p.perms = PERM_BIT(PERM_READ_OWN_PROFILE) | PERM_BIT(PERM_UPDATE_OWN_PROFILE);
	return p;
}

/* The decision for one action, as the service makes it: the target first
 * (401, 400), then the action's rule. */
static enum err_code decide(const struct principal *p, enum action act, int64_t id)
{
	struct app_error err;
	int rc;

	app_error_init(&err);
	if (act == LIST)
		rc = users_rule_list(p, &err);
	else if (users_rule_target(p, &id, &err) != 0)
		rc = -1;
	else if (act == READ)
		rc = users_rule_read(p, id, &err);
	else if (act == PASSWORD)
		rc = users_rule_change_password(p, id, &err);
	else
		rc = users_rule_modify(p, id, &err);
	assert_int_equal(rc, err.code == ERR_OK ? 0 : -1);
	return err.code;
}

static const struct {
	enum caller_kind who;
	enum action act;
	int64_t target; /* 0 = "me" */
	enum err_code want;
} table[] = {
	/* anonymous: nothing */
	{ ANON, READ, OTHER, ERR_UNAUTHORIZED },
	{ ANON, READ, 0, ERR_UNAUTHORIZED },
	{ ANON, LIST, 0, ERR_UNAUTHORIZED },
	{ ANON, UPDATE, OTHER, ERR_UNAUTHORIZED },
	{ ANON, DELETE, OTHER, ERR_UNAUTHORIZED },
	{ ANON, PASSWORD, OTHER, ERR_UNAUTHORIZED },
	/* user: self only */
	{ USER, READ, SELF, ERR_OK },
	{ USER, READ, 0, ERR_OK },
	{ USER, READ, OTHER, ERR_FORBIDDEN },
	{ USER, LIST, 0, ERR_FORBIDDEN },
	{ USER, UPDATE, SELF, ERR_OK },
	{ USER, UPDATE, OTHER, ERR_FORBIDDEN },
	{ USER, DELETE, 0, ERR_OK },
	{ USER, DELETE, OTHER, ERR_FORBIDDEN },
	{ USER, PASSWORD, SELF, ERR_OK },
	{ USER, PASSWORD, OTHER, ERR_FORBIDDEN },
	{ USER, READ, -1, ERR_BAD_REQUEST },
	/* moderator: reads anyone (read:users), writes only self */
	{ MOD, READ, OTHER, ERR_OK },
	{ MOD, LIST, 0, ERR_OK },
	{ MOD, UPDATE, SELF, ERR_OK },
	{ MOD, UPDATE, OTHER, ERR_FORBIDDEN },
	{ MOD, DELETE, OTHER, ERR_FORBIDDEN },
	{ MOD, PASSWORD, OTHER, ERR_FORBIDDEN },
	/* admin: everything but another user's password */
	{ ADMIN, READ, OTHER, ERR_OK },
	{ ADMIN, LIST, 0, ERR_OK },
	{ ADMIN, UPDATE, OTHER, ERR_OK },
	{ ADMIN, DELETE, OTHER, ERR_OK },
	{ ADMIN, PASSWORD, SELF, ERR_OK },
	{ ADMIN, PASSWORD, OTHER, ERR_FORBIDDEN },
	{ ADMIN, DELETE, -5, ERR_BAD_REQUEST },
	/* an API key: only what it was given */
	{ KEY_READ_POSTS, READ, SELF, ERR_FORBIDDEN },
	{ KEY_READ_POSTS, UPDATE, SELF, ERR_FORBIDDEN },
	{ KEY_READ_POSTS, DELETE, SELF, ERR_FORBIDDEN },
	{ KEY_READ_POSTS, PASSWORD, SELF, ERR_FORBIDDEN },
	{ KEY_READ_POSTS, LIST, 0, ERR_FORBIDDEN },
	{ KEY_OWN_PROFILE, READ, SELF, ERR_OK },
	{ KEY_OWN_PROFILE, UPDATE, SELF, ERR_OK },
	{ KEY_OWN_PROFILE, READ, OTHER, ERR_FORBIDDEN },
	{ KEY_OWN_PROFILE, UPDATE, OTHER, ERR_FORBIDDEN },
};

static void role_by_target_by_action(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct principal p = caller(table[i].who);
		enum err_code got = decide(&p, table[i].act, table[i].target);

		if (got != table[i].want)
			fail_msg("row %zu: got %s, want %s", i, err_name(got),
				 err_name(table[i].want));
	}
}

static void full_view_needs_read_users(void **state)
{
	struct principal anon = caller(ANON), user = caller(USER), mod = caller(MOD);
	struct principal admin = caller(ADMIN);

	(void)state;
	assert_false(users_rule_full_view(&anon));
	assert_false(users_rule_full_view(&user));
	assert_true(users_rule_full_view(&mod));
	assert_true(users_rule_full_view(&admin));
}

static void admin_only_fields(void **state)
{
	static const struct {
		enum caller_kind who;
		unsigned fields;
		enum err_code want;
		size_t nviolations;
	} rows[] = {
		{ USER, USER_FIELD_EMAIL | USER_FIELD_NAME, ERR_OK, 0 },
		{ USER, USER_FIELD_ROLE, ERR_FORBIDDEN, 1 },
		{ USER, USER_FIELD_NAME | USER_FIELD_IS_ACTIVE | USER_FIELD_IS_VERIFIED,
		  ERR_FORBIDDEN, 2 },
		{ MOD, USER_FIELDS_ADMIN_ONLY, ERR_FORBIDDEN, 3 },
		{ ANON, USER_FIELD_ROLE, ERR_FORBIDDEN, 1 },
		{ ADMIN, USER_FIELDS_ADMIN_ONLY | USER_FIELD_EMAIL, ERR_OK, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct principal p = caller(rows[i].who);
		struct app_error err;

		app_error_init(&err);
		users_rule_fields(&p, rows[i].fields, &err);
		assert_int_equal(err.code, rows[i].want);
		assert_int_equal(err.nviolations, rows[i].nviolations);
	}
}

static void forbidden_fields_are_named(void **state)
{
	struct principal p = caller(USER);
	struct app_error err;

	(void)state;
	app_error_init(&err);
	assert_int_equal(users_rule_fields(&p, USER_FIELDS_ADMIN_ONLY, &err), -1);
	assert_string_equal(err.message, "You may not set these fields");
	assert_int_equal(err.nviolations, 3);
	assert_string_equal(err.violations[0].field, "role");
	assert_string_equal(err.violations[1].field, "isActive");
	assert_string_equal(err.violations[2].field, "isVerified");
	assert_string_equal(err.violations[0].description, "Only an admin may set this field");
}

/* The JSON names of USER_FIELDS_ADMIN_ONLY, in bit order, into names. */
static size_t admin_only_names(const char **names, size_t cap)
{
	size_t n = 0;

	for (unsigned bit = 1; bit <= USER_FIELDS_ADMIN_ONLY; bit <<= 1) {
		if ((USER_FIELDS_ADMIN_ONLY & bit) && n < cap)
			names[n++] = users_field_json_name(bit);
	}
	return n;
}

/* Every gateway route to UsersService that takes a user body lists exactly
 * the service's admin-only fields (the gateway answers 403 before the call). */
static void gateway_routes_follow_the_service(void **state)
{
	const char *want[8];
	size_t nwant = admin_only_names(want, 8), checked = 0;

	(void)state;
	assert_int_equal(nwant, 3);
	for (size_t r = 0; r < routes_count; r++) {
		const struct route *rt = &routes[r];
		size_t n = 0;

		if (strncmp(rt->rpc, "/agentos.users.v1.UsersService/", 31) != 0 ||
		    rt->body != BODY_JSON)
			continue;
		if (strcmp(rt->rpc + 31, "ChangePassword") == 0)
			continue; /* no user fields in its body */
		assert_non_null(rt->admin_only);
		for (; rt->admin_only[n]; n++) {
			bool found = false;

			for (size_t j = 0; j < nwant; j++)
				found |= strcmp(rt->admin_only[n], want[j]) == 0;
			if (!found)
				fail_msg("%s %s: %s is not admin-only in the service", rt->method,
					 rt->pattern, rt->admin_only[n]);
		}
		if (n != nwant)
			fail_msg("%s %s lists %zu admin-only fields, the service %zu", rt->method,
				 rt->pattern, n, nwant);
		checked++;
	}
	assert_int_equal(checked, 3); /* POST /users, PUT and PATCH /users/:id */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(role_by_target_by_action),
		cmocka_unit_test(full_view_needs_read_users),
		cmocka_unit_test(admin_only_fields),
		cmocka_unit_test(forbidden_fields_are_named),
		cmocka_unit_test(gateway_routes_follow_the_service),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
