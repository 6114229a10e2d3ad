/* auth_repo.c - the auth schema's SQL; see auth_repo.h.
 * Parameterized statements only. Permissions travel as text[]: written from
 * the permission table's names, read back with array_to_string (names never
 * contain a comma). */
#include "auth_repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revocation.h"
#include "util.h"

#define US(col) "coalesce((extract(epoch from " col ") * 1000000)::int8, 0)"

#define TOKEN_COLUMNS                                                \
	"t.id, t.family_id, f.user_id, " US("t.expires_at") ", " US( \
		"f.created_at") ", "                                 \
				"t.spent_at IS NOT NULL, f.revoked_at IS NOT NULL"

#define KEY_COLUMNS                                                                                                \
	"id, user_id, public_id, name, array_to_string(permissions, ','), secret_hash, " US("expires_at") ", " US( \
		"created_at") ", " US("last_used_at") ", " US("revoked_at") ", " US("rotated_at")

/* Runs a statement whose only interest is success. */
static int exec(struct db_conn *c, const char *sql, int n, const char *const *p,
		struct app_error *err)
{
	return db_exec_cmd(c, sql, n, p, err);
}

/* ---- refresh tokens ------------------------------------------------------------------ */

int auth_repo_family_insert(struct db_conn *c, const char *family_id, int64_t user_id,
			    struct app_error *err)
{
	char uid[DB_INT_TEXT];
	const char *p[] = { family_id, db_int_text(uid, user_id) };

	return exec(c, "INSERT INTO auth.refresh_families (id, user_id) VALUES ($1, $2)", 2, p,
		    err);
}

int auth_repo_token_insert(struct db_conn *c, const char *family_id, const char *token_hash,
			   const char *access_jti, int64_t ttl_s, struct app_error *err)
{
	char ttl[DB_INT_TEXT];
	const char *p[] = { family_id, token_hash, access_jti, db_int_text(ttl, ttl_s) };

	return exec(c,
		    "INSERT INTO auth.refresh_tokens"
		    " (family_id, token_hash, access_jti, expires_at)"
		    " VALUES ($1, $2, $3, now() + make_interval(secs => $4::int8))",
		    4, p, err);
}

int auth_repo_token_find(struct db_conn *c, const char *token_hash, bool lock,
			 struct auth_refresh_row *out, struct app_error *err)
{
	const char *p[] = { token_hash };
	PGresult *r = db_exec_row(c,
				  lock ? "SELECT " TOKEN_COLUMNS " FROM auth.refresh_tokens t"
					 " JOIN auth.refresh_families f ON f.id = t.family_id"
					 " WHERE t.token_hash = $1 FOR UPDATE OF t, f"
				       : "SELECT " TOKEN_COLUMNS " FROM auth.refresh_tokens t"
					 " JOIN auth.refresh_families f ON f.id = t.family_id"
					 " WHERE t.token_hash = $1",
				  1, p, "Refresh token", err);

	if (!r)
		return -1;
	out->id = db_get_int64(r, 0, 0);
	strlcpy_s(out->family_id, PQgetvalue(r, 0, 1), sizeof(out->family_id));
	out->user_id = db_get_int64(r, 0, 2);
	out->expires_at_us = db_get_int64(r, 0, 3);
	out->family_created_at_us = db_get_int64(r, 0, 4);
	out->spent = db_get_bool(r, 0, 5);
	out->family_revoked = db_get_bool(r, 0, 6);
	PQclear(r);
	return 0;
}

int auth_repo_token_spend(struct db_conn *c, int64_t id, struct app_error *err)
{
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, id) };

	return exec(c, "UPDATE auth.refresh_tokens SET spent_at = now() WHERE id = $1", 1, p, err);
}

int auth_repo_family_revoke(struct db_conn *c, const char *family_id, struct app_error *err)
{
	const char *p[] = { family_id };

	return exec(c,
		    "UPDATE auth.refresh_families SET revoked_at = now()"
		    " WHERE id = $1 AND revoked_at IS NULL",
		    1, p, err);
}

