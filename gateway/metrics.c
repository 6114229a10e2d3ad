/* metrics.c - the gateway's Prometheus metrics: lock-free recording with C11
 * atomics, rendering in the text exposition format 0.0.4.
 *
 * Every counter is an atomic updated with relaxed ordering: a counter only
 * has to be exact in the end, not ordered with respect to other memory.
 * Durations are kept as integer nanoseconds so that bucket boundaries compare
 * exactly and the sum is an atomic integer; seconds are rendered from it. */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"
#include "util.h"

/* Finite bucket bounds in nanoseconds and their rendered `le` values; the
 * last bucket (index NBOUNDS) is +Inf. */
static const uint64_t bucket_bound_ns[] = {
	5000000ULL,   10000000ULL,   25000000ULL,   50000000ULL,   100000000ULL,   250000000ULL,
	500000000ULL, 1000000000ULL, 2500000000ULL, 5000000000ULL, 10000000000ULL,
};
#define NBOUNDS ARRAY_SIZE(bucket_bound_ns)
#define NBUCKETS (NBOUNDS + 1)
static const char *const bucket_le[NBUCKETS] = {
	"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
};

/* gRPC status codes 0..16 (grpc/status.h), named by rpc_status_name. */
#define NCODES (GRPC_STATUS_UNAUTHENTICATED + 1)
#define GRPC_CODE_UNKNOWN GRPC_STATUS_UNKNOWN

static const char *const limiter_names[] = { "general", "auth" };
#define NLIMITERS ARRAY_SIZE(limiter_names)

/* Longest duration kept (about 31 years): larger ones are clamped so that the
 * conversion to an integer is defined. */
#define MAX_SECONDS 1e9
#define NS_PER_S UINT64_C(1000000000)

/* Buckets are stored per bucket (not cumulative): one increment per
 * observation. The count is not kept apart: it is the sum of the buckets, so
 * a rendered _count always equals its +Inf bucket even during recording. */
struct histogram {
	atomic_uint_fast64_t buckets[NBUCKETS];
	atomic_uint_fast64_t sum_ns;
};

/* A status slot is free while status is 0; recorders claim it with CAS. */
struct status_slot {
	atomic_int status;
	atomic_uint_fast64_t count;
};

struct route_stats {
	char *method; /* copies of the caller's metrics_route */
	char *route;
	struct status_slot slots[METRICS_MAX_STATUSES];
	atomic_uint_fast64_t other;
	struct histogram latency;
};

struct service_stats {
	const char *name; /* owned by the caller */
	atomic_uint_fast64_t codes[NCODES];
	atomic_uint_fast64_t errors;
	struct histogram latency;
};

/* Allocated zeroed: an all-zero atomic is a valid zero on every platform gcc
 * supports with lock-free atomics, which is what this file relies on. */
struct metrics {
	struct route_stats *routes;
	size_t nroutes;
	struct service_stats *services;
	size_t nservices;
	atomic_int_fast64_t in_flight;
	atomic_uint_fast64_t rejected[NLIMITERS];
	atomic_int fallback;
	atomic_uint_fast64_t slow[2]; /* headers, body */
};

struct metrics *metrics_new(const struct metrics_config *cfg)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	m->nroutes = cfg->nroutes;
	m->routes = xcalloc(cfg->nroutes, sizeof(*m->routes));
	for (size_t i = 0; i < cfg->nroutes; i++) {
		m->routes[i].method = xstrdup(cfg->routes[i].method);
		m->routes[i].route = xstrdup(cfg->routes[i].route);
	}
	m->nservices = cfg->nservices;
	m->services = xcalloc(cfg->nservices, sizeof(*m->services));
	for (size_t i = 0; i < cfg->nservices; i++)
		m->services[i].name = cfg->services[i];
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nroutes; i++) {
		free(m->routes[i].method);
		free(m->routes[i].route);
	}
	free(m->routes);
	free(m->services);
	free(m);
}

/* ---- recording ------------------------------------------------------------ */

