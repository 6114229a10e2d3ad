/* posts_repo.c - the posts schema's SQL; see posts_repo.h.
 * Parameterized statements only; the one dynamic part (ORDER BY column and
 * direction) comes from a whitelist. */
#include "posts_repo.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

#define US(col) "(extract(epoch from " col ") * 1000000)::int8"
#define POST_COLUMNS                                                                             \
	"id, author_id, title, body, status, comment_count, version, " US("created_at") ", " US( \
		"updated_at") ", " US("published_at")
#define COMMENT_COLUMNS "id, post_id, author_id, body, " US("created_at") ", " US("updated_at")

static void row_to_post(const PGresult *r, int row, struct arena *a, struct post *p)
{
	memset(p, 0, sizeof(*p));
	p->id = db_get_int64(r, row, 0);
	p->author_id = db_get_int64(r, row, 1);
	p->title = arena_strdup(a, PQgetvalue(r, row, 2));
	p->body = arena_strdup(a, PQgetvalue(r, row, 3));
	strlcpy_s(p->status, PQgetvalue(r, row, 4), sizeof(p->status));
	p->comment_count = db_get_int64(r, row, 5);
	p->version = db_get_int64(r, row, 6);
	p->created_at_us = db_get_int64(r, row, 7);
	p->updated_at_us = db_get_int64(r, row, 8);
	p->published_at_us = db_get_int64(r, row, 9);
}

static void row_to_comment(const PGresult *r, int row, struct arena *a, struct comment *cm)
{
	memset(cm, 0, sizeof(*cm));
	cm->id = db_get_int64(r, row, 0);
	cm->post_id = db_get_int64(r, row, 1);
	cm->author_id = db_get_int64(r, row, 2);
	cm->body = arena_strdup(a, PQgetvalue(r, row, 3));
	cm->created_at_us = db_get_int64(r, row, 4);
	cm->updated_at_us = db_get_int64(r, row, 5);
}

/* Runs a statement expected to return at most one post row. */
static int one_post(struct db_conn *c, struct arena *a, const char *sql, int n,
		    const char *const *params, struct post *out, struct app_error *err)
{
	PGresult *r = db_exec_row(c, sql, n, params, "Post", err);

	if (!r)
		return -1;
	row_to_post(r, 0, a, out);
	PQclear(r);
	return 0;
}

static int one_comment(struct db_conn *c, struct arena *a, const char *sql, int n,
		       const char *const *params, struct comment *out, struct app_error *err)
{
	PGresult *r = db_exec_row(c, sql, n, params, "Comment", err);

	if (!r)
		return -1;
	row_to_comment(r, 0, a, out);
	PQclear(r);
	return 0;
}

int posts_repo_insert(struct db_conn *c, struct arena *a, int64_t author_id, const char *title,
		      const char *body, const char *status, struct post *out, struct app_error *err)
{
	char aid[DB_INT_TEXT];
	const char *p[] = { db_int_text(aid, author_id), title, body, status };

	return one_post(c, a,
			"INSERT INTO posts.posts (author_id, title, body, status, published_at)"
			" VALUES ($1, $2, $3, $4, CASE WHEN $4 = 'published' THEN now() END)"
			" RETURNING " POST_COLUMNS,
			4, p, out, err);
}

int posts_repo_find(struct db_conn *c, struct arena *a, int64_t id, struct post *out,
		    struct app_error *err)
{
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, id) };

	return one_post(c, a,
			"SELECT " POST_COLUMNS
			" FROM posts.posts WHERE id = $1 AND deleted_at IS NULL",
			1, p, out, err);
}

int posts_repo_find_for_update(struct db_conn *c, struct arena *a, int64_t id, struct post *out,
			       struct app_error *err)
{
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, id) };

	return one_post(c, a,
			"SELECT " POST_COLUMNS " FROM posts.posts"
			" WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
			1, p, out, err);
}

