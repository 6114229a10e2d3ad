/* db_migrate.c - schema migrations (see db_migrate in db.h).
 *
 * One transaction per run: BEGIN, a per-schema advisory lock (so replicas
 * starting together apply each migration once), the schema and its
 * schema_migrations table, search_path set to the schema, then every missing
 * migration in version order, each recorded. Any failure rolls all of it back.
 * Applied migrations are logged after the COMMIT, when they really are. */
#include "db.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define DB_MIGRATE_WAIT_MS 10000
#define DB_SCHEMA_MAX 63 /* PostgreSQL's identifier limit */

static bool valid_schema_name(const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len == 0 || len > DB_SCHEMA_MAX || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	}
	return true;
}

/* Advisory lock key for a schema: FNV-1a 64 of a tag plus the name. */
static int64_t migrate_lock_key(const char *schema)
{
	static const char tag[] = "db_migrate:";
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *q = tag; *q; q++)
		h = (h ^ (unsigned char)*q) * 0x100000001b3ULL;
	for (const char *q = schema; *q; q++)
		h = (h ^ (unsigned char)*q) * 0x100000001b3ULL;
	return (int64_t)h;
}

/* One statement of the migration transaction; on failure fills why with the
 * SQLSTATE and primary message. Returns the result (caller clears) or NULL. */
static PGresult *mig_exec(PGconn *pg, const char *sql, int nparams, const char *const *params,
			  char *why, size_t whysize)
{
	PGresult *res = nparams ? PQexecParams(pg, sql, nparams, NULL, params, NULL, NULL, 0)
				: PQexec(pg, sql);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	const char *state, *primary;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY)
		return res;
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	snprintf(why, whysize, "%s%s%s", state ? state : "", state ? ": " : "",
		 primary ? primary : PQerrorMessage(pg));
	why[strcspn(why, "\n")] = '\0';
	PQclear(res);
	return NULL;
}

/* mig_exec for a statement whose result is not needed: 0 or -1. */
static int mig_cmd(PGconn *pg, const char *sql, int nparams, const char *const *params, char *why,
		   size_t whysize)
{
	PGresult *res = mig_exec(pg, sql, nparams, params, why, whysize);

	PQclear(res);
	return res ? 0 : -1;
}

static int mig_fail(PGconn *pg, struct app_error *err, const char *what, const char *why)
{
	enum err_code code = PQstatus(pg) == CONNECTION_OK ? ERR_DATABASE_ERROR
							   : ERR_SERVICE_UNAVAILABLE;

	log_error("migration failed", LOG_S("step", what), LOG_S("error", why));
	return app_error_set(err, code, "migration %s failed: %s", what, why);
}

/* BEGIN, the per-schema lock, the schema, its bookkeeping table, search_path. */
static int migrate_prepare(PGconn *pg, const char *schema, struct app_error *err)
{
	char key[24], sql[3][256], why[ERR_MESSAGE_MAX];
	const char *params[1] = { key };

	snprintf(key, sizeof(key), "%" PRId64, migrate_lock_key(schema));
	snprintf(sql[0], sizeof(sql[0]), "CREATE SCHEMA IF NOT EXISTS \"%s\"", schema);
	snprintf(sql[1], sizeof(sql[1]),
		 "CREATE TABLE IF NOT EXISTS \"%s\".schema_migrations (version int PRIMARY KEY, "
		 "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
		 schema);
	snprintf(sql[2], sizeof(sql[2]), "SET LOCAL search_path TO \"%s\"", schema);
	/* READ COMMITTED: statements after the lock see what the holder committed. */
	if (mig_cmd(pg, "BEGIN ISOLATION LEVEL READ COMMITTED", 0, NULL, why, sizeof(why)) != 0)
		return mig_fail(pg, err, "begin", why);
	if (mig_cmd(pg, "SELECT pg_advisory_xact_lock($1::bigint)", 1, params, why, sizeof(why)) !=
	    0)
		return mig_fail(pg, err, "lock", why);
	for (size_t i = 0; i < ARRAY_SIZE(sql); i++) {
		if (mig_cmd(pg, sql[i], 0, NULL, why, sizeof(why)) != 0)
			return mig_fail(pg, err, "setup", why);
	}
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Versions already applied, sorted; *n their count. Caller frees. */
static int *applied_versions(PGconn *pg, const char *schema, size_t *n, char *why, size_t whysize)
{
	char sql[160];
	PGresult *res;
	int *v;

	snprintf(sql, sizeof(sql), "SELECT version FROM \"%s\".schema_migrations ORDER BY 1",
		 schema);
	res = mig_exec(pg, sql, 0, NULL, why, whysize);
	if (!res)
		return NULL;
	*n = (size_t)PQntuples(res);
	v = xcalloc(*n + 1, sizeof(*v));
	for (size_t i = 0; i < *n; i++) {
		int64_t x = 0;

		parse_int64(PQgetvalue(res, (int)i, 0), &x);
		v[i] = (int)x;
	}
	PQclear(res);
	return v;
}

/* Applies one migration and records it. */
static int apply_one(PGconn *pg, const char *schema, const struct db_migration *m,
		     struct app_error *err)
{
	char sql[160], ver[16], why[ERR_MESSAGE_MAX];
	const char *params[2] = { ver, m->name };

	if (mig_cmd(pg, m->sql, 0, NULL, why, sizeof(why)) != 0)
		return mig_fail(pg, err, m->name, why);
	if (PQtransactionStatus(pg) != PQTRANS_INTRANS)
		return mig_fail(pg, err, m->name, "a migration must not end the transaction");
	snprintf(ver, sizeof(ver), "%d", m->version);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO \"%s\".schema_migrations (version, name) VALUES ($1, $2)", schema);
	if (mig_cmd(pg, sql, 2, params, why, sizeof(why)) != 0)
		return mig_fail(pg, err, m->name, why);
	return 0;
}

