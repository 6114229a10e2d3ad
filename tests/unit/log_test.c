/* log_test.c - the logger's exact output: JSON shape and escaping, level
 * filtering, the pretty format, long lines, concurrent writers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "util.h"

/* Log output goes to a temporary file, read back and emptied by each check. */
static int out_fd = -1;

static int group_setup(void **state)
{
	FILE *f = tmpfile();

	if (!f)
		return -1;
	out_fd = dup(fileno(f));
	fclose(f);
	return out_fd < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	log_set_fd(1);
	log_init(LOG_INFO, LOG_FORMAT_JSON, NULL);
	close(out_fd);
	return 0;
}

static void reset_output(void)
{
	assert_int_equal(ftruncate(out_fd, 0), 0);
	assert_int_equal(lseek(out_fd, 0, SEEK_SET), 0);
}

static int setup(void **state)
{
	reset_output();
	log_set_fd(out_fd);
	log_init(LOG_INFO, LOG_FORMAT_JSON, NULL);
	return 0;
}

/* Everything written since the last reset (caller frees), then resets. */
static char *take_output(size_t *len)
{
	off_t size = lseek(out_fd, 0, SEEK_END);
	char *buf;

	assert_true(size >= 0);
	buf = xmalloc((size_t)size + 1);
	assert_int_equal(pread(out_fd, buf, (size_t)size, 0), size);
	buf[size] = '\0';
	if (len)
		*len = (size_t)size;
	reset_output();
	return buf;
}

/* The single line written (asserts there was exactly one), without its '\n'. */
static char *take_line(void)
{
	size_t len;
	char *s = take_output(&len);

	assert_true(len > 0);
	assert_int_equal(s[len - 1], '\n');
	s[len - 1] = '\0';
	assert_null(strchr(s, '\n'));
	return s;
}

static json_t *parse_line(const char *line)
{
	json_error_t jerr;
	json_t *j = json_loads(line, 0, &jerr);

	if (!j)
		fail_msg("not JSON (%s): %s", jerr.text, line);
	assert_true(json_is_object(j));
	return j;
}

static void test_json_exact_line(void **state)
{
	int64_t before, after, t;
	char expect[512];
	char *line;
	json_t *j;

	log_init(LOG_INFO, LOG_FORMAT_JSON, "users");
	before = now_unix_ms();
	log_info("user created", LOG_S("requestId", "req_1"), LOG_I("id", 42),
		 LOG_B("cached", true), LOG_D("duration", 1.5), LOG_B("admin", 0));
	after = now_unix_ms();
	line = take_line();
	j = parse_line(line);
	assert_true(json_is_integer(json_object_get(j, "time")));
	t = json_integer_value(json_object_get(j, "time"));
	assert_true(t >= before && t <= after);
	snprintf(
		expect, sizeof(expect),
		"{\"level\":\"info\",\"time\":%" PRId64
		",\"name\":\"users\",\"msg\":\"user created\","
		"\"requestId\":\"req_1\",\"id\":42,\"cached\":true,\"duration\":1.5,\"admin\":false}",
		t);
	assert_string_equal(line, expect);
	json_decref(j);
	free(line);
}

static void test_json_without_name_or_fields(void **state)
{
	char *line;
	json_t *j;

	log_warn("plain");
	line = take_line();
	assert_true(strncmp(line, "{\"level\":\"warn\",\"time\":", 23) == 0);
	assert_non_null(strstr(line, ",\"msg\":\"plain\"}"));
	j = parse_line(line);
	assert_int_equal(json_object_size(j), 3);
	assert_null(json_object_get(j, "name"));
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "plain");
	json_decref(j);
	free(line);

	log_emit(LOG_ERROR, NULL, NULL);
	line = take_line();
	j = parse_line(line);
	assert_string_equal(json_string_value(json_object_get(j, "level")), "error");
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "");
	json_decref(j);
	free(line);
}

