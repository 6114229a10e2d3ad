/* routes.h - the gateway's one route table: every REST endpoint is a row.
 *
 * A row says which RPC serves the endpoint and how the transcoder fills its
 * request: path params and query params by JSON name, the JSON body into the
 * request itself or into one sub-message, the update mask from the body's
 * keys, the version from the body or If-Match; and how the reply becomes the
 * response: object, paginated list, or 204. Adding an endpoint is a row. */
#ifndef GATEWAY_ROUTES_H
#define GATEWAY_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

enum route_upstream { UPSTREAM_USERS, UPSTREAM_POSTS, UPSTREAM_AUTH, UPSTREAM__COUNT };

enum route_body {
	BODY_NONE, /* a body sent anyway is ignored; no Content-Type check */
	BODY_JSON, /* required: application/json, a JSON object */
};

enum route_update {
	UPDATE_NONE,
	UPDATE_PATCH, /* request.update_mask = the body's keys */
	UPDATE_PUT,   /* the same, and every `required` key must be present */
};

enum route_reply {
	REPLY_OBJECT, /* data = the reply message */
	REPLY_LIST,   /* data = reply.<list_field>, pagination = reply.pagination */
	REPLY_EMPTY,  /* 204, no body */
};

/* How a query parameter is checked before it reaches the request. */
enum query_kind {
	QUERY_TEXT,  /* any single value in valid UTF-8 */
	QUERY_ENUM,  /* a filter naming one of a set (the service checks which): not empty */
	QUERY_ID,    /* positive integer below 2^53 */
	QUERY_PAGE,  /* integer >= 1 */
	QUERY_LIMIT, /* integer 1..100 */
};

struct route_query {
	const char *name; /* JSON name of a request field */
	enum query_kind kind;
};

#define ROUTE_MAX_QUERY 8

struct route {
	const char *method;
	const char *pattern; /* below /api/<version>; ":name" segments fill request fields */
	enum route_upstream upstream;
	const char *rpc; /* "/agentos.users.v1.UsersService/GetUser" */
	const ProtobufCMessageDescriptor *request;
	const ProtobufCMessageDescriptor *reply;
	int status;         /* 200, 201 or 204 */
	bool auth_required; /* no credentials: 401 at the gateway */
	bool me_alias;      /* the path's id may be "me": the caller's own id (401 if anonymous) */
	enum route_body body;
	const char *body_field;       /* NULL: the body fills the request itself */
	const char *const *read_only; /* body keys refused as read-only */
	const char *const *required;  /* body keys PUT requires */
	/* body keys only an admin may send: a non-admin gets 403 naming them,
	 * before any 422 (API.md §6 order); the service enforces it too */
	const char *const *admin_only;
	enum route_update update;
	bool versioned; /* body "version" / If-Match -> request "version" */
	enum route_reply reply_kind;
	const char *list_field;                    /* REPLY_LIST: the repeated field */
	bool etag;                                 /* ETag: "<reply.version>" */
	struct route_query query[ROUTE_MAX_QUERY]; /* terminated by a NULL name */
	const char *fixed_field;                   /* a request field this route always sets... */
	const char *fixed_value;                   /* ...to this text value */
	bool auth_limited;                         /* login, refresh: the auth rate limiter too */
};

extern const struct route routes[];
extern const size_t routes_count;

#endif
