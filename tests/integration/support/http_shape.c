/* http_shape.c - exact-shape checks of API.md §1's envelopes and objects;
 * see http.h. Each check prints what differs before returning false, so that
 * a failed assertion says why. */
#include "http.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

const char *const IT_ANY_DETAILS[] = { NULL };

/* ---- shapes ----------------------------------------------------------------------- */

bool it_json_keys_are(const json_t *obj, const char *const *keys)
{
	size_t n = 0;
	bool ok = json_is_object(obj);

	for (; keys[n]; n++) {
		if (ok && !json_object_get(obj, keys[n])) {
			fprintf(stderr, "shape: key \"%s\" is missing\n", keys[n]);
			ok = false;
		}
	}
	if (ok && json_object_size(obj) != n)
		ok = false;
	if (!ok) {
		char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

		fprintf(stderr, "shape: expected exactly %zu keys {", n);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "%s%s", i ? ", " : "", keys[i]);
		fprintf(stderr, "}, got %.1000s\n", text ? text : "(null)");
		free(text);
	}
	return ok;
}

/* Two decimal digits (already checked) as a number. */
static int two_digits(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* "YYYY-MM-DDTHH:MM:SS" with digits and separators in place (no ranges). */
static bool date_time_layout(const char *s)
{
	return strlen(s) >= 20 && digits(s, 4) && s[4] == '-' && digits(s + 5, 2) && s[7] == '-' &&
	       digits(s + 8, 2) && s[10] == 'T' && digits(s + 11, 2) && s[13] == ':' &&
	       digits(s + 14, 2) && s[16] == ':' && digits(s + 17, 2);
}

/* Month, day, hour, minute and second in range (a leap second allowed). */
static bool date_time_ranges(const char *s)
{
	int month = two_digits(s + 5), day = two_digits(s + 8), hour = two_digits(s + 11);

	return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 &&
	       two_digits(s + 14) <= 59 && two_digits(s + 17) <= 60;
}

bool it_rfc3339_utc(const char *s)
{
	size_t i = 19;
	bool ok = s && date_time_layout(s);

	if (ok && s[i] == '.') {
		i++;
		ok = isdigit((unsigned char)s[i]);
		while (isdigit((unsigned char)s[i]))
			i++;
	}
	ok = ok && s[i] == 'Z' && s[i + 1] == '\0' && date_time_ranges(s);
	if (!ok)
		fprintf(stderr, "shape: \"%s\" is not RFC 3339 UTC ending in Z\n",
			s ? s : "(null)");
	return ok;
}

bool it_generated_request_id(const char *s)
{
	size_t n = 0;

	if (!s || strncmp(s, "req_", 4) != 0)
		goto out_bad;
	for (s += 4; isalnum((unsigned char)s[n]) && isascii((unsigned char)s[n]); n++)
		;
	if (n >= 16 && s[n] == '\0')
		return true;
out_bad:
	fprintf(stderr, "shape: \"%s\" is not req_ + 16 or more alphanumerics\n", s ? s : "(null)");
	return false;
}

bool it_meta_ok(const struct it_http_result *r, const json_t *meta)
{
	static const char *const keys[] = { "timestamp", "version", "requestId", NULL };
	const char *header = it_http_header(r, "X-Request-Id");
	const char *id = json_string_value(json_object_get(meta, "requestId"));
	const char *version = json_string_value(json_object_get(meta, "version"));

	if (!it_json_keys_are(meta, keys) ||
	    !it_rfc3339_utc(json_string_value(json_object_get(meta, "timestamp"))))
		return false;
	if (!version || strcmp(version, "v1") != 0) {
		fprintf(stderr, "shape: meta.version is not \"v1\"\n");
		return false;
	}
	if (!id || !header || strcmp(id, header) != 0) {
		fprintf(stderr, "shape: meta.requestId \"%s\" != X-Request-Id header \"%s\"\n",
			id ? id : "(none)", header ? header : "(none)");
		return false;
	}
	return true;
}

/* Status, Content-Type: application/json, a JSON object body. */
static bool json_response(const struct it_http_result *r, long status)
{
	const char *type = it_http_header(r, "Content-Type");

	if (r->status != status) {
		fprintf(stderr, "expected HTTP %ld\n", status);
		return false;
	}
	if (!type || strncasecmp(type, "application/json", 16) != 0) {
		fprintf(stderr, "shape: Content-Type is \"%s\", not application/json\n",
			type ? type : "(none)");
		return false;
	}
	if (!json_is_object(r->json)) {
		fprintf(stderr, "shape: the body is not a JSON object (or has duplicate keys)\n");
		return false;
	}
	return true;
}

bool it_http_is_success(const struct it_http_result *r, long status)
{
	static const char *const keys[] = { "success", "data", "meta", NULL };
	bool ok = json_response(r, status) && it_json_keys_are(r->json, keys) &&
		  json_is_true(json_object_get(r->json, "success")) &&
		  json_is_object(json_object_get(r->json, "data")) &&
		  it_meta_ok(r, json_object_get(r->json, "meta"));

	if (!ok)
		it_http_dump(r, "not the expected success envelope");
	return ok;
}

static bool pagination_ok(const json_t *p)
{
	static const char *const keys[] = { "page",    "limit",   "total", "totalPages",
					    "hasNext", "hasPrev", NULL };

	if (!it_json_keys_are(p, keys))
		return false;
	for (int i = 0; i < 4; i++) {
		if (!json_is_integer(json_object_get(p, keys[i]))) {
			fprintf(stderr, "shape: pagination.%s is not an integer\n", keys[i]);
			return false;
		}
	}
	return json_is_boolean(json_object_get(p, "hasNext")) &&
	       json_is_boolean(json_object_get(p, "hasPrev"));
}

bool it_http_is_list(const struct it_http_result *r)
{
	static const char *const keys[] = { "success", "data", "pagination", "meta", NULL };
	bool ok = json_response(r, 200) && it_json_keys_are(r->json, keys) &&
		  json_is_true(json_object_get(r->json, "success")) &&
		  json_is_array(json_object_get(r->json, "data")) &&
		  pagination_ok(json_object_get(r->json, "pagination")) &&
		  it_meta_ok(r, json_object_get(r->json, "meta"));

	if (!ok)
		it_http_dump(r, "not the expected list envelope");
	return ok;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* details is an array of exactly {field, message} naming exactly fields. */
static bool details_ok(const json_t *details, const char *const *fields)
{
	static const char *const keys[] = { "field", "message", NULL };
	const char *got[32], *want[32];
	size_t n = json_array_size(details), nwant = 0;

	while (fields[nwant] && nwant < 32)
		nwant++;
	if (!json_is_array(details) || n > 32)
		return false;
	for (size_t i = 0; i < n; i++) {
		const json_t *d = json_array_get(details, i);
		const char *msg = json_string_value(json_object_get(d, "message"));

		if (!it_json_keys_are(d, keys) || !msg || !*msg)
			return false;
		got[i] = json_string_value(json_object_get(d, "field"));
		if (!got[i])
			return false;
	}
	if (fields == IT_ANY_DETAILS)
		return true;
	if (n != nwant)
		return false;
	memcpy(want, fields, nwant * sizeof(*want));
	qsort(got, n, sizeof(*got), cmp_str);
	qsort(want, n, sizeof(*want), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(got[i], want[i]) != 0)
			return false;
	}
	return true;
}

static bool error_object_ok(const json_t *e, const char *code, const char *const *fields)
{
	static const char *const plain[] = { "code", "message", NULL };
	static const char *const detailed[] = { "code", "message", "details", NULL };
	const char *got = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	const json_t *details = json_object_get(e, "details");

	if (!got || strcmp(got, code) != 0) {
		fprintf(stderr, "shape: error.code is \"%s\", expected \"%s\"\n",
			got ? got : "(none)", code);
		return false;
	}
	if (!msg || !*msg) {
		fprintf(stderr, "shape: error.message is missing or empty\n");
		return false;
	}
	if (fields == IT_ANY_DETAILS && !details)
		return it_json_keys_are(e, plain);
	if (!fields)
		return it_json_keys_are(e, plain);
	if (!it_json_keys_are(e, detailed))
		return false;
	if (!details_ok(details, fields)) {
		fprintf(stderr, "shape: error.details do not name exactly the expected fields\n");
		return false;
	}
	return true;
}

bool it_http_is_error(const struct it_http_result *r, long status, const char *code,
		      const char *const *fields)
{
	static const char *const keys[] = { "success", "error", "meta", NULL };
	bool ok = json_response(r, status) && it_json_keys_are(r->json, keys) &&
		  json_is_false(json_object_get(r->json, "success")) &&
		  error_object_ok(json_object_get(r->json, "error"), code, fields) &&
		  it_meta_ok(r, json_object_get(r->json, "meta"));

	if (!ok) {
		fprintf(stderr, "expected error %ld %s with details {", status, code);
		for (size_t i = 0; fields && fields != IT_ANY_DETAILS && fields[i]; i++)
			fprintf(stderr, "%s%s", i ? ", " : "", fields[i]);
		fprintf(stderr, "}\n");
		it_http_dump(r, "not the expected error envelope");
	}
	return ok;
}

bool it_json_is_user(const json_t *u)
{
	static const char *const keys[] = { "id",        "email",      "name",    "role",
					    "isActive",  "isVerified", "version", "createdAt",
					    "updatedAt", NULL };
	const json_t *id = json_object_get(u, "id"), *version = json_object_get(u, "version");
	const char *role = json_string_value(json_object_get(u, "role"));
	bool ok;

	if (!it_json_keys_are(u, keys))
		return false;
	ok = json_is_integer(id) && json_integer_value(id) > 0 &&
	     json_integer_value(id) < (1LL << 53) && json_is_integer(version) &&
	     json_integer_value(version) >= 1 && json_is_string(json_object_get(u, "email")) &&
	     json_is_string(json_object_get(u, "name")) && role &&
	     (strcmp(role, "user") == 0 || strcmp(role, "moderator") == 0 ||
	      strcmp(role, "admin") == 0) &&
	     json_is_boolean(json_object_get(u, "isActive")) &&
	     json_is_boolean(json_object_get(u, "isVerified")) &&
	     it_rfc3339_utc(json_string_value(json_object_get(u, "createdAt"))) &&
	     it_rfc3339_utc(json_string_value(json_object_get(u, "updatedAt")));
	if (!ok) {
		char *text = json_dumps(u, JSON_COMPACT);

		fprintf(stderr, "shape: not a user object with the right types: %s\n", text);
		free(text);
	}
	return ok;
}

json_t *it_data(const struct it_http_result *r)
{
	return json_object_get(r->json, "data");
}

int64_t it_json_int(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

const char *it_json_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	assert_non_null(s);
	return s;
}

void it_expect_error(struct it_http_result r, long status, const char *code,
		     const char *const *fields)
{
	bool ok = it_http_is_error(&r, status, code, fields);

	it_http_release(&r); /* first: a failed assertion does not return */
	assert_true(ok);
}

void it_expect_status(struct it_http_result r, long status)
{
	bool ok = r.status == status && (status != 204 || r.body_len == 0);

	if (!ok)
		it_http_dump(&r, "unexpected status");
	it_http_release(&r);
	assert_true(ok);
}

int64_t it_gateway_sign_up(const struct it_gateway *g, const char *email, const char *name)
{
	char body[512];
	struct it_http_result r;
	int64_t id;

	snprintf(body, sizeof(body),
		 "{\"email\":\"%s\",\"password\":\"password123\",\"name\":\"%s\"}", email, name);
	r = it_gateway_call(g, "POST", "/users", NULL, NULL, body);
	assert_true(it_http_is_success(&r, 201));
	id = it_json_int(it_data(&r), "id");
	it_http_release(&r);
	return id;
}