/* Indices of m in version order; NULL (err set) on a duplicate version. */
static size_t *migration_order(const struct db_migration *m, size_t n, struct app_error *err)
{
	size_t *order = xcalloc(n + 1, sizeof(*order));

	/* Insertion sort: a service has a handful of migrations. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		while (j > 0 && m[order[j - 1]].version > m[i].version) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (size_t i = 1; i < n; i++) {
		if (m[order[i]].version == m[order[i - 1]].version) {
			app_error_set(err, ERR_DATABASE_ERROR,
				      "migrations %s and %s share version %d", m[order[i - 1]].name,
				      m[order[i]].name, m[order[i]].version);
			free(order);
			return NULL;
		}
	}
	return order;
}

/* Applies the missing migrations; their indices go to done[*ndone]. */
static int migrate_apply(PGconn *pg, const char *schema, const struct db_migration *m,
			 const size_t *order, size_t n, size_t *done, size_t *ndone,
			 struct app_error *err)
{
	char why[ERR_MESSAGE_MAX];
	size_t napplied = 0;
	int *applied = applied_versions(pg, schema, &napplied, why, sizeof(why));

	if (!applied)
		return mig_fail(pg, err, "schema_migrations", why);
	for (size_t i = 0; i < n; i++) {
		const struct db_migration *mi = &m[order[i]];

		if (bsearch(&mi->version, applied, napplied, sizeof(int), cmp_int))
			continue;
		if (apply_one(pg, schema, mi, err) != 0) {
			free(applied);
			return -1;
		}
		done[(*ndone)++] = order[i];
	}
	free(applied);
	return 0;
}

int db_migrate(struct db_pool *p, const char *schema, const struct db_migration *m, size_t n,
	       struct app_error *err)
{
	char why[ERR_MESSAGE_MAX];
	size_t *order, *done, ndone = 0;
	struct db_conn *c;
	PGconn *pg;
	int rc = -1;

	if (!valid_schema_name(schema))
		return app_error_set(err, ERR_DATABASE_ERROR, "invalid schema name for migrations");
	order = migration_order(m, n, err);
	if (!order)
		return -1;
	done = xcalloc(n + 1, sizeof(*done));
	if (db_pool_acquire(p, DB_MIGRATE_WAIT_MS, &c, err) != 0)
		goto out_free;
	pg = db_conn_pg(c);
	if (migrate_prepare(pg, schema, err) != 0 ||
	    migrate_apply(pg, schema, m, order, n, done, &ndone, err) != 0)
		goto out_release;
	if (mig_cmd(pg, "COMMIT", 0, NULL, why, sizeof(why)) != 0) {
		mig_fail(pg, err, "commit", why);
		goto out_release;
	}
	for (size_t i = 0; i < ndone; i++)
		log_info("migration applied", LOG_S("schema", schema),
			 LOG_I("version", m[done[i]].version), LOG_S("file", m[done[i]].name));
	rc = 0;
out_release:
	db_pool_release(p, c); /* rolls back what a failure left open */
out_free:
	free(done);
	free(order);
	return rc;
}
