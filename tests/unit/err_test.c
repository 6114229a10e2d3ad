/* err_test.c - the error table against API.md: every code's name, HTTP status
 * and gRPC status; the gateway's status -> code fallback (§3); app_error. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "err.h"

/* API.md §1 "Status codes and error codes", written out independently of err.h. */
static const struct {
	enum err_code code;
	const char *name;
	int http;
	grpc_status_code grpc;
} expected[] = {
	{ ERR_OK, "OK", 200, GRPC_STATUS_OK },
	{ ERR_INVALID_JSON, "INVALID_JSON", 400, GRPC_STATUS_INVALID_ARGUMENT },
	{ ERR_BAD_REQUEST, "BAD_REQUEST", 400, GRPC_STATUS_INVALID_ARGUMENT },
	{ ERR_UNAUTHORIZED, "UNAUTHORIZED", 401, GRPC_STATUS_UNAUTHENTICATED },
	{ ERR_TOKEN_EXPIRED, "TOKEN_EXPIRED", 401, GRPC_STATUS_UNAUTHENTICATED },
	{ ERR_TOKEN_REVOKED, "TOKEN_REVOKED", 401, GRPC_STATUS_UNAUTHENTICATED },
	{ ERR_INVALID_CREDENTIALS, "INVALID_CREDENTIALS", 401, GRPC_STATUS_UNAUTHENTICATED },
	{ ERR_FORBIDDEN, "FORBIDDEN", 403, GRPC_STATUS_PERMISSION_DENIED },
	{ ERR_ACCOUNT_DISABLED, "ACCOUNT_DISABLED", 403, GRPC_STATUS_PERMISSION_DENIED },
	{ ERR_NOT_FOUND, "NOT_FOUND", 404, GRPC_STATUS_NOT_FOUND },
	{ ERR_METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", 405, GRPC_STATUS_UNIMPLEMENTED },
	{ ERR_DUPLICATE_RESOURCE, "DUPLICATE_RESOURCE", 409, GRPC_STATUS_ALREADY_EXISTS },
	{ ERR_VERSION_CONFLICT, "VERSION_CONFLICT", 409, GRPC_STATUS_ABORTED },
	{ ERR_CONFLICT, "CONFLICT", 409, GRPC_STATUS_ABORTED },
	{ ERR_REQUEST_TIMEOUT, "REQUEST_TIMEOUT", 408, GRPC_STATUS_DEADLINE_EXCEEDED },
	{ ERR_PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", 413, GRPC_STATUS_OUT_OF_RANGE },
	{ ERR_URI_TOO_LONG, "URI_TOO_LONG", 414, GRPC_STATUS_INVALID_ARGUMENT },
	{ ERR_UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", 415, GRPC_STATUS_INVALID_ARGUMENT },
	{ ERR_VALIDATION_ERROR, "VALIDATION_ERROR", 422, GRPC_STATUS_INVALID_ARGUMENT },
	{ ERR_FOREIGN_KEY_VIOLATION, "FOREIGN_KEY_VIOLATION", 422,
	  GRPC_STATUS_FAILED_PRECONDITION },
	{ ERR_REQUIRED_FIELD_MISSING, "REQUIRED_FIELD_MISSING", 422,
	  GRPC_STATUS_FAILED_PRECONDITION },
	{ ERR_RATE_LIMIT_EXCEEDED, "RATE_LIMIT_EXCEEDED", 429, GRPC_STATUS_RESOURCE_EXHAUSTED },
	{ ERR_INTERNAL_ERROR, "INTERNAL_ERROR", 500, GRPC_STATUS_INTERNAL },
	{ ERR_DATABASE_ERROR, "DATABASE_ERROR", 500, GRPC_STATUS_INTERNAL },
	{ ERR_NOT_IMPLEMENTED, "NOT_IMPLEMENTED", 501, GRPC_STATUS_UNIMPLEMENTED },
	{ ERR_SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", 503, GRPC_STATUS_UNAVAILABLE },
	{ ERR_GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT", 504, GRPC_STATUS_DEADLINE_EXCEEDED },
};

#define NEXPECTED (sizeof(expected) / sizeof(expected[0]))

static void test_table_matches_api(void **state)
{
	/* Every code is listed once, so a new row without a test fails here. */
	assert_int_equal(NEXPECTED, ERR__COUNT);
	for (size_t i = 0; i < NEXPECTED; i++) {
		enum err_code c = expected[i].code;

		assert_string_equal(err_name(c), expected[i].name);
		if (err_http_status(c) != expected[i].http)
			fail_msg("%s: HTTP %d, API.md says %d", expected[i].name,
				 err_http_status(c), expected[i].http);
		if (err_grpc_status(c) != expected[i].grpc)
			fail_msg("%s: gRPC status %d, expected %d", expected[i].name,
				 err_grpc_status(c), expected[i].grpc);
		assert_non_null(err_default_message(c));
		assert_true(strlen(err_default_message(c)) > 0);
		assert_true(strlen(err_default_message(c)) < ERR_MESSAGE_MAX);
	}
	assert_string_equal(err_default_message(ERR_VALIDATION_ERROR), "Invalid input data");
}

static void test_name_round_trip(void **state)
{
	for (int c = 0; c < ERR__COUNT; c++) {
		enum err_code back = ERR__COUNT;

		assert_true(err_from_name(err_name((enum err_code)c), &back));
		assert_int_equal(back, c);
		/* Names are distinct. */
		for (int d = 0; d < c; d++)
			assert_string_not_equal(err_name((enum err_code)c),
						err_name((enum err_code)d));
	}
}

static void test_unknown_names_and_codes(void **state)
{
	enum err_code out = ERR_NOT_FOUND;

	assert_false(err_from_name("NOPE", &out));
	assert_false(err_from_name("not_found", &out));
	assert_false(err_from_name("NOT_FOUND ", &out));
	assert_false(err_from_name("", &out));
	assert_false(err_from_name(NULL, &out));
	assert_int_equal(out, ERR_NOT_FOUND);

	/* Out-of-range codes read as the internal error. */
	assert_string_equal(err_name(ERR__COUNT), "INTERNAL_ERROR");
	assert_string_equal(err_name((enum err_code) - 1), "INTERNAL_ERROR");
	assert_int_equal(err_http_status((enum err_code)1000), 500);
	assert_int_equal(err_grpc_status((enum err_code)1000), GRPC_STATUS_INTERNAL);
}

/* API.md §3: the gateway's status -> HTTP mapping when no ErrorInfo came. */
static void test_from_grpc_status(void **state)
{
	static const struct {
		grpc_status_code status;
		bool violations;
		enum err_code code;
		int http;
	} cases[] = {
		{ GRPC_STATUS_OK, false, ERR_OK, 200 },
		{ GRPC_STATUS_INVALID_ARGUMENT, true, ERR_VALIDATION_ERROR, 422 },
		{ GRPC_STATUS_INVALID_ARGUMENT, false, ERR_BAD_REQUEST, 400 },
		{ GRPC_STATUS_NOT_FOUND, false, ERR_NOT_FOUND, 404 },
		{ GRPC_STATUS_ALREADY_EXISTS, false, ERR_DUPLICATE_RESOURCE, 409 },
		{ GRPC_STATUS_ABORTED, false, ERR_CONFLICT, 409 },
		{ GRPC_STATUS_FAILED_PRECONDITION, false, ERR_VALIDATION_ERROR, 422 },
		{ GRPC_STATUS_FAILED_PRECONDITION, true, ERR_VALIDATION_ERROR, 422 },
		{ GRPC_STATUS_UNAUTHENTICATED, false, ERR_UNAUTHORIZED, 401 },
		{ GRPC_STATUS_PERMISSION_DENIED, false, ERR_FORBIDDEN, 403 },
		{ GRPC_STATUS_RESOURCE_EXHAUSTED, false, ERR_RATE_LIMIT_EXCEEDED, 429 },
		{ GRPC_STATUS_UNIMPLEMENTED, false, ERR_NOT_IMPLEMENTED, 501 },
		{ GRPC_STATUS_UNAVAILABLE, false, ERR_SERVICE_UNAVAILABLE, 503 },
		{ GRPC_STATUS_DEADLINE_EXCEEDED, false, ERR_GATEWAY_TIMEOUT, 504 },
		{ GRPC_STATUS_CANCELLED, false, ERR_SERVICE_UNAVAILABLE, 503 },
		{ GRPC_STATUS_UNKNOWN, false, ERR_INTERNAL_ERROR, 500 },
		{ GRPC_STATUS_OUT_OF_RANGE, false, ERR_INTERNAL_ERROR, 500 },
		{ GRPC_STATUS_INTERNAL, false, ERR_INTERNAL_ERROR, 500 },
		{ GRPC_STATUS_DATA_LOSS, false, ERR_INTERNAL_ERROR, 500 },
		{ (grpc_status_code)999, false, ERR_INTERNAL_ERROR, 500 },
		{ (grpc_status_code)-1, false, ERR_INTERNAL_ERROR, 500 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum err_code c = err_from_grpc_status(cases[i].status, cases[i].violations);

		if (c != cases[i].code || err_http_status(c) != cases[i].http)
			fail_msg("status %d (violations %d) -> %s / %d, expected %s / %d",
				 cases[i].status, cases[i].violations, err_name(c),
				 err_http_status(c), err_name(cases[i].code), cases[i].http);
	}
}

/* A service answering with a code's own gRPC status, but no rich details, still
 * reaches the client with that code's HTTP status - except for the codes only
 * the gateway itself produces (it never receives them from a service). */
static void test_status_fallback_keeps_http(void **state)
{
	for (int c = 0; c < ERR__COUNT; c++) {
		enum err_code code = (enum err_code)c;
		enum err_code back;

		if (code == ERR_METHOD_NOT_ALLOWED || code == ERR_PAYLOAD_TOO_LARGE ||
		    code == ERR_UNSUPPORTED_MEDIA_TYPE || code == ERR_REQUEST_TIMEOUT ||
		    code == ERR_URI_TOO_LONG)
			continue;
		back = err_from_grpc_status(err_grpc_status(code), code == ERR_VALIDATION_ERROR);
		if (err_http_status(back) != err_http_status(code))
			fail_msg("%s via gRPC %d comes back as %s (%d)", err_name(code),
				 err_grpc_status(code), err_name(back), err_http_status(back));
	}
}

static void test_app_error_set(void **state)
{
	struct app_error e;
	char longer[600];

	app_error_init(&e);
	assert_int_equal(e.code, ERR_OK);
	assert_string_equal(e.message, "");
	assert_int_equal(e.nviolations, 0);

	assert_int_equal(app_error_set(&e, ERR_NOT_FOUND, NULL), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_string_equal(e.message, "Resource not found");

	assert_int_equal(app_error_set(&e, ERR_BAD_REQUEST, "page %d is %s", 3, "bad"), -1);
	assert_int_equal(e.code, ERR_BAD_REQUEST);
	assert_string_equal(e.message, "page 3 is bad");

	/* Violations survive a later set. */
	app_error_add_violation(&e, "email", "Invalid email format");
	app_error_set(&e, ERR_VALIDATION_ERROR, NULL);
	assert_string_equal(e.message, "Invalid input data");
	assert_int_equal(e.nviolations, 1);
	assert_string_equal(e.violations[0].field, "email");
	assert_string_equal(e.violations[0].description, "Invalid email format");

	/* A long message is cut and terminated. */
	memset(longer, 'm', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	app_error_set(&e, ERR_INTERNAL_ERROR, "%s", longer);
	assert_int_equal(strlen(e.message), ERR_MESSAGE_MAX - 1);

	app_error_init(&e);
	assert_int_equal(e.code, ERR_OK);
	assert_int_equal(e.nviolations, 0);
	assert_string_equal(e.message, "");
}

static void test_violations_capped(void **state)
{
	struct app_error e;
	char field[200];

	app_error_init(&e);
	for (int i = 0; i < ERR_MAX_VIOLATIONS + 5; i++)
		app_error_add_violation(&e, "f", "violation %d", i);
	assert_int_equal(e.nviolations, ERR_MAX_VIOLATIONS);
	assert_string_equal(e.violations[0].description, "violation 0");
	assert_string_equal(e.violations[ERR_MAX_VIOLATIONS - 1].description, "violation 15");

	/* Long field names and descriptions are cut and terminated. */
	app_error_init(&e);
	memset(field, 'f', sizeof(field) - 1);
	field[sizeof(field) - 1] = '\0';
	app_error_add_violation(&e, field, "%s%s", field, field);
	assert_int_equal(e.nviolations, 1);
	assert_int_equal(strlen(e.violations[0].field), ERR_FIELD_MAX - 1);
	assert_int_equal(strlen(e.violations[0].description), ERR_DESC_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_matches_api),
		cmocka_unit_test(test_name_round_trip),
		cmocka_unit_test(test_unknown_names_and_codes),
		cmocka_unit_test(test_from_grpc_status),
		cmocka_unit_test(test_status_fallback_keeps_http),
		cmocka_unit_test(test_app_error_set),
		cmocka_unit_test(test_violations_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
