/* db.h - PostgreSQL connection pool (libpq) and the statements helpers.
 *
 * Parameterized statements only. A connection found broken is reset on its
 * next use; a statement that fails because the connection was lost (outside a
 * transaction) is retried once on a fresh connection, so a PostgreSQL restart
 * costs at most the calls that were in flight. When no connection can be made,
 * calls fail with SERVICE_UNAVAILABLE. */
#ifndef SHARED_DB_H
#define SHARED_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "arena.h"
#include "err.h"

struct db_pool;
struct db_conn;

/* url: a libpq URI or conninfo. Opens min connections now if it can (a
 * database that is down is not an error here), at most max ever. Never NULL. */
struct db_pool *db_pool_new(const char *url, int min, int max);
/* The same, with options (libpq's "options", e.g. "-c plan_cache_mode=force_generic_plan")
 * set on every session; options the URL names take their place. */
struct db_pool *db_pool_new_opts(const char *url, const char *options, int min, int max);
/* Closes every connection. All connections must have been released. NULL is a no-op. */
void db_pool_free(struct db_pool *p);

/* Borrows a connection (waits up to wait_ms for a free one). -1 with
 * SERVICE_UNAVAILABLE when none is free in time or the server cannot be reached. */
int db_pool_acquire(struct db_pool *p, int wait_ms, struct db_conn **out, struct app_error *err);
/* A connection-shaped handle on the pool itself, for one-statement work
 * outside a transaction: each statement run on it (db_exec and the helpers
 * below) borrows a connection for its own duration, waiting up to
 * DB_ANY_WAIT_MS, so a service hands it to a one-statement repo call with no
 * acquire/release pair. Statements on it share no session: db_begin fails
 * on it (INTERNAL_ERROR); transactions go through db_with_tx. Owned by p;
 * never released. */
#define DB_ANY_WAIT_MS 2000
struct db_conn *db_pool_any(struct db_pool *p);
/* Returns a connection; an open transaction is rolled back first. NULL is a no-op. */
void db_pool_release(struct db_pool *p, struct db_conn *c);

/* One unit of work on a borrowed connection: 0, or -1 with err. */
typedef int (*db_work_fn)(struct db_conn *c, void *arg, struct app_error *err);
/* Borrows a connection (db_pool_acquire, up to wait_ms) and runs fn(c, arg)
 * inside one transaction: BEGIN, fn, then COMMIT when fn returned 0 and left
 * the transaction open (fn may commit itself, e.g. to act once the write is
 * durable); otherwise the release rolls it back. fn's result, or -1 when no
 * connection came in time. */
int db_with_tx(struct db_pool *p, int wait_ms, db_work_fn fn, void *arg, struct app_error *err);

/* true when `SELECT 1` succeeds on some connection within about a second. */
bool db_pool_ping(struct db_pool *p);

/* Runs one statement with text parameters (NULL = SQL NULL). Returns a result
 * with status COMMAND_OK or TUPLES_OK that the caller PQclear()s, or NULL with
 * err set: 23505 DUPLICATE_RESOURCE (one violation naming the column as a JSON
 * field, from the error detail "Key (email)=..."), 23503 FOREIGN_KEY_VIOLATION,
 * 23502 REQUIRED_FIELD_MISSING (violation names the column), 40001/40P01
 * CONFLICT, lost connection or 57P0x SERVICE_UNAVAILABLE, anything else
 * DATABASE_ERROR (logged with the SQLSTATE; the SQL text never reaches err). */
PGresult *db_exec(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		  struct app_error *err);
/* Like db_exec for statements whose result is not needed. */
int db_exec_cmd(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		struct app_error *err);
/* db_exec for a statement that must return a row: NULL with NOT_FOUND
 * "<what> not found" ("User", "Post") when it returned none. */
PGresult *db_exec_row(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		      const char *what, struct app_error *err);
/* db_exec_cmd for a write that must touch a row: one that touched none is
 * NOT_FOUND "<what> not found" ("User", "Post"). */
int db_exec_some(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		 const char *what, struct app_error *err);

/* Escapes %, _ and \ with \ so the text matches literally in LIKE/ILIKE ...
 * ESCAPE '\' (the repos' substring filters); result owned by a. NULL for NULL. */
char *db_like_escape(struct arena *a, const char *s);

int db_begin(struct db_conn *c, struct app_error *err);
int db_commit(struct db_conn *c, struct app_error *err);
void db_rollback(struct db_conn *c);

/* v as a statement's text parameter, written into buf (DB_INT_TEXT bytes),
 * which it returns: `const char *p[] = { db_int_text(ids, id) };`. */
#define DB_INT_TEXT 24
const char *db_int_text(char *buf, int64_t v);

/* Text-format column values: an int8/int4 (0 when NULL or not a number) and a
 * boolean ('t'). */
int64_t db_get_int64(const PGresult *r, int row, int col);
bool db_get_bool(const PGresult *r, int row, int col);

/* The raw connection, for what the helpers above do not cover (COPY, ...). */
PGconn *db_conn_pg(struct db_conn *c);

/* ---- migrations --------------------------------------------------------- */

struct db_migration {
	int version;      /* from the file name: 001_init.sql -> 1 */
	const char *name; /* "001_init.sql" */
	const char *sql;
};

/* Applies, in one transaction under a per-schema advisory lock, every
 * migration whose version is not yet in <schema>.schema_migrations, in
 * version order, with search_path set to the schema (created when missing).
 * Safe to run from several replicas at once. 0 or -1 with err set. */
int db_migrate(struct db_pool *p, const char *schema, const struct db_migration *m, size_t n,
	       struct app_error *err);

#endif
