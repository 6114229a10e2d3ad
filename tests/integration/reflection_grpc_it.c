/* reflection_grpc_it.c - gRPC server reflection on the real services (issue 15):
 * a real reflection client from npm (tests/contract/reflection.mjs:
 * grpc-js-reflection-client on @grpc/grpc-js, installed by
 * tests/contract/check.sh) lists what each service serves with both
 * reflection versions and calls UsersService/GetUser using only the
 * descriptors it fetched. The answers themselves (symbols, dependencies,
 * errors) are unit-tested in tests/unit/users_reflection_test.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "it.h"
#include "util.h"

#define GW_IT_NAME "reflection_grpc_it"
#include "support/gw_fixture.h"

static void a_reflection_client_lists_services_and_calls_get_user(void **state)
{
	char cmd[2048];

	(void)state;
	assert_true(G.auth_port > 0 && G.posts_port > 0);
	snprintf(cmd, sizeof(cmd),
		 "node tests/contract/reflection.mjs --users 127.0.0.1:%d --posts 127.0.0.1:%d "
		 "--auth 127.0.0.1:%d --token '%s' --user-id %lld --email '%s'",
		 G.users_port, G.posts_port, G.auth_port, G.admin_token, (long long)G.admin_id,
		 IT_GW_ADMIN_EMAIL);
	assert_int_equal(system(cmd), 0);
}

/* The client can fail: a wrong expectation (another user's email) is caught. */
static void the_client_check_can_fail(void **state)
{
	char cmd[2048];

	(void)state;
	snprintf(cmd, sizeof(cmd),
		 "node tests/contract/reflection.mjs --users 127.0.0.1:%d --posts 127.0.0.1:%d "
		 "--auth 127.0.0.1:%d --token '%s' --user-id %lld --email 'someone@else.example' "
		 ">/dev/null 2>&1",
		 G.users_port, G.posts_port, G.auth_port, G.admin_token, (long long)G.admin_id);
	assert_int_not_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_reflection_client_lists_services_and_calls_get_user),
		cmocka_unit_test(the_client_check_can_fail),
	};

	return cmocka_run_group_tests(tests, gw_setup, gw_teardown);
}
