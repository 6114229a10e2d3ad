/* envelope.h - the REST response envelopes of API.md §1, byte for byte.
 *
 *   success: {"success":true,"data":{...},"meta":{...}}
 *   list:    {"success":true,"data":[...],"pagination":{...},"meta":{...}}
 *   error:   {"success":false,"error":{"code","message"[,"details"]},"meta":{...}}
 *   meta:    {"timestamp":"<RFC 3339 UTC, ms, Z>","version":"v1","requestId":"..."}
 *
 * "details" ([{"field","message"}...]) appears only when the error has field
 * violations. Every builder returns a malloc'd, NUL-terminated compact JSON
 * string the caller frees, and its length in *len. */
#ifndef GATEWAY_ENVELOPE_H
#define GATEWAY_ENVELOPE_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"
#include "json_out.h"
#include "validate.h"

struct envelope_meta {
	const char *version;    /* API_VERSION, e.g. "v1" */
	const char *request_id; /* the response's X-Request-Id */
	int64_t now_ms;         /* meta.timestamp (unix ms); 0 = now */
};

/* data is stolen (decref'd by the call); NULL data is JSON null. */
char *envelope_success(const struct envelope_meta *m, json_t *data, size_t *len);
/* data (a JSON array) is stolen; pagination from p (page, limit, total,
 * totalPages, hasNext, hasPrev). */
char *envelope_list(const struct envelope_meta *m, json_t *data, const struct page_info *p,
		    size_t *len);
/* code = err_name(e->code); message = e->message or the table's default. */
/* The same envelopes written piece by piece into o, for data written as text
 * (transcode_write): envelope_open writes up to "data": included, the caller
 * the data, envelope_close the rest (with pagination when p is not NULL). */
void envelope_open(struct json_out *o);
void envelope_close(struct json_out *o, const struct envelope_meta *m, const struct page_info *p);
char *envelope_error(const struct envelope_meta *m, const struct app_error *e, size_t *len);

#endif
