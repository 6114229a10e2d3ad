/* http.c - see http.h. libmicrohttpd (0.9.75) with a thread pool and epoll.
 *
 * One request's life: MHD's first call to on_access (headers parsed, no body
 * yet) creates its struct http_request_impl and checks framing and size; the
 * next calls feed the body; the last call (no more data) runs the handler and
 * queues the response; on_completed (response sent or connection gone) writes
 * the access-log line and frees everything. MHD calls each connection's
 * callbacks from one thread, so a request's state needs no lock.
 *
 * A handler that waits for something (an upstream call) defers instead: the
 * connection is suspended (MHD polls it no more, its thread serves the
 * others), the handler's continuation fills the response on whatever thread
 * the answer arrives on and calls http_finish, which resumes the connection;
 * MHD then calls on_access once more on the connection's own thread, which
 * queues the response. The suspend/resume pair hands the request's state from
 * one thread to the other (MHD's mutex orders the two). */
#include "http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "envelope.h"
#include "err.h"
#include "http_guard.h"
#include "http_log.h"
#include "log.h"
#include "request_id.h"
#include "trace.h"
#include "util.h"

#define HTTP_CONN_MEMORY (64 * 1024) /* per connection: request line + headers */
#define HTTP_DEFAULT_CONN_LIMIT 1024 /* when the config says 0 (MHD: no limit) */
#define HTTP_DEFAULT_TIMEOUT_S 30    /* when the config says 0 (MHD: none) */
#define HTTP_BODY_INITIAL 4096
#define HTTP_DRAIN_FACTOR 8        /* over-limit bodies are read and dropped up to 8 x max */
#define HTTP_DEFAULT_HEAD_MS 10000 /* HTTP_HEADER_TIMEOUT_MS when the config says 0 */
#define HTTP_DEFAULT_BODY_MS 30000 /* HTTP_BODY_TIMEOUT_MS when the config says 0 */
#define HTTP_STOP_GRACE_MS 10000   /* how long stop waits for in-flight requests */

struct http_server {
	struct MHD_Daemon *daemon;
	http_handler_fn handler;
	void *app;
	void (*on_begin)(void *app);
	void (*on_done)(void *app, const struct http_request *req, int status, double seconds);
	size_t max_body;
	size_t drain_max; /* bytes of an over-limit body read (and dropped) before hanging up */
	struct http_guard *guard;
	char *api_version;
	int port;
	atomic_int inflight;  /* requests between first call and completion */
	atomic_int deferred;  /* of those, suspended until http_finish */
	atomic_bool stopping; /* responses then carry Connection: close */
};

struct http_request_impl {
	struct http_server *srv;
	struct MHD_Connection *conn;
	struct http_request req;
	struct arena arena;
	int64_t start_us;
	char request_id[REQUEST_ID_MAX + 1];
	struct trace_ctx trace; /* the gateway's span of this request (W3C) */
	char ip[INET6_ADDRSTRLEN];
	const char *log_url;    /* redacted path?query, in arena */
	const char *user_agent; /* in arena, NULL when absent */
	char *body;             /* malloc'd, body_cap bytes */
	size_t body_len;
	size_t body_cap;
	size_t expected;       /* Content-Length (0 = none or chunked) */
	size_t dropped;        /* bytes read and dropped after the body went over the limit */
	bool started;          /* on_access has seen the request (headers in) */
	enum err_code refused; /* what the raw request line earned (ERR_OK: nothing) */
	bool too_large;
	bool deferred;            /* suspended: the handler answers through http_finish */
	bool queued;              /* a response was queued */
	bool close_after;         /* answered before reading the body: close the connection */
	int status;               /* the status answered (or decided when aborting); 0 = none */
	struct http_response res; /* the handler's */
};

/* ---- per-request state --------------------------------------------------- */

