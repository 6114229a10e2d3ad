/* err.c - the error table's lookups; the table itself is in err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

struct err_row {
	const char *name;
	grpc_status_code grpc;
	int http;
	const char *message;
};

static const struct err_row err_rows[] = {
#define ERR_ROW(name, grpc, http, msg) { #name, grpc, http, msg },
	ERR_TABLE(ERR_ROW)
#undef ERR_ROW
};

static const struct err_row *row(enum err_code code)
{
	if ((int)code < 0 || code >= ERR__COUNT)
		code = ERR_INTERNAL_ERROR;
	return &err_rows[code];
}

const char *err_name(enum err_code code)
{
	return row(code)->name;
}

grpc_status_code err_grpc_status(enum err_code code)
{
	return row(code)->grpc;
}

int err_http_status(enum err_code code)
{
	return row(code)->http;
}

const char *err_default_message(enum err_code code)
{
	return row(code)->message;
}

bool err_from_name(const char *name, enum err_code *out)
{
	if (!name)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(err_rows); i++) {
		if (strcmp(err_rows[i].name, name) == 0) {
			*out = (enum err_code)i;
			return true;
		}
	}
	return false;
}

enum err_code err_from_grpc_status(grpc_status_code status, bool has_violations)
{
	switch (status) {
	case GRPC_STATUS_OK:
		return ERR_OK;
	case GRPC_STATUS_INVALID_ARGUMENT:
		return has_violations ? ERR_VALIDATION_ERROR : ERR_BAD_REQUEST;
	case GRPC_STATUS_NOT_FOUND:
		return ERR_NOT_FOUND;
	case GRPC_STATUS_ALREADY_EXISTS:
		return ERR_DUPLICATE_RESOURCE;
	case GRPC_STATUS_ABORTED:
		return ERR_CONFLICT;
	case GRPC_STATUS_FAILED_PRECONDITION:
		return ERR_VALIDATION_ERROR;
	case GRPC_STATUS_UNAUTHENTICATED:
		return ERR_UNAUTHORIZED;
	case GRPC_STATUS_PERMISSION_DENIED:
		return ERR_FORBIDDEN;
	case GRPC_STATUS_RESOURCE_EXHAUSTED:
		return ERR_RATE_LIMIT_EXCEEDED;
	case GRPC_STATUS_UNIMPLEMENTED:
		return ERR_NOT_IMPLEMENTED;
	case GRPC_STATUS_UNAVAILABLE:
	/* Our clients never cancel a call they still wait for: a CANCELLED
	 * they see comes from a server that is shutting down (calls it had
	 * accepted but not started), which is a service being unavailable. */
	case GRPC_STATUS_CANCELLED:
		return ERR_SERVICE_UNAVAILABLE;
	case GRPC_STATUS_DEADLINE_EXCEEDED:
		return ERR_GATEWAY_TIMEOUT;
	default:
		return ERR_INTERNAL_ERROR;
	}
}

void app_error_init(struct app_error *e)
{
	e->code = ERR_OK;
	e->message[0] = '\0';
	e->nviolations = 0;
}

int app_error_set(struct app_error *e, enum err_code code, const char *fmt, ...)
{
	e->code = code;
	if (fmt) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(e->message, sizeof(e->message), fmt, ap);
		va_end(ap);
	} else {
		strlcpy_s(e->message, err_default_message(code), sizeof(e->message));
	}
	return -1;
}

void app_error_add_violation(struct app_error *e, const char *field, const char *fmt, ...)
{
	struct err_violation *v;
	va_list ap;

	if (e->nviolations >= ERR_MAX_VIOLATIONS)
		return;
	v = &e->violations[e->nviolations++];
	strlcpy_s(v->field, field, sizeof(v->field));
	va_start(ap, fmt);
	vsnprintf(v->description, sizeof(v->description), fmt, ap);
	va_end(ap);
}
