/* transcode.c - JSON <-> protobuf driven by protobuf-c descriptors; see
 * transcode.h for the mapping.
 *
 * One walk over the descriptor per direction. Well-known types (Timestamp,
 * the wrappers, FieldMask) are recognised by full name. JSON -> proto never
 * stops at the first problem: every bad key becomes a violation named by its
 * JSON path ("author.name", "permissions[1]") so a client learns them all at
 * once. Everything built lives in the caller's arena. */
#include "transcode.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/field_mask.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "transcode_internal.h"
#include "transcode_text.h"
#include "util.h"

#define TRANSCODE_PATH_MAX 128 /* a violation's field path (err.h keeps 64) */
#define TRANSCODE_MAX_DEPTH 32 /* nested objects accepted in a body */

static const char *const wrapper_names[] = {
	"google.protobuf.BoolValue",   "google.protobuf.StringValue", "google.protobuf.Int64Value",
	"google.protobuf.Int32Value",  "google.protobuf.UInt64Value", "google.protobuf.UInt32Value",
	"google.protobuf.DoubleValue", "google.protobuf.FloatValue",  "google.protobuf.BytesValue",
};

/* State of one JSON -> proto conversion. */
struct from_ctx {
	struct arena *a;
	struct app_error *err;
	bool failed;
	/* Top level only: */
	const struct transcode_rules *rules;
	const char **paths; /* arena array, one slot per key */
	size_t npaths;
};

static void object_from_json(struct from_ctx *c, json_t *obj, ProtobufCMessage *m,
			     const char *prefix, int depth);
static json_t *message_to_json(const ProtobufCMessage *m);

/* ---- names and descriptors ------------------------------------------------- */

/* The JSON names of a message type's fields (in field order), computed once
 * per type: descriptors are static, so each table lives as long as the
 * process. Looked up without a lock (a slot's names are published before its
 * descriptor); filled under one. */
#define NAME_SLOTS 512

static struct {
	_Atomic(const ProtobufCMessageDescriptor *) d;
	char **names;
} name_slots[NAME_SLOTS];
static pthread_mutex_t name_lock = PTHREAD_MUTEX_INITIALIZER;

static char **names_build(const ProtobufCMessageDescriptor *d)
{
	char **names = xcalloc(d->n_fields ? d->n_fields : 1, sizeof(*names));
	char json[TRANSCODE_NAME_MAX];

	for (unsigned i = 0; i < d->n_fields; i++) {
		transcode_json_name(d->fields[i].name, json, sizeof(json));
		names[i] = xstrdup(json);
	}
	return names;
}

/* d's names, or NULL when the table is full (the caller converts itself). */
static char *const *json_names(const ProtobufCMessageDescriptor *d)
{
	size_t h = ((uintptr_t)d >> 4) % NAME_SLOTS;
	char **names = NULL;

	for (size_t i = 0; i < NAME_SLOTS; i++, h = (h + 1) % NAME_SLOTS) {
		const ProtobufCMessageDescriptor *s = atomic_load_explicit(&name_slots[h].d,
									   memory_order_acquire);

		if (s == d)
			return name_slots[h].names;
		if (s)
			continue;
		pthread_mutex_lock(&name_lock);
		s = atomic_load_explicit(&name_slots[h].d, memory_order_acquire);
		if (!s) {
			names = names_build(d);
			name_slots[h].names = names;
			atomic_store_explicit(&name_slots[h].d, d, memory_order_release);
		} else if (s == d) {
			names = name_slots[h].names;
		}
		pthread_mutex_unlock(&name_lock);
		if (names)
			return names;
	}
	return NULL;
}

/* The JSON name of d's field i, in buf when it had to be computed here. */
const char *transcode__name_of(const ProtobufCMessageDescriptor *d, unsigned i, char *buf,
			       size_t size)
{
	char *const *names = json_names(d);

	if (names)
		return names[i];
	transcode_json_name(d->fields[i].name, buf, size);
	return buf;
}

/* The field whose JSON name is name (bodies accept JSON names only, so that a
 * read-only list of JSON names cannot be bypassed with "created_at"). */
