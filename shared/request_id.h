/* request_id.h - the X-Request-Id rule of API.md §1, shared by the gateway
 * (HTTP header) and the services (x-request-id metadata). */
#ifndef SHARED_REQUEST_ID_H
#define SHARED_REQUEST_ID_H

#include <stdbool.h>

#define REQUEST_ID_MAX 64
#define REQUEST_ID_GEN_LEN 20 /* "req_" + 16 alphanumerics */

/* A client's id is reused when it matches [A-Za-z0-9._-]{1,64}. */
bool request_id_valid(const char *id);
/* Writes "req_" + 16 random alphanumerics and a NUL (buf >= REQUEST_ID_GEN_LEN + 1). */
void request_id_generate(char *buf);

#endif
