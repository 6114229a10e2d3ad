/* err.h - the one error table of the project.
 *
 * Every failure a client can see has one project code (the envelope's
 * `error.code`), one gRPC status (what services return) and one HTTP status
 * (what the gateway answers). This table is the only place the three meet;
 * nothing else may map between them.
 */
#ifndef SHARED_ERR_H
#define SHARED_ERR_H

#include <stdbool.h>
#include <stddef.h>

#include <grpc/status.h>

/* X(name, grpc status, http status, default message) */
#define ERR_TABLE(X)                                                                           \
	X(OK, GRPC_STATUS_OK, 200, "OK")                                                       \
	X(INVALID_JSON, GRPC_STATUS_INVALID_ARGUMENT, 400, "Request body is not valid JSON")   \
	X(BAD_REQUEST, GRPC_STATUS_INVALID_ARGUMENT, 400, "Bad request")                       \
	X(UNAUTHORIZED, GRPC_STATUS_UNAUTHENTICATED, 401, "Authentication required")           \
	X(TOKEN_EXPIRED, GRPC_STATUS_UNAUTHENTICATED, 401, "Token has expired")                \
	X(TOKEN_REVOKED, GRPC_STATUS_UNAUTHENTICATED, 401, "Token has been revoked")           \
	X(INVALID_CREDENTIALS, GRPC_STATUS_UNAUTHENTICATED, 401, "Invalid email or password")  \
	X(FORBIDDEN, GRPC_STATUS_PERMISSION_DENIED, 403, "Insufficient permissions")           \
	X(ACCOUNT_DISABLED, GRPC_STATUS_PERMISSION_DENIED, 403, "Account is disabled")         \
	X(NOT_FOUND, GRPC_STATUS_NOT_FOUND, 404, "Resource not found")                         \
	X(METHOD_NOT_ALLOWED, GRPC_STATUS_UNIMPLEMENTED, 405, "Method not allowed")            \
	X(DUPLICATE_RESOURCE, GRPC_STATUS_ALREADY_EXISTS, 409, "Resource already exists")      \
	X(VERSION_CONFLICT, GRPC_STATUS_ABORTED, 409, "Resource was modified by someone else") \
	X(CONFLICT, GRPC_STATUS_ABORTED, 409, "Resource state forbids this action")            \
	X(REQUEST_TIMEOUT, GRPC_STATUS_DEADLINE_EXCEEDED, 408,                                 \
	  "The request was not received in time")                                              \
	X(PAYLOAD_TOO_LARGE, GRPC_STATUS_OUT_OF_RANGE, 413, "Request body is too large")       \
	X(URI_TOO_LONG, GRPC_STATUS_INVALID_ARGUMENT, 414, "Request URI is too long")          \
	X(UNSUPPORTED_MEDIA_TYPE, GRPC_STATUS_INVALID_ARGUMENT, 415,                           \
	  "Content-Type must be application/json")                                             \
	X(VALIDATION_ERROR, GRPC_STATUS_INVALID_ARGUMENT, 422, "Invalid input data")           \
	X(FOREIGN_KEY_VIOLATION, GRPC_STATUS_FAILED_PRECONDITION, 422,                         \
	  "Referenced resource does not exist")                                                \
	X(REQUIRED_FIELD_MISSING, GRPC_STATUS_FAILED_PRECONDITION, 422,                        \
	  "Required field is missing")                                                         \
	X(RATE_LIMIT_EXCEEDED, GRPC_STATUS_RESOURCE_EXHAUSTED, 429,                            \
	  "Too many requests, please try again later")                                         \
	X(INTERNAL_ERROR, GRPC_STATUS_INTERNAL, 500, "Internal server error")                  \
	X(DATABASE_ERROR, GRPC_STATUS_INTERNAL, 500, "Internal database error")                \
	X(NOT_IMPLEMENTED, GRPC_STATUS_UNIMPLEMENTED, 501, "Not implemented")                  \
	X(SERVICE_UNAVAILABLE, GRPC_STATUS_UNAVAILABLE, 503, "Service unavailable")            \
	X(GATEWAY_TIMEOUT, GRPC_STATUS_DEADLINE_EXCEEDED, 504, "Upstream service timed out")

enum err_code {
#define ERR_ENUM(name, grpc, http, msg) ERR_##name,
	ERR_TABLE(ERR_ENUM)
#undef ERR_ENUM
		ERR__COUNT
};

/* "VALIDATION_ERROR" for ERR_VALIDATION_ERROR; "INTERNAL_ERROR" for out-of-range. */
const char *err_name(enum err_code code);
grpc_status_code err_grpc_status(enum err_code code);
int err_http_status(enum err_code code);
const char *err_default_message(enum err_code code);

/* Parses a code name ("NOT_FOUND"); false when it is not in the table. */
bool err_from_name(const char *name, enum err_code *out);

/* The code for a gRPC status that came without a rich error (no ErrorInfo).
 * INVALID_ARGUMENT is VALIDATION_ERROR when there are field violations, else
 * BAD_REQUEST; FAILED_PRECONDITION is VALIDATION_ERROR; unknown statuses are
 * INTERNAL_ERROR. This is API.md §3's status -> HTTP mapping. */
enum err_code err_from_grpc_status(grpc_status_code status, bool has_violations);

/* A failure with everything a client is told: code, message, field details.
 * Plain data, fixed size, no allocation: lives on the stack or in a call. */
#define ERR_MAX_VIOLATIONS 16
#define ERR_FIELD_MAX 64
#define ERR_DESC_MAX 192
#define ERR_MESSAGE_MAX 256

struct err_violation {
	char field[ERR_FIELD_MAX]; /* JSON (lowerCamelCase) field name */
	char description[ERR_DESC_MAX];
};

struct app_error {
	enum err_code code;
	char message[ERR_MESSAGE_MAX];
	size_t nviolations;
	struct err_violation violations[ERR_MAX_VIOLATIONS];
};

/* Resets to ERR_OK with no message and no violations. */
void app_error_init(struct app_error *e);

/* Sets code and message (printf-style; NULL fmt = the table's default message).
 * Keeps violations already added. Returns -1 so handlers can `return app_error_set(...)`. */
int app_error_set(struct app_error *e, enum err_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Appends a field violation (silently dropped past ERR_MAX_VIOLATIONS). */
void app_error_add_violation(struct app_error *e, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
