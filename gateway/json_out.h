/* json_out.h - JSON text written straight into one growing buffer.
 *
 * The hot replies (a user, a page of posts) are written from the protobuf
 * message as text (transcode_write) instead of being built as a jansson tree
 * and then printed: no allocation per value, no second walk. What is written
 * is byte for byte what json_dumps(JSON_COMPACT) prints for the same values
 * (string escapes, integers, reals), so both paths answer alike
 * (gateway_transcode_write_test holds them to it). */
#ifndef GATEWAY_JSON_OUT_H
#define GATEWAY_JSON_OUT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct json_out {
	char *buf; /* malloc'd, NUL-terminated once taken */
	size_t len;
	size_t cap;
};

/* An empty buffer with room for about cap bytes. */
void jout_init(struct json_out *o, size_t cap);
/* The text written (malloc'd, NUL-terminated; its length in *len when len is
 * not NULL); o is empty afterwards. */
char *jout_take(struct json_out *o, size_t *len);

void jout_mem(struct json_out *o, const char *s, size_t n);
#define JOUT_LIT(o, s) jout_mem((o), (s), sizeof(s) - 1)
void jout_char(struct json_out *o, char c);
void jout_int(struct json_out *o, int64_t v);
/* A JSON real as jansson prints one ("%.17g", always a '.' or an exponent,
 * no '+' or leading zeros in the exponent). Finite values only. */
void jout_real(struct json_out *o, double d);
void jout_bool(struct json_out *o, int v);
/* s (n bytes, valid UTF-8) as a JSON string: '"', '\\' and control
 * characters escaped as jansson does; the rest as is. */
void jout_string(struct json_out *o, const char *s, size_t n);
/* "key": (key: plain ASCII without characters to escape). */
void jout_key(struct json_out *o, const char *key);
/* A jansson value, printed compactly into o (NULL prints null). */
void jout_json(struct json_out *o, const json_t *v);

#endif
