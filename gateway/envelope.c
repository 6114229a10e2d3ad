/* envelope.c - see envelope.h. jansson keeps object keys in insertion order,
 * so the order below is the order on the wire. */
#include "envelope.h"

#include <stdlib.h>
#include <string.h>

#include "json_arena.h"
#include "log.h"
#include "util.h"

#define ENVELOPE_DEFAULT_VERSION "v1"

/* Out of memory inside jansson: abort, as xmalloc does. */
static void *must(void *p)
{
	if (!p) {
		log_fatal("envelope: out of memory");
		abort();
	}
	return p;
}

/* s (len bytes, not valid UTF-8) with U+FFFD for each byte that is not part
 * of a valid sequence (malloc'd; its length in *outlen). */
static char *repaired(const char *s, size_t len, size_t *outlen)
{
	static const char replacement[] = "\xEF\xBF\xBD";
	size_t i = 0, o = 0;
	char *copy = xmalloc(len * 3 + 1);

	while (i < len) {
		size_t n = utf8_decode(s + i, len - i, NULL);

		if (n == 0) {
			memcpy(copy + o, replacement, 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(copy + o, s + i, n);
		o += n;
		i += n;
	}
	*outlen = o;
	return copy;
}

/* A JSON string of s; bytes that are not valid UTF-8 (an upstream message we
 * do not control) become U+FFFD instead of failing the whole envelope. */
static json_t *text(const char *s)
{
	size_t len = s ? strlen(s) : 0, n;
	json_t *j;
	char *copy;

	if (!s || utf8_valid(s, len))
		return must(json_stringn(s ? s : "", len));
	copy = repaired(s, len, &n);
	j = must(json_stringn(copy, n));
	free(copy);
	return j;
}

/* text(s) written as text. */
static void write_text(struct json_out *o, const char *s)
{
	size_t len = s ? strlen(s) : 0, n;
	char *copy;

	if (!s || utf8_valid(s, len)) {
		jout_string(o, s ? s : "", len);
		return;
	}
	copy = repaired(s, len, &n);
	jout_string(o, copy, n);
	free(copy);
}

static json_t *meta_json(const struct envelope_meta *m)
{
	char ts[32];
	json_t *o = must(json_object());
	int64_t now = m && m->now_ms ? m->now_ms : now_unix_ms();

	format_rfc3339_ms(now, ts, sizeof(ts));
	json_object_set_new(o, "timestamp", text(ts));
	json_object_set_new(o, "version",
			    text(m && m->version ? m->version : ENVELOPE_DEFAULT_VERSION));
	json_object_set_new(o, "requestId", text(m ? m->request_id : NULL));
	return o;
}

/* Adds meta, serializes compactly, frees root. */
static char *finish(json_t *root, const struct envelope_meta *m, size_t *len)
{
	char *out;

	json_object_set_new(root, "meta", meta_json(m));
	out = json_arena_dump(root, len);
	json_decref(root);
	return out;
}

void envelope_open(struct json_out *o)
{
	JOUT_LIT(o, "{\"success\":true,\"data\":");
}

static void write_pagination(struct json_out *o, const struct page_info *p)
{
	JOUT_LIT(o, ",\"pagination\":{\"page\":");
	jout_int(o, p->page);
	JOUT_LIT(o, ",\"limit\":");
	jout_int(o, p->limit);
	JOUT_LIT(o, ",\"total\":");
	jout_int(o, p->total);
	JOUT_LIT(o, ",\"totalPages\":");
	jout_int(o, p->total_pages);
	JOUT_LIT(o, ",\"hasNext\":");
	jout_bool(o, p->has_next);
	JOUT_LIT(o, ",\"hasPrev\":");
	jout_bool(o, p->has_prev);
	jout_char(o, '}');
}

void envelope_close(struct json_out *o, const struct envelope_meta *m, const struct page_info *p)
{
	char ts[32];

	format_rfc3339_ms(m && m->now_ms ? m->now_ms : now_unix_ms(), ts, sizeof(ts));
	if (p)
		write_pagination(o, p);
	JOUT_LIT(o, ",\"meta\":{\"timestamp\":");
	write_text(o, ts);
	JOUT_LIT(o, ",\"version\":");
	write_text(o, m && m->version ? m->version : ENVELOPE_DEFAULT_VERSION);
	JOUT_LIT(o, ",\"requestId\":");
	write_text(o, m ? m->request_id : NULL);
	JOUT_LIT(o, "}}");
}

/* open, data (stolen), close. */
static char *with_data(const struct envelope_meta *m, json_t *data, const struct page_info *p,
		       size_t *len)
{
	struct json_out o;

	jout_init(&o, 512);
	envelope_open(&o);
	jout_json(&o, data);
	json_decref(data);
	envelope_close(&o, m, p);
	return jout_take(&o, len);
}

char *envelope_success(const struct envelope_meta *m, json_t *data, size_t *len)
{
	return with_data(m, data, NULL, len);
}

char *envelope_list(const struct envelope_meta *m, json_t *data, const struct page_info *p,
		    size_t *len)
{
	static const struct page_info none;

	return with_data(m, data ? data : must(json_array()), p ? p : &none, len);
}

static json_t *details_json(const struct app_error *e)
{
	json_t *arr = must(json_array());
	size_t n = e->nviolations < ERR_MAX_VIOLATIONS ? e->nviolations : ERR_MAX_VIOLATIONS;

	for (size_t i = 0; i < n; i++) {
		json_t *v = must(json_object());

		json_object_set_new(v, "field", text(e->violations[i].field));
		json_object_set_new(v, "message", text(e->violations[i].description));
		json_array_append_new(arr, v);
	}
	return arr;
}

char *envelope_error(const struct envelope_meta *m, const struct app_error *e, size_t *len)
{
	json_t *root = must(json_object());
	json_t *err = must(json_object());
	enum err_code code = e ? e->code : ERR_INTERNAL_ERROR;
	const char *msg = e && e->message[0] ? e->message : err_default_message(code);

	json_object_set_new(err, "code", text(err_name(code)));
	json_object_set_new(err, "message", text(msg));
	if (e && e->nviolations > 0)
		json_object_set_new(err, "details", details_json(e));
	json_object_set_new(root, "success", json_false());
	json_object_set_new(root, "error", err);
	return finish(root, m, len);
}
