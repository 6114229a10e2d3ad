/* openapi.c - GET /api/<version>/openapi.json: the embedded OpenAPI
 * document, bare; see openapi.h. */
#include "openapi.h"

#include <string.h>

#include "util.h"

/* The document as it was embedded: a malloc'd copy, since the server frees
 * the body after sending it. */
static void serve_document(struct http_response *res)
{
	res->status = 200;
	res->body = xmalloc(openapi_doc_len + 1);
	memcpy(res->body, openapi_doc, openapi_doc_len + 1); /* with its NUL */
	res->body_len = openapi_doc_len;
	res->content_type = "application/json";
}

void openapi_serve(struct api *api, struct http_request *req, struct http_response *res)
{
	(void)api;
	(void)req;
	serve_document(res);
}
