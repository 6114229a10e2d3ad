/* rpc.h - the project's only wrapper around gRPC core (server and client).
 *
 * Nothing outside shared/rpc_*.c includes <grpc/grpc.h>: a service registers
 * {method path, request descriptor, handler} and never sees a grpc_op.
 *
 * Process lifecycle:
 *   rpc_runtime_init();            first thing in main(): blocks SIGTERM/SIGINT
 *                                  in every thread (so rpc_server_run can
 *                                  sigwait them), ignores SIGPIPE, bounds the
 *                                  allocator's retained memory, grpc_init()
 *   ... rpc_server_new / rpc_channel_new ...
 *   rpc_runtime_shutdown();        last thing: grpc_shutdown()
 */
#ifndef SHARED_RPC_H
#define SHARED_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "err.h"

void rpc_runtime_init(void);
void rpc_runtime_shutdown(void);

/* "OK", "NOT_FOUND", "DEADLINE_EXCEEDED"... (static); "UNKNOWN" when out of range. */
const char *rpc_status_name(grpc_status_code status);

/* ---- server ------------------------------------------------------------- */

struct rpc_server;
struct rpc_call; /* one accepted call; valid only inside its handler */

struct principal;

/* What calls made while serving another one inherit from it: its request id
 * (forwarded as x-request-id) and the time left before its deadline. */
struct rpc_origin {
	const char *request_id; /* NULL: none */
	int64_t remaining_ms;   /* INT64_MAX: no deadline */
};

/* Everything a unary handler gets about its call, filled by the runtime. */
struct rpc_ctx {
	struct rpc_call *call;
	struct arena *arena; /* the call's: lives until the reply is sent */
	/* The caller, resolved from `authorization` / `x-api-key` metadata by the
	 * server's resolver (anonymous when neither is present); a bad
	 * credential fails the call before the handler runs, even on an open
	 * method. NULL for RPC_UNARY_NO_CALLER methods or without a resolver. */
	const struct principal *caller;
	struct rpc_origin origin;
	const void *req;         /* the decoded request, of the method's type */
	ProtobufCMessage *reply; /* set by the handler (rpc_reply) */
	struct app_error *err;   /* filled by the handler when it fails */
};

/* Handles one unary call. On success returns 0 with cx->reply set: a message
 * whose memory the handler owns for the call's lifetime (allocate it, and
 * every string/sub-message in it, from cx->arena, or point at static data).
 * On failure returns -1 with cx->err filled; the runtime sends its gRPC
 * status with a google.rpc.Status (ErrorInfo + BadRequest) in the
 * `grpc-status-details-bin` trailer. The request is freed by the runtime. */
typedef int (*rpc_handler_fn)(void *app, struct rpc_ctx *cx);

/* A handler's success: cx->reply = reply, and 0. */
static inline int rpc_reply(struct rpc_ctx *cx, ProtobufCMessage *reply)
{
	cx->reply = reply;
	return 0;
}

/* Resolves a call's caller from its metadata: 0 and *out (memory of the
 * call's arena or of the resolver), or -1 with err (401, 400, 503...). */
typedef int (*rpc_resolve_fn)(void *ctx, struct rpc_call *call, const struct principal **out,
			      struct app_error *err);

struct rpc_stream; /* the server side of one streaming call */

/* Serves one server-streaming or bidirectional call, on a thread of its own
 * (never a worker's): request is the client's first message (freed by the
 * runtime). The handler sends with rpc_stream_send, reads further messages
 * with rpc_stream_recv, and returns once rpc_stream_done is true or it has
 * nothing more to say: 0 ends the call with OK, -1 with err's status. The
 * call's arena lives as long as the call. */
typedef int (*rpc_stream_fn)(void *app, struct rpc_call *call, const ProtobufCMessage *request,
			     struct rpc_stream *st, struct app_error *err);

struct rpc_method {
	const char *path; /* "/agentos.users.v1.UsersService/GetUser" */
	const ProtobufCMessageDescriptor *request;
	rpc_handler_fn handler; /* a unary method */
	rpc_stream_fn stream;   /* or a streaming one (handler NULL) */
	bool no_caller;         /* the caller is not resolved (cx->caller NULL) */
	bool slow;              /* may block long (argon2, a transaction, another
				 * service): served by a lane of its own workers */
};

/* Method table rows. */
#define RPC_UNARY(path, request, handler)                        \
	{                                                        \
		(path), (request), (handler), NULL, false, false \
	}
