/* reflection.c - see reflection.h.
 *
 * The descriptor set is read with a minimal protobuf wire reader instead of
 * generated descriptor.proto code: only names are needed (files, their
 * imports, and every symbol a client may ask for), and the files are handed
 * out as the exact bytes the compiler wrote. */
#include "reflection.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/status.h>

#include "log.h"
#include "util.h"

/* ---- a minimal protobuf wire reader ----------------------------------------- */

struct pb {
	const uint8_t *p, *end;
	bool bad; /* malformed input was met */
};

/* One field: its number and, for a length-delimited one, its bytes. */
struct pb_field {
	uint32_t number;
	uint32_t wire_type;
	uint64_t varint;     /* wire type 0 */
	const uint8_t *data; /* wire type 2 */
	size_t len;
};

static bool pb_varint(struct pb *b, uint64_t *out)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64 && b->p < b->end; shift += 7) {
		uint8_t byte = *b->p++;

		v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*out = v;
			return true;
		}
	}
	b->bad = true;
	return false;
}

static bool pb_skip(struct pb *b, size_t n)
{
	if ((size_t)(b->end - b->p) < n) {
		b->bad = true;
		return false;
	}
	b->p += n;
	return true;
}

/* The next field; false at the end of the input or when it is malformed
 * (b->bad then). Groups (wire types 3 and 4) are refused: protoc never
 * writes them in a descriptor set. */
static bool pb_next(struct pb *b, struct pb_field *f)
{
	uint64_t key, len;

	if (b->p >= b->end)
		return false;
	if (!pb_varint(b, &key))
		return false;
	memset(f, 0, sizeof(*f));
	f->number = (uint32_t)(key >> 3);
	f->wire_type = (uint32_t)(key & 7);
	switch (f->wire_type) {
	case 0:
		return pb_varint(b, &f->varint);
	case 1:
		return pb_skip(b, 8);
	case 5:
		return pb_skip(b, 4);
	case 2:
		if (!pb_varint(b, &len) || len > (uint64_t)(b->end - b->p)) {
			b->bad = true;
			return false;
		}
		f->data = b->p;
		f->len = (size_t)len;
		b->p += len;
		return true;
	default:
		b->bad = true;
		return false;
	}
}

static struct pb pb_of(const uint8_t *data, size_t len)
{
	return (struct pb){ .p = data, .end = data + len, .bad = false };
}

/* ---- the index -------------------------------------------------------------------- */

struct refl_file {
	const uint8_t *data; /* the serialized FileDescriptorProto, in the set */
	size_t len;
	char *name;
	char **deps; /* imported file names */
	size_t ndeps;
};

struct refl_symbol {
	char *name; /* fully qualified, without a leading dot */
	size_t file;
};

struct refl_ext {
	char *extendee; /* fully qualified, without a leading dot */
	int32_t number;
	size_t file;
};

struct reflection {
	struct refl_file *files;
	size_t nfiles;
	struct refl_symbol *syms;
	size_t nsyms, capsyms;
	struct refl_ext *exts;
	size_t nexts, capexts;
	char **served;
	size_t nserved;
};

