/* config_test.c - environment parsing: defaults, good values, every kind of
 * malformed value reported with its variable's name, errors collected. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static const char *const test_vars[] = {
	"CFGT_PORT", "CFGT_NEG",  "CFGT_FLAG",   "CFGT_FORMAT",
	"CFGT_TTL",  "CFGT_NAME", "CFGT_SECRET", "GRPC_PORT",
};

static int setup(void **state)
{
	for (size_t i = 0; i < sizeof(test_vars) / sizeof(test_vars[0]); i++)
		unsetenv(test_vars[i]);
	return 0;
}

static void set(const char *name, const char *value)
{
	assert_int_equal(setenv(name, value, 1), 0);
}

static const char *const formats[] = { "json", "pretty", NULL };

static void test_defaults_when_unset_or_empty(void **state)
{
	struct config_reader r;

	config_reader_init(&r);
	assert_int_equal(config_int(&r, "CFGT_PORT", 50051, 1, 65535), 50051);
	assert_true(config_bool(&r, "CFGT_FLAG", true));
	assert_string_equal(config_enum(&r, "CFGT_FORMAT", "json", formats), "json");
	assert_int_equal(config_duration_s(&r, "CFGT_TTL", 86400, 1, 30 * 86400), 86400);
	assert_string_equal(config_str(&r, "CFGT_NAME", "dflt"), "dflt");
	assert_null(config_str(&r, "CFGT_NAME", NULL));

	set("CFGT_PORT", "");
	set("CFGT_FLAG", "");
	set("CFGT_FORMAT", "");
	set("CFGT_TTL", "");
	set("CFGT_NAME", "");
	assert_int_equal(config_int(&r, "CFGT_PORT", 50051, 1, 65535), 50051);
	assert_false(config_bool(&r, "CFGT_FLAG", false));
	assert_string_equal(config_enum(&r, "CFGT_FORMAT", "json", formats), "json");
	assert_int_equal(config_duration_s(&r, "CFGT_TTL", 60, 1, 3600), 60);
	assert_string_equal(config_str(&r, "CFGT_NAME", "dflt"), "dflt");

	assert_int_equal(r.nerrors, 0);
	assert_int_equal(config_reader_finish(&r, stderr), 0);
}

static void test_good_values(void **state)
{
	struct config_reader r;
	const char *const levels[] = { "trace", "info", NULL };
	const char *fmt;

	config_reader_init(&r);
	set("CFGT_PORT", "8080");
	set("CFGT_NEG", "-5");
	set("CFGT_FORMAT", "pretty");
	set("CFGT_TTL", "15m");
	set("CFGT_NAME", "users-service");
	assert_int_equal(config_int(&r, "CFGT_PORT", 1, 1, 65535), 8080);
	assert_int_equal(config_int(&r, "CFGT_NEG", 0, -10, 10), -5);
	fmt = config_enum(&r, "CFGT_FORMAT", "json", formats);
	assert_ptr_equal(fmt, formats[1]); /* the table's own storage */
	assert_int_equal(config_duration_s(&r, "CFGT_TTL", 1, 1, 86400), 900);
	assert_string_equal(config_str(&r, "CFGT_NAME", "x"), "users-service");
	set("CFGT_PORT", "1");
	assert_int_equal(config_int(&r, "CFGT_PORT", 7, 1, 65535), 1);
	set("CFGT_PORT", "65535");
	assert_int_equal(config_int(&r, "CFGT_PORT", 7, 1, 65535), 65535);
	set("CFGT_FORMAT", "trace");
	assert_string_equal(config_enum(&r, "CFGT_FORMAT", "info", levels), "trace");
	assert_int_equal(r.nerrors, 0);
}

static void test_bool_spellings(void **state)
{
	const char *const yes[] = { "true", "TRUE", "1", "yes", "Yes", "on", "ON" };
	const char *const no[] = { "false", "False", "0", "no", "NO", "off", "Off" };
	struct config_reader r;

	config_reader_init(&r);
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		set("CFGT_FLAG", yes[i]);
		assert_true(config_bool(&r, "CFGT_FLAG", false));
		set("CFGT_FLAG", no[i]);
		assert_false(config_bool(&r, "CFGT_FLAG", true));
	}
	assert_int_equal(r.nerrors, 0);

	set("CFGT_FLAG", "maybe");
	assert_true(config_bool(&r, "CFGT_FLAG", true));
	assert_int_equal(r.nerrors, 1);
	assert_string_equal(
		r.errors[0],
		"CFGT_FLAG: \"maybe\" is not a boolean (true/false, 1/0, yes/no, on/off)");
}

/* One malformed integer: default returned, one error with the exact text. */
static void check_bad_int(const char *value, int64_t min, int64_t max, const char *expect)
{
	struct config_reader r;

	config_reader_init(&r);
	set("GRPC_PORT", value);
	assert_int_equal(config_int(&r, "GRPC_PORT", 50051, min, max), 50051);
	assert_int_equal(r.nerrors, 1);
	assert_string_equal(r.errors[0], expect);
}

