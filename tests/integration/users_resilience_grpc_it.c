/* users_resilience_grpc_it.c - the users service survives its dependencies
 * restarting and drains in-flight calls on SIGTERM. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "agentos/users/v1/users.pb-c.h"
#include "it.h"
#include "stack.h"
#include "util.h"

static struct {
	struct stack *stack;
	struct stack_users u; /* u.users: the service under test */
	struct rpc_channel *ch;
	char *token;
} F;

/* One argon2 slot and a single quick worker: what the lane and overload tests
 * need to fill. */
static const char *const ENV[] = { "PASSWORD_HASH_CONCURRENCY=1", "GRPC_WORKERS=1", NULL };

static int setup(void **state)
{
	rpc_runtime_init();
	F.stack = stack_start("users_resilience_grpc_it");
	if (!stack_users_start(F.stack, &F.u, ENV))
		return -1;
	F.ch = rpc_channel_new(F.u.target);
	F.token = it_token(1, "mod@example.com", "moderator");
	*state = &F;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rpc_channel_free(F.ch);
	free(F.token);
	if (F.u.users)
		proc_stop(F.u.users);
	stack_stop(F.stack);
	rpc_runtime_shutdown();
	return 0;
}

static struct it_result list_users(void)
{
	Agentos__Users__V1__ListUsersRequest req = AGENTOS__USERS__V1__LIST_USERS_REQUEST__INIT;

	return it_call(F.ch, USERS("ListUsers"), &req.base,
		       &agentos__users__v1__list_users_response__descriptor, F.token, NULL);
}

static struct it_result create_user(const char *email)
{
	Agentos__Users__V1__CreateUserRequest req = AGENTOS__USERS__V1__CREATE_USER_REQUEST__INIT;

	req.email = (char *)email;
	req.password = "password123";
	req.name = "Resilient";
	return it_call(F.ch, USERS("CreateUser"), &req.base, &agentos__users__v1__user__descriptor,
		       NULL, NULL);
}

static void postgres_restart_is_survived_without_restarting_the_service(void **state)
{
	struct it_result r = create_user("before@example.com");
	int64_t deadline;
	bool ok = false;

	assert_int_equal(r.status, GRPC_STATUS_OK);
	it_result_release(&r);

	stack_pg_stop(F.stack);
	r = list_users();
	assert_int_equal(r.status, GRPC_STATUS_UNAVAILABLE);
	assert_string_equal(err_name(r.err.code), "SERVICE_UNAVAILABLE");
	assert_int_equal(rpc_health_check(F.ch, "", 3000), 2); /* NOT_SERVING */

	stack_pg_start(F.stack);
	deadline = mono_ms() + 10000;
	while (!ok && mono_ms() < deadline) {
		r = list_users();
		ok = r.status == GRPC_STATUS_OK;
		if (ok)
			assert_int_equal(((Agentos__Users__V1__ListUsersResponse *)r.reply)
						 ->pagination->total,
					 1);
		it_result_release(&r);
		if (!ok)
			usleep(200 * 1000);
	}
	assert_true(ok);
	assert_int_equal(rpc_health_check(F.ch, "", 3000), 1);
	r = create_user("after@example.com");
	assert_int_equal(r.status, GRPC_STATUS_OK);
	it_result_release(&r);
}

static void redis_loss_falls_back_to_postgres(void **state)
{
	Agentos__Users__V1__GetUserRequest req = AGENTOS__USERS__V1__GET_USER_REQUEST__INIT;
	struct it_result r;
	int64_t started;

	stack_redis_stop(F.stack);
	req.id = 1;
	started = mono_ms();
	r = it_call(F.ch, USERS("GetUser"), &req.base, &agentos__users__v1__user__descriptor,
		    F.token, NULL);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	assert_string_equal(((Agentos__Users__V1__User *)r.reply)->email, "before@example.com");
	assert_true(mono_ms() - started < 2000);
	it_result_release(&r);
	r = create_user("noredis@example.com");
	assert_int_equal(r.status, GRPC_STATUS_OK);
	it_result_release(&r);
	stack_redis_start(F.stack);
}

struct rename {
	int64_t id;
	const char *token;
	struct it_result r;
};

static void *call_rename(void *p)
{
	struct rename *c = p;
	Agentos__Users__V1__UpdateUserRequest req = AGENTOS__USERS__V1__UPDATE_USER_REQUEST__INIT;
	Agentos__Users__V1__User u = AGENTOS__USERS__V1__USER__INIT;
	Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
	char *paths[] = { "name" };

	u.name = "Renamed";
	mask.n_paths = 1;
	mask.paths = paths;
	req.id = c->id;
	req.user = &u;
	req.update_mask = &mask;
	c->r = it_call(F.ch, USERS("UpdateUser"), &req.base, &agentos__users__v1__user__descriptor,
		       c->token, NULL);
	return NULL;
}

/* Slow methods have lanes of their own (rpc.h): with a single quick worker
 * (GRPC_WORKERS=1) and three UpdateUser calls stuck behind a row lock, reads
 * are still answered at once; the updates finish once the lock is gone. With
 * one pool for every method the reads would wait for the lock. */
