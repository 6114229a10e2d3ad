/* shared_db_it.c - shared/db.c against a real PostgreSQL: migrations,
 * parameterized statements, error mapping, transactions, pool limits, and
 * surviving a server restart. (shared/kv.c is covered by shared_kv_it.c.) */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "log.h"
#include "stack.h"
#include "util.h"

struct fixture {
	struct stack *stack;
	struct db_pool *pool;
	char log_path[4096];
	int log_fd;
};

static struct fixture F;

/* ---- helpers ---------------------------------------------------------------- */

/* Runs sql on a borrowed connection; fails the test on error. */
static PGresult *must_exec(const char *sql, int nparams, const char *const *params)
{
	struct app_error err;
	struct db_conn *c;
	PGresult *res;

	app_error_init(&err);
	assert_int_equal(db_pool_acquire(F.pool, 2000, &c, &err), 0);
	res = db_exec(c, sql, nparams, params, &err);
	if (!res)
		fail_msg("%s: %s (%s)", sql, err.message, err_name(err.code));
	db_pool_release(F.pool, c);
	return res;
}

static int64_t query_int(const char *sql)
{
	PGresult *res = must_exec(sql, 0, NULL);
	int64_t v = -1;

	assert_int_equal(PQntuples(res), 1);
	assert_true(parse_int64(PQgetvalue(res, 0, 0), &v));
	PQclear(res);
	return v;
}

static bool query_true(const char *sql)
{
	PGresult *res = must_exec(sql, 0, NULL);
	bool t = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;

	PQclear(res);
	return t;
}

/* Executes one statement on a fresh connection and returns the error code. */
static enum err_code exec_code(const char *sql, int nparams, const char *const *params,
			       struct app_error *err)
{
	struct db_conn *c;
	PGresult *res;

	app_error_init(err);
	assert_int_equal(db_pool_acquire(F.pool, 2000, &c, err), 0);
	res = db_exec(c, sql, nparams, params, err);
	db_pool_release(F.pool, c);
	if (res) {
		PQclear(res);
		return ERR_OK;
	}
	return err->code;
}

static char *log_text(void)
{
	char *s = read_file_all(F.log_path);

	assert_non_null(s);
	return s;
}

/* ---- fixture ---------------------------------------------------------------- */

