/* gw_fixture.h - the fixture of a test binary that runs against one stack G
 * started by it_gateway_start (auth, users, posts, the gateway): cmocka
 * group setup/teardown and the request helpers. Header-only: include it
 * after the test's own includes, with GW_IT_NAME defined (the binary's name,
 * used for its throwaway folder) and, when the gateway needs more, GW_IT_ENV
 * (its extra environment: "K=V" strings separated by commas) and GW_IT_CHECK
 * (a function every reply of call/call_h goes through first). */
#ifndef TESTS_GW_FIXTURE_H
#define TESTS_GW_FIXTURE_H

#ifndef GW_IT_NAME
#error "define GW_IT_NAME before including gw_fixture.h"
#endif
#ifndef GW_IT_ENV
#define GW_IT_ENV NULL
#endif

#include "http.h"

static struct it_gateway G;

static inline int gw_setup(void **state)
{
	static const char *const env[] = { GW_IT_ENV, NULL };

	(void)state;
	return it_gateway_start(&G, GW_IT_NAME, env) ? 0 : -1;
}

/* SIGTERM: every process of the stack must drain and exit 0. */
static inline int gw_teardown(void **state)
{
	(void)state;
	return it_gateway_stop(&G) == 0 ? 0 : -1;
}

static inline struct it_http_result call_h(const char *method, const char *path, const char *token,
					   const char *const *headers, const char *body)
{
	struct it_http_result r = it_gateway_call(&G, method, path, token, headers, body);

#ifdef GW_IT_CHECK
	GW_IT_CHECK(&r);
#endif
	return r;
}

static inline struct it_http_result call(const char *method, const char *path, const char *token,
					 const char *body)
{
	return call_h(method, path, token, NULL, body);
}

#endif