static const ProtobufCFieldDescriptor *json_field(const ProtobufCMessageDescriptor *d,
						  const char *name)
{
	char json[TRANSCODE_NAME_MAX];

	for (unsigned i = 0; i < d->n_fields; i++) {
		if (strcmp(transcode__name_of(d, i, json, sizeof(json)), name) == 0)
			return &d->fields[i];
	}
	return NULL;
}

const ProtobufCFieldDescriptor *transcode_field(const ProtobufCMessageDescriptor *d,
						const char *name)
{
	if (!d || !name)
		return NULL;
	for (unsigned i = 0; i < d->n_fields; i++)
		if (strcmp(d->fields[i].name, name) == 0)
			return &d->fields[i];
	return json_field(d, name);
}

ProtobufCMessage *transcode_new(struct arena *a, const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = arena_alloc(a, d->sizeof_message);

	d->message_init(m);
	return m;
}

enum wkt transcode__wkt(const ProtobufCMessageDescriptor *d)
{
	if (strcmp(d->name, "google.protobuf.Timestamp") == 0)
		return WKT_TIMESTAMP;
	if (strcmp(d->name, "google.protobuf.FieldMask") == 0)
		return WKT_FIELD_MASK;
	for (size_t i = 0; i < ARRAY_SIZE(wrapper_names); i++)
		if (strcmp(d->name, wrapper_names[i]) == 0)
			return WKT_WRAPPER;
	return WKT_NONE;
}

/* Bytes of one element of a field of type t (one slot of a repeated array). */
size_t transcode__elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sizeof(int64_t);
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default: /* 32-bit integers and enums */
		return sizeof(int32_t);
	}
}

/* The range of an integer type as JSON can carry it; false for non-integers. */
bool transcode__int_range(ProtobufCType t, int64_t *min, int64_t *max)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		*min = INT32_MIN;
		*max = INT32_MAX;
		return true;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		*min = 0;
		*max = UINT32_MAX;
		return true;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		*min = INT64_MIN;
		*max = INT64_MAX;
		return true;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*min = 0;
		*max = INT64_MAX;
		return true;
	default:
		return false;
	}
}

/* Stores v (already range-checked) into an integer slot of type t. */
static void int_store(ProtobufCType t, void *dst, int64_t v)
{
	if (transcode__elem_size(t) == sizeof(uint32_t)) {
		uint32_t u = (uint32_t)v;

		memcpy(dst, &u, sizeof(u));
	} else {
		memcpy(dst, &v, sizeof(v));
	}
}

/* Types whose proto3-optional / proto2-optional fields carry a has_ flag. */
static bool has_flag_type(ProtobufCType t)
{
	return t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_MESSAGE;
}

/* Records that a singular field was set: its oneof case or has_ flag. */
static void mark_present(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	char *q = (char *)m + f->quantifier_offset;

	if (f->type == PROTOBUF_C_TYPE_MESSAGE && !*(void **)((char *)m + f->offset))
		return; /* JSON null: stays absent */
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		*(uint32_t *)q = f->id;
	else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && has_flag_type(f->type))
		*(protobuf_c_boolean *)q = 1;
}

bool transcode__present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *q = (const char *)m + f->quantifier_offset;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)q == f->id;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && has_flag_type(f->type))
		return *(const protobuf_c_boolean *)q;
	return true;
}

/* "a, b, c": the value names of an enum (truncated to size). */
static void enum_names(const ProtobufCEnumDescriptor *ed, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < ed->n_values && n < size; i++) {
		int w = snprintf(buf + n, size - n, "%s%s", i ? ", " : "", ed->values[i].name);

		if (w < 0)
			break;
		n += (size_t)w;
	}
}

/* ---- JSON -> proto ------------------------------------------------------------- */

static void violation(struct from_ctx *c, const char *path, const char *msg)
{
	app_error_add_violation(c->err, path, "%s", msg);
	c->failed = true;
}

