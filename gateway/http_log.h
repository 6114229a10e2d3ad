/* http_log.h - the url of an access-log line (internal to http.c).
 *
 * The decoded path and query parameters, percent-encoded again so the line
 * stays ASCII and one parameter cannot pass for two, with every secret
 * written as [REDACTED]: API keys (a path segment, parameter name or value
 * starting "ak_"; the values of api_key, apikey, access_token and key) and
 * JWTs anywhere (three base64url parts starting "eyJ", as a whole value or
 * inside one, in a path segment or a parameter name). */
#ifndef GATEWAY_HTTP_LOG_H
#define GATEWAY_HTTP_LOG_H

#include <microhttpd.h>

#include "arena.h"

/* path?query of conn's request, owned by a. */
const char *http_log_url(struct arena *a, const char *path, struct MHD_Connection *conn);

#endif
