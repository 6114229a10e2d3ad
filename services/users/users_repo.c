/* users_repo.c - the users schema's SQL; see users_repo.h.
 * Parameterized statements only; the one dynamic part (ORDER BY column and
 * direction) comes from a whitelist. */
#include "users_repo.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define USER_COLUMNS                                               \
	"id, email, name, role, is_active, is_verified, version, " \
	"(extract(epoch from created_at) * 1000000)::int8, "       \
	"(extract(epoch from updated_at) * 1000000)::int8"
#define USER_NCOLS 9

static void row_to_user(const PGresult *r, int row, struct user *u)
{
	u->id = db_get_int64(r, row, 0);
	strlcpy_s(u->email, PQgetvalue(r, row, 1), sizeof(u->email));
	strlcpy_s(u->name, PQgetvalue(r, row, 2), sizeof(u->name));
	strlcpy_s(u->role, PQgetvalue(r, row, 3), sizeof(u->role));
	u->is_active = db_get_bool(r, row, 4);
	u->is_verified = db_get_bool(r, row, 5);
	u->version = db_get_int64(r, row, 6);
	u->created_at_us = db_get_int64(r, row, 7);
	u->updated_at_us = db_get_int64(r, row, 8);
}

/* Runs a statement expected to return at most one user row. */
static int one_user(struct db_conn *c, const char *sql, int n, const char *const *params,
		    struct user *out, struct app_error *err)
{
	PGresult *r = db_exec_row(c, sql, n, params, "User", err);

	if (!r)
		return -1;
	row_to_user(r, 0, out);
	PQclear(r);
	return 0;
}

int users_repo_insert(struct db_conn *c, const struct user_row_new *n, struct user *out,
		      struct app_error *err)
{
	const char *p[] = { n->email,
			    n->name,
			    n->role,
			    n->is_active ? "t" : "f",
			    n->is_verified ? "t" : "f",
			    n->password_hash };

	return one_user(
		c,
		"INSERT INTO users.users (email, name, role, is_active, is_verified, password_hash)"
		" VALUES ($1, $2, $3, $4, $5, $6) RETURNING " USER_COLUMNS,
		6, p, out, err);
}

int users_repo_find(struct db_conn *c, int64_t id, struct user *out, struct app_error *err)
{
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, id) };

	return one_user(c,
			"SELECT " USER_COLUMNS
			" FROM users.users WHERE id = $1 AND deleted_at IS NULL",
			1, p, out, err);
}

int users_repo_find_for_update(struct db_conn *c, int64_t id, struct user *out,
			       struct app_error *err)
{
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, id) };

	return one_user(c,
			"SELECT " USER_COLUMNS " FROM users.users"
			" WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
			1, p, out, err);
}

/* "{1,2,3}" for an int8[] parameter, from a. */
static char *id_array_literal(struct arena *a, const int64_t *ids, size_t n)
{
	char *buf = arena_alloc(a, n * 21 + 3);
	size_t off = 0;

	buf[off++] = '{';
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, 22, "%s%" PRId64, i ? "," : "", ids[i]);
	buf[off++] = '}';
	buf[off] = '\0';
	return buf;
}

static int many_users(PGresult *r, struct arena *a, struct user **out, size_t *nout)
{
	int rows = PQntuples(r);

	*out = arena_alloc(a, sizeof(**out) * (size_t)(rows > 0 ? rows : 1));
	for (int i = 0; i < rows; i++)
		row_to_user(r, i, &(*out)[i]);
	*nout = (size_t)rows;
	PQclear(r);
	return 0;
}

int users_repo_find_many(struct db_conn *c, const int64_t *ids, size_t nids, struct arena *a,
			 struct user **out, size_t *nout, struct app_error *err)
{
	const char *p[] = { id_array_literal(a, ids, nids) };
	PGresult *r = db_exec(c,
			      "SELECT " USER_COLUMNS " FROM users.users"
			      " WHERE id = ANY($1::int8[]) AND deleted_at IS NULL",
			      1, p, err);

	if (!r)
		return -1;
	return many_users(r, a, out, nout);
}

