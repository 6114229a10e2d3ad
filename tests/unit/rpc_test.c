/* rpc_test.c - the gRPC runtime end to end in one process: a real server on
 * 127.0.0.1 (ephemeral port) run in a thread, the real client in the tests.
 * Replies, rich errors, metadata, request ids, deadlines, unreachable
 * targets, health, concurrency, shutdown, and the rich error codec itself. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agentos/users/v1/users.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "log.h"
#include "principal.h"
#include "rpc.h"
#include "util.h"

#define GET_USER "/agentos.users.v1.UsersService/GetUser"
#define FAIL "/test.v1.Test/Fail"
#define ECHO "/test.v1.Test/Echo"
#define SLEEP "/test.v1.Test/Sleep"
#define TRAILER "/test.v1.Test/Trailer"
#define COUNT "/test.v1.Test/Count"
#define HOLD "/test.v1.Test/Hold"
#define WHO "/test.v1.Test/Who"
#define WHO_OPEN "/test.v1.Test/WhoOpen"
#define HEALTH "/grpc.health.v1.Health/Check"
#define USERS_SERVICE "agentos.users.v1.UsersService"

typedef Agentos__Users__V1__User User;
typedef Agentos__Users__V1__GetUserRequest GetUserRequest;

/* ---- the test service ---------------------------------------------------------- */

struct test_app {
	atomic_bool healthy;
	atomic_int sleeping; /* SLEEP handlers currently running */
	atomic_int holding;  /* HOLD streams currently running */
	atomic_int held;     /* HOLD streams that saw rpc_stream_done */
	atomic_int who_ran;  /* WHO/WHO_OPEN handlers run */
};

static struct test_app app;

static User *new_user(struct arena *a, int64_t id)
{
	User *u = arena_alloc(a, sizeof(*u));

	agentos__users__v1__user__init(u);
	u->id = id;
	return u;
}

static int get_user(void *ctx, struct rpc_ctx *cx)
{
	const GetUserRequest *req = cx->req;
	struct arena *a = cx->arena;
	User *u;

	if (req->id == 404)
		return app_error_set(cx->err, ERR_NOT_FOUND, "User %lld not found",
				     (long long)req->id);
	u = new_user(a, req->id);
	u->email = arena_sprintf(a, "user%lld@example.com", (long long)req->id);
	u->name = arena_strdup(a, "Ada Lovelace");
	u->role = arena_strdup(a, "moderator");
	u->is_active = 1;
	u->version = 3;
	u->created_at = arena_alloc(a, sizeof(*u->created_at));
	google__protobuf__timestamp__init(u->created_at);
	u->created_at->seconds = 1700000000;
	u->created_at->nanos = 123000000;
	return rpc_reply(cx, &u->base);
}

static int fail_validation(void *ctx, struct rpc_ctx *cx)
{
	app_error_add_violation(cx->err, "email", "must be a valid email address");
	app_error_add_violation(cx->err, "password", "must be at least %d characters", 8);
	return app_error_set(cx->err, ERR_VALIDATION_ERROR, "Invalid input data");
}

/* Reports what the handler saw: name = request id, email = authorization,
 * role = x-api-key, id = 1 when rpc_call_method is right, version = remaining ms. */
static int echo(void *ctx, struct rpc_ctx *cx)
{
	const char *auth = rpc_call_metadata(cx->call, "authorization");
	const char *key = rpc_call_metadata(cx->call, "x-api-key");
	User *u = new_user(cx->arena, strcmp(rpc_call_method(cx->call), ECHO) == 0);

	u->name = (char *)cx->origin.request_id;
	u->email = (char *)(auth ? auth : "(none)");
	u->role = (char *)(key ? key : "(none)");
	u->version = cx->origin.remaining_ms;
	return rpc_reply(cx, &u->base);
}

static int slow(void *ctx, struct rpc_ctx *cx)
{
	const GetUserRequest *req = cx->req;
	struct test_app *t = ctx;

	atomic_fetch_add(&t->sleeping, 1);
	sleep_ms(req->id);
	atomic_fetch_sub(&t->sleeping, 1);
	return rpc_reply(cx, &new_user(cx->arena, req->id)->base);
}

static int with_trailer(void *ctx, struct rpc_ctx *cx)
{
	const GetUserRequest *req = cx->req;
	char v[32];

	snprintf(v, sizeof(v), "%lld", (long long)req->id * 2);
	rpc_call_set_trailer(cx->call, "x-test-seq", v);
	return rpc_reply(cx, &new_user(cx->arena, req->id)->base);
}

/* Server streaming: users 1..id, then OK; id 404 fails after one message. */
static int count(void *ctx, struct rpc_call *call, const ProtobufCMessage *request,
		 struct rpc_stream *st, struct app_error *err)
{
	const GetUserRequest *req = (const void *)request;

	for (int64_t i = 1; i <= (req->id == 404 ? 1 : req->id); i++) {
		if (rpc_stream_send(st, &new_user(rpc_call_arena(call), i)->base) != 0)
			return app_error_set(err, ERR_INTERNAL_ERROR, "send failed");
	}
	if (req->id == 404)
		return app_error_set(err, ERR_NOT_FOUND, "no more users");
	return 0;
}

/* Sends one message, then waits until the client goes away (or the server stops). */
static int hold(void *ctx, struct rpc_call *call, const ProtobufCMessage *request,
		struct rpc_stream *st, struct app_error *err)
{
	struct test_app *t = ctx;

	atomic_fetch_add(&t->holding, 1);
	rpc_stream_send(st, &new_user(rpc_call_arena(call), 1)->base);
	while (!rpc_stream_done(st))
		sleep_ms(10);
	atomic_fetch_add(&t->held, 1);
	atomic_fetch_sub(&t->holding, 1);
	return 0;
}

/* The test resolver: x-api-key "bad" is a 401; anything else user 42, its
 * request id as the email (the resolver sees the call's metadata). */
static int resolve(void *ctx, struct rpc_call *call, const struct principal **out,
		   struct app_error *err)
{
	const char *key = rpc_call_metadata(call, "x-api-key");
	struct principal *p = arena_alloc(rpc_call_arena(call), sizeof(*p));

