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

#define RPC_STATUS_DETAILS_KEY "grpc-status-details-bin"

/* m packed into a new byte buffer; the caller destroys it. */
grpc_byte_buffer *rpc__encode_message(const ProtobufCMessage *m);
/* bb unpacked as a desc message (caller frees it with
 * protobuf_c_message_free_unpacked); NULL when it is not a valid one. */
ProtobufCMessage *rpc__decode_message(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc);

/* One accepted call (unary or streaming). */
struct rpc_call {
	struct rpc_server *srv;
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array md; /* elements owned by call */
	struct arena *arena;
	const char *method;     /* in the arena */
	const char **values;    /* NUL-terminated copies of md values, in the arena */
	const char *request_id; /* in the arena */
	const char *trailer_key;   /* rpc_call_set_trailer: in the arena, or NULL */
	const char *trailer_value;
};

/* Copies the method, metadata values and request id into c->arena. */
void rpc__call_prepare(struct rpc_call *c);

/* The streaming calls of one server: each runs on a thread of its own. */
struct rpc__streams {
	pthread_mutex_t lock;
	pthread_cond_t idle;    /* signalled when active drops to 0 */
	int active;             /* stream threads running */
	atomic_bool stopping;   /* the server is shutting down: handlers return */
	atomic_int *busy;       /* the server's count of calls in flight */
	const char *domain;     /* the logs' "service" */
};

void rpc__streams_init(struct rpc__streams *ss, atomic_int *busy, const char *domain);
/* Waits until no stream thread runs; then frees what init made. */
void rpc__streams_release(struct rpc__streams *ss);
/* Takes over c (its grpc call, details and metadata; c->arena is ignored)
 * and cq (bound to the call) and serves the call with m->stream on a new
 * thread. Whatever happens, c and cq belong to the stream afterwards. */
void rpc__stream_start(struct rpc__streams *ss, const struct rpc_call *c,
		       grpc_completion_queue *cq, const struct rpc_method *m, void *app);

#endif