static int group_setup(void **state)
{
	F.stack = stack_start("shared_db_it");
	snprintf(F.log_path, sizeof(F.log_path), "%s/shared_db_it.log", stack_dir(F.stack));
	F.log_fd = open(F.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	assert_true(F.log_fd >= 0);
	log_init(LOG_INFO, LOG_FORMAT_JSON, "shared_db_it");
	log_set_fd(F.log_fd);
	F.pool = db_pool_new(stack_database_url(F.stack), 2, 4);
	*state = &F;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	db_pool_free(F.pool);
	log_set_fd(1);
	close(F.log_fd);
	stack_stop(F.stack);
	return 0;
}

/* ---- pool and statements ---------------------------------------------------- */

static void test_pool_with_server_down(void **state)
{
	char url[128];
	struct app_error err;
	struct db_conn *c = NULL;
	struct db_pool *p;

	(void)state;
	snprintf(url, sizeof(url), "postgresql://app@127.0.0.1:%d/app", stack_free_port());
	p = db_pool_new(url, 2, 2); /* nothing listens there: still a pool */
	assert_non_null(p);
	app_error_init(&err);
	assert_int_equal(db_pool_acquire(p, 100, &c, &err), -1);
	assert_null(c);
	assert_int_equal(err.code, ERR_SERVICE_UNAVAILABLE);
	assert_string_equal(err.message, "database unavailable");
	assert_false(db_pool_ping(p));
	db_pool_free(p);
}

static void test_exec_roundtrip(void **state)
{
	const char *tricky = "O'Brien\"; DROP TABLE rt; -- \\ % _ \xc3\xa9";
	const char *params[3] = { tricky, NULL, "42" };
	PGresult *res;

	(void)state;
	PQclear(must_exec("CREATE TABLE rt (id serial PRIMARY KEY, name text, note text, n int)", 0,
			  NULL));
	res = must_exec("INSERT INTO rt (name, note, n) VALUES ($1, $2, $3) RETURNING id", 3,
			params);
	assert_int_equal(PQntuples(res), 1);
	PQclear(res);
	res = must_exec("SELECT name, note, n FROM rt WHERE name = $1", 1, params);
	assert_int_equal(PQntuples(res), 1);
	assert_string_equal(PQgetvalue(res, 0, 0), tricky);
	assert_true(PQgetisnull(res, 0, 1));
	assert_string_equal(PQgetvalue(res, 0, 2), "42");
	PQclear(res);
	assert_int_equal(query_int("SELECT count(*) FROM rt"), 1);
}

/* A statement that must return or touch a row: none is NOT_FOUND naming the thing. */
static void test_exec_row_and_some_want_a_row(void **state)
{
	const char *one[] = { "1" }, *two[] = { "2" };
	struct app_error err;
	struct db_conn *c;
	PGresult *r;

	(void)state;
	app_error_init(&err);
	PQclear(must_exec("CREATE TABLE es (id int PRIMARY KEY, v int)", 0, NULL));
	PQclear(must_exec("INSERT INTO es VALUES (1, 0)", 0, NULL));
	assert_int_equal(db_pool_acquire(F.pool, 1000, &c, &err), 0);
	assert_int_equal(db_exec_some(c, "UPDATE es SET v = 7 WHERE id = $1", 1, one, "Thing",
				      &err),
			 0);
	assert_int_equal(err.code, ERR_OK);
	assert_int_equal(db_exec_some(c, "UPDATE es SET v = 8 WHERE id = $1", 1, two, "Thing",
				      &err),
			 -1);
	assert_int_equal(err.code, ERR_NOT_FOUND);
	assert_string_equal(err.message, "Thing not found");
	app_error_init(&err);
	assert_int_equal(db_exec_some(c, "UPDATE es SET v = 1/0 WHERE id = $1", 1, one, "Thing",
				      &err),
			 -1);
	assert_int_equal(err.code, ERR_DATABASE_ERROR);
	app_error_init(&err);
	r = db_exec_row(c, "SELECT v FROM es WHERE id = $1", 1, one, "Thing", &err);
	assert_non_null(r);
	assert_string_equal(PQgetvalue(r, 0, 0), "7");
	PQclear(r);
	assert_null(db_exec_row(c, "SELECT v FROM es WHERE id = $1", 1, two, "Thing", &err));
	assert_int_equal(err.code, ERR_NOT_FOUND);
	assert_string_equal(err.message, "Thing not found");
	db_pool_release(F.pool, c);
	assert_int_equal(query_int("SELECT v FROM es WHERE id = 1"), 7);
}

/* db_int_text: every int64 fits its buffer and reaches PostgreSQL as itself. */
static void test_int_text_round_trips(void **state)
{
	static const int64_t values[] = { INT64_MIN, -1, 0, 42, INT64_MAX };
	char buf[DB_INT_TEXT], *back;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		const char *p[] = { db_int_text(buf, values[i]) };
		PGresult *r = must_exec("SELECT ($1::bigint)::text", 1, p);

		back = PQgetvalue(r, 0, 0);
		assert_string_equal(back, buf);
		assert_int_equal(strtoll(back, NULL, 10), values[i]);
		PQclear(r);
	}
}

