/* rpc_server.c - the gRPC server runtime: workers, dispatch, health, shutdown.
 *
 * Each worker thread owns a completion queue registered with the server and
 * serves one call at a time. Every unary method is registered with gRPC,
 * which reads its request message before announcing the call: per method,
 * each worker keeps one call requested on its queue ("slots"), runs the
 * handler when one arrives, starts sending the reply and goes back to its
 * queue at once. The send's completion comes back to the same queue later,
 * and only then is the call logged and released. A unary call thus costs
 * the worker one wake-up instead of three (request, message, send). Calls of
 * no registered method (health, reflection, streams, unknown paths) come
 * through one more slot per worker and are served the plain way, waiting on
 * a queue bound to that call alone.
 *
 * Two kinds of workers. The quick ones take every call of a method not
 * marked slow; their queues poll (the thread that reads a call from the
 * socket may serve it itself). Each slow method
 * (argon2, transactions, waits on other services) is registered with gRPC
 * and gets a lane of its own workers whose queues do not poll: a login
 * never holds up a cached read, and idle lanes take no part in polling.
 *
 * Stopping: rpc_server_run polls a signalfd for SIGTERM/SIGINT (blocked in
 * every thread by rpc_runtime_init) and an eventfd that rpc_server_stop
 * writes. A stop requested before run started is remembered by the eventfd,
 * and no signal is ever left pending for the thread afterwards. Shutdown
 * makes every worker's pending request complete with ok=false once its
 * current call is done; calls still running after the grace period are
 * cancelled. */
#include "rpc.h"

#include <errno.h>
#include <poll.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/support/alloc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "grpc/health/v1/health.pb-c.h"
#include "log.h"
#include "rpc_internal.h"
#include "request_id.h"
#include "trace.h"
#include "util.h"

#define RPC_FORCE_EXIT_MS 5000     /* after cancelling every call, the longest wait for gRPC */
#define RPC_TRIM_INTERVAL_MS 10000 /* how often free heap memory is given back */
#define RPC_SHUTDOWN_POLL_MS 50    /* how often shutdown looks whether calls are in flight */

/* A completion's tag points to a slot or a reply; the first member says which. */
enum tag_kind { TAG_SLOT, TAG_REPLY };

/* One call requested from gRPC on a worker's queue. */
struct rpc_slot {
	enum tag_kind kind; /* TAG_SLOT */
	struct rpc_worker *w;
	const struct rpc_method *m; /* a registered unary method, or NULL: any other call */
	void *registered;           /* gRPC's handle of m */
	grpc_byte_buffer *payload;  /* m's request message, read with the call */
	struct rpc_call c;
};

/* A reply being sent: what the send needs until it completes, and what the
 * call's log line says then. */
struct rpc_reply {
	enum tag_kind kind; /* TAG_REPLY */
	struct rpc_server *srv;
	grpc_call *call;
	grpc_byte_buffer *out;
	grpc_slice details;
	grpc_metadata trailer;
	bool has_trailer;
	int cancelled; /* the client never saw this outcome */
	bool ok;
	enum err_code code;
	int64_t start_us;
	char *method;
	char request_id[REQUEST_ID_MAX + 1];
	struct trace_ctx trace;
};

struct rpc_worker {
	struct rpc_server *srv;
	grpc_completion_queue *cq;      /* registered: calls are announced here, and the
					 * registered methods' replies complete here */
	grpc_completion_queue *call_cq; /* quick workers: bound to the current call of
					 * no registered method; a stream takes it along */
	pthread_t thread;
	struct arena arena;            /* the current call's; released after each call */
	const struct rpc_method *lane; /* a slow method's lane, or NULL: quick */
	struct rpc_slot *slots;
	size_t nslots;
	int sending; /* replies started on cq, not yet completed */
};

struct rpc_server {
	const struct rpc_method *methods; /* borrowed: outlives the server */
	size_t nmethods;
	char *domain;
	char **health_services; /* NULL-terminated copies */
	bool (*health_check)(void *ctx);
	bool (*service_check)(void *ctx);
	void *health_ctx;
	void *app;
	rpc_resolve_fn resolve;
	void *resolve_ctx;
	int shutdown_grace_ms;

	grpc_server *server;
	grpc_completion_queue *shutdown_cq; /* only for the shutdown notification */
	struct rpc_worker *workers;
	int nworkers;
	int port;
	int stop_fd;     /* eventfd written by rpc_server_stop */
	atomic_int busy; /* calls in flight: workers serving one, and streams */
	struct rpc__streams streams;
	void **registered;  /* gRPC's handle of each unary method, by index; NULL for streams */
	bool started;       /* rpc_server_run was entered */
	bool shut_down;     /* gRPC shutdown notified, workers joined */
	bool queues_closed; /* every queue shut down and drained */
};

