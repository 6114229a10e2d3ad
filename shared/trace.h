/* trace.h - W3C Trace Context (traceparent, tracestate), shared by the
 * gateway (HTTP headers) and the gRPC runtime (metadata of the same names).
 *
 * Every process that handles a request opens a span of its own: a new span
 * id, the trace id of the traceparent it received (or a new trace when that
 * was missing or malformed), and the received parent-id as its parent. Every
 * outgoing call is a span of its own too (trace_child): a new span id whose
 * parent is the span that makes the call, sent as the call's traceparent.
 * So the log lines that carry traceId/spanId/parentSpanId form one tree:
 *   client -> gateway span -> gateway's call span -> posts span
 *          -> posts' call span -> users span
 *
 * The span a thread is serving is kept in a thread-local (trace_set_current)
 * so that rpc_call_unary can make the call a child of it without every layer
 * in between passing it along. */
#ifndef SHARED_TRACE_H
#define SHARED_TRACE_H

#include <stdbool.h>

#define TRACE_ID_HEX 32     /* trace-id: 16 bytes as lower-case hex */
#define TRACE_SPAN_HEX 16   /* parent-id / span id: 8 bytes as hex */
#define TRACE_PARENT_LEN 55 /* "00-" 32 "-" 16 "-" 2 */
#define TRACE_STATE_MAX 512 /* longest tracestate forwarded */
#define TRACE_STATE_MEMBERS 32
#define TRACE_FLAG_SAMPLED 0x01

struct trace_ctx {
	char trace_id[TRACE_ID_HEX + 1];
	char span_id[TRACE_SPAN_HEX + 1];
	char parent_id[TRACE_SPAN_HEX + 1]; /* "" when the trace started here */
	unsigned flags;                     /* only TRACE_FLAG_SAMPLED is kept */
	char state[TRACE_STATE_MAX + 1];    /* tracestate to forward; "" = none */
};

/* Parses a traceparent by the W3C rules: version 00 exactly 55 characters;
 * a higher version (not ff) at least 55, its first 55 read as version 00;
 * lower-case hex; neither id all zeros. True when valid; the outputs are
 * written only then (trace_id 33 bytes, parent_id 17, both NUL-terminated). */
bool trace_parse(const char *traceparent, char *trace_id, char *parent_id, unsigned *flags);

/* A tracestate worth forwarding: at most TRACE_STATE_MAX characters of
 * printable ASCII, at most TRACE_STATE_MEMBERS comma-separated members, each
 * empty or holding a '='. Anything else is dropped, as the spec allows. */
bool trace_state_valid(const char *tracestate);

/* This process's span for a request that arrived with these values (either
 * may be NULL): continues a valid traceparent (and then forwards a valid
 * tracestate), else starts a new trace (sampled, no tracestate). */
void trace_begin(struct trace_ctx *t, const char *traceparent, const char *tracestate);

/* The span of an outgoing call made by parent (NULL: a new trace). */
void trace_child(struct trace_ctx *child, const struct trace_ctx *parent);

/* "00-<trace-id>-<span-id>-<flags>" of t into out (TRACE_PARENT_LEN + 1 bytes). */
void trace_format(const struct trace_ctx *t, char *out);

/* The span this thread is serving (borrowed: the caller keeps t alive until
 * it sets NULL again), NULL when none. */
void trace_set_current(const struct trace_ctx *t);
const struct trace_ctx *trace_current(void);

#endif
