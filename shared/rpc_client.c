/* rpc_client.c - process-wide gRPC set-up and the synchronous unary client.
 *
 * A call is one batch of the six unary ops on a pluck completion queue. Those
 * queues are pooled per channel (taken for a call, given back after it), so
 * a steady stream of calls creates no queue and any thread may call. */
#include "rpc.h"

#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "grpc/health/v1/health.pb-c.h"
#include "log.h"
#include "rpc_internal.h"
#include "trace.h"
#include "util.h"

#define RPC_HEALTH_CHECK_PATH "/grpc.health.v1.Health/Check"

/* gRPC's locks are abseil Mutexes; Debian builds abseil with its debug-mode
 * deadlock detection on, which records a lock graph and stack traces on
 * every acquisition (GraphCycles::GetId and UpdateStackTrace were ~6 % of a
 * service's CPU under load, perf). It is a debugging aid: turned off here,
 * looked up by name so that an abseil without it (or another build's
 * inline namespace) simply keeps its default. */
static void quiet_abseil_deadlock_detection(void)
{
	static const char *const names[] = {
		"_ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE",
		"_ZN4absl29SetMutexDeadlockDetectionModeENS_15OnDeadlockCycleE",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		void (*set_mode)(int) = NULL;
		void *sym = dlsym(RTLD_DEFAULT, names[i]);

		if (!sym)
			continue;
		memcpy(&set_mode, &sym, sizeof(set_mode));
		set_mode(0); /* absl::OnDeadlockCycle::kIgnore */
		return;
	}
}