/* ---- call accessors -------------------------------------------------------- */

struct arena *rpc_call_arena(struct rpc_call *call)
{
	return call->arena;
}

const char *rpc_call_method(const struct rpc_call *call)
{
	return call->method;
}

const char *rpc_call_metadata(const struct rpc_call *call, const char *key)
{
	for (size_t i = 0; i < call->md.count; i++) {
		if (grpc_slice_str_cmp(call->md.metadata[i].key, key) == 0)
			return call->values[i];
	}
	return NULL;
}

const char *rpc_call_request_id(const struct rpc_call *call)
{
	return call->request_id;
}

/* "ipv4:1.2.3.4:5", "ipv6:[::1]:5" or "ipv6:%5B::1%5D:5" -> the host part. */
static const char *peer_host(struct arena *a, const char *peer)
{
	const char *h = peer, *end;

	if (strncmp(h, "ipv4:", 5) == 0 || strncmp(h, "ipv6:", 5) == 0)
		h += 5;
	else
		return arena_strdup(a, peer);
	if (*h == '[' || strncmp(h, "%5B", 3) == 0) {
		h += *h == '[' ? 1 : 3;
		end = strstr(h, *(h - 1) == '[' ? "]" : "%5D");
	} else {
		end = strrchr(h, ':');
	}
	if (!end)
		end = h + strlen(h);
	return arena_strndup(a, h, (size_t)(end - h));
}

const char *rpc_call_peer_host(struct rpc_call *call)
{
	char *peer = grpc_call_get_peer(call->call);
	const char *host = peer && *peer ? peer_host(call->arena, peer) : "unknown";

	gpr_free(peer);
	return host;
}

void rpc_call_set_trailer(struct rpc_call *call, const char *key, const char *value)
{
	call->trailer_key = arena_strdup(call->arena, key);
	call->trailer_value = arena_strdup(call->arena, value);
}

void rpc_call_set_trailer_i64(struct rpc_call *call, const char *key, int64_t value)
{
	char v[24];

	snprintf(v, sizeof(v), "%lld", (long long)value);
	rpc_call_set_trailer(call, key, v);
}

/* Milliseconds left before the caller's deadline (INT64_MAX when none). */
static int64_t rpc_call_remaining_ms(const struct rpc_call *call)
{
	gpr_timespec deadline = call->details.deadline;
	gpr_timespec now, left;

	if (deadline.tv_sec == INT64_MAX)
		return INT64_MAX; /* gpr_inf_future: the caller set no deadline */
	now = gpr_now(deadline.clock_type);
	if (gpr_time_cmp(deadline, now) <= 0)
		return 0;
	left = gpr_time_sub(deadline, now);
	return left.tv_sec * 1000 + left.tv_nsec / 1000000;
}

/* The call's request id and time left (what calls made for it inherit). */
static struct rpc_origin rpc_call_origin(const struct rpc_call *call)
{
	return (struct rpc_origin){ .request_id = rpc_call_request_id(call),
				    .remaining_ms = rpc_call_remaining_ms(call) };
}

/* ---- per-call helpers ------------------------------------------------------ */

/* Copies what the accessors return into the call's arena, once per call. */
void rpc__call_prepare(struct rpc_call *c)
{
	struct arena *a = c->arena;
	const char *rid;
	char *gen;

	c->method = arena_strndup(a, (const char *)GRPC_SLICE_START_PTR(c->details.method),
				  GRPC_SLICE_LENGTH(c->details.method));
	c->values = arena_alloc(a, (c->md.count ? c->md.count : 1) * sizeof(*c->values));
	for (size_t i = 0; i < c->md.count; i++) {
		grpc_slice v = c->md.metadata[i].value;

		c->values[i] = arena_strndup(a, (const char *)GRPC_SLICE_START_PTR(v),
					     GRPC_SLICE_LENGTH(v));
	}
	c->trace = arena_alloc(a, sizeof(*c->trace));
	trace_begin(c->trace, rpc_call_metadata(c, "traceparent"),
		    rpc_call_metadata(c, "tracestate"));
	rid = rpc_call_metadata(c, "x-request-id");
	if (request_id_valid(rid)) {
		c->request_id = rid;
		return;
	}
	gen = arena_alloc(a, REQUEST_ID_GEN_LEN + 1);
	request_id_generate(gen);
	c->request_id = gen;
}