	(void)ctx;
	if (key && strcmp(key, "bad") == 0)
		return app_error_set(err, ERR_UNAUTHORIZED, "bad key");
	memset(p, 0, sizeof(*p));
	p->method = AUTH_API_KEY;
	p->user_id = 42;
	strlcpy_s(p->email, rpc_call_request_id(call), sizeof(p->email));
	*out = p;
	return 0;
}

/* id = the caller's user id (-1: none resolved), email = the caller's
 * email, name = the origin's request id. */
static int who(void *ctx, struct rpc_ctx *cx)
{
	User *u = new_user(cx->arena, cx->caller ? cx->caller->user_id : -1);

	atomic_fetch_add(&((struct test_app *)ctx)->who_ran, 1);
	u->email = cx->caller ? arena_strdup(cx->arena, cx->caller->email) : "";
	u->name = (char *)cx->origin.request_id;
	return rpc_reply(cx, &u->base);
}

static const struct rpc_method methods[] = {
	RPC_UNARY(GET_USER, &agentos__users__v1__get_user_request__descriptor, get_user),
	RPC_UNARY(FAIL, &agentos__users__v1__get_user_request__descriptor, fail_validation),
	RPC_UNARY(ECHO, &agentos__users__v1__get_user_request__descriptor, echo),
	RPC_UNARY(SLEEP, &agentos__users__v1__get_user_request__descriptor, slow),
	RPC_UNARY(TRAILER, &agentos__users__v1__get_user_request__descriptor, with_trailer),
	RPC_UNARY(WHO, &agentos__users__v1__get_user_request__descriptor, who),
	RPC_UNARY_NO_CALLER(WHO_OPEN, &agentos__users__v1__get_user_request__descriptor, who),
	RPC_STREAM(COUNT, &agentos__users__v1__get_user_request__descriptor, count),
	RPC_STREAM(HOLD, &agentos__users__v1__get_user_request__descriptor, hold),
};

static bool app_healthy(void *ctx)
{
	return atomic_load(&((struct test_app *)ctx)->healthy);
}

/* ---- a server running in a thread ------------------------------------------------ */

struct running {
	struct rpc_server *srv;
	struct rpc_channel *ch;
	pthread_t thread;
	int rc;
};

static void *run_main(void *p)
{
	struct running *r = p;

	r->rc = rpc_server_run(r->srv);
	return NULL;
}

static struct rpc_server *new_server(const char *addr, int workers, int grace_ms)
{
	static const char *const names[] = { USERS_SERVICE, NULL };
	struct rpc_server_config cfg = {
		.listen_addr = addr,
		.workers = workers,
		.shutdown_grace_ms = grace_ms,
		.domain = "users",
		.health_services = names,
		.health_check = app_healthy,
		.app = &app,
		.resolve = resolve,
	};

	return rpc_server_new(&cfg, methods, ARRAY_SIZE(methods));
}

static void start_server(struct running *r, int workers, int grace_ms)
{
	char target[64];

	memset(r, 0, sizeof(*r));
	r->rc = -99;
	r->srv = new_server("127.0.0.1:0", workers, grace_ms);
	assert_non_null(r->srv);
	assert_true(rpc_server_port(r->srv) > 0);
	assert_int_equal(pthread_create(&r->thread, NULL, run_main, r), 0);
	snprintf(target, sizeof(target), "127.0.0.1:%d", rpc_server_port(r->srv));
	r->ch = rpc_channel_new(target);
}

/* Joins a server that was told to stop; returns rpc_server_run's result. */
static int join_server(struct running *r)
{
	pthread_join(r->thread, NULL);
	rpc_server_free(r->srv);
	rpc_channel_free(r->ch);
	return r->rc;
}

static struct running shared; /* serves the first group */
static int log_fd = -1;       /* every log line of the run */

static int call_user(struct rpc_channel *ch, const char *method, int64_t id,
		     const struct rpc_metadata *md, size_t nmd, int deadline_ms, User **out,
		     struct app_error *err, grpc_status_code *status)
{
	GetUserRequest req = AGENTOS__USERS__V1__GET_USER_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	int rc;

	req.id = id;
	rc = rpc_call_unary(ch, method, &req.base, &agentos__users__v1__user__descriptor, md, nmd,
			    deadline_ms, &reply, err, status);
	*out = (User *)reply;
	return rc;
}

static void free_user(User *u)
{
	if (u)
		protobuf_c_message_free_unpacked(&u->base, NULL);
}

/* ---- replies and errors -------------------------------------------------------- */

static void test_unary_ok(void **state)
{
	grpc_status_code st = GRPC_STATUS_UNKNOWN;
	struct app_error err;
	User *u;

	assert_int_equal(call_user(shared.ch, GET_USER, 42, NULL, 0, 2000, &u, &err, &st), 0);
	assert_int_equal(st, GRPC_STATUS_OK);
	assert_non_null(u);
	assert_int_equal(u->id, 42);
	assert_string_equal(u->email, "user42@example.com");
	assert_string_equal(u->name, "Ada Lovelace");
	assert_string_equal(u->role, "moderator");
	assert_true(u->is_active);
	assert_false(u->is_verified);
	assert_int_equal(u->version, 3);
	assert_non_null(u->created_at);
	assert_int_equal(u->created_at->seconds, 1700000000);
	assert_int_equal(u->created_at->nanos, 123000000);
	free_user(u);
}

static void test_not_found_is_rich(void **state)
{
	grpc_status_code st;
	struct app_error err;
	User *u;

	assert_int_equal(call_user(shared.ch, GET_USER, 404, NULL, 0, 2000, &u, &err, &st), -1);
	assert_null(u);
	assert_int_equal(st, GRPC_STATUS_NOT_FOUND);
	assert_int_equal(err.code, ERR_NOT_FOUND);
	assert_string_equal(err.message, "User 404 not found");
	assert_int_equal(err.nviolations, 0);
}

static void test_validation_error_with_violations(void **state)
{
	grpc_status_code st;
	struct app_error err;
	User *u;

	assert_int_equal(call_user(shared.ch, FAIL, 1, NULL, 0, 2000, &u, &err, &st), -1);
	assert_null(u);
	assert_int_equal(st, GRPC_STATUS_INVALID_ARGUMENT);
	assert_int_equal(err.code, ERR_VALIDATION_ERROR);
	assert_string_equal(err.message, "Invalid input data");
	assert_int_equal(err.nviolations, 2);
	assert_string_equal(err.violations[0].field, "email");
	assert_string_equal(err.violations[0].description, "must be a valid email address");
	assert_string_equal(err.violations[1].field, "password");
	assert_string_equal(err.violations[1].description, "must be at least 8 characters");
}