void rpc_runtime_init(void)
{
	struct sigaction sa;
	sigset_t set;

	/* Blocked here, before any thread exists, so every thread inherits the
	 * mask and only rpc_server_run's signalfd ever sees these signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	/* Retained memory: a fixed mmap threshold (glibc raises it after the
	 * first large free, after which the 19 MiB argon2id buffers of every
	 * login would stay in the heap) and a few malloc arenas rather than one
	 * per thread of gRPC's and the HTTP server's pools. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_ARENA_MAX, 4);
	quiet_abseil_deadlock_detection();
	grpc_init();
}

void rpc_runtime_shutdown(void)
{
	grpc_shutdown();
}

const char *rpc_status_name(grpc_status_code status)
{
	static const char *const names[] = {
		"OK",
		"CANCELLED",
		"UNKNOWN",
		"INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED",
		"NOT_FOUND",
		"ALREADY_EXISTS",
		"PERMISSION_DENIED",
		"RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION",
		"ABORTED",
		"OUT_OF_RANGE",
		"UNIMPLEMENTED",
		"INTERNAL",
		"UNAVAILABLE",
		"DATA_LOSS",
		"UNAUTHENTICATED",
	};

	if ((int)status < 0 || (size_t)status >= ARRAY_SIZE(names))
		return "UNKNOWN";
	return names[status];
}

/* ---- channel -------------------------------------------------------------- */

struct rpc_channel {
	grpc_channel *channel;
	char *target;
	pthread_mutex_t lock;         /* guards the idle queues */
	grpc_completion_queue **idle; /* pluck queues no call is using */
	size_t nidle;
	size_t cap;
};

struct rpc_channel *rpc_channel_new(const char *target)
{
	return rpc_channel_new_ex(target, false);
}

struct rpc_channel *rpc_channel_new_ex(const char *target, bool own_connections)
{
	/* Keepalive pings (also on idle connections) find a peer that vanished
	 * without a RST; rpc_server.c accepts pings this frequent. The backoff
	 * cap bounds how long a restarted service stays unused. */
	grpc_arg args[] = {
		{ .type = GRPC_ARG_STRING,
		  .key = (char *)GRPC_ARG_SERVICE_CONFIG,
		  .value.string = (char *)"{\"loadBalancingConfig\":[{\"round_robin\":{}}]}" },
		{ .type = GRPC_ARG_INTEGER,
		  .key = (char *)GRPC_ARG_KEEPALIVE_TIME_MS,
		  .value.integer = 30000 },
		{ .type = GRPC_ARG_INTEGER,
		  .key = (char *)GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
		  .value.integer = 10000 },
		{ .type = GRPC_ARG_INTEGER,
		  .key = (char *)GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
		  .value.integer = 1 },
		{ .type = GRPC_ARG_INTEGER,
		  .key = (char *)GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA,
		  .value.integer = 0 },
		{ .type = GRPC_ARG_INTEGER,
		  .key = (char *)GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
		  .value.integer = 5000 },
		/* A name that does not resolve yet (a container not created yet,
		 * compose) is asked again within a second, not after gRPC's 30 s. */
		{ .type = GRPC_ARG_INTEGER,
		  .key = (char *)GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS,
		  .value.integer = 1000 },
		/* No retry filter: no method has a retry policy, and the filter's
		 * per-call bookkeeping (copies of every batch, kept for a retry
		 * that never comes) cost the gateway 6-12 % of its CPU per
		 * GET /users/:id. What it would also retry transparently - a
		 * call refused before the server saw it (a connection the server
		 * closes at its max age, with gRPC's two-step GOAWAY, can still
		 * refuse the calls sent in the meantime) - is done here instead:
		 * rpc__unary_resend, once. */
		{ .type = GRPC_ARG_INTEGER,
		  .key = (char *)GRPC_ARG_ENABLE_RETRIES,
		  .value.integer = 0 },
		{ .type = GRPC_ARG_INTEGER,
		  .key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL,
		  .value.integer = 1 },
	};
	grpc_channel_args cargs = { .num_args = ARRAY_SIZE(args) - (own_connections ? 0 : 1),
				    .args = args };
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	struct rpc_channel *ch = xcalloc(1, sizeof(*ch));

	/* gRPC returns a "lame" channel (every call fails) rather than NULL. */
	ch->channel = grpc_channel_create(target, creds, &cargs);
	grpc_channel_credentials_release(creds);
	ch->target = xstrdup(target);
	pthread_mutex_init(&ch->lock, NULL);
	return ch;
}

void rpc_channel_free(struct rpc_channel *ch)
{
	if (!ch)
		return;
	grpc_channel_destroy(ch->channel);
	for (size_t i = 0; i < ch->nidle; i++) {
		grpc_completion_queue_shutdown(ch->idle[i]);
		grpc_completion_queue_destroy(ch->idle[i]);
	}
	free(ch->idle);
	pthread_mutex_destroy(&ch->lock);
	free(ch->target);
	free(ch);
}

static grpc_completion_queue *cq_take(struct rpc_channel *ch)
{
	grpc_completion_queue *cq = NULL;

	pthread_mutex_lock(&ch->lock);
	if (ch->nidle > 0)
		cq = ch->idle[--ch->nidle];
	pthread_mutex_unlock(&ch->lock);
	return cq ? cq : grpc_completion_queue_create_for_pluck(NULL);
}

/* Only for a queue with nothing pending (its batch was plucked). */
static void cq_give_back(struct rpc_channel *ch, grpc_completion_queue *cq)
{
	pthread_mutex_lock(&ch->lock);
	if (ch->nidle == ch->cap) {
		ch->cap = ch->cap ? ch->cap * 2 : 8;
		ch->idle = xrealloc(ch->idle, ch->cap * sizeof(*ch->idle));
	}
	ch->idle[ch->nidle++] = cq;
	pthread_mutex_unlock(&ch->lock);
}

/* ---- one unary call ------------------------------------------------------- */

/* Whether gRPC can carry this entry; it refuses the whole batch otherwise. */
static bool metadata_legal(const grpc_metadata *m)
{
	return grpc_header_key_is_legal(m->key) &&
	       (grpc_is_binary_header(m->key) || grpc_header_nonbin_value_is_legal(m->value));
}

/* The value of key in the caller's metadata, or NULL. */
static const char *md_value(const struct rpc_metadata *md, size_t nmd, const char *key)
{
	for (size_t i = 0; i < nmd; i++) {
		if (md[i].key && md[i].value && strcmp(md[i].key, key) == 0)
			return md[i].value;
	}
	return NULL;
}

/* The call's own span as traceparent (+ tracestate), unless the caller set
 * a traceparent itself. */
static void add_trace_metadata(struct rpc__unary *u, const struct trace_ctx *hop,
			       const struct rpc_metadata *md, size_t nmd)
{
	char tp[TRACE_PARENT_LEN + 1];

	if (md_value(md, nmd, "traceparent"))
		return;
	trace_format(hop, tp);
	u->md[u->nmd].key = grpc_slice_from_static_string("traceparent");
	u->md[u->nmd++].value = grpc_slice_from_copied_string(tp);
	if (hop->state[0]) {
		u->md[u->nmd].key = grpc_slice_from_static_string("tracestate");
		u->md[u->nmd++].value = grpc_slice_from_copied_string(hop->state);
	}
}

const char *rpc__unary_init(struct rpc__unary *u, const ProtobufCMessage *request,
			    const struct rpc_metadata *md, size_t nmd, const struct trace_ctx *hop)
{
	const char *bad = NULL;

	memset(u, 0, sizeof(*u));
	/* Copies: gRPC may hold metadata a little past our call's return. Two
	 * more entries for the trace context. */
	u->md = xcalloc(nmd + 2, sizeof(*u->md));
	for (size_t i = 0; i < nmd; i++) {
		if (!md[i].key || !md[i].value)
			continue;
		u->md[u->nmd].key = grpc_slice_from_copied_string(md[i].key);
		u->md[u->nmd].value = grpc_slice_from_copied_string(md[i].value);
		if (!bad && !metadata_legal(&u->md[u->nmd]))
			bad = md[i].key;
		u->nmd++;
	}
	add_trace_metadata(u, hop, md, nmd);
	u->request = rpc__encode_message(request);
	grpc_metadata_array_init(&u->initial_md);
	grpc_metadata_array_init(&u->trailing_md);
	u->status = GRPC_STATUS_UNKNOWN;
	u->details = grpc_empty_slice();
	return bad;
}

void rpc__unary_release(struct rpc__unary *u)
{
	for (size_t i = 0; i < u->nmd; i++) {
		grpc_slice_unref(u->md[i].key);
		grpc_slice_unref(u->md[i].value);
	}
	free(u->md);
	grpc_byte_buffer_destroy(u->request);
	if (u->response)
		grpc_byte_buffer_destroy(u->response);
	grpc_metadata_array_destroy(&u->initial_md);
	grpc_metadata_array_destroy(&u->trailing_md);
	grpc_slice_unref(u->details);
	gpr_free((void *)u->error_string);
	if (u->call)
		grpc_call_unref(u->call);
}

int rpc__unary_start(struct rpc_channel *ch, struct rpc__unary *u, const char *method,
		     int deadline_ms, grpc_completion_queue *cq, void *tag)
{
	grpc_slice path = grpc_slice_from_copied_string(method);
	gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
					     gpr_time_from_millis(deadline_ms > 0 ? deadline_ms : 1,
								  GPR_TIMESPAN));
	grpc_op ops[6];
	grpc_call_error ce;

	u->call = grpc_channel_create_call(ch->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, path,
					   NULL, deadline, NULL);
	grpc_slice_unref(path);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = u->nmd;
	ops[0].data.send_initial_metadata.metadata = u->md;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = u->request;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &u->initial_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &u->response;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &u->trailing_md;
	ops[5].data.recv_status_on_client.status = &u->status;
	ops[5].data.recv_status_on_client.status_details = &u->details;
	ops[5].data.recv_status_on_client.error_string = &u->error_string;

	ce = grpc_call_start_batch(u->call, ops, ARRAY_SIZE(ops), tag, NULL);
	if (ce != GRPC_CALL_OK) {
		log_error("grpc_call_start_batch failed", LOG_S("method", method),
			  LOG_S("error", grpc_call_error_to_string(ce)));
		u->status = GRPC_STATUS_INTERNAL;
		return -1;
	}
	return 0;
}