static void test_duplicate_maps_to_field(void **state)
{
	const char *a[] = { "Ann@Example.com", "ann" };
	const char *b[] = { "ann@example.com", "ann2" };
	const char *c[] = { "zed@example.com", "ann" };
	struct app_error err;

	(void)state;
	PQclear(must_exec("CREATE TABLE people (id serial PRIMARY KEY, email text NOT NULL, "
			  "user_name text NOT NULL UNIQUE, deleted_at timestamptz)",
			  0, NULL));
	PQclear(must_exec("CREATE UNIQUE INDEX people_email ON people (lower(email)) "
			  "WHERE deleted_at IS NULL",
			  0, NULL));
	assert_int_equal(exec_code("INSERT INTO people (email, user_name) VALUES ($1, $2)", 2, a,
				   &err),
			 ERR_OK);
	/* Case-insensitive duplicate through the expression index. */
	assert_int_equal(exec_code("INSERT INTO people (email, user_name) VALUES ($1, $2)", 2, b,
				   &err),
			 ERR_DUPLICATE_RESOURCE);
	assert_string_equal(err.message, "Resource already exists");
	assert_int_equal(err.nviolations, 1);
	assert_string_equal(err.violations[0].field, "email");
	/* A snake_case column is named in lowerCamelCase. */
	assert_int_equal(exec_code("INSERT INTO people (email, user_name) VALUES ($1, $2)", 2, c,
				   &err),
			 ERR_DUPLICATE_RESOURCE);
	assert_int_equal(err.nviolations, 1);
	assert_string_equal(err.violations[0].field, "userName");
	/* Soft-deleted rows do not count (partial index). */
	PQclear(must_exec("UPDATE people SET deleted_at = now()", 0, NULL));
	assert_int_equal(exec_code("INSERT INTO people (email, user_name) VALUES ($1, $2)", 2, b,
				   &err),
			 ERR_OK);
}

static void test_fk_and_not_null(void **state)
{
	const char *orphan[] = { "999" };
	struct app_error err;

	(void)state;
	PQclear(must_exec("CREATE TABLE parents (id int PRIMARY KEY)", 0, NULL));
	PQclear(must_exec("CREATE TABLE kids (id serial PRIMARY KEY, parent_id int NOT NULL "
			  "REFERENCES parents(id), display_name text NOT NULL DEFAULT 'x')",
			  0, NULL));
	assert_int_equal(exec_code("INSERT INTO kids (parent_id) VALUES ($1)", 1, orphan, &err),
			 ERR_FOREIGN_KEY_VIOLATION);
	assert_string_equal(err.message, err_default_message(ERR_FOREIGN_KEY_VIOLATION));
	PQclear(must_exec("INSERT INTO parents VALUES (1)", 0, NULL));
	assert_int_equal(exec_code("INSERT INTO kids (parent_id, display_name) VALUES (1, NULL)", 0,
				   NULL, &err),
			 ERR_REQUIRED_FIELD_MISSING);
	assert_int_equal(err.nviolations, 1);
	assert_string_equal(err.violations[0].field, "displayName");
	assert_int_equal(query_int("SELECT count(*) FROM kids"), 0);
}

static void test_other_errors_are_generic_and_logged(void **state)
{
	struct app_error err;
	char *log;

	(void)state;
	assert_int_equal(exec_code("SELEC secret_column FROM nowhere", 0, NULL, &err),
			 ERR_DATABASE_ERROR);
	assert_string_equal(err.message, err_default_message(ERR_DATABASE_ERROR));
	assert_null(strstr(err.message, "secret_column"));
	assert_int_equal(err.nviolations, 0);
	log = log_text();
	assert_non_null(strstr(log, "\"sqlstate\":\"42601\"")); /* syntax_error */
	free(log);
}

static void test_transactions(void **state)
{
	struct app_error err;
	struct db_conn *c;

	(void)state;
	app_error_init(&err);
	PQclear(must_exec("CREATE TABLE tx (v int)", 0, NULL));
	assert_int_equal(db_pool_acquire(F.pool, 1000, &c, &err), 0);
	assert_int_equal(db_begin(c, &err), 0);
	assert_int_equal(db_exec_cmd(c, "INSERT INTO tx VALUES (1)", 0, NULL, &err), 0);
	db_rollback(c);
	assert_int_equal(db_begin(c, &err), 0);
	assert_int_equal(db_exec_cmd(c, "INSERT INTO tx VALUES (2)", 0, NULL, &err), 0);
	assert_int_equal(db_commit(c, &err), 0);
	/* Released with a transaction open: rolled back, not committed. */
	assert_int_equal(db_begin(c, &err), 0);
	assert_int_equal(db_exec_cmd(c, "INSERT INTO tx VALUES (3)", 0, NULL, &err), 0);
	db_pool_release(F.pool, c);
	assert_int_equal(query_int("SELECT coalesce(sum(v), 0) FROM tx"), 2);
	/* COMMIT of a transaction that failed is a failure, not a silent rollback. */
	assert_int_equal(db_pool_acquire(F.pool, 1000, &c, &err), 0);
	assert_int_equal(db_begin(c, &err), 0);
	assert_int_equal(db_exec_cmd(c, "INSERT INTO tx VALUES (4)", 0, NULL, &err), 0);
	assert_int_equal(db_exec_cmd(c, "SELECT 1/0", 0, NULL, &err), -1);
	assert_int_equal(db_commit(c, &err), -1);
	db_pool_release(F.pool, c);
	assert_int_equal(query_int("SELECT coalesce(sum(v), 0) FROM tx"), 2);
}

