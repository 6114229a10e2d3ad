/* http_guard.c - see http_guard.h. */
#include "http_guard.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "envelope.h"
#include "log.h"
#include "request_id.h"
#include "util.h"

#define GUARD_TICK_MIN_MS 10
#define GUARD_TICK_MAX_MS 100
#define GUARD_LOG_EVERY_MS 1000    /* at most one log line a second for expired clients */
#define GUARD_MAX_URI 8192         /* request target, bytes */
#define GUARD_MAX_QUERY_PARAMS 100 /* query parameters */

/* One connection; lives from MHD's STARTED to its CLOSED notification. */
struct watch {
	struct watch *prev, *next;
	struct http_guard *g;
	int fd;
	enum http_guard_phase phase;
	int64_t deadline_ms; /* phases HEAD and BODY */
	bool request_line;   /* the current request's line has arrived */
	bool expired;        /* closed by the reaper */
};

struct http_guard {
	struct http_guard_config cfg;
	pthread_mutex_t lock; /* the list and every watch's fields */
	pthread_cond_t wake;  /* stop */
	pthread_t thread;
	struct watch head; /* sentinel of a circular list */
	bool stopping;
	int tick_ms;
	/* Reaper thread only: what to log next. */
	uint64_t expired_head, expired_body;
	int64_t last_log_ms;
};

static struct watch *watch_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* "%" followed by the two hex digits of hex2 (either case) in s[0..n). */
static bool has_escape(const char *s, size_t n, const char *hex2)
{
	for (size_t i = 0; i + 2 < n; i++)
		if (s[i] == '%' && strncasecmp(s + i + 1, hex2, 2) == 0)
			return true;
	return false;
}

/* MHD's decoded path and values end at the first NUL (so "/posts/1%00x"
 * would be served as "/posts/1"), and it turns "%2F" into a slash (so
 * "/posts%2f1" would match "/posts/1", while paths are matched exactly):
 * only the raw text shows them. */
enum err_code http_guard_check_uri(const char *uri)
{
	const char *q = strchr(uri, '?');
	size_t len = strlen(uri);
	size_t path_len = q ? (size_t)(q - uri) : len;
	size_t params = 0;

	if (q) {
		params = 1;
		for (const char *p = q + 1; *p; p++)
			if (*p == '&')
				params++;
	}
	if (len > GUARD_MAX_URI || params > GUARD_MAX_QUERY_PARAMS)
		return ERR_URI_TOO_LONG;
	if (has_escape(uri, len, "00"))
		return ERR_BAD_REQUEST;
	if (has_escape(uri, path_len, "2f"))
		return ERR_NOT_FOUND;
	return ERR_OK;
}

/* The status line's reason phrase for the codes replied to here. */
static const char *reason(int status)
{
	switch (status) {
	case 408:
		return "Request Timeout";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	default:
		return "Error";
	}
}

void http_guard_reply(int fd, enum err_code code, const char *message, const char *api_version,
		      const char *request_id)
{
	struct envelope_meta m = { .version = api_version, .request_id = request_id };
	struct app_error e;
	char head[256];
	char *body;
	size_t len;
	int n;

	app_error_init(&e);
	app_error_set(&e, code, message ? "%s" : NULL, message);
	body = envelope_error(&m, &e, &len);
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\nX-Request-Id: %s\r\n\r\n",
		     err_http_status(code), reason(err_http_status(code)), len, request_id);
	/* Best effort: a client that does not read gets what fits in the buffer. */
	if (n > 0 && (size_t)n < sizeof(head) &&
	    send(fd, head, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) == n)
		(void)send(fd, body, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	free(body);
	shutdown(fd, SHUT_RDWR);
}

/* Closes w (locked, past its deadline). */
static void expire(struct http_guard *g, struct watch *w)
{
	char id[REQUEST_ID_MAX + 1];

	w->expired = true;
	if (w->phase == HTTP_GUARD_BODY || w->request_line) {
		request_id_generate(id);
		http_guard_reply(w->fd, ERR_REQUEST_TIMEOUT, NULL, g->cfg.api_version, id);
	} else {
		shutdown(w->fd, SHUT_RDWR);
	}
	if (w->phase == HTTP_GUARD_HEAD)
		g->expired_head++;
	else
		g->expired_body++;
	if (g->cfg.on_expired)
		g->cfg.on_expired(g->cfg.app, w->phase == HTTP_GUARD_BODY);
}

