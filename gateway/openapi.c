/* openapi.c - GET /api/<version>/openapi.json: the embedded OpenAPI
 * document, bare; see openapi.h. */
#include "openapi.h"

#include <string.h>

#include "util.h"

#define OPENAPI_NAME "/openapi.json"

/* Exactly <base>/openapi.json: no trailing slash, no prefix match. */
static bool is_openapi_path(const struct api *api, const char *path)
{
	size_t base_len = strlen(api->base);

	return strncmp(path, api->base, base_len) == 0 &&
	       strcmp(path + base_len, OPENAPI_NAME) == 0;
}

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

bool openapi_handle(const struct api *api, struct http_request *req, struct http_response *res)
{
	if (!is_openapi_path(api, req->path))
		return false;
	if (strcmp(req->method, "GET") != 0)
		api_refuse_method(api, req, res, "GET");
	else
		serve_document(res);
	return true;
}