static bool cq_wait(grpc_completion_queue *cq)
{
	grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);

	return ev.type == GRPC_OP_COMPLETE && ev.success;
}

/* Receives the request message (NULL when the client sent none). */
static bool receive_request(struct rpc_call *c, grpc_completion_queue *cq,
			    grpc_byte_buffer **payload)
{
	grpc_op op;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = payload;
	if (grpc_call_start_batch(c->call, &op, 1, c, NULL) != GRPC_CALL_OK)
		return false;
	return cq_wait(cq);
}

/* One line per call, once its reply is out; metadata values other than the
 * request id and the trace context (traceparent) stay out. */
static void log_reply(const struct rpc_reply *r)
{
	struct log_field f[12];
	size_t n = 0;

	f[n++] = LOG_S("service", r->srv->domain);
	f[n++] = LOG_S("method", r->method);
	f[n++] = LOG_S("status",
		       rpc_status_name(r->ok ? GRPC_STATUS_OK : err_grpc_status(r->code)));
	if (!r->ok)
		f[n++] = LOG_S("code", err_name(r->code));
	f[n++] = LOG_D("duration", (double)(mono_us() - r->start_us) / 1000.0);
	f[n++] = LOG_S("requestId", r->request_id);
	f[n++] = LOG_S("traceId", r->trace.trace_id);
	f[n++] = LOG_S("spanId", r->trace.span_id);
	if (r->trace.parent_id[0])
		f[n++] = LOG_S("parentSpanId", r->trace.parent_id);
	if (r->cancelled)
		f[n++] = LOG_B("cancelled", true);
	f[n] = (struct log_field){ 0 };
	log_emit(LOG_INFO, "rpc", f);
}

/* The reply's batch completed (or never started): log the call, release it. */
static void reply_done(struct rpc_reply *r)
{
	log_reply(r);
	atomic_fetch_sub(&r->srv->busy, 1);
	grpc_call_unref(r->call);
	if (r->out)
		grpc_byte_buffer_destroy(r->out);
	grpc_slice_unref(r->details);
	if (r->has_trailer) {
		grpc_slice_unref(r->trailer.key);
		grpc_slice_unref(r->trailer.value);
	}
	free(r->method);
	free(r);
}

/* Starts sending initial metadata, the reply (when reply is not NULL) or
 * err's status with its rich error, and receiving the client's close; the
 * batch completes on the queue bound to c's call, with the returned reply as
 * its tag. Takes c's call. NULL when gRPC refused the batch (the reply is
 * then done: logged as cancelled and released). */
static struct rpc_reply *reply_start(struct rpc_call *c, const ProtobufCMessage *reply,
				     const struct app_error *err, int64_t start_us)
{
	struct rpc_reply *r = xcalloc(1, sizeof(*r));
	grpc_op ops[4];
	size_t n = 0;

	*r = (struct rpc_reply){ .kind = TAG_REPLY,
				 .srv = c->srv,
				 .call = c->call,
				 .details = grpc_empty_slice(),
				 .ok = reply != NULL,
				 .code = reply ? ERR_OK : err->code,
				 .start_us = start_us,
				 .method = xstrdup(c->method),
				 .trace = *c->trace };
	c->call = NULL;
	strlcpy_s(r->request_id, c->request_id, sizeof(r->request_id));
	memset(ops, 0, sizeof(ops));
	ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (reply) {
		r->out = rpc__encode_message(reply);
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n++].data.send_message.send_message = r->out;
		if (c->trailer_key) {
			r->trailer.key = grpc_slice_from_copied_string(c->trailer_key);
			r->trailer.value = grpc_slice_from_copied_string(c->trailer_value);
			r->has_trailer = true;
		}
	} else {
		uint8_t *buf;
		size_t len;

		rich_error_encode(err, c->srv->domain, &buf, &len);
		r->trailer.key = grpc_slice_from_static_string(RPC_STATUS_DETAILS_KEY);
		r->trailer.value = grpc_slice_new(buf, len, free);
		r->has_trailer = true;
		r->details = grpc_slice_from_copied_string(
			err->message[0] ? err->message : err_default_message(err->code));
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = reply ? GRPC_STATUS_OK
							   : err_grpc_status(err->code);
	ops[n].data.send_status_from_server.status_details = &r->details;
	ops[n].data.send_status_from_server.trailing_metadata_count = r->has_trailer ? 1 : 0;
	ops[n++].data.send_status_from_server.trailing_metadata = &r->trailer;
	ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[n++].data.recv_close_on_server.cancelled = &r->cancelled;
	if (grpc_call_start_batch(r->call, ops, n, r, NULL) != GRPC_CALL_OK) {
		r->cancelled = 1;
		reply_done(r);
		return NULL;
	}
	return r;
}

