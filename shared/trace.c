/* trace.c - see trace.h. */
#include "trace.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static _Thread_local const struct trace_ctx *current;

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static bool all_zeros(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '0')
			return false;
	}
	return true;
}

static unsigned hex_value(char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

/* Layout of version 00: vv-<32>-<16>-ff, dashes at 2, 35 and 52. */
#define TP_TRACE 3
#define TP_SPAN 36
#define TP_FLAGS 53

bool trace_parse(const char *tp, char *trace_id, char *parent_id, unsigned *flags)
{
	size_t len = tp ? strlen(tp) : 0;

	if (len < TRACE_PARENT_LEN || !lower_hex(tp, 2) || strncmp(tp, "ff", 2) == 0)
		return false;
	/* version 00 has exactly these fields; a later one may append "-..." */
	if (strncmp(tp, "00", 2) == 0 ? len != TRACE_PARENT_LEN
				      : len > TRACE_PARENT_LEN && tp[TRACE_PARENT_LEN] != '-')
		return false;
	if (tp[2] != '-' || tp[TP_SPAN - 1] != '-' || tp[TP_FLAGS - 1] != '-')
		return false;
	if (!lower_hex(tp + TP_TRACE, TRACE_ID_HEX) || all_zeros(tp + TP_TRACE, TRACE_ID_HEX) ||
	    !lower_hex(tp + TP_SPAN, TRACE_SPAN_HEX) || all_zeros(tp + TP_SPAN, TRACE_SPAN_HEX) ||
	    !lower_hex(tp + TP_FLAGS, 2))
		return false;
	memcpy(trace_id, tp + TP_TRACE, TRACE_ID_HEX);
	trace_id[TRACE_ID_HEX] = '\0';
	memcpy(parent_id, tp + TP_SPAN, TRACE_SPAN_HEX);
	parent_id[TRACE_SPAN_HEX] = '\0';
	*flags = hex_value(tp[TP_FLAGS]) << 4 | hex_value(tp[TP_FLAGS + 1]);
	return true;
}

bool trace_state_valid(const char *ts)
{
	size_t members = 1;
	bool has_eq = false, has_text = false;

	if (!ts || strlen(ts) > TRACE_STATE_MAX)
		return false;
	for (const char *p = ts;; p++) {
		if (*p == ',' || *p == '\0') {
			/* a member is empty (only blanks) or key=value */
			if (has_text && !has_eq)
				return false;
			if (*p == '\0')
				break;
			if (++members > TRACE_STATE_MEMBERS)
				return false;
			has_eq = has_text = false;
		} else if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
			return false;
		} else {
			has_eq |= *p == '=';
			has_text |= *p != ' ' && *p != '\t';
		}
	}
	return true;
}

/* n random bytes as 2n lower-case hex digits, never all zeros (invalid). */
static void random_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t buf[16];

	do {
		random_id_bytes(buf, n);
		for (size_t i = 0; i < n; i++) {
			out[2 * i] = hex[buf[i] >> 4];
			out[2 * i + 1] = hex[buf[i] & 15];
		}
		out[2 * n] = '\0';
	} while (all_zeros(out, 2 * n));
}

void trace_begin(struct trace_ctx *t, const char *traceparent, const char *tracestate)
{
	memset(t, 0, sizeof(*t));
	if (trace_parse(traceparent, t->trace_id, t->parent_id, &t->flags)) {
		t->flags &= TRACE_FLAG_SAMPLED;
		if (trace_state_valid(tracestate))
			strlcpy_s(t->state, tracestate, sizeof(t->state));
	} else {
		random_hex(t->trace_id, TRACE_ID_HEX / 2);
		t->flags = TRACE_FLAG_SAMPLED; /* every request is logged */
	}
	random_hex(t->span_id, TRACE_SPAN_HEX / 2);
}

void trace_child(struct trace_ctx *child, const struct trace_ctx *parent)
{
	if (!parent) {
		trace_begin(child, NULL, NULL);
		return;
	}
	*child = *parent;
	memcpy(child->parent_id, parent->span_id, sizeof(child->parent_id));
	random_hex(child->span_id, TRACE_SPAN_HEX / 2);
}

void trace_format(const struct trace_ctx *t, char *out)
{
	snprintf(out, TRACE_PARENT_LEN + 1, "00-%s-%s-%02x", t->trace_id, t->span_id,
		 t->flags & 0xffu);
}

void trace_set_current(const struct trace_ctx *t)
{
	current = t;
}

const struct trace_ctx *trace_current(void)
{
	return current;
}