static void test_unknown_method_is_unimplemented(void **state)
{
	grpc_status_code st;
	struct app_error err;
	User *u;

	assert_int_equal(call_user(shared.ch, "/agentos.users.v1.UsersService/Nope", 1, NULL, 0,
				   2000, &u, &err, &st),
			 -1);
	assert_int_equal(st, GRPC_STATUS_UNIMPLEMENTED);
	assert_int_equal(err.code, ERR_NOT_IMPLEMENTED);
}

static void test_undecodable_request_is_bad_request(void **state)
{
	/* Field 1 of GetUserRequest is a varint; this sends it length-delimited. */
	Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	ProtobufCMessage *reply;
	grpc_status_code st;
	struct app_error err;

	req.service = (char *)"not an int64";
	assert_int_equal(rpc_call_unary(shared.ch, GET_USER, &req.base,
					&agentos__users__v1__user__descriptor, NULL, 0, 2000,
					&reply, &err, &st),
			 -1);
	assert_null(reply);
	assert_int_equal(st, GRPC_STATUS_INVALID_ARGUMENT);
	assert_int_equal(err.code, ERR_BAD_REQUEST);
}

static void test_undecodable_reply_is_internal(void **state)
{
	/* User.id (field 1) is a varint; HealthCheckRequest.service is a string. */
	GetUserRequest req = AGENTOS__USERS__V1__GET_USER_REQUEST__INIT;
	ProtobufCMessage *reply;
	grpc_status_code st;
	struct app_error err;

	req.id = 5;
	assert_int_equal(rpc_call_unary(shared.ch, GET_USER, &req.base,
					&grpc__health__v1__health_check_request__descriptor, NULL,
					0, 2000, &reply, &err, &st),
			 -1);
	assert_null(reply);
	assert_int_equal(st, GRPC_STATUS_OK);
	assert_int_equal(err.code, ERR_INTERNAL_ERROR);
}

/* ---- metadata ---------------------------------------------------------------- */

static User *echo_call(const struct rpc_metadata *md, size_t nmd)
{
	struct app_error err;
	User *u;

	assert_int_equal(call_user(shared.ch, ECHO, 0, md, nmd, 2000, &u, &err, NULL), 0);
	assert_int_equal(u->id, 1); /* rpc_call_method matched */
	return u;
}

