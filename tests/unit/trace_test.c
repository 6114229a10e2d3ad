/* trace_test.c - W3C Trace Context rules (shared/trace.c): which
 * traceparent values are continued and which start a new trace, what is
 * forwarded of tracestate, child spans, and the thread's current span. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "trace.h"

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define PID "00f067aa0ba902b7"
#define VALID "00-" TID "-" PID "-01"

static bool is_lower_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static void a_valid_traceparent_is_parsed(void **state)
{
	char tid[TRACE_ID_HEX + 1], pid[TRACE_SPAN_HEX + 1];
	unsigned flags = 99;

	(void)state;
	assert_true(trace_parse(VALID, tid, pid, &flags));
	assert_string_equal(tid, TID);
	assert_string_equal(pid, PID);
	assert_int_equal(flags, 1);
	assert_true(trace_parse("00-" TID "-" PID "-00", tid, pid, &flags));
	assert_int_equal(flags, 0);
	/* a later version may append fields after a dash */
	assert_true(trace_parse("01-" TID "-" PID "-09-what-ever", tid, pid, &flags));
	assert_int_equal(flags, 9);
	assert_true(trace_parse("cc-" TID "-" PID "-01", tid, pid, &flags));
}

static void malformed_traceparents_are_refused(void **state)
{
	static const char *const bad[] = {
		NULL,
		"",
		"00-" TID "-" PID "-0",        /* short */
		"00-" TID "-" PID "-01-extra", /* version 00 is exactly 55 */
		"01-" TID "-" PID "-01x",      /* later version: no dash after */
		"ff-" TID "-" PID "-01",       /* version ff is invalid */
		"0g-" TID "-" PID "-01",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-" PID "-01", /* upper case */
		"00-00000000000000000000000000000000-" PID "-01", /* all-zero trace id */
		"00-" TID "-0000000000000000-01",                 /* all-zero parent id */
		"00_" TID "-" PID "-01",
		"00-" TID "_" PID "-01",
		"00-" TID "-" PID "_01",
		"00-" TID "-" PID "-zz",
		"00-" TID "-" PID "-01, 00-" TID "-" PID "-01", /* two headers joined */
	};
	char tid[TRACE_ID_HEX + 1] = "unchanged", pid[TRACE_SPAN_HEX + 1] = "unchanged";
	unsigned flags = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (trace_parse(bad[i], tid, pid, &flags))
			fail_msg("accepted: %s", bad[i] ? bad[i] : "(null)");
	}
	assert_string_equal(tid, "unchanged");
	assert_int_equal(flags, 7);
}