static void peer_ip(struct MHD_Connection *conn, char *buf, size_t size)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	strlcpy_s(buf, "unknown", size);
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sa = ci ? ci->client_addr : NULL;
	if (sa && sa->sa_family == AF_INET) {
		struct sockaddr_in in;

		memcpy(&in, sa, sizeof(in));
		inet_ntop(AF_INET, &in.sin_addr, buf, (socklen_t)size);
	} else if (sa && sa->sa_family == AF_INET6) {
		struct sockaddr_in6 in6;

		memcpy(&in6, sa, sizeof(in6));
		/* A v4 client on a dual-stack socket is shown (and limited) as v4. */
		if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr))
			inet_ntop(AF_INET, &in6.sin6_addr.s6_addr[12], buf, (socklen_t)size);
		else
			inet_ntop(AF_INET6, &in6.sin6_addr, buf, (socklen_t)size);
	}
}

/* The request's head is in: everything the handler and the log need. */
static void request_start(struct http_request_impl *r, const char *url, const char *method)
{
	struct http_server *s = r->srv;
	struct MHD_Connection *conn = r->conn;
	const char *id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");

	r->started = true;
	if (request_id_valid(id))
		strlcpy_s(r->request_id, id, sizeof(r->request_id));
	else
		request_id_generate(r->request_id);
	peer_ip(conn, r->ip, sizeof(r->ip));
	r->req.method = arena_strdup(&r->arena, method ? method : "");
	r->req.path = arena_strdup(&r->arena, url ? url : "");
	r->req.request_id = r->request_id;
	r->req.ip = r->ip;
	r->req.arena = &r->arena;
	r->req.label = -1;
	r->req.impl = r;
	/* Repeated headers are joined with ", ": two traceparents are invalid. */
	trace_begin(&r->trace, http_header_all(&r->req, "traceparent"),
		    http_header_all(&r->req, "tracestate"));
	r->user_agent = arena_strdup(&r->arena, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
									    "User-Agent"));
	r->log_url = http_log_url(&r->arena, r->req.path, conn);
	atomic_fetch_add(&s->inflight, 1);
	if (s->on_begin)
		s->on_begin(s->app);
}

static void request_free(struct http_request_impl *r)
{
	if (r->started)
		atomic_fetch_sub(&r->srv->inflight, 1);
	arena_release(&r->arena);
	free(r->body);
	free(r);
}

static void access_log(const struct http_request_impl *r)
{
	double ms = (double)(mono_us() - r->start_us) / 1000.0;
	struct log_field f[12];
	size_t n = 0;

	if (r->srv->on_done)
		r->srv->on_done(r->srv->app, &r->req, r->status, ms / 1000.0);

	f[n++] = LOG_S("method", r->req.method);
	f[n++] = LOG_S("url", r->log_url);
	f[n++] = LOG_I("statusCode", r->status);
	f[n++] = LOG_D("duration", ms);
	f[n++] = LOG_S("userAgent", r->user_agent);
	f[n++] = LOG_S("ip", r->ip);
	f[n++] = LOG_S("requestId", r->request_id);
	f[n++] = LOG_S("traceId", r->trace.trace_id);
	f[n++] = LOG_S("spanId", r->trace.span_id);
	if (r->trace.parent_id[0])
		f[n++] = LOG_S("parentSpanId", r->trace.parent_id);
	f[n] = (struct log_field){ 0 };
	log_emit(LOG_INFO, r->queued ? "HTTP Request" : "HTTP Request aborted", f);
}

/* ---- responses ----------------------------------------------------------- */

static bool header_is(const char *name, const char *want)
{
	return strcasecmp(name, want) == 0;
}

/* Adds the handler's headers, skipping those the server owns; true when one
 * of them was Content-Type. */