static void test_pool_limit_waits_then_fails(void **state)
{
	struct app_error err;
	struct db_conn *a, *b = NULL;
	struct db_pool *p = db_pool_new(stack_database_url(F.stack), 0, 1);
	int64_t t0;

	(void)state;
	app_error_init(&err);
	assert_int_equal(db_pool_acquire(p, 1000, &a, &err), 0);
	t0 = mono_ms();
	assert_int_equal(db_pool_acquire(p, 150, &b, &err), -1);
	assert_true(mono_ms() - t0 >= 140);
	assert_true(mono_ms() - t0 < 1000);
	assert_int_equal(err.code, ERR_SERVICE_UNAVAILABLE);
	db_pool_release(p, a);
	assert_int_equal(db_pool_acquire(p, 150, &b, &err), 0);
	assert_ptr_equal(a, b); /* the one connection, reused */
	db_pool_release(p, b);
	db_pool_free(p);
}

/* The pool's any handle: each statement borrows the pool's one connection
 * and gives it back (two in a row both run), helpers and errors as on a
 * connection, no transaction on it, and a full pool is SERVICE_UNAVAILABLE
 * after DB_ANY_WAIT_MS. */
static void test_pool_any_borrows_per_statement(void **state)
{
	const char *one[] = { "1" }, *nine[] = { "9" };
	struct db_pool *p = db_pool_new(stack_database_url(F.stack), 0, 1);
	struct db_conn *any = db_pool_any(p), *held;
	struct app_error err;
	PGresult *r;
	int64_t t0;

	(void)state;
	app_error_init(&err);
	PQclear(must_exec("CREATE TABLE anyt (id int PRIMARY KEY, v int)", 0, NULL));
	assert_int_equal(db_exec_cmd(any, "INSERT INTO anyt VALUES ($1, 5)", 1, one, &err), 0);
	r = db_exec_row(any, "SELECT v FROM anyt WHERE id = $1", 1, one, "Thing", &err);
	assert_non_null(r);
	assert_string_equal(PQgetvalue(r, 0, 0), "5");
	PQclear(r);
	assert_int_equal(db_exec_some(any, "UPDATE anyt SET v = 6 WHERE id = $1", 1, nine, "Thing",
				      &err),
			 -1);
	assert_int_equal(err.code, ERR_NOT_FOUND);
	app_error_init(&err);
	assert_int_equal(db_exec_cmd(any, "INSERT INTO anyt VALUES ($1, 7)", 1, one, &err), -1);
	assert_int_equal(err.code, ERR_DUPLICATE_RESOURCE);
	app_error_init(&err);
	assert_int_equal(db_begin(any, &err), -1);
	assert_int_equal(err.code, ERR_INTERNAL_ERROR);
	db_pool_release(p, any); /* a no-op: the handle is not a connection */
	app_error_init(&err);
	assert_int_equal(db_pool_acquire(p, 1000, &held, &err), 0);
	t0 = mono_ms();
	assert_int_equal(db_exec_cmd(any, "SELECT 1", 0, NULL, &err), -1);
	assert_int_equal(err.code, ERR_SERVICE_UNAVAILABLE);
	assert_true(mono_ms() - t0 >= DB_ANY_WAIT_MS - 50);
	db_pool_release(p, held);
	app_error_init(&err);
	assert_int_equal(db_exec_cmd(any, "SELECT 1", 0, NULL, &err), 0);
	db_pool_free(p);
	assert_int_equal(query_int("SELECT v FROM anyt WHERE id = 1"), 5);
}