/* Appends " AND <cond $N>" for each filter set; params collected in p. */
static int build_where(const struct post_list_filter *f, struct arena *a, char *aid, char *where,
		       size_t size, const char **p)
{
	int n = 0;
	size_t off = (size_t)snprintf(where, size, "deleted_at IS NULL");

	if (f->author_id > 0) {
		p[n++] = db_int_text(aid, f->author_id);
		off += (size_t)snprintf(where + off, size - off, " AND author_id = $%d", n);
	}
	if (f->status && strcmp(f->status, POST_STATUS_PUBLISHED) == 0) {
		/* a literal: the generic plan can then use the partial index of
		 * published posts (migrations/003) */
		off += (size_t)snprintf(where + off, size - off, " AND status = 'published'");
	} else if (f->status) {
		p[n++] = f->status;
		off += (size_t)snprintf(where + off, size - off, " AND status = $%d", n);
	}
	if (f->title_has) {
		p[n++] = db_like_escape(a, f->title_has);
		snprintf(where + off, size - off,
			 " AND title ILIKE '%%' || $%d || '%%' ESCAPE '\\'", n);
	}
	return n;
}

/* A page shorter than its limit ends the list: the total is what comes
 * before it plus its rows, in the same snapshot as the rows, without a second
 * statement. false when it takes a count (a full page, or an empty page
 * past the start). */
static bool total_from_page(int64_t offset, int limit, int rows, int64_t *total)
{
	if (limit <= 0 || rows >= limit || (rows == 0 && offset > 0))
		return false;
	*total = offset + rows;
	return true;
}

/* The exact number of posts the filter selects. Without a title search it is
 * read from post_counts (kept by a trigger in every writing transaction,
 * migrations/002): one or two primary-key rows instead of counting tens of
 * thousands on every list request. A title search counts its matches. */
static int list_total(struct db_conn *c, const struct post_list_filter *f, const char *where, int n,
		      const char **p, int64_t *total, struct app_error *err)
{
	char sql[768], aid[DB_INT_TEXT];
	const char *cp[] = { aid, f->status };
	PGresult *r;

	if (f->title_has) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM posts.posts WHERE %s", where);
		r = db_exec(c, sql, n, p, err);
	} else {
		db_int_text(aid, f->author_id > 0 ? f->author_id : 0);
		r = db_exec(c,
			    "SELECT COALESCE(sum(n), 0) FROM posts.post_counts"
			    " WHERE author_id = $1 AND ($2::text IS NULL OR status = $2)",
			    2, cp, err);
	}
	if (!r)
		return -1;
	*total = db_get_int64(r, 0, 0);
	PQclear(r);
	return 0;
}

int posts_repo_list(struct db_conn *c, struct arena *a, const struct post_list_filter *f,
		    struct post **out, size_t *nout, int64_t *total, struct app_error *err)
{
	const char *p[8];
	char aid[DB_INT_TEXT], cid[DB_INT_TEXT], offset[DB_INT_TEXT], limit[16];
	char where[512], sql[1536], stored[160] = "";
	const char *dir = f->desc ? "DESC" : "ASC";
	static const char *const columns[] = { [POST_SORT_CREATED_AT] = "created_at",
					       [POST_SORT_PUBLISHED_AT] = "published_at",
					       [POST_SORT_TITLE] = "lower(title)" };
	int n = build_where(f, a, aid, where, sizeof(where), p), np = n + 2, rows;
	int64_t stored_total = -1;
	PGresult *r;