static void test_json_escaping(void **state)
{
	const char *msg = "q\"b\\n\nt\tc\x01"
			  "d\x7f"
			  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	char *line;
	json_t *j;

	log_info(msg, LOG_S("we\"ird\nkey", "v"));
	line = take_line();
	/* Control characters escaped, UTF-8 kept as raw bytes. */
	assert_non_null(strstr(line, "\"msg\":\"q\\\"b\\\\n\\nt\\tc\\u0001d\\u007f"
				     "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""));
	assert_non_null(strstr(line, "\"we\\\"ird\\nkey\":\"v\""));
	j = parse_line(line);
	assert_string_equal(json_string_value(json_object_get(j, "msg")), msg);
	assert_string_equal(json_string_value(json_object_get(j, "we\"ird\nkey")), "v");
	json_decref(j);
	free(line);
}

static void test_json_invalid_utf8_replaced(void **state)
{
	char *line;
	json_t *j;

	/* A stray byte, an overlong '/', a surrogate and a truncated euro sign. */
	log_info("a\xff"
		 "b",
		 LOG_S("overlong", "\xc0\xaf"), LOG_S("surrogate", "\xed\xa0\x80"),
		 LOG_S("cut", "x\xe2\x82"));
	line = take_line();
	assert_non_null(strstr(line, "\"msg\":\"a\\ufffdb\""));
	assert_non_null(strstr(line, "\"overlong\":\"\\ufffd\\ufffd\""));
	assert_non_null(strstr(line, "\"surrogate\":\"\\ufffd\\ufffd\\ufffd\""));
	assert_non_null(strstr(line, "\"cut\":\"x\\ufffd\\ufffd\""));
	j = parse_line(line);
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "a\xef\xbf\xbd"
									  "b");
	json_decref(j);
	free(line);
}

static void test_json_null_string_and_numbers(void **state)
{
	char *line;
	json_t *j;

	log_info("n", LOG_S("ua", NULL), LOG_I("min", INT64_MIN), LOG_I("max", INT64_MAX),
		 LOG_D("third", 1.0 / 3), LOG_D("whole", -2.0), LOG_D("tiny", -0.0001),
		 LOG_D("nan", NAN), LOG_D("inf", -INFINITY), LOG_D("big", 1e20));
	line = take_line();
	assert_non_null(strstr(line, "\"ua\":null,\"min\":-9223372036854775808,"
				     "\"max\":9223372036854775807,\"third\":0.333,\"whole\":-2,"
				     "\"tiny\":0,\"nan\":null,\"inf\":null,"));
	j = parse_line(line);
	assert_true(json_is_null(json_object_get(j, "ua")));
	assert_true(json_is_real(json_object_get(j, "big")));
	assert_true(json_real_value(json_object_get(j, "big")) == 1e20);
	json_decref(j);
	free(line);
}

static void test_level_filtering(void **state)
{
	size_t len;
	char *out;
	enum log_level lv;

	log_init(LOG_WARN, LOG_FORMAT_JSON, NULL);
	assert_false(log_enabled(LOG_INFO));
	assert_true(log_enabled(LOG_WARN));
	assert_true(log_enabled(LOG_FATAL));
	log_trace("t");
	log_debug("d");
	log_info("i");
	out = take_output(&len);
	assert_int_equal(len, 0);
	free(out);

	log_warn("w");
	log_error("e");
	log_fatal("f");
	out = take_output(&len);
	assert_non_null(strstr(out, "\"level\":\"warn\""));
	assert_non_null(strstr(out, "\"level\":\"error\""));
	assert_non_null(strstr(out, "\"level\":\"fatal\""));
	free(out);

	log_init(LOG_TRACE, LOG_FORMAT_JSON, NULL);
	assert_true(log_enabled(LOG_TRACE));
	log_trace("t");
	out = take_line();
	assert_non_null(strstr(out, "\"level\":\"trace\""));
	free(out);

	assert_true(log_level_parse("debug", &lv));
	assert_int_equal(lv, LOG_DEBUG);
	assert_true(log_level_parse("WARN", &lv));
	assert_int_equal(lv, LOG_WARN);
	assert_true(log_level_parse("fatal", &lv));
	assert_int_equal(lv, LOG_FATAL);
	assert_true(log_level_parse("trace", &lv));
	assert_int_equal(lv, LOG_TRACE);
	lv = LOG_ERROR;
	assert_false(log_level_parse("verbose", &lv));
	assert_false(log_level_parse("", &lv));
	assert_false(log_level_parse(NULL, &lv));
	assert_false(log_level_parse("info ", &lv));
	assert_int_equal(lv, LOG_ERROR);
}

/* "2026-01-15T10:30:00.123Z" */
static void assert_timestamp(const char *s)
{
	const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";

	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == 'd')
			assert_true(s[i] >= '0' && s[i] <= '9');
		else
			assert_int_equal(s[i], shape[i]);
	}
}