bool rpc__unary_unseen(const struct rpc__unary *u)
{
	static const char goaway[] = "GOAWAY received"; /* chttp2: a refused stream */
	size_t len = GRPC_SLICE_LENGTH(u->details);

	return u->status == GRPC_STATUS_UNAVAILABLE && !u->resent && len == sizeof(goaway) - 1 &&
	       memcmp(GRPC_SLICE_START_PTR(u->details), goaway, len) == 0;
}

int rpc__unary_resend(struct rpc_channel *ch, struct rpc__unary *u, const char *method,
		      int deadline_ms, int64_t start_us, grpc_completion_queue *cq, void *tag)
{
	int64_t left_ms = deadline_ms - (mono_us() - start_us) / 1000;

	if (left_ms <= 0)
		return -1;
	log_info("rpc call refused by a closing connection, sent again",
		 LOG_S("target", ch->target), LOG_S("method", method));
	u->resent = true;
	grpc_call_unref(u->call);
	u->call = NULL;
	if (u->response)
		grpc_byte_buffer_destroy(u->response);
	u->response = NULL;
	grpc_metadata_array_destroy(&u->initial_md);
	grpc_metadata_array_destroy(&u->trailing_md);
	grpc_metadata_array_init(&u->initial_md);
	grpc_metadata_array_init(&u->trailing_md);
	grpc_slice_unref(u->details);
	u->details = grpc_empty_slice();
	gpr_free((void *)u->error_string);
	u->error_string = NULL;
	u->status = GRPC_STATUS_UNKNOWN;
	return rpc__unary_start(ch, u, method, (int)left_ms, cq, tag);
}

