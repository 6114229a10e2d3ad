/* revocation_rest_it.c - revocation as a user meets it (API.md §6; README
 * "Revocation"), over the real stack: the auth service owns the state in
 * PostgreSQL, every other process holds it in memory and follows the feed.
 *
 *   - within one wall-clock second: log in, change the password (or the
 *     role, disable, delete), and the earlier token is 401 TOKEN_REVOKED on
 *     the very next request while a new login works;
 *   - the same while another relay holds the change's outbox row (the write
 *     delivers its own not-before and waits for its feed position);
 *   - a logout survives Redis being flushed and restarted;
 *   - propagation to a second gateway and to the users and posts services
 *     over gRPC, measured (printed) and bounded by 1 s;
 *   - the auth service stopped: the last state is enforced, credentials get
 *     503 after REVOCATION_MAX_STALENESS_MS (anonymous routes keep working,
 *     /health and /health/ready say so), a gateway and a posts service
 *     started meanwhile are not ready, and everything recovers when auth is
 *     back, nothing restarted;
 *   - 10,000 cached GET /users/:id with a bearer token make no Redis call
 *     other than the cache read and the rate limit. */
#include <libpq-fe.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agentos/posts/v1/posts.pb-c.h"
#include "agentos/users/v1/users.pb-c.h"
#include "forge.h"
#include "support/http.h"
#include "it.h"
#include "stack.h"
#include "util.h"

#define PASSWORD "password123"
#define NEW_PASSWORD "a-new-password-9"
#define STALENESS_MS 2000
#define PROPAGATION_BOUND_MS 1000

static struct it_gateway G;
static struct proc *Gw2;
static int Port2;
static struct rpc_channel *Users_ch, *Posts_ch;

static int setup(void **state)
{
	static const char *const extra[] = { "AUTH_RATE_LIMIT_MAX=1000000",
					     "REVOCATION_MAX_STALENESS_MS=2000", NULL };

	if (!it_gateway_start(&G, "revocation_rest_it", extra))
		return -1;
	Port2 = stack_free_port();
	Gw2 = it_gateway_spawn_extra(&G, "gateway2", Port2, extra);
	if (!Gw2)
		return -1;
	Users_ch = rpc_channel_new(G.users_target);
	Posts_ch = rpc_channel_new(G.posts_target);
	return 0;
}

static int teardown(void **state)
{
	int gw2 = proc_stop(Gw2);

	rpc_channel_free(Users_ch);
	rpc_channel_free(Posts_ch);
	if (gw2 != 0)
		fprintf(stderr, "gateway2 exited with %d\n", gw2);
	return it_gateway_stop(&G) == 0 && gw2 == 0 ? 0 : -1;
}

/* ---- requests -------------------------------------------------------------------- */

/* A request to the gateway on port. */
static struct it_http_result on(int port, const char *method, const char *path, const char *token,
				const char *body)
{
	char url[256], auth[2048];
	const char *headers[3] = { NULL };
	size_t n = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1%s", port, path);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		headers[n++] = auth;
	}
	if (body)
		headers[n++] = "Content-Type: application/json";
	return it_http(method, url, headers, body);
}

static long status_on(int port, const char *method, const char *path, const char *token,
		      const char *body)
{
	struct it_http_result r = on(port, method, path, token, body);
	long status = r.status;

	it_http_release(&r);
	return status;
}

static void expect(struct it_http_result r, long status, const char *code)
{
	bool ok = code ? it_http_is_error(&r, status, code, IT_ANY_DETAILS) : r.status == status;

	if (!ok)
		it_http_dump(&r, code ? code : "status");
	it_http_release(&r);
	assert_true(ok);
}

/* Logs in on port: the access token (malloc'd), or NULL with *status. */
static char *login(int port, const char *email, const char *password, long *status)
{
	char body[256];
	struct it_http_result r;
	char *token = NULL;

	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
	r = on(port, "POST", "/auth/login", NULL, body);
	if (status)
		*status = r.status;
	if (r.status == 200)
		token = xstrdup(it_json_str(it_data(&r), "accessToken"));
	it_http_release(&r);
	return token;
}