static void assert_generated_id(const char *id)
{
	assert_int_equal(strlen(id), 20);
	assert_memory_equal(id, "req_", 4);
	for (size_t i = 4; i < 20; i++)
		assert_true((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
			    (id[i] >= '0' && id[i] <= '9'));
}

static void test_request_id_passes_through(void **state)
{
	const struct rpc_metadata md[] = { { "x-request-id", "abc-123._XYZ" } };
	User *u = echo_call(md, 1);

	assert_string_equal(u->name, "abc-123._XYZ");
	free_user(u);
}

/* The runtime resolves the caller before the handler runs: the handler gets
 * it with the call's origin; a failed resolution is the call's error and
 * the handler never runs; a NO_CALLER method is not resolved at all. */
static void test_caller_resolved_by_the_runtime(void **state)
{
	const struct rpc_metadata good[] = { { "x-request-id", "who-1" } };
	const struct rpc_metadata bad[] = { { "x-request-id", "who-2" }, { "x-api-key", "bad" } };
	struct app_error err;
	grpc_status_code st;
	User *u = NULL;
	int ran;

	(void)state;
	app_error_init(&err);
	assert_int_equal(call_user(shared.ch, WHO, 1, good, 1, 2000, &u, &err, &st), 0);
	assert_int_equal(u->id, 42);
	assert_string_equal(u->email, "who-1");
	assert_string_equal(u->name, "who-1");
	free_user(u);
	ran = atomic_load(&app.who_ran);
	assert_int_equal(call_user(shared.ch, WHO, 1, bad, 2, 2000, &u, &err, &st), -1);
	assert_int_equal(err.code, ERR_UNAUTHORIZED);
	assert_int_equal(st, GRPC_STATUS_UNAUTHENTICATED);
	assert_int_equal(atomic_load(&app.who_ran), ran); /* the handler did not run */
	app_error_init(&err);
	assert_int_equal(call_user(shared.ch, WHO_OPEN, 1, bad, 2, 2000, &u, &err, &st), 0);
	assert_int_equal(u->id, -1);
	assert_string_equal(u->name, "who-2");
	free_user(u);
}

static void test_bad_request_id_is_replaced(void **state)
{
	char long_id[66];
	const struct rpc_metadata bad[] = { { "x-request-id", "bad id!" } };
	const struct rpc_metadata too_long[] = { { "x-request-id", long_id } };
	User *a, *b, *c, *d;

	memset(long_id, 'a', 65);
	long_id[65] = '\0';
	a = echo_call(bad, 1);
	b = echo_call(too_long, 1);
	c = echo_call(NULL, 0);
	d = echo_call(NULL, 0);
	assert_generated_id(a->name);
	assert_generated_id(b->name);
	assert_generated_id(c->name);
	assert_generated_id(d->name);
	assert_string_not_equal(c->name, d->name); /* one per call */
	free_user(a);
	free_user(b);
	free_user(c);
	free_user(d);

	long_id[64] = '\0'; /* 64 characters is still sane */
	a = echo_call(too_long, 1);
	assert_string_equal(a->name, long_id);
	free_user(a);
}

static void test_authorization_metadata_readable(void **state)
{
	const struct rpc_metadata md[] = {
		{ "authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig" },
		{ "x-api-key", NULL }, /* skipped */
	};
	const struct rpc_metadata key[] = { { "x-api-key", "ak_live_123" } };
	User *u = echo_call(md, 2);

	assert_string_equal(u->email, "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig");
	assert_string_equal(u->role, "(none)");
	free_user(u);
	u = echo_call(key, 1);
	assert_string_equal(u->email, "(none)");
	assert_string_equal(u->role, "ak_live_123");
	free_user(u);
}

static void test_illegal_metadata_is_bad_request(void **state)
{
	const struct rpc_metadata md[] = { { "authorization", "Bearer a\r\nx-evil: 1" } };
	const struct rpc_metadata upper[] = { { "X-Request-Id", "abc" } };
	grpc_status_code st;
	struct app_error err;
	User *u;

	assert_int_equal(call_user(shared.ch, ECHO, 0, md, 1, 2000, &u, &err, &st), -1);
	assert_null(u);
	assert_int_equal(st, GRPC_STATUS_INVALID_ARGUMENT);
	assert_int_equal(err.code, ERR_BAD_REQUEST);
	assert_int_equal(call_user(shared.ch, ECHO, 0, upper, 1, 2000, &u, &err, &st), -1);
	assert_int_equal(err.code, ERR_BAD_REQUEST);
}

static void test_remaining_ms_follows_deadline(void **state)
{
	struct app_error err;
	User *u;

	assert_int_equal(call_user(shared.ch, ECHO, 0, NULL, 0, 3000, &u, &err, NULL), 0);
	assert_true(u->version > 2000);
	/* grpc-timeout travels rounded up and the server's clock is cached: a
	 * few ms over the caller's figure is gRPC's doing, not ours. */
	assert_true(u->version <= 3050);
	free_user(u);
}

/* ---- deadlines and unreachable targets --------------------------------------------- */

static void test_deadline_exceeded_is_gateway_timeout(void **state)
{
	grpc_status_code st;
	struct app_error err;
	int64_t t0 = mono_ms(), elapsed;
	User *u;

	assert_int_equal(call_user(shared.ch, SLEEP, 600, NULL, 0, 200, &u, &err, &st), -1);
	elapsed = mono_ms() - t0;
	assert_null(u);
	assert_int_equal(st, GRPC_STATUS_DEADLINE_EXCEEDED);
	assert_int_equal(err.code, ERR_GATEWAY_TIMEOUT);
	assert_true(err.message[0] != '\0');
	assert_true(elapsed >= 190);
	assert_true(elapsed < 300);
}

static int closed_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static void test_unreachable_target_is_unavailable(void **state)
{
	char target[64];
	struct rpc_channel *ch;
	grpc_status_code st;
	struct app_error err;
	int64_t t0;
	User *u;

	snprintf(target, sizeof(target), "127.0.0.1:%d", closed_port());
	ch = rpc_channel_new(target);
	for (int i = 0; i < 2; i++) { /* first connection attempt, then a failing channel */
		t0 = mono_ms();
		assert_int_equal(call_user(ch, GET_USER, 1, NULL, 0, 1000, &u, &err, &st), -1);
		assert_true(mono_ms() - t0 < 1000);
		assert_int_equal(st, GRPC_STATUS_UNAVAILABLE);
		assert_int_equal(err.code, ERR_SERVICE_UNAVAILABLE);
		assert_string_equal(err.message, USERS_SERVICE " is unavailable");
	}
	assert_int_equal(rpc_health_check(ch, "", 500), -1);
	rpc_channel_free(ch);
}

/* ---- health -------------------------------------------------------------------- */

static void test_health(void **state)
{
	Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	ProtobufCMessage *reply;
	grpc_status_code st;
	struct app_error err;

	assert_int_equal(rpc_health_check(shared.ch, "", 1000), 1);
	assert_int_equal(rpc_health_check(shared.ch, USERS_SERVICE, 1000), 1);
	assert_int_equal(rpc_health_check(shared.ch, "agentos.posts.v1.PostsService", 1000), -1);

	req.service = (char *)"agentos.posts.v1.PostsService";
	assert_int_equal(rpc_call_unary(shared.ch, HEALTH, &req.base,
					&grpc__health__v1__health_check_response__descriptor, NULL,
					0, 1000, &reply, &err, &st),
			 -1);
	assert_int_equal(st, GRPC_STATUS_NOT_FOUND);
	assert_int_equal(err.code, ERR_NOT_FOUND);

	atomic_store(&app.healthy, false);
	assert_int_equal(rpc_health_check(shared.ch, "", 1000), 2);
	assert_int_equal(rpc_health_check(shared.ch, USERS_SERVICE, 1000), 2);
	atomic_store(&app.healthy, true);
	assert_int_equal(rpc_health_check(shared.ch, "", 1000), 1);
}

/* ---- concurrency ------------------------------------------------------------------ */

#define CONC_THREADS 8
#define CONC_CALLS 50

struct conc_arg {
	int index;
	int ok;
};

static void *conc_main(void *p)
{
	struct conc_arg *a = p;

	for (int i = 0; i < CONC_CALLS; i++) {
		int64_t id = a->index * 1000 + i;
		char email[64];
		struct app_error err;
		User *u;

		snprintf(email, sizeof(email), "user%lld@example.com", (long long)id);
		if (call_user(shared.ch, GET_USER, id, NULL, 0, 5000, &u, &err, NULL) == 0 &&
		    u->id == id && strcmp(u->email, email) == 0)
			a->ok++;
		free_user(u);
	}
	return NULL;
}

static void test_concurrent_calls(void **state)
{
	pthread_t t[CONC_THREADS];
	struct conc_arg args[CONC_THREADS];
	int ok = 0;

	for (int i = 0; i < CONC_THREADS; i++) {
		args[i] = (struct conc_arg){ .index = i + 1 };
		assert_int_equal(pthread_create(&t[i], NULL, conc_main, &args[i]), 0);
	}
	for (int i = 0; i < CONC_THREADS; i++) {
		pthread_join(t[i], NULL);
		ok += args[i].ok;
	}
	assert_int_equal(ok, CONC_THREADS * CONC_CALLS);
}

/* ---- logs ----------------------------------------------------------------------- */

/* The JSON log line whose requestId is id, waiting up to 2 s for it (the
 * server logs after sending the reply). Caller json_decref()s it. */
static json_t *find_log_line(const char *id)
{
	for (int tries = 0; tries < 200; tries++) {
		off_t size = lseek(log_fd, 0, SEEK_END);
		char *buf = xmalloc((size_t)size + 1);
		ssize_t got = pread(log_fd, buf, (size_t)size, 0);
		json_t *found = NULL;

		buf[got > 0 ? got : 0] = '\0';
		for (char *line = buf; line && *line && !found;) {
			char *nl = strchr(line, '\n');
			json_t *j;

			if (nl)
				*nl = '\0';
			j = json_loads(line, 0, NULL);
			if (j && json_is_string(json_object_get(j, "requestId")) &&
			    strcmp(json_string_value(json_object_get(j, "requestId")), id) == 0)
				found = j;
			else
				json_decref(j);
			line = nl ? nl + 1 : NULL;
		}
		free(buf);
		if (found)
			return found;
		sleep_ms(10);
	}
	return NULL;
}

static void test_rpc_log_lines(void **state)
{
	const struct rpc_metadata ok_md[] = { { "x-request-id", "log-check-ok" },
					      { "authorization", "Bearer s3cr3t-t0ken" },
					      { "x-api-key", "ak_s3cr3t_key" } };
	const struct rpc_metadata bad_md[] = { { "x-request-id", "log-check-404" } };
	struct app_error err;
	json_t *j;
	User *u;

	assert_int_equal(call_user(shared.ch, GET_USER, 7, ok_md, 3, 2000, &u, &err, NULL), 0);
	free_user(u);
	assert_int_equal(call_user(shared.ch, GET_USER, 404, bad_md, 1, 2000, &u, &err, NULL), -1);

	j = find_log_line("log-check-ok");
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
	assert_string_equal(json_string_value(json_object_get(j, "service")), "users");
	assert_string_equal(json_string_value(json_object_get(j, "method")), GET_USER);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "OK");
	assert_null(json_object_get(j, "code"));
	assert_true(json_is_number(json_object_get(j, "duration")));
	assert_true(json_number_value(json_object_get(j, "duration")) >= 0);
	json_decref(j);

	j = find_log_line("log-check-404");
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "NOT_FOUND");
	assert_string_equal(json_string_value(json_object_get(j, "code")), "NOT_FOUND");
	json_decref(j);

	/* No metadata value other than the request id ever reaches a log. */
	{
		off_t size = lseek(log_fd, 0, SEEK_END);
		char *buf = xmalloc((size_t)size + 1);
		ssize_t got = pread(log_fd, buf, (size_t)size, 0);

		buf[got > 0 ? got : 0] = '\0';
		assert_null(strstr(buf, "s3cr3t"));
		free(buf);
	}
}