static bool add_headers(struct MHD_Response *mr, const struct http_response *res)
{
	size_t n = res->nheaders < HTTP_MAX_HEADERS ? res->nheaders : HTTP_MAX_HEADERS;
	bool has_type = false;

	for (size_t i = 0; i < n; i++) {
		const struct http_header *h = &res->headers[i];

		if (!h->name || !h->value || header_is(h->name, "X-Request-Id") ||
		    header_is(h->name, "traceparent") || header_is(h->name, "Content-Length") ||
		    header_is(h->name, "Transfer-Encoding"))
			continue;
		if (MHD_add_response_header(mr, h->name, h->value) != MHD_YES) {
			log_warn("http: response header refused", LOG_S("header", h->name));
			continue;
		}
		has_type |= header_is(h->name, "Content-Type");
	}
	return has_type;
}

static enum MHD_Result respond_error(struct http_request_impl *r, enum err_code code);

/* Queues res (taking res->body). */
static enum MHD_Result respond(struct http_request_impl *r, struct http_response *res)
{
	char traceparent[TRACE_PARENT_LEN + 1];
	struct MHD_Response *mr;
	enum MHD_Result ok;
	bool has_type;

	if (res->status < 100 || res->status > 599) {
		log_error("http: handler returned no valid status", LOG_I("status", res->status),
			  LOG_S("requestId", r->request_id));
		free(res->body);
		return respond_error(r, ERR_INTERNAL_ERROR);
	}
	if (res->status == 204 || res->status == 304 || !res->body) {
		free(res->body);
		res->body = NULL;
		mr = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	} else {
		mr = MHD_create_response_from_buffer(res->body_len, res->body,
						     MHD_RESPMEM_MUST_FREE);
		if (!mr)
			free(res->body);
	}
	if (!mr)
		return MHD_NO;
	has_type = add_headers(mr, res);
	if (res->body && !has_type)
		MHD_add_response_header(mr, "Content-Type",
					res->content_type ? res->content_type : "application/json");
	MHD_add_response_header(mr, "X-Request-Id", r->request_id);
	trace_format(&r->trace, traceparent);
	MHD_add_response_header(mr, "traceparent", traceparent);
	if (r->close_after || atomic_load(&r->srv->stopping))
		MHD_add_response_header(mr, "Connection", "close");
	http_guard_busy(r->conn); /* MHD writes from now on: no deadline, no 408 */
	ok = MHD_queue_response(r->conn, (unsigned int)res->status, mr);
	MHD_destroy_response(mr);
	if (ok == MHD_YES) {
		r->queued = true;
		r->status = res->status;
	}
	return ok;
}

/* An answer of this layer itself, in the error envelope. */
static enum MHD_Result respond_error(struct http_request_impl *r, enum err_code code)
{
	struct envelope_meta m = { .version = r->srv->api_version, .request_id = r->request_id };
	struct http_response res;
	struct app_error e;

	memset(&res, 0, sizeof(res));
	app_error_init(&e);
	app_error_set(&e, code, NULL);
	res.status = err_http_status(code);
	res.body = envelope_error(&m, &e, &res.body_len);
	return respond(r, &res);
}

/* ---- the raw request line ------------------------------------------------ */

/* MHD_OPTION_URI_LOG_CALLBACK: the request line is in, nothing of it parsed
 * yet. Creates the request's state (MHD hands it to every later callback)
 * and checks the raw URI. A 414 is answered here, on the socket itself:
 * libmicrohttpd 0.9.75 stores every query argument in the connection's
 * memory pool, and when that runs out it neither answers nor closes (the
 * client waited for the idle timeout). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_server *s = cls;
	struct http_request_impl *r = xcalloc(1, sizeof(*r));
	const union MHD_ConnectionInfo *ci;

	r->srv = s;
	r->conn = conn;
	r->start_us = mono_us();
	arena_init(&r->arena);
	http_guard_request_line(conn);
	r->refused = http_guard_check_uri(uri ? uri : "");
	if (r->refused == ERR_URI_TOO_LONG) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		request_id_generate(r->request_id);
		if (ci && http_guard_busy(conn)) /* not also answered by the reaper */
			http_guard_reply(ci->connect_fd, ERR_URI_TOO_LONG,
					 "The URI is too long or has too many query parameters",
					 s->api_version, r->request_id);
	}
	return r;
}