/* A unary method that may block long: it never occupies the workers that
 * serve the quick methods (rpc_server_config.slow_workers). */
#define RPC_UNARY_SLOW(path, request, handler)                  \
	{                                                       \
		(path), (request), (handler), NULL, false, true \
	}
/* A unary method whose credentials are not looked at (health, service-to-
 * service calls proved otherwise). */
#define RPC_UNARY_NO_CALLER(path, request, handler)             \
	{                                                       \
		(path), (request), (handler), NULL, true, false \
	}
#define RPC_STREAM(path, request, stream)                      \
	{                                                      \
		(path), (request), NULL, (stream), true, false \
	}

struct rpc_server_config {
	const char *listen_addr; /* "0.0.0.0:50051"; port 0 picks a free port */
	/* Worker threads for the methods not marked slow (and health, reflection):
	 * at most this many such calls run at once (0: 8). Methods that only
	 * read a cache want one per CPU (fewer threads to wake per call); methods
	 * that wait on PostgreSQL want enough to keep its connections busy
	 * (svc.h SVC_DEFAULT_WORKERS, README "GRPC_WORKERS"). */
	int workers;
	/* Workers of each slow method's own lane (0: 8, what every method had
	 * before lanes); they do not poll, so idle lanes cost the quick calls
	 * nothing. A call waiting for a worker when the server stops is refused
	 * UNAVAILABLE by gRPC, so a lane is as wide as the calls a client may
	 * reasonably have in flight at once. */
	int slow_workers;
	int shutdown_grace_ms; /* in-flight calls get this long after SIGTERM */
	/* A connection is closed (gracefully: two-step GOAWAY) this long after
	 * it opened, so that clients re-resolve dns:/// names and spread over
	 * replicas added since (0: 5 minutes). */
	int max_connection_age_ms;
	const char *domain; /* ErrorInfo.domain and the logs' "service", e.g. "users" */
	/* grpc.health.v1.Health/Check answers for "" and for each of these full
	 * service names (NULL-terminated); other names are NOT_FOUND. */
	const char *const *health_services;
	/* SERVING while this returns true (e.g. the database answers); NULL = always. */
	bool (*health_check)(void *ctx);
	/* For the named services only (not ""): SERVING also needs this (e.g.
	 * state loaded at start-up that the API needs); NULL = nothing more. */
	bool (*service_check)(void *ctx);
	void *health_ctx;       /* passed to health_check; NULL = app */
	void *app;              /* passed to handlers */
	rpc_resolve_fn resolve; /* every unary call's caller; NULL: none */
	void *resolve_ctx;
};

/* Binds and prepares the server (no threads yet). methods must outlive the
 * server. Returns NULL (after logging why) when the address cannot be bound. */
struct rpc_server *rpc_server_new(const struct rpc_server_config *cfg,
				  const struct rpc_method *methods, size_t nmethods);
/* The bound port (useful with port 0). */
int rpc_server_port(const struct rpc_server *s);
/* Starts the workers and serves until SIGTERM/SIGINT arrives (or
 * rpc_server_stop is called); then stops accepting, lets in-flight calls finish
 * within the grace period (cancelling any still running after it), joins the
 * workers and returns 0 (-1 when it could not start). Runs once per server.
 * The signals are read with a signalfd, so one running server per process
 * receives them. */
int rpc_server_run(struct rpc_server *s);
/* Asks rpc_server_run to drain and return; callable from any thread, even
 * before rpc_server_run started (it then returns at once). Writes an eventfd:
 * no signal involved. */
void rpc_server_stop(struct rpc_server *s);
/* Frees a server that is not running. NULL is a no-op. */
void rpc_server_free(struct rpc_server *s);

/* Call accessors, valid inside the handler. Every call is a span of its own
 * (trace.h), continuing the `traceparent` (+ `tracestate`) metadata when
 * valid, else a new trace. Its traceId, spanId and parentSpanId are on the
 * call's "rpc" log line, and it is trace_current() while the handler runs, so
 * rpc_call_unary from the handler's thread makes child spans. */
struct arena *rpc_call_arena(struct rpc_call *call);
const char *rpc_call_method(const struct rpc_call *call);
/* The value of a metadata key (lower-case name), NUL-terminated, or NULL when
 * absent. When the key is repeated, the first value. Owned by the call. */
const char *rpc_call_metadata(const struct rpc_call *call, const char *key);
/* `x-request-id` from metadata when sane ([A-Za-z0-9._-]{1,64}), else a
 * generated "req_" + 16 alphanumerics. Owned by the call. */