/* ---- group 1: one shared server ---------------------------------------------------- */

static int shared_setup(void **state)
{
	start_server(&shared, 4, 5000);
	return 0;
}

static int shared_teardown(void **state)
{
	rpc_server_stop(shared.srv);
	return join_server(&shared) == 0 ? 0 : -1;
}

/* ---- group 2: lifecycle, one server per test --------------------------------------- */

struct slow_call {
	struct rpc_channel *ch;
	int64_t ms;
	int rc;
	int64_t id;
	int64_t done_at;
	grpc_status_code status;
};

static void *slow_main(void *p)
{
	struct slow_call *sc = p;
	struct app_error err;
	User *u;

	sc->rc = call_user(sc->ch, SLEEP, sc->ms, NULL, 0, 5000, &u, &err, &sc->status);
	sc->id = u ? u->id : -1;
	sc->done_at = mono_ms();
	free_user(u);
	return NULL;
}

static void wait_sleeping(int n)
{
	for (int i = 0; i < 300 && atomic_load(&app.sleeping) < n; i++)
		sleep_ms(10);
	assert_int_equal(atomic_load(&app.sleeping), n);
}

static void test_stop_lets_inflight_call_finish(void **state)
{
	struct running r;
	struct slow_call sc = { .ms = 500 };
	struct app_error err;
	grpc_status_code st;
	pthread_t t;
	User *u;
	char target[64];

	start_server(&r, 2, 5000);
	sc.ch = r.ch;
	assert_int_equal(pthread_create(&t, NULL, slow_main, &sc), 0);
	wait_sleeping(1);
	rpc_server_stop(r.srv);
	pthread_join(r.thread, NULL);
	assert_int_equal(r.rc, 0);
	pthread_join(t, NULL);
	assert_int_equal(sc.rc, 0);
	assert_int_equal(sc.id, 500);

	/* Stopped means no longer listening. */
	snprintf(target, sizeof(target), "127.0.0.1:%d", rpc_server_port(r.srv));
	rpc_channel_free(r.ch);
	r.ch = rpc_channel_new(target);
	assert_int_equal(call_user(r.ch, GET_USER, 1, NULL, 0, 1000, &u, &err, &st), -1);
	assert_int_equal(err.code, ERR_SERVICE_UNAVAILABLE);
	rpc_server_free(r.srv);
	rpc_channel_free(r.ch);
}

static void test_grace_period_cancels_slow_call(void **state)
{
	struct running r;
	struct slow_call sc = { .ms = 1500 };
	int64_t stop_at;
	pthread_t t;

	start_server(&r, 2, 100);
	sc.ch = r.ch;
	assert_int_equal(pthread_create(&t, NULL, slow_main, &sc), 0);
	wait_sleeping(1);
	stop_at = mono_ms();
	rpc_server_stop(r.srv);
	pthread_join(t, NULL);
	assert_int_equal(sc.rc, -1);
	assert_int_not_equal(sc.status, GRPC_STATUS_OK);
	assert_true(sc.done_at - stop_at < 800); /* cancelled, not served after 1.5 s */
	assert_int_equal(join_server(&r), 0);
}

static void test_sigterm_stops_server(void **state)
{
	struct running r;

	start_server(&r, 1, 1000);
	assert_int_equal(rpc_health_check(r.ch, "", 1000), 1);
	kill(getpid(), SIGTERM); /* blocked everywhere: only the server's signalfd takes it */
	assert_int_equal(join_server(&r), 0);
}

static void test_stop_before_run(void **state)
{
	struct rpc_server *s = new_server("127.0.0.1:0", 1, 1000);

	assert_non_null(s);
	rpc_server_stop(s);
	assert_int_equal(rpc_server_run(s), 0);
	rpc_server_free(s);
}

static void test_port_in_use_fails(void **state)
{
	struct rpc_server *a = new_server("127.0.0.1:0", 1, 1000);
	char addr[64];

	assert_non_null(a);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", rpc_server_port(a));
	assert_null(new_server(addr, 1, 1000));
	rpc_server_free(a); /* never ran */
	rpc_server_free(NULL);
}

/* ---- rich errors, directly ----------------------------------------------------------- */

