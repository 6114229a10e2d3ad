/* users_grpc_it.c - UsersService over real gRPC against a real PostgreSQL and
 * Redis: every RPC, its failure cases, and what is in the database after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agentos/auth/v1/auth.pb-c.h"
#include "agentos/users/v1/users.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "it.h"
#include "jwt_hs256.h"
#include "kv.h"
#include "revocation.h"
#include "stack.h"
#include "util.h"

#define ADMIN_EMAIL "root@example.com"
#define ADMIN_PASSWORD "admin-password-1"

static struct {
	struct stack *stack;
	struct stack_users u; /* u.users: the service under test */
	struct rpc_channel *ch;
	const char *db;
	struct kv *kv;
	int64_t admin_id;
	char *admin_token;
} F;

static int setup(void **state)
{
	static const char *const extra[] = { "ADMIN_EMAIL=" ADMIN_EMAIL,
					     "ADMIN_PASSWORD=" ADMIN_PASSWORD, "LOG_LEVEL=debug",
					     NULL };

	rpc_runtime_init();
	F.stack = stack_start("users_grpc_it");
	F.db = stack_database_url(F.stack);
	if (!stack_users_start(F.stack, &F.u, extra))
		return -1;
	F.ch = rpc_channel_new(F.u.target);
	F.kv = kv_new(stack_redis_url(F.stack), 500, 2);
	F.admin_id = it_sql_int(F.db, "SELECT id FROM users.users WHERE email = '" ADMIN_EMAIL "'");
	F.admin_token = it_token(F.admin_id, ADMIN_EMAIL, "admin");
	*state = &F;
	return 0;
}

static int teardown(void **state)
{
	int status;

	(void)state;
	rpc_channel_free(F.ch);
	kv_free(F.kv);
	free(F.admin_token);
	status = proc_stop(F.u.users); /* SIGTERM: must drain and exit 0 */
	stack_stop(F.stack);
	rpc_runtime_shutdown();
	if (status != 0) {
		fprintf(stderr, "users-service exited with %d after SIGTERM\n", status);
		return -1;
	}
	return 0;
}

/* ---- helpers -------------------------------------------------------------- */

static struct it_result create(const char *email, const char *password, const char *name,
			       const char *token)
{
	Agentos__Users__V1__CreateUserRequest req = AGENTOS__USERS__V1__CREATE_USER_REQUEST__INIT;

	req.email = (char *)email;
	req.password = (char *)password;
	req.name = (char *)name;
	return it_call(F.ch, USERS("CreateUser"), &req.base, &agentos__users__v1__user__descriptor,
		       token, NULL);
}

/* Creates a user and returns its id (asserting success). */
static int64_t make_user(const char *email, const char *name)
{
	struct it_result r = create(email, "password123", name, NULL);
	int64_t id;

	assert_int_equal(r.status, GRPC_STATUS_OK);
	id = ((Agentos__Users__V1__User *)r.reply)->id;
	it_result_release(&r);
	return id;
}

static struct it_result get(int64_t id, const char *token)
{
	Agentos__Users__V1__GetUserRequest req = AGENTOS__USERS__V1__GET_USER_REQUEST__INIT;

	req.id = id;
	return it_call(F.ch, USERS("GetUser"), &req.base, &agentos__users__v1__user__descriptor,
		       token, NULL);
}

static struct it_result update(int64_t id, const Agentos__Users__V1__User *u, const char **paths,
			       size_t npaths, int64_t version, const char *token)
{
	Agentos__Users__V1__UpdateUserRequest req = AGENTOS__USERS__V1__UPDATE_USER_REQUEST__INIT;
	Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;

	mask.paths = (char **)paths;
	mask.n_paths = npaths;
	req.id = id;
	req.user = (Agentos__Users__V1__User *)u;
	req.update_mask = &mask;
	req.version = version;
	return it_call(F.ch, USERS("UpdateUser"), &req.base, &agentos__users__v1__user__descriptor,
		       token, NULL);
}

static struct it_result verify(const char *email, const char *password)
{
	Agentos__Users__V1__VerifyCredentialsRequest
		req = AGENTOS__USERS__V1__VERIFY_CREDENTIALS_REQUEST__INIT;

	req.email = (char *)email;
	req.password = (char *)password;
	return it_call(F.ch, USERS("VerifyCredentials"), &req.base,
		       &agentos__users__v1__user__descriptor, NULL, NULL);
}

static void assert_error(const struct it_result *r, grpc_status_code status, enum err_code code)
{
	if (r->status != status || r->err.code != code)
		fprintf(stderr, "expected %d/%s, got %d/%s (%s)\n", status, err_name(code),
			r->status, err_name(r->err.code), r->err.message);
	assert_int_equal(r->status, status);
	assert_string_equal(err_name(r->err.code), err_name(code));
	assert_null(r->reply);
}

/* assert_error for row `row` of a table, and that r names every field in
 * violations (NULL: none asserted). Names the row first when it fails, as
 * assert_error alone would point at its own line, the same for every row. */
static void assert_row_error(size_t row, const char *what, const struct it_result *r,
			     grpc_status_code status, enum err_code code,
			     const char *const *violations)
{
	bool ok = r->status == status && r->err.code == code && !r->reply;

	for (size_t i = 0; ok && violations && violations[i]; i++)
		ok = it_has_violation(r, violations[i]);
	if (!ok)
		fprintf(stderr, "row %zu (%s)\n", row, what);
	assert_error(r, status, code);
	for (size_t i = 0; violations && violations[i]; i++)
		assert_true(it_has_violation(r, violations[i]));
}

static int64_t user_count(void)
{
	return it_sql_int(F.db, "SELECT count(*) FROM users.users");
}

/* ---- CreateUser -------------------------------------------------------------- */

