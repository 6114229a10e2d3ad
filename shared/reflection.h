/* reflection.h - gRPC server reflection (grpc.reflection.v1 and v1alpha
 * ServerReflection/ServerReflectionInfo) answered from a FileDescriptorSet
 * that the build generates from proto/ and embeds in each service binary
 * (Makefile: build/descriptors/<service>.pb, protoc --include_imports).
 * Nothing is hand-maintained: what a client sees is what was compiled.
 *
 * Answers, one per request on the stream, in order:
 *   list_services                  the services this server serves
 *   file_by_filename               that file and every file it imports,
 *                                  transitively (each once, the file first)
 *   file_containing_symbol         the same for the file defining a fully
 *                                  qualified package, service, method,
 *                                  message (nested too), field, oneof, enum,
 *                                  enum value or extension
 *   file_containing_extension      the same for the file extending a type
 *   all_extension_numbers_of_type  the extension numbers of a message type
 * and an error_response NOT_FOUND (or INVALID_ARGUMENT for an empty
 * request) otherwise; the stream stays open. */
#ifndef SHARED_REFLECTION_H
#define SHARED_REFLECTION_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "rpc.h"

#define REFLECTION_V1_PATH "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
#define REFLECTION_V1ALPHA_PATH "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"

struct reflection;

/* Indexes a serialized google.protobuf.FileDescriptorSet (set is borrowed:
 * it must outlive the index, as an embedded array does). served lists the
 * full names of the services list_services names (NULL-terminated; copied).
 * NULL (after logging why) when set is not a well-formed descriptor set. */
struct reflection *reflection_new(const uint8_t *set, size_t len, const char *const *served);
void reflection_free(struct reflection *r);

/* The answer to one request, built in a (the file bytes point into the set).
 * v1 and v1alpha messages are the same on the wire, so both versions are
 * answered with the v1 types. */
Grpc__Reflection__V1__ServerReflectionResponse *
reflection_answer(const struct reflection *r,
		  const Grpc__Reflection__V1__ServerReflectionRequest *req, struct arena *a);

/* The process's index for the streaming methods below (one server per
 * process); set once before the server starts, never freed while it runs. */
void reflection_set_default(const struct reflection *r);

/* Method rows serving ServerReflectionInfo in both versions from the
 * default index; a server without one answers every request with an
 * error_response UNIMPLEMENTED. */
extern const struct rpc_method reflection_methods[2];

#endif