static void test_malformed_integers(void **state)
{
	check_bad_int("80x", 1, 65535, "GRPC_PORT: \"80x\" is not an integer in 1..65535");
	check_bad_int("0", 1, 65535, "GRPC_PORT: \"0\" is not an integer in 1..65535");
	check_bad_int("65536", 1, 65535, "GRPC_PORT: \"65536\" is not an integer in 1..65535");
	check_bad_int("-1", 1, 65535, "GRPC_PORT: \"-1\" is not an integer in 1..65535");
	check_bad_int(" 80", 1, 65535, "GRPC_PORT: \" 80\" is not an integer in 1..65535");
	check_bad_int("80 ", 1, 65535, "GRPC_PORT: \"80 \" is not an integer in 1..65535");
	check_bad_int("+80", 1, 65535, "GRPC_PORT: \"+80\" is not an integer in 1..65535");
	check_bad_int("8.5", 1, 65535, "GRPC_PORT: \"8.5\" is not an integer in 1..65535");
	check_bad_int("-", 1, 65535, "GRPC_PORT: \"-\" is not an integer in 1..65535");
	check_bad_int("99999999999999999999", INT64_MIN, INT64_MAX,
		      "GRPC_PORT: \"99999999999999999999\" is not an integer in "
		      "-9223372036854775808..9223372036854775807");
	check_bad_int("-9223372036854775809", INT64_MIN, INT64_MAX,
		      "GRPC_PORT: \"-9223372036854775809\" is not an integer in "
		      "-9223372036854775808..9223372036854775807");
	/* Control characters are shown, not written raw to the terminal. */
	check_bad_int("8\n0", 1, 65535, "GRPC_PORT: \"8\\x0a0\" is not an integer in 1..65535");
}

static void test_extreme_integers(void **state)
{
	struct config_reader r;

	config_reader_init(&r);
	set("CFGT_NEG", "9223372036854775807");
	assert_true(config_int(&r, "CFGT_NEG", 0, INT64_MIN, INT64_MAX) == INT64_MAX);
	set("CFGT_NEG", "-9223372036854775808");
	assert_true(config_int(&r, "CFGT_NEG", 0, INT64_MIN, INT64_MAX) == INT64_MIN);
	assert_int_equal(r.nerrors, 0);
}

static void test_enum_and_required(void **state)
{
	struct config_reader r;

	config_reader_init(&r);
	set("CFGT_FORMAT", "JSON"); /* case-sensitive */
	assert_string_equal(config_enum(&r, "CFGT_FORMAT", "json", formats), "json");
	assert_int_equal(r.nerrors, 1);
	assert_string_equal(r.errors[0], "CFGT_FORMAT: \"JSON\" is not one of json, pretty");

	assert_null(config_required(&r, "CFGT_SECRET"));
	set("CFGT_SECRET", "");
	assert_null(config_required(&r, "CFGT_SECRET"));
	assert_int_equal(r.nerrors, 3);
	assert_string_equal(r.errors[1], "CFGT_SECRET is required");
	assert_string_equal(r.errors[2], "CFGT_SECRET is required");

	set("CFGT_SECRET", "s3cret");
	assert_string_equal(config_required(&r, "CFGT_SECRET"), "s3cret");
	assert_int_equal(r.nerrors, 3);
}