/* ---- dispatch -------------------------------------------------------------- */

#define RPC_HEALTH_CHECK_PATH "/grpc.health.v1.Health/Check"

static int health_check(void *app, struct rpc_ctx *cx)
{
	const Grpc__Health__V1__HealthCheckRequest *req = cx->req;
	Grpc__Health__V1__HealthCheckResponse *res;
	struct rpc_server *s = app;
	bool known = req->service[0] == '\0', serving;

	for (char **name = s->health_services; *name && !known; name++)
		known = strcmp(*name, req->service) == 0;
	if (!known)
		return app_error_set(cx->err, ERR_NOT_FOUND, "unknown service \"%s\"",
				     req->service);
	res = arena_alloc(cx->arena, sizeof(*res));
	grpc__health__v1__health_check_response__init(res);
	serving = !s->health_check || s->health_check(s->health_ctx);
	if (serving && req->service[0] && s->service_check)
		serving = s->service_check(s->health_ctx);
	res->status =
		serving ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
			: GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
	return rpc_reply(cx, &res->base);
}

static const struct rpc_method health_method = RPC_UNARY_NO_CALLER(
	RPC_HEALTH_CHECK_PATH, &grpc__health__v1__health_check_request__descriptor, health_check);

static const struct rpc_method *find_method(const struct rpc_server *s, const char *path)
{
	for (size_t i = 0; i < s->nmethods; i++) {
		if (strcmp(s->methods[i].path, path) == 0)
			return &s->methods[i];
	}
	return strcmp(path, RPC_HEALTH_CHECK_PATH) == 0 ? &health_method : NULL;
}

/* Decodes the request and runs the handler. 0 with *reply set, or -1 with
 * err set to a failure code (never ERR_OK). *request is the caller's to free. */
static int dispatch(struct rpc_call *c, grpc_byte_buffer *payload, ProtobufCMessage **request,
		    ProtobufCMessage **reply, struct app_error *err)
{
	const struct rpc_method *m = find_method(c->srv, c->method);
	void *app = m == &health_method ? (void *)c->srv : c->srv->app;
	struct rpc_ctx cx;

	if (!m || !m->handler)
		return app_error_set(err, ERR_NOT_IMPLEMENTED, "Method %s is not implemented",
				     c->method);
	if (!payload)
		return app_error_set(err, ERR_BAD_REQUEST, "Request message is missing");
	*request = rpc__decode_message(payload, m->request);
	if (!*request)
		return app_error_set(err, ERR_BAD_REQUEST, "Request message is not a valid %s",
				     m->request->name);
	if (rpc_call_remaining_ms(c) <= 0)
		return app_error_set(err, ERR_GATEWAY_TIMEOUT,
				     "Deadline expired before the call ran");
	cx = (struct rpc_ctx){ .call = c,
			       .arena = c->arena,
			       .origin = rpc_call_origin(c),
			       .req = *request,
			       .err = err };
	if (!m->no_caller && c->srv->resolve &&
	    c->srv->resolve(c->srv->resolve_ctx, c, &cx.caller, err) != 0)
		return -1;
	if (m->handler(app, &cx) != 0) {
		if (err->code == ERR_OK)
			app_error_set(err, ERR_INTERNAL_ERROR, NULL);
		return -1;
	}
	*reply = cx.reply;
	if (!*reply) {
		log_error("handler returned no reply", LOG_S("method", c->method));
		return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
	}
	return 0;
}

/* Runs c's handler and starts its reply. The request came with the call
 * (payload, a registered method's) or is received here first (a call of no
 * registered method: its queue is w->call_cq, waited on until the reply is
 * out, so that the worker's own queue only ever carries its slots and the
 * registered methods' replies). */
