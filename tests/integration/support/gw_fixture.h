/* gw_fixture.h - the fixture of a REST test binary that runs against one
 * stack G started by it_gateway_start (users, auth, posts, the gateway):
 * cmocka group setup/teardown and the request helpers. Header-only: include
 * it after the test's own includes, with GW_IT_NAME defined (the binary's
 * name, used for its throwaway folder). */
#ifndef TESTS_GW_FIXTURE_H
#define TESTS_GW_FIXTURE_H

#ifndef GW_IT_NAME
#error "define GW_IT_NAME before including gw_fixture.h"
#endif

#include "http.h"

static struct it_gateway G;

static inline int setup(void **state)
{
	(void)state;
	return it_gateway_start(&G, GW_IT_NAME, NULL) ? 0 : -1;
}

static inline int teardown(void **state)
{
	(void)state;
	/* SIGTERM: the gateway must drain and exit 0. */
	return it_gateway_stop(&G) == 0 ? 0 : -1;
}

static inline struct it_http_result call(const char *method, const char *path, const char *token,
					 const char *body)
{
	return it_gateway_call(&G, method, path, token, NULL, body);
}

static inline struct it_http_result call_h(const char *method, const char *path, const char *token,
					   const char *const *headers, const char *body)
{
	return it_gateway_call(&G, method, path, token, headers, body);
}

#endif
