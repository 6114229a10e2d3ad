/* transcode_text.h - the text forms of the proto3 JSON mapping: a field's
 * JSON name, and the well-known types' strings (RFC 3339 timestamps,
 * FieldMask strings, base64 bytes), both directions. The transcoder's lower
 * layer: it depends on nothing in transcode.c; transcode.h includes it for
 * transcode_json_name, the other functions are the transcoder's own. */
#ifndef GATEWAY_TRANSCODE_TEXT_H
#define GATEWAY_TRANSCODE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

/* "is_active" -> "isActive" into out (truncated to outsize - 1 bytes). */
void transcode_json_name(const char *proto_name, char *out, size_t outsize);

/* Timestamp's valid range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z. */
#define TS_MIN_SECONDS INT64_C(-62135596800)
#define TS_MAX_SECONDS INT64_C(253402300799)

/* Strict RFC 3339 date-time of len bytes; false when malformed or out of range. */
bool transcode_parse_rfc3339(const char *s, size_t len, int64_t *secs, int32_t *nanos);
/* "userName,email" -> paths "user_name", "email" (in a). */
bool transcode_field_mask_from_text(struct arena *a, const char *s,
				    Google__Protobuf__FieldMask *fm);
/* Standard base64 with padding -> bytes (in a). */
bool transcode_bytes_from_text(struct arena *a, const char *s, size_t len,
			       ProtobufCBinaryData *out);

/* New JSON strings. */
/* "2026-01-15T10:30:00.123Z" (at least 25 bytes of buf). */
void transcode_timestamp_text(const Google__Protobuf__Timestamp *ts, char *buf, size_t size);
json_t *transcode_timestamp_to_json(const Google__Protobuf__Timestamp *ts);
/* The JSON form of a FieldMask, "userName,email" (malloc'd). */
char *transcode_field_mask_text(const Google__Protobuf__FieldMask *fm);
json_t *transcode_field_mask_to_json(const Google__Protobuf__FieldMask *fm);
json_t *transcode_bytes_to_json(const ProtobufCBinaryData *b);

#endif
