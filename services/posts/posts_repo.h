/* posts_repo.h - the posts schema's SQL (libpq via shared/db.h). No rules
 * here: callers decide who may do what; the repo reads and writes rows.
 * Every function returns 0, or -1 with err set (NOT_FOUND when the row is
 * missing or soft-deleted). Strings of returned rows come from a. */
#ifndef POSTS_REPO_H
#define POSTS_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "posts_rules.h"
#include "posts_service.h"

extern const struct db_migration posts_migrations[];
extern const size_t posts_migrations_count;

/* The orders a list may take (the repo maps them to SQL). */
enum post_sort { POST_SORT_CREATED_AT, POST_SORT_PUBLISHED_AT, POST_SORT_TITLE };

struct post_list_filter {
	int64_t author_id;     /* 0 = any */
	const char *status;    /* NULL = any */
	const char *title_has; /* case-insensitive substring (as typed), or NULL */
	enum post_sort sort;
	bool desc;
	int32_t limit;
	int64_t offset;
};

/* The stored values an update writes (unchanged ones included). */
struct post_row_update {
	const char *title, *body, *status;
	enum posts_published_change published;
};

int posts_repo_insert(struct db_conn *c, struct arena *a, int64_t author_id, const char *title,
		      const char *body, const char *status, struct post *out,
		      struct app_error *err);
int posts_repo_find(struct db_conn *c, struct arena *a, int64_t id, struct post *out,
		    struct app_error *err);
/* Locks the row (SELECT ... FOR UPDATE) inside the caller's transaction. */
int posts_repo_find_for_update(struct db_conn *c, struct arena *a, int64_t id, struct post *out,
			       struct app_error *err);
int posts_repo_list(struct db_conn *c, struct arena *a, const struct post_list_filter *f,
		    struct post **out, size_t *nout, int64_t *total, struct app_error *err);
/* Writes u, version + 1, updated_at = now. */
int posts_repo_update(struct db_conn *c, struct arena *a, int64_t id,
		      const struct post_row_update *u, struct post *out, struct app_error *err);
/* Soft-deletes the post and its comments (call inside a transaction). */
int posts_repo_soft_delete(struct db_conn *c, int64_t id, struct app_error *err);
/* comment_count += delta on a non-deleted post; NOT_FOUND when none. */
int posts_repo_add_comment_count(struct db_conn *c, int64_t post_id, int delta,
				 struct app_error *err);

int posts_repo_comment_insert(struct db_conn *c, struct arena *a, int64_t post_id,
			      int64_t author_id, const char *body, struct comment *out,
			      struct app_error *err);
int posts_repo_comment_find(struct db_conn *c, struct arena *a, int64_t post_id, int64_t comment_id,
			    struct comment *out, struct app_error *err);
int posts_repo_comment_list(struct db_conn *c, struct arena *a, int64_t post_id, bool desc,
			    int32_t limit, int64_t offset, struct comment **out, size_t *nout,
			    int64_t *total, struct app_error *err);
int posts_repo_comment_update(struct db_conn *c, struct arena *a, int64_t post_id,
			      int64_t comment_id, const char *body, struct comment *out,
			      struct app_error *err);
int posts_repo_comment_soft_delete(struct db_conn *c, int64_t post_id, int64_t comment_id,
				   struct app_error *err);

#endif
