/* users_reflection_test.c - gRPC server reflection answers (shared/reflection.c)
 * from the users service's real descriptor set, the one the build embeds
 * (build/gen/users_descriptors.c, linked with the users objects): listed
 * services, files by name and by every kind of symbol with their imports,
 * extensions, errors, and a malformed set refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reflection.h"

extern const uint8_t users_descriptor_set[];
extern const size_t users_descriptor_set_len;

typedef Grpc__Reflection__V1__ServerReflectionRequest request_t;
typedef Grpc__Reflection__V1__ServerReflectionResponse response_t;

#define CASE(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_##x
#define RCASE(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_##x

static const char *const served[] = { "agentos.users.v1.UsersService",
				      "grpc.reflection.v1.ServerReflection",
				      "grpc.reflection.v1alpha.ServerReflection",
				      "grpc.health.v1.Health", NULL };

static struct reflection *R;
static struct arena A;

static int setup(void **state)
{
	(void)state;
	R = reflection_new(users_descriptor_set, users_descriptor_set_len, served);
	arena_init(&A);
	return R ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	reflection_free(R);
	arena_release(&A);
	return 0;
}

/* The answer to req after a trip over the wire (packed and unpacked as a
 * client would read it); the caller frees it. */
static response_t *ask(request_t *req)
{
	response_t *res = reflection_answer(R, req, &A);
	size_t len = protobuf_c_message_get_packed_size(&res->base);
	uint8_t *buf = malloc(len ? len : 1);
	response_t *back;

	protobuf_c_message_pack(&res->base, buf);
	back = (response_t *)protobuf_c_message_unpack(
		&grpc__reflection__v1__server_reflection_response__descriptor, NULL, len, buf);
	free(buf);
	assert_non_null(back);
	return back;
}

static response_t *ask_symbol(const char *symbol)
{
	request_t req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;

	req.message_request_case = CASE(FILE_CONTAINING_SYMBOL);
	req.file_containing_symbol = (char *)symbol;
	return ask(&req);
}

/* The name (field 1, written first by protoc) of a serialized FileDescriptorProto. */
static char *file_name(const ProtobufCBinaryData *d)
{
	static char name[256];

	assert_true(d->len > 2 && d->data[0] == 0x0a && d->data[1] < 128 &&
		    d->data[1] + 2u <= d->len);
	memcpy(name, d->data + 2, d->data[1]);
	name[d->data[1]] = '\0';
	return name;
}

/* res holds files: first `first`, then exactly the others in any order. */
static void assert_files(const response_t *res, const char *first, const char *const *others)
{
	const Grpc__Reflection__V1__FileDescriptorResponse *fd;
	size_t n = 0;

	assert_int_equal(res->message_response_case, RCASE(FILE_DESCRIPTOR_RESPONSE));
	fd = res->file_descriptor_response;
	while (others[n])
		n++;
	assert_int_equal(fd->n_file_descriptor_proto, n + 1);
	assert_string_equal(file_name(&fd->file_descriptor_proto[0]), first);
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t k = 1; k < fd->n_file_descriptor_proto; k++)
			found |= strcmp(file_name(&fd->file_descriptor_proto[k]), others[i]) == 0;
		if (!found)
			fail_msg("%s is not among the files answered for %s", others[i], first);
	}
}

static void assert_error(const response_t *res, int code)
{
	assert_int_equal(res->message_response_case, RCASE(ERROR_RESPONSE));
	assert_int_equal(res->error_response->error_code, code);
	assert_true(strlen(res->error_response->error_message) > 0);
}

static const char *const USERS_DEPS[] = {
	"google/protobuf/empty.proto",        "google/protobuf/field_mask.proto",
	"google/protobuf/timestamp.proto",    "google/protobuf/wrappers.proto",
	"agentos/common/v1/pagination.proto", NULL,
};
static const char *const NO_DEPS[] = { NULL };

