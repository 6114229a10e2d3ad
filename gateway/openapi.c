/* openapi.c - GET /api/<version>/openapi.json: the embedded OpenAPI
 * document, bare; see openapi.h. */
#include "openapi.h"

#include <string.h>

#include "envelope.h"
#include "err.h"
#include "util.h"

#define OPENAPI_NAME "/openapi.json"

/* Exactly <base>/openapi.json: no trailing slash, no prefix match. */
static bool is_openapi_path(const struct api *api, const char *path)
{
	size_t base_len = strlen(api->base);

	return strncmp(path, api->base, base_len) == 0 &&
	       strcmp(path + base_len, OPENAPI_NAME) == 0;
}

/* Another method than GET: 405 in the error envelope, Allow: GET (as the
 * health endpoints answer). HEAD is refused too: the HTTP layer has no
 * special case for it, and neither has any other route. */
static void refuse_method(const struct api *api, const struct http_request *req,
			  struct http_response *res)
{
	struct envelope_meta meta = { .version = api->version, .request_id = req->request_id };
	struct app_error err;

	app_error_init(&err);
	app_error_set(&err, ERR_METHOD_NOT_ALLOWED, "Method %s is not allowed here; use GET",
		      req->method);
	res->status = err_http_status(err.code);
	res->body = envelope_error(&meta, &err, &res->body_len);
	res->content_type = "application/json";
	http_response_header(res, "Allow", "GET");
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
		refuse_method(api, req, res);
	else
		serve_document(res);
	return true;
}