static void create_user_normalizes_and_hashes(void **state)
{
	struct it_result r = create("  New.Person@Example.COM ", "correct horse", "  Ada Lovelace ",
				    NULL);
	Agentos__Users__V1__User *u;
	char sql[256], *hash;

	assert_int_equal(r.status, GRPC_STATUS_OK);
	u = (Agentos__Users__V1__User *)r.reply;
	assert_true(u->id > 0);
	assert_string_equal(u->email, "new.person@example.com");
	assert_string_equal(u->name, "Ada Lovelace");
	assert_string_equal(u->role, "user");
	assert_true(u->is_active);
	assert_false(u->is_verified);
	assert_int_equal(u->version, 1);
	assert_non_null(u->created_at);
	assert_true(u->created_at->seconds > 1700000000);
	snprintf(sql, sizeof(sql), "SELECT password_hash FROM users.users WHERE id = %lld",
		 (long long)u->id);
	hash = it_sql(F.db, sql);
	assert_true(strncmp(hash, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
	assert_null(strstr(hash, "correct horse"));
	free(hash);
	it_result_release(&r);
}

static void create_user_reports_every_invalid_field(void **state)
{
	int64_t before = user_count();
	struct it_result r = create("not-an-email", "short", "   ", NULL);

	assert_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_VALIDATION_ERROR);
	assert_int_equal(r.err.nviolations, 3);
	assert_true(it_has_violation(&r, "email"));
	assert_true(it_has_violation(&r, "password"));
	assert_true(it_has_violation(&r, "name"));
	assert_int_equal(user_count(), before);
}

static void create_user_counts_code_points(void **state)
{
	char name[101 * 2 + 1];
	struct it_result r;

	/* 100 two-byte characters are fine, 101 are not. */
	for (int i = 0; i < 101; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[200] = '\0';
	r = create("cp100@example.com", "password123", name, NULL);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	it_result_release(&r);
	name[202] = '\0';
	memcpy(name + 200, "\xc3\xa9", 2);
	r = create("cp101@example.com", "password123", name, NULL);
	assert_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_VALIDATION_ERROR);
	assert_true(it_has_violation(&r, "name"));
	/* 129-character password */
	r = create("pw129@example.com",
		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		   "Long Password", NULL);
	assert_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_VALIDATION_ERROR);
	assert_true(it_has_violation(&r, "password"));
}

static void create_user_duplicate_email_is_already_exists(void **state)
{
	struct it_result r;

	make_user("dup@example.com", "First");
	r = create("DUP@example.com", "password123", "Second", NULL);
	assert_error(&r, GRPC_STATUS_ALREADY_EXISTS, ERR_DUPLICATE_RESOURCE);
	assert_true(it_has_violation(&r, "email"));
	assert_int_equal(
		it_sql_int(F.db,
			   "SELECT count(*) FROM users.users WHERE email = 'dup@example.com'"),
		1);
}

static void create_user_admin_fields_need_admin(void **state)
{
	Agentos__Users__V1__CreateUserRequest req = AGENTOS__USERS__V1__CREATE_USER_REQUEST__INIT;
	Google__Protobuf__BoolValue yes = GOOGLE__PROTOBUF__BOOL_VALUE__INIT;
	struct it_result r;

	yes.value = true;
	req.email = "climber@example.com";
	req.password = "password123";
	req.name = "Climber";
	req.role = "admin";
	req.is_verified = &yes;
	r = it_call(F.ch, USERS("CreateUser"), &req.base, &agentos__users__v1__user__descriptor,
		    NULL, NULL);
	assert_error(&r, GRPC_STATUS_PERMISSION_DENIED, ERR_FORBIDDEN);
	assert_true(it_has_violation(&r, "role"));
	assert_true(it_has_violation(&r, "isVerified"));
	assert_int_equal(
		it_sql_int(F.db,
			   "SELECT count(*) FROM users.users WHERE email = 'climber@example.com'"),
		0);

	req.role = "moderator";
	r = it_call(F.ch, USERS("CreateUser"), &req.base, &agentos__users__v1__user__descriptor,
		    F.admin_token, NULL);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	assert_string_equal(((Agentos__Users__V1__User *)r.reply)->role, "moderator");
	assert_true(((Agentos__Users__V1__User *)r.reply)->is_verified);
	it_result_release(&r);
}

/* ---- credentials ---------------------------------------------------------------- */

/* A credential that does not hold is refused on every call, open ones (CreateUser)
 * included, and never read as anonymous; an API key goes to the auth service. */
static void bad_credentials_are_refused_even_on_open_calls(void **state)
{
	int64_t id = make_user("cred@example.com", "Cred");
	char *expired = it_token_ex(id, "cred@example.com", "user", -7200, -3600, IT_JWT_SECRET);
	char *forged = it_token_ex(id, "cred@example.com", "admin", 0, 3600,
				   "some-other-secret-that-is-long-enough!!");
	const struct {
		const char *what;
		const char *token;
		const char *api_key;
		bool create; /* CreateUser (open) instead of GetUser */
		grpc_status_code status;
		enum err_code code;
	} rows[] = {
		{ "expired token", expired, NULL, false, GRPC_STATUS_UNAUTHENTICATED,
		  ERR_TOKEN_EXPIRED },
		{ "forged token", forged, NULL, false, GRPC_STATUS_UNAUTHENTICATED,
		  ERR_UNAUTHORIZED },
		{ "not a JWT", "not.a.jwt", NULL, false, GRPC_STATUS_UNAUTHENTICATED,
		  ERR_UNAUTHORIZED },
		{ "open call, forged token", forged, NULL, true, GRPC_STATUS_UNAUTHENTICATED,
		  ERR_UNAUTHORIZED },
		{ "no credential", NULL, NULL, false, GRPC_STATUS_UNAUTHENTICATED,
		  ERR_UNAUTHORIZED },
		{ "a token and a key", F.admin_token, "ak_1_secret", false,
		  GRPC_STATUS_INVALID_ARGUMENT, ERR_BAD_REQUEST },
		{ "a key the auth service does not know", NULL, "ak_1_secret", false,
		  GRPC_STATUS_UNAUTHENTICATED, ERR_UNAUTHORIZED },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		Agentos__Users__V1__GetUserRequest req = AGENTOS__USERS__V1__GET_USER_REQUEST__INIT;
		struct it_result r;

		req.id = id;
		r = rows[i].create
			    ? create("other@example.com", "password123", "Other", rows[i].token)
			    : it_call(F.ch, USERS("GetUser"), &req.base,
				      &agentos__users__v1__user__descriptor, rows[i].token,
				      rows[i].api_key);
		assert_row_error(i, rows[i].what, &r, rows[i].status, rows[i].code, NO_DETAILS);
	}
	free(expired);
	free(forged);
}