static void lists_the_served_services(void **state)
{
	request_t req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
	response_t *res;

	(void)state;
	req.host = "localhost:50051";
	req.message_request_case = CASE(LIST_SERVICES);
	req.list_services = "";
	res = ask(&req);
	assert_string_equal(res->valid_host, "localhost:50051");
	assert_non_null(res->original_request);
	assert_int_equal(res->original_request->message_request_case, CASE(LIST_SERVICES));
	assert_int_equal(res->message_response_case, RCASE(LIST_SERVICES_RESPONSE));
	assert_int_equal(res->list_services_response->n_service, 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(res->list_services_response->service[i]->name, served[i]);
	protobuf_c_message_free_unpacked(&res->base, NULL);
}

static void a_file_by_name_comes_with_its_imports(void **state)
{
	request_t req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
	response_t *res;

	(void)state;
	req.message_request_case = CASE(FILE_BY_FILENAME);
	req.file_by_filename = "agentos/users/v1/users.proto";
	res = ask(&req);
	assert_files(res, "agentos/users/v1/users.proto", USERS_DEPS);
	protobuf_c_message_free_unpacked(&res->base, NULL);

	req.file_by_filename = "grpc/health/v1/health.proto";
	res = ask(&req);
	assert_files(res, "grpc/health/v1/health.proto", NO_DEPS);
	protobuf_c_message_free_unpacked(&res->base, NULL);

	req.file_by_filename = "agentos/users/v1/nope.proto";
	res = ask(&req);
	assert_error(res, 5 /* NOT_FOUND */);
	protobuf_c_message_free_unpacked(&res->base, NULL);
}

static void every_kind_of_symbol_is_found(void **state)
{
	static const struct {
		const char *symbol, *file;
	} cases[] = {
		{ "agentos.users.v1.UsersService", "agentos/users/v1/users.proto" },
		{ "agentos.users.v1.UsersService.GetUser", "agentos/users/v1/users.proto" },
		{ "agentos.users.v1.User", "agentos/users/v1/users.proto" },
		{ ".agentos.users.v1.User", "agentos/users/v1/users.proto" },
		{ "agentos.users.v1.User.email", "agentos/users/v1/users.proto" },
		{ "agentos.users.v1", "agentos/users/v1/users.proto" },
		{ "grpc.health.v1.Health", "grpc/health/v1/health.proto" },
		{ "grpc.health.v1.HealthCheckResponse.ServingStatus",
		  "grpc/health/v1/health.proto" },
		{ "grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto" },
		{ "google.protobuf.Timestamp", "google/protobuf/timestamp.proto" },
		{ "grpc.reflection.v1alpha.ServerReflection.ServerReflectionInfo",
		  "grpc/reflection/v1alpha/reflection.proto" },
		{ "grpc.reflection.v1.ServerReflectionRequest.message_request",
		  "grpc/reflection/v1/reflection.proto" }, /* a oneof */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		response_t *res = ask_symbol(cases[i].symbol);

		if (res->message_response_case != RCASE(FILE_DESCRIPTOR_RESPONSE))
			fail_msg("%s was not found", cases[i].symbol);
		assert_string_equal(
			file_name(&res->file_descriptor_response->file_descriptor_proto[0]),
			cases[i].file);
		protobuf_c_message_free_unpacked(&res->base, NULL);
	}
	{
		response_t *res = ask_symbol("agentos.users.v1.UsersService");

		assert_files(res, "agentos/users/v1/users.proto", USERS_DEPS);
		protobuf_c_message_free_unpacked(&res->base, NULL);
	}
}

static void unknown_or_empty_requests_get_an_error(void **state)
{
	request_t req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
	Grpc__Reflection__V1__ExtensionRequest ext = GRPC__REFLECTION__V1__EXTENSION_REQUEST__INIT;
	response_t *res;

	(void)state;
	res = ask_symbol("agentos.users.v1.Nope");
	assert_error(res, 5);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	res = ask_symbol("agentos.users"); /* a prefix of a package is no symbol */
	assert_error(res, 5);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	res = ask(&req); /* nothing asked */
	assert_error(res, 3 /* INVALID_ARGUMENT */);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	req.message_request_case = CASE(FILE_CONTAINING_EXTENSION);
	req.file_containing_extension = &ext;
	ext.containing_type = "agentos.users.v1.User";
	ext.extension_number = 100;
	res = ask(&req);
	assert_error(res, 5);
	protobuf_c_message_free_unpacked(&res->base, NULL);
}

static void extension_numbers_of_a_type(void **state)
{
	request_t req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
	response_t *res;

	(void)state;
	req.message_request_case = CASE(ALL_EXTENSION_NUMBERS_OF_TYPE);
	req.all_extension_numbers_of_type = "agentos.users.v1.User";
	res = ask(&req);
	assert_int_equal(res->message_response_case, RCASE(ALL_EXTENSION_NUMBERS_RESPONSE));
	assert_string_equal(res->all_extension_numbers_response->base_type_name,
			    "agentos.users.v1.User");
	assert_int_equal(res->all_extension_numbers_response->n_extension_number, 0);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	req.all_extension_numbers_of_type = "agentos.users.v1.Nope";
	res = ask(&req);
	assert_error(res, 5);
	protobuf_c_message_free_unpacked(&res->base, NULL);
}

static void a_malformed_set_is_refused(void **state)
{
	static const uint8_t truncated[] = { 0x0a, 0x05, 0x0a, 0x01 };
	static const uint8_t empty[] = { 0x00 };

	(void)state;
	assert_null(reflection_new(truncated, sizeof(truncated), served));
	assert_null(reflection_new(empty, 0, served));
	/* a cut-off copy of the real set */
	assert_null(reflection_new(users_descriptor_set, users_descriptor_set_len - 3, served));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lists_the_served_services),
		cmocka_unit_test(a_file_by_name_comes_with_its_imports),
		cmocka_unit_test(every_kind_of_symbol_is_found),
		cmocka_unit_test(unknown_or_empty_requests_get_an_error),
		cmocka_unit_test(extension_numbers_of_a_type),
		cmocka_unit_test(a_malformed_set_is_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