static char *dup_n(const uint8_t *s, size_t n)
{
	char *out = xmalloc(n + 1);

	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

/* scope "." name, or name alone at the root. */
static char *qualify(const char *scope, const uint8_t *name, size_t n)
{
	size_t sl = strlen(scope);
	char *out = xmalloc(sl + n + 2);

	memcpy(out, scope, sl);
	if (sl)
		out[sl++] = '.';
	memcpy(out + sl, name, n);
	out[sl + n] = '\0';
	return out;
}

static void add_symbol(struct reflection *r, char *name, size_t file)
{
	if (r->nsyms == r->capsyms) {
		r->capsyms = r->capsyms ? r->capsyms * 2 : 64;
		r->syms = xrealloc(r->syms, r->capsyms * sizeof(*r->syms));
	}
	r->syms[r->nsyms++] = (struct refl_symbol){ .name = name, .file = file };
}

/* The string field `number` of a message (NULL when absent). */
static char *string_field(const uint8_t *data, size_t len, uint32_t number)
{
	struct pb b = pb_of(data, len);
	struct pb_field f;

	while (pb_next(&b, &f)) {
		if (f.number == number && f.wire_type == 2)
			return dup_n(f.data, f.len);
	}
	return NULL;
}

/* Adds scope.<name of the message> and returns that name (NULL: no name). */
static char *add_named(struct reflection *r, const char *scope, const uint8_t *data, size_t len,
		       size_t file)
{
	char *name = string_field(data, len, 1);
	char *full;

	if (!name)
		return NULL;
	full = qualify(scope, (const uint8_t *)name, strlen(name));
	free(name);
	add_symbol(r, full, file);
	return full;
}

/* A FieldDescriptorProto used as an extension: its symbol and its record. */
static void add_extension(struct reflection *r, const char *scope, const uint8_t *data, size_t len,
			  size_t file)
{
	struct pb b = pb_of(data, len);
	struct pb_field f;
	struct refl_ext e = { .file = file };

	add_named(r, scope, data, len, file);
	while (pb_next(&b, &f)) {
		if (f.number == 2 && f.wire_type == 2 && !e.extendee)
			e.extendee = f.len && f.data[0] == '.' ? dup_n(f.data + 1, f.len - 1)
							       : dup_n(f.data, f.len);
		else if (f.number == 3 && f.wire_type == 0)
			e.number = (int32_t)f.varint;
	}
	if (!e.extendee)
		return;
	if (r->nexts == r->capexts) {
		r->capexts = r->capexts ? r->capexts * 2 : 8;
		r->exts = xrealloc(r->exts, r->capexts * sizeof(*r->exts));
	}
	r->exts[r->nexts++] = e;
}

/* An EnumDescriptorProto or a ServiceDescriptorProto: the symbol, and its
 * values or methods (field 2). A service's methods are scoped inside it; an
 * enum's values beside it, like siblings of their enum (protobuf's rule). */
static void add_with_members(struct reflection *r, const char *scope, const uint8_t *data,
			     size_t len, size_t file, bool members_inside)
{
	struct pb b = pb_of(data, len);
	struct pb_field f;
	const char *full = add_named(r, scope, data, len, file);

	if (!full)
		return;
	while (pb_next(&b, &f)) {
		if (f.number == 2 && f.wire_type == 2)
			add_named(r, members_inside ? full : scope, f.data, f.len, file);
	}
}

/* A DescriptorProto: the message, its fields, oneofs, nested messages and
 * enums, and the extensions declared inside it. */
static void add_message(struct reflection *r, const char *scope, const uint8_t *data, size_t len,
			size_t file)
{
	struct pb b = pb_of(data, len);
	struct pb_field f;
	const char *full = add_named(r, scope, data, len, file);

	if (!full)
		return;
	while (pb_next(&b, &f)) {
		if (f.wire_type != 2)
			continue;
		if (f.number == 2 || f.number == 8) /* field, oneof_decl */
			add_named(r, full, f.data, f.len, file);
		else if (f.number == 3)
			add_message(r, full, f.data, f.len, file);
		else if (f.number == 4)
			add_with_members(r, full, f.data, f.len, file, false);
		else if (f.number == 6)
			add_extension(r, full, f.data, f.len, file);
	}
}

/* Every symbol of one FileDescriptorProto, and its name and imports. */
static void add_file(struct reflection *r, size_t i)
{
	struct refl_file *rf = &r->files[i];
	char *package = string_field(rf->data, rf->len, 2);
	const char *scope = package ? package : "";
	struct pb b = pb_of(rf->data, rf->len);
	struct pb_field f;

	rf->name = string_field(rf->data, rf->len, 1);
	if (package)
		add_symbol(r, xstrdup(package), i); /* a package is a symbol too */
	while (pb_next(&b, &f)) {
		if (f.wire_type != 2)
			continue;
		if (f.number == 3) {
			rf->deps = xrealloc(rf->deps, (rf->ndeps + 1) * sizeof(*rf->deps));
			rf->deps[rf->ndeps++] = dup_n(f.data, f.len);
		} else if (f.number == 4) {
			add_message(r, scope, f.data, f.len, i);
		} else if (f.number == 5) {
			add_with_members(r, scope, f.data, f.len, i, false);
		} else if (f.number == 6) {
			add_with_members(r, scope, f.data, f.len, i, true);
		} else if (f.number == 7) {
			add_extension(r, scope, f.data, f.len, i);
		}
	}
	free(package);
}

static int symbol_cmp(const void *a, const void *b)
{
	const struct refl_symbol *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Reads the set's files (field 1 of FileDescriptorSet); false when malformed. */
static bool read_files(struct reflection *r, const uint8_t *set, size_t len)
{
	struct pb b = pb_of(set, len);
	struct pb_field f;

	while (pb_next(&b, &f)) {
		if (f.number != 1 || f.wire_type != 2)
			continue;
		r->files = xrealloc(r->files, (r->nfiles + 1) * sizeof(*r->files));
		r->files[r->nfiles++] = (struct refl_file){ .data = f.data, .len = f.len };
	}
	return !b.bad && r->nfiles > 0;
}

struct reflection *reflection_new(const uint8_t *set, size_t len, const char *const *served)
{
	struct reflection *r = xcalloc(1, sizeof(*r));

	if (!read_files(r, set, len)) {
		log_error("reflection: the embedded descriptor set is malformed",
			  LOG_I("bytes", (int64_t)len));
		reflection_free(r);
		return NULL;
	}
	for (size_t i = 0; i < r->nfiles; i++) {
		add_file(r, i);
		if (!r->files[i].name) {
			log_error("reflection: a file of the descriptor set has no name");
			reflection_free(r);
			return NULL;
		}
	}
	qsort(r->syms, r->nsyms, sizeof(*r->syms), symbol_cmp);
	while (served && served[r->nserved])
		r->nserved++;
	r->served = xcalloc(r->nserved + 1, sizeof(*r->served));
	for (size_t i = 0; i < r->nserved; i++)
		r->served[i] = xstrdup(served[i]);
	return r;
}

void reflection_free(struct reflection *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfiles; i++) {
		free(r->files[i].name);
		for (size_t d = 0; d < r->files[i].ndeps; d++)
			free(r->files[i].deps[d]);
		free(r->files[i].deps);
	}
	for (size_t i = 0; i < r->nsyms; i++)
		free(r->syms[i].name);
	for (size_t i = 0; i < r->nexts; i++)
		free(r->exts[i].extendee);
	for (size_t i = 0; r->served && r->served[i]; i++)
		free(r->served[i]);
	free(r->files);
	free(r->syms);
	free(r->exts);
	free(r->served);
	free(r);
}

/* ---- answers ------------------------------------------------------------------------ */

typedef Grpc__Reflection__V1__ServerReflectionRequest refl_request;
typedef Grpc__Reflection__V1__ServerReflectionResponse refl_response;

static const struct refl_file *file_named(const struct reflection *r, const char *name)
{
	for (size_t i = 0; i < r->nfiles; i++) {
		if (strcmp(r->files[i].name, name) == 0)
			return &r->files[i];
	}
	return NULL;
}

static const struct refl_file *file_of_symbol(const struct reflection *r, const char *symbol)
{
	struct refl_symbol key = { .name = (char *)symbol };
	const struct refl_symbol *hit;

	/* clients sometimes send ".pkg.Type" */
	if (key.name[0] == '.')
		key.name++;
	hit = bsearch(&key, r->syms, r->nsyms, sizeof(*r->syms), symbol_cmp);
	return hit ? &r->files[hit->file] : NULL;
}

static const char *strip_dot(const char *s)
{
	return s && s[0] == '.' ? s + 1 : s;
}

static const struct refl_file *file_of_extension(const struct reflection *r, const char *type,
						 int32_t number)
{
	type = strip_dot(type);
	for (size_t i = 0; i < r->nexts; i++) {
		if (r->exts[i].number == number && strcmp(r->exts[i].extendee, type) == 0)
			return &r->files[r->exts[i].file];
	}
	return NULL;
}

/* Appends file (index i) and, depth first, every file it imports that is
 * not in the answer yet. */
static void collect_file(const struct reflection *r, size_t i, bool *seen,
			 Grpc__Reflection__V1__FileDescriptorResponse *out)
{
	const struct refl_file *f = &r->files[i];

	if (seen[i])
		return;
	seen[i] = true;
	out->file_descriptor_proto[out->n_file_descriptor_proto++] = (ProtobufCBinaryData){
		.len = f->len, .data = (uint8_t *)f->data
	};
	for (size_t d = 0; d < f->ndeps; d++) {
		const struct refl_file *dep = file_named(r, f->deps[d]);

		if (dep)
			collect_file(r, (size_t)(dep - r->files), seen, out);
	}
}

static void answer_file(const struct reflection *r, const struct refl_file *f, refl_response *res,
			struct arena *a)
{
	Grpc__Reflection__V1__FileDescriptorResponse *fd = arena_alloc(a, sizeof(*fd));
	bool *seen = arena_alloc(a, r->nfiles * sizeof(*seen));

	grpc__reflection__v1__file_descriptor_response__init(fd);
	fd->file_descriptor_proto = arena_alloc(a, r->nfiles * sizeof(*fd->file_descriptor_proto));
	collect_file(r, (size_t)(f - r->files), seen, fd);
	res->message_response_case =
		GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
	res->file_descriptor_response = fd;
}

static void answer_error(refl_response *res, grpc_status_code code, const char *message,
			 struct arena *a)
{
	Grpc__Reflection__V1__ErrorResponse *e = arena_alloc(a, sizeof(*e));

	grpc__reflection__v1__error_response__init(e);
	e->error_code = (int32_t)code;
	e->error_message = arena_strdup(a, message);
	res->message_response_case =
		GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
	res->error_response = e;
}

static void answer_list(const struct reflection *r, refl_response *res, struct arena *a)
{
	Grpc__Reflection__V1__ListServiceResponse *l = arena_alloc(a, sizeof(*l));

	grpc__reflection__v1__list_service_response__init(l);
	l->service = arena_alloc(a, (r->nserved ? r->nserved : 1) * sizeof(*l->service));
	for (size_t i = 0; i < r->nserved; i++) {
		Grpc__Reflection__V1__ServiceResponse *s = arena_alloc(a, sizeof(*s));

		grpc__reflection__v1__service_response__init(s);
		s->name = r->served[i];
		l->service[l->n_service++] = s;
	}
	res->message_response_case =
		GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
	res->list_services_response = l;
}

/* The extension numbers of a message type known to the set. */
static void answer_extension_numbers(const struct reflection *r, const char *type,
				     refl_response *res, struct arena *a)
{
	Grpc__Reflection__V1__ExtensionNumberResponse *e;

	if (!file_of_symbol(r, type)) {
		answer_error(res, GRPC_STATUS_NOT_FOUND, "Type not found.", a);
		return;
	}
	e = arena_alloc(a, sizeof(*e));
	grpc__reflection__v1__extension_number_response__init(e);
	e->base_type_name = arena_strdup(a, strip_dot(type));
	e->extension_number = arena_alloc(a, (r->nexts ? r->nexts : 1) * sizeof(int32_t));
	for (size_t i = 0; i < r->nexts; i++) {
		if (strcmp(r->exts[i].extendee, e->base_type_name) == 0)
			e->extension_number[e->n_extension_number++] = r->exts[i].number;
	}
	res->message_response_case =
		GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
	res->all_extension_numbers_response = e;
}

/* The file a request asks for (NULL: not found, *what says what was missing). */
static const struct refl_file *requested_file(const struct reflection *r, const refl_request *req,
					      const char **what)
{
	const Grpc__Reflection__V1__ExtensionRequest *x = req->file_containing_extension;

	switch (req->message_request_case) {
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
		*what = "File not found.";
		return file_named(r, req->file_by_filename);
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
		*what = "Symbol not found.";
		return file_of_symbol(r, req->file_containing_symbol);
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
		*what = "Extension not found.";
		return x && x->containing_type
			       ? file_of_extension(r, x->containing_type, x->extension_number)
			       : NULL;
	default:
		*what = "Unknown request.";
		return NULL;
	}
}

refl_response *reflection_answer(const struct reflection *r, const refl_request *req,
				 struct arena *a)
{
	refl_response *res = arena_alloc(a, sizeof(*res));
	const struct refl_file *f;
	const char *what = NULL;

	grpc__reflection__v1__server_reflection_response__init(res);
	res->valid_host = req->host ? req->host : "";
	res->original_request = (refl_request *)req;
	switch (req->message_request_case) {
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
		answer_list(r, res, a);
		return res;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
		answer_extension_numbers(r, req->all_extension_numbers_of_type, res, a);
		return res;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST__NOT_SET:
		answer_error(res, GRPC_STATUS_INVALID_ARGUMENT, "The request names nothing.", a);
		return res;
	default:
		break;
	}
	f = requested_file(r, req, &what);
	if (f)
		answer_file(r, f, res, a);
	else
		answer_error(res, GRPC_STATUS_NOT_FOUND, what, a);
	return res;
}

/* ---- the streaming method ---------------------------------------------------------- */

#define REFLECTION_RECV_SLICE_MS 1000

static const struct reflection *default_index;

void reflection_set_default(const struct reflection *r)
{
	default_index = r;
}

/* Sends the answer to one request; -1 when the stream is over. */
static int reply_one(const refl_request *req, struct rpc_stream *st)
{
	struct arena a;
	int rc;

	arena_init(&a);
	if (default_index) {
		rc = rpc_stream_send(st, &reflection_answer(default_index, req, &a)->base);
	} else {
		refl_response *res = arena_alloc(&a, sizeof(*res));

		grpc__reflection__v1__server_reflection_response__init(res);
		res->valid_host = req->host ? req->host : "";
		res->original_request = (refl_request *)req;
		answer_error(res, GRPC_STATUS_UNIMPLEMENTED, "This server has no descriptors.", &a);
		rc = rpc_stream_send(st, &res->base);
	}
	arena_release(&a);
	return rc;
}

/* One answer per request until the client closes its side or goes away. */
static int serve_reflection(void *app, struct rpc_call *call, const ProtobufCMessage *request,
			    struct rpc_stream *st, struct app_error *err)
{
	ProtobufCMessage *next = NULL;

	(void)app;
	(void)call;
	(void)err;
	if (reply_one((const refl_request *)request, st) != 0)
		return 0;
	for (;;) {
		int got = rpc_stream_recv(
			st, &grpc__reflection__v1__server_reflection_request__descriptor,
			REFLECTION_RECV_SLICE_MS, &next);

		if (got < 0)
			return 0;
		if (got == 0) {
			if (rpc_stream_done(st))
				return 0;
			continue;
		}
		got = reply_one((const refl_request *)next, st);
		protobuf_c_message_free_unpacked(next, NULL);
		if (got != 0)
			return 0;
	}
}

/* v1alpha's messages are v1's on the wire: one handler, v1 types. */
const struct rpc_method reflection_methods[2] = {
	RPC_STREAM(REFLECTION_V1_PATH, &grpc__reflection__v1__server_reflection_request__descriptor,
		   serve_reflection),
	RPC_STREAM(REFLECTION_V1ALPHA_PATH,
		   &grpc__reflection__v1__server_reflection_request__descriptor, serve_reflection),
};