int auth_repo_family_revoke_by_jti(struct db_conn *c, const char *jti, char *family_id,
				   struct app_error *err)
{
	const char *p[] = { jti };
	PGresult *r = db_exec(c,
			      "UPDATE auth.refresh_families f"
			      " SET revoked_at = coalesce(f.revoked_at, now())"
			      " FROM auth.refresh_tokens t"
			      " WHERE t.access_jti = $1 AND f.id = t.family_id RETURNING f.id",
			      1, p, err);

	if (!r)
		return -1;
	strlcpy_s(family_id, PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "", AUTH_ID_LEN + 1);
	PQclear(r);
	return 0;
}

int auth_repo_families_revoke_before(struct db_conn *c, int64_t user_id, int64_t not_before_ms,
				     struct app_error *err)
{
	char uid[DB_INT_TEXT], nbf[DB_INT_TEXT];
	const char *p[] = { db_int_text(uid, user_id), db_int_text(nbf, not_before_ms) };

	return exec(c,
		    "UPDATE auth.refresh_families SET revoked_at = now()"
		    " WHERE user_id = $1 AND revoked_at IS NULL"
		    " AND created_at < to_timestamp($2::int8 / 1000.0)",
		    2, p, err);
}

/* ---- the revocation feed ------------------------------------------------------------------ */

int auth_repo_revocation_append(struct db_conn *c, const struct auth_revocation_row *row,
				int64_t *seq, struct app_error *err)
{
	char uid[DB_INT_TEXT], nbf[DB_INT_TEXT], exp[DB_INT_TEXT];
	const char *p[] = { row->jti, row->jti ? NULL : db_int_text(uid, row->user_id),
			    row->jti ? NULL : db_int_text(nbf, row->not_before_ms),
			    db_int_text(exp, row->expires_at_ms) };
	PGresult *r;

	r = db_exec(
		c,
		"WITH h AS (UPDATE auth.revocation_feed SET head = head + 1 RETURNING head)"
		" INSERT INTO auth.revocations (seq, jti, user_id, not_before_ms, expires_at_ms)"
		" SELECT h.head, $1, $2::int8, $3::int8, $4::int8 FROM h RETURNING seq",
		4, p, err);
	if (!r)
		return -1;
	*seq = db_get_int64(r, 0, 0);
	PQclear(r);
	return 0;
}

int auth_repo_feed_head(struct db_conn *c, char *feed_id, int64_t *head, struct app_error *err)
{
	PGresult *r = db_exec(c, "SELECT feed_id, head FROM auth.revocation_feed", 0, NULL, err);

	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return app_error_set(err, ERR_DATABASE_ERROR, "The revocation feed row is missing");
	}
	strlcpy_s(feed_id, PQgetvalue(r, 0, 0), REVOCATION_FEED_ID_MAX);
	*head = db_get_int64(r, 0, 1);
	PQclear(r);
	return 0;
}

int auth_repo_revocations_after(struct db_conn *c, int64_t after, int64_t now_ms, int limit,
				struct arena *a, struct auth_revocation_row **out, size_t *nout,
				struct app_error *err)
{
	char from[DB_INT_TEXT], now[DB_INT_TEXT], lim[DB_INT_TEXT];
	const char *p[] = { db_int_text(from, after), db_int_text(now, now_ms),
			    db_int_text(lim, limit) };
	struct auth_revocation_row *rows;
	PGresult *r;
	int n;

