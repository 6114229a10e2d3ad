/* auth_keys_test.c - the API-key request rules (name, permissions subset,
 * lifetime), the permissions a key keeps when its owner changes, and the
 * bearer-only gate in front of key management. No database: every case
 * here is refused before one would be needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth_service.h"

static perm_set role(const char *name)
{
	perm_set s = 0;

	assert_true(role_permissions(name, &s));
	return s;
}

struct checked {
	int rc;
	const char *name;
	perm_set perms;
	int32_t days;
	struct app_error err;
};

static struct checked check(struct arena *a, perm_set held, const char *name,
			    const char *const *perms, size_t n, int32_t days)
{
	struct auth_key_create in = {
		.name = name, .perms = perms, .nperms = n, .expires_in_days = days
	};
	struct checked c = { 0 };

	app_error_init(&c.err);
	c.rc = auth_key_request_check(a, held, &in, &c.name, &c.perms, &c.days, &c.err);
	return c;
}

static void subset_request_is_accepted_with_defaults(void **state)
{
	static const char *const perms[] = { "read:posts", "write:posts", "read:posts" };
	struct arena a;
	struct checked c;

	arena_init(&a);
	c = check(&a, role("user"), "  CI deploy key \t", perms, 3, 0);
	assert_int_equal(c.rc, 0);
	assert_string_equal(c.name, "CI deploy key");
	assert_int_equal(c.perms, PERM_BIT(PERM_READ_POSTS) | PERM_BIT(PERM_WRITE_POSTS));
	assert_int_equal(c.days, 90);
	c = check(&a, role("user"), "k", perms, 1, 365);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.days, 365);
	c = check(&a, role("user"), "k", perms, 1, 1);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.days, 1);
	arena_release(&a);
}

static void more_than_the_creator_holds_is_forbidden(void **state)
{
	static const char *const moderate[] = { "read:posts", "delete:posts" };
	static const char *const all[] = { "*" };
	struct arena a;
	struct checked c;

	arena_init(&a);
	c = check(&a, role("user"), "k", moderate, 2, 0);
	assert_int_equal(c.rc, -1);
	assert_string_equal(err_name(c.err.code), "FORBIDDEN");
	assert_int_equal(c.err.nviolations, 1);
	assert_string_equal(c.err.violations[0].field, "permissions");
	assert_non_null(strstr(c.err.violations[0].description, "delete:posts"));
	/* "*" only for a creator holding "*": a moderator holds much, not all. */
	c = check(&a, role("moderator"), "k", all, 1, 0);
	assert_string_equal(err_name(c.err.code), "FORBIDDEN");
	c = check(&a, role("moderator"), "k", moderate, 2, 0);
	assert_int_equal(c.rc, 0);
	/* An admin may grant anything, "*" included. */
	c = check(&a, role("admin"), "k", all, 1, 0);
	assert_int_equal(c.rc, 0);
	assert_true(perm_is_admin(c.perms));
	c = check(&a, role("admin"), "k", moderate, 2, 0);
	assert_int_equal(c.rc, 0);
	assert_false(perm_is_admin(c.perms));
	arena_release(&a);
}

static void every_invalid_field_is_reported_at_once(void **state)
{
	static const char *const perms[] = { "read:posts", "read:everything", "" };
	struct arena a;
	struct checked c;

	arena_init(&a);
	c = check(&a, role("user"), "   ", perms, 3, 366);
	assert_int_equal(c.rc, -1);
	assert_string_equal(err_name(c.err.code), "VALIDATION_ERROR");
	assert_int_equal(c.err.nviolations, 4);
	assert_string_equal(c.err.violations[0].field, "name");
	assert_string_equal(c.err.violations[1].field, "permissions");
	assert_non_null(strstr(c.err.violations[1].description, "read:everything"));
	assert_string_equal(c.err.violations[2].field, "permissions");
	assert_string_equal(c.err.violations[3].field, "expiresInDays");
	c = check(&a, role("user"), "k", perms, 0, -1);
	assert_string_equal(err_name(c.err.code), "VALIDATION_ERROR");
	assert_int_equal(c.err.nviolations, 2);
	assert_string_equal(c.err.violations[0].field, "permissions");
	assert_string_equal(c.err.violations[1].field, "expiresInDays");
	c = check(&a, role("user"), NULL, perms, 1, 0);
	assert_string_equal(err_name(c.err.code), "VALIDATION_ERROR");
	assert_string_equal(c.err.violations[0].field, "name");
	arena_release(&a);
}

static void forbidden_wins_over_invalid(void **state)
{
	static const char *const perms[] = { "delete:users?", "delete:posts" };
	struct arena a;
	struct checked c;

	arena_init(&a);
	c = check(&a, role("user"), "", perms, 2, 0);
	assert_string_equal(err_name(c.err.code), "FORBIDDEN");
	arena_release(&a);
}

static void name_counts_code_points(void **state)
{
	static const char *const perms[] = { "read:posts" };
	char name[101 * 3 + 1];
	struct arena a;
	struct checked c;

	arena_init(&a);
	for (int i = 0; i < 101; i++)
		memcpy(name + 3 * i, "\xe2\x82\xac", 3); /* euro sign: 3 bytes, 1 code point */
	name[303] = '\0';
	c = check(&a, role("user"), name, perms, 1, 0);
	assert_string_equal(err_name(c.err.code), "VALIDATION_ERROR");
	assert_string_equal(c.err.violations[0].field, "name");
	name[300] = '\0';
	c = check(&a, role("user"), name, perms, 1, 0);
	assert_int_equal(c.rc, 0);
	c = check(&a, role("user"), "bad \xff name", perms, 1, 0);
	assert_string_equal(err_name(c.err.code), "VALIDATION_ERROR");
	arena_release(&a);
}

