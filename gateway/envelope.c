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

/* A JSON string of s; bytes that are not valid UTF-8 (an upstream message we
 * do not control) become U+FFFD instead of failing the whole envelope. */
static json_t *text(const char *s)
{
	static const char replacement[] = "\xEF\xBF\xBD";
	size_t len, i = 0, o = 0;
	json_t *j;
	char *copy;

	if (!s)
		s = "";
	len = strlen(s);
	if (utf8_valid(s, len))
		return must(json_stringn(s, len));
	copy = xmalloc(len * 3 + 1);
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
	j = must(json_stringn(copy, o));
	free(copy);
	return j;
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

char *envelope_success(const struct envelope_meta *m, json_t *data, size_t *len)
{
	json_t *root = must(json_object());

	json_object_set_new(root, "success", json_true());
	json_object_set_new(root, "data", data ? data : json_null());
	return finish(root, m, len);
}

static json_t *pagination_json(const struct page_info *p)
{
	static const struct page_info none;
	json_t *o = must(json_object());

	if (!p)
		p = &none;
	json_object_set_new(o, "page", must(json_integer(p->page)));
	json_object_set_new(o, "limit", must(json_integer(p->limit)));
	json_object_set_new(o, "total", must(json_integer(p->total)));
	json_object_set_new(o, "totalPages", must(json_integer(p->total_pages)));
	json_object_set_new(o, "hasNext", json_boolean(p->has_next));
	json_object_set_new(o, "hasPrev", json_boolean(p->has_prev));
	return o;
}

char *envelope_list(const struct envelope_meta *m, json_t *data, const struct page_info *p,
		    size_t *len)
{
	json_t *root = must(json_object());

	json_object_set_new(root, "success", json_true());
	json_object_set_new(root, "data", data ? data : must(json_array()));
	json_object_set_new(root, "pagination", pagination_json(p));
	return finish(root, m, len);
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