/* ---- GetUser ---------------------------------------------------------------------- */

/* One GetUser and what it must answer: the user (want_email) or the error. */
struct get_claim {
	const char *what;
	int who;                /* index into the test's tokens */
	int64_t id;             /* 0 = the caller */
	const char *want_email; /* NULL: an error */
	grpc_status_code status;
	enum err_code code;
};

static void check_get(size_t row, const struct get_claim *c, const char *token)
{
	struct it_result r = get(c->id, token);
	const Agentos__Users__V1__User *u = (const void *)r.reply;
	bool ok = r.status == c->status && r.err.code == c->code &&
		  (c->want_email ? u && strcmp(u->email, c->want_email) == 0 : !u);

	if (!ok)
		fprintf(stderr, "row %zu (%s): status %d/%s, email %s\n", row, c->what, r.status,
			err_name(r.err.code), u ? u->email : "(none)");
	it_result_release(&r);
	assert_true(ok);
}

/* Oneself, or read:users (API.md §2). */
static void get_user_self_other_moderator(void **state)
{
	int64_t a = make_user("alice@example.com", "Alice");
	int64_t b = make_user("bob@example.com", "Bob");
	char *token[] = { it_token(a, "alice@example.com", "user"),
			  it_token(b, "bob@example.com", "moderator") };
	enum { USER, MODERATOR };
	const struct get_claim rows[] = {
		{ "user reads self", USER, a, "alice@example.com", GRPC_STATUS_OK, ERR_OK },
		{ "id 0 is the caller", USER, 0, "alice@example.com", GRPC_STATUS_OK, ERR_OK },
		{ "user reads another", USER, b, NULL, GRPC_STATUS_PERMISSION_DENIED,
		  ERR_FORBIDDEN },
		{ "moderator reads another", MODERATOR, a, "alice@example.com", GRPC_STATUS_OK,
		  ERR_OK },
		{ "nobody by that id", MODERATOR, 999999, NULL, GRPC_STATUS_NOT_FOUND,
		  ERR_NOT_FOUND },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		check_get(i, &rows[i], token[rows[i].who]);
	free(token[USER]);
	free(token[MODERATOR]);
}

static void get_user_is_cached_and_invalidated_on_write(void **state)
{
	int64_t id = make_user("cached@example.com", "Cached");
	char *t = it_token(id, "cached@example.com", "user");
	const char *paths[] = { "name" };
	Agentos__Users__V1__User patch = AGENTOS__USERS__V1__USER__INIT;
	char key[32], *val = NULL;
	size_t len;
	struct it_result r;

	snprintf(key, sizeof(key), "user:%lld", (long long)id);
	r = get(id, t);
	it_result_release(&r);
	assert_int_equal(kv_get(F.kv, key, &val, &len), 1);
	assert_non_null(strstr(val, "6:Cached")); /* users_cache.c's record */
	free(val);
	patch.name = "Renamed";
	r = update(id, &patch, paths, 1, 0, t);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	it_result_release(&r);
	/* invalidated: absent, or a tombstone (kv.h), never the old entry */
	if (kv_get(F.kv, key, &val, &len) == 1)
		assert_int_equal(val[0], '~');
	free(val);
	r = get(id, t);
	assert_string_equal(((Agentos__Users__V1__User *)r.reply)->name, "Renamed");
	it_result_release(&r);
	free(t);
}

/* A hit costs no Redis read (the near copy, kv.h), and another replica's
 * write - its commit, then its invalidation - reaches it: here that replica
 * is this test, with the SQL and the tombstone a users service writes. */
static void get_user_near_copy_answers_and_follows_other_writers(void **state)
{
	int64_t id = make_user("near@example.com", "Near");
	char *t = it_token(id, "near@example.com", "user");
	char key[32], sql[160];
	struct it_result r;
	long long before;
	int64_t t0;

	(void)state;
	for (int i = 0; i < 2; i++) { /* a miss that fills, a Redis hit that is kept */
		r = get(id, t);
		assert_int_equal(r.status, GRPC_STATUS_OK);
		it_result_release(&r);
	}
	before = stack_redis_reads(F.stack);
	for (int i = 0; i < 10; i++) {
		r = get(id, t);
		assert_string_equal(((Agentos__Users__V1__User *)r.reply)->name, "Near");
		it_result_release(&r);
	}
	assert_true(stack_redis_reads(F.stack) - before <= 2); /* none, but for a pong */

	snprintf(sql, sizeof(sql),
		 "UPDATE users.users SET name = 'Far', version = version + 1 WHERE id = %lld",
		 (long long)id);
	assert_true(it_sql_exec(F.db, sql));
	snprintf(key, sizeof(key), "user:%lld", (long long)id);
	kv_cache_invalidate(F.kv, key);
	t0 = mono_ms();
	for (;;) {
		r = get(id, t);
		if (strcmp(((Agentos__Users__V1__User *)r.reply)->name, "Far") == 0)
			break;
		if (mono_ms() - t0 > 100)
			fail_msg(
				"GetUser still answers the old name 100 ms after the invalidation");
		it_result_release(&r);
	}
	it_result_release(&r);
	free(t);
}

/* ---- BatchGetUsers ---------------------------------------------------------------- */

static void batch_get_users_public_and_full(void **state)
{
	int64_t a = make_user("batch1@example.com", "Batch One");
	int64_t b = make_user("batch2@example.com", "Batch Two");
	int64_t gone = make_user("batch3@example.com", "Batch Gone");
	int64_t ids[] = { b, 999999, a, b, gone };
	Agentos__Users__V1__BatchGetUsersRequest
		req = AGENTOS__USERS__V1__BATCH_GET_USERS_REQUEST__INIT;
	Agentos__Users__V1__BatchGetUsersResponse *resp;
	char sql[128], *tm = it_token(a, "batch1@example.com", "moderator");
	int64_t many[1001];
	struct it_result r;

	snprintf(sql, sizeof(sql),
		 "UPDATE users.users SET deleted_at = now() WHERE id = %lld "
		 "RETURNING 1",
		 (long long)gone);
	free(it_sql(F.db, sql));
	req.ids = ids;
	req.n_ids = 5;
	r = it_call(F.ch, USERS("BatchGetUsers"), &req.base,
		    &agentos__users__v1__batch_get_users_response__descriptor, NULL, NULL);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	resp = (void *)r.reply;
	assert_int_equal(resp->n_users, 2);
	assert_int_equal(resp->users[0]->id, b);
	assert_string_equal(resp->users[0]->name, "Batch Two");
	assert_string_equal(resp->users[0]->email, ""); /* anonymous: public part only */
	assert_int_equal(resp->users[1]->id, a);
	it_result_release(&r);

	r = it_call(F.ch, USERS("BatchGetUsers"), &req.base,
		    &agentos__users__v1__batch_get_users_response__descriptor, tm, NULL);
	resp = (void *)r.reply;
	assert_int_equal(resp->n_users, 2);
	assert_string_equal(resp->users[1]->email, "batch1@example.com");
	it_result_release(&r);

	for (int i = 0; i < 1001; i++)
		many[i] = i + 1;
	req.ids = many;
	req.n_ids = 1001;
	r = it_call(F.ch, USERS("BatchGetUsers"), &req.base,
		    &agentos__users__v1__batch_get_users_response__descriptor, NULL, NULL);
	assert_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_BAD_REQUEST);
	free(tm);
}