/* ---- request framing and body -------------------------------------------- */

struct framing {
	int content_length;    /* Content-Length headers */
	int transfer_encoding; /* Transfer-Encoding headers */
	bool chunked;          /* the last Transfer-Encoding is exactly "chunked" */
	bool padded;           /* one of them had whitespace before the colon */
	const char *length;    /* the Content-Length value */
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct framing *f = cls;
	size_t n = key ? strlen(key) : 0;
	bool padded = false;

	while (n > 0 && (key[n - 1] == ' ' || key[n - 1] == '\t')) {
		n--;
		padded = true;
	}
	if (n == strlen("Content-Length") && strncasecmp(key, "Content-Length", n) == 0) {
		f->content_length++;
		f->length = value;
		f->padded |= padded;
	} else if (n == strlen("Transfer-Encoding") &&
		   strncasecmp(key, "Transfer-Encoding", n) == 0) {
		f->transfer_encoding++;
		f->chunked = value && strcasecmp(value, "chunked") == 0;
		f->padded |= padded;
	}
	return MHD_YES;
}

/* The client waits for "100 Continue" before sending its body: refusing
 * now costs it nothing. */
static bool expects_continue(struct MHD_Connection *conn)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Expect");

	return v && strcasecmp(v, "100-continue") == 0;
}

/* First call: headers are in, the body is not read yet. Answers what the
 * raw URI earned, rejects ambiguous framing (request smuggling) and bodies
 * announced over the limit that will not be read (beyond drain_max, or
 * awaiting 100 Continue); those answers close the connection instead of
 * reading the body. Starts the body deadline. */
static enum MHD_Result on_headers(struct http_request_impl *r)
{
	struct framing f = { 0 };
	int64_t length = 0;

	if (r->refused == ERR_URI_TOO_LONG) {
		r->status = 414; /* answered by on_uri; the socket is shut down */
		return MHD_NO;
	}
	if (r->refused != ERR_OK) {
		r->close_after = true;
		return respond_error(r, r->refused);
	}
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_framing, &f);
	if (f.padded || f.content_length > 1 || f.transfer_encoding > 1 ||
	    (f.content_length && f.transfer_encoding) || (f.transfer_encoding && !f.chunked)) {
		r->close_after = true;
		return respond_error(r, ERR_BAD_REQUEST);
	}
	if (f.content_length && (!parse_int64(f.length, &length) || length < 0)) {
		r->close_after = true;
		return respond_error(r, ERR_PAYLOAD_TOO_LARGE);
	}
	if ((uint64_t)length > r->srv->max_body &&
	    ((uint64_t)length > r->srv->drain_max || expects_continue(r->conn))) {
		r->close_after = true;
		return respond_error(r, ERR_PAYLOAD_TOO_LARGE);
	}
	/* Over the limit but within drain_max: the body is read and dropped and
	 * then answered 413, so that a client busy sending it reads the reply
	 * instead of a reset (API.md §6). */
	r->too_large = (uint64_t)length > r->srv->max_body;
	r->expected = (size_t)length;
	http_guard_body(r->srv->guard, r->conn);
	return MHD_YES;
}

/* Memory follows the bytes received (doubling), never the announced length:
 * a client cannot reserve max_body_bytes with a header alone. */
