/* openapi.h - GET /api/<version>/openapi.json: the OpenAPI 3.1 description of
 * the REST API (API.md §6 "Operational endpoints"). The document is
 * gateway/openapi.json, embedded in the binary at build time
 * (deploy/embed_file.sh); tests/unit/gateway_openapi_test.c keeps it in step
 * with the route table (routes.c). Served bare: no envelope, not rate
 * limited, Content-Type application/json, X-Request-Id like every response;
 * another method on the path is 405 (Allow: GET) in the error envelope. */
#ifndef GATEWAY_OPENAPI_H
#define GATEWAY_OPENAPI_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

struct api;

/* The document's path below the API's base: GET <base>/openapi.json. */
#define OPENAPI_PATH "/openapi.json"

/* The embedded document (generated $(BUILD)/gen/openapi_doc.c). */
extern const char openapi_doc[];
extern const size_t openapi_doc_len;

/* The document (a row of api.c's table of operational endpoints, which
 * matches the path exactly and refuses other methods). */
void openapi_serve(struct api *api, struct http_request *req, struct http_response *res);

#endif
