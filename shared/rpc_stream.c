/* rpc_stream.c - the server side of streaming calls (see rpc.h).
 *
 * A worker that accepts a call for a streaming method hands it over with the
 * completion queue bound to it; the call then runs on a detached thread of
 * its own, so a long-lived stream never holds a worker. That thread is the
 * only user of the queue, and up to three operations are pending on it at
 * once, each with its own tag: the client's close (RECV_CLOSE_ON_SERVER,
 * pending from the start, it completes when the client cancels or the call
 * ends), a receive and a send. Every wait is cut into slices of
 * STREAM_SLICE_MS so that a stopping server is noticed. */
#include "rpc_internal.h"

#include <stdlib.h>
#include <string.h>

#include <grpc/support/time.h>

#include "log.h"
#include "trace.h"
#include "util.h"

#define STREAM_SLICE_MS 100
#define STREAM_FIRST_MESSAGE_MS 10000

struct rpc_stream {
	struct rpc_call call;
	struct arena arena;
	grpc_completion_queue *cq;
	const struct rpc_method *m;
	void *app;
	struct rpc__streams *ss;
	grpc_byte_buffer *recv_buf;
	int cancelled; /* from RECV_CLOSE_ON_SERVER */
	bool closed;   /* RECV_CLOSE_ON_SERVER completed: the call is over */
	bool recv_pending;
	bool recv_ok;
	bool recv_ended; /* the client half-closed or a receive failed */
	bool send_pending;
	bool send_ok;
	bool sent_initial;
	char tag_close, tag_recv, tag_send, tag_finish; /* addresses used as tags */
};

void rpc__streams_init(struct rpc__streams *ss, atomic_int *busy, const char *domain)
{
	memset(ss, 0, sizeof(*ss));
	pthread_mutex_init(&ss->lock, NULL);
	pthread_cond_init(&ss->idle, NULL);
	atomic_init(&ss->stopping, false);
	ss->busy = busy;
	ss->domain = domain;
}

void rpc__streams_release(struct rpc__streams *ss)
{
	atomic_store(&ss->stopping, true);
	pthread_mutex_lock(&ss->lock);
	while (ss->active > 0)
		pthread_cond_wait(&ss->idle, &ss->lock);
	pthread_mutex_unlock(&ss->lock);
	pthread_cond_destroy(&ss->idle);
	pthread_mutex_destroy(&ss->lock);
}

/* ---- waiting on the stream's queue ------------------------------------------ */