static int64_t iat_of(const char *token)
{
	json_t *claims = it_jwt_claims(token);
	int64_t iat = json_integer_value(json_object_get(claims, "iat"));

	json_decref(claims);
	return iat;
}

/* GET /auth/me with token: 200, or the 401 TOKEN_REVOKED expected. */
static void expect_me(int port, const char *token, bool revoked)
{
	struct it_http_result r = on(port, "GET", "/auth/me", token, NULL);

	if (revoked)
		expect(r, 401, "TOKEN_REVOKED");
	else
		expect(r, 200, NULL);
}

/* ---- the same second ----------------------------------------------------------------- */

enum change { CHANGE_PASSWORD, CHANGE_ROLE, CHANGE_DISABLE, CHANGE_DELETE };

static void make_change(enum change what, int64_t id, const char *token)
{
	char path[64];

	snprintf(path, sizeof(path), "/users/%lld", (long long)id);
	switch (what) {
	case CHANGE_PASSWORD:
		snprintf(path, sizeof(path), "/users/%lld/password", (long long)id);
		expect(it_gateway_call(&G, "POST", path, token, NULL,
				       "{\"currentPassword\":\"" PASSWORD "\","
				       "\"newPassword\":\"" NEW_PASSWORD "\"}"),
		       204, NULL);
		break;
	case CHANGE_ROLE:
		expect(it_gateway_call(&G, "PATCH", path, G.admin_token, NULL,
				       "{\"role\":\"moderator\"}"),
		       200, NULL);
		break;
	case CHANGE_DISABLE:
		expect(it_gateway_call(&G, "PATCH", path, G.admin_token, NULL,
				       "{\"isActive\":false}"),
		       200, NULL);
		break;
	case CHANGE_DELETE:
		expect(it_gateway_call(&G, "DELETE", path, G.admin_token, NULL, NULL), 204, NULL);
		break;
	}
}

/* Log in, change, use the earlier token, log in again: on a fresh account,
 * and all within one wall-clock second (tried again, on another account,
 * when a slow machine crossed a second boundary). */
static bool same_second_once(enum change what, const char *email)
{
	int64_t id = it_gateway_sign_up(&G, email, "Same Second");
	char *before, *after = NULL, path[64];
	long status;
	bool same;

	it_next_second();
	before = login(G.port, email, PASSWORD, &status);
	assert_non_null(before);
	make_change(what, id, before);
	/* the very next request is refused */
	expect_me(G.port, before, true);
	if (what == CHANGE_DISABLE) { /* a new login needs the account active again */
		snprintf(path, sizeof(path), "/users/%lld", (long long)id);
		expect(it_gateway_call(&G, "PATCH", path, G.admin_token, NULL,
				       "{\"isActive\":true}"),
		       200, NULL);
	}
	if (what == CHANGE_DELETE) { /* the account is gone: its login is refused */
		assert_null(login(G.port, email, PASSWORD, &status));
		assert_int_equal(status, 401);
		same = iat_of(before) == now_unix_ms() / 1000;
	} else {
		after = login(G.port, email, what == CHANGE_PASSWORD ? NEW_PASSWORD : PASSWORD,
			      &status);
		if (!after)
			fprintf(stderr, "login after the change: HTTP %ld\n", status);
		assert_non_null(after);
		expect_me(G.port, after, false);
		same = iat_of(before) == iat_of(after);
	}
	free(before);
	free(after);
	return same;
}

static void same_second(enum change what, const char *name)
{
	char email[96];

	for (int attempt = 0; attempt < 5; attempt++) {
		snprintf(email, sizeof(email), "ss.%s.%d@example.com", name, attempt);
		if (same_second_once(what, email))
			return;
		fprintf(stderr, "%s: crossed a second boundary, trying again\n", name);
	}
	fail_msg("the scenario never fitted in one second");
}

static void same_second_password_change(void **state)
{
	same_second(CHANGE_PASSWORD, "pw");
}