/* The text of a JSON string without NUL characters, or NULL (violation added). */
static const char *text_of(struct from_ctx *c, json_t *v, const char *path)
{
	const char *s = json_string_value(v);

	if (!s) {
		violation(c, path, "Must be a string");
		return NULL;
	}
	if (memchr(s, '\0', json_string_length(v))) {
		violation(c, path, "Must not contain NUL characters");
		return NULL;
	}
	return s;
}

static void int_from_json(struct from_ctx *c, ProtobufCType t, void *dst, json_t *v,
			  const char *path, int64_t min, int64_t max)
{
	int64_t n;

	if (!json_is_integer(v)) {
		violation(c, path, "Must be an integer");
		return;
	}
	n = json_integer_value(v);
	if (n < min || n > max) {
		app_error_add_violation(c->err, path,
					"Must be an integer between %" PRId64 " and %" PRId64, min,
					max);
		c->failed = true;
		return;
	}
	int_store(t, dst, n);
}

static void enum_from_json(struct from_ctx *c, const ProtobufCFieldDescriptor *f, void *dst,
			   json_t *v, const char *path)
{
	const char *s = text_of(c, v, path);
	const ProtobufCEnumValue *ev;
	char names[ERR_DESC_MAX];

	if (!s)
		return;
	ev = protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, s);
	if (!ev) {
		enum_names(f->descriptor, names, sizeof(names));
		app_error_add_violation(c->err, path, "Must be one of: %s", names);
		c->failed = true;
		return;
	}
	*(int *)dst = ev->value;
}

/* v (not null) into the scalar slot dst of field f. */
static void scalar_from_json(struct from_ctx *c, const ProtobufCFieldDescriptor *f, void *dst,
			     json_t *v, const char *path)
{
	int64_t min, max;
	const char *s;

	if (transcode__int_range(f->type, &min, &max)) {
		int_from_json(c, f->type, dst, v, path, min, max);
		return;
	}
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		if (json_is_boolean(v))
			*(protobuf_c_boolean *)dst = json_is_true(v);
		else
			violation(c, path, "Must be a boolean");
		break;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		if (!json_is_number(v))
			violation(c, path, "Must be a number");
		else if (f->type == PROTOBUF_C_TYPE_FLOAT)
			*(float *)dst = (float)json_number_value(v);
		else
			*(double *)dst = json_number_value(v);
		break;
	case PROTOBUF_C_TYPE_STRING:
		s = text_of(c, v, path);
		if (s)
			*(char **)dst = arena_strndup(c->a, s, json_string_length(v));
		break;
	case PROTOBUF_C_TYPE_BYTES:
		s = json_string_value(v);
		if (!s || !transcode_bytes_from_text(c->a, s, json_string_length(v), dst))
			violation(c, path, "Must be a base64 string");
		break;
	case PROTOBUF_C_TYPE_ENUM:
		enum_from_json(c, f, dst, v, path);
		break;
	default:
		violation(c, path, "Unsupported field type");
		break;
	}
}

/* v (not null) as a new message of type d into *dst. */
static void message_from_json(struct from_ctx *c, const ProtobufCMessageDescriptor *d,
			      ProtobufCMessage **dst, json_t *v, const char *path, int depth)
{
	ProtobufCMessage *m = transcode_new(c->a, d);
	Google__Protobuf__Timestamp *ts = (Google__Protobuf__Timestamp *)m;
	const char *s;

	*dst = m;
	switch (transcode__wkt(d)) {
	case WKT_WRAPPER:
		scalar_from_json(c, &d->fields[0], (char *)m + d->fields[0].offset, v, path);
		break;
	case WKT_TIMESTAMP:
		if (!json_is_string(v) ||
		    !transcode_parse_rfc3339(json_string_value(v), json_string_length(v),
					     &ts->seconds, &ts->nanos))
			violation(c, path, "Must be an RFC 3339 timestamp");
		break;
	case WKT_FIELD_MASK:
		s = text_of(c, v, path);
		if (s && !transcode_field_mask_from_text(c->a, s, (Google__Protobuf__FieldMask *)m))
			violation(c, path, "Must be a comma-separated list of field names");
		break;
	case WKT_NONE:
		if (!json_is_object(v))
			violation(c, path, "Must be an object");
		else if (depth >= TRANSCODE_MAX_DEPTH)
			violation(c, path, "Is nested too deeply");
		else
			object_from_json(c, v, m, path, depth + 1);
		break;
	}
}