	snprintf(limit, sizeof(limit), "%d", f->limit);
	p[n] = limit;
	p[n + 1] = db_int_text(offset, f->offset);
	/* Without a title search, the stored total (list_total) rides along as
	 * one more column: a full page costs one statement, and its total is
	 * read in the same snapshot as its rows. */
	if (!f->title_has) {
		p[np++] = db_int_text(cid, f->author_id > 0 ? f->author_id : 0);
		p[np++] = f->status;
		snprintf(
			stored, sizeof(stored),
			", (SELECT COALESCE(sum(n), 0) FROM posts.post_counts WHERE author_id = $%d"
			" AND ($%d::text IS NULL OR status = $%d))",
			np - 1, np, np);
	}
	/* The page's ids first, from the index alone (an index-only scan skips
	 * OFFSET rows without reading them from the table), then only those rows
	 * by primary key: a deep page costs about what the first one does. The
	 * ids travel as an array, not a join, so that the plan does not depend
	 * on LIMIT and OFFSET: the pool's sessions use one generic plan per
	 * statement (main.c) instead of planning every request, and a join
	 * planned for an unknown LIMIT becomes a hash join over the whole table. */
	snprintf(sql, sizeof(sql),
		 "SELECT " POST_COLUMNS "%s FROM posts.posts WHERE id = ANY(ARRAY("
		 "SELECT id FROM posts.posts WHERE %s ORDER BY %s %s, id %s LIMIT $%d OFFSET $%d))"
		 " ORDER BY %s %s, id %s",
		 stored, where, columns[f->sort], dir, dir, n + 1, n + 2, columns[f->sort], dir,
		 dir);
	r = db_exec(c, sql, np, p, err);
	if (!r)
		return -1;
	rows = PQntuples(r);
	*out = arena_alloc(a, sizeof(**out) * (size_t)(rows > 0 ? rows : 1));
	for (int i = 0; i < rows; i++)
		row_to_post(r, i, a, &(*out)[i]);
	*nout = (size_t)rows;
	if (stored[0] && rows > 0)
		stored_total = db_get_int64(r, 0, PQnfields(r) - 1);
	PQclear(r);
	if (total_from_page(f->offset, f->limit, rows, total))
		return 0;
	if (stored_total >= 0) {
		*total = stored_total;
		return 0;
	}
	return list_total(c, f, where, n, p, total, err);
}

int posts_repo_update(struct db_conn *c, struct arena *a, int64_t id,
		      const struct post_row_update *u, struct post *out, struct app_error *err)
{
	static const char *const pub[] = { "keep", "set", "clear" };
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, id), u->title, u->body, u->status, pub[u->published] };

	return one_post(c, a,
			"UPDATE posts.posts SET title = $2, body = $3, status = $4,"
			" published_at = CASE $5 WHEN 'set' THEN now() WHEN 'clear' THEN NULL"
			" ELSE published_at END,"
			" version = version + 1, updated_at = now()"
			" WHERE id = $1 AND deleted_at IS NULL RETURNING " POST_COLUMNS,
			5, p, out, err);
}

int posts_repo_soft_delete(struct db_conn *c, int64_t id, struct app_error *err)
{
	char ids[DB_INT_TEXT];
	const char *p[] = { db_int_text(ids, id) };

	if (db_exec_some(c,
			 "UPDATE posts.posts SET deleted_at = now(), updated_at = now()"
			 " WHERE id = $1 AND deleted_at IS NULL",
			 1, p, "Post", err) != 0)
		return -1;
	return db_exec_cmd(c,
			   "UPDATE posts.comments SET deleted_at = now()"
			   " WHERE post_id = $1 AND deleted_at IS NULL",
			   1, p, err);
}

int posts_repo_add_comment_count(struct db_conn *c, int64_t post_id, int delta,
				 struct app_error *err)
{
	char ids[DB_INT_TEXT], d[16];
	const char *p[] = { db_int_text(ids, post_id), d };

	snprintf(d, sizeof(d), "%d", delta);
	/* Atomic in place: concurrent comments never lose a count. */
	return db_exec_some(c,
			    "UPDATE posts.posts SET comment_count = comment_count + $2::int8"
			    " WHERE id = $1 AND deleted_at IS NULL",
			    2, p, "Post", err);
}

