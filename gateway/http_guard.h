/* http_guard.h - what guards the HTTP layer against hostile clients
 * (internal to http.c): deadlines for slow clients, checks of the raw
 * request target, and replies written straight to a socket when
 * libmicrohttpd cannot send one itself.
 *
 * A connection has HTTP_HEADER_TIMEOUT_MS from the moment it is ready for a
 * request (accepted, or the previous response sent) until its request head
 * is complete, and HTTP_BODY_TIMEOUT_MS from then until its body is complete.
 * Both are deadlines, not idle timeouts: a client trickling one byte at a time
 * gains nothing. Past one, the connection is closed; when a request line had
 * arrived (or the body phase had started) it first gets a 408 envelope.
 *
 * Why a reaper thread of our own: libmicrohttpd 0.9.75 only has an idle
 * timeout (MHD_OPTION_CONNECTION_TIMEOUT, restarted by every byte), and its
 * per-connection timeout and suspend can only be set from the access handler,
 * which runs after the whole head is parsed: nothing in MHD bounds the time a
 * head may take. So MHD_OPTION_NOTIFY_CONNECTION registers each connection
 * here, http.c marks the phase changes, and one thread closes connections
 * past their deadline with shutdown(2): MHD then sees the end of the stream
 * on its own thread and cleans up as usual. The registry lock is held from the
 * moment a connection is picked until its socket is shut down, and MHD calls
 * the CLOSED notification (which takes the lock) before it closes the
 * descriptor: the reaper never touches a descriptor that was reused. It only
 * writes while MHD is reading (head or body phase), so the two never
 * interleave bytes on one socket. */
#ifndef GATEWAY_HTTP_GUARD_H
#define GATEWAY_HTTP_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include <microhttpd.h>

#include "err.h"

enum http_guard_phase {
	HTTP_GUARD_HEAD, /* waiting for a complete request head */
	HTTP_GUARD_BODY, /* head in, reading the body */
	HTTP_GUARD_BUSY  /* request complete: handling or answering, no deadline */
};

struct http_guard_config {
	int head_ms;             /* HTTP_HEADER_TIMEOUT_MS (> 0) */
	int body_ms;             /* HTTP_BODY_TIMEOUT_MS (> 0) */
	const char *api_version; /* for the 408 envelope; must outlive the guard */
	/* Optional: one connection closed past its head (body false) or body
	 * (body true) deadline; called from the reaper thread. */
	void (*on_expired)(void *app, bool body);
	void *app;
};

struct http_guard;

/* Starts the reaper thread. Never NULL (aborts when no thread can start). */
struct http_guard *http_guard_start(const struct http_guard_config *cfg);
/* Stops the thread and frees the registry. Call after MHD_stop_daemon (every
 * connection gone). NULL is a no-op. */
void http_guard_stop(struct http_guard *g);

/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the guard. */
void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode code);

/* Phase changes, called on the connection's MHD thread: a request line
 * arrived (a 408 can be sent from now on), the head is complete (the body
 * deadline starts), the request is complete or a response is about to be
 * queued or written (no deadline from now on, and the reaper will not write;
 * false when the connection was already timed out: do not handle it), the
 * response is done (the next request's head deadline starts). */
void http_guard_request_line(struct MHD_Connection *conn);
void http_guard_body(struct http_guard *g, struct MHD_Connection *conn);
bool http_guard_busy(struct MHD_Connection *conn);
void http_guard_idle(struct http_guard *g, struct MHD_Connection *conn);
/* true when the reaper closed this connection (its request is logged as 408). */
bool http_guard_expired(struct MHD_Connection *conn);

/* The raw request target (before MHD decodes it): ERR_URI_TOO_LONG over
 * 8 KiB or with more than 100 query parameters, ERR_BAD_REQUEST for %00
 * anywhere, ERR_NOT_FOUND for %2F in the path, else ERR_OK. */
enum err_code http_guard_check_uri(const char *uri);

/* Writes a complete error response (status of code, the error envelope with
 * message or the table's default, Connection: close) to fd without blocking,
 * then shuts the socket down both ways. For replies MHD cannot send itself;
 * only while MHD is not writing to fd. */
void http_guard_reply(int fd, enum err_code code, const char *message, const char *api_version,
		      const char *request_id);

#endif