static gpr_timespec after_ms(int ms)
{
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

/* Records one completed operation. */
static void note_event(struct rpc_stream *st, const grpc_event *ev)
{
	if (ev->tag == &st->tag_close) {
		st->closed = true;
	} else if (ev->tag == &st->tag_recv) {
		st->recv_pending = false;
		st->recv_ok = ev->success;
	} else if (ev->tag == &st->tag_send) {
		st->send_pending = false;
		st->send_ok = ev->success;
	}
}

/* Waits at most ms for the next event; false on a timeout. */
static bool wait_event(struct rpc_stream *st, int ms, grpc_event *out)
{
	grpc_event ev = grpc_completion_queue_next(st->cq, after_ms(ms), NULL);

	if (ev.type != GRPC_OP_COMPLETE)
		return false;
	note_event(st, &ev);
	if (out)
		*out = ev;
	return true;
}

/* Takes whatever already completed, without blocking. */
static void poll_events(struct rpc_stream *st)
{
	while (wait_event(st, 0, NULL))
		;
}

/* Waits until *pending is false, at most timeout_ms (< 0: no bound but the
 * server stopping); true when it cleared. */
static bool wait_for(struct rpc_stream *st, const bool *pending, int timeout_ms)
{
	int64_t end = timeout_ms < 0 ? INT64_MAX : mono_ms() + timeout_ms;

	while (*pending) {
		int64_t left = end - mono_ms();

		if (left <= 0 || atomic_load(&st->ss->stopping))
			return false;
		wait_event(st, left < STREAM_SLICE_MS ? (int)left : STREAM_SLICE_MS, NULL);
	}
	return true;
}

/* ---- the handler's API --------------------------------------------------------- */

bool rpc_stream_done(struct rpc_stream *st)
{
	poll_events(st);
	return st->closed || atomic_load(&st->ss->stopping);
}

int rpc_stream_send(struct rpc_stream *st, const ProtobufCMessage *m)
{
	grpc_byte_buffer *bb;
	grpc_op ops[2];
	size_t n = 0;
	bool done;

	if (rpc_stream_done(st) || st->send_pending)
		return -1;
	bb = rpc__encode_message(m);
	memset(ops, 0, sizeof(ops));
	if (!st->sent_initial)
		ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[n].op = GRPC_OP_SEND_MESSAGE;
	ops[n++].data.send_message.send_message = bb;
	if (grpc_call_start_batch(st->call.call, ops, n, &st->tag_send, NULL) != GRPC_CALL_OK) {
		grpc_byte_buffer_destroy(bb);
		return -1;
	}
	st->sent_initial = true;
	st->send_pending = true;
	done = wait_for(st, &st->send_pending, RPC_STREAM_SEND_TIMEOUT_MS);
	if (!done) {
		/* Too slow a reader, or stopping: end the call; the send then completes. */
		grpc_call_cancel(st->call.call, NULL);
		wait_for(st, &st->send_pending, -1);
		while (st->send_pending)
			wait_event(st, STREAM_SLICE_MS, NULL);
	}
	grpc_byte_buffer_destroy(bb);
	return done && st->send_ok ? 0 : -1;
}

static bool start_recv(struct rpc_stream *st)
{
	grpc_op op;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &st->recv_buf;
	st->recv_buf = NULL;
	if (grpc_call_start_batch(st->call.call, &op, 1, &st->tag_recv, NULL) != GRPC_CALL_OK)
		return false;
	st->recv_pending = true;
	return true;
}

int rpc_stream_recv(struct rpc_stream *st, const ProtobufCMessageDescriptor *desc, int timeout_ms,
		    ProtobufCMessage **out)
{
	*out = NULL;
	if (st->recv_ended)
		return -1;
	if (!st->recv_pending && !start_recv(st)) {
		st->recv_ended = true;
		return -1;
	}
	if (!wait_for(st, &st->recv_pending, timeout_ms))
		return atomic_load(&st->ss->stopping) ? -1 : 0;
	if (!st->recv_ok || !st->recv_buf) {
		st->recv_ended = true; /* half-closed by the client, or gone */
		return -1;
	}
	*out = rpc__decode_message(st->recv_buf, desc);
	grpc_byte_buffer_destroy(st->recv_buf);
	st->recv_buf = NULL;
	if (!*out) {
		st->recv_ended = true;
		return -1;
	}
	return 1;
}

/* ---- one stream's thread ---------------------------------------------------------- */

/* Sends the final status (OK, or err's with its rich error) and waits for
 * the call to be over. */
static void finish_stream(struct rpc_stream *st, const struct app_error *err)
{
	grpc_slice details = grpc_empty_slice();
	grpc_metadata trailer;
	grpc_op ops[2];
	size_t n = 0;
	bool ok = err->code == ERR_OK;

	memset(ops, 0, sizeof(ops));
	memset(&trailer, 0, sizeof(trailer));
	if (!st->sent_initial)
		ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (!ok) {
		uint8_t *buf;
		size_t len;

		rich_error_encode(err, st->ss->domain, &buf, &len);
		trailer.key = grpc_slice_from_static_string(RPC_STATUS_DETAILS_KEY);
		trailer.value = grpc_slice_new(buf, len, free);
		details = grpc_slice_from_copied_string(
			err->message[0] ? err->message : err_default_message(err->code));
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = ok ? GRPC_STATUS_OK
							: err_grpc_status(err->code);
	ops[n].data.send_status_from_server.status_details = &details;
	ops[n].data.send_status_from_server.trailing_metadata_count = ok ? 0 : 1;
	ops[n++].data.send_status_from_server.trailing_metadata = &trailer;
	if (grpc_call_start_batch(st->call.call, ops, n, &st->tag_finish, NULL) != GRPC_CALL_OK)
		grpc_call_cancel(st->call.call, NULL);
	/* The close (pending from the start) completes last; a receive left
	 * pending by the handler completes when the call ends. */
	while (!st->closed || st->recv_pending || st->send_pending)
		wait_event(st, STREAM_SLICE_MS, NULL);
	grpc_slice_unref(details);
	if (!ok)
		grpc_slice_unref(trailer.value);
}

/* Receives the first request and runs the handler. */
static int run_handler(struct rpc_stream *st, ProtobufCMessage **request, struct app_error *err)
{
	/* Bounded: a client that opens a stream and never asks holds no thread. */
	int rc = rpc_stream_recv(st, st->m->request, STREAM_FIRST_MESSAGE_MS, request);

	if (rc != 1)
		return app_error_set(err, ERR_BAD_REQUEST,
				     "Request message is missing or not a valid %s",
				     st->m->request->name);
	if (st->m->stream(st->app, &st->call, *request, st, err) != 0) {
		if (err->code == ERR_OK)
			app_error_set(err, ERR_INTERNAL_ERROR, NULL);
		return -1;
	}
	app_error_init(err);
	return 0;
}

static void log_stream(const struct rpc_stream *st, const struct app_error *err, int64_t start_us)
{
	log_info("rpc stream ended", LOG_S("service", st->ss->domain),
		 LOG_S("method", st->call.method),
		 LOG_S("status", rpc_status_name(err_grpc_status(err->code))),
		 LOG_D("duration", (double)(mono_us() - start_us) / 1000.0),
		 LOG_S("requestId", st->call.request_id),
		 LOG_S("traceId", st->call.trace->trace_id),
		 LOG_S("spanId", st->call.trace->span_id), LOG_B("cancelled", st->cancelled != 0));
}

static void stream_free(struct rpc_stream *st)
{
	struct rpc__streams *ss = st->ss;

	if (st->recv_buf)
		grpc_byte_buffer_destroy(st->recv_buf);
	grpc_call_unref(st->call.call);
	grpc_call_details_destroy(&st->call.details);
	grpc_metadata_array_destroy(&st->call.md);
	grpc_completion_queue_shutdown(st->cq);
	while (grpc_completion_queue_next(st->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(st->cq);
	arena_release(&st->arena);
	free(st);
	atomic_fetch_sub(ss->busy, 1);
	pthread_mutex_lock(&ss->lock);
	if (--ss->active == 0)
		pthread_cond_broadcast(&ss->idle);
	pthread_mutex_unlock(&ss->lock);
}

static void *stream_main(void *arg)
{
	struct rpc_stream *st = arg;
	ProtobufCMessage *request = NULL;
	int64_t start_us = mono_us();
	struct app_error err;
	grpc_op op;

	app_error_init(&err);
	rpc__call_prepare(&st->call);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &st->cancelled;
	if (grpc_call_start_batch(st->call.call, &op, 1, &st->tag_close, NULL) != GRPC_CALL_OK)
		st->closed = true;
	if (atomic_load(&st->ss->stopping))
		app_error_set(&err, ERR_SERVICE_UNAVAILABLE, "The server is stopping");
	else
		run_handler(st, &request, &err);
	finish_stream(st, &err);
	log_stream(st, &err, start_us);
	if (request)
		protobuf_c_message_free_unpacked(request, NULL);
	stream_free(st);
	return NULL;
}

/* Refuses a call over the limit (or one no thread could be made for). */
static void refuse(struct rpc_stream *st, const char *why)
{
	struct app_error err;
	grpc_op op;

	app_error_init(&err);
	app_error_set(&err, ERR_SERVICE_UNAVAILABLE, "%s", why);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &st->cancelled;
	if (grpc_call_start_batch(st->call.call, &op, 1, &st->tag_close, NULL) != GRPC_CALL_OK)
		st->closed = true;
	finish_stream(st, &err);
	log_warn("stream refused", LOG_S("service", st->ss->domain), LOG_S("reason", why));
	stream_free(st);
}

void rpc__stream_start(struct rpc__streams *ss, const struct rpc_call *c, grpc_completion_queue *cq,
		       const struct rpc_method *m, void *app)
{
	struct rpc_stream *st = xcalloc(1, sizeof(*st));
	pthread_attr_t attr;
	pthread_t t;
	bool over;
	int rc;

	st->call = *c;
	arena_init(&st->arena);
	st->call.arena = &st->arena;
	st->cq = cq;
	st->m = m;
	st->app = app;
	st->ss = ss;
	atomic_fetch_add(ss->busy, 1);
	pthread_mutex_lock(&ss->lock);
	over = ss->active >= RPC_MAX_STREAMS;
	ss->active++;
	pthread_mutex_unlock(&ss->lock);
	if (over) {
		refuse(st, "Too many streams");
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, stream_main, st);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		refuse(st, "No thread for the stream");
}
