/* posts_rules_test.c - the posts service's pure rules: who sees which post,
 * who may change what, publishedAt transitions, field validation messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "perm.h"
#include "posts_rules.h"
#include "posts_service.h"

static struct principal who(int64_t id, const char *role)
{
	struct principal p;

	memset(&p, 0, sizeof(p));
	if (id == 0)
		return p; /* anonymous */
	p.method = AUTH_JWT;
	p.user_id = id;
	assert_true(role_permissions(role, &p.perms));
	return p;
}

/* An API key of user id limited to one permission. */
static struct principal key(int64_t id, enum perm only)
{
	struct principal p = who(id, "user");

	p.method = AUTH_API_KEY;
	p.perms = PERM_BIT(only);
	return p;
}

static void draft_visibility(void **state)
{
	struct principal anon = who(0, "user"), author = who(7, "user"), other = who(8, "user");
	struct principal mod = who(9, "moderator"), admin = who(10, "admin");

	(void)state;
	assert_true(posts_visible(&anon, 7, "published"));
	assert_true(posts_visible(&other, 7, "published"));
	assert_false(posts_visible(&anon, 7, "draft"));
	assert_false(posts_visible(&other, 7, "draft"));
	assert_true(posts_visible(&author, 7, "draft"));
	assert_true(posts_visible(&mod, 7, "draft"));
	assert_true(posts_visible(&admin, 7, "draft"));
}

static void list_scopes(void **state)
{
	struct principal anon = who(0, "user"), author = who(7, "user"), mod = who(9, "moderator");

	(void)state;
	assert_int_equal(posts_list_scope(&anon, 0, NULL), POSTS_SCOPE_PUBLISHED);
	assert_int_equal(posts_list_scope(&anon, 0, "draft"), POSTS_SCOPE_NOTHING);
	assert_int_equal(posts_list_scope(&author, 0, NULL), POSTS_SCOPE_PUBLISHED);
	/* Filtering on oneself shows one's drafts. */
	assert_int_equal(posts_list_scope(&author, 7, NULL), POSTS_SCOPE_ALL);
	assert_int_equal(posts_list_scope(&author, 7, "draft"), POSTS_SCOPE_ALL);
	assert_int_equal(posts_list_scope(&author, 8, "draft"), POSTS_SCOPE_NOTHING);
	assert_int_equal(posts_list_scope(&mod, 0, "draft"), POSTS_SCOPE_ALL);
	assert_int_equal(posts_list_scope(&mod, 8, NULL), POSTS_SCOPE_ALL);
}

static void post_permissions(void **state)
{
	struct principal anon = who(0, "user"), author = who(7, "user"), other = who(8, "user");
	struct principal mod = who(9, "moderator"), ro = key(7, PERM_READ_POSTS);
	struct app_error err;

	(void)state;
	app_error_init(&err);
	assert_int_equal(posts_check_can_write_post(&anon, &err), -1);
	assert_int_equal(err.code, ERR_UNAUTHORIZED);
	app_error_init(&err);
	assert_int_equal(posts_check_can_write_post(&ro, &err), -1);
	assert_int_equal(err.code, ERR_FORBIDDEN);
	assert_int_equal(posts_check_can_write_post(&author, &err), 0);
	assert_int_equal(posts_may_update_post(&author, 7, &err), 0);
	app_error_init(&err);
	assert_int_equal(posts_may_update_post(&other, 7, &err), -1);
	assert_int_equal(err.code, ERR_FORBIDDEN);
	assert_int_equal(posts_may_update_post(&mod, 7, &err), 0);
	assert_int_equal(posts_may_delete_post(&mod, 7, &err), 0);
	assert_int_equal(posts_may_delete_post(&author, 7, &err), 0);
	app_error_init(&err);
	assert_int_equal(posts_may_delete_post(&other, 7, &err), -1);
	/* The author's key without write:posts may not edit the author's post. */
	app_error_init(&err);
	assert_int_equal(posts_may_update_post(&ro, 7, &err), -1);
	assert_int_equal(err.code, ERR_FORBIDDEN);
}

static void comment_permissions(void **state)
{
	struct principal author = who(7, "user"), other = who(8, "user");
	struct principal mod = who(9, "moderator"), admin = who(10, "admin");
	struct principal ro = key(7, PERM_READ_POSTS);
	struct app_error err;

	(void)state;
	app_error_init(&err);
	assert_int_equal(posts_may_update_comment(&author, 7, &err), 0);
	assert_int_equal(posts_may_update_comment(&admin, 7, &err), 0);
	/* Moderators cannot edit others' comments. */
	assert_int_equal(posts_may_update_comment(&mod, 7, &err), -1);
	assert_int_equal(err.code, ERR_FORBIDDEN);
	assert_int_equal(posts_may_update_comment(&other, 7, &err), -1);
	assert_int_equal(posts_may_update_comment(&ro, 7, &err), -1);
	app_error_init(&err);
	assert_int_equal(posts_may_delete_comment(&mod, 7, &err), 0);
	assert_int_equal(posts_may_delete_comment(&author, 7, &err), 0);
	assert_int_equal(posts_may_delete_comment(&other, 7, &err), -1);
	app_error_init(&err);
	assert_int_equal(posts_check_can_write_comment(&ro, &err), -1);
	assert_int_equal(err.code, ERR_FORBIDDEN);
}