int users_repo_find_by_email(struct db_conn *c, const char *email, struct user *out, char *hash,
			     size_t hashsize, struct app_error *err)
{
	const char *p[] = { email };
	PGresult *r = db_exec_row(c,
				  "SELECT " USER_COLUMNS ", password_hash FROM users.users"
				  " WHERE email = $1 AND deleted_at IS NULL",
				  1, p, "User", err);

	if (!r)
		return -1;
	row_to_user(r, 0, out);
	strlcpy_s(hash, PQgetvalue(r, 0, USER_NCOLS), hashsize);
	PQclear(r);
	return 0;
}

int users_repo_password_hash(struct db_conn *c, int64_t id, char *hash, size_t hashsize,
			     struct app_error *err)
{
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, id) };
	PGresult *r;

	r = db_exec_row(
		c, "SELECT password_hash FROM users.users WHERE id = $1 AND deleted_at IS NULL", 1,
		p, "User", err);
	if (!r)
		return -1;
	strlcpy_s(hash, PQgetvalue(r, 0, 0), hashsize);
	PQclear(r);
	return 0;
}

/* Appends " AND <cond $N>" for each filter set; params collected in p. */
static int build_where(const struct user_list_filter *f, struct arena *a, char *where, size_t size,
		       const char **p)
{
	int n = 0;
	size_t off = (size_t)snprintf(where, size, "deleted_at IS NULL");

	if (f->name) {
		p[n++] = db_like_escape(a, f->name);
		off += (size_t)snprintf(where + off, size - off,
					" AND name ILIKE '%%' || $%d || '%%' ESCAPE '\\'", n);
	}
	if (f->email) {
		p[n++] = f->email;
		off += (size_t)snprintf(where + off, size - off, " AND email = $%d", n);
	}
	if (f->is_active >= 0) {
		p[n++] = f->is_active ? "t" : "f";
		off += (size_t)snprintf(where + off, size - off, " AND is_active = $%d", n);
	}
	if (f->role) {
		p[n++] = f->role;
		snprintf(where + off, size - off, " AND role = $%d", n);
	}
	return n;
}

int users_repo_list(struct db_conn *c, const struct user_list_filter *f, struct arena *a,
		    struct user **out, size_t *nout, int64_t *total, struct app_error *err)
{
	const char *p[6];
	char where[512], sql[1024], limit[16], offset[DB_INT_TEXT];
	const char *dir = f->desc ? "DESC" : "ASC";
	static const char *const columns[] = { [USER_SORT_CREATED_AT] = "created_at",
					       [USER_SORT_NAME] = "name",
					       [USER_SORT_EMAIL] = "email" };
	int n = build_where(f, a, where, sizeof(where), p);
	PGresult *r;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM users.users WHERE %s", where);
	r = db_exec(c, sql, n, p, err);
	if (!r)
		return -1;
	*total = db_get_int64(r, 0, 0);
	PQclear(r);

	snprintf(limit, sizeof(limit), "%d", f->limit);
	db_int_text(offset, f->offset);
	p[n] = limit;
	p[n + 1] = offset;
	snprintf(sql, sizeof(sql),
		 "SELECT " USER_COLUMNS " FROM users.users WHERE %s ORDER BY %s %s, id %s"
		 " LIMIT $%d OFFSET $%d",
		 where, columns[f->sort], dir, dir, n + 1, n + 2);
	r = db_exec(c, sql, n + 2, p, err);
	if (!r)
		return -1;
	return many_users(r, a, out, nout);
}

int users_repo_update(struct db_conn *c, int64_t id, const struct user_row_update *u,
		      struct user *out, struct app_error *err)
{
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, id),
			    u->email,
			    u->name,
			    u->role,
			    u->is_active ? "t" : "f",
			    u->is_verified ? "t" : "f",
			    u->revoke_tokens ? "t" : "f" };

	return one_user(
		c,
		"UPDATE users.users SET email = $2, name = $3, role = $4, is_active = $5,"
		" is_verified = $6, version = version + 1, updated_at = now(),"
		" tokens_valid_after = CASE WHEN $7 THEN clock_timestamp() ELSE tokens_valid_after END"
		" WHERE id = $1 AND deleted_at IS NULL RETURNING " USER_COLUMNS,
		7, p, out, err);
}

