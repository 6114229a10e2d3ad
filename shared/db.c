/* db.c - PostgreSQL connection pool and statement helpers (see db.h).
 *
 * The pool is a free list under one mutex; borrowers wait on a condition
 * variable (monotonic clock). Connections are opened lazily up to max, and a
 * broken one is reset when it is next borrowed or used. A statement that
 * fails because the connection was lost is retried once after a reset, but
 * only when the connection was not inside a transaction: inside one, the
 * transaction is gone with the connection and the caller must see it. */
#include "db.h"

#include <inttypes.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

#define DB_CONNECT_TIMEOUT_S "3" /* default; the URL may override it */
#define DB_PING_WAIT_MS 1000
#define DB_WARN_INTERVAL_MS 5000 /* at most one "cannot connect" log per interval */

/* Statements prepared on a connection, by the FNV-1a hash of their text
 * (the text is kept to tell two statements with one hash apart). */
#define DB_STMT_SLOTS 256 /* a power of two; when full, statements run unprepared */

struct db_stmt {
	uint64_t hash;
	char *sql; /* NULL: free slot */
};

struct db_conn {
	struct db_conn *next; /* in the pool's idle list */
	struct db_pool *pool; /* owner, for rate-limited warnings */
	PGconn *pg;
	bool in_tx; /* a transaction is open (as far as we know) */
	bool any;   /* the pool's db_pool_any handle (pg NULL) */
	struct db_stmt stmts[DB_STMT_SLOTS];
	size_t nstmts;
};

struct db_pool {
	char *url;
	char *options; /* libpq "options" for every session, or NULL */
	int max;
	int total;            /* connections that exist or are being opened */
	struct db_conn *idle; /* free list */
	int64_t last_warn_ms; /* last "cannot connect" log, under lock */
	pthread_mutex_t lock;
	pthread_cond_t freed; /* signalled when a connection or slot comes back */
	struct db_conn any;   /* db_pool_any */
};

/* ---- connections ------------------------------------------------------------ */

/* NOTICEs (e.g. "schema already exists, skipping") go to the debug log, not stderr. */
static void notice_to_log(void *arg, const char *message)
{
	char buf[512];
	size_t len = strlcpy_s(buf, message, sizeof(buf));

	(void)arg;
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	log_debug("postgres notice", LOG_S("notice", buf));
}

/* Logs that the server cannot be used, at most once per DB_WARN_INTERVAL_MS
 * per pool: during an outage every call fails, and one line says it. */
static void warn_unreachable(struct db_pool *p, const char *what, const char *why)
{
	int64_t now = mono_ms();
	char msg[512];
	size_t len = strlcpy_s(msg, why, sizeof(msg));
	bool emit;

	if (len >= sizeof(msg))
		len = sizeof(msg) - 1;
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\t'))
		msg[--len] = '\0';
	pthread_mutex_lock(&p->lock);
	emit = p->last_warn_ms == 0 || now - p->last_warn_ms >= DB_WARN_INTERVAL_MS;
	if (emit)
		p->last_warn_ms = now;
	pthread_mutex_unlock(&p->lock);
	if (emit)
		log_warn(what, LOG_S("error", msg));
}

/* A new connection, or NULL (logged) when the server cannot be reached. Keys
 * are processed in order, so the URL (dbname, expanded) overrides the defaults
 * placed before it. */
static struct db_conn *conn_open(struct db_pool *p)
{
	const char *keys[5] = { "connect_timeout", "application_name" };
	const char *vals[5] = { DB_CONNECT_TIMEOUT_S, program_invocation_short_name };
	size_t n = 2;
	struct db_conn *c;
	PGconn *pg;

	if (p->options) {
		keys[n] = "options";
		vals[n++] = p->options;
	}
	keys[n] = "dbname";
	vals[n] = p->url;
	pg = PQconnectdbParams(keys, vals, 1);

