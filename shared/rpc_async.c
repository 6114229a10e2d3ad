/* rpc_async.c - unary calls that nobody waits for; see rpc.h.
 *
 * Every call of one struct rpc_async is started on its single "next"
 * completion queue with the call itself as the tag; the queue's threads
 * take each finished batch, read it exactly as rpc_call_unary does
 * (rpc_client.c's rpc__unary_* functions) and hand the result to the call's
 * callback. A count of calls in flight lets rpc_async_free wait for the
 * last one before it shuts the queue down. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>
#include <grpc/support/time.h>

#include "log.h"
#include "request_id.h"
#include "rpc.h"
#include "rpc_internal.h"
#include "trace.h"
#include "util.h"

struct rpc_async {
	grpc_completion_queue *cq;
	pthread_t *threads;
	int nthreads;
	pthread_mutex_t lock;
	pthread_cond_t idle; /* signalled when pending drops to 0 */
	int pending;         /* calls started whose callback has not returned */
};

struct async_call {
	struct rpc__unary u;
	struct rpc_async *a;
	struct rpc_channel *ch;
	char *method;
	const ProtobufCMessageDescriptor *reply_desc;
	int deadline_ms;
	const char *trailer_key;
	bool traced; /* a child of a span being served: logged as a hop */
	struct trace_ctx hop;
	char request_id[REQUEST_ID_MAX + 1];
	int64_t start_us;
	rpc_done_fn done;
	void *arg;
};

/* Hands res to the callback and frees c; the call no longer counts. */
static void deliver(struct async_call *c, struct rpc_result *res)
{
	struct rpc_async *a = c->a;

	res->status = c->u.status;
	res->seconds = (double)(mono_us() - c->start_us) / 1e6;
	if (c->traced)
		rpc__log_hop(c->ch, c->method, &c->hop, c->request_id[0] ? c->request_id : NULL,
			     c->u.status, c->start_us);
	c->done(c->arg, res);
	if (res->reply) /* the callback did not take it */
		protobuf_c_message_free_unpacked(res->reply, NULL);
	rpc__unary_release(&c->u);
	free(c->method);
	free(c);
	pthread_mutex_lock(&a->lock);
	if (--a->pending == 0)
		pthread_cond_broadcast(&a->idle);
	pthread_mutex_unlock(&a->lock);
}

static void complete(struct async_call *c)
{
	struct rpc_result res;

	if (rpc__unary_unseen(&c->u) && rpc__unary_resend(c->ch, &c->u, c->method, c->deadline_ms,
							  c->start_us, c->a->cq, c) == 0)
		return; /* it completes here again */
	memset(&res, 0, sizeof(res));
	app_error_init(&res.err);
	res.rc = rpc__unary_outcome(c->ch, &c->u, c->method, c->deadline_ms, c->reply_desc,
				    &res.reply, &res.err, c->trailer_key, res.trailer,
				    sizeof(res.trailer));
	deliver(c, &res);
}

static void *drain_main(void *arg)
{
	struct rpc_async *a = arg;

	for (;;) {
		grpc_event ev = grpc_completion_queue_next(a->cq,
							   gpr_inf_future(GPR_CLOCK_REALTIME),
							   NULL);

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			return NULL;
		if (ev.type == GRPC_OP_COMPLETE)
			complete(ev.tag);
	}
}

struct rpc_async *rpc_async_new(int threads)
{
	struct rpc_async *a = xcalloc(1, sizeof(*a));

	a->cq = grpc_completion_queue_create_for_next(NULL);
	a->threads = xcalloc((size_t)(threads > 0 ? threads : 1), sizeof(*a->threads));
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->idle, NULL);
	for (int i = 0; i < (threads > 0 ? threads : 1); i++) {
		if (pthread_create(&a->threads[a->nthreads], NULL, drain_main, a) != 0)
			break;
		a->nthreads++;
	}
	if (a->nthreads == 0) {
		log_fatal("rpc: cannot start a completion-queue thread");
		abort();
	}
	return a;
}

void rpc_async_free(struct rpc_async *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	while (a->pending > 0)
		pthread_cond_wait(&a->idle, &a->lock);
	pthread_mutex_unlock(&a->lock);
	grpc_completion_queue_shutdown(a->cq);
	for (int i = 0; i < a->nthreads; i++)
		pthread_join(a->threads[i], NULL);
	grpc_completion_queue_destroy(a->cq);
	pthread_cond_destroy(&a->idle);
	pthread_mutex_destroy(&a->lock);
	free(a->threads);
	free(a);
}

/* The x-request-id entry of md, if any. */
static const char *request_id_of(const struct rpc_metadata *md, size_t nmd)
{
	for (size_t i = 0; i < nmd; i++) {
		if (md[i].key && md[i].value && strcmp(md[i].key, "x-request-id") == 0)
			return md[i].value;
	}
	return NULL;
}

/* Whether md carries a traceparent of the caller's own. */
static bool has_traceparent(const struct rpc_metadata *md, size_t nmd)
{
	for (size_t i = 0; i < nmd; i++) {
		if (md[i].key && md[i].value && strcmp(md[i].key, "traceparent") == 0)
			return true;
	}
	return false;
}

void rpc_call_async(struct rpc_async *a, struct rpc_channel *ch, const char *method,
		    const ProtobufCMessage *request, const ProtobufCMessageDescriptor *reply_desc,
		    const struct rpc_metadata *md, size_t nmd, int deadline_ms,
		    const char *trailer_key, rpc_done_fn done, void *arg)
{
	struct async_call *c = xcalloc(1, sizeof(*c));
	const struct trace_ctx *parent = trace_current();
	const char *bad_key, *id = request_id_of(md, nmd);
	struct rpc_result res;

	c->a = a;
	c->ch = ch;
	c->method = xstrdup(method);
	c->reply_desc = reply_desc;
	c->deadline_ms = deadline_ms;
	c->trailer_key = trailer_key;
	c->done = done;
	c->arg = arg;
	c->start_us = mono_us();
	c->traced = parent && !has_traceparent(md, nmd);
	if (id)
		strlcpy_s(c->request_id, id, sizeof(c->request_id));
	trace_child(&c->hop, parent);
	bad_key = rpc__unary_init(&c->u, request, md, nmd, &c->hop);
	pthread_mutex_lock(&a->lock);
	a->pending++;
	pthread_mutex_unlock(&a->lock);
	if (!bad_key && rpc__unary_start(ch, &c->u, method, deadline_ms, a->cq, c) == 0)
		return;
	memset(&res, 0, sizeof(res));
	app_error_init(&res.err);
	res.rc = rpc__unary_refuse(&c->u, bad_key, &res.err);
	deliver(c, &res);
}