static void same_second_role_change(void **state)
{
	same_second(CHANGE_ROLE, "role");
}

static void same_second_disable(void **state)
{
	same_second(CHANGE_DISABLE, "off");
}

static void same_second_delete(void **state)
{
	same_second(CHANGE_DELETE, "del");
}

/* A rival relay (another users replica's, as far as the database can tell):
 * takes every queued revocation it can lock and holds it RIVAL_HOLD_MS
 * before letting go, undelivered. */
#define RIVAL_HOLD_MS 300

struct rival {
	pthread_t thread;
	atomic_bool stop;
	atomic_int caught; /* times it held a row */
};

static void *rival_main(void *arg)
{
	struct rival *r = arg;
	PGconn *c = PQconnectdb(G.db);

	while (PQstatus(c) == CONNECTION_OK && !atomic_load(&r->stop)) {
		PGresult *res;

		PQclear(PQexec(c, "BEGIN"));
		res = PQexec(c, "SELECT id FROM users.token_revocation_outbox"
				" FOR UPDATE SKIP LOCKED");
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0) {
			atomic_fetch_add(&r->caught, 1);
			sleep_ms(RIVAL_HOLD_MS);
		}
		PQclear(res);
		PQclear(PQexec(c, "ROLLBACK"));
	}
	PQfinish(c);
	return NULL;
}

static void refused_while_a_rival_relay_holds_the_row(void **state)
{
	struct rival r = { .caught = 0 };
	const char *pw[2] = { PASSWORD, NEW_PASSWORD };
	char body[160], path[64];
	int64_t id = it_gateway_sign_up(&G, "rival@example.com", "Rival");

	atomic_init(&r.stop, false);
	assert_int_equal(pthread_create(&r.thread, NULL, rival_main, &r), 0);
	snprintf(path, sizeof(path), "/users/%lld/password", (long long)id);
	for (int i = 0; i < 10; i++) {
		char *before = login(G.port, "rival@example.com", pw[i % 2], NULL);

		assert_non_null(before);
		snprintf(body, sizeof(body), "{\"currentPassword\":\"%s\",\"newPassword\":\"%s\"}",
			 pw[i % 2], pw[(i + 1) % 2]);
		expect(it_gateway_call(&G, "POST", path, before, NULL, body), 204, NULL);
		expect_me(G.port, before, true);
		free(before);
	}
	atomic_store(&r.stop, true);
	pthread_join(r.thread, NULL);
	fprintf(stderr, "the rival relay held a row %d times in 10 changes\n",
		atomic_load(&r.caught));
	/* what the rival let go undelivered, the relay delivers: the queue empties */
	for (int waited = 0;
	     waited < 3000 &&
	     it_sql_int(G.db, "SELECT count(*) FROM users.token_revocation_outbox") != 0;
	     waited += 50)
		sleep_ms(50);
	assert_int_equal(it_sql_int(G.db, "SELECT count(*) FROM users.token_revocation_outbox"), 0);
}

/* ---- durability -------------------------------------------------------------------------- */

static void logout_survives_a_redis_flush_and_restart(void **state)
{
	char *token;

	it_gateway_sign_up(&G, "durable@example.com", "Durable");
	token = login(G.port, "durable@example.com", PASSWORD, NULL);
	assert_non_null(token);
	expect_me(G.port, token, false);
	expect(on(G.port, "POST", "/auth/logout", token, NULL), 204, NULL);
	expect_me(G.port, token, true);
	assert_true(it_sql_exec(G.db, "SELECT 1")); /* the database holds it */
	assert_int_equal(it_sql_int(G.db,
				    "SELECT count(*) FROM auth.revocations WHERE jti IS NOT NULL"
				    " AND expires_at_ms > 0"),
			 it_sql_int(G.db,
				    "SELECT count(*) FROM auth.revocations WHERE jti IS NOT NULL"));
	it_redis_flushall(stack_redis_url(G.stack));
	stack_redis_stop(G.stack);
	stack_redis_start(G.stack);
	expect_me(G.port, token, true);
	expect_me(Port2, token, true);
	expect(on(G.port, "GET", "/users/me", token, NULL), 401, "TOKEN_REVOKED");
	free(token);
}