const char *rpc_call_request_id(const struct rpc_call *call);
/* The caller's address without its port ("127.0.0.1", "::1"; for other
 * transports gRPC's whole peer string, "unknown" when there is none). In the
 * call's arena. */
const char *rpc_call_peer_host(struct rpc_call *call);
/* Adds key: value (lower-case ASCII key; printable value) to the trailing
 * metadata of a successful unary reply; one entry per call, a second call
 * replaces it. Both are copied into the call's arena. */
void rpc_call_set_trailer(struct rpc_call *call, const char *key, const char *value);
/* The same with a decimal integer value. */
void rpc_call_set_trailer_i64(struct rpc_call *call, const char *key, int64_t value);

/* Streaming calls (inside an rpc_stream_fn). At most RPC_MAX_STREAMS run at
 * once per server; more are refused with UNAVAILABLE. */
#define RPC_MAX_STREAMS 256
/* Sends m (its first call also sends the initial metadata) and waits until
 * gRPC took it, at most RPC_STREAM_SEND_TIMEOUT_MS (a client that stopped
 * reading). 0, or -1 when the call is over: client gone, cancelled, too slow
 * or the server stopping. */
#define RPC_STREAM_SEND_TIMEOUT_MS 10000
int rpc_stream_send(struct rpc_stream *st, const ProtobufCMessage *m);
/* Waits up to timeout_ms for the client's next message: 1 and *out (a desc
 * message the caller frees with protobuf_c_message_free_unpacked), 0 when
 * none came in time (call again), -1 when none will come (the client closed
 * its side or went away, the message was not a valid desc, the server is
 * stopping). */
int rpc_stream_recv(struct rpc_stream *st, const ProtobufCMessageDescriptor *desc, int timeout_ms,
		    ProtobufCMessage **out);
/* true once the client went away or cancelled, or the server is stopping:
 * the handler should return. Never blocks. */
bool rpc_stream_done(struct rpc_stream *st);

/* ---- client ------------------------------------------------------------- */

struct rpc_channel;

/* A long-lived, thread-safe channel to a gRPC target ("127.0.0.1:50051",
 * "dns:///users:50051"), round_robin over the resolved addresses. Never NULL. */
struct rpc_channel *rpc_channel_new(const char *target);
/* The same; with own_connections, the channel shares no connection (nor
 * its reconnection backoff) with any other channel to target: a fresh one
 * connects at once, which a follower that recreates its channel after a
 * failure relies on. */
struct rpc_channel *rpc_channel_new_ex(const char *target, bool own_connections);
void rpc_channel_free(struct rpc_channel *ch);

struct rpc_metadata {
	const char *key;   /* lower-case */
	const char *value; /* NULL entries are skipped */
};

/* One unary call with a deadline (deadline_ms <= 0 counts as 1 ms). It
 * carries `traceparent` (and `tracestate`) for a new span, a child of
 * trace_current() (a new trace when there is none) unless md has a
 * traceparent; a child of a current span is logged ("rpc call": target,
 * method, status, duration, requestId from md's x-request-id, traceId,
 * spanId, parentSpanId). On success returns 0 and *reply is an
 * unpacked reply_desc message the caller frees with
 * protobuf_c_message_free_unpacked(*reply, NULL). On failure returns -1, fills
 * err (code from the rich error's ErrorInfo when present, otherwise from the
 * status via err_from_grpc_status; violations from BadRequest; an unreachable
 * target is SERVICE_UNAVAILABLE, an expired deadline GATEWAY_TIMEOUT) and, when
 * status is not NULL, the raw gRPC status. */
int rpc_call_unary(struct rpc_channel *ch, const char *method, const ProtobufCMessage *request,
		   const ProtobufCMessageDescriptor *reply_desc, const struct rpc_metadata *md,
		   size_t nmd, int deadline_ms, ProtobufCMessage **reply, struct app_error *err,
		   grpc_status_code *status);

/* rpc_call_unary, and on success the value of the reply's trailing metadata
 * entry `key` copied into value (at most cap - 1 bytes; "" when absent). */
int rpc_call_unary_trailer(struct rpc_channel *ch, const char *method,
			   const ProtobufCMessage *request,
			   const ProtobufCMessageDescriptor *reply_desc,
			   const struct rpc_metadata *md, size_t nmd, int deadline_ms,
			   ProtobufCMessage **reply, struct app_error *err,
			   grpc_status_code *status, const char *key, char *value, size_t cap);

