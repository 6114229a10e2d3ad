/* rich_error.c - struct app_error <-> google.rpc.Status (the gRPC rich error
 * model): an ErrorInfo whose reason is the project's error code and, when
 * there are field violations, a BadRequest. See rpc.h. */
#include "rpc.h"

#include <stdlib.h>
#include <string.h>

#include "google/protobuf/any.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "util.h"

#define RICH_TYPE_PREFIX "type.googleapis.com/"
#define RICH_ERROR_INFO "google.rpc.ErrorInfo"
#define RICH_BAD_REQUEST "google.rpc.BadRequest"

/* Packs m into a new buffer the caller frees. */
static uint8_t *pack_message(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf = xmalloc(*len);
	protobuf_c_message_pack(m, buf);
	return buf;
}

/* The text a client is told: the error's message, else the table's default. */
static const char *error_text(const struct app_error *e)
{
	return e->message[0] ? e->message : err_default_message(e->code);
}

void rich_error_encode(const struct app_error *e, const char *domain, uint8_t **out, size_t *len)
{
	Google__Rpc__ErrorInfo info = GOOGLE__RPC__ERROR_INFO__INIT;
	Google__Rpc__BadRequest bad = GOOGLE__RPC__BAD_REQUEST__INIT;
	Google__Rpc__BadRequest__FieldViolation fv[ERR_MAX_VIOLATIONS];
	Google__Rpc__BadRequest__FieldViolation *fvp[ERR_MAX_VIOLATIONS];
	Google__Protobuf__Any any[2] = { GOOGLE__PROTOBUF__ANY__INIT, GOOGLE__PROTOBUF__ANY__INIT };
	Google__Protobuf__Any *anyp[2] = { &any[0], &any[1] };
	Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
	size_t nv = e->nviolations < ERR_MAX_VIOLATIONS ? e->nviolations : ERR_MAX_VIOLATIONS;

	/* protobuf-c's structs hold non-const pointers; packing only reads them. */
	info.reason = (char *)err_name(e->code);
	info.domain = (char *)(domain ? domain : "");
	any[0].type_url = (char *)(RICH_TYPE_PREFIX RICH_ERROR_INFO);
	any[0].value.data = pack_message(&info.base, &any[0].value.len);
	st.n_details = 1;

	if (nv > 0) {
		for (size_t i = 0; i < nv; i++) {
			google__rpc__bad_request__field_violation__init(&fv[i]);
			fv[i].field = (char *)e->violations[i].field;
			fv[i].description = (char *)e->violations[i].description;
			fvp[i] = &fv[i];
		}
		bad.n_field_violations = nv;
		bad.field_violations = fvp;
		any[1].type_url = (char *)(RICH_TYPE_PREFIX RICH_BAD_REQUEST);
		any[1].value.data = pack_message(&bad.base, &any[1].value.len);
		st.n_details = 2;
	}

	st.code = (int32_t)err_grpc_status(e->code);
	st.message = (char *)error_text(e);
	st.details = anyp;
	*out = pack_message(&st.base, len);

	free(any[0].value.data);
	free(any[1].value.data);
}

/* Copies src into dst (size bytes) without leaving half a UTF-8 sequence at
 * the end when it has to truncate. */
static void copy_text(char *dst, size_t size, const char *src)
{
	const unsigned char *u = (const unsigned char *)dst;
	size_t end, lead, need;

	if (strlcpy_s(dst, src ? src : "", size) < size)
		return;
	end = size - 1; /* dst[end] is the terminating NUL */
	lead = end;
	while (lead > 0 && (u[lead - 1] & 0xC0) == 0x80)
		lead--;
	if (lead == 0 || u[lead - 1] < 0xC0)
		return; /* ends in ASCII or stray continuation bytes */
	lead--;
	need = u[lead] >= 0xF0 ? 4 : u[lead] >= 0xE0 ? 3 : 2;
	if (end - lead < need)
		dst[lead] = '\0';
}

/* True when an Any's type URL names `type` ("<any prefix>/<type>"). */
static bool any_is(const Google__Protobuf__Any *a, const char *type)
{
	const char *slash;

	if (!a || !a->type_url)
		return false;
	slash = strrchr(a->type_url, '/');
	return slash && strcmp(slash + 1, type) == 0;
}

/* Reads ErrorInfo.reason into e->code; true when the reason is a known code. */
static bool read_error_info(const Google__Protobuf__Any *a, struct app_error *e)
{
	Google__Rpc__ErrorInfo *info;
	enum err_code code;
	bool known = false;

	info = google__rpc__error_info__unpack(NULL, a->value.len, a->value.data);
	if (!info)
		return false;
	if (err_from_name(info->reason, &code)) {
		e->code = code;
		known = true;
	}
	google__rpc__error_info__free_unpacked(info, NULL);
	return known;
}

/* Appends BadRequest's violations to e, up to ERR_MAX_VIOLATIONS. */
static void read_bad_request(const Google__Protobuf__Any *a, struct app_error *e)
{
	Google__Rpc__BadRequest *bad;

	bad = google__rpc__bad_request__unpack(NULL, a->value.len, a->value.data);
	if (!bad)
		return;
	for (size_t i = 0; i < bad->n_field_violations && e->nviolations < ERR_MAX_VIOLATIONS;
	     i++) {
		const Google__Rpc__BadRequest__FieldViolation *fv = bad->field_violations[i];
		struct err_violation *v = &e->violations[e->nviolations++];

		copy_text(v->field, sizeof(v->field), fv->field);
		copy_text(v->description, sizeof(v->description), fv->description);
	}
	google__rpc__bad_request__free_unpacked(bad, NULL);
}

int rich_error_decode(const uint8_t *buf, size_t len, struct app_error *e)
{
	Google__Rpc__Status *st;
	bool known = false;

	app_error_init(e);
	st = google__rpc__status__unpack(NULL, len, buf);
	if (!st) {
		e->code = ERR_INTERNAL_ERROR;
		return -1;
	}
	copy_text(e->message, sizeof(e->message), st->message);
	for (size_t i = 0; i < st->n_details; i++) {
		const Google__Protobuf__Any *a = st->details[i];

		if (any_is(a, RICH_ERROR_INFO) && !known)
			known = read_error_info(a, e);
		else if (any_is(a, RICH_BAD_REQUEST))
			read_bad_request(a, e);
		/* other detail types are someone else's extension: ignored */
	}
	if (!known)
		e->code = err_from_grpc_status((grpc_status_code)st->code, e->nviolations > 0);
	google__rpc__status__free_unpacked(st, NULL);
	return known ? 0 : -1;
}