/* ---- propagation --------------------------------------------------------------------------- */

/* Milliseconds until a direct GetUser / ListPosts with token is refused. */
static int64_t grpc_refused_after(struct rpc_channel *ch, bool posts, const char *token,
				  int64_t start)
{
	Agentos__Users__V1__GetUserRequest gu = AGENTOS__USERS__V1__GET_USER_REQUEST__INIT;
	Agentos__Posts__V1__ListPostsRequest lp = AGENTOS__POSTS__V1__LIST_POSTS_REQUEST__INIT;

	for (;;) {
		struct it_result
			r = posts ? it_call(ch, "/agentos.posts.v1.PostsService/ListPosts",
					    &lp.base,
					    &agentos__posts__v1__list_posts_response__descriptor,
					    token, NULL)
				  : it_call(ch, "/agentos.users.v1.UsersService/GetUser", &gu.base,
					    &agentos__users__v1__user__descriptor, token, NULL);
		bool refused = r.err.code == ERR_TOKEN_REVOKED;

		it_result_release(&r);
		if (refused || mono_ms() - start > 5000)
			return mono_ms() - start;
		sleep_ms(1);
	}
}

/* Milliseconds until GET /users/me with token is a 401 on port; *tries the
 * requests it took. */
static int64_t http_refused_after(int port, const char *token, int64_t start, int *tries)
{
	*tries = 1;
	while (status_on(port, "GET", "/users/me", token, NULL) != 401 &&
	       mono_ms() - start < 5000) {
		(*tries)++;
		sleep_ms(1);
	}
	return mono_ms() - start;
}

static void measure(const char *what, const char *token, int64_t start)
{
	int tries1, tries2;
	int64_t gw1 = http_refused_after(G.port, token, start, &tries1);
	int64_t gw2 = http_refused_after(Port2, token, start, &tries2);
	int64_t users = grpc_refused_after(Users_ch, false, token, start);
	int64_t posts = grpc_refused_after(Posts_ch, true, token, start);

	fprintf(stderr,
		"propagation after %s (ms since the reply): gateway %lld, gateway2 %lld, "
		"users %lld, posts %lld\n",
		what, (long long)gw1, (long long)gw2, (long long)users, (long long)posts);
	assert_int_equal(tries1, 1); /* the answering gateway waited for its own copy */
	assert_true(gw1 < PROPAGATION_BOUND_MS);
	assert_true(gw2 < PROPAGATION_BOUND_MS);
	assert_true(users < PROPAGATION_BOUND_MS);
	assert_true(posts < PROPAGATION_BOUND_MS);
}

static void changes_reach_every_process_within_a_second(void **state)
{
	int64_t id = it_gateway_sign_up(&G, "spread@example.com", "Spread");
	char *a = login(G.port, "spread@example.com", PASSWORD, NULL);
	char *b = login(G.port, "spread@example.com", PASSWORD, NULL);
	char path[64];
	int64_t start;

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(status_on(Port2, "GET", "/users/me", a, NULL), 200);
	expect(on(G.port, "POST", "/auth/logout", a, NULL), 204, NULL);
	start = mono_ms();
	measure("a logout", a, start);
	assert_int_equal(status_on(Port2, "GET", "/users/me", b, NULL), 200); /* b is still fine */

	snprintf(path, sizeof(path), "/users/%lld/password", (long long)id);
	expect(it_gateway_call(&G, "POST", path, b, NULL,
			       "{\"currentPassword\":\"" PASSWORD
			       "\",\"newPassword\":\"" NEW_PASSWORD "\"}"),
	       204, NULL);
	start = mono_ms();
	measure("a password change", b, start);
	free(a);
	free(b);
}

/* ---- the auth service unreachable ----------------------------------------------------------- */