static void body_append(struct http_request_impl *r, const char *data, size_t n)
{
	size_t max = r->srv->max_body;
	size_t ceiling = (r->expected ? r->expected : max) + 1;

	if (!r->too_large && n > max - r->body_len) {
		r->too_large = true;
		free(r->body);
		r->body = NULL;
		r->body_len = 0;
		r->body_cap = 0;
	}
	if (r->too_large) {
		r->dropped += n;
		return;
	}
	if (r->body_len + n + 1 > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap * 2 : HTTP_BODY_INITIAL;

		if (cap < r->body_len + n + 1)
			cap = r->body_len + n + 1;
		if (cap > ceiling)
			cap = ceiling;
		r->body = xrealloc(r->body, cap);
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
}

static enum MHD_Result dispatch(struct http_request_impl *r)
{
	if (r->body_len > 0) {
		r->body[r->body_len] = '\0';
		r->req.body = r->body;
		r->req.body_len = r->body_len;
	}
	trace_set_current(&r->trace); /* upstream calls are its children */
	r->srv->handler(r->srv->app, &r->req, &r->res);
	trace_set_current(NULL);
	if (r->deferred)
		return MHD_YES; /* suspended; http_finish resumes it */
	return respond(r, &r->res);
}

void http_defer(struct http_request *req)
{
	struct http_request_impl *r = req->impl;

	r->deferred = true;
	atomic_fetch_add(&r->srv->deferred, 1);
	MHD_suspend_connection(r->conn);
}

void http_finish(struct http_request *req)
{
	MHD_resume_connection(req->impl->conn);
}

const struct trace_ctx *http_request_trace(const struct http_request *req)
{
	return &req->impl->trace;
}

/* A piece of the body. A body that goes on past drain_max (chunked: no
 * length to refuse up front) is answered 413 on the socket itself and the
 * connection closed: MHD 0.9.75 cannot queue a reply before the body is
 * complete. */
static enum MHD_Result on_upload(struct http_request_impl *r, const char *data, size_t *size)
{
	const union MHD_ConnectionInfo *ci;

	body_append(r, data, *size);
	*size = 0;
	if (r->dropped <= r->srv->drain_max)
		return MHD_YES;
	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci && http_guard_busy(r->conn))
		http_guard_reply(ci->connect_fd, ERR_PAYLOAD_TOO_LARGE, NULL, r->srv->api_version,
				 r->request_id);
	r->status = 413;
	return MHD_NO;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	struct http_request_impl *r = *con_cls;

	if (!r) { /* not seen by on_uri: cannot happen with MHD 0.9.75 */
		r = on_uri(cls, url, conn);
		*con_cls = r;
	}
	if (!r->started) {
		request_start(r, url, method);
		return on_headers(r);
	}
	if (r->queued) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->deferred) { /* resumed by http_finish: the response is ready */
		r->deferred = false;
		atomic_fetch_sub(&r->srv->deferred, 1);
		return respond(r, &r->res);
	}
	if (*upload_data_size > 0)
		return on_upload(r, upload_data, upload_data_size);
	if (!http_guard_busy(conn)) {
		r->status = 408; /* answered by the reaper, which closed the connection */
		return MHD_NO;
	}
	if (r->too_large)
		return respond_error(r, ERR_PAYLOAD_TOO_LARGE);
	return dispatch(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_request_impl *r = *con_cls;
	struct http_server *s = cls;

	http_guard_idle(s->guard, conn);
	if (!r)
		return;
	*con_cls = NULL;
	if (r->deferred) /* resumed, but the connection ended before it was answered */
		atomic_fetch_sub(&s->deferred, 1);
	if (!r->queued && http_guard_expired(conn))
		r->status = 408;
	if (r->started)
		access_log(r);
	request_free(r);
}

/* ---- the server ---------------------------------------------------------- */

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_warn("libmicrohttpd", LOG_S("detail", buf));
}

/* host:port to one socket address; false (logged) when it does not resolve. */
static bool resolve_bind(const char *host, int port, struct sockaddr_storage *out)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char service[16];
	int rc;

	if (port < 0 || port > 65535) {
		log_error("http: invalid port", LOG_I("port", port));
		return false;
	}
	snprintf(service, sizeof(service), "%d", port);
	rc = getaddrinfo(host ? host : "0.0.0.0", service, &hints, &res);
	if (rc != 0 || !res || res->ai_addrlen > sizeof(*out)) {
		log_error("http: cannot resolve listen address", LOG_S("host", host),
			  LOG_S("error", rc ? gai_strerror(rc) : "no address"));
		if (res)
			freeaddrinfo(res);
		return false;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return true;
}