/* Statements run against users.users since the last reset, the test's own excluded. */
static int64_t users_queries(void)
{
	return it_sql_int(
		F.db,
		"SELECT coalesce(sum(calls), 0) FROM pg_stat_statements"
		" WHERE query LIKE '%users.users%' AND query NOT LIKE '%pg_stat_statements%'");
}

static void batch_get_users_costs_one_mget_and_one_query(void **state)
{
	Agentos__Users__V1__BatchGetUsersRequest
		req = AGENTOS__USERS__V1__BATCH_GET_USERS_REQUEST__INIT;
	const char *redis = stack_redis_url(F.stack);
	int64_t ids[6];
	struct it_result r;

	for (int i = 0; i < 6; i++) {
		char email[64];

		snprintf(email, sizeof(email), "n1-%d@example.com", i);
		ids[i] = make_user(email, "Batch Member");
	}
	for (int i = 0; i < 3; i++) { /* half of them cached */
		r = get(ids[i], F.admin_token);
		it_result_release(&r);
	}
	assert_true(it_sql_exec(F.db, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"));
	assert_true(it_sql_exec(F.db, "SELECT pg_stat_statements_reset()"));
	it_redis_reset_stats(redis);

	req.ids = ids;
	req.n_ids = 6;
	r = it_call(F.ch, USERS("BatchGetUsers"), &req.base,
		    &agentos__users__v1__batch_get_users_response__descriptor, NULL, NULL);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	assert_int_equal(((Agentos__Users__V1__BatchGetUsersResponse *)r.reply)->n_users, 6);
	it_result_release(&r);
	assert_int_equal(it_redis_command_calls(redis, "mget"), 1);
	assert_int_equal(users_queries(), 1); /* the three misses, in one query */

	r = it_call(F.ch, USERS("BatchGetUsers"), &req.base,
		    &agentos__users__v1__batch_get_users_response__descriptor, NULL, NULL);
	assert_int_equal(((Agentos__Users__V1__BatchGetUsersResponse *)r.reply)->n_users, 6);
	it_result_release(&r);
	assert_int_equal(it_redis_command_calls(redis, "mget"), 2);
	assert_int_equal(users_queries(), 1); /* all cached now: no query at all */
}

/* ---- ListUsers ---------------------------------------------------------------------- */

static struct it_result list(const Agentos__Users__V1__ListUsersRequest *req, const char *token)
{
	return it_call(F.ch, USERS("ListUsers"), &req->base,
		       &agentos__users__v1__list_users_response__descriptor, token, NULL);
}

static void list_users_filters_sorts_and_pages(void **state)
{
	Agentos__Users__V1__ListUsersRequest req = AGENTOS__USERS__V1__LIST_USERS_REQUEST__INIT;
	Agentos__Users__V1__ListUsersResponse *resp;
	int64_t mod = make_user("zmod@example.com", "Zeta Moderator");
	char *tm = it_token(mod, "zmod@example.com", "moderator");
	char *tu = it_token(mod, "zmod@example.com", "user");
	/* refused: parameters out of range (as a moderator), then callers
	 * without read:users; each row's limit, sort and status replace the
	 * request's, the email filter stays */
	const struct {
		const char *what;
		const char *token;
		int32_t limit;
		const char *sort;
		const char *status;
		grpc_status_code want;
		enum err_code code;
	} refused[] = {
		{ "limit 101", tm, 101, "-email", "", GRPC_STATUS_INVALID_ARGUMENT,
		  ERR_BAD_REQUEST },
		{ "sort by password", tm, 0, "password", "", GRPC_STATUS_INVALID_ARGUMENT,
		  ERR_BAD_REQUEST },
		{ "status bogus", tm, 0, "", "bogus", GRPC_STATUS_INVALID_ARGUMENT,
		  ERR_BAD_REQUEST },
		{ "user without read:users", tu, 0, "", "", GRPC_STATUS_PERMISSION_DENIED,
		  ERR_FORBIDDEN },
		{ "anonymous", NULL, 0, "", "", GRPC_STATUS_UNAUTHENTICATED, ERR_UNAUTHORIZED },
	};
	struct it_result r;
	char sql[160];

	make_user("zeta.c@example.com", "zeta Charlie");
	make_user("zeta.a@example.com", "ZETA Alpha");
	make_user("zeta.b@example.com", "Zeta 100% Bravo");
	snprintf(sql, sizeof(sql),
		 "UPDATE users.users SET is_active = false, role = 'moderator' "
		 "WHERE email = 'zeta.b@example.com' RETURNING 1");
	free(it_sql(F.db, sql));

	req.name = "zeta";
	req.sort = "name";
	req.limit = 2;
	r = list(&req, tm);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	resp = (void *)r.reply;
	assert_int_equal(resp->n_users, 2);
	assert_string_equal(resp->users[0]->name, "ZETA Alpha");
	assert_int_equal(resp->pagination->total, 4);
	assert_int_equal(resp->pagination->total_pages, 2);
	assert_true(resp->pagination->has_next);
	assert_false(resp->pagination->has_prev);
	it_result_release(&r);

	req.page = 2;
	r = list(&req, tm);
	resp = (void *)r.reply;
	assert_int_equal(resp->n_users, 2);
	assert_false(resp->pagination->has_next);
	assert_true(resp->pagination->has_prev);
	it_result_release(&r);

	req.page = 9; /* past the end: empty page, correct pagination */
	r = list(&req, tm);
	resp = (void *)r.reply;
	assert_int_equal(r.status, GRPC_STATUS_OK);
	assert_int_equal(resp->n_users, 0);
	assert_int_equal(resp->pagination->total, 4);
	assert_int_equal(resp->pagination->page, 9);
	it_result_release(&r);

	req = (Agentos__Users__V1__ListUsersRequest)AGENTOS__USERS__V1__LIST_USERS_REQUEST__INIT;
	req.name = "100%"; /* % is literal */
	r = list(&req, tm);
	resp = (void *)r.reply;
	assert_int_equal(resp->n_users, 1);
	assert_string_equal(resp->users[0]->email, "zeta.b@example.com");
	it_result_release(&r);

	req.name = "zeta";
	req.status = "inactive";
	req.role = "moderator";
	r = list(&req, tm);
	assert_int_equal(((Agentos__Users__V1__ListUsersResponse *)r.reply)->pagination->total, 1);
	it_result_release(&r);

	req = (Agentos__Users__V1__ListUsersRequest)AGENTOS__USERS__V1__LIST_USERS_REQUEST__INIT;
	req.email = "ZETA.A@example.com";
	req.sort = "-email";
	r = list(&req, tm);
	resp = (void *)r.reply;
	assert_int_equal(resp->n_users, 1);
	assert_string_equal(resp->users[0]->name, "ZETA Alpha");
	it_result_release(&r);

	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		req.limit = refused[i].limit;
		req.sort = (char *)refused[i].sort;
		req.status = (char *)refused[i].status;
		r = list(&req, refused[i].token);
		assert_row_error(i, refused[i].what, &r, refused[i].want, refused[i].code,
				 NO_DETAILS);
	}
	free(tm);
	free(tu);
}

/* ---- UpdateUser ----------------------------------------------------------------------- */

#define stored(id, expr) it_stored(F.db, "users.users", (id), (expr))
#define assert_stored(id, expr, want) \
	assert_true(it_stored_is(F.db, "users.users", (id), (expr), (want)))

static void update_user_versions_and_conflicts(void **state)
{
	int64_t id = make_user("upd@example.com", "Upd");
	char *t = it_token(id, "upd@example.com", "user");
	Agentos__Users__V1__User u = AGENTOS__USERS__V1__USER__INIT;
	const char *name_path[] = { "name" };
	const char *both[] = { "email", "name" };
	struct it_result r;

	u.name = "  Updated  ";
	r = update(id, &u, name_path, 1, 1, t);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	assert_string_equal(((Agentos__Users__V1__User *)r.reply)->name, "Updated");
	assert_int_equal(((Agentos__Users__V1__User *)r.reply)->version, 2);
	it_result_release(&r);

	r = update(id, &u, name_path, 1, 0, t); /* same value: no change, no new version */
	assert_int_equal(((Agentos__Users__V1__User *)r.reply)->version, 2);
	it_result_release(&r);

	u.name = "Stale";
	r = update(id, &u, name_path, 1, 1, t);
	assert_error(&r, GRPC_STATUS_ABORTED, ERR_VERSION_CONFLICT);
	assert_stored(id, "name", "Updated");
	assert_stored(id, "version", "2");

	u.email = "bad email";
	u.name = "";
	r = update(id, &u, both, 2, 0, t); /* every failing field at once, nothing written */
	assert_error(&r, GRPC_STATUS_INVALID_ARGUMENT, ERR_VALIDATION_ERROR);
	assert_true(it_has_violation(&r, "email"));
	assert_true(it_has_violation(&r, "name"));
	assert_stored(id, "email", "upd@example.com");

	make_user("taken@example.com", "Taken");
	u.email = "Taken@Example.com";
	u.name = "Upd";
	r = update(id, &u, both, 2, 0, t);
	assert_error(&r, GRPC_STATUS_ALREADY_EXISTS, ERR_DUPLICATE_RESOURCE);
	assert_true(it_has_violation(&r, "email"));
	assert_stored(id, "email", "upd@example.com");
	free(t);
}

static void update_user_field_and_object_permissions(void **state)
{
	int64_t id = make_user("perm@example.com", "Perm");
	int64_t other = make_user("perm2@example.com", "Perm Two");
	char *t = it_token(id, "perm@example.com", "user");
	/* by whom, of whom, the role and name sent (is_active always false), the
	 * update mask, the error and the violations it must name */
	const struct {
		const char *what;
		const char *token;
		int64_t id;
		const char *role;
		const char *name;
		const char *const *paths;
		grpc_status_code status;
		enum err_code code;
		const char *const *violations;
	} refused[] = {
		{ "user makes self admin", t, id, "admin", NULL, FIELDS("role", "is_active"),
		  GRPC_STATUS_PERMISSION_DENIED, ERR_FORBIDDEN, FIELDS("role", "isActive") },
		{ "user renames another", t, other, "admin", "Hijacked", FIELDS("name"),
		  GRPC_STATUS_PERMISSION_DENIED, ERR_FORBIDDEN, NO_DETAILS },
		{ "paths that are not fields", t, id, "admin", "Hijacked",
		  FIELDS("password_hash", "createdAt"), GRPC_STATUS_INVALID_ARGUMENT,
		  ERR_VALIDATION_ERROR, FIELDS("password_hash") },
		{ "admin, nobody by that id", F.admin_token, 424242, "moderator", "Hijacked",
		  FIELDS("name"), GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND, NO_DETAILS },
	};
	Agentos__Users__V1__User u = AGENTOS__USERS__V1__USER__INIT;
	const char *role_paths[] = { "role", "is_active" };
	struct it_result r;

	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		size_t n = 0;

		while (refused[i].paths[n])
			n++;
		u.role = (char *)refused[i].role;
		u.name = (char *)refused[i].name;
		r = update(refused[i].id, &u, (const char **)refused[i].paths, n, 0,
			   refused[i].token);
		assert_row_error(i, refused[i].what, &r, refused[i].status, refused[i].code,
				 refused[i].violations);
	}
	assert_stored(id, "role", "user");
	assert_stored(id, "is_active", "t");
	assert_stored(other, "name", "Perm Two");

	u.role = "moderator"; /* admin may; disabling moves tokens_valid_after */
	u.is_active = false;
	r = update(id, &u, role_paths, 2, 0, F.admin_token);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	assert_string_equal(((Agentos__Users__V1__User *)r.reply)->role, "moderator");
	assert_false(((Agentos__Users__V1__User *)r.reply)->is_active);
	it_result_release(&r);
	assert_stored(id, "tokens_valid_after IS NOT NULL", "t");
	free(t);
}

