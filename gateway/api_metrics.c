/* api_metrics.c - the gateway's metrics: one label per route template and per
 * operational endpoint, fed by the HTTP server's begin/done hooks (so the
 * requests that layer answers by itself, 413s included, are counted too) and
 * served at GET /metrics. */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

static const struct metrics_route extra_labels[API_LABEL__COUNT] = {
	[API_LABEL_HEALTH] = { "GET", "/health" },
	[API_LABEL_HEALTH_LIVE] = { "GET", "/health/live" },
	[API_LABEL_HEALTH_READY] = { "GET", "/health/ready" },
	[API_LABEL_METRICS] = { "GET", "/metrics" },
	[API_LABEL_OPENAPI] = { "GET", NULL }, /* "<base>/openapi.json", set below */
	[API_LABEL_UNMATCHED] = { "", "unmatched" },
};

static const char *const service_labels[UPSTREAM__COUNT] = {
	[UPSTREAM_USERS] = "users",
	[UPSTREAM_POSTS] = "posts",
	[UPSTREAM_AUTH] = "auth",
};

/* "<base><suffix>" in a new string. */
static char *join_label(const char *base, const char *suffix)
{
	size_t len = strlen(base) + strlen(suffix) + 1;
	char *s = xmalloc(len);

	snprintf(s, len, "%s%s", base, suffix);
	return s;
}

struct metrics *api_metrics_new(const char *base)
{
	size_t n = routes_count + API_LABEL__COUNT;
	struct metrics_route *labels = xcalloc(n, sizeof(*labels));
	char **paths = xcalloc(routes_count + 1, sizeof(*paths));
	struct metrics_config cfg = {
		.routes = labels,
		.nroutes = n,
		.services = service_labels,
		.nservices = UPSTREAM__COUNT,
	};
	struct metrics *m;

	/* Route templates, never raw paths: the label set is fixed here. */
	for (size_t i = 0; i < routes_count; i++) {
		paths[i] = join_label(base, routes[i].pattern);
		labels[i] = (struct metrics_route){ routes[i].method, paths[i] };
	}
	paths[routes_count] = join_label(base, "/openapi.json");
	for (size_t i = 0; i < API_LABEL__COUNT; i++)
		labels[routes_count + i] = extra_labels[i];
	labels[routes_count + API_LABEL_OPENAPI].route = paths[routes_count];
	m = metrics_new(&cfg); /* copies the strings */
	for (size_t i = 0; i <= routes_count; i++)
		free(paths[i]);
	free(paths);
	free(labels);
	return m;
}

void api_on_begin(void *app)
{
	struct api *api = app;

	metrics_request_begin(api->metrics);
}

void api_on_slow_client(void *app, bool body)
{
	struct api *api = app;

	metrics_slow_client(api->metrics, body);
}

void api_on_done(void *app, const struct http_request *req, int status, double seconds)
{
	struct api *api = app;
	size_t base_len = strlen(api->base);
	int label = req->label;
	struct route_match m;
	char allow[64];

	/* Answered before the handler ran (413, framing 400): label it by its
	 * route all the same. */
	if (label < 0 && strncmp(req->path, api->base, base_len) == 0 &&
	    router_match(routes, routes_count, req->method, req->path + base_len, &m, allow,
			 sizeof(allow)) == ROUTER_FOUND)
		label = (int)(m.route - routes);
	if (label < 0)
		label = (int)(routes_count + API_LABEL_UNMATCHED);
	/* Never answered (the client left first): 499, as nginx logs it. */
	metrics_request_end(api->metrics, (size_t)label, status ? status : 499, seconds);
}

void api_serve_metrics(struct api *api, struct http_request *req, struct http_response *res)
{
	if (strcmp(req->method, "GET") != 0) {
		api_refuse_method(api, req, res, "GET");
		return;
	}
	res->status = 200;
	res->body = metrics_render(api->metrics, &res->body_len);
	res->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
