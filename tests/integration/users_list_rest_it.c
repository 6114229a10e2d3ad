/* users_list_rest_it.c - GET /api/v1/users through the REST gateway
 * (exact pagination maths, filters, sorting, malformed queries, permissions)
 * and what every users route shares: routing (404, 405 with Allow) and
 * X-Request-Id (reused when sane, generated otherwise, on every response).
 * API.md §1, §2 and §6 are the spec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "it.h"
#include "support/http.h"
#include "util.h"

#define METHODS FIELDS

#define GW_IT_NAME "users_list_rest_it"
#include "support/gw_fixture.h"

static char *moderator_token(void)
{
	return it_token(G.admin_id + 200000, "mod@example.com", "moderator");
}

/* ---- GET /users -------------------------------------------------------------------- */

/* Fetches path with token as a list and returns it (asserting the shape). */
static struct it_http_result list(const char *path, const char *token)
{
	struct it_http_result r = call("GET", path, token, NULL);

	assert_true(it_http_is_list(&r));
	for (size_t i = 0; i < json_array_size(it_data(&r)); i++)
		assert_true(it_json_is_user(json_array_get(it_data(&r), i)));
	return r;
}

static void assert_page(const struct it_http_result *r, int64_t page, int64_t limit, int64_t total,
			int64_t total_pages, bool has_next, bool has_prev, size_t n)
{
	const json_t *p = json_object_get(r->json, "pagination");

	assert_int_equal(it_json_int(p, "page"), page);
	assert_int_equal(it_json_int(p, "limit"), limit);
	assert_int_equal(it_json_int(p, "total"), total);
	assert_int_equal(it_json_int(p, "totalPages"), total_pages);
	assert_int_equal(json_is_true(json_object_get(p, "hasNext")), has_next);
	assert_int_equal(json_is_true(json_object_get(p, "hasPrev")), has_prev);
	assert_int_equal(json_array_size(it_data(r)), n);
}

/* The emails' first letters after "pager.", in the order listed. */
static void assert_order(const struct it_http_result *r, const char *letters)
{
	char got[16] = "";

	for (size_t i = 0; i < json_array_size(it_data(r)) && i < sizeof(got) - 1; i++)
		got[i] = it_json_str(json_array_get(it_data(r), i), "email")[6];
	assert_string_equal(got, letters);
}

static void list_users_paginates_exactly(void **state)
{
	char *tm = moderator_token();
	struct it_http_result r;

	it_gateway_sign_up(&G, "pager.c@example.com", "Pager C");
	it_gateway_sign_up(&G, "pager.a@example.com", "Pager A");
	it_gateway_sign_up(&G, "pager.e@example.com", "Pager E");
	it_gateway_sign_up(&G, "pager.b@example.com", "Pager B");
	it_gateway_sign_up(&G, "pager.d@example.com", "Pager D");

	r = list("/users?name=pager", tm); /* defaults: page 1, limit 20, -createdAt */
	assert_page(&r, 1, 20, 5, 1, false, false, 5);
	assert_order(&r, "dbeac");
	it_http_release(&r);
	r = list("/users?name=pager&limit=2", tm);
	assert_page(&r, 1, 2, 5, 3, true, false, 2);
	it_http_release(&r);
	r = list("/users?name=pager&limit=2&page=2", tm);
	assert_page(&r, 2, 2, 5, 3, true, true, 2);
	it_http_release(&r);
	r = list("/users?page=3&name=pager&limit=2", tm);
	assert_page(&r, 3, 2, 5, 3, false, true, 1);
	assert_order(&r, "c");
	it_http_release(&r);
	r = list("/users?name=pager&limit=2&page=4", tm); /* past the end */
	assert_page(&r, 4, 2, 5, 3, false, true, 0);
	it_http_release(&r);
	r = list("/users?name=pager&limit=1", tm);
	assert_page(&r, 1, 1, 5, 5, true, false, 1);
	it_http_release(&r);
	r = list("/users?name=pager&limit=100", tm);
	assert_page(&r, 1, 100, 5, 1, false, false, 5);
	it_http_release(&r);
	r = list("/users?name=nobody-is-called-this", tm);
	assert_page(&r, 1, 20, 0, 0, false, false, 0);
	it_http_release(&r);
	free(tm);
}

