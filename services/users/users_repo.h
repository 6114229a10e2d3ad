/* users_repo.h - the users schema's SQL (libpq via shared/db.h). No rules
 * here: callers decide who may do what; the repo reads and writes rows.
 * Every function returns 0, or -1 with err set (NOT_FOUND when the row is
 * missing or soft-deleted). */
#ifndef USERS_REPO_H
#define USERS_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "users_service.h"

extern const struct db_migration users_migrations[];
extern const size_t users_migrations_count;

struct user_row_new {
	const char *email; /* normalized */
	const char *name;  /* trimmed */
	const char *role;
	bool is_active;
	bool is_verified;
	const char *password_hash;
};

/* The stored values an update writes (all of them; unchanged ones included). */
struct user_row_update {
	const char *email;
	const char *name;
	const char *role;
	bool is_active;
	bool is_verified;
	bool revoke_tokens; /* move tokens_valid_after to now */
};

/* The orders a list may take (the repo maps them to SQL). */
enum user_sort { USER_SORT_CREATED_AT, USER_SORT_NAME, USER_SORT_EMAIL };

struct user_list_filter {
	const char *name;  /* case-insensitive substring (as typed), or NULL */
	const char *email; /* normalized, or NULL */
	int is_active;     /* -1 any, 0, 1 */
	const char *role;  /* or NULL */
	enum user_sort sort;
	bool desc;
	int32_t limit;
	int64_t offset;
};

int users_repo_insert(struct db_conn *c, const struct user_row_new *n, struct user *out,
		      struct app_error *err);
int users_repo_find(struct db_conn *c, int64_t id, struct user *out, struct app_error *err);
/* Locks the row (SELECT ... FOR UPDATE) inside the caller's transaction. */
int users_repo_find_for_update(struct db_conn *c, int64_t id, struct user *out,
			       struct app_error *err);
/* Non-deleted users among ids; *out allocated from a. */
int users_repo_find_many(struct db_conn *c, const int64_t *ids, size_t nids, struct arena *a,
			 struct user **out, size_t *nout, struct app_error *err);
/* The non-deleted user with this (normalized) email and its password hash
 * (copied into hash, hashsize >= USERS_HASH_MAX). */
int users_repo_find_by_email(struct db_conn *c, const char *email, struct user *out, char *hash,
			     size_t hashsize, struct app_error *err);
int users_repo_password_hash(struct db_conn *c, int64_t id, char *hash, size_t hashsize,
			     struct app_error *err);
int users_repo_list(struct db_conn *c, const struct user_list_filter *f, struct arena *a,
		    struct user **out, size_t *nout, int64_t *total, struct app_error *err);
/* Writes u, version + 1, updated_at = now. */
int users_repo_update(struct db_conn *c, int64_t id, const struct user_row_update *u,
		      struct user *out, struct app_error *err);
/* Sets deleted_at (and revokes tokens). NOT_FOUND when already deleted. */
int users_repo_soft_delete(struct db_conn *c, int64_t id, struct app_error *err);
/* New hash; revokes tokens issued before now. version is not changed. */
int users_repo_set_password(struct db_conn *c, int64_t id, const char *hash, struct app_error *err);
/* Promotes/activates an existing account with this email, or inserts n.
 * *created tells which; *id is the account's id. */
/* A queued token revocation (002_token_revocation_outbox.sql). */
struct users_outbox_row {
	int64_t id;
	int64_t user_id;
	int64_t not_before_ms;
};

/* Up to limit queued revocations, oldest first, locked for the caller's
 * transaction (rows another relay holds are skipped). */
int users_repo_outbox_take(struct db_conn *c, int limit, struct users_outbox_row *out, size_t *nout,
			   struct app_error *err);
int users_repo_outbox_delete(struct db_conn *c, int64_t id, struct app_error *err);
/* The user's current tokens_valid_after in milliseconds, rounded up as the
 * outbox has it; NOT_FOUND when the account has none. */
int users_repo_not_before_ms(struct db_conn *c, int64_t user_id, int64_t *not_before_ms,
			     struct app_error *err);
/* Drops the user's queued revocations up to not_before_ms (delivered);
 * rows a relay holds are left to it (a repeat delivery changes nothing). */
int users_repo_outbox_forget(struct db_conn *c, int64_t user_id, int64_t not_before_ms,
			     struct app_error *err);

int users_repo_ensure_admin(struct db_conn *c, const struct user_row_new *n, bool *created,
			    int64_t *id, struct app_error *err);

#endif
