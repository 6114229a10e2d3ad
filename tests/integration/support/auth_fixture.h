/* auth_fixture.h - what the auth test binaries share: the stack G of
 * gw_fixture.h, every reply of call/call_h checked for what may never be in
 * one, and every password, token and key the tests saw, none of which may
 * reach a log line. Header-only: include it after the test's own includes,
 * with AUTH_IT_NAME (the binary's name, used for its throwaway folder) and
 * PASSWORD defined, and GW_IT_ENV when the gateway needs more. */
#ifndef TESTS_AUTH_FIXTURE_H
#define TESTS_AUTH_FIXTURE_H

#if !defined(AUTH_IT_NAME) || !defined(PASSWORD)
#error "define AUTH_IT_NAME and PASSWORD before including auth_fixture.h"
#endif

#include <unistd.h>

#include "http.h"
#include "util.h"

#define MAX_SECRETS 256

/* No reply body holds a password hash or a password. */
static inline void auth_reply_check(const struct it_http_result *r)
{
	assert_non_null(r->body);
	assert_null(strstr(r->body, "$argon2"));
	assert_null(strstr(r->body, PASSWORD));
	assert_null(strstr(r->body, IT_GW_ADMIN_PASSWORD));
}

#define GW_IT_NAME AUTH_IT_NAME
#define GW_IT_CHECK auth_reply_check
#include "gw_fixture.h"

static struct {
	char *s[MAX_SECRETS];
	size_t n;
} Secrets;

/* Remembers a copy of s as a secret; returns s. */
static inline const char *remember(const char *s)
{
	if (s && Secrets.n < MAX_SECRETS)
		Secrets.s[Secrets.n++] = xstrdup(s);
	return s;
}

static inline int auth_setup(void **state)
{
	if (gw_setup(state) != 0)
		return -1;
	remember(PASSWORD);
	remember(G.admin_token);
	return 0;
}

static inline int auth_teardown(void **state)
{
	for (size_t i = 0; i < Secrets.n; i++)
		free(Secrets.s[i]);
	return gw_teardown(state);
}

/* No line in the gateway's, users' or auth's log holds a secret. */
static inline void assert_logs_free_of_secrets(void)
{
	const struct proc *procs[] = { G.gateway, G.users, G.auth };

	usleep(300 * 1000); /* let the last lines reach the files */
	for (size_t i = 0; i < ARRAY_SIZE(procs); i++)
		assert_true(it_log_free_of(proc_log_path(procs[i]), (const char *const *)Secrets.s,
					   Secrets.n));
}

#endif