static const grpc_slice *find_metadata(const grpc_metadata_array *a, const char *key)
{
	for (size_t i = 0; i < a->count; i++) {
		if (grpc_slice_str_cmp(a->metadata[i].key, key) == 0)
			return &a->metadata[i].value;
	}
	return NULL;
}

/* "agentos.users.v1.UsersService" out of "/agentos.users.v1.UsersService/GetUser":
 * sets *len and returns the start. */
static const char *service_of(const char *method, int *len)
{
	const char *s = method[0] == '/' ? method + 1 : method;
	const char *slash = strchr(s, '/');

	*len = slash ? (int)(slash - s) : (int)strlen(s);
	return s;
}

static int read_reply(struct rpc_channel *ch, struct rpc__unary *u, const char *method,
		      const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply,
		      struct app_error *err)
{
	if (u->response)
		*reply = rpc__decode_message(u->response, reply_desc);
	if (*reply)
		return 0;
	log_warn("rpc reply missing or undecodable", LOG_S("target", ch->target),
		 LOG_S("method", method), LOG_S("expected", reply_desc->name));
	return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
}

static void log_failure(struct rpc_channel *ch, struct rpc__unary *u, const char *method)
{
	char *details = grpc_slice_to_c_string(u->details);

	log_warn("rpc call failed", LOG_S("target", ch->target), LOG_S("method", method),
		 LOG_S("status", rpc_status_name(u->status)), LOG_S("details", details));
	gpr_free(details);
}

/* Fills err for a non-OK status: the rich error when the server sent one,
 * else a code derived from the status with a message a client can show. */
static int read_failure(struct rpc_channel *ch, struct rpc__unary *u, const char *method,
			int deadline_ms, struct app_error *err)
{
	const grpc_slice *bin = find_metadata(&u->trailing_md, RPC_STATUS_DETAILS_KEY);
	int svc_len;
	const char *svc = service_of(method, &svc_len);

	if (bin &&
	    rich_error_decode(GRPC_SLICE_START_PTR(*bin), GRPC_SLICE_LENGTH(*bin), err) == 0) {
		if (!err->message[0])
			app_error_set(err, err->code, NULL);
		return -1;
	}
	/* err may hold what a partial rich error carried (message, violations). */
	err->code = err_from_grpc_status(u->status, err->nviolations > 0);
	/* Unreachable or silent: the next call should not wait out gRPC's
	 * growing back-off (a DNS name that did not resolve when the channel
	 * first tried - compose creates containers in order - stayed
	 * unresolved for a minute and more); re-resolve and reconnect now. */
	if (u->status == GRPC_STATUS_UNAVAILABLE || u->status == GRPC_STATUS_DEADLINE_EXCEEDED)
		grpc_channel_reset_connect_backoff(ch->channel);
	if (u->status == GRPC_STATUS_UNAVAILABLE) {
		log_failure(ch, u, method);
		return app_error_set(err, err->code, "%.*s is unavailable", svc_len, svc);
	}
	if (u->status == GRPC_STATUS_DEADLINE_EXCEEDED) {
		log_failure(ch, u, method);
		return app_error_set(err, err->code, "%.*s did not answer within %d ms", svc_len,
				     svc, deadline_ms);
	}
	if (err->code == ERR_INTERNAL_ERROR) {
		/* gRPC's own text may describe internals: logged, not returned. */
		log_failure(ch, u, method);
		return app_error_set(err, err->code, NULL);
	}
	if (!err->message[0] && GRPC_SLICE_LENGTH(u->details) > 0) {
		return app_error_set(err, err->code, "%.*s", (int)GRPC_SLICE_LENGTH(u->details),
				     (const char *)GRPC_SLICE_START_PTR(u->details));
	}
	if (!err->message[0])
		app_error_set(err, err->code, NULL);
	return -1;
}

