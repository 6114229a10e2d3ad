/* validate.c - input rules shared by services; see validate.h. */
#include "validate.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

/* Longest user-supplied text echoed back in an error message. */
#define VALIDATE_ECHO_MAX 64

/* ---- UTF-8 ------------------------------------------------------------------ */

size_t utf8_decode(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
	uint32_t c;
	size_t n;

	if (!s || len == 0)
		return 0;
	if (p[0] < 0x80) {
		n = 1;
		c = p[0];
		goto out;
	}
	if (p[0] < 0xC2) /* stray continuation byte, or overlong 2-byte lead */
		return 0;
	if (p[0] < 0xE0) {
		n = 2;
		c = p[0] & 0x1F;
	} else if (p[0] < 0xF0) {
		n = 3;
		c = p[0] & 0x0F;
		if (p[0] == 0xE0)
			lo = 0xA0; /* overlong */
		else if (p[0] == 0xED)
			hi = 0x9F; /* surrogates U+D800..U+DFFF */
	} else if (p[0] < 0xF5) {
		n = 4;
		c = p[0] & 0x07;
		if (p[0] == 0xF0)
			lo = 0x90; /* overlong */
		else if (p[0] == 0xF4)
			hi = 0x8F; /* > U+10FFFF */
	} else {
		return 0;
	}
	if (len < n || p[1] < lo || p[1] > hi)
		return 0;
	c = (c << 6) | (p[1] & 0x3F);
	for (size_t i = 2; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3F);
	}
out:
	if (cp)
		*cp = c;
	return n;
}

bool utf8_valid(const char *s, size_t len)
{
	size_t i = 0;

	if (len > 0 && !s)
		return false;
	while (i < len) {
		uint64_t w;
		size_t n;

		/* ASCII, most text, eight bytes at a time */
		if (len - i >= sizeof(w)) {
			memcpy(&w, s + i, sizeof(w));
			if ((w & 0x8080808080808080ULL) == 0) {
				i += sizeof(w);
				continue;
			}
		}
		n = utf8_decode(s + i, len - i, NULL);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

size_t utf8_length(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	/* Every code point has exactly one byte that is not a continuation byte. */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xC0) != 0x80)
			n++;
	}
	return n;
}

/* ---- trimming, emails, LIKE ----------------------------------------------------- */

static bool is_ascii_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* The part of s without leading/trailing ASCII whitespace: *start and its length. */
static size_t trim_bounds(const char *s, const char **start)
{
	size_t len;

	while (is_ascii_space((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && is_ascii_space((unsigned char)s[len - 1]))
		len--;
	*start = s;
	return len;
}

char *trim_dup(struct arena *a, const char *s)
{
	const char *start;
	size_t len;

	if (!s)
		return NULL;
	len = trim_bounds(s, &start);
	return arena_strndup(a, start, len);
}

/* Printable ASCII only: no whitespace or control characters, and nothing
 * outside ASCII. Lower-casing is ASCII-only here while PostgreSQL's lower()
 * (the table's CHECK) is not, so "admİn" or a full-width letter passed this
 * check and then failed the insert after the password was hashed; and NBSP or
 * zero-width characters make addresses that look alike but differ. An
 * internationalized domain is given in its ASCII (punycode) form. */
static bool email_chars_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7F)
			return false;
	}
	return true;
}

/* The header's rules on an already trimmed, lower-cased address. */
static bool email_valid(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	const char *domain;
	size_t dlen;

	if (len == 0 || len > EMAIL_MAX_LEN || !at || at == s)
		return false;
	domain = at + 1;
	dlen = len - (size_t)(domain - s);
	if (memchr(domain, '@', dlen))
		return false;
	/* The domain has a dot, and neither begins nor ends with one. */
	if (dlen < 3 || !memchr(domain, '.', dlen) || domain[0] == '.' || domain[dlen - 1] == '.')
		return false;
	return email_chars_ok(s, len);
}