static void log_expired(struct http_guard *g, int64_t now)
{
	if (g->expired_head + g->expired_body == 0 || now - g->last_log_ms < GUARD_LOG_EVERY_MS)
		return;
	log_warn("http: slow clients closed past their deadline",
		 LOG_I("headers", (int64_t)g->expired_head),
		 LOG_I("body", (int64_t)g->expired_body));
	g->expired_head = 0;
	g->expired_body = 0;
	g->last_log_ms = now;
}

static void *reaper(void *arg)
{
	struct http_guard *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->stopping) {
		struct timespec ts;
		int64_t now = mono_ms();

		for (struct watch *w = g->head.next; w != &g->head; w = w->next)
			if (!w->expired && w->phase != HTTP_GUARD_BUSY && now >= w->deadline_ms)
				expire(g, w);
		log_expired(g, now);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)g->tick_ms * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&g->wake, &g->lock, &ts);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

struct http_guard *http_guard_start(const struct http_guard_config *cfg)
{
	struct http_guard *g = xcalloc(1, sizeof(*g));
	int shortest = cfg->head_ms < cfg->body_ms ? cfg->head_ms : cfg->body_ms;

	g->cfg = *cfg;
	g->head.next = g->head.prev = &g->head;
	g->tick_ms = shortest / 10;
	if (g->tick_ms < GUARD_TICK_MIN_MS)
		g->tick_ms = GUARD_TICK_MIN_MS;
	if (g->tick_ms > GUARD_TICK_MAX_MS)
		g->tick_ms = GUARD_TICK_MAX_MS;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->wake, NULL);
	if (pthread_create(&g->thread, NULL, reaper, g) != 0) {
		log_error("http: cannot start the deadline thread", LOG_I("errno", errno));
		abort();
	}
	return g;
}

void http_guard_stop(struct http_guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stopping = true;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	/* MHD_stop_daemon sent CLOSED for every connection: the list is empty. */
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static void watch_add(struct http_guard *g, struct MHD_Connection *conn, void **socket_context)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct watch *w;

	if (!ci)
		return; /* not watched: MHD's idle timeout still applies */
	w = xcalloc(1, sizeof(*w));
	w->g = g;
	w->fd = ci->connect_fd;
	w->phase = HTTP_GUARD_HEAD;
	w->deadline_ms = mono_ms() + g->cfg.head_ms;
	pthread_mutex_lock(&g->lock);
	w->next = &g->head;
	w->prev = g->head.prev;
	g->head.prev->next = w;
	g->head.prev = w;
	pthread_mutex_unlock(&g->lock);
	*socket_context = w;
}

void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode code)
{
	struct http_guard *g = cls;
	struct watch *w = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		watch_add(g, conn, socket_context);
		return;
	}
	if (!w)
		return;
	pthread_mutex_lock(&g->lock);
	w->prev->next = w->next;
	w->next->prev = w->prev;
	pthread_mutex_unlock(&g->lock);
	*socket_context = NULL;
	free(w);
}

/* Sets w's phase (and its deadline, ms from now; ignored for BUSY). */
static void set_phase(struct watch *w, enum http_guard_phase phase, int ms, bool line)
{
	pthread_mutex_lock(&w->g->lock);
	w->phase = phase;
	w->deadline_ms = mono_ms() + ms;
	w->request_line = line;
	pthread_mutex_unlock(&w->g->lock);
}

void http_guard_request_line(struct MHD_Connection *conn)
{
	struct watch *w = watch_of(conn);

	if (!w)
		return;
	pthread_mutex_lock(&w->g->lock);
	w->request_line = true;
	pthread_mutex_unlock(&w->g->lock);
}

void http_guard_body(struct http_guard *g, struct MHD_Connection *conn)
{
	struct watch *w = watch_of(conn);

	if (w)
		set_phase(w, HTTP_GUARD_BODY, g->cfg.body_ms, true);
}

bool http_guard_busy(struct MHD_Connection *conn)
{
	struct watch *w = watch_of(conn);
	bool expired;

	if (!w)
		return true;
	pthread_mutex_lock(&w->g->lock);
	expired = w->expired;
	w->phase = HTTP_GUARD_BUSY;
	pthread_mutex_unlock(&w->g->lock);
	return !expired;
}

void http_guard_idle(struct http_guard *g, struct MHD_Connection *conn)
{
	struct watch *w = watch_of(conn);

	if (w)
		set_phase(w, HTTP_GUARD_HEAD, g->cfg.head_ms, false);
}

bool http_guard_expired(struct MHD_Connection *conn)
{
	struct watch *w = watch_of(conn);
	bool expired;

	if (!w)
		return false;
	pthread_mutex_lock(&w->g->lock);
	expired = w->expired;
	pthread_mutex_unlock(&w->g->lock);
	return expired;
}