static void test_rich_error_round_trip(void **state)
{
	Google__Rpc__Status *st;
	Google__Rpc__ErrorInfo *info;
	struct app_error in, out;
	uint8_t *buf;
	size_t len;

	app_error_init(&in);
	app_error_add_violation(&in, "name", "must not be empty");
	app_error_add_violation(&in, "email", "is already taken");
	app_error_set(&in, ERR_VALIDATION_ERROR, "Bad fields: %d", 2);
	rich_error_encode(&in, "users", &buf, &len);

	st = google__rpc__status__unpack(NULL, len, buf);
	assert_non_null(st);
	assert_int_equal(st->code, GRPC_STATUS_INVALID_ARGUMENT);
	assert_string_equal(st->message, "Bad fields: 2");
	assert_int_equal(st->n_details, 2);
	assert_string_equal(st->details[0]->type_url, "type.googleapis.com/google.rpc.ErrorInfo");
	assert_string_equal(st->details[1]->type_url, "type.googleapis.com/google.rpc.BadRequest");
	info = google__rpc__error_info__unpack(NULL, st->details[0]->value.len,
					       st->details[0]->value.data);
	assert_string_equal(info->reason, "VALIDATION_ERROR");
	assert_string_equal(info->domain, "users");
	google__rpc__error_info__free_unpacked(info, NULL);
	google__rpc__status__free_unpacked(st, NULL);

	assert_int_equal(rich_error_decode(buf, len, &out), 0);
	assert_int_equal(out.code, ERR_VALIDATION_ERROR);
	assert_string_equal(out.message, "Bad fields: 2");
	assert_int_equal(out.nviolations, 2);
	assert_string_equal(out.violations[0].field, "name");
	assert_string_equal(out.violations[0].description, "must not be empty");
	assert_string_equal(out.violations[1].field, "email");
	assert_string_equal(out.violations[1].description, "is already taken");
	free(buf);

	/* No violations: no BadRequest. */
	app_error_init(&in);
	app_error_set(&in, ERR_FORBIDDEN, NULL);
	rich_error_encode(&in, "posts", &buf, &len);
	st = google__rpc__status__unpack(NULL, len, buf);
	assert_int_equal(st->code, GRPC_STATUS_PERMISSION_DENIED);
	assert_int_equal(st->n_details, 1);
	google__rpc__status__free_unpacked(st, NULL);
	assert_int_equal(rich_error_decode(buf, len, &out), 0);
	assert_int_equal(out.code, ERR_FORBIDDEN);
	assert_string_equal(out.message, "Insufficient permissions");
	assert_int_equal(out.nviolations, 0);
	free(buf);
}

/* Packs a Status with the given details (type URL + packed message). */
static uint8_t *pack_status(int code, const char *message, Google__Protobuf__Any **details,
			    size_t n, size_t *len)
{
	Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
	uint8_t *buf;

	st.code = code;
	st.message = (char *)message;
	st.n_details = n;
	st.details = details;
	*len = google__rpc__status__get_packed_size(&st);
	buf = xmalloc(*len);
	google__rpc__status__pack(&st, buf);
	return buf;
}

static void any_of(Google__Protobuf__Any *any, const char *url, const ProtobufCMessage *m)
{
	google__protobuf__any__init(any);
	any->type_url = (char *)url;
	any->value.len = protobuf_c_message_get_packed_size(m);
	any->value.data = xmalloc(any->value.len);
	protobuf_c_message_pack(m, any->value.data);
}

static void test_rich_error_decode_tolerant(void **state)
{
	Google__Rpc__ErrorInfo info = GOOGLE__RPC__ERROR_INFO__INIT;
	Google__Protobuf__Any any[2], *anyp[2] = { &any[0], &any[1] };
	struct app_error e;
	uint8_t *buf;
	size_t len;

	/* An unknown detail type before a known ErrorInfo is skipped. */
	google__protobuf__any__init(&any[0]);
	any[0].type_url = (char *)"type.googleapis.com/google.rpc.RetryInfo";
	any[0].value.data = (uint8_t *)"\xff\xff\xff";
	any[0].value.len = 3;
	info.reason = (char *)"NOT_FOUND";
	any_of(&any[1], "type.googleapis.com/google.rpc.ErrorInfo", &info.base);
	buf = pack_status(GRPC_STATUS_NOT_FOUND, "Post 9 not found", anyp, 2, &len);
	assert_int_equal(rich_error_decode(buf, len, &e), 0);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_string_equal(e.message, "Post 9 not found");
	free(buf);
	free(any[1].value.data);

	/* A reason this build does not know: -1, code from the status. */
	info.reason = (char *)"SOMETHING_NEW";
	any_of(&any[1], "type.googleapis.com/google.rpc.ErrorInfo", &info.base);
	buf = pack_status(GRPC_STATUS_PERMISSION_DENIED, "nope", &anyp[1], 1, &len);
	assert_int_equal(rich_error_decode(buf, len, &e), -1);
	assert_int_equal(e.code, ERR_FORBIDDEN);
	assert_string_equal(e.message, "nope");
	free(buf);
	free(any[1].value.data);

	/* Not a Status at all. */
	assert_int_equal(rich_error_decode((const uint8_t *)"\x0a\xff\xff\xff\xff", 5, &e), -1);
	assert_int_equal(e.code, ERR_INTERNAL_ERROR);
}

static void test_rich_error_decode_bounded(void **state)
{
	Google__Rpc__BadRequest bad = GOOGLE__RPC__BAD_REQUEST__INIT;
	Google__Rpc__BadRequest__FieldViolation fv[20], *fvp[20];
	Google__Protobuf__Any any, *anyp = &any;
	char longtext[600], msg[600];
	struct app_error e;
	uint8_t *buf;
	size_t len;

	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	/* "é" (2 bytes) repeated: any cut at an odd byte would split one. */
	for (size_t i = 0; i + 2 < sizeof(msg); i += 2)
		memcpy(msg + i, "\xc3\xa9", 2);
	msg[sizeof(msg) - 1] = '\0';
	msg[sizeof(msg) - 2] = '\0';
	for (int i = 0; i < 20; i++) {
		google__rpc__bad_request__field_violation__init(&fv[i]);
		fv[i].field = longtext;
		fv[i].description = longtext;
		fvp[i] = &fv[i];
	}
	bad.n_field_violations = 20;
	bad.field_violations = fvp;
	any_of(&any, "type.googleapis.com/google.rpc.BadRequest", &bad.base);
	buf = pack_status(GRPC_STATUS_INVALID_ARGUMENT, msg, &anyp, 1, &len);

	assert_int_equal(rich_error_decode(buf, len, &e), -1); /* no ErrorInfo */
	assert_int_equal(e.code, ERR_VALIDATION_ERROR);
	assert_int_equal(e.nviolations, ERR_MAX_VIOLATIONS);
	assert_int_equal(strlen(e.violations[15].field), ERR_FIELD_MAX - 1);
	assert_int_equal(strlen(e.violations[15].description), ERR_DESC_MAX - 1);
	assert_true(strlen(e.message) < ERR_MESSAGE_MAX);
	assert_int_equal(strlen(e.message) % 2, 0); /* whole characters only */
	free(buf);
	free(any.value.data);
}

