/* transcode_fuzz.c - libFuzzer harness for gateway/transcode.c (and
 * transcode_text.c): JSON bodies into protobuf messages.
 *
 * Input: one selector byte, then the body. The body is parsed as
 * api_parse_body does (json_loadb, duplicates refused) and transcoded the way
 * api_request.c's apply_body does for the selected row of the real route
 * table (request or body_field sub-message, the row's read-only list, its
 * required list for PUT, the update-mask paths). A few selectors instead
 * target whole messages with no rules (UpdatePostRequest with its FieldMask,
 * User and Post with Timestamps, google.rpc.Status with Any bytes, the
 * health reply's enum), so every well-known type the transcoder knows is
 * reached. The last three selectors hand the rest of the input straight to
 * transcode_text.c's parsers (RFC 3339, FieldMask text, base64).
 *
 * Checked beyond ASan/UBSan:
 *   - failure is VALIDATION_ERROR with at least one violation, or
 *     INVALID_JSON for a body that is not an object;
 *   - success: no read-only key and every required key present; one update
 *     mask path per body key, each the proto name of a field; protobuf-c
 *     accepts the message (check, pack, unpack); Timestamps are within
 *     0001..9999 with nanos in 0..999999999;
 *   - round trip: the message as JSON transcodes back (no rules) into a
 *     message that gives the same JSON;
 *   - text parsers: what they accept is in range and survives being written
 *     and parsed again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "agentos/posts/v1/posts.pb-c.h"
#include "agentos/users/v1/users.pb-c.h"
#include "arena.h"
#include "err.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "routes.h"
#include "transcode.h"
#include "transcode_text.h"
#include "validate.h"

#define TRANSCODE_FUZZ_MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whole-message targets, after the table's JSON-body routes. */
static const ProtobufCMessageDescriptor *const extra_targets[] = {
	&agentos__posts__v1__update_post_request__descriptor,
	&agentos__users__v1__update_user_request__descriptor,
	&agentos__users__v1__user__descriptor,
	&agentos__posts__v1__post__descriptor,
	&google__rpc__status__descriptor,
	&grpc__health__v1__health_check_response__descriptor,
};
#define N_EXTRA (sizeof(extra_targets) / sizeof(extra_targets[0]))

static void fail(const char *what)
{
	fprintf(stderr, "transcode_fuzz: %s\n", what);
	abort();
}

static const struct route *body_route(size_t k)
{
	for (size_t i = 0; i < routes_count; i++)
		if (routes[i].body == BODY_JSON && k-- == 0)
			return &routes[i];
	return NULL;
}

static size_t body_route_count(void)
{
	size_t n = 0;

	for (size_t i = 0; i < routes_count; i++)
		n += routes[i].body == BODY_JSON;
	return n;
}

/* Every Timestamp anywhere in m is a valid google.protobuf.Timestamp. */
static void check_timestamps(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (d == &google__protobuf__timestamp__descriptor) {
		const Google__Protobuf__Timestamp *ts = (const Google__Protobuf__Timestamp *)m;

		if (ts->seconds < TS_MIN_SECONDS || ts->seconds > TS_MAX_SECONDS)
			fail("a Timestamp outside 0001-01-01..9999-12-31 was accepted");
		if (ts->nanos < 0 || ts->nanos > 999999999)
			fail("a Timestamp with nanos outside 0..999999999");
		return;
	}
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *slot = (const char *)m + f->offset;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
			ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)slot;

			for (size_t k = 0; k < n; k++)
				check_timestamps(arr[k]);
		} else if (*(ProtobufCMessage *const *)slot) {
			check_timestamps(*(ProtobufCMessage *const *)slot);
		}
	}
}

/* protobuf-c must be able to serialize what the transcoder built. */
static void check_packs(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);
	ProtobufCMessage *back;

	if (!buf)
		abort();
	if (!protobuf_c_message_check(m))
		fail("protobuf_c_message_check refuses a transcoded message");
	if (protobuf_c_message_pack(m, buf) != len)
		fail("packed size differs from get_packed_size");
	back = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
	if (!back)
		fail("a packed transcoded message does not unpack");
	protobuf_c_message_free_unpacked(back, NULL);
	free(buf);
}