static void serve_call(struct rpc_worker *w, struct rpc_call *c, grpc_byte_buffer *payload,
		       bool registered)
{
	int64_t start_us = mono_us();
	ProtobufCMessage *request = NULL;
	ProtobufCMessage *reply = NULL;
	struct rpc_reply *r;
	struct app_error err;
	int rc;

	atomic_fetch_add(&w->srv->busy, 1); /* until reply_done */
	rpc__call_prepare(c);
	app_error_init(&err);
	trace_set_current(c->trace); /* calls the handler makes are its children */
	if (registered || receive_request(c, w->call_cq, &payload))
		rc = dispatch(c, payload, &request, &reply, &err);
	else
		rc = app_error_set(&err, ERR_BAD_REQUEST, "Request message could not be received");
	trace_set_current(NULL);
	r = reply_start(c, rc == 0 ? reply : NULL, &err, start_us);
	if (request)
		protobuf_c_message_free_unpacked(request, NULL);
	if (payload)
		grpc_byte_buffer_destroy(payload);
	if (!r)
		return;
	if (registered) {
		w->sending++;
		return;
	}
	cq_wait(w->call_cq);
	reply_done(r);
}

/* The streaming method c is for, or NULL for a unary or unknown one. */
static const struct rpc_method *stream_method(const struct rpc_server *s, const struct rpc_call *c)
{
	for (size_t i = 0; i < s->nmethods; i++) {
		if (s->methods[i].stream &&
		    grpc_slice_str_cmp(c->details.method, s->methods[i].path) == 0)
			return &s->methods[i];
	}
	return NULL;
}

/* Hands a streaming call and its queue to a thread of its own; the worker
 * binds its next call to a new queue. */
static void start_stream(struct rpc_worker *w, struct rpc_call *c, const struct rpc_method *m)
{
	rpc__stream_start(&w->srv->streams, c, w->call_cq, m, w->srv->app);
	w->call_cq = grpc_completion_queue_create_for_next(NULL);
	c->call = NULL; /* with details and metadata, the stream's now */
	grpc_call_details_init(&c->details);
	grpc_metadata_array_init(&c->md);
}

/* Asks gRPC for the slot's next call: its method's (whose path gRPC does not
 * repeat: it is set here), with the request message, or any call of no
 * registered method. */
static grpc_call_error request_call(struct rpc_slot *sl)
{
	struct rpc_worker *w = sl->w;
	struct rpc_call *c = &sl->c;

	memset(c, 0, sizeof(*c));
	c->srv = w->srv;
	c->arena = &w->arena;
	grpc_call_details_init(&c->details);
	grpc_metadata_array_init(&c->md);
	sl->payload = NULL;
	if (!sl->m)
		return grpc_server_request_call(w->srv->server, &c->call, &c->details, &c->md,
						w->call_cq, w->cq, sl);
	c->details.method = grpc_slice_from_static_string(sl->m->path);
	return grpc_server_request_registered_call(w->srv->server, sl->registered, &c->call,
						   &c->details.deadline, &c->md, &sl->payload,
						   w->cq, w->cq, sl);
}

/* What is left of a slot's call once it was served (or never came). */
static void slot_release(struct rpc_slot *sl)
{
	if (sl->c.call)
		grpc_call_unref(sl->c.call);
	if (sl->payload)
		grpc_byte_buffer_destroy(sl->payload);
	sl->payload = NULL;
	grpc_call_details_destroy(&sl->c.details);
	grpc_metadata_array_destroy(&sl->c.md);
	arena_release(&sl->w->arena);
}

/* A call arrived in sl: serve it. The payload is serve_call's to free. */
static void serve_slot(struct rpc_slot *sl)
{
	struct rpc_worker *w = sl->w;
	const struct rpc_method *sm = sl->m ? NULL : stream_method(w->srv, &sl->c);
	grpc_byte_buffer *payload = sl->payload;

	sl->payload = NULL;
	if (sm)
		start_stream(w, &sl->c, sm);
	else
		serve_call(w, &sl->c, payload, sl->m != NULL);
	slot_release(sl);
}

/* Serves the worker's slots until gRPC shuts down (every slot's request then
 * completes with ok=false) and every reply it started is out. */
static void *worker_main(void *arg)
{
	struct rpc_worker *w = arg;
	size_t live = 0;

	for (size_t i = 0; i < w->nslots; i++) {
		grpc_call_error ce = request_call(&w->slots[i]);

		if (ce == GRPC_CALL_OK)
			live++;
		else
			log_error("grpc_server_request_call failed",
				  LOG_S("error", grpc_call_error_to_string(ce)));
	}
	while (live > 0 || w->sending > 0) {
		grpc_event ev = grpc_completion_queue_next(w->cq,
							   gpr_inf_future(GPR_CLOCK_REALTIME),
							   NULL);
		struct rpc_slot *sl = ev.tag;
		grpc_call_error ce;

		if (ev.type != GRPC_OP_COMPLETE)
			break; /* the queue shut down: not before the workers are joined */
		if (sl->kind == TAG_REPLY) {
			struct rpc_reply *r = ev.tag;

			w->sending--;
			reply_done(r);
			continue;
		}
		if (!ev.success) { /* the server is shutting down */
			slot_release(sl);
			live--;
			continue;
		}
		serve_slot(sl);
		ce = request_call(sl);
		if (ce != GRPC_CALL_OK) {
			log_error("grpc_server_request_call failed",
				  LOG_S("error", grpc_call_error_to_string(ce)));
			slot_release(sl);
			live--;
		}
	}
	return NULL;
}