int posts_repo_comment_insert(struct db_conn *c, struct arena *a, int64_t post_id,
			      int64_t author_id, const char *body, struct comment *out,
			      struct app_error *err)
{
	char pid[DB_INT_TEXT], aid[DB_INT_TEXT];
	const char *p[] = { db_int_text(pid, post_id), db_int_text(aid, author_id), body };

	return one_comment(c, a,
			   "INSERT INTO posts.comments (post_id, author_id, body)"
			   " VALUES ($1, $2, $3) RETURNING " COMMENT_COLUMNS,
			   3, p, out, err);
}

int posts_repo_comment_find(struct db_conn *c, struct arena *a, int64_t post_id, int64_t comment_id,
			    struct comment *out, struct app_error *err)
{
	char pid[DB_INT_TEXT], cid[DB_INT_TEXT];
	const char *p[] = { db_int_text(pid, post_id), db_int_text(cid, comment_id) };

	return one_comment(c, a,
			   "SELECT " COMMENT_COLUMNS " FROM posts.comments"
			   " WHERE post_id = $1 AND id = $2 AND deleted_at IS NULL",
			   2, p, out, err);
}

int posts_repo_comment_list(struct db_conn *c, struct arena *a, int64_t post_id, bool desc,
			    int32_t limit, int64_t offset, struct comment **out, size_t *nout,
			    int64_t *total, struct app_error *err)
{
	char pid[DB_INT_TEXT], lim[16], off[DB_INT_TEXT], sql[512];
	const char *p[] = { db_int_text(pid, post_id), lim, db_int_text(off, offset) };
	const char *dir = desc ? "DESC" : "ASC";
	PGresult *r;
	int rows;

	snprintf(lim, sizeof(lim), "%d", limit);
	snprintf(sql, sizeof(sql),
		 "SELECT " COMMENT_COLUMNS " FROM posts.comments WHERE post_id = $1"
		 " AND deleted_at IS NULL ORDER BY created_at %s, id %s LIMIT $2 OFFSET $3",
		 dir, dir);
	r = db_exec(c, sql, 3, p, err);
	if (!r)
		return -1;
	rows = PQntuples(r);
	*out = arena_alloc(a, sizeof(**out) * (size_t)(rows > 0 ? rows : 1));
	for (int i = 0; i < rows; i++)
		row_to_comment(r, i, a, &(*out)[i]);
	*nout = (size_t)rows;
	PQclear(r);
	if (total_from_page(offset, limit, rows, total))
		return 0;
	r = db_exec(c,
		    "SELECT count(*) FROM posts.comments WHERE post_id = $1 AND deleted_at IS NULL",
		    1, p, err);
	if (!r)
		return -1;
	*total = db_get_int64(r, 0, 0);
	PQclear(r);
	return 0;
}

int posts_repo_comment_update(struct db_conn *c, struct arena *a, int64_t post_id,
			      int64_t comment_id, const char *body, struct comment *out,
			      struct app_error *err)
{
	char pid[DB_INT_TEXT], cid[DB_INT_TEXT];
	const char *p[] = { db_int_text(pid, post_id), db_int_text(cid, comment_id), body };

	return one_comment(c, a,
			   "UPDATE posts.comments SET body = $3, updated_at = now()"
			   " WHERE post_id = $1 AND id = $2 AND deleted_at IS NULL"
			   " RETURNING " COMMENT_COLUMNS,
			   3, p, out, err);
}

int posts_repo_comment_soft_delete(struct db_conn *c, int64_t post_id, int64_t comment_id,
				   struct app_error *err)
{
	char pid[DB_INT_TEXT], cid[DB_INT_TEXT];
	const char *p[] = { db_int_text(pid, post_id), db_int_text(cid, comment_id) };

	return db_exec_some(c,
			    "UPDATE posts.comments SET deleted_at = now(), updated_at = now()"
			    " WHERE post_id = $1 AND id = $2 AND deleted_at IS NULL",
			    2, p, "Comment", err);
}