/* A call made while serving another ends before the caller's deadline. */
/* ---- trailers and streams -------------------------------------------------------- */

static void test_trailer_reaches_the_client(void **state)
{
	GetUserRequest req = AGENTOS__USERS__V1__GET_USER_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	struct app_error err;
	char v[8];

	req.id = 21;
	assert_int_equal(rpc_call_unary_trailer(shared.ch, TRAILER, &req.base,
						&agentos__users__v1__user__descriptor, NULL, 0,
						2000, &reply, &err, NULL, "x-test-seq", v,
						sizeof(v)),
			 0);
	assert_string_equal(v, "42");
	protobuf_c_message_free_unpacked(reply, NULL);
	/* absent: "" */
	assert_int_equal(rpc_call_unary_trailer(shared.ch, GET_USER, &req.base,
						&agentos__users__v1__user__descriptor, NULL, 0,
						2000, &reply, &err, NULL, "x-test-seq", v,
						sizeof(v)),
			 0);
	assert_string_equal(v, "");
	protobuf_c_message_free_unpacked(reply, NULL);
}

/* Reads a stream to its end: the ids seen, and the final error. */
static int read_stream(struct rpc_client_stream *s, int64_t *ids, int max, struct app_error *err)
{
	ProtobufCMessage *m;
	int n = 0, rc;

	while ((rc = rpc_client_stream_next(s, &agentos__users__v1__user__descriptor, 2000, &m,
					    err)) == 1) {
		if (n < max)
			ids[n] = ((User *)m)->id;
		n++;
		protobuf_c_message_free_unpacked(m, NULL);
	}
	assert_int_equal(rc, -1); /* never a 2 s timeout here */
	return n;
}