static void update_user_email_change_unverifies(void **state)
{
	int64_t id = make_user("verified@example.com", "Verified");
	char *t = it_token(id, "verified@example.com", "user");
	Agentos__Users__V1__User u = AGENTOS__USERS__V1__USER__INIT;
	const char *email_path[] = { "email" };
	char sql[128];
	struct it_result r;

	snprintf(sql, sizeof(sql),
		 "UPDATE users.users SET is_verified = true WHERE id = %lld RETURNING 1",
		 (long long)id);
	free(it_sql(F.db, sql));
	u.email = "New.Address@example.com";
	r = update(id, &u, email_path, 1, 0, t);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	assert_string_equal(((Agentos__Users__V1__User *)r.reply)->email,
			    "new.address@example.com");
	assert_false(((Agentos__Users__V1__User *)r.reply)->is_verified);
	it_result_release(&r);
	assert_stored(id, "is_verified", "f");
	free(t);
}

/* ---- DeleteUser --------------------------------------------------------------------------- */

static struct it_result del(int64_t id, const char *token)
{
	Agentos__Users__V1__DeleteUserRequest req = AGENTOS__USERS__V1__DELETE_USER_REQUEST__INIT;

	req.id = id;
	return it_call(F.ch, USERS("DeleteUser"), &req.base, &google__protobuf__empty__descriptor,
		       token, NULL);
}