/* The replies' text path writes what printing the tree gives. */
static void check_written_as_printed(const ProtobufCMessage *m, const json_t *tree)
{
	char *printed = json_dumps(tree, JSON_COMPACT | JSON_ENCODE_ANY);
	struct json_out o;
	char *written;

	jout_init(&o, 64);
	transcode_write(&o, m);
	written = jout_take(&o, NULL);
	if (!printed || strcmp(printed, written) != 0) {
		fprintf(stderr, "transcode_fuzz:\n printed %s\n written %s\n",
			printed ? printed : "?", written);
		fail("transcode_write differs from printing transcode_to_json");
	}
	free(printed);
	free(written);
}

/* to_json(m) -> from_json -> to_json gives the same JSON. */
static void check_round_trip(struct arena *a, const ProtobufCMessage *m)
{
	json_t *j1 = transcode_to_json(m), *j2;
	ProtobufCMessage *again = transcode_new(a, m->descriptor);
	struct app_error err;

	app_error_init(&err);
	if (!json_is_object(j1))
		fail("transcode_to_json did not give an object");
	check_written_as_printed(m, j1);
	if (transcode_from_json(a, j1, again, NULL, NULL, NULL, &err) != 0) {
		char *text = json_dumps(j1, JSON_COMPACT);

		fprintf(stderr, "transcode_fuzz: %s: %s: %s\n", text ? text : "?",
			err.nviolations ? err.violations[0].field : "",
			err.nviolations ? err.violations[0].description : err.message);
		free(text);
		fail("the JSON of a transcoded message does not transcode back");
	}
	j2 = transcode_to_json(again);
	if (!json_equal(j1, j2))
		fail("round trip through JSON changed the message");
	json_decref(j1);
	json_decref(j2);
}

static void check_failure(const json_t *body, const struct app_error *err)
{
	if (err->code == ERR_INVALID_JSON) {
		if (json_is_object(body))
			fail("INVALID_JSON for a JSON object");
		return;
	}
	if (err->code != ERR_VALIDATION_ERROR)
		fail("a failure other than VALIDATION_ERROR / INVALID_JSON");
	if (err->nviolations == 0)
		fail("VALIDATION_ERROR without a violation");
	for (size_t i = 0; i < err->nviolations; i++)
		if (!memchr(err->violations[i].field, '\0', sizeof(err->violations[i].field)) ||
		    !memchr(err->violations[i].description, '\0',
			    sizeof(err->violations[i].description)))
			fail("an unterminated violation");
}

static void check_success(const json_t *body, const ProtobufCMessage *target,
			  const struct transcode_rules *rules, const char **paths, size_t npaths)
{
	if (npaths != json_object_size(body))
		fail("update mask paths are not one per body key");
	for (size_t i = 0; i < npaths; i++)
		if (!paths[i] ||
		    !protobuf_c_message_descriptor_get_field_by_name(target->descriptor, paths[i]))
			fail("an update mask path is not a field's proto name");
	for (const char *const *k = rules->read_only; k && *k; k++)
		if (json_object_get(body, *k))
			fail("a read-only key was accepted");
	for (const char *const *k = rules->required; k && *k; k++)
		if (!json_object_get(body, *k))
			fail("a required key was missing and accepted");
}