/* Copies the value of trailing metadata entry key into value ("" when absent). */
static void read_trailer(const struct rpc__unary *u, const char *key, char *value, size_t cap)
{
	const grpc_slice *v = key ? find_metadata(&u->trailing_md, key) : NULL;
	size_t len = v ? GRPC_SLICE_LENGTH(*v) : 0;

	if (!value || cap == 0)
		return;
	if (len >= cap)
		len = cap - 1;
	if (len)
		memcpy(value, GRPC_SLICE_START_PTR(*v), len);
	value[len] = '\0';
}

void rpc__log_hop(const struct rpc_channel *ch, const char *method, const struct trace_ctx *hop,
		  const char *request_id, grpc_status_code status, int64_t start_us)
{
	log_info("rpc call", LOG_S("target", ch->target), LOG_S("method", method),
		 LOG_S("status", rpc_status_name(status)),
		 LOG_D("duration", (double)(mono_us() - start_us) / 1000.0),
		 LOG_S("requestId", request_id), LOG_S("traceId", hop->trace_id),
		 LOG_S("spanId", hop->span_id), LOG_S("parentSpanId", hop->parent_id));
}

int rpc__unary_outcome(struct rpc_channel *ch, struct rpc__unary *u, const char *method,
		       int deadline_ms, const ProtobufCMessageDescriptor *reply_desc,
		       ProtobufCMessage **reply, struct app_error *err, const char *key,
		       char *value, size_t cap)
{
	int rc;

	if (u->status != GRPC_STATUS_OK)
		return read_failure(ch, u, method, deadline_ms, err);
	rc = read_reply(ch, u, method, reply_desc, reply, err);
	read_trailer(u, key, value, cap);
	return rc;
}

int rpc__unary_refuse(struct rpc__unary *u, const char *bad_key, struct app_error *err)
{
	if (!bad_key) {
		u->status = GRPC_STATUS_INTERNAL;
		return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
	}
	/* e.g. a forwarded header with control characters: the caller's fault */
	u->status = GRPC_STATUS_INVALID_ARGUMENT;
	return app_error_set(err, ERR_BAD_REQUEST, "Header %s has characters that cannot be sent",
			     bad_key);
}