/* Options given to the pool hold in every session it opens (the posts
 * service plans each statement once this way); without them, the server's
 * default. */
static void test_pool_session_options(void **state)
{
	const char *const want[] = { "force_generic_plan", "auto" };
	struct db_pool *pools[] = {
		db_pool_new_opts(stack_database_url(F.stack),
				 "-c plan_cache_mode=force_generic_plan", 1, 2),
		db_pool_new(stack_database_url(F.stack), 1, 2),
	};
	struct app_error err;

	(void)state;
	app_error_init(&err);
	for (size_t i = 0; i < 2; i++) {
		struct db_conn *a, *b;
		PGresult *r;

		assert_int_equal(db_pool_acquire(pools[i], 1000, &a, &err), 0);
		assert_int_equal(db_pool_acquire(pools[i], 1000, &b, &err),
				 0); /* opened on demand */
		r = db_exec(b, "SHOW plan_cache_mode", 0, NULL, &err);
		assert_non_null(r);
		assert_string_equal(PQgetvalue(r, 0, 0), want[i]);
		PQclear(r);
		db_pool_release(pools[i], b);
		db_pool_release(pools[i], a);
		db_pool_free(pools[i]);
	}
}

/* ---- migrations --------------------------------------------------------------- */

static int64_t migrations_rows(const char *schema)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.schema_migrations", schema);
	return query_int(sql);
}

static void test_migrate_applies_once(void **state)
{
	const struct db_migration m[] = {
		/* Given out of order: applied by version. */
		{ 2, "002_seed.sql", "INSERT INTO items (name) VALUES ('first');" },
		{ 1, "001_init.sql",
		  "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);\n"
		  "CREATE INDEX items_name ON items (name);\n" },
	};
	const struct db_migration more[] = {
		m[0],
		m[1],
		{ 3, "003_more.sql", "ALTER TABLE items ADD COLUMN note text;" },
	};
	struct app_error err;
	char *log;

	(void)state;
	app_error_init(&err);
	assert_int_equal(db_migrate(F.pool, "mig_a", m, 2, &err), 0);
	assert_int_equal(migrations_rows("mig_a"), 2);
	assert_int_equal(query_int("SELECT count(*) FROM mig_a.items"), 1);
	/* search_path put the unqualified table into the schema, not public. */
	assert_true(query_true("SELECT to_regclass('public.items') IS NULL"));
	assert_int_equal(db_migrate(F.pool, "mig_a", m, 2, &err), 0);
	assert_int_equal(query_int("SELECT count(*) FROM mig_a.items"), 1);
	assert_int_equal(migrations_rows("mig_a"), 2);
	assert_int_equal(db_migrate(F.pool, "mig_a", more, 3, &err), 0);
	assert_int_equal(migrations_rows("mig_a"), 3);
	assert_true(query_true("SELECT name = '003_more.sql' FROM mig_a.schema_migrations "
			       "WHERE version = 3"));
	assert_true(query_true("SELECT count(note) = 0 FROM mig_a.items"));
	log = log_text();
	assert_non_null(strstr(log, "\"file\":\"001_init.sql\""));
	assert_non_null(strstr(log, "\"file\":\"003_more.sql\""));
	free(log);
}

