/* rpc_internal.h - what rpc_client.c, rpc_server.c and rpc_stream.c share;
 * not for use outside shared/rpc_*.c. */
#ifndef SHARED_RPC_INTERNAL_H
#define SHARED_RPC_INTERNAL_H

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "rpc.h"

struct trace_ctx;

#define RPC_STATUS_DETAILS_KEY "grpc-status-details-bin"

/* m packed into a new byte buffer; the caller destroys it. */
grpc_byte_buffer *rpc__encode_message(const ProtobufCMessage *m);
/* bb unpacked as a desc message (caller frees it with
 * protobuf_c_message_free_unpacked); NULL when it is not a valid one. */
ProtobufCMessage *rpc__decode_message(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc);

/* ---- the client side of one unary call (rpc_client.c) ---- */

struct rpc__unary {
	grpc_completion_queue *cq; /* the synchronous path's, from the channel's pool */
	grpc_call *call;           /* owns the received metadata's keys and values */
	grpc_metadata *md;         /* sent: copied keys and values */
	size_t nmd;
	grpc_byte_buffer *request;
	grpc_metadata_array initial_md;
	grpc_metadata_array trailing_md;
	grpc_byte_buffer *response;
	grpc_status_code status;
	grpc_slice details;
	const char *error_string; /* gpr_malloc'd by gRPC */
	bool resent;              /* rpc__unary_resend ran */
};

/* Prepares u: copies md (plus the trace context of hop) and encodes request.
 * Returns the key of the first entry gRPC cannot send, else NULL. */
const char *rpc__unary_init(struct rpc__unary *u, const ProtobufCMessage *request,
			    const struct rpc_metadata *md, size_t nmd, const struct trace_ctx *hop);
/* A finished call the server never saw, and not yet sent twice: refused by a
 * connection the server is closing (GOAWAY: its max connection age, or its
 * shutdown) before its stream was taken. gRPC sends such calls again only
 * through its retry filter, which the channels do without (rpc_client.c). */
bool rpc__unary_unseen(const struct rpc__unary *u);
/* Starts u once more, with what is left of deadline_ms since start_us (the
 * first attempt's answer dropped); -1 when no time is left or gRPC refused
 * it, u then finished with its first answer or INTERNAL. */
int rpc__unary_resend(struct rpc_channel *ch, struct rpc__unary *u, const char *method,
		      int deadline_ms, int64_t start_us, grpc_completion_queue *cq, void *tag);
/* Frees everything u holds but u->cq. */
void rpc__unary_release(struct rpc__unary *u);
/* Creates u's call on cq and starts its one batch with tag. -1 (logged,
 * u->status INTERNAL) when gRPC refused it. */
int rpc__unary_start(struct rpc_channel *ch, struct rpc__unary *u, const char *method,
		     int deadline_ms, grpc_completion_queue *cq, void *tag);
/* The call did not start: bad_key (from rpc__unary_init) is the caller's
 * fault (400), NULL gRPC's refusal (500). Sets u->status; returns -1. */
int rpc__unary_refuse(struct rpc__unary *u, const char *bad_key, struct app_error *err);
/* A completed batch: 0 and *reply, or -1 with err (rpc_call_unary's rules);
 * trailer key's value copied into value as rpc_call_unary_trailer does. */
int rpc__unary_outcome(struct rpc_channel *ch, struct rpc__unary *u, const char *method,
		       int deadline_ms, const ProtobufCMessageDescriptor *reply_desc,
		       ProtobufCMessage **reply, struct app_error *err, const char *key,
		       char *value, size_t cap);
/* The "rpc call" log line of a call made while serving a traced request. */
void rpc__log_hop(const struct rpc_channel *ch, const char *method, const struct trace_ctx *hop,
		  const char *request_id, grpc_status_code status, int64_t start_us);

/* One accepted call (unary or streaming). */
struct rpc_call {
	struct rpc_server *srv;
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array md; /* elements owned by call */
	struct arena *arena;
	const char *method;      /* in the arena */
	const char **values;     /* NUL-terminated copies of md values, in the arena */
	const char *request_id;  /* in the arena */
	struct trace_ctx *trace; /* this call's span (W3C traceparent), in the arena */
	const char *trailer_key; /* rpc_call_set_trailer: in the arena, or NULL */
	const char *trailer_value;
};

/* Copies the method, metadata values and request id into c->arena. */
void rpc__call_prepare(struct rpc_call *c);

/* The streaming calls of one server: each runs on a thread of its own. */
struct rpc__streams {
	pthread_mutex_t lock;
	pthread_cond_t idle;  /* signalled when active drops to 0 */
	int active;           /* stream threads running */
	atomic_bool stopping; /* the server is shutting down: handlers return */
	atomic_int *busy;     /* the server's count of calls in flight */
	const char *domain;   /* the logs' "service" */
};

void rpc__streams_init(struct rpc__streams *ss, atomic_int *busy, const char *domain);
/* Waits until no stream thread runs; then frees what init made. */
void rpc__streams_release(struct rpc__streams *ss);
/* Takes over c (its grpc call, details and metadata; c->arena is ignored)
 * and cq (bound to the call) and serves the call with m->stream on a new
 * thread. Whatever happens, c and cq belong to the stream afterwards. */
void rpc__stream_start(struct rpc__streams *ss, const struct rpc_call *c, grpc_completion_queue *cq,
		       const struct rpc_method *m, void *app);

#endif