static void test_server_stream_delivers_in_order(void **state)
{
	GetUserRequest req = AGENTOS__USERS__V1__GET_USER_REQUEST__INIT;
	struct rpc_client_stream *s;
	struct app_error err;
	int64_t ids[8];

	req.id = 5;
	s = rpc_client_stream_open(shared.ch, COUNT, &req.base, NULL, 0);
	assert_int_equal(read_stream(s, ids, 8, &err), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(ids[i], i + 1);
	/* ended by the server with OK */
	assert_int_equal(err.code, ERR_SERVICE_UNAVAILABLE);
	rpc_client_stream_close(s);

	req.id = 404; /* one message, then a rich error */
	s = rpc_client_stream_open(shared.ch, COUNT, &req.base, NULL, 0);
	assert_int_equal(read_stream(s, ids, 8, &err), 1);
	assert_int_equal(err.code, ERR_NOT_FOUND);
	assert_string_equal(err.message, "no more users");
	rpc_client_stream_close(s);
}

static void test_stream_to_unreachable_target(void **state)
{
	GetUserRequest req = AGENTOS__USERS__V1__GET_USER_REQUEST__INIT;
	struct rpc_channel *ch = rpc_channel_new("127.0.0.1:1");
	struct rpc_client_stream *s = rpc_client_stream_open(ch, COUNT, &req.base, NULL, 0);
	struct app_error err;
	int64_t ids[1];

	assert_int_equal(read_stream(s, ids, 1, &err), 0);
	assert_int_equal(err.code, ERR_SERVICE_UNAVAILABLE);
	rpc_client_stream_close(s);
	rpc_channel_free(ch);
}

/* A client that closes its stream is noticed by the handler; streams do not
 * hold workers: with one worker, unary calls go on while streams are open. */
static void test_streams_leave_workers_free(void **state)
{
	GetUserRequest req = AGENTOS__USERS__V1__GET_USER_REQUEST__INIT;
	struct rpc_client_stream *s[3];
	struct running r;
	struct app_error err;
	ProtobufCMessage *m;
	User *u;

	start_server(&r, 1, 1000);
	atomic_store(&app.held, 0);
	for (int i = 0; i < 3; i++) {
		s[i] = rpc_client_stream_open(r.ch, HOLD, &req.base, NULL, 0);
		assert_int_equal(rpc_client_stream_next(s[i], &agentos__users__v1__user__descriptor,
							2000, &m, &err),
				 1);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	assert_int_equal(atomic_load(&app.holding), 3);
	assert_int_equal(call_user(r.ch, GET_USER, 7, NULL, 0, 2000, &u, &err, NULL), 0);
	free_user(u);
	rpc_client_stream_close(s[0]);
	for (int i = 0; i < 100 && atomic_load(&app.held) < 1; i++)
		sleep_ms(10);
	assert_int_equal(atomic_load(&app.held), 1);
	/* stopping ends the other two promptly, with the server */
	rpc_server_stop(r.srv);
	pthread_join(r.thread, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(atomic_load(&app.holding), 0);
	for (int i = 1; i < 3; i++) {
		assert_int_equal(rpc_client_stream_next(s[i], &agentos__users__v1__user__descriptor,
							2000, &m, &err),
				 -1);
		rpc_client_stream_close(s[i]);
	}
	rpc_server_free(r.srv);
	rpc_channel_free(r.ch);
}

/* ---- connections the server closes ------------------------------------------ */

#define AGE_MS 200      /* the server's max connection age here */
#define AGE_RUN_MS 2500 /* a dozen connections closed under the callers */
#define AGE_THREADS 4

struct aging {
	struct rpc_channel *ch;
	struct rpc_async *async;
	atomic_int calls, failed, async_done;
};

static void *aging_main(void *p)
{
	struct aging *g = p;
	int64_t until = mono_ms() + AGE_RUN_MS;

	while (mono_ms() < until) {
		struct app_error err;
		User *u = NULL;

		atomic_fetch_add(&g->calls, 1);
		if (call_user(g->ch, GET_USER, 7, NULL, 0, 2000, &u, &err, NULL) != 0) {
			atomic_fetch_add(&g->failed, 1);
			fprintf(stderr, "call failed: %s\n", err.message);
		}
		free_user(u);
	}
	return NULL;
}

static void aging_done(void *arg, struct rpc_result *res)
{
	struct aging *g = arg;

	if (res->rc != 0) {
		atomic_fetch_add(&g->failed, 1);
		fprintf(stderr, "async call failed: %s\n", res->err.message);
	}
	atomic_fetch_add(&g->async_done, 1);
}

/* A server closes every connection at its max age (two-step GOAWAY); calls
 * sent on a closing connection are refused unseen, and the client sends
 * them again: synchronous and asynchronous callers see no failure. */
static void test_calls_outlive_closing_connections(void **state)
{
	static const char *const names[] = { USERS_SERVICE, NULL };
	struct rpc_server_config cfg = {
		.listen_addr = "127.0.0.1:0",
		.domain = "users",
		.health_services = names,
		.app = &app,
		.resolve = resolve,
		.max_connection_age_ms = AGE_MS,
	};
	GetUserRequest req = AGENTOS__USERS__V1__GET_USER_REQUEST__INIT;
	struct aging g = { 0 };
	pthread_t t[AGE_THREADS];
	struct running r = { .rc = -99 };
	char target[64];
	int sent = 0;

	(void)state;
	r.srv = rpc_server_new(&cfg, methods, ARRAY_SIZE(methods));
	assert_non_null(r.srv);
	assert_int_equal(pthread_create(&r.thread, NULL, run_main, &r), 0);
	snprintf(target, sizeof(target), "127.0.0.1:%d", rpc_server_port(r.srv));
	g.ch = r.ch = rpc_channel_new(target);
	g.async = rpc_async_new(2);
	req.id = 7;
	for (int i = 0; i < AGE_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, aging_main, &g), 0);
	for (int64_t until = mono_ms() + AGE_RUN_MS; mono_ms() < until; sent++) {
		while (sent - atomic_load(&g.async_done) >= 16) /* 16 in flight */
			sleep_ms(1);
		rpc_call_async(g.async, g.ch, GET_USER, &req.base,
			       &agentos__users__v1__user__descriptor, NULL, 0, 2000, NULL,
			       aging_done, &g);
	}
	for (int i = 0; i < AGE_THREADS; i++)
		pthread_join(t[i], NULL);
	rpc_async_free(g.async);
	fprintf(stderr, "%d synchronous and %d asynchronous calls, %d failed\n",
		atomic_load(&g.calls), sent, atomic_load(&g.failed));
	assert_int_equal(atomic_load(&g.async_done), sent);
	assert_int_equal(atomic_load(&g.failed), 0);
	assert_true(atomic_load(&g.calls) > 100);
	rpc_server_stop(r.srv);
	assert_int_equal(join_server(&r), 0);
}

static void test_deadline_within(void **state)
{
	(void)state;
	assert_int_equal(rpc_deadline_within(5000, INT64_MAX), 5000); /* caller set none */
	assert_int_equal(rpc_deadline_within(5000, 10000), 5000);     /* ours is shorter */
	assert_int_equal(rpc_deadline_within(5000, 1000), 1000 - RPC_DEADLINE_MARGIN_MS);
	assert_int_equal(rpc_deadline_within(5000, 30), 1); /* never zero */
	assert_int_equal(rpc_deadline_within(5000, 0), 1);
}

int main(void)
{
	const struct CMUnitTest served[] = {
		cmocka_unit_test(test_unary_ok),
		cmocka_unit_test(test_not_found_is_rich),
		cmocka_unit_test(test_validation_error_with_violations),
		cmocka_unit_test(test_unknown_method_is_unimplemented),
		cmocka_unit_test(test_undecodable_request_is_bad_request),
		cmocka_unit_test(test_undecodable_reply_is_internal),
		cmocka_unit_test(test_request_id_passes_through),
		cmocka_unit_test(test_bad_request_id_is_replaced),
		cmocka_unit_test(test_caller_resolved_by_the_runtime),
		cmocka_unit_test(test_authorization_metadata_readable),
		cmocka_unit_test(test_illegal_metadata_is_bad_request),
		cmocka_unit_test(test_remaining_ms_follows_deadline),
		cmocka_unit_test(test_deadline_exceeded_is_gateway_timeout),
		cmocka_unit_test(test_unreachable_target_is_unavailable),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_concurrent_calls),
		cmocka_unit_test(test_rpc_log_lines),
		cmocka_unit_test(test_trailer_reaches_the_client),
		cmocka_unit_test(test_server_stream_delivers_in_order),
		cmocka_unit_test(test_stream_to_unreachable_target),
	};
	const struct CMUnitTest lifecycle[] = {
		cmocka_unit_test(test_streams_leave_workers_free),
		cmocka_unit_test(test_stop_lets_inflight_call_finish),
		cmocka_unit_test(test_grace_period_cancels_slow_call),
		cmocka_unit_test(test_sigterm_stops_server),
		cmocka_unit_test(test_stop_before_run),
		cmocka_unit_test(test_port_in_use_fails),
		cmocka_unit_test(test_calls_outlive_closing_connections),
	};
	const struct CMUnitTest codec[] = {
		cmocka_unit_test(test_rich_error_round_trip),
		cmocka_unit_test(test_deadline_within),
		cmocka_unit_test(test_rich_error_decode_tolerant),
		cmocka_unit_test(test_rich_error_decode_bounded),
	};
	FILE *f;
	int failed = 0;

	/* Before any thread: SIGTERM/SIGINT blocked process-wide. */
	rpc_runtime_init();
	atomic_store(&app.healthy, true);
	f = tmpfile();
	if (!f)
		return 1;
	log_fd = dup(fileno(f));
	fclose(f);
	log_set_fd(log_fd);

	failed += cmocka_run_group_tests_name("rpc_served", served, shared_setup, shared_teardown);
	failed += cmocka_run_group_tests_name("rpc_lifecycle", lifecycle, NULL, NULL);
	failed += cmocka_run_group_tests_name("rich_error", codec, NULL, NULL);

	log_set_fd(1);
	close(log_fd);
	rpc_runtime_shutdown();
	return failed ? 1 : 0;
}
