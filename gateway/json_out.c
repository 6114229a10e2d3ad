/* json_out.c - see json_out.h. */
#include "json_out.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void jout_init(struct json_out *o, size_t cap)
{
	o->cap = cap > 64 ? cap : 64;
	o->buf = xmalloc(o->cap);
	o->len = 0;
}

static void reserve(struct json_out *o, size_t n)
{
	if (o->len + n + 1 <= o->cap)
		return;
	while (o->len + n + 1 > o->cap)
		o->cap *= 2;
	o->buf = xrealloc(o->buf, o->cap);
}

char *jout_take(struct json_out *o, size_t *len)
{
	char *out = o->buf;

	out[o->len] = '\0';
	if (len)
		*len = o->len;
	o->buf = NULL;
	o->len = o->cap = 0;
	return out;
}

void jout_mem(struct json_out *o, const char *s, size_t n)
{
	reserve(o, n);
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

void jout_char(struct json_out *o, char c)
{
	reserve(o, 1);
	o->buf[o->len++] = c;
}

void jout_int(struct json_out *o, int64_t v)
{
	char tmp[24];
	size_t n = 0;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	reserve(o, n + 1);
	if (v < 0)
		o->buf[o->len++] = '-';
	while (n)
		o->buf[o->len++] = tmp[--n];
}

/* jansson's form: "%.17g", ".0" added when neither '.' nor an exponent is
 * there, and the exponent without '+' or leading zeros ("1e+05" -> "1e5"). */
void jout_real(struct json_out *o, double d)
{
	char buf[48];
	int n = snprintf(buf, sizeof(buf), "%.17g", d);
	char *e, *digits, *end;
	size_t len = n > 0 ? (size_t)n : 0;

	if (!strchr(buf, '.') && !strchr(buf, 'e')) {
		memcpy(buf + len, ".0", 3);
		len += 2;
	}
	e = strchr(buf, 'e');
	if (e) {
		digits = e + 1;
		if (*digits == '-')
			digits++;
		end = e + 2;
		while (*end == '0')
			end++;
		memmove(digits, end, len - (size_t)(end - buf) + 1);
		len -= (size_t)(end - digits);
	}
	jout_mem(o, buf, len);
}

void jout_bool(struct json_out *o, int v)
{
	if (v)
		JOUT_LIT(o, "true");
	else
		JOUT_LIT(o, "false");
}

/* The escape of byte c, or NULL when it goes out as is. */
static const char *escape_of(unsigned char c, char seq[8])
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\b':
		return "\\b";
	case '\f':
		return "\\f";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	default:
		if (c >= 0x20)
			return NULL;
		snprintf(seq, 8, "\\u%04X", c);
		return seq;
	}
}

/* What escape_of does not return NULL for; tested first, as most text
 * has nothing to escape. */
static inline bool must_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

void jout_string(struct json_out *o, const char *s, size_t n)
{
	size_t run = 0;
	char seq[8];

	reserve(o, n + 2);
	o->buf[o->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		const char *esc;

		if (!must_escape((unsigned char)s[i]))
			continue;
		esc = escape_of((unsigned char)s[i], seq);
		jout_mem(o, s + run, i - run);
		jout_mem(o, esc, strlen(esc));
		run = i + 1;
	}
	jout_mem(o, s + run, n - run);
	jout_char(o, '"');
}

void jout_key(struct json_out *o, const char *key)
{
	jout_string(o, key, strlen(key));
	jout_char(o, ':');
}

static int dump_append(const char *buffer, size_t size, void *data)
{
	jout_mem(data, buffer, size);
	return 0;
}

void jout_json(struct json_out *o, const json_t *v)
{
	if (!v) {
		JOUT_LIT(o, "null");
		return;
	}
	json_dump_callback(v, dump_append, o, JSON_COMPACT | JSON_ENCODE_ANY);
}