static void list_users_filters_and_sorts(void **state)
{
	char *tm = moderator_token();
	struct it_http_result r;

	assert_true(it_sql_exec(G.db,
				"UPDATE users.users SET is_active = false, role = 'moderator' "
				"WHERE email = 'pager.e@example.com'"));
	it_gateway_sign_up(&G, "percent.1@example.com", "Percent 100% Sign");
	it_gateway_sign_up(&G, "percent.2@example.com", "Percent 1000 Sign");

	r = list("/users?name=pager&sort=name", tm);
	assert_order(&r, "abcde");
	it_http_release(&r);
	r = list("/users?name=pager&sort=-name", tm);
	assert_order(&r, "edcba");
	it_http_release(&r);
	r = list("/users?name=pager&sort=email&limit=3&page=2", tm);
	assert_order(&r, "de");
	it_http_release(&r);
	r = list("/users?name=pager&sort=createdAt", tm);
	assert_order(&r, "caebd");
	it_http_release(&r);
	r = list("/users?name=PAGER%20a", tm); /* case-insensitive substring, decoded */
	assert_order(&r, "a");
	it_http_release(&r);
	r = list("/users?email=PAGER.B%40Example.COM", tm); /* exact, case-insensitive */
	assert_order(&r, "b");
	it_http_release(&r);
	r = list("/users?email=pager", tm); /* not a substring match */
	assert_page(&r, 1, 20, 0, 0, false, false, 0);
	it_http_release(&r);
	r = list("/users?name=pager&status=inactive", tm);
	assert_order(&r, "e");
	it_http_release(&r);
	r = list("/users?name=pager&status=active&sort=name", tm);
	assert_order(&r, "abcd");
	it_http_release(&r);
	r = list("/users?name=pager&role=moderator", tm);
	assert_order(&r, "e");
	it_http_release(&r);
	r = list("/users?name=pager&role=admin", tm);
	assert_page(&r, 1, 20, 0, 0, false, false, 0);
	it_http_release(&r);
	r = list("/users?name=100%25", tm); /* % is literal */
	assert_page(&r, 1, 20, 1, 1, false, false, 1);
	assert_string_equal(it_json_str(json_array_get(it_data(&r), 0), "name"),
			    "Percent 100% Sign");
	it_http_release(&r);
	r = list("/users?name=pager&foo=bar&utm_source=x", tm); /* unknown parameters ignored */
	assert_page(&r, 1, 20, 5, 1, false, false, 5);
	it_http_release(&r);
	free(tm);
}

static void list_users_malformed_query_is_400(void **state)
{
	static const char *const queries[] = {
		"page=abc",      "page=0",          "page=-1",
		"page=1.5",      "limit=0",         "limit=101",
		"limit=abc",     "sort=bogus",      "sort=password",
		"sort=-",        "status=bogus",    "role=superuser",
		"page=1&page=2", "limit=5&limit=5", "sort=name&sort=email",
	};
	char *tm = moderator_token();
	char path[128];

	for (size_t i = 0; i < ARRAY_SIZE(queries); i++) {
		snprintf(path, sizeof(path), "/users?%s", queries[i]);
		fprintf(stderr, "GET %s\n", path);
		it_expect_error(call("GET", path, tm, NULL), 400, "BAD_REQUEST", IT_ANY_DETAILS);
	}
	free(tm);
}

static void list_users_needs_read_users(void **state)
{
	char *tu = it_token(G.admin_id + 300000, "plain@example.com", "user");
	struct it_http_result r;

	it_expect_error(call("GET", "/users", tu, NULL), 403, "FORBIDDEN", NO_DETAILS);
	r = call("GET", "/users", NULL, NULL);
	assert_true(it_http_is_error(&r, 401, "UNAUTHORIZED", NO_DETAILS));
	assert_non_null(it_http_header(&r, "WWW-Authenticate"));
	assert_true(strncmp(it_http_header(&r, "WWW-Authenticate"), "Bearer", 6) == 0);
	it_http_release(&r);
	r = list("/users?limit=1", G.admin_token);
	it_http_release(&r);
	free(tu);
}

/* ---- routes ----------------------------------------------------------------------------- */

/* Whether the comma-separated list names method. */
static bool lists_method(const char *list, const char *method)
{
	size_t len = strlen(method);

	for (const char *p = list; *p;) {
		size_t n;

		p += strspn(p, ", ");
		n = strcspn(p, ", ");
		if (n == len && strncmp(p, method, n) == 0)
			return true;
		p += n;
	}
	return false;
}

/* The Allow header names exactly want, and nothing else but HEAD/OPTIONS. */
static void assert_allow(const struct it_http_result *r, const char *const *want)
{
	static const char *const all[] = { "GET", "POST", "PUT", "PATCH", "DELETE" };
	const char *allow = it_http_header(r, "Allow");

	assert_non_null(allow);
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		bool wanted = false;

		for (size_t j = 0; want[j]; j++)
			wanted = wanted || strcmp(want[j], all[i]) == 0;
		if (wanted != lists_method(allow, all[i]))
			fail_msg("Allow: %s %s %s", allow, wanted ? "lacks" : "names", all[i]);
	}
}