	if (!pg)
		return NULL;
	if (PQstatus(pg) != CONNECTION_OK) {
		warn_unreachable(p, "database unreachable", PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, notice_to_log, NULL);
	c = xcalloc(1, sizeof(*c));
	c->pool = p;
	c->pg = pg;
	return c;
}

/* The connection's prepared statements are gone (a new session) or unknown. */
static void stmts_forget(struct db_conn *c)
{
	for (size_t i = 0; i < DB_STMT_SLOTS; i++) {
		free(c->stmts[i].sql);
		c->stmts[i].sql = NULL;
	}
	c->nstmts = 0;
}

static void conn_close(struct db_conn *c)
{
	stmts_forget(c);
	PQfinish(c->pg);
	free(c);
}

/* Reconnects; true when the connection is usable afterwards. */
static bool conn_reset(struct db_conn *c)
{
	c->in_tx = false;
	stmts_forget(c);
	PQreset(c->pg);
	return PQstatus(c->pg) == CONNECTION_OK;
}

/* Resets a connection found broken; true when it is usable. */
static bool conn_revive(struct db_conn *c)
{
	return PQstatus(c->pg) == CONNECTION_OK || conn_reset(c);
}

static bool tx_open(PGconn *pg)
{
	PGTransactionStatusType st = PQtransactionStatus(pg);

	return st == PQTRANS_INTRANS || st == PQTRANS_INERROR || st == PQTRANS_ACTIVE;
}

/* ---- pool ------------------------------------------------------------------- */

struct db_pool *db_pool_new(const char *url, int min, int max)
{
	return db_pool_new_opts(url, NULL, min, max);
}

struct db_pool *db_pool_new_opts(const char *url, const char *options, int min, int max)
{
	struct db_pool *p = xcalloc(1, sizeof(*p));
	pthread_condattr_t attr;

	p->url = xstrdup(url ? url : "");
	p->options = options ? xstrdup(options) : NULL;
	p->max = max > 0 ? max : 1;
	p->any = (struct db_conn){ .pool = p, .any = true };
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->freed, &attr);
	pthread_condattr_destroy(&attr);
	if (min > p->max)
		min = p->max;
	for (int i = 0; i < min; i++) {
		struct db_conn *c = conn_open(p);

		if (!c)
			break; /* down now; connections open on demand later */
		c->next = p->idle;
		p->idle = c;
		p->total++;
	}
	return p;
}

void db_pool_free(struct db_pool *p)
{
	if (!p)
		return;
	while (p->idle) {
		struct db_conn *c = p->idle;

		p->idle = c->next;
		conn_close(c);
	}
	pthread_cond_destroy(&p->freed);
	pthread_mutex_destroy(&p->lock);
	free(p->url);
	free(p->options);
	free(p);
}

/* Takes an idle connection (*out set) or a slot to open one (*out NULL),
 * waiting up to wait_ms. -1 when neither came in time. */
static int take_slot(struct db_pool *p, int wait_ms, struct db_conn **out)
{
	struct timespec deadline = mono_deadline(wait_ms);
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (p->idle) {
			*out = p->idle;
			p->idle = (*out)->next;
			break;
		}
		if (p->total < p->max) {
			p->total++;
			break;
		}
		if (rc == ETIMEDOUT || wait_ms <= 0) {
			rc = -1;
			break;
		}
		rc = pthread_cond_timedwait(&p->freed, &p->lock, &deadline);
	}
	pthread_mutex_unlock(&p->lock);
	return rc == -1 ? -1 : 0;
}