static struct MHD_Daemon *start_daemon(struct http_server *s, const struct http_server_config *cfg,
				       const struct sockaddr_storage *addr)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
			     MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
	unsigned int threads = cfg->threads > 1 ? (unsigned int)cfg->threads : 1;
	unsigned int limit = cfg->conn_limit ? cfg->conn_limit : HTTP_DEFAULT_CONN_LIMIT;
	unsigned int timeout = cfg->timeout_s ? cfg->timeout_s : HTTP_DEFAULT_TIMEOUT_S;

	/* No MHD_OPTION_LISTENING_ADDRESS_REUSE: MHD's default is SO_REUSEADDR
	 * (quick restarts) without SO_REUSEPORT, so a second process cannot
	 * silently share the port. */
	if (addr->ss_family == AF_INET6) {
		struct sockaddr_in6 in6;

		memcpy(&in6, addr, sizeof(in6));
		/* "::" means every address, v4 included (as in Node). */
		flags |= IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr) ? MHD_USE_DUAL_STACK
								 : MHD_USE_IPv6;
	}
	if (limit < threads)
		limit = threads;
	/* The logger goes first so that MHD's own option warnings reach it. */
	return MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_access, s,
				MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
				(const struct sockaddr *)addr, MHD_OPTION_THREAD_POOL_SIZE,
				threads > 1 ? threads : 0u, MHD_OPTION_CONNECTION_LIMIT, limit,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_ip_limit,
				MHD_OPTION_CONNECTION_TIMEOUT, timeout,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
				MHD_OPTION_NOTIFY_CONNECTION, http_guard_notify, s->guard,
				MHD_OPTION_END);
}

static struct http_guard *start_guard(struct http_server *s, const struct http_server_config *cfg)
{
	struct http_guard_config g = {
		.head_ms = cfg->head_timeout_ms > 0 ? cfg->head_timeout_ms : HTTP_DEFAULT_HEAD_MS,
		.body_ms = cfg->body_timeout_ms > 0 ? cfg->body_timeout_ms : HTTP_DEFAULT_BODY_MS,
		.api_version = s->api_version,
		.on_expired = cfg->on_slow_client,
		.app = cfg->app,
	};

	return http_guard_start(&g);
}

struct http_server *http_server_start(const struct http_server_config *cfg)
{
	struct sockaddr_storage addr;
	const union MHD_DaemonInfo *info;
	struct http_server *s;

