/* users_account.c - the users service's writes to existing accounts and the
 * credential checks: update, delete, password change, login verification,
 * admin bootstrap. Same precedence rules as users_service.c. */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "users_rules.h"
#include "revocation.h"
#include "users_cache.h"
#include "users_limit.h"
#include "users_repo.h"
#include "users_service.h"
#include "users_validate.h"

/* Validates the patched values and computes the row to write from cur. */
static int apply_patch(struct arena *a, const struct user *cur, unsigned fields,
		       const struct user_patch *p, struct user_row_update *u, struct app_error *err)
{
	char *email = arena_alloc(a, EMAIL_MAX_LEN + 1);
	bool ok = true;

	*u = (struct user_row_update){ .email = cur->email,
				       .name = cur->name,
				       .role = cur->role,
				       .is_active = cur->is_active,
				       .is_verified = cur->is_verified };
	if ((fields & USER_FIELD_EMAIL) &&
	    (ok &= users_check_email(p->email, email, EMAIL_MAX_LEN + 1, err)))
		u->email = email;
	if (fields & USER_FIELD_NAME)
		ok &= users_check_name(a, p->name, &u->name, err);
	if ((fields & USER_FIELD_ROLE) && (ok &= users_check_role(p->role, err)))
		u->role = p->role;
	if (!ok)
		return app_error_set(err, ERR_VALIDATION_ERROR, NULL);
	if (fields & USER_FIELD_IS_ACTIVE)
		u->is_active = p->is_active;
	/* A new email is unverified, unless an admin says otherwise in the same call. */
	if (strcmp(u->email, cur->email) != 0)
		u->is_verified = false;
	if (fields & USER_FIELD_IS_VERIFIED)
		u->is_verified = p->is_verified;
	u->revoke_tokens = strcmp(u->role, cur->role) != 0 || (cur->is_active && !u->is_active);
	return 0;
}

static bool row_changes(const struct user *cur, const struct user_row_update *u)
{
	return strcmp(u->email, cur->email) != 0 || strcmp(u->name, cur->name) != 0 ||
	       strcmp(u->role, cur->role) != 0 || u->is_active != cur->is_active ||
	       u->is_verified != cur->is_verified;
}

/* One update under the row lock (db_with_tx's work). */
struct update_job {
	const struct principal *caller;
	struct arena *a;
	int64_t id;
	unsigned fields;
	const struct user_patch *p;
	struct user *out;
	bool changed; /* the row was written */
	bool revoke;  /* the write invalidates the user's access tokens (role, disabling) */
};

/* The checks that need the current row, in precedence order, then the write. */
static int update_locked(struct db_conn *c, void *arg, struct app_error *err)
{
	struct update_job *j = arg;
	struct user cur;
	struct user_row_update u;

	if (users_repo_find_for_update(c, j->id, &cur, err) != 0)
		return -1;
	if (users_rule_fields(j->caller, j->fields, err) != 0)
		return -1;
	if (apply_patch(j->a, &cur, j->fields, j->p, &u, err) != 0)
		return -1;
	if (j->p->expected_version != 0 && j->p->expected_version != cur.version)
		return app_error_set(err, ERR_VERSION_CONFLICT,
				     "Version %lld does not match the current version %lld",
				     (long long)j->p->expected_version, (long long)cur.version);
	j->changed = row_changes(&cur, &u);
	j->revoke = j->changed && u.revoke_tokens;
	if (!j->changed) {
		*j->out = cur;
		return 0;
	}
	return users_repo_update(c, j->id, &u, j->out, err);
}

/* After a committed write that moved tokens_valid_after: tells the auth
 * service now (the relay retries when that fails). */
static void revoke_now(struct users_ctx *ctx, int64_t id, int64_t *rev_seq)
{
	struct app_error err;

	app_error_init(&err);
	if (users_outbox_deliver_user(ctx, id, USERS_REVOKE_INLINE_MS, rev_seq, &err) != 0)
		log_warn("token revocation queued; the auth service will get it when it answers",
			 LOG_I("userId", id), LOG_S("error", err.message));
	else if (*rev_seq > 0 && ctx->revocations &&
		 !revocations_wait(ctx->revocations, *rev_seq, REVOCATION_SEQ_WAIT_MS))
		log_warn("revocation not applied here in time; answering anyway",
			 LOG_I("userId", id), LOG_I("seq", *rev_seq));
}

int users_update(struct users_ctx *ctx, const struct principal *caller, struct arena *a, int64_t id,
		 const struct user_patch *p, struct user *out, int64_t *rev_seq,
		 struct app_error *err)
{
	struct update_job j = { .caller = caller, .a = a, .p = p, .out = out };
	int rc;

	if (users_rule_target(caller, &id, err) != 0 || users_rule_modify(caller, id, err) != 0)
		return -1;
	if (!users_parse_mask(p->paths, p->npaths, &j.fields, err))
		return app_error_set(err, ERR_VALIDATION_ERROR, NULL);
	j.id = id;
	rc = db_with_tx(ctx->db, ctx->db_wait_ms, update_locked, &j, err);
	if (rc == 0 && j.changed) {
		users_cache_invalidate(ctx->kv, id);
		if (j.revoke)
			revoke_now(ctx, id, rev_seq);
		log_info("user updated", LOG_I("userId", id), LOG_I("version", out->version),
			 LOG_B("tokensRevoked", j.revoke));
	}
	return rc;
}