static void give_back_slot(struct db_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->total--;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

int db_pool_acquire(struct db_pool *p, int wait_ms, struct db_conn **out, struct app_error *err)
{
	struct db_conn *c;

	*out = NULL;
	if (take_slot(p, wait_ms, &c) != 0) {
		log_warn("database pool exhausted", LOG_I("max", p->max),
			 LOG_I("wait_ms", wait_ms));
		return app_error_set(err, ERR_SERVICE_UNAVAILABLE, "database unavailable");
	}
	if (!c) {
		c = conn_open(p);
	} else if (!conn_revive(c)) {
		warn_unreachable(p, "database unreachable", PQerrorMessage(c->pg));
		conn_close(c);
		c = NULL;
	}
	if (!c) {
		give_back_slot(p);
		return app_error_set(err, ERR_SERVICE_UNAVAILABLE, "database unavailable");
	}
	*out = c;
	return 0;
}

void db_pool_release(struct db_pool *p, struct db_conn *c)
{
	if (!p || !c || c->any)
		return;
	db_rollback(c);
	pthread_mutex_lock(&p->lock);
	c->next = p->idle;
	p->idle = c;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

bool db_pool_ping(struct db_pool *p)
{
	struct app_error err;
	struct db_conn *c;
	PGresult *res;

	app_error_init(&err);
	if (db_pool_acquire(p, DB_PING_WAIT_MS, &c, &err) != 0)
		return false;
	res = db_exec(c, "SELECT 1", 0, NULL, &err);
	db_pool_release(p, c);
	if (!res)
		return false;
	PQclear(res);
	return true;
}

struct db_conn *db_pool_any(struct db_pool *p)
{
	return &p->any;
}

/* A statement on the pool's any handle: on a connection of its own. */
static PGresult *exec_borrowed(struct db_pool *p, const char *sql, int nparams,
			       const char *const *params, struct app_error *err)
{
	struct db_conn *c;
	PGresult *res;

	if (db_pool_acquire(p, DB_ANY_WAIT_MS, &c, err) != 0)
		return NULL;
	res = db_exec(c, sql, nparams, params, err);
	db_pool_release(p, c);
	return res;
}

PGconn *db_conn_pg(struct db_conn *c)
{
	return c->pg;
}

/* ---- errors ----------------------------------------------------------------- */

static bool sqlstate_is(const char *state, const char *want)
{
	return state && strcmp(state, want) == 0;
}

/* The connection is gone (or the server is shutting it down). */
static bool conn_lost(PGconn *pg, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (!res || PQstatus(pg) != CONNECTION_OK)
		return true;
	if (!state)
		return false;
	return strncmp(state, "08", 2) == 0 || sqlstate_is(state, "57P01") ||
	       sqlstate_is(state, "57P02") || sqlstate_is(state, "57P03");
}

static bool ident_char(char ch, bool first)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
	       (!first && ch >= '0' && ch <= '9');
}

/* The column of a key list item: the first identifier that is neither a
 * function name (followed by '(') nor a type (after "::") nor inside a string.
 * "email" -> email, "lower((email)::text)" -> email. */
static bool column_of_key_item(const char *s, const char *end, char *out, size_t outsize)
{
	for (const char *q = s; q < end;) {
		const char *start = q;
		bool quoted = *q == '"';
		bool is_cast = q - s >= 2 && q[-1] == ':' && q[-2] == ':';

		if (*q == '\'') { /* skip a string literal */
			for (q++; q < end && *q != '\''; q++)
				;
			q++;
			continue;
		}
		if (!quoted && !ident_char(*q, true)) {
			q++;
			continue;
		}
		if (quoted) {
			start = ++q;
			while (q < end && *q != '"')
				q++;
		} else {
			while (q < end && ident_char(*q, false))
				q++;
		}
		if (!is_cast && !(q < end && *q == '(') && q > start) {
			size_t len = (size_t)(q - start);

			if (len >= outsize)
				return false;
			memcpy(out, start, len);
			out[len] = '\0';
			return true;
		}
		if (quoted)
			q++;
	}
	return false;
}

/* From "Key (email)=(a@b.c) already exists." the column, "email". Of a
 * composite key the last column is named: the others scope it, as in
 * (author_id, slug). */
static bool key_column_from_detail(const char *detail, char *out, size_t outsize)
{
	const char *s = detail ? strstr(detail, "Key (") : NULL;
	const char *end, *item;
	int depth = 0;

	if (!s)
		return false;
	s += 5;
	end = strstr(s, ")=(");
	if (!end)
		return false;
	item = s;
	for (const char *q = s; q < end; q++) {
		if (*q == '(')
			depth++;
		else if (*q == ')')
			depth--;
		else if (*q == ',' && depth == 0)
			item = q + 1;
	}
	return column_of_key_item(item, end, out, outsize);
}

/* created_at -> createdAt */
static void snake_to_camel(const char *in, char *out, size_t outsize)
{
	size_t o = 0;
	bool upper = false;

	for (; *in && o + 1 < outsize; in++) {
		if (*in == '_' && o > 0) {
			upper = true;
			continue;
		}
		out[o++] = upper && *in >= 'a' && *in <= 'z' ? (char)(*in - 'a' + 'A') : *in;
		upper = false;
	}
	out[o] = '\0';
}

static void add_column_violation(struct app_error *err, const char *column, const char *what)
{
	char field[ERR_FIELD_MAX];

	snake_to_camel(column, field, sizeof(field));
	app_error_add_violation(err, field, "%s", what);
}

/* Fills err for a failed statement on a live connection. */
static void map_error(const PGresult *res, struct app_error *err)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *column = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	char key[ERR_FIELD_MAX];

	app_error_init(err);
	if (sqlstate_is(state, "23505")) {
		app_error_set(err, ERR_DUPLICATE_RESOURCE, "Resource already exists");
		if (key_column_from_detail(PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL), key,
					   sizeof(key)))
			add_column_violation(err, key, "already exists");
	} else if (sqlstate_is(state, "23503")) {
		app_error_set(err, ERR_FOREIGN_KEY_VIOLATION, NULL);
	} else if (sqlstate_is(state, "23502")) {
		app_error_set(err, ERR_REQUIRED_FIELD_MISSING, NULL);
		if (column)
			add_column_violation(err, column, "is required");
	} else if (sqlstate_is(state, "40001") || sqlstate_is(state, "40P01")) {
		app_error_set(err, ERR_CONFLICT, NULL);
	} else {
		/* The details stay in the log; the client gets the generic message. */
		log_error("database error", LOG_S("sqlstate", state ? state : ""),
			  LOG_S("error", primary ? primary : PQresultErrorMessage(res)));
		app_error_set(err, ERR_DATABASE_ERROR, NULL);
	}
}

