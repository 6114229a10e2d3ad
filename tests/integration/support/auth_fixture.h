/* auth_fixture.h - what the auth test binaries share: the stack G
 * (it_gateway_start starts the auth service too) and every password, token
 * and key the tests saw, none of which may reach a log line. Header-only:
 * include it after the test's own includes, with AUTH_IT_NAME (the binary's
 * name, used for its throwaway folder) and PASSWORD defined. */
#ifndef TESTS_AUTH_FIXTURE_H
#define TESTS_AUTH_FIXTURE_H

#if !defined(AUTH_IT_NAME) || !defined(PASSWORD)
#error "define AUTH_IT_NAME and PASSWORD before including auth_fixture.h"
#endif

#include <unistd.h>

#include "http.h"
#include "util.h"

#define MAX_SECRETS 256

static struct it_gateway G;
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

/* Starts the stack with extra gateway environment (may be NULL). */
static inline bool auth_fixture_start(const char *const *extra)
{
	if (!it_gateway_start(&G, AUTH_IT_NAME, extra))
		return false;
	if (!G.auth) {
		fprintf(stderr, "no auth service: build/bin/auth-service is missing\n");
		return false;
	}
	remember(PASSWORD);
	remember(G.admin_token);
	return true;
}

/* Stops the auth service (it must drain and exit 0), then the rest. */
static inline int auth_fixture_stop(void)
{
	int auth = G.auth ? proc_stop(G.auth) : 0;

	for (size_t i = 0; i < Secrets.n; i++)
		free(Secrets.s[i]);
	if (auth != 0)
		fprintf(stderr, "auth-service exited with %d after SIGTERM\n", auth);
	return it_gateway_stop(&G) == 0 && auth == 0 ? 0 : -1;
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
