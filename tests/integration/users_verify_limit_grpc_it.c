/* users_verify_limit_grpc_it.c - UsersService/VerifyCredentials is no password
 * oracle for a caller that reaches the service's port directly (issue 18
 * item 2): failed verifications are limited per account and per caller with
 * the gateway's auth-limiter semantics (a success takes its count back; the
 * attempt that exceeds the limit is the first refused, right password or
 * not; the window ends and it works again). Real users-service, PostgreSQL
 * and Redis; calls over gRPC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agentos/users/v1/users.pb-c.h"
#include "it.h"
#include "stack.h"
#include "util.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define ACCOUNT_MAX 3 /* AUTH_RATE_LIMIT_MAX */
#define CALLER_MAX 10 /* VERIFY_CALLER_RATE_LIMIT_MAX */
#define WINDOW_MS 5000
#define PASSWORD "password123"

static struct {
	struct stack *stack;
	struct stack_users u; /* u.users: the service under test */
	struct rpc_channel *ch;
} F;

static int setup(void **state)
{
	static const char *const extra[] = { "AUTH_RATE_LIMIT_MAX=" STR(ACCOUNT_MAX),
					     "VERIFY_CALLER_RATE_LIMIT_MAX=" STR(CALLER_MAX),
					     "RATE_LIMIT_WINDOW_MS=" STR(WINDOW_MS), NULL };

	(void)state;
	rpc_runtime_init();
	F.stack = stack_start("users_verify_limit_grpc_it");
	if (!stack_users_start(F.stack, &F.u, extra))
		return -1;
	F.ch = rpc_channel_new(F.u.target);
	return 0;
}

static int teardown(void **state)
{
	int status;

	(void)state;
	rpc_channel_free(F.ch);
	status = proc_stop(F.u.users);
	stack_stop(F.stack);
	rpc_runtime_shutdown();
	return status == 0 ? 0 : -1;
}

static void sign_up(const char *email)
{
	Agentos__Users__V1__CreateUserRequest req = AGENTOS__USERS__V1__CREATE_USER_REQUEST__INIT;
	struct it_result r;

	req.email = (char *)email;
	req.password = PASSWORD;
	req.name = "Guessed";
	r = it_call(F.ch, USERS("CreateUser"), &req.base, &agentos__users__v1__user__descriptor,
		    NULL, NULL);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	it_result_release(&r);
}

/* One VerifyCredentials: ERR_OK, or the error code it was answered with. */
static enum err_code verify(const char *email, const char *password)
{
	Agentos__Users__V1__VerifyCredentialsRequest
		req = AGENTOS__USERS__V1__VERIFY_CREDENTIALS_REQUEST__INIT;
	struct it_result r;
	enum err_code code;

	req.email = (char *)email;
	req.password = (char *)password;
	r = it_call(F.ch, USERS("VerifyCredentials"), &req.base,
		    &agentos__users__v1__user__descriptor, NULL, NULL);
	code = r.status == GRPC_STATUS_OK ? ERR_OK : r.err.code;
	if (code == ERR_RATE_LIMIT_EXCEEDED)
		assert_int_equal(r.status, GRPC_STATUS_RESOURCE_EXHAUSTED);
	it_result_release(&r);
	return code;
}

static void expect(const char *email, const char *password, enum err_code want)
{
	enum err_code got = verify(email, password);

	if (got != want)
		fail_msg("VerifyCredentials(%s, %s): %s, expected %s", email, password,
			 err_name(got), err_name(want));
}

static void wait_window(void)
{
	sleep_ms(WINDOW_MS + 300);
}

/* A caller spraying one guess over many accounts (unknown ones included) is
 * stopped after CALLER_MAX failures, whatever account it tries next. */
static void failures_are_limited_per_caller(void **state)
{
	char email[64];

	(void)state;
	sign_up("sprayed@example.com");
	for (int i = 0; i < CALLER_MAX; i++) {
		snprintf(email, sizeof(email), "nobody%d@example.com", i);
		expect(email, "Summer2024!", ERR_INVALID_CREDENTIALS);
	}
	expect("nobody-else@example.com", "Summer2024!", ERR_RATE_LIMIT_EXCEEDED);
	expect("sprayed@example.com", PASSWORD, ERR_RATE_LIMIT_EXCEEDED);
	wait_window();
	expect("sprayed@example.com", PASSWORD, ERR_OK);
}

/* The scenario: wrong guesses and then the right password. Past
 * ACCOUNT_MAX failures the account answers nothing but RATE_LIMIT_EXCEEDED,
 * right password included, until its window ends; other accounts are not
 * affected. Successes take their count back. */
static void failures_are_limited_per_account(void **state)
{
	(void)state;
	wait_window(); /* a fresh window for the caller too */
	sign_up("guessed@example.com");
	sign_up("bystander@example.com");
	sign_up("forgetful@example.com");
	for (int i = 0; i < ACCOUNT_MAX; i++)
		expect("guessed@example.com", "wrong-guess", ERR_INVALID_CREDENTIALS);
	expect("guessed@example.com", "wrong-guess", ERR_RATE_LIMIT_EXCEEDED);
	expect("guessed@example.com", PASSWORD, ERR_RATE_LIMIT_EXCEEDED);
	expect("GUESSED@example.com", PASSWORD, ERR_RATE_LIMIT_EXCEEDED); /* same account */
	expect("bystander@example.com", PASSWORD, ERR_OK);

	/* successes take their count back: never more than 2 failures pending */
	expect("forgetful@example.com", "wrong-guess", ERR_INVALID_CREDENTIALS);
	expect("forgetful@example.com", PASSWORD, ERR_OK);
	expect("forgetful@example.com", PASSWORD, ERR_OK);
	expect("forgetful@example.com", "wrong-guess", ERR_INVALID_CREDENTIALS);
	expect("forgetful@example.com", PASSWORD, ERR_OK);

	wait_window();
	expect("guessed@example.com", PASSWORD, ERR_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(failures_are_limited_per_caller),
		cmocka_unit_test(failures_are_limited_per_account),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
