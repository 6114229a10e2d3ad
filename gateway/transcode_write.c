/* transcode_write.c - proto -> JSON text, straight into a json_out buffer.
 *
 * The same mapping as transcode_to_json (transcode.h), field by field in the
 * same order, so the text is what printing that tree gives; without the tree:
 * no allocation per value and one walk instead of two. */
#include "transcode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "google/protobuf/field_mask.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "transcode_internal.h"
#include "util.h"
#include "validate.h"

static void write_message(struct json_out *o, const ProtobufCMessage *m);

static void write_int(struct json_out *o, ProtobufCType t, const void *src)
{
	uint64_t u;

	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		jout_int(o, *(const int32_t *)src);
		return;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		jout_int(o, *(const uint32_t *)src);
		return;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		u = *(const uint64_t *)src;
		if (u <= INT64_MAX)
			jout_int(o, (int64_t)u);
		else
			jout_real(o, (double)u);
		return;
	default:
		jout_int(o, *(const int64_t *)src);
	}
}

/* proto3 JSON spells the non-finite values as strings. */
static void write_double(struct json_out *o, double d)
{
	if (isnan(d))
		JOUT_LIT(o, "\"NaN\"");
	else if (isinf(d))
		jout_string(o, d > 0 ? "Infinity" : "-Infinity", d > 0 ? 8 : 9);
	else
		jout_real(o, d);
}

/* Not UTF-8 (an upstream bug): the ASCII is kept, other bytes become '?',
 * as transcode_to_json does. */
static void write_text(struct json_out *o, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	char *copy;

	if (utf8_valid(s ? s : "", n)) {
		jout_string(o, s ? s : "", n);
		return;
	}
	copy = xstrdup(s);
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	jout_string(o, copy, n);
	free(copy);
}

static void write_bytes(struct json_out *o, const ProtobufCBinaryData *b)
{
	unsigned char *out = xmalloc(4 * ((b->len + 2) / 3) + 1);
	int n = EVP_EncodeBlock(out, b->data, (int)b->len);

	jout_string(o, (const char *)out, n > 0 ? (size_t)n : 0);
	free(out);
}

static void write_scalar(struct json_out *o, const ProtobufCFieldDescriptor *f, const void *src)
{
	const ProtobufCEnumValue *ev;
	int64_t min, max;

	if (transcode__int_range(f->type, &min, &max)) {
		write_int(o, f->type, src);
		return;
	}
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		jout_bool(o, *(const protobuf_c_boolean *)src);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		write_double(o, *(const float *)src);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		write_double(o, *(const double *)src);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		ev = protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)src);
		if (ev)
			jout_string(o, ev->name, strlen(ev->name));
		else
			jout_int(o, *(const int *)src);
		break;
	case PROTOBUF_C_TYPE_STRING:
		write_text(o, *(char *const *)src);
		break;
	case PROTOBUF_C_TYPE_BYTES:
		write_bytes(o, src);
		break;
	default:
		JOUT_LIT(o, "null");
	}
}

static void write_field(struct json_out *o, const ProtobufCMessage *m,
			const ProtobufCFieldDescriptor *f)
{
	const char *p = (const char *)m + f->offset;

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
		const char *arr = *(const char *const *)p;
		size_t size = transcode__elem_size(f->type);

		jout_char(o, '[');
		for (size_t i = 0; i < n; i++) {
			if (i)
				jout_char(o, ',');
			if (f->type == PROTOBUF_C_TYPE_MESSAGE)
				write_message(o, *(ProtobufCMessage *const *)(arr + i * size));
			else
				write_scalar(o, f, arr + i * size);
		}
		jout_char(o, ']');
	} else if (!transcode__present(m, f)) {
		JOUT_LIT(o, "null");
	} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		write_message(o, *(ProtobufCMessage *const *)p);
	} else {
		write_scalar(o, f, p);
	}
}

static void write_timestamp(struct json_out *o, const Google__Protobuf__Timestamp *ts)
{
	char buf[40];

	transcode_timestamp_text(ts, buf, sizeof(buf));
	jout_string(o, buf, strlen(buf));
}

static void write_field_mask(struct json_out *o, const Google__Protobuf__FieldMask *fm)
{
	char *text = transcode_field_mask_text(fm);

	write_text(o, text);
	free(text);
}

/* NULL -> null; well-known types in their JSON forms; others as objects. */
static void write_message(struct json_out *o, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d;
	char name[TRANSCODE_NAME_MAX];

	if (!m) {
		JOUT_LIT(o, "null");
		return;
	}
	d = m->descriptor;
	switch (transcode__wkt(d)) {
	case WKT_WRAPPER:
		write_scalar(o, &d->fields[0], (const char *)m + d->fields[0].offset);
		return;
	case WKT_TIMESTAMP:
		write_timestamp(o, (const Google__Protobuf__Timestamp *)m);
		return;
	case WKT_FIELD_MASK:
		write_field_mask(o, (const Google__Protobuf__FieldMask *)m);
		return;
	case WKT_NONE:
		break;
	}
	jout_char(o, '{');
	for (unsigned i = 0; i < d->n_fields; i++) {
		if (i)
			jout_char(o, ',');
		jout_key(o, transcode__name_of(d, i, name, sizeof(name)));
		write_field(o, m, &d->fields[i]);
	}
	jout_char(o, '}');
}

void transcode_write(struct json_out *o, const ProtobufCMessage *m)
{
	write_message(o, m);
}

void transcode_write_field(struct json_out *o, const ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *f = m ? transcode_field(m->descriptor, name) : NULL;

	if (f)
		write_field(o, m, f);
	else
		JOUT_LIT(o, "[]");
}