static void test_migrate_failure_rolls_back(void **state)
{
	const struct db_migration m[] = {
		{ 1, "001_ok.sql", "CREATE TABLE t1 (id int);" },
		{ 2, "002_bad.sql", "CREATE TABLE t2 (id int); SELECT * FROM no_such_table;" },
	};
	struct app_error err;

	(void)state;
	app_error_init(&err);
	assert_int_equal(db_migrate(F.pool, "mig_b", m, 2, &err), -1);
	assert_int_equal(err.code, ERR_DATABASE_ERROR);
	assert_non_null(strstr(err.message, "002_bad.sql"));
	assert_true(query_true("SELECT to_regclass('mig_b.t1') IS NULL AND "
			       "to_regclass('mig_b.t2') IS NULL AND "
			       "NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'mig_b')"));
	/* Fixed, it applies from scratch. */
	app_error_init(&err);
	assert_int_equal(db_migrate(F.pool, "mig_b", m, 1, &err), 0);
	assert_int_equal(migrations_rows("mig_b"), 1);
	/* Bad schema names are refused before touching the database. */
	assert_int_equal(db_migrate(F.pool, "Bad\"Name", m, 1, &err), -1);
	assert_int_equal(db_migrate(F.pool, "1abc", m, 1, &err), -1);
	assert_int_equal(db_migrate(F.pool, "", m, 1, &err), -1);
}

struct mig_thread {
	struct db_pool *pool;
	int rc;
	struct app_error err;
};

static const struct db_migration concurrent_m[] = {
	/* Not idempotent: applying it twice would fail ("already exists"). */
	{ 1, "001_slow.sql", "CREATE TABLE c (id int); SELECT pg_sleep(0.3);" },
	{ 2, "002_row.sql", "INSERT INTO c VALUES (1);" },
};

static void *migrate_thread(void *arg)
{
	struct mig_thread *t = arg;

	app_error_init(&t->err);
	t->rc = db_migrate(t->pool, "mig_c", concurrent_m, 2, &t->err);
	return NULL;
}