/* A second posts service (started while auth is down): its process, and a
 * channel to it in *ch; its address in posts2_target. */
static char posts2_target[64];

static struct proc *spawn_posts2(struct rpc_channel **ch)
{
	int p = stack_free_port();
	struct proc *proc = it_gateway_posts_spawn(&G, "posts2", p);

	snprintf(posts2_target, sizeof(posts2_target), "127.0.0.1:%d", p);
	assert_non_null(proc);
	*ch = rpc_channel_new(posts2_target);
	return proc;
}

static void auth_down_fails_closed_then_recovers(void **state)
{
	static const char *const gw3_env[] = { "REVOCATION_MAX_STALENESS_MS=2000", NULL };
	char *valid, *revoked, *key_json, *key;
	struct it_http_result r;
	struct proc *gw3, *posts2;
	struct rpc_channel *posts2_ch;
	int port3 = stack_free_port();
	int64_t stopped_at;

	it_gateway_sign_up(&G, "down@example.com", "Down");
	valid = login(G.port, "down@example.com", PASSWORD, NULL);
	revoked = login(G.port, "down@example.com", PASSWORD, NULL);
	r = on(G.port, "POST", "/api-keys", valid,
	       "{\"name\":\"k\",\"permissions\":[\"read:posts\"]}");
	assert_int_equal(r.status, 201);
	key = xstrdup(it_json_str(it_data(&r), "key"));
	it_http_release(&r);
	expect(on(G.port, "POST", "/auth/logout", revoked, NULL), 204, NULL);

	assert_int_equal(proc_stop(G.auth), 0);
	G.auth = NULL;
	stopped_at = mono_ms();
	/* the last state is enforced: the logged-out token stays refused, the
	 * valid one works (bearer checks need no call to auth) */
	expect(on(G.port, "GET", "/users/me", revoked, NULL), 401, "TOKEN_REVOKED");
	expect(on(G.port, "GET", "/users/me", valid, NULL), 200, NULL);

	/* a gateway started now never loads the state: not ready, credentials 503 */
	gw3 = it_gateway_spawn_extra(&G, "gateway3", port3, gw3_env);
	assert_non_null(gw3);
	expect(on(port3, "GET", "/users/me", valid, NULL), 503, "SERVICE_UNAVAILABLE");
	assert_int_equal(status_on(port3, "GET", "/posts", NULL, NULL), 200);
	/* nor does a service: its database answers (Check "") but it is not
	 * SERVING under its own name */
	posts2 = spawn_posts2(&posts2_ch);
	sleep_ms(1000);
	assert_int_equal(rpc_health_check(posts2_ch, "", 1000), 1);
	assert_int_equal(rpc_health_check(posts2_ch, "agentos.posts.v1.PostsService", 1000), 2);

	/* past the staleness bound: fail closed for bearer and API-key requests */
	while (mono_ms() - stopped_at < STALENESS_MS + 300)
		sleep_ms(50);
	expect(on(G.port, "GET", "/users/me", valid, NULL), 503, "SERVICE_UNAVAILABLE");
	expect(on(Port2, "GET", "/users/me", valid, NULL), 503, "SERVICE_UNAVAILABLE");
	{
		char hdr[256];
		const char *headers[] = { hdr, NULL };

		snprintf(hdr, sizeof(hdr), "X-API-Key: %s", key);
		expect(it_gateway_call(&G, "GET", "/posts", NULL, headers, NULL), 503,
		       "SERVICE_UNAVAILABLE");
	}
	/* anonymous routes keep working */
	assert_int_equal(status_on(G.port, "GET", "/posts", NULL, NULL), 200);
	/* and health says why */
	{
		char url[128];

		snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", G.port);
		r = it_http("GET", url, NULL, NULL);
		assert_int_equal(r.status, 503);
		assert_string_equal(it_json_str(json_object_get(r.json, "checks"), "revocation"),
				    "error");
		it_http_release(&r);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/health/ready", G.port);
		r = it_http("GET", url, NULL, NULL);
		assert_int_equal(r.status, 503);
		assert_string_equal(it_json_str(json_object_get(r.json, "checks"), "revocation"),
				    "error");
		it_http_release(&r);
	}
	key_json = read_file_all(proc_log_path(G.gateway));
	assert_non_null(strstr(key_json, "revocation state is stale"));
	/* once per episode */
	assert_null(strstr(strstr(key_json, "revocation state is stale") + 1,
			   "revocation state is stale"));
	free(key_json);

	/* auth back on its address: everything recovers, nothing else restarted */
	G.auth = stack_spawn_auth(G.stack, G.auth_port, G.users_target);
	assert_non_null(G.auth);
	{
		int64_t back = mono_ms();

		while (status_on(G.port, "GET", "/users/me", valid, NULL) != 200 &&
		       mono_ms() - back < 10000)
			sleep_ms(50);
		fprintf(stderr, "credentials accepted again %lld ms after auth came back\n",
			(long long)(mono_ms() - back));
	}
	expect(on(G.port, "GET", "/users/me", valid, NULL), 200, NULL);
	expect(on(G.port, "GET", "/users/me", revoked, NULL), 401, "TOKEN_REVOKED");
	for (int64_t t = mono_ms();
	     status_on(port3, "GET", "/users/me", valid, NULL) != 200 && mono_ms() - t < 10000;)
		sleep_ms(50);
	expect(on(port3, "GET", "/users/me", valid, NULL), 200, NULL);
	expect(on(port3, "GET", "/users/me", revoked, NULL), 401, "TOKEN_REVOKED");
	assert_int_equal(proc_stop(gw3), 0);
	/* the service started meanwhile becomes SERVING once auth is back */
	assert_true(stack_wait_grpc_serving(posts2_target, 10000));
	rpc_channel_free(posts2_ch);
	assert_int_equal(proc_stop(posts2), 0);
	free(valid);
	free(revoked);
	free(key);
}