static void tracestate_rules(void **state)
{
	char big[TRACE_STATE_MAX + 2];

	(void)state;
	assert_true(trace_state_valid("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
	assert_true(trace_state_valid("rojo=1, congo=2")); /* headers joined with ", " */
	assert_true(trace_state_valid("a=1,,b=2"));        /* empty members are allowed */
	assert_false(trace_state_valid(NULL));
	assert_false(trace_state_valid("novalue"));
	assert_false(trace_state_valid("a=1,b"));
	assert_false(trace_state_valid("a=1\nb=2"));
	assert_false(trace_state_valid("a=\x7f"));
	memset(big, 'a', sizeof(big) - 1);
	big[0] = 'k';
	big[1] = '=';
	big[sizeof(big) - 1] = '\0'; /* 513 characters */
	assert_false(trace_state_valid(big));
	big[sizeof(big) - 2] = '\0'; /* 512 */
	assert_true(trace_state_valid(big));
	{
		char many[200] = "";

		for (int i = 0; i < 33; i++) /* 33 members */
			snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sk=v",
				 i ? "," : "");
		assert_false(trace_state_valid(many));
	}
}

static void begin_continues_a_valid_trace(void **state)
{
	struct trace_ctx t;
	char tp[TRACE_PARENT_LEN + 1];

	(void)state;
	trace_begin(&t, VALID, "rojo=1");
	assert_string_equal(t.trace_id, TID);
	assert_string_equal(t.parent_id, PID);
	assert_true(is_lower_hex(t.span_id, TRACE_SPAN_HEX));
	assert_string_not_equal(t.span_id, PID);
	assert_string_equal(t.state, "rojo=1");
	trace_format(&t, tp);
	assert_int_equal(strlen(tp), TRACE_PARENT_LEN);
	assert_memory_equal(tp, "00-" TID "-", 36);
	assert_memory_equal(tp + 36, t.span_id, TRACE_SPAN_HEX);
	assert_string_equal(tp + 52, "-01");

	/* unknown flags are not passed on; a later version is answered as 00 */
	trace_begin(&t, "01-" TID "-" PID "-ff-more", NULL);
	assert_int_equal(t.flags, TRACE_FLAG_SAMPLED);
	assert_string_equal(t.state, "");
	trace_format(&t, tp);
	assert_memory_equal(tp, "00-", 3);
	assert_string_equal(tp + 52, "-01");
	trace_begin(&t, "00-" TID "-" PID "-00", NULL);
	trace_format(&t, tp);
	assert_string_equal(tp + 52, "-00"); /* not sampled stays not sampled */
}

static void begin_starts_a_trace_when_missing_or_malformed(void **state)
{
	struct trace_ctx a, b;

	(void)state;
	trace_begin(&a, NULL, "rojo=1");
	trace_begin(&b, "00-" TID "-" PID "-1", "rojo=1");
	assert_true(is_lower_hex(a.trace_id, TRACE_ID_HEX));
	assert_true(is_lower_hex(a.span_id, TRACE_SPAN_HEX));
	assert_string_equal(a.parent_id, "");
	assert_string_equal(a.state, ""); /* tracestate goes with a valid traceparent only */
	assert_int_equal(a.flags, TRACE_FLAG_SAMPLED);
	assert_string_not_equal(b.trace_id, TID);
	assert_string_not_equal(a.trace_id, b.trace_id);
	assert_string_equal(b.parent_id, "");
	/* an invalid tracestate is dropped, the trace is still continued */
	trace_begin(&a, VALID, "bad\ttab");
	assert_string_equal(a.trace_id, TID);
	assert_string_equal(a.state, "");
}

static void children_get_new_span_ids(void **state)
{
	struct trace_ctx parent, c1, c2, root;

	(void)state;
	trace_begin(&parent, VALID, "rojo=1");
	trace_child(&c1, &parent);
	trace_child(&c2, &parent);
	assert_string_equal(c1.trace_id, TID);
	assert_string_equal(c1.parent_id, parent.span_id);
	assert_string_equal(c2.parent_id, parent.span_id);
	assert_string_not_equal(c1.span_id, parent.span_id);
	assert_string_not_equal(c1.span_id, c2.span_id);
	assert_string_equal(c1.state, "rojo=1");
	trace_child(&root, NULL);
	assert_string_not_equal(root.trace_id, TID);
	assert_string_equal(root.parent_id, "");
}

static void *other_thread(void *arg)
{
	(void)arg;
	return (void *)trace_current();
}

static void the_current_span_is_per_thread(void **state)
{
	struct trace_ctx t;
	pthread_t th;
	void *seen = &t;

	(void)state;
	assert_null(trace_current());
	trace_begin(&t, NULL, NULL);
	trace_set_current(&t);
	assert_ptr_equal(trace_current(), &t);
	assert_int_equal(pthread_create(&th, NULL, other_thread, NULL), 0);
	assert_int_equal(pthread_join(th, &seen), 0);
	assert_null(seen);
	trace_set_current(NULL);
	assert_null(trace_current());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_valid_traceparent_is_parsed),
		cmocka_unit_test(malformed_traceparents_are_refused),
		cmocka_unit_test(tracestate_rules),
		cmocka_unit_test(begin_continues_a_valid_trace),
		cmocka_unit_test(begin_starts_a_trace_when_missing_or_malformed),
		cmocka_unit_test(children_get_new_span_ids),
		cmocka_unit_test(the_current_span_is_per_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