/* One value of field f into the slot dst. JSON null is an absent message
 * (wrappers included) and an error for anything else. */
static void value_from_json(struct from_ctx *c, const ProtobufCFieldDescriptor *f, void *dst,
			    json_t *v, const char *path, int depth)
{
	if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		if (json_is_null(v))
			*(ProtobufCMessage **)dst = NULL;
		else
			message_from_json(c, f->descriptor, dst, v, path, depth);
		return;
	}
	if (json_is_null(v))
		violation(c, path, "Must not be null");
	else
		scalar_from_json(c, f, dst, v, path);
}

static void repeated_from_json(struct from_ctx *c, ProtobufCMessage *m,
			       const ProtobufCFieldDescriptor *f, json_t *v, const char *path,
			       int depth)
{
	size_t n, i, size = transcode__elem_size(f->type);
	char sub[TRANSCODE_PATH_MAX + 24]; /* room for "[index]" */
	char *arr;
	json_t *e;

	if (!json_is_array(v)) {
		violation(c, path, json_is_null(v) ? "Must not be null" : "Must be an array");
		return;
	}
	n = json_array_size(v);
	arr = n ? arena_alloc(c->a, n * size) : NULL;
	json_array_foreach (v, i, e) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (json_is_null(e))
			violation(c, sub, "Must not be null");
		else
			value_from_json(c, f, arr + i * size, e, sub, depth);
	}
	*(size_t *)((char *)m + f->quantifier_offset) = n;
	*(void **)((char *)m + f->offset) = arr;
}

static bool name_listed(const char *const *list, const char *name)
{
	for (; list && *list; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

/* Every key of obj into m; prefix is the path of obj (NULL at the top, where
 * the rules apply and set fields are recorded in c->paths). */
static void object_from_json(struct from_ctx *c, json_t *obj, ProtobufCMessage *m,
			     const char *prefix, int depth)
{
	const char *const *read_only = !prefix && c->rules ? c->rules->read_only : NULL;
	char path[TRANSCODE_PATH_MAX];
	const char *key;
	size_t klen;
	json_t *v;

	json_object_keylen_foreach (obj, key, klen, v) {
		const ProtobufCFieldDescriptor *f;

		if (prefix)
			snprintf(path, sizeof(path), "%s.%s", prefix, key);
		else
			strlcpy_s(path, key, sizeof(path));
		if (name_listed(read_only, key)) {
			violation(c, path, "Field is read-only");
			continue;
		}
		f = strlen(key) == klen ? json_field(m->descriptor, key) : NULL;
		if (!f) {
			violation(c, path, "Unknown field");
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			repeated_from_json(c, m, f, v, path, depth);
		} else {
			value_from_json(c, f, (char *)m + f->offset, v, path, depth);
			mark_present(m, f);
		}
		if (!prefix)
			c->paths[c->npaths++] = f->name;
	}
}

/* A required key is missing when absent, or null where null means absent. */
static void check_required(struct from_ctx *c, json_t *obj, const ProtobufCMessageDescriptor *d)
{
	const char *const *req = c->rules ? c->rules->required : NULL;

	for (; req && *req; req++) {
		json_t *v = json_object_get(obj, *req);
		const ProtobufCFieldDescriptor *f = json_field(d, *req);

		if (!v || (json_is_null(v) && f && f->type == PROTOBUF_C_TYPE_MESSAGE))
			violation(c, *req, "Field is required");
	}
}

int transcode_from_json(struct arena *a, const json_t *obj, ProtobufCMessage *m,
			const struct transcode_rules *rules, const char ***paths, size_t *npaths,
			struct app_error *err)
{
	/* jansson's iterators take non-const objects; nothing here modifies obj. */
	json_t *o = (json_t *)obj;
	struct from_ctx c = { .a = a, .err = err, .rules = rules };

	if (paths)
		*paths = NULL;
	if (npaths)
		*npaths = 0;
	if (!json_is_object(o))
		return app_error_set(err, ERR_INVALID_JSON, "Request body must be a JSON object");
	c.paths = arena_alloc(a, (json_object_size(o) + 1) * sizeof(*c.paths));
	object_from_json(&c, o, m, NULL, 0);
	check_required(&c, o, m->descriptor);
	if (c.failed)
		return app_error_set(err, ERR_VALIDATION_ERROR, NULL);
	if (paths)
		*paths = c.paths;
	if (npaths)
		*npaths = c.npaths;
	return 0;
}

/* ---- text (path and query parameters) -> proto ----------------------------------- */

/* text into the scalar slot dst of field f; errors name param. */
static int text_to_scalar(struct arena *a, const ProtobufCFieldDescriptor *f, void *dst,
			  const char *param, const char *text, struct app_error *err)
{
	const ProtobufCEnumValue *ev;
	char names[ERR_DESC_MAX];
	int64_t v, min, max;

	if (transcode__int_range(f->type, &min, &max)) {
		if (!parse_int64(text, &v))
			return app_error_set(err, ERR_BAD_REQUEST, "%s must be an integer", param);
		if (v < min || v > max)
			return app_error_set(err, ERR_BAD_REQUEST,
					     "%s must be an integer between %" PRId64
					     " and %" PRId64,
					     param, min, max);
		int_store(f->type, dst, v);
		return 0;
	}
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
			return app_error_set(err, ERR_BAD_REQUEST, "%s must be true or false",
					     param);
		*(protobuf_c_boolean *)dst = text[0] == 't';
		return 0;
	case PROTOBUF_C_TYPE_STRING:
		*(char **)dst = arena_strdup(a, text);
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		ev = protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, text);
		if (!ev) {
			enum_names(f->descriptor, names, sizeof(names));
			return app_error_set(err, ERR_BAD_REQUEST, "%s must be one of: %s", param,
					     names);
		}
		*(int *)dst = ev->value;
		return 0;
	default: /* a route table naming a field text cannot fill */
		return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
	}
}