static void a_stuck_write_does_not_hold_up_reads(void **state)
{
	Agentos__Users__V1__GetUserRequest get = AGENTOS__USERS__V1__GET_USER_REQUEST__INIT;
	struct it_result r = create_user("lanes@example.com");
	struct rename calls[3];
	pthread_t threads[3];
	char sql[96], *token;
	PGconn *lock = PQconnectdb(stack_database_url(F.stack));
	int64_t id, started;

	assert_int_equal(r.status, GRPC_STATUS_OK);
	id = ((Agentos__Users__V1__User *)r.reply)->id;
	it_result_release(&r);
	token = it_token(id, "lanes@example.com", "user");
	snprintf(sql, sizeof(sql), "BEGIN; SELECT 1 FROM users.users WHERE id = %lld FOR UPDATE",
		 (long long)id);
	PQclear(PQexec(lock, sql));
	for (int i = 0; i < 3; i++) {
		calls[i] = (struct rename){ .id = id, .token = token };
		pthread_create(&threads[i], NULL, call_rename, &calls[i]);
	}
	usleep(300 * 1000); /* the three are waiting for the lock */
	assert_int_equal(
		it_sql_int(stack_database_url(F.stack),
			   "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"),
		3);
	for (int i = 0; i < 5; i++) {
		get.id = id;
		started = mono_ms();
		r = it_call(F.ch, USERS("GetUser"), &get.base,
			    &agentos__users__v1__user__descriptor, token, NULL);
		assert_int_equal(r.status, GRPC_STATUS_OK);
		assert_string_equal(((Agentos__Users__V1__User *)r.reply)->name, "Resilient");
		assert_true(mono_ms() - started < 1000);
		it_result_release(&r);
	}
	PQclear(PQexec(lock, "ROLLBACK"));
	PQfinish(lock);
	for (int i = 0; i < 3; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(calls[i].r.status, GRPC_STATUS_OK);
		it_result_release(&calls[i].r);
	}
	free(token);
}

struct inflight {
	char email[64];
	struct it_result r;
};

static void *call_create(void *p)
{
	struct inflight *f = p;

	f->r = create_user(f->email);
	return NULL;
}

static void sigterm_drains_in_flight_calls_and_exits_zero(void **state)
{
	/* One hashing slot: six sign-ups take several hundred ms end to end. */
	struct inflight calls[6];
	pthread_t threads[6];
	int status;

	for (int i = 0; i < 6; i++) {
		snprintf(calls[i].email, sizeof(calls[i].email), "drain%d@example.com", i);
		pthread_create(&threads[i], NULL, call_create, &calls[i]);
	}
	usleep(60 * 1000);
	proc_signal(F.u.users, SIGTERM);
	for (int i = 0; i < 6; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(calls[i].r.status, GRPC_STATUS_OK);
		it_result_release(&calls[i].r);
	}
	status = proc_wait(F.u.users, 15000);
	F.u.users = NULL;
	assert_int_equal(status, 0);
	assert_int_equal(it_sql_int(stack_database_url(F.stack),
				    "SELECT count(*) FROM users.users WHERE email LIKE 'drain%'"),
			 6);
}

/* A start-up that must fail: exit status 2 and a line naming the problem. */
static void assert_refuses_to_start(const char *const *env, const char *expected)
{
	struct proc *p = stack_spawn_env(F.stack, "users-badconfig", "bin/users-service",
					 stack_free_port(), NULL, env);
	char *log;

	assert_int_equal(proc_wait(p, 10000), 2);
	log = read_file_all(proc_log_path(p));
	assert_non_null(log);
	if (!strstr(log, expected))
		fprintf(stderr, "expected \"%s\" in:\n%s\n", expected, log);
	assert_non_null(strstr(log, expected));
	free(log);
}

static void malformed_configuration_stops_start_up_naming_the_variable(void **state)
{
	const char *bad_port[] = { "GRPC_PORT=80x", NULL };
	const char *bad_pool[] = { "DATABASE_POOL_MIN=5", "DATABASE_POOL_MAX=2", NULL };
	const char *no_db[] = { "DATABASE_URL=", NULL };
	const char *prod_default[] = { "APP_ENV=production", "JWT_SECRET=", NULL };
	const char *prod_short[] = { "APP_ENV=production", "JWT_SECRET=0123456789", NULL };
	const char *bad_level[] = { "LOG_LEVEL=loud", NULL };

	assert_refuses_to_start(bad_port, "GRPC_PORT: \"80x\"");
	assert_refuses_to_start(bad_pool,
				"DATABASE_POOL_MIN (5) must not exceed DATABASE_POOL_MAX (2)");
	assert_refuses_to_start(no_db, "DATABASE_URL is required");
	assert_refuses_to_start(prod_default, "JWT_SECRET is required when APP_ENV=production");
	assert_refuses_to_start(prod_short, "JWT_SECRET must be at least 32 bytes");
	assert_refuses_to_start(bad_level, "LOG_LEVEL");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(malformed_configuration_stops_start_up_naming_the_variable),
		cmocka_unit_test(postgres_restart_is_survived_without_restarting_the_service),
		cmocka_unit_test(redis_loss_falls_back_to_postgres),
		cmocka_unit_test(a_stuck_write_does_not_hold_up_reads),
		cmocka_unit_test(sigterm_drains_in_flight_calls_and_exits_zero),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