bool email_normalize(const char *in, char *out, size_t outsize)
{
	const char *start;
	size_t len, n;

	if (!out || outsize == 0)
		return false;
	out[0] = '\0';
	if (!in)
		return false;
	len = trim_bounds(in, &start);
	n = len < outsize - 1 ? len : outsize - 1;
	for (size_t i = 0; i < n; i++) {
		char c = start[i];

		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[n] = '\0';
	if (n != len) /* did not fit: longer than the caller allows */
		return false;
	return email_valid(out, n);
}

bool text_check(struct arena *a, const char *field, const char *label, const char *in,
		size_t max_chars, bool trim, const char **out, struct app_error *err)
{
	const char *text;

	if (!in || !utf8_valid(in, strlen(in))) {
		app_error_add_violation(err, field,
					in ? "%s must be valid UTF-8" : "%s is required", label);
		return false;
	}
	text = trim ? trim_dup(a, in) : in;
	if (!*text) {
		app_error_add_violation(err, field, "%s is required", label);
		return false;
	}
	if (utf8_length(text) > max_chars) {
		app_error_add_violation(err, field, "%s must be at most %zu characters", label,
					max_chars);
		return false;
	}
	if (out)
		*out = text;
	return true;
}

bool mask_parse(const struct mask_field *fields, size_t n, const char *const *paths, size_t npaths,
		unsigned *bits, struct app_error *err)
{
	bool ok = true;

	*bits = 0;
	for (size_t i = 0; i < npaths; i++) {
		bool known = false;

		for (size_t j = 0; j < n; j++) {
			if (strcmp(paths[i], fields[j].path) == 0 ||
			    strcmp(paths[i], fields[j].json) == 0) {
				*bits |= fields[j].bit;
				known = true;
			}
		}
		if (!known) {
			app_error_add_violation(err, paths[i], "Unknown or read-only field");
			ok = false;
		}
	}
	return ok;
}

const char *mask_json_name(const struct mask_field *fields, size_t n, unsigned bit)
{
	for (size_t j = 0; j < n; j++) {
		if (fields[j].bit == bit)
			return fields[j].json;
	}
	return "";
}

/* ---- pagination ------------------------------------------------------------------- */

int page_resolve(int32_t page, int32_t limit, struct page *out, struct app_error *err)
{
	if (page < 0) {
		if (err)
			app_error_set(err, ERR_BAD_REQUEST, "page must be a positive integer");
		return -1;
	}
	if (limit < 0 || limit > PAGE_MAX_LIMIT) {
		if (err)
			app_error_set(err, ERR_BAD_REQUEST, "limit must be between 1 and %d",
				      PAGE_MAX_LIMIT);
		return -1;
	}
	out->page = page == 0 ? 1 : page;
	out->limit = limit == 0 ? PAGE_DEFAULT_LIMIT : limit;
	return 0;
}

int64_t page_offset(const struct page *p)
{
	if (p->page < 1 || p->limit < 1)
		return 0;
	return ((int64_t)p->page - 1) * p->limit;
}

struct page_info page_info_make(const struct page *p, int64_t total)
{
	struct page_info pi;
	int32_t limit = p->limit >= 1 ? p->limit : PAGE_DEFAULT_LIMIT;

	if (total < 0)
		total = 0;
	pi.page = p->page >= 1 ? p->page : 1;
	pi.limit = limit;
	pi.total = total;
	/* ceil(total / limit) without the overflow of total + limit - 1 */
	pi.total_pages = total / limit + (total % limit != 0);
	pi.has_next = pi.page < pi.total_pages;
	pi.has_prev = pi.page > 1;
	return pi;
}

/* ---- sorting ------------------------------------------------------------------------ */

/* Whether s is short printable ASCII, safe to quote back to a client. */
static bool echo_safe(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		if (n >= VALIDATE_ECHO_MAX || s[n] < 0x21 || s[n] > 0x7E)
			return false;
	}
	return true;
}

/* Parses "field" / "-field" against allowed; -1 when malformed or unknown. */
static int sort_match(const char *s, const char *const *allowed, int *index, bool *desc)
{
	const char *field = s;

	*desc = false;
	if (*field == '-') {
		*desc = true;
		field++;
	}
	if (*field == '\0' || !allowed)
		return -1;
	for (int i = 0; allowed[i]; i++) {
		if (strcmp(allowed[i], field) == 0) {
			*index = i;
			return 0;
		}
	}
	return -1;
}

/* BAD_REQUEST naming the parameter, the field (when safe to echo) and the choices. */
static void sort_error(struct app_error *err, const char *s, const char *const *allowed)
{
	const char *field = *s == '-' ? s + 1 : s;
	char choices[128] = "";
	size_t used = 0;

	for (int i = 0; allowed && allowed[i] && used < sizeof(choices); i++) {
		int n = snprintf(choices + used, sizeof(choices) - used, "%s%s", i ? ", " : "",
				 allowed[i]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (*field == '\0')
		app_error_set(err, ERR_BAD_REQUEST, "sort must name a field (one of %s)", choices);
	else if (echo_safe(field))
		app_error_set(err, ERR_BAD_REQUEST, "sort: unknown field \"%s\" (one of %s)", field,
			      choices);
	else
		app_error_set(err, ERR_BAD_REQUEST, "sort: unknown field (one of %s)", choices);
}

int sort_parse(const char *s, const char *def, const char *const *allowed, int *index, bool *desc,
	       struct app_error *err)
{
	int i;
	bool d;

	if (!s || *s == '\0') {
		/* The default is the caller's own: failing here is a bug, not bad input. */
		if (!def || sort_match(def, allowed, &i, &d) != 0) {
			if (err)
				app_error_set(err, ERR_INTERNAL_ERROR, NULL);
			return -1;
		}
	} else if (sort_match(s, allowed, &i, &d) != 0) {
		if (err)
			sort_error(err, s, allowed);
		return -1;
	}
	*index = i;
	*desc = d;
	return 0;
}