/* text as a message of type d (a wrapper or a Timestamp) into *out. */
static int text_to_message(struct arena *a, const ProtobufCMessageDescriptor *d,
			   ProtobufCMessage **out, const char *param, const char *text,
			   struct app_error *err)
{
	ProtobufCMessage *m;
	Google__Protobuf__Timestamp *ts;

	switch (transcode__wkt(d)) {
	case WKT_WRAPPER:
		m = transcode_new(a, d);
		if (text_to_scalar(a, &d->fields[0], (char *)m + d->fields[0].offset, param, text,
				   err) != 0)
			return -1;
		break;
	case WKT_TIMESTAMP:
		m = transcode_new(a, d);
		ts = (Google__Protobuf__Timestamp *)m;
		if (!transcode_parse_rfc3339(text, strlen(text), &ts->seconds, &ts->nanos))
			return app_error_set(err, ERR_BAD_REQUEST,
					     "%s must be an RFC 3339 timestamp", param);
		break;
	default:
		return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
	}
	*out = m;
	return 0;
}

int transcode_set_text(struct arena *a, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
		       const char *param, const char *text, struct app_error *err)
{
	/* Converted here first, so a failure leaves m as it was. */
	union {
		int64_t i;
		double d;
		void *p;
		ProtobufCBinaryData b;
	} val = { 0 };
	size_t size = transcode__elem_size(f->type), *n;
	char *slot, **arr;
	int rc;

	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		rc = text_to_message(a, f->descriptor, (ProtobufCMessage **)&val.p, param, text,
				     err);
	else
		rc = text_to_scalar(a, f, &val, param, text, err);
	if (rc != 0)
		return -1;
	if (f->label != PROTOBUF_C_LABEL_REPEATED) {
		memcpy((char *)m + f->offset, &val, size);
		mark_present(m, f);
		return 0;
	}
	/* Repeated: each call appends one element (a repeated query parameter). */
	n = (size_t *)((char *)m + f->quantifier_offset);
	arr = (char **)((char *)m + f->offset);
	slot = arena_alloc(a, (*n + 1) * size);
	if (*n)
		memcpy(slot, *arr, *n * size);
	memcpy(slot + *n * size, &val, size);
	*arr = slot;
	(*n)++;
	return 0;
}

