/* router.h - matching a method and path against the route table. Paths are
 * matched exactly, segment by segment: "/users/" (trailing slash) and
 * "/users//1" do not match "/users/:id". */
#ifndef GATEWAY_ROUTER_H
#define GATEWAY_ROUTER_H

#include <stddef.h>

#include "routes.h"

#define ROUTER_MAX_PARAMS 4
#define ROUTER_MAX_SEGMENTS 8

struct route_param {
	char name[32];  /* from the pattern, without ':' */
	char value[64]; /* the path segment */
};

struct route_match {
	const struct route *route;
	size_t nparams;
	struct route_param params[ROUTER_MAX_PARAMS];
};

enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_METHOD_NOT_ALLOWED };

/* path is relative to the API base ("/users/12"). FOUND fills m. When the
 * path matches but the method does not, METHOD_NOT_ALLOWED and allow gets the
 * path's methods in table order, e.g. "GET, POST". */
enum router_result router_match(const struct route *table, size_t n, const char *method,
				const char *path, struct route_match *m, char *allow,
				size_t allowsize);

#endif
