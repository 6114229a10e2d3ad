/* transcode_internal.h - what transcode.c (JSON <-> proto) shares with
 * transcode_write.c (proto -> JSON text); not for other modules. */
#ifndef GATEWAY_TRANSCODE_INTERNAL_H
#define GATEWAY_TRANSCODE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define TRANSCODE_NAME_MAX 128 /* a JSON field name */

/* The well-known types with a JSON form of their own. */
enum wkt { WKT_NONE, WKT_TIMESTAMP, WKT_WRAPPER, WKT_FIELD_MASK };

enum wkt transcode__wkt(const ProtobufCMessageDescriptor *d);
/* The JSON name of d's field i (computed once per type; in buf when the
 * table of names is full). */
const char *transcode__name_of(const ProtobufCMessageDescriptor *d, unsigned i, char *buf,
			       size_t size);
/* A singular field is present (its oneof case or has_ flag; always for the rest). */
bool transcode__present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f);
/* Bytes of one element of a repeated field of type t. */
size_t transcode__elem_size(ProtobufCType t);
/* true for the integer types, with their range. */
bool transcode__int_range(ProtobufCType t, int64_t *min, int64_t *max);

#endif
