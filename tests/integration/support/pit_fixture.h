/* pit_fixture.h - the fixture of a PostsService gRPC test binary: the stack P
 * (pit.h) and the users every test shares, Alice, Bob and Carol (role user)
 * and Mod (a moderator token). Header-only: include it after the test's own
 * includes, with PIT_IT_NAME (the binary's name, used for its throwaway
 * folder) and PIT_WITH_AUTH (whether the tests talk to the auth service). */
#ifndef TESTS_PIT_FIXTURE_H
#define TESTS_PIT_FIXTURE_H

#if !defined(PIT_IT_NAME) || !defined(PIT_WITH_AUTH)
#error "define PIT_IT_NAME and PIT_WITH_AUTH before including pit_fixture.h"
#endif

#include "pit.h"

static struct pit P;
static struct pit_user Alice, Bob, Carol, Mod;

/* cmocka group setup: the stack, then the users (asserting). */
static inline int pit_setup(void **state)
{
	(void)state;
	if (!pit_start(&P, PIT_IT_NAME, PIT_WITH_AUTH))
		return -1;
	Alice = pit_user_new(&P, "alice", "Alice Author", "user");
	Bob = pit_user_new(&P, "bob", "Bob Reader", "user");
	Carol = pit_user_new(&P, "carol", "Carol Other", "user");
	Mod = pit_user_new(&P, "mod", "Mo Derator", "moderator");
	return 0;
}

/* The posts and auth services must drain and exit 0 (pit_stop). */
static inline int pit_teardown(void **state)
{
	struct pit_user *users[] = { &Alice, &Bob, &Carol, &Mod };

	(void)state;
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
		pit_user_free(users[i]);
	return pit_stop(&P);
}

#endif