/* ---- cost --------------------------------------------------------------------------------------
 */

/* The "done when" of the revocation issue: INFO commandstats around 10,000
 * cached GET /users/:id with a bearer token shows no revocation command:
 * one GET (the cache) and one EVALSHA (the rate limit) per request. */
static void no_redis_round_trip_for_revocation(void **state)
{
	const char *redis = stack_redis_url(G.stack);
	char path[64];

	snprintf(path, sizeof(path), "/users/%lld", (long long)G.admin_id);
	assert_int_equal(status_on(G.port, "GET", path, G.admin_token, NULL), 200); /* warm */
	it_redis_reset_stats(redis);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(status_on(G.port, "GET", path, G.admin_token, NULL), 200);
	fprintf(stderr, "10000 requests: get %lld, evalsha %lld, mget %lld, exists %lld\n",
		(long long)it_redis_command_calls(redis, "get"),
		(long long)it_redis_command_calls(redis, "evalsha"),
		(long long)it_redis_command_calls(redis, "mget"),
		(long long)it_redis_command_calls(redis, "exists"));
	/* a cache miss or two is no revocation call (the users cache is issue 18's),
	 * nor is a stray request of another test's client; a revocation look-up
	 * per request would add 10,000 */
	assert_true(it_redis_command_calls(redis, "get") <= 10000 + 50);
	assert_true(it_redis_command_calls(redis, "evalsha") <= 10000 + 50);
	assert_int_equal(it_redis_command_calls(redis, "mget"), 0);
	assert_int_equal(it_redis_command_calls(redis, "exists"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_second_password_change),
		cmocka_unit_test(same_second_role_change),
		cmocka_unit_test(same_second_disable),
		cmocka_unit_test(same_second_delete),
		cmocka_unit_test(refused_while_a_rival_relay_holds_the_row),
		cmocka_unit_test(logout_survives_a_redis_flush_and_restart),
		cmocka_unit_test(changes_reach_every_process_within_a_second),
		cmocka_unit_test(no_redis_round_trip_for_revocation),
		cmocka_unit_test(auth_down_fails_closed_then_recovers),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
