/* gateway_envelope_test.c - the three envelopes of API.md §1, byte for byte. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "envelope.h"
#include "err.h"
#include "validate.h"

/* 2026-01-15T10:30:00.123Z */
#define NOW_MS INT64_C(1768473000123)
#define META                                                                       \
	"\"meta\":{\"timestamp\":\"2026-01-15T10:30:00.123Z\",\"version\":\"v1\"," \
	"\"requestId\":\"req_abc\"}"

static const struct envelope_meta meta = { .version = "v1",
					   .request_id = "req_abc",
					   .now_ms = NOW_MS };

static void check(char *got, size_t len, const char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(got);
}

static void test_success_object(void **state)
{
	size_t len = 0;
	char *s = envelope_success(&meta,
				   json_pack("{s:I,s:s}", "id", (json_int_t)12, "name", "Ann"),
				   &len);

	check(s, len, "{\"success\":true,\"data\":{\"id\":12,\"name\":\"Ann\"}," META "}");
}

static void test_success_null_data(void **state)
{
	size_t len = 0;
	char *s = envelope_success(&meta, NULL, &len);

	check(s, len, "{\"success\":true,\"data\":null," META "}");
}

static void test_list(void **state)
{
	struct page_info p = { .page = 2,
			       .limit = 20,
			       .total = 150,
			       .total_pages = 8,
			       .has_next = true,
			       .has_prev = true };
	size_t len = 0;
	char *s = envelope_list(&meta, json_pack("[{s:i},{s:i}]", "id", 1, "id", 2), &p, &len);

	check(s, len,
	      "{\"success\":true,\"data\":[{\"id\":1},{\"id\":2}],"
	      "\"pagination\":{\"page\":2,\"limit\":20,\"total\":150,\"totalPages\":8,"
	      "\"hasNext\":true,\"hasPrev\":true}," META "}");
}

static void test_list_empty(void **state)
{
	struct page_info p = { .page = 1, .limit = 20 };
	size_t len = 0;
	char *s = envelope_list(&meta, json_array(), &p, &len);

	check(s, len,
	      "{\"success\":true,\"data\":[],"
	      "\"pagination\":{\"page\":1,\"limit\":20,\"total\":0,\"totalPages\":0,"
	      "\"hasNext\":false,\"hasPrev\":false}," META "}");
}

static void test_error_without_details(void **state)
{
	struct app_error e;
	size_t len = 0;
	char *s;

	app_error_init(&e);
	app_error_set(&e, ERR_NOT_FOUND, "User %d not found", 7);
	s = envelope_error(&meta, &e, &len);
	check(s, len,
	      "{\"success\":false,\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"User 7 not found\"}," META
	      "}");
}

static void test_error_with_details(void **state)
{
	struct app_error e;
	size_t len = 0;
	char *s;

	app_error_init(&e);
	app_error_set(&e, ERR_VALIDATION_ERROR, NULL);
	app_error_add_violation(&e, "email", "Invalid email format");
	app_error_add_violation(&e, "name", "Must be at most %d characters", 100);
	s = envelope_error(&meta, &e, &len);
	check(s, len,
	      "{\"success\":false,\"error\":{\"code\":\"VALIDATION_ERROR\","
	      "\"message\":\"Invalid input data\",\"details\":["
	      "{\"field\":\"email\",\"message\":\"Invalid email format\"},"
	      "{\"field\":\"name\",\"message\":\"Must be at most 100 characters\"}]}," META "}");
}

/* An empty message (a struct filled by hand) falls back to the table's text. */
static void test_error_default_message(void **state)
{
	struct app_error e;
	size_t len = 0;
	char *s;

	app_error_init(&e);
	e.code = ERR_PAYLOAD_TOO_LARGE;
	s = envelope_error(&meta, &e, &len);
	check(s, len,
	      "{\"success\":false,\"error\":{\"code\":\"PAYLOAD_TOO_LARGE\","
	      "\"message\":\"Request body is too large\"}," META "}");
}

/* Text that is not UTF-8 (from upstream) still gives valid JSON. */
static void test_error_invalid_utf8(void **state)
{
	struct app_error e;
	size_t len = 0;
	json_t *j;
	char *s;

	app_error_init(&e);
	app_error_set(&e, ERR_BAD_REQUEST, "bad \xff byte \"q\"");
	s = envelope_error(&meta, &e, &len);
	assert_non_null(s);
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(
				    json_object_get(json_object_get(j, "error"), "message")),
			    "bad \xEF\xBF\xBD byte \"q\"");
	json_decref(j);
	free(s);
}

/* now_ms 0 means the current time: a well-formed RFC 3339 UTC timestamp. */
static void test_meta_now(void **state)
{
	struct envelope_meta m = { .version = "v2", .request_id = "r-1" };
	const char *ts;
	json_t *j, *meta_obj;
	char *s = envelope_success(&m, json_object(), NULL);

	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	meta_obj = json_object_get(j, "meta");
	assert_int_equal(json_object_size(meta_obj), 3);
	assert_string_equal(json_string_value(json_object_get(meta_obj, "version")), "v2");
	assert_string_equal(json_string_value(json_object_get(meta_obj, "requestId")), "r-1");
	ts = json_string_value(json_object_get(meta_obj, "timestamp"));
	assert_non_null(ts);
	assert_int_equal(strlen(ts), 24);
	assert_true(strncmp(ts, "20", 2) == 0);
	assert_int_equal(ts[10], 'T');
	assert_int_equal(ts[19], '.');
	assert_int_equal(ts[23], 'Z');
	json_decref(j);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success_object),
		cmocka_unit_test(test_success_null_data),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_empty),
		cmocka_unit_test(test_error_without_details),
		cmocka_unit_test(test_error_with_details),
		cmocka_unit_test(test_error_default_message),
		cmocka_unit_test(test_error_invalid_utf8),
		cmocka_unit_test(test_meta_now),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