	r = db_exec(
		c,
		"SELECT seq, jti, coalesce(user_id, 0), coalesce(not_before_ms, 0), expires_at_ms"
		" FROM auth.revocations WHERE seq > $1::int8 AND expires_at_ms > $2::int8"
		" ORDER BY seq LIMIT $3::int8",
		3, p, err);
	if (!r)
		return -1;
	n = PQntuples(r);
	rows = arena_alloc(a, (size_t)(n ? n : 1) * sizeof(*rows));
	for (int i = 0; i < n; i++) {
		rows[i].seq = db_get_int64(r, i, 0);
		rows[i].jti = PQgetisnull(r, i, 1) ? NULL : arena_strdup(a, PQgetvalue(r, i, 1));
		rows[i].user_id = db_get_int64(r, i, 2);
		rows[i].not_before_ms = db_get_int64(r, i, 3);
		rows[i].expires_at_ms = db_get_int64(r, i, 4);
	}
	PQclear(r);
	*out = rows;
	*nout = (size_t)n;
	return 0;
}

int auth_repo_revocations_purge(struct db_conn *c, int64_t now_ms, int64_t *deleted,
				struct app_error *err)
{
	char now[DB_INT_TEXT];
	const char *p[] = { db_int_text(now, now_ms) };
	PGresult *r;

	r = db_exec(c, "DELETE FROM auth.revocations WHERE expires_at_ms <= $1::int8", 1, p, err);
	if (!r)
		return -1;
	*deleted = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

/* ---- API keys ---------------------------------------------------------------------------- */

/* Splits "a,b,c" into a permission set (unknown names are dropped). */
static perm_set perms_from_list(const char *list)
{
	perm_set set = 0;
	char name[64];

	while (*list) {
		size_t n = strcspn(list, ",");
		enum perm p;

		if (n < sizeof(name)) {
			memcpy(name, list, n);
			name[n] = '\0';
			if (perm_parse(name, &p))
				set |= PERM_BIT(p);
		}
		list += n;
		if (*list == ',')
			list++;
	}
	return set;
}

/* "{read:posts,write:posts}" for a text[] parameter (names are safe in it). */
static void perms_literal(perm_set set, char *buf, size_t size)
{
	const char *names[PERM__COUNT];
	int n = perm_names(set, names, PERM__COUNT);
	size_t off = (size_t)snprintf(buf, size, "{");

	for (int i = 0; i < n && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? "," : "", names[i]);
	if (off < size)
		snprintf(buf + off, size - off, "}");
}

static void row_to_key(const PGresult *r, int row, struct auth_api_key *k)
{
	k->id = db_get_int64(r, row, 0);
	k->user_id = db_get_int64(r, row, 1);
	strlcpy_s(k->public_id, PQgetvalue(r, row, 2), sizeof(k->public_id));
	strlcpy_s(k->name, PQgetvalue(r, row, 3), sizeof(k->name));
	k->perms = perms_from_list(PQgetvalue(r, row, 4));
	strlcpy_s(k->secret_hash, PQgetvalue(r, row, 5), sizeof(k->secret_hash));
	k->expires_at_us = db_get_int64(r, row, 6);
	k->created_at_us = db_get_int64(r, row, 7);
	k->last_used_at_us = db_get_int64(r, row, 8);
	k->revoked_at_us = db_get_int64(r, row, 9);
	k->rotated_at_us = db_get_int64(r, row, 10);
}

/* Runs a statement expected to return at most one key row. */
static int one_key(struct db_conn *c, const char *sql, int n, const char *const *p,
		   struct auth_api_key *out, struct app_error *err)
{
	PGresult *r = db_exec_row(c, sql, n, p, "API key", err);

	if (!r)
		return -1;
	row_to_key(r, 0, out);
	PQclear(r);
	return 0;
}

int auth_repo_key_insert(struct db_conn *c, const struct auth_key_row_new *n,
			 struct auth_api_key *out, struct app_error *err)
{
	char uid[DB_INT_TEXT], days[16], perms[512];
	const char *p[] = { n->public_id, db_int_text(uid, n->user_id),
			    n->name,      n->secret_hash,
			    perms,        days };

