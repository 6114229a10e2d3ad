/* auth_repo.h - the auth schema's SQL (libpq via shared/db.h). No rules
 * here: callers decide who may do what and when a row counts as expired;
 * the repo reads and writes rows. Every function returns 0, or -1 with err
 * set (NOT_FOUND when the row is missing). Secrets arrive here only as
 * SHA-256 hex strings. */
#ifndef AUTH_REPO_H
#define AUTH_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "auth_service.h"
#include "db.h"

extern const struct db_migration auth_migrations[];
extern const size_t auth_migrations_count;

/* ---- refresh tokens -------------------------------------------------------------- */

/* A refresh token with its family. Times are unix microseconds. */
struct auth_refresh_row {
	int64_t id;
	char family_id[AUTH_ID_LEN + 1];
	int64_t user_id;
	int64_t expires_at_us;
	int64_t family_created_at_us;
	bool spent;
	bool family_revoked;
};

int auth_repo_family_insert(struct db_conn *c, const char *family_id, int64_t user_id,
			    struct app_error *err);
/* A new unspent token of family_id, expiring ttl_s from now. */
int auth_repo_token_insert(struct db_conn *c, const char *family_id, const char *token_hash,
			   const char *access_jti, int64_t ttl_s, struct app_error *err);
/* The token with this hash. lock: SELECT ... FOR UPDATE of the token and its
 * family, inside the caller's transaction. */
int auth_repo_token_find(struct db_conn *c, const char *token_hash, bool lock,
			 struct auth_refresh_row *out, struct app_error *err);
/* Marks the token spent (spent_at = now). */
int auth_repo_token_spend(struct db_conn *c, int64_t id, struct app_error *err);
/* Sets the family's revoked_at unless already set. */
int auth_repo_family_revoke(struct db_conn *c, const char *family_id, struct app_error *err);
/* Revokes the family whose token was issued with access token jti;
 * family_id (>= AUTH_ID_LEN + 1 bytes) is "" when there is none. */
int auth_repo_family_revoke_by_jti(struct db_conn *c, const char *jti, char *family_id,
				   struct app_error *err);

/* Revokes user_id's families created before not_before_ms (unix ms). */
int auth_repo_families_revoke_before(struct db_conn *c, int64_t user_id, int64_t not_before_ms,
				     struct app_error *err);

/* ---- the revocation feed (auth.revocations, 002_revocations.sql) ---------------------- */

/* Appends a change inside the caller's transaction (the feed row stays
 * locked until it ends, so changes commit in seq order); *seq is its number. */
int auth_repo_revocation_append(struct db_conn *c, const struct auth_revocation_row *row,
				int64_t *seq, struct app_error *err);
/* The feed's id (REVOCATION_FEED_ID_MAX bytes) and its head. */
int auth_repo_feed_head(struct db_conn *c, char *feed_id, int64_t *head, struct app_error *err);
/* Up to limit changes with seq > after that refuse something at now_ms, by
 * seq; *out allocated from a. */
int auth_repo_revocations_after(struct db_conn *c, int64_t after, int64_t now_ms, int limit,
				struct arena *a, struct auth_revocation_row **out, size_t *nout,
				struct app_error *err);
/* Deletes the changes that expired before now_ms; *deleted their count. */
int auth_repo_revocations_purge(struct db_conn *c, int64_t now_ms, int64_t *deleted,
				struct app_error *err);

/* ---- API keys ---------------------------------------------------------------------- */

struct auth_key_row_new {
	int64_t user_id;
	const char *public_id;
	const char *name; /* trimmed */
	perm_set perms;
	const char *secret_hash; /* SHA-256 hex of the secret */
	int32_t days;            /* expires_at = now (whole seconds) + days */
};

int auth_repo_key_insert(struct db_conn *c, const struct auth_key_row_new *n,
			 struct auth_api_key *out, struct app_error *err);
/* A new key copying old_id's owner, name, permissions and expires_at. */
int auth_repo_key_insert_copy(struct db_conn *c, int64_t old_id, const char *public_id,
			      const char *secret_hash, struct auth_api_key *out,
			      struct app_error *err);
/* lock: FOR UPDATE inside the caller's transaction. */
int auth_repo_key_find(struct db_conn *c, int64_t id, bool lock, struct auth_api_key *out,
		       struct app_error *err);
int auth_repo_key_find_by_public(struct db_conn *c, const char *public_id, struct auth_api_key *out,
				 struct app_error *err);
/* Keys of user_id (0 = every user), newest first (ties: higher id first). */
int auth_repo_key_list(struct db_conn *c, int64_t user_id, int32_t limit, int64_t offset,
		       struct arena *a, struct auth_api_key **out, size_t *nout, int64_t *total,
		       struct app_error *err);
/* Sets revoked_at unless already set. */
int auth_repo_key_revoke(struct db_conn *c, int64_t id, struct app_error *err);
/* rotated_at = now; expires_at = min(expires_at, now + grace_s) in whole seconds. */
int auth_repo_key_retire(struct db_conn *c, int64_t id, int64_t grace_s, struct app_error *err);
/* last_used_at = now unless it was set less than a minute ago. */
int auth_repo_key_touch(struct db_conn *c, int64_t id, struct app_error *err);

#endif