static void counter_add(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t counter_get(atomic_uint_fast64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Negative and NaN durations count as 0, huge ones are clamped. */
static uint64_t seconds_to_ns(double seconds)
{
	if (!(seconds > 0))
		return 0;
	if (seconds > MAX_SECONDS)
		seconds = MAX_SECONDS;
	return (uint64_t)(seconds * 1e9 + 0.5);
}

static void histogram_observe(struct histogram *h, double seconds)
{
	uint64_t ns = seconds_to_ns(seconds);
	size_t i = 0;

	while (i < NBOUNDS && ns > bucket_bound_ns[i])
		i++;
	counter_add(&h->buckets[i], 1);
	counter_add(&h->sum_ns, ns);
}

/* Finds the slot holding status or claims a free one; NULL when all
 * METRICS_MAX_STATUSES slots hold other statuses. Slots are claimed in order
 * and never released, so the first free slot ends the search. */
static struct status_slot *status_slot_get(struct route_stats *r, int status)
{
	for (size_t i = 0; i < METRICS_MAX_STATUSES; i++) {
		struct status_slot *s = &r->slots[i];
		int cur = atomic_load_explicit(&s->status, memory_order_relaxed);

		if (cur == 0) {
			int expected = 0;

			if (atomic_compare_exchange_strong_explicit(&s->status, &expected, status,
								    memory_order_relaxed,
								    memory_order_relaxed))
				return s;
			cur = expected; /* another thread claimed it first */
		}
		if (cur == status)
			return s;
	}
	return NULL;
}

void metrics_request_begin(struct metrics *m)
{
	atomic_fetch_add_explicit(&m->in_flight, 1, memory_order_relaxed);
}

/* The in-flight gauge goes down even for an unknown route: its begin was
 * counted. Statuses outside 100..999 are counted as "other". */
void metrics_request_end(struct metrics *m, size_t route, int status, double seconds)
{
	struct route_stats *r;
	struct status_slot *slot = NULL;

	atomic_fetch_sub_explicit(&m->in_flight, 1, memory_order_relaxed);
	if (route >= m->nroutes)
		return;
	r = &m->routes[route];
	if (status >= 100 && status <= 999)
		slot = status_slot_get(r, status);
	if (slot)
		counter_add(&slot->count, 1);
	else
		counter_add(&r->other, 1);
	histogram_observe(&r->latency, seconds);
}

void metrics_upstream(struct metrics *m, size_t service, int grpc_code, double seconds)
{
	struct service_stats *s;

	if (service >= m->nservices)
		return;
	s = &m->services[service];
	if (grpc_code < 0 || (size_t)grpc_code >= NCODES)
		grpc_code = GRPC_CODE_UNKNOWN;
	counter_add(&s->codes[grpc_code], 1);
	if (grpc_code != 0)
		counter_add(&s->errors, 1);
	histogram_observe(&s->latency, seconds);
}

void metrics_rate_limited(struct metrics *m, int limiter)
{
	if (limiter < 0 || (size_t)limiter >= NLIMITERS)
		return;
	counter_add(&m->rejected[limiter], 1);
}

void metrics_slow_client(struct metrics *m, bool body)
{
	counter_add(&m->slow[body ? 1 : 0], 1);
}

void metrics_rate_limit_fallback(struct metrics *m, bool active)
{
	atomic_store_explicit(&m->fallback, active ? 1 : 0, memory_order_relaxed);
}

/* ---- a growing text buffer ------------------------------------------------- */

struct sbuf {
	char *data;
	size_t len;
	size_t cap;
};

static void sbuf_reserve(struct sbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;

	if (need <= sb->cap)
		return;
	while (sb->cap < need)
		sb->cap = sb->cap ? sb->cap * 2 : 4096;
	sb->data = xrealloc(sb->data, sb->cap);
}

static void sbuf_putc(struct sbuf *sb, char c)
{
	sbuf_reserve(sb, 1);
	sb->data[sb->len++] = c;
	sb->data[sb->len] = '\0';
}

static void sbuf_puts(struct sbuf *sb, const char *s)
{
	size_t n = strlen(s);

	sbuf_reserve(sb, n);
	memcpy(sb->data + sb->len, s, n + 1);
	sb->len += n;
}

/* Formats into the free space; on a miss grows by what vsnprintf asked for
 * and formats again. */
static void __attribute__((format(printf, 2, 3))) sbuf_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	sbuf_reserve(sb, 0);
	va_start(ap, fmt);
	n = vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->data[sb->len] = '\0';
		return;
	}
	if ((size_t)n >= sb->cap - sb->len) {
		sbuf_reserve(sb, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
	}
	sb->len += (size_t)n;
}

/* Appends name="value" with the value escaped as the format requires:
 * backslash, double quote and line feed. */
static void sbuf_label(struct sbuf *sb, const char *name, const char *value)
{
	sbuf_puts(sb, name);
	sbuf_puts(sb, "=\"");
	for (const char *p = value ? value : ""; *p; p++) {
		if (*p == '\\')
			sbuf_puts(sb, "\\\\");
		else if (*p == '"')
			sbuf_puts(sb, "\\\"");
		else if (*p == '\n')
			sbuf_puts(sb, "\\n");
		else
			sbuf_putc(sb, *p);
	}
	sbuf_putc(sb, '"');
}

/* ---- rendering ----------------------------------------------------------------- */

static void render_header(struct sbuf *sb, const char *name, const char *type, const char *help)
{
	sbuf_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Nanoseconds as decimal seconds without rounding: "20.203", "0", "1.5". */
static void render_seconds(struct sbuf *sb, uint64_t ns)
{
	char frac[16];
	size_t n;

	n = (size_t)snprintf(frac, sizeof(frac), "%09" PRIu64, ns % NS_PER_S);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	sbuf_printf(sb, "%" PRIu64 "%s%s", ns / NS_PER_S, n ? "." : "", frac);
}

/* One histogram series; labels is the already escaped label text without
 * braces. Omitted while it has no observation. */
static void render_histogram(struct sbuf *sb, const char *name, const char *labels,
			     struct histogram *h)
{
	uint64_t counts[NBUCKETS];
	uint64_t cumulative = 0;

	for (size_t i = 0; i < NBUCKETS; i++) {
		counts[i] = counter_get(&h->buckets[i]);
		cumulative += counts[i];
	}
	if (cumulative == 0)
		return;
	cumulative = 0;
	for (size_t i = 0; i < NBUCKETS; i++) {
		cumulative += counts[i];
		sbuf_printf(sb, "%s_bucket{%s,le=\"%s\"} %" PRIu64 "\n", name, labels, bucket_le[i],
			    cumulative);
	}
	sbuf_printf(sb, "%s_sum{%s} ", name, labels);
	render_seconds(sb, counter_get(&h->sum_ns));
	sbuf_printf(sb, "\n%s_count{%s} %" PRIu64 "\n", name, labels, cumulative);
}

struct status_count {
	int status;
	uint64_t count;
};

static int status_count_cmp(const void *a, const void *b)
{
	const struct status_count *x = a, *y = b;

	return (x->status > y->status) - (x->status < y->status);
}

/* The route's non-zero status counters, by ascending status, then "other". */
static void render_route_statuses(struct sbuf *sb, struct route_stats *r, const char *labels)
{
	struct status_count sc[METRICS_MAX_STATUSES];
	size_t n = 0;
	uint64_t other;

	for (size_t i = 0; i < METRICS_MAX_STATUSES; i++) {
		int status = atomic_load_explicit(&r->slots[i].status, memory_order_relaxed);

		if (status == 0)
			break;
		sc[n].status = status;
		sc[n].count = counter_get(&r->slots[i].count);
		if (sc[n].count > 0)
			n++;
	}
	qsort(sc, n, sizeof(sc[0]), status_count_cmp);
	for (size_t i = 0; i < n; i++)
		sbuf_printf(sb, "http_requests_total{%s,status=\"%d\"} %" PRIu64 "\n", labels,
			    sc[i].status, sc[i].count);
	other = counter_get(&r->other);
	if (other > 0)
		sbuf_printf(sb, "http_requests_total{%s,status=\"other\"} %" PRIu64 "\n", labels,
			    other);
}

/* Both HTTP families; the escaped label text of each route is built once. */
static void render_http(struct sbuf *sb, struct metrics *m, struct sbuf *labels)
{
	render_header(sb, "http_requests_total", "counter",
		      "HTTP requests answered, by method, route template and status.");
	for (size_t i = 0; i < m->nroutes; i++) {
		labels->len = 0;
		sbuf_label(labels, "method", m->routes[i].method);
		sbuf_putc(labels, ',');
		sbuf_label(labels, "route", m->routes[i].route);
		render_route_statuses(sb, &m->routes[i], labels->data);
	}
	render_header(sb, "http_request_duration_seconds", "histogram",
		      "Time from a request's arrival to its response being queued.");
	for (size_t i = 0; i < m->nroutes; i++) {
		labels->len = 0;
		sbuf_label(labels, "method", m->routes[i].method);
		sbuf_putc(labels, ',');
		sbuf_label(labels, "route", m->routes[i].route);
		render_histogram(sb, "http_request_duration_seconds", labels->data,
				 &m->routes[i].latency);
	}
	render_header(sb, "http_requests_in_flight", "gauge",
		      "HTTP requests received and not yet answered.");
	sbuf_printf(sb, "http_requests_in_flight %" PRIdFAST64 "\n",
		    atomic_load_explicit(&m->in_flight, memory_order_relaxed));
}

/* The upstream families; codes never seen are not rendered, every service
 * has an errors sample. */
static void render_upstream(struct sbuf *sb, struct metrics *m, struct sbuf *labels)
{
	render_header(sb, "upstream_requests_total", "counter",
		      "gRPC calls to upstream services, by service and gRPC status code.");
	for (size_t i = 0; i < m->nservices; i++) {
		labels->len = 0;
		sbuf_label(labels, "service", m->services[i].name);
		for (size_t c = 0; c < NCODES; c++) {
			uint64_t n = counter_get(&m->services[i].codes[c]);

			if (n > 0)
				sbuf_printf(sb,
					    "upstream_requests_total{%s,code=\"%s\"} %" PRIu64 "\n",
					    labels->data, rpc_status_name((grpc_status_code)c), n);
		}
	}
	render_header(sb, "upstream_errors_total", "counter",
		      "gRPC calls to upstream services that ended with a status other than OK.");
	for (size_t i = 0; i < m->nservices; i++) {
		labels->len = 0;
		sbuf_label(labels, "service", m->services[i].name);
		sbuf_printf(sb, "upstream_errors_total{%s} %" PRIu64 "\n", labels->data,
			    counter_get(&m->services[i].errors));
	}
	render_header(sb, "upstream_request_duration_seconds", "histogram",
		      "Duration of gRPC calls to upstream services.");
	for (size_t i = 0; i < m->nservices; i++) {
		labels->len = 0;
		sbuf_label(labels, "service", m->services[i].name);
		render_histogram(sb, "upstream_request_duration_seconds", labels->data,
				 &m->services[i].latency);
	}
}

static void render_rate_limit(struct sbuf *sb, struct metrics *m)
{
	render_header(sb, "rate_limit_rejections_total", "counter",
		      "Requests rejected with 429 by a rate limiter.");
	for (size_t i = 0; i < NLIMITERS; i++)
		sbuf_printf(sb, "rate_limit_rejections_total{limiter=\"%s\"} %" PRIu64 "\n",
			    limiter_names[i], counter_get(&m->rejected[i]));
	render_header(sb, "rate_limit_fallback", "gauge",
		      "1 while rate limiting in-process because Redis is unreachable, else 0.");
	sbuf_printf(sb, "rate_limit_fallback %d\n",
		    atomic_load_explicit(&m->fallback, memory_order_relaxed));
	render_header(sb, "http_slow_clients_closed_total", "counter",
		      "Connections closed because a request head or body missed its deadline.");
	sbuf_printf(sb, "http_slow_clients_closed_total{phase=\"headers\"} %" PRIu64 "\n",
		    counter_get(&m->slow[0]));
	sbuf_printf(sb, "http_slow_clients_closed_total{phase=\"body\"} %" PRIu64 "\n",
		    counter_get(&m->slow[1]));
}

char *metrics_render(struct metrics *m, size_t *len)
{
	struct sbuf sb = { 0 }, labels = { 0 };

	sbuf_reserve(&sb, 0);
	sbuf_reserve(&labels, 0);
	render_http(&sb, m, &labels);
	render_upstream(&sb, m, &labels);
	render_rate_limit(&sb, m);
	free(labels.data);
	if (len)
		*len = sb.len;
	return sb.data;
}