static void test_parse_duration(void **state)
{
	static const struct {
		const char *s;
		bool ok;
		int64_t seconds;
	} cases[] = {
		{ "90", true, 90 },
		{ "0", true, 0 },
		{ "45s", true, 45 },
		{ "15m", true, 900 },
		{ "24h", true, 86400 },
		{ "7d", true, 604800 },
		{ "007m", true, 420 },
		{ "9223372036854775807", true, INT64_MAX },
		{ "106751991167300d", true, 106751991167300LL * 86400 },
		{ "", false, 0 },
		{ "m", false, 0 },
		{ "15x", false, 0 },
		{ "15ms", false, 0 },
		{ "15M", false, 0 },
		{ "1.5h", false, 0 },
		{ "-5", false, 0 },
		{ "+5", false, 0 },
		{ " 5", false, 0 },
		{ "5 m", false, 0 },
		{ "5m ", false, 0 },
		{ "9223372036854775808", false, 0 },
		{ "9223372036854775807s", true, INT64_MAX },
		{ "153722867280912931m", false, 0 },
		{ "106751991167301d", false, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = -1;
		bool ok = config_parse_duration(cases[i].s, &got);

		if (ok != cases[i].ok)
			fail_msg("config_parse_duration(\"%s\") = %d", cases[i].s, ok);
		if (ok && got != cases[i].seconds)
			fail_msg("config_parse_duration(\"%s\") = %lld", cases[i].s,
				 (long long)got);
	}
	assert_false(config_parse_duration(NULL, &(int64_t){ 0 }));
}

static void test_duration_errors(void **state)
{
	struct config_reader r;

	config_reader_init(&r);
	set("CFGT_TTL", "15x");
	assert_int_equal(config_duration_s(&r, "CFGT_TTL", 86400, 1, 30 * 86400), 86400);
	set("CFGT_TTL", "31d");
	assert_int_equal(config_duration_s(&r, "CFGT_TTL", 86400, 1, 30 * 86400), 86400);
	set("CFGT_TTL", "0");
	assert_int_equal(config_duration_s(&r, "CFGT_TTL", 86400, 1, 30 * 86400), 86400);
	set("CFGT_TTL", "99999999999999999999d");
	assert_int_equal(config_duration_s(&r, "CFGT_TTL", 86400, 1, 30 * 86400), 86400);
	assert_int_equal(r.nerrors, 4);
	assert_string_equal(r.errors[0], "CFGT_TTL: \"15x\" is not a duration (seconds, or a "
					 "number with s/m/h/d: 90, 15m, 24h, 7d)");
	assert_string_equal(r.errors[1], "CFGT_TTL: \"31d\" is not between 1s and 2592000s");
	assert_string_equal(r.errors[2], "CFGT_TTL: \"0\" is not between 1s and 2592000s");
	assert_non_null(
		strstr(r.errors[3], "CFGT_TTL: \"99999999999999999999d\" is not a duration"));
}

/* Reads back what config_reader_finish wrote. */
static char *finish_output(struct config_reader *r, int *rc)
{
	FILE *f = tmpfile();
	static char buf[8192];
	size_t n;

	assert_non_null(f);
	*rc = config_reader_finish(r, f);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_errors_collected_and_reported(void **state)
{
	struct config_reader r;
	int rc;

	config_reader_init(&r);
	set("GRPC_PORT", "80x");
	set("CFGT_FLAG", "perhaps");
	set("CFGT_FORMAT", "xml");
	set("CFGT_TTL", "5y");
	config_int(&r, "GRPC_PORT", 50051, 1, 65535);
	config_bool(&r, "CFGT_FLAG", false);
	config_enum(&r, "CFGT_FORMAT", "json", formats);
	config_duration_s(&r, "CFGT_TTL", 1, 1, 10);
	config_required(&r, "CFGT_SECRET");
	config_error(&r, "CFGT_A (%d) must not exceed CFGT_B (%d)", 5, 3);
	assert_int_equal(r.nerrors, 6);
	assert_string_equal(finish_output(&r, &rc),
			    "config: GRPC_PORT: \"80x\" is not an integer in 1..65535\n"
			    "config: CFGT_FLAG: \"perhaps\" is not a boolean (true/false, 1/0, "
			    "yes/no, on/off)\n"
			    "config: CFGT_FORMAT: \"xml\" is not one of json, pretty\n"
			    "config: CFGT_TTL: \"5y\" is not a duration (seconds, or a number with "
			    "s/m/h/d: 90, 15m, 24h, 7d)\n"
			    "config: CFGT_SECRET is required\n"
			    "config: CFGT_A (5) must not exceed CFGT_B (3)\n");
	assert_int_equal(rc, -1);
	assert_int_equal(config_reader_finish(&r, NULL), -1);

	config_reader_init(&r);
	assert_string_equal(finish_output(&r, &rc), "");
	assert_int_equal(rc, 0);
}

static void test_error_overflow_and_long_values(void **state)
{
	struct config_reader r;
	char big[1000];

	config_reader_init(&r);
	for (int i = 0; i < CONFIG_MAX_ERRORS + 10; i++)
		config_error(&r, "error %d", i);
	assert_int_equal(r.nerrors, CONFIG_MAX_ERRORS);
	assert_string_equal(r.errors[0], "error 0");
	assert_string_equal(r.errors[CONFIG_MAX_ERRORS - 2], "error 30");
	assert_string_equal(r.errors[CONFIG_MAX_ERRORS - 1], "(further errors omitted)");

	/* A huge value is cut, and the message still names the variable. */
	config_reader_init(&r);
	memset(big, '9', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	set("GRPC_PORT", big);
	config_int(&r, "GRPC_PORT", 1, 1, 65535);
	assert_int_equal(r.nerrors, 1);
	assert_true(strncmp(r.errors[0], "GRPC_PORT: \"999", 15) == 0);
	assert_non_null(strstr(r.errors[0], "...\" is not an integer in 1..65535"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults_when_unset_or_empty, setup),
		cmocka_unit_test_setup(test_good_values, setup),
		cmocka_unit_test_setup(test_bool_spellings, setup),
		cmocka_unit_test_setup(test_malformed_integers, setup),
		cmocka_unit_test_setup(test_extreme_integers, setup),
		cmocka_unit_test_setup(test_enum_and_required, setup),
		cmocka_unit_test_setup(test_parse_duration, setup),
		cmocka_unit_test_setup(test_duration_errors, setup),
		cmocka_unit_test_setup(test_errors_collected_and_reported, setup),
		cmocka_unit_test_setup(test_error_overflow_and_long_values, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