/* ---- lifecycle -------------------------------------------------------------- */

static char **copy_names(const char *const *names)
{
	size_t n = 0;
	char **out;

	while (names && names[n])
		n++;
	out = xcalloc(n + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(names[i]);
	return out;
}

static grpc_completion_queue *non_polling_queue(void)
{
	grpc_completion_queue_attributes attr = { GRPC_CQ_CURRENT_VERSION, GRPC_CQ_NEXT,
						  GRPC_CQ_NON_POLLING, NULL };

	return grpc_completion_queue_create(grpc_completion_queue_factory_lookup(&attr), &attr,
					    NULL);
}

/* Registers every unary method with gRPC, which then reads its request
 * message before announcing a call. */
static void register_methods(struct rpc_server *s)
{
	s->registered = xcalloc(s->nmethods ? s->nmethods : 1, sizeof(*s->registered));
	for (size_t m = 0; m < s->nmethods; m++) {
		if (s->methods[m].stream)
			continue;
		s->registered[m] = grpc_server_register_method(
			s->server, s->methods[m].path, NULL,
			GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
	}
}

static void add_slot(struct rpc_worker *w, const struct rpc_method *m, void *registered)
{
	struct rpc_slot *sl = &w->slots[w->nslots++];

	*sl = (struct rpc_slot){ .kind = TAG_SLOT, .w = w, .m = m, .registered = registered };
}

/* The quick workers first (a slot per quick unary method, and one for every
 * other call), then slow_workers per slow method (a slot for that method). */
static void create_workers(struct rpc_server *s, int quick, int slow_workers)
{
	int n = quick;

	register_methods(s);
	for (size_t m = 0; m < s->nmethods; m++)
		n += s->methods[m].slow ? slow_workers : 0;
	s->nworkers = n;
	s->workers = xcalloc((size_t)n, sizeof(*s->workers));
	n = quick;
	for (size_t m = 0; m < s->nmethods; m++) {
		for (int i = 0; s->methods[m].slow && i < slow_workers; i++, n++)
			s->workers[n].lane = &s->methods[m];
	}
	for (int i = 0; i < s->nworkers; i++) {
		struct rpc_worker *w = &s->workers[i];

		w->srv = s;
		arena_init(&w->arena);
		w->slots = xcalloc(s->nmethods + 1, sizeof(*w->slots));
		if (w->lane) {
			w->cq = non_polling_queue();
			add_slot(w, w->lane, s->registered[w->lane - s->methods]);
		} else {
			w->cq = grpc_completion_queue_create_for_next(NULL);
			w->call_cq = grpc_completion_queue_create_for_next(NULL);
			for (size_t m = 0; m < s->nmethods; m++) {
				if (s->registered[m] && !s->methods[m].slow)
					add_slot(w, &s->methods[m], s->registered[m]);
			}
			add_slot(w, NULL, NULL);
		}
		grpc_server_register_completion_queue(s->server, w->cq, NULL);
	}
}

/* Creates the gRPC server with one queue per worker plus the shutdown queue. */
static void create_grpc_server(struct rpc_server *s, int quick, int slow_workers, int max_age_ms)
{
	/* No SO_REUSEPORT: a second process on the same port must fail loudly.
	 * Clients (rpc_client.c) send keepalive pings every 30 s, idle or not.
	 * Connections are closed (gracefully, GOAWAY) after max_age_ms (a call
	 * the closing refuses is sent again by the client: rpc_client.c). */
	grpc_arg args[] = {
		{ .type = GRPC_ARG_INTEGER,
		  .key = (char *)GRPC_ARG_ALLOW_REUSEPORT,
		  .value.integer = 0 },
		{ .type = GRPC_ARG_INTEGER,
		  .key = (char *)GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
		  .value.integer = 10000 },
		{ .type = GRPC_ARG_INTEGER,
		  .key = (char *)GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
		  .value.integer = 1 },
		{ .type = GRPC_ARG_INTEGER,
		  .key = (char *)GRPC_ARG_MAX_CONNECTION_AGE_MS,
		  .value.integer = max_age_ms > 0 ? max_age_ms : 300000 },
		{ .type = GRPC_ARG_INTEGER,
		  .key = (char *)GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
		  .value.integer = 30000 },
	};
	grpc_channel_args cargs = { .num_args = ARRAY_SIZE(args), .args = args };

	s->server = grpc_server_create(&cargs, NULL);
	create_workers(s, quick, slow_workers);
	s->shutdown_cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(s->server, s->shutdown_cq, NULL);
}

struct rpc_server *rpc_server_new(const struct rpc_server_config *cfg,
				  const struct rpc_method *methods, size_t nmethods)
{
	struct rpc_server *s = xcalloc(1, sizeof(*s));
	grpc_server_credentials *creds;

	s->methods = methods;
	s->nmethods = nmethods;
	s->domain = xstrdup(cfg->domain ? cfg->domain : "");
	s->health_services = copy_names(cfg->health_services);
	s->health_check = cfg->health_check;
	s->service_check = cfg->service_check;
	s->health_ctx = cfg->health_ctx ? cfg->health_ctx : cfg->app;
	s->app = cfg->app;
	s->resolve = cfg->resolve;
	s->resolve_ctx = cfg->resolve_ctx;
	s->shutdown_grace_ms = cfg->shutdown_grace_ms > 0 ? cfg->shutdown_grace_ms : 0;
	rpc__streams_init(&s->streams, &s->busy, s->domain);
	create_grpc_server(s, cfg->workers > 0 ? cfg->workers : 8,
			   cfg->slow_workers > 0 ? cfg->slow_workers : 8,
			   cfg->max_connection_age_ms);
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0) {
		log_error("eventfd failed", LOG_S("error", strerror(errno)));
		rpc_server_free(s); /* nothing bound yet */
		return NULL;
	}

	creds = grpc_insecure_server_credentials_create();
	s->port = grpc_server_add_http2_port(s->server, cfg->listen_addr, creds);
	grpc_server_credentials_release(creds);
	if (s->port == 0) {
		/* gRPC has printed why (address in use, unresolvable...) on stderr. */
		log_error("cannot listen for gRPC", LOG_S("service", s->domain),
			  LOG_S("addr", cfg->listen_addr));
		rpc_server_free(s);
		return NULL;
	}
	return s;
}

int rpc_server_port(const struct rpc_server *s)
{
	return s->port;
}

void rpc_server_stop(struct rpc_server *s)
{
	uint64_t one = 1;

	/* Only fails when the counter would overflow: a stop is pending anyway. */
	if (write(s->stop_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("rpc_server_stop: write", LOG_S("error", strerror(errno)));
}

/* Blocks until SIGTERM/SIGINT or rpc_server_stop; returns what it was. */
static const char *wait_for_stop(struct rpc_server *s, int sfd)
{
	struct pollfd pfd[2] = { { .fd = sfd, .events = POLLIN },
				 { .fd = s->stop_fd, .events = POLLIN } };
	struct signalfd_siginfo si;

	for (;;) {
		int n = poll(pfd, 2, RPC_TRIM_INTERVAL_MS);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll failed, stopping", LOG_S("error", strerror(errno)));
			return "error";
		}
		if (n == 0) {
			/* Memory freed after a burst (call arenas, gRPC buffers) goes
			 * back to the system instead of staying in malloc's heaps. */
			malloc_trim(0);
			continue;
		}
		if (pfd[1].revents)
			return "stop requested";
		if (pfd[0].revents && read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			return si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";
	}
}

static gpr_timespec in_ms(int ms)
{
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

/* Waits for gRPC's shutdown notification while calls are in flight, at most
 * grace_ms; true when it came. gRPC also waits for every client connection
 * to close, which an idle client may never do: once no call has been in
 * flight for two polls in a row, waiting longer would only wait for them. */
static bool wait_for_calls(struct rpc_server *s, int grace_ms)
{
	int64_t deadline = mono_ms() + grace_ms;
	int idle_polls = 0;

	while (idle_polls < 2) {
		grpc_event ev = grpc_completion_queue_next(s->shutdown_cq,
							   in_ms(RPC_SHUTDOWN_POLL_MS), NULL);

		if (ev.type != GRPC_QUEUE_TIMEOUT)
			return true;
		idle_polls = atomic_load(&s->busy) == 0 ? idle_polls + 1 : 0;
		if (idle_polls == 0 && mono_ms() >= deadline) {
			log_warn("grace period over, cancelling in-flight calls",
				 LOG_S("service", s->domain), LOG_I("graceMs", grace_ms));
			return false;
		}
	}
	return false;
}

/* Shuts the gRPC server down: in-flight calls get grace_ms to finish, then
 * the rest is cancelled (which also drops idle connections); returns once
 * gRPC reports the shutdown complete. Should that not come RPC_FORCE_EXIT_MS
 * after the cancellation, the process exits 1 at once: a bounded stop
 * matters more than a tidy one, and every acknowledged write is already
 * committed. */
static void shutdown_grpc_server(struct rpc_server *s, int grace_ms)
{
	grpc_event ev;

	atomic_store(&s->streams.stopping, true); /* streams end, their clients reconnect */
	grpc_server_shutdown_and_notify(s->server, s->shutdown_cq, s);
	if (wait_for_calls(s, grace_ms))
		return;
	grpc_server_cancel_all_calls(s->server);
	ev = grpc_completion_queue_next(s->shutdown_cq, in_ms(RPC_FORCE_EXIT_MS), NULL);
	if (ev.type == GRPC_QUEUE_TIMEOUT) {
		log_error("gRPC shutdown did not complete after cancelling every call; exiting",
			  LOG_S("service", s->domain), LOG_I("waitedMs", RPC_FORCE_EXIT_MS));
		_exit(1);
	}
}

static void close_queue(grpc_completion_queue *cq)
{
	if (!cq)
		return;
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
}

/* Stops gRPC, joins the nstarted first workers and closes every queue. */
static void drain(struct rpc_server *s, int nstarted)
{
	shutdown_grpc_server(s, s->shutdown_grace_ms);
	for (int i = 0; i < nstarted; i++)
		pthread_join(s->workers[i].thread, NULL);
	s->shut_down = true;
	for (int i = 0; i < s->nworkers; i++) {
		close_queue(s->workers[i].cq);
		close_queue(s->workers[i].call_cq);
	}
	close_queue(s->shutdown_cq);
	s->queues_closed = true;
}

int rpc_server_run(struct rpc_server *s)
{
	const char *why = "worker start failed";
	int nstarted = 0;
	sigset_t set;
	int sfd;

	if (s->started) {
		log_error("rpc_server_run: the server already ran", LOG_S("service", s->domain));
		return -1;
	}
	s->started = true;
	/* Workers inherit this mask: only the signalfd below sees the signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		log_error("signalfd failed", LOG_S("error", strerror(errno)));
		return -1;
	}
	grpc_server_start(s->server);
	for (; nstarted < s->nworkers; nstarted++) {
		int err = pthread_create(&s->workers[nstarted].thread, NULL, worker_main,
					 &s->workers[nstarted]);

		if (err != 0) {
			log_error("cannot start gRPC worker", LOG_S("error", strerror(err)));
			break;
		}
	}
	if (nstarted == s->nworkers)
		why = wait_for_stop(s, sfd);
	close(sfd);
	log_info("shutting down", LOG_S("service", s->domain), LOG_S("reason", why),
		 LOG_I("graceMs", s->shutdown_grace_ms));
	drain(s, nstarted);
	return nstarted == s->nworkers ? 0 : -1;
}

void rpc_server_free(struct rpc_server *s)
{
	if (!s)
		return;
	if (s->server) {
		if (!s->shut_down && s->port != 0)
			shutdown_grpc_server(s, 0); /* never ran: nothing in flight */
		if (!s->queues_closed) {
			for (int i = 0; i < s->nworkers; i++) {
				close_queue(s->workers[i].cq);
				close_queue(s->workers[i].call_cq);
			}
			close_queue(s->shutdown_cq);
		}
		grpc_server_destroy(s->server);
	}
	for (int i = 0; i < s->nworkers; i++) {
		grpc_completion_queue_destroy(s->workers[i].cq);
		if (s->workers[i].call_cq)
			grpc_completion_queue_destroy(s->workers[i].call_cq);
		arena_release(&s->workers[i].arena);
		free(s->workers[i].slots);
	}
	rpc__streams_release(&s->streams);
	if (s->shutdown_cq)
		grpc_completion_queue_destroy(s->shutdown_cq);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	for (char **name = s->health_services; name && *name; name++)
		free(*name);
	free(s->health_services);
	free(s->registered);
	free(s->workers);
	free(s->domain);
	free(s);
}