static void run(const json_t *body, size_t sel)
{
	size_t nroutes = body_route_count();
	const struct route *r = sel < nroutes ? body_route(sel) : NULL;
	const ProtobufCMessageDescriptor *d = r ? r->request : extra_targets[sel - nroutes];
	struct transcode_rules rules = { 0 };
	struct arena a;
	struct app_error err;
	ProtobufCMessage *msg, *target;
	const char **paths = NULL;
	size_t npaths = 0;

	arena_init(&a);
	app_error_init(&err);
	msg = target = transcode_new(&a, d);
	if (r) {
		rules.read_only = r->read_only;
		rules.required = r->update == UPDATE_PUT ? r->required : NULL;
		if (r->body_field) {
			const ProtobufCFieldDescriptor *f = transcode_field(d, r->body_field);

			if (!f)
				fail("a route's body_field is not a field of its request");
			target = transcode_new(&a, f->descriptor);
			*(ProtobufCMessage **)((char *)msg + f->offset) = target;
		}
	}
	if (transcode_from_json(&a, body, target, &rules, &paths, &npaths, &err) != 0) {
		check_failure(body, &err);
	} else {
		check_success(body, target, &rules, paths, npaths);
		check_timestamps(msg);
		check_packs(msg);
		check_round_trip(&a, target);
	}
	arena_release(&a);
}

/* An accepted date-time is a valid Timestamp, and its JSON form (UTC,
 * milliseconds) parses back to the same instant. */
static void text_rfc3339(const char *s, size_t len)
{
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	int64_t secs;
	int32_t nanos;
	json_t *j;

	if (!transcode_parse_rfc3339(s, len, &ts.seconds, &ts.nanos))
		return;
	check_timestamps(&ts.base);
	j = transcode_timestamp_to_json(&ts);
	if (!json_is_string(j) ||
	    !transcode_parse_rfc3339(json_string_value(j), json_string_length(j), &secs, &nanos) ||
	    secs != ts.seconds || nanos != ts.nanos / 1000000 * 1000000)
		fail("a parsed date-time does not survive formatting and parsing again");
	json_decref(j);
}

/* Accepted FieldMask text (UTF-8, as it comes from a JSON string) gives
 * non-empty snake_case paths that give the same text back. */
static void text_field_mask(struct arena *a, const char *s)
{
	Google__Protobuf__FieldMask fm = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
	json_t *j;

	if (!transcode_field_mask_from_text(a, s, &fm))
		return;
	for (size_t i = 0; i < fm.n_paths; i++)
		if (!fm.paths[i][0] || strpbrk(fm.paths[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ,"))
			fail("a FieldMask path is empty, has upper case or a comma");
	j = transcode_field_mask_to_json(&fm);
	if (!json_is_string(j) || strcmp(json_string_value(j), s) != 0)
		fail("FieldMask text does not survive a round trip");
	json_decref(j);
}

/* Accepted base64 decodes to len / 4 * 3 - padding bytes, which encode and
 * decode again to the same bytes. */
static void text_base64(struct arena *a, const char *s, size_t len)
{
	ProtobufCBinaryData b = { 0 }, b2 = { 0 };
	size_t pad = len >= 2 ? (s[len - 1] == '=') + (s[len - 2] == '=') : 0;
	json_t *j;

	if (!transcode_bytes_from_text(a, s, len, &b))
		return;
	if (b.len != len / 4 * 3 - pad)
		fail("base64 decoded to a wrong length");
	j = transcode_bytes_to_json(&b);
	if (!json_is_string(j) ||
	    !transcode_bytes_from_text(a, json_string_value(j), json_string_length(j), &b2) ||
	    b2.len != b.len || (b.len && memcmp(b.data, b2.data, b.len) != 0))
		fail("base64 bytes do not survive a round trip");
	json_decref(j);
}

static void run_text(size_t which, const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1); /* exact size: ASan sees over-reads */
	struct arena a;

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	arena_init(&a);
	if (which == 0)
		text_rfc3339(s, size);
	else if (which == 1 && utf8_valid(s, size) && !memchr(data, '\0', size))
		text_field_mask(&a, s);
	else if (which == 2)
		text_base64(&a, s, size);
	arena_release(&a);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body;
	size_t ntargets = body_route_count() + N_EXTRA, sel;

	if (size < 1 || size > TRANSCODE_FUZZ_MAX_INPUT)
		return -1;
	sel = data[0] % (ntargets + 3);
	if (sel >= ntargets) {
		run_text(sel - ntargets, data + 1, size - 1);
		return 0;
	}
	body = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
	if (!body)
		return 0;
	run(body, sel);
	json_decref(body);
	return 0;
}