int users_repo_soft_delete(struct db_conn *c, int64_t id, struct app_error *err)
{
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, id) };

	return db_exec_some(
		c,
		"UPDATE users.users SET deleted_at = now(), updated_at = now(),"
		" tokens_valid_after = clock_timestamp() WHERE id = $1 AND deleted_at IS NULL",
		1, p, "User", err);
}

int users_repo_set_password(struct db_conn *c, int64_t id, const char *hash, struct app_error *err)
{
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, id), hash };

	return db_exec_some(
		c,
		"UPDATE users.users SET password_hash = $2, tokens_valid_after = clock_timestamp()"
		" WHERE id = $1 AND deleted_at IS NULL",
		2, p, "User", err);
}

int users_repo_outbox_take(struct db_conn *c, int limit, struct users_outbox_row *out, size_t *nout,
			   struct app_error *err)
{
	char lim[24];
	const char *p[] = { lim };
	PGresult *r;
	int n;

	snprintf(lim, sizeof(lim), "%d", limit);
	r = db_exec(c,
		    "SELECT id, user_id, not_before_ms FROM users.token_revocation_outbox"
		    " ORDER BY id LIMIT $1::int4 FOR UPDATE SKIP LOCKED",
		    1, p, err);
	if (!r)
		return -1;
	n = PQntuples(r);
	for (int i = 0; i < n && i < limit; i++) {
		out[i].id = db_get_int64(r, i, 0);
		out[i].user_id = db_get_int64(r, i, 1);
		out[i].not_before_ms = db_get_int64(r, i, 2);
	}
	*nout = (size_t)(n < limit ? n : limit);
	PQclear(r);
	return 0;
}

int users_repo_outbox_delete(struct db_conn *c, int64_t id, struct app_error *err)
{
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, id) };

	return db_exec_cmd(c, "DELETE FROM users.token_revocation_outbox WHERE id = $1", 1, p, err);
}

int users_repo_not_before_ms(struct db_conn *c, int64_t user_id, int64_t *not_before_ms,
			     struct app_error *err)
{
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, user_id) };
	PGresult *r;

	/* rounded up as the outbox trigger rounds it */
	r = db_exec_row(c,
			"SELECT ceil(extract(epoch FROM tokens_valid_after) * 1000)::bigint"
			" FROM users.users WHERE id = $1 AND tokens_valid_after IS NOT NULL",
			1, p, "User", err);
	if (!r)
		return -1;
	*not_before_ms = db_get_int64(r, 0, 0);
	PQclear(r);
	return 0;
}

int users_repo_outbox_forget(struct db_conn *c, int64_t user_id, int64_t not_before_ms,
			     struct app_error *err)
{
	char ids[DB_INT_TEXT], nbf[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, user_id), db_int_text(nbf, not_before_ms) };

	return db_exec_cmd(c,
			   "DELETE FROM users.token_revocation_outbox WHERE id IN"
			   " (SELECT id FROM users.token_revocation_outbox"
			   "  WHERE user_id = $1 AND not_before_ms <= $2 FOR UPDATE SKIP LOCKED)",
			   2, p, err);
}

int users_repo_ensure_admin(struct db_conn *c, const struct user_row_new *n, bool *created,
			    int64_t *id, struct app_error *err)
{
	const char *p[] = { n->email };
	struct user u;
	PGresult *r;

	/* An existing account keeps its password; only role and activation move. */
	r = db_exec(
		c,
		"UPDATE users.users SET role = 'admin', is_active = true,"
		" version = version + 1, updated_at = now()"
		" WHERE email = $1 AND deleted_at IS NULL AND (role <> 'admin' OR NOT is_active)",
		1, p, err);
	if (!r)
		return -1;
	PQclear(r);
	r = db_exec(c, "SELECT id FROM users.users WHERE email = $1 AND deleted_at IS NULL", 1, p,
		    err);
	if (!r)
		return -1;
	*created = PQntuples(r) == 0;
	if (!*created)
		*id = db_get_int64(r, 0, 0);
	PQclear(r);
	if (!*created)
		return 0;
	if (users_repo_insert(c, n, &u, err) != 0)
		return -1;
	*id = u.id;
	return 0;
}
