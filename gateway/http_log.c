/* http_log.c - the access log line's url: re-encoded, secrets redacted; see
 * http_log.h. */
#include "http_log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define HTTP_REDACTED "[REDACTED]"

struct sbuf {
	char *p;
	size_t len;
	size_t cap;
};

static void sbuf_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Percent-encodes every byte of s[0..n) that is not unreserved (RFC 3986) or
 * in keep: the line stays ASCII and one parameter cannot pass for two. */
static void sbuf_put_encoded(struct sbuf *b, const char *s, size_t n, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3] = { '%', hex[c >> 4], hex[c & 15] };

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || (c && strchr(keep, c)))
			sbuf_put(b, s + i, 1);
		else
			sbuf_put(b, esc, 3);
	}
}

static bool looks_like_key(const char *s)
{
	return s && strncmp(s, "ak_", 3) == 0;
}

static bool is_b64url(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* The length of the JWT that starts at s (n bytes available): "eyJ" (a JSON
 * header in base64url) and three base64url parts joined by dots, the last
 * one possibly empty (alg none); 0 when there is none. */
static size_t jwt_span(const char *s, size_t n)
{
	size_t i = 0;

	if (n < 3 || strncmp(s, "eyJ", 3) != 0)
		return 0;
	for (int part = 0; part < 3; part++) {
		size_t start = i;

		while (i < n && is_b64url(s[i]))
			i++;
		if (part < 2 && (i == start || i >= n || s[i] != '.'))
			return 0;
		if (part < 2)
			i++;
	}
	return i;
}

/* Like sbuf_put_encoded, with every JWT inside s[0..n) (a bearer token in
 * a parameter of any name, in a path segment, inside a longer value)
 * written as [REDACTED]. */
static void put_scrubbed(struct sbuf *b, const char *s, size_t n, const char *keep)
{
	size_t done = 0;

	for (size_t i = 0; i < n; i++) {
		size_t jwt;

		if (s[i] != 'e' || (i > 0 && is_b64url(s[i - 1])))
			continue;
		jwt = jwt_span(s + i, n - i);
		if (jwt == 0)
			continue;
		sbuf_put_encoded(b, s + done, i - done, keep);
		sbuf_put(b, HTTP_REDACTED, strlen(HTTP_REDACTED));
		i += jwt - 1;
		done = i + 1;
	}
	sbuf_put_encoded(b, s + done, n - done, keep);
}

static bool secret_param(const char *name)
{
	static const char *const names[] = { "api_key", "apikey", "access_token", "key" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return looks_like_key(name);
}

static void put_path(struct sbuf *b, const char *path)
{
	while (*path) {
		size_t n = strcspn(path, "/");

		if (n == 0) {
			sbuf_put(b, "/", 1);
			path++;
			continue;
		}
		if (looks_like_key(path))
			sbuf_put(b, HTTP_REDACTED, strlen(HTTP_REDACTED));
		else
			put_scrubbed(b, path, n, "!$'()*+,;=:@");
		path += n;
	}
}

struct log_url {
	struct sbuf b;
	bool query; /* the '?' is written */
};

static void put_query_text(struct sbuf *b, const char *s)
{
	put_scrubbed(b, s, strlen(s), "!$'()*,;:@/?");
}

static enum MHD_Result put_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	struct log_url *u = cls;

	sbuf_put(&u->b, u->query ? "&" : "?", 1);
	u->query = true;
	if (!key)
		key = "";
	if (looks_like_key(key))
		sbuf_put(&u->b, HTTP_REDACTED, strlen(HTTP_REDACTED));
	else
		put_query_text(&u->b, key);
	if (!value)
		return MHD_YES;
	sbuf_put(&u->b, "=", 1);
	if (secret_param(key) || looks_like_key(value))
		sbuf_put(&u->b, HTTP_REDACTED, strlen(HTTP_REDACTED));
	else
		put_query_text(&u->b, value);
	return MHD_YES;
}

const char *http_log_url(struct arena *a, const char *path, struct MHD_Connection *conn)
{
	struct log_url u = { { 0 }, false };
	char *out;

	sbuf_put(&u.b, "", 0);
	put_path(&u.b, path);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, put_arg, &u);
	out = arena_strndup(a, u.b.p, u.b.len);
	free(u.b.p);
	return out;
}