static void delete_user_is_soft_and_frees_the_email(void **state)
{
	int64_t id = make_user("leaver@example.com", "Leaver");
	int64_t other = make_user("stayer@example.com", "Stayer");
	char *t = it_token(id, "leaver@example.com", "user");
	struct it_result r;

	r = del(other, t);
	assert_error(&r, GRPC_STATUS_PERMISSION_DENIED, ERR_FORBIDDEN);
	assert_stored(other, "deleted_at IS NULL", "t");

	r = get(id, t); /* warm the cache: delete must invalidate it */
	it_result_release(&r);
	r = del(id, t);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	it_result_release(&r);
	assert_stored(id, "deleted_at IS NOT NULL", "t");
	r = get(id, F.admin_token);
	assert_error(&r, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND);
	r = del(id, F.admin_token);
	assert_error(&r, GRPC_STATUS_NOT_FOUND, ERR_NOT_FOUND);
	r = verify("leaver@example.com", "password123");
	assert_error(&r, GRPC_STATUS_UNAUTHENTICATED, ERR_INVALID_CREDENTIALS);
	assert_true(make_user("leaver@example.com", "Newcomer") != id);
	free(t);
}

/* ---- ChangePassword and VerifyCredentials -------------------------------------------------- */

static struct it_result change_pw(int64_t id, const char *cur, const char *next, const char *token)
{
	Agentos__Users__V1__ChangePasswordRequest
		req = AGENTOS__USERS__V1__CHANGE_PASSWORD_REQUEST__INIT;

	req.id = id;
	req.current_password = (char *)cur;
	req.new_password = (char *)next;
	return it_call(F.ch, USERS("ChangePassword"), &req.base,
		       &google__protobuf__empty__descriptor, token, NULL);
}

