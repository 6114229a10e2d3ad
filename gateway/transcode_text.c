/* transcode_text.c - JSON names and the text forms of well-known types; see
 * transcode_text.h. */
#include "transcode_text.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util.h"

/* "is_active" -> "isActive": drop each '_' and upper-case the letter after it. */
void transcode_json_name(const char *proto_name, char *out, size_t outsize)
{
	size_t n = 0;
	bool upper = false;

	if (outsize == 0)
		return;
	for (const char *p = proto_name; *p && n + 1 < outsize; p++) {
		if (*p == '_') {
			upper = true;
			continue;
		}
		out[n++] = upper && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
		upper = false;
	}
	out[n] = '\0';
}

static bool parse_digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* "YYYY-MM-DDTHH:MM:SS" (19 bytes, a valid calendar date and time of day)
 * as seconds since the epoch, before any offset. */
static bool parse_date_time(const char *s, int64_t *secs)
{
	int y, mo, d, h, mi, sec;

	if (!parse_digits(s, 4, &y) || s[4] != '-' || !parse_digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !parse_digits(s + 8, 2, &d) || s[10] != 'T' || !parse_digits(s + 11, 2, &h) ||
	    s[13] != ':' || !parse_digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !parse_digits(s + 17, 2, &sec))
		return false;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
	    sec > 59)
		return false;
	*secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	return true;
}

/* An optional ".d{1,9}" at s[*i]: *nanos, *i moved past it. */
static bool parse_fraction(const char *s, size_t len, size_t *i, int32_t *nanos)
{
	int scale = 100000000;
	size_t start;

	*nanos = 0;
	if (s[*i] != '.')
		return true;
	start = ++*i;
	for (; *i < len && s[*i] >= '0' && s[*i] <= '9' && *i - start < 9; ++*i, scale /= 10)
		*nanos += (s[*i] - '0') * scale;
	return *i > start;
}

/* The rest, s[i..len): "Z" or "+hh:mm" / "-hh:mm", as seconds east of UTC. */
static bool parse_offset(const char *s, size_t len, size_t i, int64_t *east)
{
	int oh, om;

	if (i + 1 == len && s[i] == 'Z') {
		*east = 0;
		return true;
	}
	if (i + 6 != len || (s[i] != '+' && s[i] != '-') || !parse_digits(s + i + 1, 2, &oh) ||
	    s[i + 3] != ':' || !parse_digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
		return false;
	*east = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
	return true;
}

/* Strict RFC 3339 date-time of len bytes: "YYYY-MM-DDTHH:MM:SS", an optional
 * fraction of 1..9 digits, then "Z" or "+hh:mm" / "-hh:mm"; false also when
 * the offset takes the instant outside 0001..9999 UTC. */
bool transcode_parse_rfc3339(const char *s, size_t len, int64_t *secs, int32_t *nanos)
{
	size_t i = 19;
	int64_t local, east;
	int32_t ns;

	if (len < 20 || !parse_date_time(s, &local) || !parse_fraction(s, len, &i, &ns) ||
	    !parse_offset(s, len, i, &east))
		return false;
	if (local - east < TS_MIN_SECONDS || local - east > TS_MAX_SECONDS)
		return false;
	*secs = local - east;
	*nanos = ns;
	return true;
}

/* "userName,email" (JSON names) -> paths "user_name", "email" in the arena. */
bool transcode_field_mask_from_text(struct arena *a, const char *s, Google__Protobuf__FieldMask *fm)
{
	size_t n = 1;

	fm->n_paths = 0;
	fm->paths = NULL;
	if (!*s)
		return true;
	for (const char *p = s; *p; p++)
		n += *p == ',';
	fm->paths = arena_alloc(a, n * sizeof(*fm->paths));
	for (;;) {
		size_t len = strcspn(s, ",");
		char *out = arena_alloc(a, 2 * len + 1), *o = out;

		if (len == 0)
			return false; /* "a,,b", ",a", "a," */
		for (const char *p = s; p < s + len; p++) {
			if (*p == '_')
				return false; /* JSON paths are lowerCamelCase */
			if (*p >= 'A' && *p <= 'Z') {
				*o++ = '_';
				*o++ = (char)(*p - 'A' + 'a');
			} else {
				*o++ = *p;
			}
		}
		fm->paths[fm->n_paths++] = out;
		if (!s[len])
			return true;
		s += len + 1;
	}
}

/* Standard base64 with padding (the proto3 JSON form of bytes). */
bool transcode_bytes_from_text(struct arena *a, const char *s, size_t len, ProtobufCBinaryData *out)
{
	size_t pad = 0;
	int n;

	if (len % 4 != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == '=' && i + 2 >= len && (i + 1 == len || s[len - 1] == '=')) {
			pad++;
			continue;
		}
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '+' || ch == '/'))
			return false;
	}
	out->data = arena_alloc(a, len / 4 * 3 + 1);
	n = EVP_DecodeBlock(out->data, (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n < pad)
		return false;
	out->len = (size_t)n - pad;
	return true;
}

json_t *transcode_bytes_to_json(const ProtobufCBinaryData *b)
{
	unsigned char *out = xmalloc(4 * ((b->len + 2) / 3) + 1);
	json_t *j;

	EVP_EncodeBlock(out, b->data, (int)b->len);
	j = json_string((const char *)out);
	free(out);
	return j;
}

void transcode_timestamp_text(const Google__Protobuf__Timestamp *ts, char *buf, size_t size)
{
	int64_t secs = ts->seconds;

	/* Out-of-range values (never valid Timestamps) are clamped, not overflowed. */
	if (secs < TS_MIN_SECONDS)
		secs = TS_MIN_SECONDS;
	if (secs > TS_MAX_SECONDS)
		secs = TS_MAX_SECONDS;
	format_rfc3339_ms(secs * 1000 + ts->nanos / 1000000, buf, size);
}

json_t *transcode_timestamp_to_json(const Google__Protobuf__Timestamp *ts)
{
	char buf[40];

	transcode_timestamp_text(ts, buf, sizeof(buf));
	return json_string(buf);
}

/* paths "user_name", "email" -> "userName,email". */
char *transcode_field_mask_text(const Google__Protobuf__FieldMask *fm)
{
	size_t total = 1, used = 0;
	char *buf;

	for (size_t i = 0; i < fm->n_paths; i++)
		total += strlen(fm->paths[i]) + 1;
	buf = xmalloc(total);
	buf[0] = '\0';
	for (size_t i = 0; i < fm->n_paths; i++) {
		if (i)
			buf[used++] = ',';
		transcode_json_name(fm->paths[i], buf + used, total - used);
		used += strlen(buf + used);
	}
	return buf;
}

json_t *transcode_field_mask_to_json(const Google__Protobuf__FieldMask *fm)
{
	char *buf = transcode_field_mask_text(fm);
	json_t *j = json_string(buf);

	if (!j) {
		/* Not UTF-8: '?' for the other bytes, as for any string field. */
		for (char *p = buf; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		j = json_string(buf);
	}
	free(buf);
	return j;
}