static void published_at_transitions(void **state)
{
	(void)state;
	assert_int_equal(posts_published_change("draft", "published"), POSTS_PUBLISHED_SET);
	assert_int_equal(posts_published_change("published", "draft"), POSTS_PUBLISHED_CLEAR);
	/* Edits of a published post do not move publishedAt. */
	assert_int_equal(posts_published_change("published", "published"), POSTS_PUBLISHED_KEEP);
	assert_int_equal(posts_published_change("draft", "draft"), POSTS_PUBLISHED_KEEP);
}

static void field_rules(void **state)
{
	struct arena a;
	struct app_error err;
	const char *out = NULL;
	char title[201 * 2 + 1];

	(void)state;
	arena_init(&a);
	app_error_init(&err);
	assert_true(posts_check_title(&a, "  Hello \t", &out, &err));
	assert_string_equal(out, "Hello");
	assert_false(posts_check_title(&a, "   ", &out, &err));
	for (int i = 0; i < 200; i++)
		memcpy(title + i * 2, "\xc3\xa9", 2); /* é: 200 code points, 400 bytes */
	title[400] = '\0';
	assert_true(posts_check_title(&a, title, &out, &err));
	memcpy(title + 400, "\xc3\xa9", 3);
	assert_false(posts_check_title(&a, title, &out, &err));
	assert_false(posts_check_body("body", "", POST_BODY_MAX_CHARS, &err));
	assert_true(posts_check_body("body", "x", COMMENT_BODY_MAX_CHARS, &err));
	assert_false(posts_check_status("bogus", false, &out, &err));
	assert_false(posts_check_status("", false, &out, &err));
	assert_true(posts_check_status("", true, &out, &err));
	assert_string_equal(out, "draft");
	assert_int_equal(err.nviolations, 5);
	assert_string_equal(err.violations[0].field, "title");
	assert_string_equal(err.violations[0].description, "Title is required");
	assert_string_equal(err.violations[1].description, "Title must be at most 200 characters");
	assert_string_equal(err.violations[2].field, "body");
	assert_string_equal(err.violations[2].description, "Body is required");
	assert_string_equal(err.violations[3].field, "status");
	assert_string_equal(err.violations[3].description,
			    "Status must be one of draft, published");
	arena_release(&a);
}

static void search_rules(void **state)
{
	static const char *const served[] = {
		"abc", "x abc y", "100%", "ZEB", "\xc3\xa9t\xc3\xa9", "\xd0\xb4\xd0\xb0\xd1\x82",
		"a1b"
	};
	static const char *const refused[] = {
		"",          "a",
		"ab",        "%",
		"_",         "%%%",
		"___",       "a_b",
		"a b c",     "   ",
		"\xc3\xa9t", "\xff\xfe\xfd",
		"--x--",     "\xe2\x80\x94\xe2\x80\x94\xe2\x80\x94"
	};

	(void)state;
	for (size_t i = 0; i < sizeof(served) / sizeof(served[0]); i++)
		assert_true(posts_search_indexable(served[i]));
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (posts_search_indexable(refused[i]))
			fail_msg("q \"%s\" is served", refused[i]);
	}
}

static void mask_rules(void **state)
{
	const char *good[] = { "title", "status" }, *bad[] = { "body", "version" };
	struct app_error err;
	unsigned fields;

	(void)state;
	app_error_init(&err);
	assert_true(posts_parse_mask(good, 2, &fields, &err));
	assert_int_equal(fields, POST_FIELD_TITLE | POST_FIELD_STATUS);
	assert_true(posts_parse_mask(NULL, 0, &fields, &err));
	assert_int_equal(fields, 0);
	assert_false(posts_parse_mask(bad, 2, &fields, &err));
	assert_int_equal(err.nviolations, 1);
	assert_string_equal(err.violations[0].field, "version");
}

/* Who may create a post (API.md §2: write:posts), as a table: update:posts
 * alone (a moderator's key limited to it) is not enough. */
static void create_permissions(void **state)
{
	static const struct {
		int64_t id;
		const char *role;
		int key_perm; /* -1: the role's whole set */
		enum err_code want;
	} rows[] = {
		{ 0, "user", -1, ERR_UNAUTHORIZED },
		{ 7, "user", -1, ERR_OK },
		{ 7, "moderator", -1, ERR_OK },
		{ 7, "admin", -1, ERR_OK },
		{ 7, "user", PERM_WRITE_POSTS, ERR_OK },
		{ 7, "user", PERM_READ_POSTS, ERR_FORBIDDEN },
		{ 7, "moderator", PERM_UPDATE_POSTS, ERR_FORBIDDEN },
		{ 7, "user", PERM_WRITE_COMMENTS, ERR_FORBIDDEN },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct principal p = rows[i].key_perm < 0
					     ? who(rows[i].id, rows[i].role)
					     : key(rows[i].id, (enum perm)rows[i].key_perm);
		struct app_error err;

		app_error_init(&err);
		posts_may_create_post(&p, &err);
		if (err.code != rows[i].want)
			fail_msg("row %zu: got %s, want %s", i, err_name(err.code),
				 err_name(rows[i].want));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(draft_visibility),    cmocka_unit_test(list_scopes),
		cmocka_unit_test(post_permissions),    cmocka_unit_test(create_permissions),
		cmocka_unit_test(comment_permissions), cmocka_unit_test(published_at_transitions),
		cmocka_unit_test(field_rules),         cmocka_unit_test(mask_rules),
		cmocka_unit_test(search_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