static void key_permissions_follow_the_owner(void **state)
{
	perm_set posts = PERM_BIT(PERM_READ_POSTS) | PERM_BIT(PERM_DELETE_POSTS);
	perm_set all = PERM_BIT(PERM_ALL);

	/* Owner unchanged: the key keeps exactly what it was given. */
	assert_int_equal(auth_key_effective_perms(posts, role("moderator")), posts);
	assert_int_equal(auth_key_effective_perms(posts, role("admin")), posts);
	assert_int_equal(auth_key_effective_perms(all, role("admin")), all);
	/* Owner demoted: the key loses what the owner lost. */
	assert_int_equal(auth_key_effective_perms(posts, role("user")), PERM_BIT(PERM_READ_POSTS));
	assert_int_equal(auth_key_effective_perms(all, role("user")), role("user"));
	assert_false(perm_is_admin(auth_key_effective_perms(all, role("moderator"))));
}

static const struct principal api_key_caller = { .method = AUTH_API_KEY,
						 .user_id = 7,
						 .perms = PERM_BIT(PERM_ALL) };
static const struct principal anonymous = { .method = AUTH_NONE };

static void key_management_needs_a_bearer_token(void **state)
{
	static const char *const perms[] = { "read:posts" };
	struct auth_key_create in = { .name = "k", .perms = perms, .nperms = 1 };
	struct auth_ctx ctx = { 0 }; /* no database: every call must stop before it */
	struct auth_new_api_key nk;
	struct auth_api_key k, *list;
	struct page_info pi;
	size_t n;
	struct app_error err;
	struct arena a;

	arena_init(&a);
	app_error_init(&err);
	assert_int_equal(auth_keys_create(&ctx, &api_key_caller, &a, &in, &nk, &err), -1);
	assert_string_equal(err_name(err.code), "FORBIDDEN");
	assert_int_equal(auth_keys_create(&ctx, &anonymous, &a, &in, &nk, &err), -1);
	assert_string_equal(err_name(err.code), "UNAUTHORIZED");
	assert_int_equal(auth_keys_list(&ctx, &api_key_caller, &a, 0, 0, 0, &list, &n, &pi, &err),
			 -1);
	assert_string_equal(err_name(err.code), "FORBIDDEN");
	assert_int_equal(auth_keys_get(&ctx, &api_key_caller, 1, &k, &err), -1);
	assert_string_equal(err_name(err.code), "FORBIDDEN");
	assert_int_equal(auth_keys_revoke(&ctx, &api_key_caller, 1, &err), -1);
	assert_string_equal(err_name(err.code), "FORBIDDEN");
	assert_int_equal(auth_keys_rotate(&ctx, &api_key_caller, 1, &nk, &err), -1);
	assert_string_equal(err_name(err.code), "FORBIDDEN");
	assert_int_equal(auth_keys_rotate(&ctx, &anonymous, 1, &nk, &err), -1);
	assert_string_equal(err_name(err.code), "UNAUTHORIZED");
	arena_release(&a);
}

static void listing_others_keys_is_admin_only(void **state)
{
	struct principal user = { .method = AUTH_JWT, .user_id = 7, .perms = role("moderator") };
	struct auth_ctx ctx = { 0 };
	struct auth_api_key *list;
	struct page_info pi;
	size_t n;
	struct app_error err;
	struct arena a;

	arena_init(&a);
	app_error_init(&err);
	assert_int_equal(auth_keys_list(&ctx, &user, &a, 0, 0, 8, &list, &n, &pi, &err), -1);
	assert_string_equal(err_name(err.code), "FORBIDDEN");
	assert_int_equal(auth_keys_list(&ctx, &user, &a, 0, 101, 0, &list, &n, &pi, &err), -1);
	assert_string_equal(err_name(err.code), "BAD_REQUEST");
	assert_int_equal(auth_keys_get(&ctx, &user, 0, NULL, &err), -1);
	assert_string_equal(err_name(err.code), "BAD_REQUEST");
	arena_release(&a);
}

static void malformed_keys_are_refused_without_a_lookup(void **state)
{
	struct auth_ctx ctx = { 0 };
	struct principal p;
	struct app_error err;

	app_error_init(&err);
	assert_int_equal(auth_keys_validate(&ctx, NULL, "ak_short_secret", &p, &err), -1);
	assert_string_equal(err_name(err.code), "UNAUTHORIZED");
	assert_int_equal(auth_keys_validate(&ctx, NULL, "", &p, &err), -1);
	assert_string_equal(err_name(err.code), "UNAUTHORIZED");
	assert_int_equal(auth_keys_validate_local(&ctx, NULL, &p, &err), -1);
	assert_string_equal(err_name(err.code), "UNAUTHORIZED");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(subset_request_is_accepted_with_defaults),
		cmocka_unit_test(more_than_the_creator_holds_is_forbidden),
		cmocka_unit_test(every_invalid_field_is_reported_at_once),
		cmocka_unit_test(forbidden_wins_over_invalid),
		cmocka_unit_test(name_counts_code_points),
		cmocka_unit_test(key_permissions_follow_the_owner),
		cmocka_unit_test(key_management_needs_a_bearer_token),
		cmocka_unit_test(listing_others_keys_is_admin_only),
		cmocka_unit_test(malformed_keys_are_refused_without_a_lookup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