	if (!cfg || !cfg->handler) {
		log_error("http: no handler configured");
		return NULL;
	}
	if (!resolve_bind(cfg->host, cfg->port, &addr))
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->handler = cfg->handler;
	s->app = cfg->app;
	s->on_begin = cfg->on_begin;
	s->on_done = cfg->on_done;
	s->max_body = cfg->max_body_bytes;
	s->drain_max = s->max_body * HTTP_DRAIN_FACTOR;
	s->api_version = xstrdup(cfg->api_version ? cfg->api_version : "v1");
	atomic_init(&s->inflight, 0);
	atomic_init(&s->deferred, 0);
	atomic_init(&s->stopping, false);
	s->guard = start_guard(s, cfg);
	s->daemon = start_daemon(s, cfg, &addr);
	if (!s->daemon) {
		log_error("http: cannot listen", LOG_S("host", cfg->host ? cfg->host : "0.0.0.0"),
			  LOG_I("port", cfg->port));
		http_guard_stop(s->guard);
		free(s->api_version);
		free(s);
		return NULL;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : cfg->port;
	log_info("http: listening", LOG_S("host", cfg->host ? cfg->host : "0.0.0.0"),
		 LOG_I("port", s->port), LOG_I("threads", cfg->threads));
	return s;
}

int http_server_port(const struct http_server *s)
{
	return s ? s->port : 0;
}

/* Quiesce takes the listening socket from MHD, and it stops listening at
 * once so that new clients are refused instead of waiting in a backlog
 * nobody accepts from (and being reset at the end). shutdown(SHUT_RD) does
 * that on Linux while the descriptor stays valid: MHD says not to close it
 * before MHD_stop_daemon, as a pool thread may still be accepting on it.
 * Then up to HTTP_STOP_GRACE_MS for requests already started to be answered
 * (their responses say Connection: close); then MHD_stop_daemon joins the
 * pool threads (a handler still running is waited for) and closes what is
 * left. */
void http_server_stop(struct http_server *s)
{
	MHD_socket fd;
	int64_t deadline;

	if (!s)
		return;
	atomic_store(&s->stopping, true);
	fd = MHD_quiesce_daemon(s->daemon);
	if (fd != MHD_INVALID_SOCKET)
		shutdown(fd, SHUT_RD);
	deadline = mono_ms() + HTTP_STOP_GRACE_MS;
	while (atomic_load(&s->inflight) > 0 && mono_ms() < deadline)
		sleep_ms(5);
	/* MHD must not stop with a connection suspended: a deferred request is
	 * answered within its upstream deadline, so this wait ends. */
	if (atomic_load(&s->deferred) > 0)
		log_warn("http: waiting for deferred requests before stopping",
			 LOG_I("deferred", atomic_load(&s->deferred)));
	while (atomic_load(&s->deferred) > 0)
		sleep_ms(5);
	MHD_stop_daemon(s->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	http_guard_stop(s->guard);
	free(s->api_version);
	free(s);
}

/* ---- request accessors --------------------------------------------------- */

void http_response_header(struct http_response *res, const char *name, const char *value)
{
	if (!res || !name || !value || res->nheaders >= HTTP_MAX_HEADERS)
		return;
	res->headers[res->nheaders].name = name;
	res->headers[res->nheaders].value = value;
	res->nheaders++;
}

const char *http_header(const struct http_request *req, const char *name)
{
	if (!req || !req->impl || !name)
		return NULL;
	return MHD_lookup_connection_value(req->impl->conn, MHD_HEADER_KIND, name);
}

struct query_find {
	const char *name;
	const char *first;
	int count;
};

static enum MHD_Result find_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	struct query_find *q = cls;

	if (key && strcmp(key, q->name) == 0) {
		if (q->count++ == 0)
			q->first = value ? value : "";
	}
	return MHD_YES;
}

int http_query(const struct http_request *req, const char *name, const char **value)
{
	struct query_find q = { .name = name };

	if (req && req->impl && name)
		MHD_get_connection_values(req->impl->conn, MHD_GET_ARGUMENT_KIND, find_arg, &q);
	if (value)
		*value = q.first;
	return q.count;
}

struct query_each {
	bool (*fn)(void *ctx, const char *name, const char *value);
	void *ctx;
};

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	struct query_each *q = cls;

	return q->fn(q->ctx, key ? key : "", value ? value : "") ? MHD_YES : MHD_NO;
}

void http_query_each(const struct http_request *req,
		     bool (*fn)(void *ctx, const char *name, const char *value), void *ctx)
{
	struct query_each q = { .fn = fn, .ctx = ctx };

	if (!req || !req->impl || !fn)
		return;
	MHD_get_connection_values(req->impl->conn, MHD_GET_ARGUMENT_KIND, each_arg, &q);
}

struct header_join {
	const char *name;
	struct arena *arena;
	char *joined;
};

static enum MHD_Result join_header(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct header_join *j = cls;

	if (key && value && strcasecmp(key, j->name) == 0)
		j->joined = j->joined ? arena_sprintf(j->arena, "%s, %s", j->joined, value)
				      : arena_strdup(j->arena, value);
	return MHD_YES;
}

const char *http_header_all(const struct http_request *req, const char *name)
{
	struct header_join j = { .name = name, .arena = req->arena };

	if (!req->impl)
		return NULL;
	MHD_get_connection_values(req->impl->conn, MHD_HEADER_KIND, join_header, &j);
	return j.joined;
}