static void change_password_rules(void **state)
{
	int64_t id = make_user("pw@example.com", "Pw");
	int64_t other = make_user("pw2@example.com", "Pw Two");
	char *t = it_token(id, "pw@example.com", "user");
	const struct {
		const char *what;
		const char *token;
		int64_t id;
		const char *current;
		const char *next;
		grpc_status_code status;
		enum err_code code;
		const char *const *violations;
	} refused[] = {
		{ "wrong current password", t, id, "wrong-password", "new-password-1",
		  GRPC_STATUS_UNAUTHENTICATED, ERR_INVALID_CREDENTIALS, NO_DETAILS },
		{ "new password too short", t, id, "password123", "short",
		  GRPC_STATUS_INVALID_ARGUMENT, ERR_VALIDATION_ERROR, FIELDS("newPassword") },
		/* self only: not another user's, not even by an admin */
		{ "user, another's", t, other, "password123", "new-password-1",
		  GRPC_STATUS_PERMISSION_DENIED, ERR_FORBIDDEN, NO_DETAILS },
		{ "admin, another's", F.admin_token, other, "password123", "new-password-1",
		  GRPC_STATUS_PERMISSION_DENIED, ERR_FORBIDDEN, NO_DETAILS },
	};
	struct it_result r;

	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		r = change_pw(refused[i].id, refused[i].current, refused[i].next, refused[i].token);
		assert_row_error(i, refused[i].what, &r, refused[i].status, refused[i].code,
				 refused[i].violations);
	}

	r = change_pw(0, "password123", "new-password-1", t);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	it_result_release(&r);
	assert_stored(id, "version", "1"); /* a password change leaves version */
	r = verify("pw@example.com", "password123");
	assert_error(&r, GRPC_STATUS_UNAUTHENTICATED, ERR_INVALID_CREDENTIALS);
	r = verify("PW@example.com", "new-password-1");
	assert_int_equal(r.status, GRPC_STATUS_OK);
	assert_int_equal(((Agentos__Users__V1__User *)r.reply)->id, id);
	it_result_release(&r);
	free(t);
}

static void verify_credentials_same_answer_for_unknown_and_wrong(void **state)
{
	int64_t id = make_user("login@example.com", "Login");
	char sql[128];
	struct it_result wrong, unknown, r;

	wrong = verify("login@example.com", "not-the-password");
	unknown = verify("nobody@example.com", "not-the-password");
	assert_error(&wrong, GRPC_STATUS_UNAUTHENTICATED, ERR_INVALID_CREDENTIALS);
	assert_error(&unknown, GRPC_STATUS_UNAUTHENTICATED, ERR_INVALID_CREDENTIALS);
	assert_string_equal(wrong.err.message, unknown.err.message);

	snprintf(sql, sizeof(sql),
		 "UPDATE users.users SET is_active = false WHERE id = %lld RETURNING 1",
		 (long long)id);
	free(it_sql(F.db, sql));
	r = verify("login@example.com", "password123");
	assert_error(&r, GRPC_STATUS_PERMISSION_DENIED, ERR_ACCOUNT_DISABLED);
	r = verify("login@example.com",
		   "not-the-password"); /* status not revealed without the password */
	assert_error(&r, GRPC_STATUS_UNAUTHENTICATED, ERR_INVALID_CREDENTIALS);
}

static void admin_is_bootstrapped(void **state)
{
	struct it_result r;

	assert_true(F.admin_id > 0);
	assert_stored(F.admin_id, "role", "admin");
	r = verify(ADMIN_EMAIL, ADMIN_PASSWORD);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	assert_string_equal(((Agentos__Users__V1__User *)r.reply)->role, "admin");
	it_result_release(&r);
}

/* ---- revocation (API.md §6 "Credentials and their lifetime") --------------------------- */

/* A token issued 5 s ago, i.e. before any write the test is about to make. */
static char *older_token(int64_t id, const char *email, const char *role)
{
	return it_token_ex(id, email, role, -5, 3600, IT_JWT_SECRET);
}

static void assert_get_ok(int64_t id, const char *token)
{
	struct it_result r = get(id, token);

	if (r.status != GRPC_STATUS_OK)
		fprintf(stderr, "GetUser %lld: %s (%s)\n", (long long)id, err_name(r.err.code),
			r.err.message);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	it_result_release(&r);
}

static void assert_revoked(int64_t id, const char *token)
{
	struct it_result r = get(id, token);

	assert_error(&r, GRPC_STATUS_UNAUTHENTICATED, ERR_TOKEN_REVOKED);
	assert_string_equal(r.err.message, "Token has been revoked");
}

static void role_change_and_disabling_revoke_older_tokens(void **state)
{
	int64_t renamed = make_user("rv.name@example.com", "Rv Name");
	int64_t promoted = make_user("rv.role@example.com", "Rv Role");
	int64_t disabled = make_user("rv.off@example.com", "Rv Off");
	char *t_renamed = older_token(renamed, "rv.name@example.com", "user");
	char *t_promoted = older_token(promoted, "rv.role@example.com", "user");
	char *t_disabled = older_token(disabled, "rv.off@example.com", "user");
	char *fresh;
	Agentos__Users__V1__User u = AGENTOS__USERS__V1__USER__INIT;
	const char *name_path[] = { "name" }, *role_path[] = { "role" },
		   *active_path[] = { "is_active" };
	struct it_result r;

	u.name = "Renamed"; /* an ordinary write keeps the tokens */
	r = update(renamed, &u, name_path, 1, 0, t_renamed);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	it_result_release(&r);
	assert_get_ok(renamed, t_renamed);

	assert_get_ok(promoted, t_promoted);
	u.role = "moderator";
	r = update(promoted, &u, role_path, 1, 0, F.admin_token);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	it_result_release(&r);
	assert_revoked(promoted, t_promoted);
	fresh = it_token(promoted, "rv.role@example.com", "moderator"); /* issued after: fine */
	assert_get_ok(promoted, fresh);
	free(fresh);

	u.is_active = false;
	r = update(disabled, &u, active_path, 1, 0, F.admin_token);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	it_result_release(&r);
	assert_revoked(disabled, t_disabled);
	free(t_renamed);
	free(t_promoted);
	free(t_disabled);
}