static void test_migrate_concurrently(void **state)
{
	struct mig_thread t[2];
	pthread_t th[2];

	(void)state;
	for (int i = 0; i < 2; i++) {
		/* Separate pools: two replicas starting together. */
		t[i].pool = db_pool_new(stack_database_url(F.stack), 1, 1);
		assert_int_equal(pthread_create(&th[i], NULL, migrate_thread, &t[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].rc, 0);
		db_pool_free(t[i].pool);
	}
	assert_int_equal(migrations_rows("mig_c"), 2);
	assert_int_equal(query_int("SELECT count(*) FROM mig_c.c"), 1);
}

/* ---- PostgreSQL restarts ------------------------------------------------------ */

/* Every connection of the pool answers right after a restart that happened
 * while they sat idle: the lost connection is reset and the call retried. */
/* db_exec prepares a statement once per connection and reuses it; an error
 * while preparing is the statement's own error (here: an unknown table,
 * inside a transaction), and the connection goes on after a rollback. */
static void test_statements_are_prepared_once(void **state)
{
	static const char *const one[] = { "41" };
	struct app_error err;
	struct db_conn *c;
	PGresult *r;
	char *log;

	(void)state;
	app_error_init(&err);
	assert_int_equal(db_pool_acquire(F.pool, 1000, &c, &err), 0);
	for (int i = 0; i < 3; i++) {
		r = db_exec(c, "SELECT $1::int + 1", 1, one, &err);
		assert_non_null(r);
		assert_string_equal(PQgetvalue(r, 0, 0), "42");
		PQclear(r);
	}
	r = db_exec(c,
		    "SELECT count(*) FROM pg_prepared_statements"
		    " WHERE statement = 'SELECT $1::int + 1'",
		    0, NULL, &err);
	assert_non_null(r);
	assert_string_equal(PQgetvalue(r, 0, 0), "1");
	PQclear(r);

	assert_int_equal(db_begin(c, &err), 0);
	assert_null(db_exec(c, "SELECT * FROM no_such_table", 0, NULL, &err));
	assert_int_equal(err.code, ERR_DATABASE_ERROR);
	log = log_text();
	assert_non_null(strstr(log, "\"sqlstate\":\"42P01\"")); /* undefined_table */
	free(log);
	db_rollback(c);
	app_error_init(&err);
	r = db_exec(c, "SELECT $1::int + 1", 1, one, &err);
	assert_non_null(r);
	PQclear(r);
	db_pool_release(F.pool, c);
}

static void test_pg_restart_is_transparent(void **state)
{
	struct app_error err;
	struct db_conn *a, *b;

	(void)state;
	app_error_init(&err);
	assert_int_equal(query_int("SELECT 1"), 1);
	stack_pg_stop(F.stack);
	stack_pg_start(F.stack);
	assert_int_equal(db_pool_acquire(F.pool, 1000, &a, &err), 0);
	assert_int_equal(db_pool_acquire(F.pool, 1000, &b, &err), 0);
	assert_int_equal(db_exec_cmd(a, "SELECT 1", 0, NULL, &err), 0);
	assert_int_equal(db_exec_cmd(b, "SELECT 1", 0, NULL, &err), 0);
	db_pool_release(F.pool, a);
	db_pool_release(F.pool, b);
}

static void test_pg_down_then_back(void **state)
{
	struct app_error err;
	struct db_conn *c;
	int64_t t0;
	bool ok = false;

	(void)state;
	assert_true(db_pool_ping(F.pool));
	stack_pg_stop(F.stack);
	assert_false(db_pool_ping(F.pool));
	for (int i = 0; i < 3; i++) {
		app_error_init(&err);
		if (db_pool_acquire(F.pool, 500, &c, &err) == 0) {
			assert_int_equal(db_exec_cmd(c, "SELECT 1", 0, NULL, &err), -1);
			db_pool_release(F.pool, c);
		}
		assert_int_equal(err.code, ERR_SERVICE_UNAVAILABLE);
	}
	stack_pg_start(F.stack);
	t0 = mono_ms();
	while (!ok && mono_ms() - t0 < 5000) {
		app_error_init(&err);
		if (db_pool_acquire(F.pool, 500, &c, &err) == 0) {
			ok = db_exec_cmd(c, "SELECT 1", 0, NULL, &err) == 0;
			db_pool_release(F.pool, c);
		}
		if (!ok)
			usleep(100 * 1000);
	}
	assert_true(ok);
	assert_true(db_pool_ping(F.pool));
}

/* Inside a transaction a lost connection is an error, never a silent retry
 * outside the transaction. */
static void test_pg_lost_inside_transaction(void **state)
{
	struct app_error err;
	struct db_conn *c;

	(void)state;
	app_error_init(&err);
	PQclear(must_exec("CREATE TABLE lost (v int)", 0, NULL));
	assert_int_equal(db_pool_acquire(F.pool, 1000, &c, &err), 0);
	assert_int_equal(db_begin(c, &err), 0);
	assert_int_equal(db_exec_cmd(c, "INSERT INTO lost VALUES (1)", 0, NULL, &err), 0);
	stack_pg_stop(F.stack);
	stack_pg_start(F.stack);
	assert_int_equal(db_exec_cmd(c, "INSERT INTO lost VALUES (2)", 0, NULL, &err), -1);
	assert_int_equal(err.code, ERR_SERVICE_UNAVAILABLE);
	assert_int_equal(db_commit(c, &err), -1);
	db_pool_release(F.pool, c);
	assert_int_equal(query_int("SELECT count(*) FROM lost"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_with_server_down),
		cmocka_unit_test(test_exec_roundtrip),
		cmocka_unit_test(test_exec_row_and_some_want_a_row),
		cmocka_unit_test(test_int_text_round_trips),
		cmocka_unit_test(test_duplicate_maps_to_field),
		cmocka_unit_test(test_fk_and_not_null),
		cmocka_unit_test(test_other_errors_are_generic_and_logged),
		cmocka_unit_test(test_transactions),
		cmocka_unit_test(test_pool_limit_waits_then_fails),
		cmocka_unit_test(test_pool_any_borrows_per_statement),
		cmocka_unit_test(test_pool_session_options),
		cmocka_unit_test(test_migrate_applies_once),
		cmocka_unit_test(test_migrate_failure_rolls_back),
		cmocka_unit_test(test_migrate_concurrently),
		cmocka_unit_test(test_statements_are_prepared_once),
		cmocka_unit_test(test_pg_restart_is_transparent),
		cmocka_unit_test(test_pg_down_then_back),
		cmocka_unit_test(test_pg_lost_inside_transaction),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