int users_delete(struct users_ctx *ctx, const struct principal *caller, int64_t id,
		 int64_t *rev_seq, struct app_error *err)
{
	int rc;

	if (users_rule_target(caller, &id, err) != 0 || users_rule_modify(caller, id, err) != 0)
		return -1;
	rc = users_repo_soft_delete(db_pool_any(ctx->db), id, err);
	if (rc == 0) {
		users_cache_invalidate(ctx->kv, id);
		revoke_now(ctx, id, rev_seq);
		log_info("user deleted", LOG_I("userId", id));
	}
	return rc;
}

int users_change_password(struct users_ctx *ctx, const struct principal *caller, struct arena *a,
			  int64_t id, const char *current, const char *new_password,
			  int64_t *rev_seq, struct app_error *err)
{
	char hash[USERS_HASH_MAX];
	struct db_conn *c = db_pool_any(ctx->db);
	bool ok = true, match = false;
	int rc;

	(void)a;
	if (users_rule_target(caller, &id, err) != 0 ||
	    users_rule_change_password(caller, id, err) != 0)
		return -1;
	if (!current || !*current) {
		app_error_add_violation(err, "currentPassword", "Current password is required");
		ok = false;
	}
	ok &= users_check_password("newPassword", new_password, err);
	if (!ok)
		return app_error_set(err, ERR_VALIDATION_ERROR, NULL);
	if (strlen(current) > PASSWORD_MAX_BYTES)
		return app_error_set(err, ERR_INVALID_CREDENTIALS, "Current password is incorrect");
	rc = users_repo_password_hash(c, id, hash, sizeof(hash), err);
	if (rc == 0)
		rc = users_hasher_verify(ctx->hasher, hash, current, HASH_WAIT_MS, &match, err);
	if (rc == 0 && !match)
		rc = app_error_set(err, ERR_INVALID_CREDENTIALS, "Current password is incorrect");
	if (rc == 0)
		rc = users_hasher_hash(ctx->hasher, new_password, HASH_WAIT_MS, hash, sizeof(hash),
				       err);
	if (rc == 0)
		rc = users_repo_set_password(c, id, hash, err);
	if (rc == 0) {
		revoke_now(ctx, id, rev_seq);
		log_info("password changed", LOG_I("userId", id));
	}
	return rc;
}

static int verify_credentials(struct users_ctx *ctx, const char *email, const char *password,
			      struct user *out, struct app_error *err)
{
	char norm[EMAIL_MAX_LEN + 1], hash[USERS_HASH_MAX];
	const char *stored = NULL;
	struct app_error lookup;
	bool match = false;

	if (!password || strlen(password) > PASSWORD_MAX_BYTES)
		password = "";
	app_error_init(&lookup);
	if (email && email_normalize(email, norm, sizeof(norm))) {
		if (users_repo_find_by_email(db_pool_any(ctx->db), norm, out, hash, sizeof(hash),
					     &lookup) == 0)
			stored = hash;
		if (!stored && lookup.code != ERR_NOT_FOUND) {
			*err = lookup;
			return -1;
		}
	}
	/* Unknown accounts verify against a dummy hash: same cost, same answer. */
	if (users_hasher_verify(ctx->hasher, stored, password, HASH_WAIT_MS, &match, err) != 0)
		return -1;
	if (!match || !*password)
		return app_error_set(err, ERR_INVALID_CREDENTIALS, NULL);
	if (!out->is_active)
		return app_error_set(err, ERR_ACCOUNT_DISABLED, NULL);
	return 0;
}

int users_verify_credentials(struct users_ctx *ctx, struct arena *a, const char *caller,
			     const char *email, const char *password, struct user *out,
			     struct app_error *err)
{
	struct users_limit_ticket t;

	(void)a;
	if (!users_limit_attempt(ctx->limiter, email, caller, &t))
		return app_error_set(err, ERR_RATE_LIMIT_EXCEEDED,
				     "Too many failed attempts, please try again later");
	if (verify_credentials(ctx, email, password, out, err) != 0)
		return -1;
	users_limit_success(ctx->limiter, &t);
	return 0;
}

int users_bootstrap_admin(struct users_ctx *ctx, const char *email, const char *password,
			  struct app_error *err)
{
	char norm[EMAIL_MAX_LEN + 1], hash[USERS_HASH_MAX];
	struct user_row_new row = {
		.name = "Administrator", .role = "admin", .is_active = true, .is_verified = true
	};
	bool ok = true, created = false;
	int64_t id = 0;
	int rc;

	ok &= users_check_email(email, norm, sizeof(norm), err);
	ok &= users_check_password("ADMIN_PASSWORD", password, err);
	if (!ok)
		return app_error_set(err, ERR_VALIDATION_ERROR,
				     "ADMIN_EMAIL/ADMIN_PASSWORD are invalid");
	if (users_hasher_hash(ctx->hasher, password, HASH_WAIT_MS, hash, sizeof(hash), err) != 0)
		return -1;
	row.email = norm;
	row.password_hash = hash;
	rc = users_repo_ensure_admin(db_pool_any(ctx->db), &row, &created, &id, err);
	if (rc != 0 && err->code == ERR_DUPLICATE_RESOURCE) {
		app_error_init(err);
		rc = 0; /* another replica created it first */
	}
	if (rc == 0 && id)
		users_cache_invalidate(ctx->kv,
				       id); /* a promotion must not be hidden by the cache */
	if (rc == 0)
		log_info(created ? "admin account created" : "admin account present",
			 LOG_S("email", norm), LOG_I("userId", id));
	return rc;
}