static int call_unary(struct rpc_channel *ch, const char *method, const ProtobufCMessage *request,
		      const ProtobufCMessageDescriptor *reply_desc, const struct rpc_metadata *md,
		      size_t nmd, int deadline_ms, ProtobufCMessage **reply, struct app_error *err,
		      grpc_status_code *status, const char *key, char *value, size_t cap)
{
	const struct trace_ctx *parent = trace_current();
	int64_t start_us = mono_us();
	struct rpc__unary u;
	struct trace_ctx hop;
	const char *bad_key;
	int rc;

	*reply = NULL;
	app_error_init(err);
	trace_child(&hop, parent);
	bad_key = rpc__unary_init(&u, request, md, nmd, &hop);
	u.cq = cq_take(ch);
	if (bad_key || rpc__unary_start(ch, &u, method, deadline_ms, u.cq, &u) != 0) {
		rc = rpc__unary_refuse(&u, bad_key, err);
	} else {
		/* The call's deadline bounds each wait. */
		grpc_completion_queue_pluck(u.cq, &u, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (rpc__unary_unseen(&u) &&
		    rpc__unary_resend(ch, &u, method, deadline_ms, start_us, u.cq, &u) == 0)
			grpc_completion_queue_pluck(u.cq, &u, gpr_inf_future(GPR_CLOCK_REALTIME),
						    NULL);
		rc = rpc__unary_outcome(ch, &u, method, deadline_ms, reply_desc, reply, err, key,
					value, cap);
	}
	if (status)
		*status = u.status;
	if (parent && !md_value(md, nmd, "traceparent"))
		rpc__log_hop(ch, method, &hop, md_value(md, nmd, "x-request-id"), u.status,
			     start_us);
	rpc__unary_release(&u);
	cq_give_back(ch, u.cq);
	return rc;
}

int rpc_call_unary(struct rpc_channel *ch, const char *method, const ProtobufCMessage *request,
		   const ProtobufCMessageDescriptor *reply_desc, const struct rpc_metadata *md,
		   size_t nmd, int deadline_ms, ProtobufCMessage **reply, struct app_error *err,
		   grpc_status_code *status)
{
	return call_unary(ch, method, request, reply_desc, md, nmd, deadline_ms, reply, err, status,
			  NULL, NULL, 0);
}

int rpc_call_unary_trailer(struct rpc_channel *ch, const char *method,
			   const ProtobufCMessage *request,
			   const ProtobufCMessageDescriptor *reply_desc,
			   const struct rpc_metadata *md, size_t nmd, int deadline_ms,
			   ProtobufCMessage **reply, struct app_error *err,
			   grpc_status_code *status, const char *key, char *value, size_t cap)
{
	if (value && cap)
		value[0] = '\0';
	return call_unary(ch, method, request, reply_desc, md, nmd, deadline_ms, reply, err, status,
			  key, value, cap);
}

/* ---- server-streaming calls ------------------------------------------------ */

struct rpc_client_stream {
	struct rpc__unary u; /* request, metadata, final status; u.cq is the stream's own */
	struct rpc_channel *ch;
	char *method;
	bool recv_pending;
	bool status_done; /* RECV_STATUS_ON_CLIENT completed */
	bool ended;       /* -1 was returned: it stays so */
	struct app_error end;
	char tag_start, tag_recv, tag_status; /* addresses used as tags */
};

struct rpc_client_stream *rpc_client_stream_open(struct rpc_channel *ch, const char *method,
						 const ProtobufCMessage *request,
						 const struct rpc_metadata *md, size_t nmd)
{
	struct rpc_client_stream *s = xcalloc(1, sizeof(*s));
	grpc_slice path = grpc_slice_from_copied_string(method);
	grpc_op ops[4], st;
	struct trace_ctx hop;

	s->ch = ch;
	s->method = xstrdup(method);
	app_error_init(&s->end);
	trace_child(&hop, trace_current());
	rpc__unary_init(&s->u, request, md, nmd, &hop);
	s->u.cq = grpc_completion_queue_create_for_next(NULL);
	s->u.call = grpc_channel_create_call(ch->channel, NULL, GRPC_PROPAGATE_DEFAULTS, s->u.cq,
					     path, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	grpc_slice_unref(path);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = s->u.nmd;
	ops[0].data.send_initial_metadata.metadata = s->u.md;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = s->u.request;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->u.initial_md;
	memset(&st, 0, sizeof(st));
	st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	st.data.recv_status_on_client.trailing_metadata = &s->u.trailing_md;
	st.data.recv_status_on_client.status = &s->u.status;
	st.data.recv_status_on_client.status_details = &s->u.details;
	st.data.recv_status_on_client.error_string = &s->u.error_string;
	if (grpc_call_start_batch(s->u.call, ops, ARRAY_SIZE(ops), &s->tag_start, NULL) !=
		    GRPC_CALL_OK ||
	    grpc_call_start_batch(s->u.call, &st, 1, &s->tag_status, NULL) != GRPC_CALL_OK) {
		grpc_call_cancel(s->u.call, NULL);
		s->status_done = true; /* nothing of ours is pending that we wait for */
		s->ended = true;
		app_error_set(&s->end, ERR_INTERNAL_ERROR, "The stream could not be started");
	}
	return s;
}

/* Waits at most ms for one event and records it; false on a timeout. */
static bool stream_event(struct rpc_client_stream *s, int ms, grpc_event *out)
{
	gpr_timespec until = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
					  gpr_time_from_millis(ms, GPR_TIMESPAN));
	grpc_event ev = grpc_completion_queue_next(s->u.cq, until, NULL);

	if (ev.type != GRPC_OP_COMPLETE)
		return false;
	if (ev.tag == &s->tag_recv)
		s->recv_pending = false;
	else if (ev.tag == &s->tag_status)
		s->status_done = true;
	*out = ev;
	return true;
}

/* The stream is over: waits for its status and turns it into s->end. */
static int stream_end(struct rpc_client_stream *s, struct app_error *err)
{
	grpc_event ev;

	if (!s->ended) {
		s->ended = true;
		grpc_call_cancel(s->u.call, NULL); /* no-op once the status is in */
		while (!s->status_done || s->recv_pending)
			stream_event(s, 1000, &ev);
		if (s->u.status == GRPC_STATUS_OK)
			app_error_set(&s->end, ERR_SERVICE_UNAVAILABLE,
				      "The stream was ended by the server");
		else if (s->end.code == ERR_OK)
			read_failure(s->ch, &s->u, s->method, 0, &s->end);
	}
	*err = s->end;
	return -1;
}

int rpc_client_stream_next(struct rpc_client_stream *s, const ProtobufCMessageDescriptor *desc,
			   int timeout_ms, ProtobufCMessage **out, struct app_error *err)
{
	int64_t end = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	grpc_op op;

	*out = NULL;
	app_error_init(err);
	if (s->ended)
		return stream_end(s, err);
	if (!s->recv_pending) {
		memset(&op, 0, sizeof(op));
		op.op = GRPC_OP_RECV_MESSAGE;
		op.data.recv_message.recv_message = &s->u.response;
		if (grpc_call_start_batch(s->u.call, &op, 1, &s->tag_recv, NULL) != GRPC_CALL_OK)
			return stream_end(s, err);
		s->recv_pending = true;
	}
	for (;;) {
		int64_t left = end - mono_ms();
		grpc_event ev;

		if (!stream_event(s, left > 0 ? (int)left : 0, &ev))
			return 0;
		if (ev.tag != &s->tag_recv)
			continue; /* the start batch, or the status: the receive ends too */
		if (!s->u.response)
			return stream_end(s, err);
		*out = rpc__decode_message(s->u.response, desc);
		grpc_byte_buffer_destroy(s->u.response);
		s->u.response = NULL;
		if (*out)
			return 1;
		app_error_set(&s->end, ERR_INTERNAL_ERROR, "A stream message was not a valid %s",
			      desc->name);
		return stream_end(s, err);
	}
}

void rpc_client_stream_close(struct rpc_client_stream *s)
{
	struct app_error err;

	if (!s)
		return;
	if (!s->ended)
		stream_end(s, &err);
	grpc_completion_queue_shutdown(s->u.cq);
	while (grpc_completion_queue_next(s->u.cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(s->u.cq);
	rpc__unary_release(&s->u);
	free(s->method);
	free(s);
}

int rpc_health_check(struct rpc_channel *ch, const char *service, int deadline_ms)
{
	Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	Grpc__Health__V1__HealthCheckResponse *res;
	ProtobufCMessage *reply;
	struct app_error err;
	int rc;

	req.service = (char *)(service ? service : "");
	if (rpc_call_unary(ch, RPC_HEALTH_CHECK_PATH, &req.base,
			   &grpc__health__v1__health_check_response__descriptor, NULL, 0,
			   deadline_ms, &reply, &err, NULL) != 0)
		return -1;
	res = (Grpc__Health__V1__HealthCheckResponse *)reply;
	rc = (int)res->status;
	protobuf_c_message_free_unpacked(reply, NULL);
	return rc;
}

int rpc_deadline_within(int configured_ms, int64_t remaining_ms)
{
	int64_t left;

	if (remaining_ms == INT64_MAX)
		return configured_ms;
	left = remaining_ms - RPC_DEADLINE_MARGIN_MS;
	if (left < 1)
		return 1;
	return left < configured_ms ? (int)left : configured_ms;
}
