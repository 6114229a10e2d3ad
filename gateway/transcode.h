/* transcode.h - JSON <-> protobuf, driven by protobuf-c descriptors (the
 * proto3 JSON mapping as this API uses it).
 *
 * Names: a proto field `is_active` is the JSON key "isActive" (lowerCamelCase).
 * Types, JSON -> proto:
 *   string                   JSON string
 *   int32/int64/uint*        JSON integer (no fraction, no exponent, in range);
 *                            int64 also accepts nothing else (no strings)
 *   bool                     JSON true/false
 *   enum                     JSON string naming a value
 *   google.protobuf.BoolValue / StringValue / Int64Value: the bare JSON value;
 *                            null = absent
 *   google.protobuf.Timestamp: RFC 3339 string
 *   other messages           JSON object, recursively (same rules)
 *   repeated                 JSON array of the element type
 * proto -> JSON: every field is written, defaults included (false, 0, ""),
 * with its JSON name; absent message fields are null; int64 are JSON numbers;
 * Timestamps are "2026-01-15T10:30:00.123Z"; wrappers are bare values; enums
 * are their value names.
 *
 * Messages built here are allocated from an arena (message, strings, arrays,
 * sub-messages): never free them with protobuf_c_message_free_unpacked. */
#ifndef GATEWAY_TRANSCODE_H
#define GATEWAY_TRANSCODE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "err.h"
#include "json_out.h"
#include "transcode_text.h" /* transcode_json_name: "is_active" -> "isActive" */

/* The field whose JSON name (or proto name) is name, or NULL. */
const ProtobufCFieldDescriptor *transcode_field(const ProtobufCMessageDescriptor *d,
						const char *name);

/* A new, initialized message of type d in a. */
ProtobufCMessage *transcode_new(struct arena *a, const ProtobufCMessageDescriptor *d);

/* Sets a scalar field (string, integer, bool, enum) from text taken from a
 * path or query parameter. Integers must be whole decimal numbers in range;
 * bools "true"/"false". Failure: -1 with BAD_REQUEST whose message names
 * param ("page must be an integer"). */
int transcode_set_text(struct arena *a, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
		       const char *param, const char *text, struct app_error *err);

struct transcode_rules {
	/* JSON names the caller may not send (e.g. "id", "createdAt"); each one
	 * sent is a violation "Field is read-only". NULL-terminated, may be NULL. */
	const char *const *read_only;
	/* JSON names that must be present (PUT); each missing one is a violation
	 * "Field is required". NULL-terminated, may be NULL. */
	const char *const *required;
};

/* Fills m from the JSON object obj: every key to the field with that JSON
 * name. Collects every problem as a violation named by the JSON key (unknown
 * key "Unknown field", read-only key, wrong type "Must be a string" /
 * "Must be an integer" / "Must be a boolean" / ..., missing required key) and
 * then fails with VALIDATION_ERROR (422). On success, when paths is not NULL,
 * *paths / *npaths list the proto names of the top-level fields that were set
 * (JSON null included), in the order of the object's keys - the update mask
 * of a PATCH. */
int transcode_from_json(struct arena *a, const json_t *obj, ProtobufCMessage *m,
			const struct transcode_rules *rules, const char ***paths, size_t *npaths,
			struct app_error *err);

/* m as a JSON object (new reference). */
json_t *transcode_to_json(const ProtobufCMessage *m);

/* m as JSON text appended to o: exactly what printing transcode_to_json(m)
 * compactly gives, without building the tree (the replies' path). */
void transcode_write(struct json_out *o, const ProtobufCMessage *m);
/* The value of m's field name (proto or JSON name) as JSON text; [] when m
 * has no such field (a list reply's items). */
void transcode_write_field(struct json_out *o, const ProtobufCMessage *m, const char *name);

#endif
