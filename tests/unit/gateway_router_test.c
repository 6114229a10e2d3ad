/* gateway_router_test.c - route matching, params, 404 vs 405 + Allow, and
 * the route table's own consistency. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "router.h"
#include "routes.h"
#include "transcode.h"

static enum router_result match(const char *method, const char *path, struct route_match *m,
				char *allow)
{
	return router_match(routes, routes_count, method, path, m, allow, 64);
}

static void finds_routes_and_params(void **state)
{
	struct route_match m;
	char allow[64];

	assert_int_equal(match("GET", "/users/42", &m, allow), ROUTER_FOUND);
	assert_string_equal(m.route->rpc, "/agentos.users.v1.UsersService/GetUser");
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.params[0].name, "id");
	assert_string_equal(m.params[0].value, "42");

	assert_int_equal(match("POST", "/users/me/password", &m, allow), ROUTER_FOUND);
	assert_string_equal(m.route->rpc, "/agentos.users.v1.UsersService/ChangePassword");
	assert_string_equal(m.params[0].value, "me");

	assert_int_equal(match("POST", "/users", &m, allow), ROUTER_FOUND);
	assert_int_equal(m.route->status, 201);
	assert_int_equal(m.nparams, 0);
}

static void unknown_paths_are_404(void **state)
{
	struct route_match m;
	char allow[64];

	assert_int_equal(match("GET", "/users/", &m, allow), ROUTER_NOT_FOUND); /* trailing slash */
	assert_int_equal(match("GET", "/users//1", &m, allow), ROUTER_NOT_FOUND);
	assert_int_equal(match("GET", "/nope", &m, allow), ROUTER_NOT_FOUND);
	assert_int_equal(match("GET", "", &m, allow), ROUTER_NOT_FOUND);
	assert_int_equal(match("GET", "users", &m, allow), ROUTER_NOT_FOUND);
	assert_int_equal(match("GET", "/users/1/password/x", &m, allow), ROUTER_NOT_FOUND);
	assert_int_equal(match("GET", "/Users", &m, allow), ROUTER_NOT_FOUND); /* case matters */
}

static void wrong_method_is_405_with_allow(void **state)
{
	struct route_match m;
	char allow[64];

	assert_int_equal(match("DELETE", "/users", &m, allow), ROUTER_METHOD_NOT_ALLOWED);
	assert_string_equal(allow, "POST, GET");
	assert_int_equal(match("POST", "/users/7", &m, allow), ROUTER_METHOD_NOT_ALLOWED);
	assert_string_equal(allow, "GET, PUT, PATCH, DELETE");
	assert_int_equal(match("GET", "/users/7/password", &m, allow), ROUTER_METHOD_NOT_ALLOWED);
	assert_string_equal(allow, "POST");
}

static void long_segments_do_not_overflow(void **state)
{
	char path[200];
	struct route_match m;
	char allow[64];

	memset(path, 'x', sizeof(path));
	path[0] = '/';
	memcpy(path, "/users/", 7);
	path[199] = '\0';
	assert_int_equal(match("GET", path, &m, allow), ROUTER_NOT_FOUND);
}

/* Every row's named fields exist in its messages, so a typo in the table
 * fails here rather than as a 500 in production. */
static void table_is_consistent(void **state)
{
	for (size_t i = 0; i < routes_count; i++) {
		const struct route *r = &routes[i];
		const char *p = r->pattern;

		assert_non_null(r->request);
		assert_non_null(r->reply);
		assert_true(r->status == 200 || r->status == 201 || r->status == 204);
		assert_true((r->reply_kind == REPLY_EMPTY) == (r->status == 204));
		while ((p = strchr(p, ':')) != NULL) {
			char name[32];
			size_t n = strcspn(p + 1, "/");

			memcpy(name, p + 1, n);
			name[n] = '\0';
			assert_non_null(transcode_field(r->request, name));
			p += n;
		}
		for (size_t q = 0; q < ROUTE_MAX_QUERY && r->query[q].name; q++)
			assert_non_null(transcode_field(r->request, r->query[q].name));
		if (r->body_field)
			assert_non_null(transcode_field(r->request, r->body_field));
		if (r->update != UPDATE_NONE)
			assert_non_null(transcode_field(r->request, "update_mask"));
		if (r->versioned)
			assert_non_null(transcode_field(r->request, "version"));
		if (r->reply_kind == REPLY_LIST) {
			assert_non_null(transcode_field(r->reply, r->list_field));
			assert_non_null(transcode_field(r->reply, "pagination"));
		}
		if (r->etag)
			assert_non_null(transcode_field(r->reply, "version"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(finds_routes_and_params),
		cmocka_unit_test(unknown_paths_are_404),
		cmocka_unit_test(wrong_method_is_405_with_allow),
		cmocka_unit_test(long_segments_do_not_overflow),
		cmocka_unit_test(table_is_consistent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