/* ---- asynchronous unary calls (rpc_async.c) ------------------------------ */

/* A completion queue and the threads that drain it: a call started with
 * rpc_call_async is finished (reply decoded, error read, hop logged) and
 * handed to its callback on one of them, so the starting thread never
 * waits. */
struct rpc_async;

/* threads >= 1 threads (the gateway: one per core). Never NULL. */
struct rpc_async *rpc_async_new(int threads);
/* Waits for every call started on a to be finished and its callback to
 * return, then stops the threads and frees a. NULL is a no-op. */
void rpc_async_free(struct rpc_async *a);

/* What a finished asynchronous call hands its callback. */
struct rpc_result {
	int rc;                  /* 0: reply is set; -1: err is */
	ProtobufCMessage *reply; /* the callback's to free (protobuf_c_message_free_unpacked) */
	struct app_error err;
	grpc_status_code status; /* the raw gRPC status */
	char trailer[32];        /* the asked-for trailing metadata value; "" when absent */
	double seconds;          /* from start to finish */
};

/* Runs on one of the rpc_async threads (or, when the call cannot even be
 * started, on the starting thread before rpc_call_async returns): exactly
 * once per call. res is valid during the callback only (take res->reply). */
typedef void (*rpc_done_fn)(void *arg, struct rpc_result *res);

/* rpc_call_unary without waiting: the same metadata, tracing (a child of
 * trace_current() on the starting thread), deadline and error rules; the
 * trailing metadata entry trailer_key (a static string, or NULL) is copied
 * into res->trailer. request and md are copied before it returns. */
void rpc_call_async(struct rpc_async *a, struct rpc_channel *ch, const char *method,
		    const ProtobufCMessage *request, const ProtobufCMessageDescriptor *reply_desc,
		    const struct rpc_metadata *md, size_t nmd, int deadline_ms,
		    const char *trailer_key, rpc_done_fn done, void *arg);

/* A server-streaming call: the client sends one request and reads replies
 * until either side ends it. Not thread-safe: one thread uses a stream. */
struct rpc_client_stream;

/* Starts method with request and md (no deadline: the call lasts until
 * closed). Never NULL: a target that cannot be reached shows in the first
 * rpc_client_stream_next. */
struct rpc_client_stream *rpc_client_stream_open(struct rpc_channel *ch, const char *method,
						 const ProtobufCMessage *request,
						 const struct rpc_metadata *md, size_t nmd);
/* Waits up to timeout_ms for the next message: 1 and *out (a desc message
 * the caller frees with protobuf_c_message_free_unpacked), 0 when none came
 * in time, -1 when the stream is over, with err (as rpc_call_unary fills
 * it; a stream the server ended with OK is SERVICE_UNAVAILABLE, an invalid
 * message INTERNAL_ERROR). After -1 every call returns -1. */
int rpc_client_stream_next(struct rpc_client_stream *s, const ProtobufCMessageDescriptor *desc,
			   int timeout_ms, ProtobufCMessage **out, struct app_error *err);
/* Cancels the call if it still runs and frees s. NULL is a no-op. */
void rpc_client_stream_close(struct rpc_client_stream *s);

/* The deadline for a call made while serving another one: configured_ms,
 * shortened to end RPC_DEADLINE_MARGIN_MS before the caller's own deadline
 * (remaining_ms: the served call's, struct rpc_origin; INT64_MAX = none), at least 1 ms.
 * So a slow dependency makes us answer in time instead of both timing out. */
#define RPC_DEADLINE_MARGIN_MS 50
int rpc_deadline_within(int configured_ms, int64_t remaining_ms);

/* grpc.health.v1.Health/Check of `service` ("" = whole server). Returns the
 * ServingStatus (1 = SERVING, 2 = NOT_SERVING) or -1 when the call failed. */
int rpc_health_check(struct rpc_channel *ch, const char *service, int deadline_ms);

/* ---- rich errors (google.rpc.Status) ------------------------------------ */

/* Serializes e as a google.rpc.Status with an ErrorInfo (reason = err_name,
 * domain) and, when e has violations, a BadRequest. Caller frees *out. */
void rich_error_encode(const struct app_error *e, const char *domain, uint8_t **out, size_t *len);
/* Parses a google.rpc.Status into e (code from ErrorInfo.reason, message,
 * violations). Returns 0 when it held an ErrorInfo with a known reason, -1
 * otherwise (e then holds whatever could be read). */
int rich_error_decode(const uint8_t *buf, size_t len, struct app_error *e);

#endif