	snprintf(days, sizeof(days), "%d", n->days);
	perms_literal(n->perms, perms, sizeof(perms));
	return one_key(c,
		       "INSERT INTO auth.api_keys"
		       " (public_id, user_id, name, secret_hash, permissions, expires_at)"
		       " VALUES ($1, $2, $3, $4, $5::text[],"
		       " date_trunc('second', now()) + make_interval(days => $6::int4))"
		       " RETURNING " KEY_COLUMNS,
		       6, p, out, err);
}

int auth_repo_key_insert_copy(struct db_conn *c, int64_t old_id, const char *public_id,
			      const char *secret_hash, struct auth_api_key *out,
			      struct app_error *err)
{
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, old_id), public_id, secret_hash };

	return one_key(c,
		       "INSERT INTO auth.api_keys"
		       " (public_id, user_id, name, secret_hash, permissions, expires_at)"
		       " SELECT $2, user_id, name, $3, permissions, expires_at"
		       " FROM auth.api_keys WHERE id = $1 RETURNING " KEY_COLUMNS,
		       3, p, out, err);
}

int auth_repo_key_find(struct db_conn *c, int64_t id, bool lock, struct auth_api_key *out,
		       struct app_error *err)
{
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, id) };

	return one_key(c,
		       lock ? "SELECT " KEY_COLUMNS " FROM auth.api_keys WHERE id = $1 FOR UPDATE"
			    : "SELECT " KEY_COLUMNS " FROM auth.api_keys WHERE id = $1",
		       1, p, out, err);
}

int auth_repo_key_find_by_public(struct db_conn *c, const char *public_id, struct auth_api_key *out,
				 struct app_error *err)
{
	const char *p[] = { public_id };

	return one_key(c, "SELECT " KEY_COLUMNS " FROM auth.api_keys WHERE public_id = $1", 1, p,
		       out, err);
}

int auth_repo_key_list(struct db_conn *c, int64_t user_id, int32_t limit, int64_t offset,
		       struct arena *a, struct auth_api_key **out, size_t *nout, int64_t *total,
		       struct app_error *err)
{
	char uid[DB_INT_TEXT], lim[16], off[DB_INT_TEXT];
	const char *p[] = { db_int_text(uid, user_id), lim, db_int_text(off, offset) };
	PGresult *r;
	int rows;

	snprintf(lim, sizeof(lim), "%d", limit);
	r = db_exec(c, "SELECT count(*) FROM auth.api_keys WHERE $1::int8 = 0 OR user_id = $1", 1,
		    p, err);
	if (!r)
		return -1;
	*total = db_get_int64(r, 0, 0);
	PQclear(r);
	r = db_exec(c,
		    "SELECT " KEY_COLUMNS " FROM auth.api_keys WHERE $1::int8 = 0 OR user_id = $1"
		    " ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
		    3, p, err);
	if (!r)
		return -1;
	rows = PQntuples(r);
	*out = arena_alloc(a, sizeof(**out) * (size_t)(rows > 0 ? rows : 1));
	for (int i = 0; i < rows; i++)
		row_to_key(r, i, &(*out)[i]);
	*nout = (size_t)rows;
	PQclear(r);
	return 0;
}

int auth_repo_key_revoke(struct db_conn *c, int64_t id, struct app_error *err)
{
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, id) };

	return exec(c,
		    "UPDATE auth.api_keys SET revoked_at = now()"
		    " WHERE id = $1 AND revoked_at IS NULL",
		    1, p, err);
}

int auth_repo_key_retire(struct db_conn *c, int64_t id, int64_t grace_s, struct app_error *err)
{
	char ids[DB_INT_TEXT], grace[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, id), db_int_text(grace, grace_s) };

	return exec(c,
		    "UPDATE auth.api_keys SET rotated_at = now(), expires_at = least(expires_at,"
		    " date_trunc('second', now() + make_interval(secs => $2::int8))) WHERE id = $1",
		    2, p, err);
}

int auth_repo_key_touch(struct db_conn *c, int64_t id, struct app_error *err)
{
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, id) };

	return exec(c,
		    "UPDATE auth.api_keys SET last_used_at = now() WHERE id = $1"
		    " AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
		    1, p, err);
}
