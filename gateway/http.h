/* http.h - the gateway's HTTP server (libmicrohttpd): connections, limits,
 * bodies, request ids, the request's span (W3C traceparent, trace.h: the
 * reply carries it, the handler runs with it as trace_current()) and the
 * access log. Everything above it sees one complete request and fills one
 * response; it never touches MHD.
 *
 * What this layer answers by itself (in the error envelope, with
 * X-Request-Id): 413 PAYLOAD_TOO_LARGE when the body exceeds max_body_bytes
 * (after reading and dropping it when it is within 8 x max_body_bytes, so a
 * client still sending reads the reply; at once otherwise), 400 BAD_REQUEST
 * for a request with both Content-Length and Transfer-Encoding or with two
 * Content-Length headers (request smuggling) or with %00 in its URL, 404 for
 * %2F in the path, 414 URI_TOO_LONG for a target over 8 KiB or with more than
 * 100 query parameters, 408 REQUEST_TIMEOUT past the head or body deadline
 * (http_guard.h). */
#ifndef GATEWAY_HTTP_H
#define GATEWAY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

struct http_request_impl;

struct http_request {
	const char *method; /* "GET", ... */
	const char *path;   /* decoded path without the query, e.g. "/api/v1/users/12" */
	const char *body;   /* NUL-terminated copy of the body (NULL when none was sent) */
	size_t body_len;
	const char
		*request_id; /* the client's X-Request-Id when request_id_valid(), else generated */
	const char *ip;      /* peer address, text */
	struct arena *arena; /* lives until the response is sent */
	int label;           /* set by the handler for on_done (metrics); -1 = none */
	struct http_request_impl *impl;
};

#define HTTP_MAX_HEADERS 12

struct http_header {
	const char *name;
	const char *value;
};

struct http_response {
	int status;
	char *body; /* malloc'd; freed by the server after sending; NULL = empty */
	size_t body_len;
	const char *content_type; /* default "application/json" when body is set */
	size_t nheaders;
	struct http_header
		headers[HTTP_MAX_HEADERS]; /* strings must live in req->arena or be static */
};

/* Adds a response header (ignored past HTTP_MAX_HEADERS). X-Request-Id is
 * added by the server itself. */
void http_response_header(struct http_response *res, const char *name, const char *value);

/* A request header (case-insensitive name), or NULL. */
const char *http_header(const struct http_request *req, const char *name);

/* Every value of a repeatable request header, joined in order by ", " (in
 * req->arena), or NULL when absent. */
const char *http_header_all(const struct http_request *req, const char *name);

/* Query parameters (decoded). Returns how many times name occurs (0, 1, or
 * more for a repeated parameter) and sets *value to the first value. */
int http_query(const struct http_request *req, const char *name, const char **value);

/* Calls fn for every query parameter in order; stops when fn returns false. */
void http_query_each(const struct http_request *req,
		     bool (*fn)(void *ctx, const char *name, const char *value), void *ctx);

/* Handles one complete request. Runs on one of the server's threads and must
 * not wait for anything slow: it either fills res (zeroed) and returns, or
 * calls http_defer, returns at once, and later, from any thread, fills res
 * and calls http_finish. req, its arena and res stay valid until then. */
typedef void (*http_handler_fn)(void *app, struct http_request *req, struct http_response *res);

/* Inside the handler: the response will come later (the connection is
 * suspended meanwhile; its thread serves other connections). */
void http_defer(struct http_request *req);
/* The deferred request's res is filled: the server queues it (on the
 * connection's own thread). Any thread; exactly once per http_defer, and
 * nothing of req or res may be touched afterwards. */
void http_finish(struct http_request *req);

struct trace_ctx;
/* The request's span (trace.h), for work continued on another thread. */
const struct trace_ctx *http_request_trace(const struct http_request *req);

struct http_server_config {
	const char *host;        /* API_HOST: bind address ("0.0.0.0" when NULL) */
	int port;                /* API_PORT; 0 picks a free port */
	int threads;             /* worker threads (MHD thread pool) */
	size_t max_body_bytes;   /* MAX_BODY_BYTES */
	unsigned conn_limit;     /* total connections */
	unsigned per_ip_limit;   /* connections per client IP */
	unsigned timeout_s;      /* idle connection timeout */
	int head_timeout_ms;     /* HTTP_HEADER_TIMEOUT_MS: deadline for a request head (0: 10 s) */
	int body_timeout_ms;     /* HTTP_BODY_TIMEOUT_MS: deadline for its body (0: 30 s) */
	const char *api_version; /* for envelopes this layer writes */
	http_handler_fn handler;
	void *app;
	/* Optional, for metrics: a request arrived (headers read), and it ended
	 * (response sent, or the connection dropped: status 0) after seconds.
	 * Called for every request, those this layer answers itself included. */
	void (*on_begin)(void *app);
	void (*on_done)(void *app, const struct http_request *req, int status, double seconds);
	/* Optional: a connection was closed past its head (body false) or body
	 * (body true) deadline. Called from a thread of the server's own. */
	void (*on_slow_client)(void *app, bool body);
};

struct http_server;

/* Starts listening and serving. NULL (after logging why) when it cannot bind. */
struct http_server *http_server_start(const struct http_server_config *cfg);
/* The bound port. */
int http_server_port(const struct http_server *s);
/* Stops accepting, waits for requests being handled to finish, frees. NULL is a no-op. */
void http_server_stop(struct http_server *s);

#endif