static void password_change_and_deletion_revoke_older_tokens(void **state)
{
	int64_t pw = make_user("rv.pw@example.com", "Rv Pw");
	int64_t gone = make_user("rv.gone@example.com", "Rv Gone");
	char *t_pw = older_token(pw, "rv.pw@example.com", "user");
	char *t_gone = older_token(gone, "rv.gone@example.com", "user");
	char sql[256], *fresh;
	int64_t now_ms = now_unix_ms();
	struct it_result r;

	r = change_pw(pw, "password123", "new-password-1", t_pw);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	it_result_release(&r);
	assert_revoked(pw, t_pw);
	fresh = it_token(pw, "rv.pw@example.com", "user");
	assert_get_ok(pw, fresh);
	free(fresh);

	r = del(gone, t_gone);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	it_result_release(&r);
	assert_revoked(0, t_gone); /* 401 before the 404 of a deleted account */

	/* the auth service holds the fact (its schema), at millisecond precision */
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM auth.revocations WHERE user_id IN (%lld, %lld)"
		 " AND not_before_ms BETWEEN %lld AND %lld",
		 (long long)pw, (long long)gone, (long long)(now_ms - 60000),
		 (long long)(now_ms + 1000));
	assert_int_equal(it_sql_int(F.db, sql), 2);
	/* the outbox is empty: every revocation was delivered */
	assert_int_equal(it_sql_int(F.db, "SELECT count(*) FROM users.token_revocation_outbox"), 0);
	free(t_pw);
	free(t_gone);
}

/* A token logged out at the auth service is refused here at once. */
static void a_logged_out_token_is_refused(void **state)
{
	int64_t id = make_user("rv.jti@example.com", "Rv Jti");
	char *t = it_token(id, "rv.jti@example.com", "user");
	char *other = it_token(id, "rv.jti@example.com", "user");
	struct rpc_channel *auth = rpc_channel_new(F.u.auth_target);
	struct it_result r;
	int64_t start;

	assert_get_ok(id, t);
	r = it_call(auth, "/agentos.auth.v1.AuthService/Logout",
		    &(Agentos__Auth__V1__LogoutRequest)AGENTOS__AUTH__V1__LOGOUT_REQUEST__INIT.base,
		    &google__protobuf__empty__descriptor, t, NULL);
	assert_int_equal(r.status, GRPC_STATUS_OK);
	it_result_release(&r);
	start = mono_ms();
	for (;;) { /* pushed to this service: well within a second */
		r = get(id, t);
		if (r.err.code == ERR_TOKEN_REVOKED || mono_ms() - start > 1000)
			break;
		it_result_release(&r);
		sleep_ms(5);
	}
	assert_error(&r, GRPC_STATUS_UNAUTHENTICATED, ERR_TOKEN_REVOKED);
	it_result_release(&r);
	assert_get_ok(id, other); /* another jti of the same user */
	rpc_channel_free(auth);
	free(t);
	free(other);
}

/* ---- health, logs --------------------------------------------------------------------------- */

static void health_answers_per_service_name(void **state)
{
	assert_int_equal(rpc_health_check(F.ch, "", 1000), 1);
	assert_int_equal(rpc_health_check(F.ch, "agentos.users.v1.UsersService", 1000), 1);
	assert_int_equal(rpc_health_check(F.ch, "agentos.posts.v1.PostsService", 1000), -1);
}

static void logs_carry_request_ids_and_no_secrets(void **state)
{
	char *log = read_file_all(proc_log_path(F.u.users));

	assert_non_null(log);
	assert_non_null(strstr(log, "\"requestId\":\"it-req-1\""));
	assert_non_null(strstr(log, "\"method\":\"/agentos.users.v1.UsersService/CreateUser\""));
	assert_null(strstr(log, "password123"));
	assert_null(strstr(log, "correct horse"));
	assert_null(strstr(log, ADMIN_PASSWORD));
	assert_null(strstr(log, "$argon2id$"));
	assert_null(strstr(log, F.admin_token));
	free(log);
}

/* The quick methods are cache reads: one worker per CPU unless
 * GRPC_WORKERS says otherwise (the fixture leaves it unset). */
static void quick_workers_follow_the_cpus(void **state)
{
	char *log = read_file_all(proc_log_path(F.u.users));
	const char *line = log ? strstr(log, "\"msg\":\"service listening\"") : NULL;
	char want[32];

	(void)state;
	assert_non_null(line);
	snprintf(want, sizeof(want), "\"workers\":%d", online_cpus());
	assert_non_null(strstr(line, want));
	assert_true(strstr(line, want) < strchr(line, '\n'));
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_user_normalizes_and_hashes),
		cmocka_unit_test(create_user_reports_every_invalid_field),
		cmocka_unit_test(create_user_counts_code_points),
		cmocka_unit_test(create_user_duplicate_email_is_already_exists),
		cmocka_unit_test(create_user_admin_fields_need_admin),
		cmocka_unit_test(bad_credentials_are_refused_even_on_open_calls),
		cmocka_unit_test(get_user_self_other_moderator),
		cmocka_unit_test(get_user_is_cached_and_invalidated_on_write),
		cmocka_unit_test(get_user_near_copy_answers_and_follows_other_writers),
		cmocka_unit_test(batch_get_users_public_and_full),
		cmocka_unit_test(batch_get_users_costs_one_mget_and_one_query),
		cmocka_unit_test(list_users_filters_sorts_and_pages),
		cmocka_unit_test(update_user_versions_and_conflicts),
		cmocka_unit_test(update_user_field_and_object_permissions),
		cmocka_unit_test(update_user_email_change_unverifies),
		cmocka_unit_test(delete_user_is_soft_and_frees_the_email),
		cmocka_unit_test(change_password_rules),
		cmocka_unit_test(verify_credentials_same_answer_for_unknown_and_wrong),
		cmocka_unit_test(role_change_and_disabling_revoke_older_tokens),
		cmocka_unit_test(password_change_and_deletion_revoke_older_tokens),
		cmocka_unit_test(a_logged_out_token_is_refused),
		cmocka_unit_test(admin_is_bootstrapped),
		cmocka_unit_test(health_answers_per_service_name),
		cmocka_unit_test(logs_carry_request_ids_and_no_secrets),
		cmocka_unit_test(quick_workers_follow_the_cpus),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