static void test_pretty_format(void **state)
{
	char *line;

	log_init(LOG_INFO, LOG_FORMAT_PRETTY, "users");
	log_warn("user created", LOG_S("id", "42"), LOG_S("note", "two words"), LOG_I("n", -7),
		 LOG_B("ok", false), LOG_D("ms", 2.25), LOG_S("ua", NULL), LOG_S("empty", ""),
		 LOG_S("q", "a\"b"));
	line = take_line();
	assert_timestamp(line);
	assert_string_equal(line + 24, " WARN  [users] user created id=42 note=\"two words\" n=-7 "
				       "ok=false ms=2.25 ua=null empty=\"\" q=\"a\\\"b\"");
	free(line);

	log_init(LOG_INFO, LOG_FORMAT_PRETTY, NULL);
	log_info("two\nlines", LOG_S("v", "x\ny"));
	line = take_line();
	assert_timestamp(line);
	assert_string_equal(line + 24, " INFO  two\\nlines v=\"x\\ny\"");
	free(line);

	log_error("e");
	line = take_line();
	assert_string_equal(line + 24, " ERROR e");
	free(line);
}

static void test_long_line(void **state)
{
	size_t n = 100000;
	char *big = xmalloc(n + 1);
	char *line;
	json_t *j;

	memset(big, 'x', n);
	big[n] = '\0';
	big[n - 1] = '"';
	log_info("long", LOG_S("body", big), LOG_I("after", 1));
	line = take_line();
	j = parse_line(line);
	assert_string_equal(json_string_value(json_object_get(j, "body")), big);
	assert_int_equal(json_integer_value(json_object_get(j, "after")), 1);
	json_decref(j);
	free(line);
	free(big);
}

#define THREADS 4
#define LINES_PER_THREAD 300

static void *writer(void *arg)
{
	char pad[3000];

	/* Lines longer than the stack buffer too, so both paths race. */
	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (int i = 0; i < LINES_PER_THREAD; i++)
		log_info("concurrent", LOG_I("thread", (intptr_t)arg), LOG_I("i", i),
			 LOG_S("pad", (i % 2) ? pad : "short"));
	return NULL;
}

static void test_concurrent_lines_do_not_interleave(void **state)
{
	pthread_t th[THREADS];
	int seen[THREADS] = { 0 };
	int lines = 0;
	char *out, *p, *nl;

	for (intptr_t t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, writer, (void *)t), 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	out = take_output(NULL);
	for (p = out; *p; p = nl + 1) {
		json_t *j;
		json_int_t t;

		nl = strchr(p, '\n');
		assert_non_null(nl);
		*nl = '\0';
		j = parse_line(p);
		t = json_integer_value(json_object_get(j, "thread"));
		assert_true(t >= 0 && t < THREADS);
		assert_int_equal(json_integer_value(json_object_get(j, "i")), seen[t]);
		seen[t]++;
		lines++;
		json_decref(j);
	}
	assert_int_equal(lines, THREADS * LINES_PER_THREAD);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_json_exact_line, setup),
		cmocka_unit_test_setup(test_json_without_name_or_fields, setup),
		cmocka_unit_test_setup(test_json_escaping, setup),
		cmocka_unit_test_setup(test_json_invalid_utf8_replaced, setup),
		cmocka_unit_test_setup(test_json_null_string_and_numbers, setup),
		cmocka_unit_test_setup(test_level_filtering, setup),
		cmocka_unit_test_setup(test_pretty_format, setup),
		cmocka_unit_test_setup(test_long_line, setup),
		cmocka_unit_test_setup(test_concurrent_lines_do_not_interleave, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