static PGresult *fail_unavailable(struct db_conn *c, PGresult *res, struct app_error *err)
{
	warn_unreachable(c->pool, "database connection lost", PQerrorMessage(c->pg));
	PQclear(res);
	app_error_init(err);
	app_error_set(err, ERR_SERVICE_UNAVAILABLE, "database unavailable");
	return NULL;
}

/* ---- statements ------------------------------------------------------------- */

static uint64_t sql_hash(const char *sql)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *sql; sql++) {
		h ^= (unsigned char)*sql;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Runs sql as a statement prepared once per connection (named "s<hash>"), so
 * PostgreSQL parses and plans it once rather than on every call. Runs it
 * unprepared when the table is full or the text collides with another
 * statement's. When preparing fails, that error is the result: it is the
 * one running the text would give (parse and analysis happen either way),
 * and inside a transaction nothing else may run after it. */
static PGresult *exec_prepared(struct db_conn *c, const char *sql, int nparams,
			       const char *const *params)
{
	uint64_t h = sql_hash(sql);
	size_t i = (size_t)h & (DB_STMT_SLOTS - 1);
	char name[24];

	while (c->stmts[i].sql && c->stmts[i].hash != h)
		i = (i + 1) & (DB_STMT_SLOTS - 1);
	snprintf(name, sizeof(name), "s%016" PRIx64, h);
	if (c->stmts[i].sql) {
		if (strcmp(c->stmts[i].sql, sql) != 0)
			return PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
		return PQexecPrepared(c->pg, name, nparams, params, NULL, NULL, 0);
	}
	if (c->nstmts + 1 < DB_STMT_SLOTS) {
		PGresult *prep = PQprepare(c->pg, name, sql, nparams, NULL);

		if (!prep || PQresultStatus(prep) != PGRES_COMMAND_OK)
			return prep;
		PQclear(prep);
		c->stmts[i] = (struct db_stmt){ .hash = h, .sql = xstrdup(sql) };
		c->nstmts++;
		return PQexecPrepared(c->pg, name, nparams, params, NULL, NULL, 0);
	}
	return PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
}

PGresult *db_exec(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		  struct app_error *err)
{
	/* Outside a transaction a statement is its own: redoing it is safe. */
	bool may_retry = !c->in_tx;

	if (c->any)
		return exec_borrowed(c->pool, sql, nparams, params, err);
	for (int attempt = 0;; attempt++) {
		PGresult *res;
		ExecStatusType st;

		if (PQstatus(c->pg) != CONNECTION_OK && (c->in_tx || !conn_revive(c)))
			return fail_unavailable(c, NULL, err);
		res = exec_prepared(c, sql, nparams, params);
		st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
		if (PQstatus(c->pg) == CONNECTION_OK)
			c->in_tx = tx_open(c->pg);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
			return res;
		if (!conn_lost(c->pg, res)) {
			map_error(res, err);
			PQclear(res);
			return NULL;
		}
		if (!may_retry || attempt > 0 || !conn_reset(c))
			return fail_unavailable(c, res, err);
		log_info("database connection was reset, retrying the statement");
		PQclear(res);
	}
}

int db_exec_cmd(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		struct app_error *err)
{
	PGresult *res = db_exec(c, sql, nparams, params, err);

	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

PGresult *db_exec_row(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		      const char *what, struct app_error *err)
{
	PGresult *res = db_exec(c, sql, nparams, params, err);

	if (res && PQntuples(res) == 0) {
		PQclear(res);
		app_error_set(err, ERR_NOT_FOUND, "%s not found", what);
		return NULL;
	}
	return res;
}

int db_exec_some(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		 const char *what, struct app_error *err)
{
	PGresult *res = db_exec(c, sql, nparams, params, err);
	bool none;

	if (!res)
		return -1;
	none = strcmp(PQcmdTuples(res), "0") == 0;
	PQclear(res);
	return none ? app_error_set(err, ERR_NOT_FOUND, "%s not found", what) : 0;
}

char *db_like_escape(struct arena *a, const char *s)
{
	size_t len, j = 0;
	char *out;

	if (!s)
		return NULL;
	len = strlen(s);
	out = arena_alloc(a, 2 * len + 1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' || s[i] == '_' || s[i] == '\\')
			out[j++] = '\\';
		out[j++] = s[i];
	}
	out[j] = '\0';
	return out;
}

int db_begin(struct db_conn *c, struct app_error *err)
{
	if (c->any) { /* each statement on its own connection: no transaction */
		log_error("db_begin on the pool's any handle");
		return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
	}
	if (db_exec_cmd(c, "BEGIN", 0, NULL, err) != 0)
		return -1;
	c->in_tx = true;
	return 0;
}

/* COMMIT of a failed transaction "succeeds" with the tag ROLLBACK: that is a
 * failure for the caller. */
int db_commit(struct db_conn *c, struct app_error *err)
{
	PGresult *res = db_exec(c, "COMMIT", 0, NULL, err);
	bool rolled_back;

	c->in_tx = false;
	if (!res)
		return -1;
	rolled_back = strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
	PQclear(res);
	if (rolled_back) {
		log_error("database error", LOG_S("error", "COMMIT of a failed transaction"));
		return app_error_set(err, ERR_DATABASE_ERROR, NULL);
	}
	return 0;
}

int db_with_tx(struct db_pool *p, int wait_ms, db_work_fn fn, void *arg, struct app_error *err)
{
	struct db_conn *c;
	int rc;

	if (db_pool_acquire(p, wait_ms, &c, err) != 0)
		return -1;
	rc = db_begin(c, err);
	if (rc == 0)
		rc = fn(c, arg, err);
	if (rc == 0 && c->in_tx)
		rc = db_commit(c, err);
	db_pool_release(p, c); /* rolls back a transaction left open */
	return rc;
}

void db_rollback(struct db_conn *c)
{
	if (PQstatus(c->pg) == CONNECTION_OK && tx_open(c->pg))
		PQclear(PQexec(c->pg, "ROLLBACK"));
	c->in_tx = false;
}

const char *db_int_text(char *buf, int64_t v)
{
	snprintf(buf, DB_INT_TEXT, "%" PRId64, v);
	return buf;
}

int64_t db_get_int64(const PGresult *r, int row, int col)
{
	int64_t v = 0;

	if (!parse_int64(PQgetvalue(r, row, col), &v))
		return 0;
	return v;
}

bool db_get_bool(const PGresult *r, int row, int col)
{
	return PQgetvalue(r, row, col)[0] == 't';
}