/* ---- proto -> JSON ---------------------------------------------------------------- */

static json_t *int_to_json(ProtobufCType t, const void *src)
{
	uint64_t u;

	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)src);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)src);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		u = *(const uint64_t *)src;
		return u <= INT64_MAX ? json_integer((json_int_t)u) : json_real((double)u);
	default:
		return json_integer(*(const int64_t *)src);
	}
}

/* proto3 JSON spells the non-finite values as strings (json_real refuses them). */
static json_t *double_to_json(double d)
{
	if (isnan(d))
		return json_string("NaN");
	if (isinf(d))
		return json_string(d > 0 ? "Infinity" : "-Infinity");
	return json_real(d);
}

static json_t *string_to_json(const char *s)
{
	json_t *j;
	char *copy;

	if (!s)
		return json_string("");
	j = json_string(s);
	if (j)
		return j;
	/* Not UTF-8 (an upstream bug): keep the ASCII rather than drop the field. */
	copy = xstrdup(s);
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *scalar_to_json(const ProtobufCFieldDescriptor *f, const void *src)
{
	const ProtobufCEnumValue *ev;
	int64_t min, max;

	if (transcode__int_range(f->type, &min, &max))
		return int_to_json(f->type, src);
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)src);
	case PROTOBUF_C_TYPE_FLOAT:
		return double_to_json(*(const float *)src);
	case PROTOBUF_C_TYPE_DOUBLE:
		return double_to_json(*(const double *)src);
	case PROTOBUF_C_TYPE_ENUM:
		ev = protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)src);
		return ev ? json_string(ev->name) : json_integer(*(const int *)src);
	case PROTOBUF_C_TYPE_STRING:
		return string_to_json(*(char *const *)src);
	case PROTOBUF_C_TYPE_BYTES:
		return transcode_bytes_to_json(src);
	default:
		return json_null();
	}
}

static json_t *repeated_to_json(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
	const char *arr = *(const char *const *)((const char *)m + f->offset);
	size_t size = transcode__elem_size(f->type);
	json_t *out = json_array();

	for (size_t i = 0; i < n; i++) {
		const char *e = arr + i * size;

		json_array_append_new(out, f->type == PROTOBUF_C_TYPE_MESSAGE
						   ? message_to_json(*(ProtobufCMessage *const *)e)
						   : scalar_to_json(f, e));
	}
	return out;
}

static json_t *field_to_json(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *p = (const char *)m + f->offset;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return repeated_to_json(m, f);
	if (!transcode__present(m, f))
		return json_null();
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return message_to_json(*(ProtobufCMessage *const *)p);
	return scalar_to_json(f, p);
}

/* NULL -> null; well-known types in their JSON forms; others as objects. */
static json_t *message_to_json(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d;
	json_t *o;
	char name[TRANSCODE_NAME_MAX];

	if (!m)
		return json_null();
	d = m->descriptor;
	switch (transcode__wkt(d)) {
	case WKT_WRAPPER:
		return scalar_to_json(&d->fields[0], (const char *)m + d->fields[0].offset);
	case WKT_TIMESTAMP:
		return transcode_timestamp_to_json((const Google__Protobuf__Timestamp *)m);
	case WKT_FIELD_MASK:
		return transcode_field_mask_to_json((const Google__Protobuf__FieldMask *)m);
	case WKT_NONE:
		break;
	}
	o = json_object();
	for (unsigned i = 0; i < d->n_fields; i++)
		json_object_set_new(o, transcode__name_of(d, i, name, sizeof(name)),
				    field_to_json(m, &d->fields[i]));
	return o;
}

json_t *transcode_to_json(const ProtobufCMessage *m)
{
	return message_to_json(m);
}