static void unknown_routes_are_404_and_wrong_methods_405(void **state)
{
	struct it_http_result r;

	it_expect_error(call("GET", "/nope", NULL, NULL), 404, "NOT_FOUND", NO_DETAILS);
	it_expect_error(call("GET", "/users/", G.admin_token, NULL), 404, "NOT_FOUND", NO_DETAILS);
	it_expect_error(call("GET", "/users/1/nope", G.admin_token, NULL), 404, "NOT_FOUND",
			NO_DETAILS);
	it_expect_error(call("GET", "/health", NULL, NULL), 404, "NOT_FOUND", NO_DETAILS);

	/* route before credentials: no token and still 405 */
	r = call("DELETE", "/users", NULL, NULL);
	assert_true(it_http_is_error(&r, 405, "METHOD_NOT_ALLOWED", NO_DETAILS));
	assert_allow(&r, METHODS("GET", "POST"));
	it_http_release(&r);
	r = call("POST", "/users/5", G.admin_token, "{}");
	assert_true(it_http_is_error(&r, 405, "METHOD_NOT_ALLOWED", NO_DETAILS));
	assert_allow(&r, METHODS("GET", "PUT", "PATCH", "DELETE"));
	it_http_release(&r);
	r = call("GET", "/users/me/password", G.admin_token, NULL);
	assert_true(it_http_is_error(&r, 405, "METHOD_NOT_ALLOWED", NO_DETAILS));
	assert_allow(&r, METHODS("POST"));
	it_http_release(&r);
}

/* ---- X-Request-Id ----------------------------------------------------------------------- */

/* Lists users sending X-Request-Id: sent (NULL: none); returns the id the
 * gateway used (malloc'd). */
static char *request_id_for(const char *sent)
{
	char header[160];
	const char *h[] = { header, NULL };
	struct it_http_result r;
	char *id;

	snprintf(header, sizeof(header), "X-Request-Id: %s", sent ? sent : "");
	r = call_h("GET", "/users?limit=1", G.admin_token, sent ? h : NULL, NULL);
	assert_true(it_http_is_list(&r));
	id = xstrdup(it_http_header(&r, "X-Request-Id"));
	it_http_release(&r);
	return id;
}

static void request_ids_are_reused_only_when_sane(void **state)
{
	static const char *const insane[] = { "has space", "semi;colon", "q\"uote", "<tag>",
					      "\xc3\xa9t\xc3\xa9" };
	char sane64[65], insane65[66], *id, *id2;

	memset(sane64, 'a', 64);
	sane64[64] = '\0';
	memset(insane65, 'b', 65);
	insane65[65] = '\0';

	id = request_id_for("abc.DEF_1-2");
	assert_string_equal(id, "abc.DEF_1-2");
	free(id);
	id = request_id_for(sane64);
	assert_string_equal(id, sane64);
	free(id);
	for (size_t i = 0; i < ARRAY_SIZE(insane); i++) {
		id = request_id_for(insane[i]);
		assert_true(it_generated_request_id(id));
		free(id);
	}
	id = request_id_for(insane65);
	assert_true(it_generated_request_id(id));
	free(id);
	id = request_id_for(NULL);
	id2 = request_id_for(NULL);
	assert_true(it_generated_request_id(id));
	assert_true(it_generated_request_id(id2));
	assert_string_not_equal(id, id2);
	free(id);
	free(id2);
}

static void every_error_carries_the_request_id(void **state)
{
	const char *const h[] = { "X-Request-Id: it-err-1", NULL };
	const char *const typed[] = { "X-Request-Id: it-err-1", "Content-Type: text/plain", NULL };
	char *big = xmalloc(IT_GW_MAX_BODY + 16);
	struct it_http_result r[7];

	memset(big, ' ', IT_GW_MAX_BODY + 15);
	big[0] = '{';
	memcpy(big + IT_GW_MAX_BODY + 14, "}", 2);
	r[0] = call_h("GET", "/nope", NULL, h, NULL);               /* 404 */
	r[1] = call_h("DELETE", "/users", NULL, h, NULL);           /* 405 */
	r[2] = call_h("GET", "/users/me", NULL, h, NULL);           /* 401 */
	r[3] = call_h("POST", "/users", NULL, h, "{");              /* 400 INVALID_JSON */
	r[4] = call_h("GET", "/users/abc", G.admin_token, h, NULL); /* 400 BAD_REQUEST */
	r[5] = call_h("POST", "/users", NULL, typed, "{}");         /* 415 */
	r[6] = call_h("POST", "/users", NULL, h, big);              /* 413 */
	for (size_t i = 0; i < ARRAY_SIZE(r); i++) {
		fprintf(stderr, "error #%zu: HTTP %ld\n", i, r[i].status);
		assert_true(r[i].status >= 400);
		assert_non_null(it_http_header(&r[i], "X-Request-Id"));
		assert_string_equal(it_http_header(&r[i], "X-Request-Id"), "it-err-1");
		assert_true(it_meta_ok(&r[i], json_object_get(r[i].json, "meta")));
		it_http_release(&r[i]);
	}
	assert_int_equal(r[5].status, 415);
	assert_int_equal(r[6].status, 413);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(list_users_paginates_exactly),
		cmocka_unit_test(list_users_filters_and_sorts),
		cmocka_unit_test(list_users_malformed_query_is_400),
		cmocka_unit_test(list_users_needs_read_users),
		cmocka_unit_test(unknown_routes_are_404_and_wrong_methods_405),
		cmocka_unit_test(request_ids_are_reused_only_when_sane),
		cmocka_unit_test(every_error_carries_the_request_id),
	};

	return cmocka_run_group_tests(tests, gw_setup, gw_teardown);
}
