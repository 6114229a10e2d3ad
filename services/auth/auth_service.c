/* auth_service.c - the auth service's token operations: login, refresh-token
 * rotation, logout and access-token validation (API.md §2 "Auth and API
 * keys", §6 "Credentials and their lifetime"). API keys are auth_keys.c,
 * revocations auth_revocations.c.
 *
 * A login opens a refresh family; each refresh spends the presented token
 * and adds the next one to the same family, in one transaction with the row
 * locked. Presenting a spent token again revokes the whole family (it was
 * stolen, or the client is broken: either way nobody keeps that chain).
 * No database connection is held across a call to UsersService. */
#include <stdlib.h>
#include <string.h>

#include "auth_repo.h"
#include "auth_service.h"
#include "db.h"
#include "log.h"
#include "revocation.h"
#include "util.h"

/* Lifetime of the tokens the service mints to read a user from UsersService. */
#define FETCH_TOKEN_TTL_S 60

static int64_t now_s(void)
{
	return now_unix_ms() / 1000;
}

int auth_fetch_user(struct auth_ctx *ctx, int64_t user_id, const struct rpc_origin *origin,
		    struct auth_user *out, struct app_error *err)
{
	struct principal p = { .method = AUTH_JWT,
			       .user_id = user_id,
			       .role = "user",
			       .perms = PERM_BIT(PERM_READ_OWN_PROFILE),
			       .iat_ms = now_unix_ms() };
	int64_t iat = p.iat_ms / 1000;
	char jti[AUTH_ID_LEN + 1];
	char *token;
	int rc;

	auth_random_id(jti);
	token = jwt_sign(ctx->jwt, &p, iat, iat + FETCH_TOKEN_TTL_S, jti);
	if (!token)
		return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
	rc = ctx->users.get_me(ctx->users.ctx, token, origin, out, err);
	free(token);
	if (rc == 0 || err->code == ERR_NOT_FOUND || err->code == ERR_SERVICE_UNAVAILABLE ||
	    err->code == ERR_GATEWAY_TIMEOUT)
		return rc;
	/* UsersService refusing a token this service just signed is a
	 * configuration fault (different JWT_SECRET/JWT_ISSUER), not the
	 * caller's: never turn it into a 401/403 for them. */
	log_error("UsersService refused the lookup", LOG_I("userId", user_id),
		  LOG_S("code", err_name(err->code)), LOG_S("error", err->message));
	app_error_init(err);
	return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
}

/* The access token for u (its role's permissions) into out, from a. */
static int sign_access(struct auth_ctx *ctx, struct arena *a, const struct auth_user *u, char *jti,
		       struct auth_token_pair *out, struct app_error *err)
{
	struct principal p = { .method = AUTH_JWT, .user_id = u->id, .iat_ms = now_unix_ms() };
	int64_t iat = p.iat_ms / 1000;
	char *token;

	strlcpy_s(p.email, u->email, sizeof(p.email));
	strlcpy_s(p.role, u->role, sizeof(p.role));
	if (!role_permissions(u->role, &p.perms)) {
		log_error("user has an unknown role", LOG_I("userId", u->id),
			  LOG_S("role", u->role));
		return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
	}
	auth_random_id(jti);
	token = jwt_sign(ctx->jwt, &p, iat, iat + ctx->access_ttl_s, jti);
	if (!token)
		return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
	out->access_token = arena_strdup(a, token);
	free(token);
	out->expires_in = ctx->access_ttl_s;
	out->user = *u;
	return 0;
}

/* Issuing a token pair in one transaction (db_with_tx's work). */
struct pair_job {
	struct auth_ctx *ctx;
	struct arena *a;
	const struct auth_user *u;
	const char *family_id; /* login: the new family */
	const char *hash;      /* refresh: the presented token's */
	struct auth_token_pair *out;
	bool reused; /* refresh: the token was spent already */
};

/* Signs the access token, then stores a new refresh token of family_id
 * issued with it (inside the caller's transaction). */
static int issue_pair(struct auth_ctx *ctx, struct db_conn *c, struct arena *a,
		      const struct auth_user *u, const char *family_id, struct auth_token_pair *out,
		      struct app_error *err)
{
	char jti[AUTH_ID_LEN + 1], hash[AUTH_SHA256_HEX_LEN + 1];

	if (sign_access(ctx, a, u, jti, out, err) != 0)
		return -1;
	auth_refresh_token_new(out->refresh_token);
	auth_sha256_hex(out->refresh_token, AUTH_REFRESH_TOKEN_LEN, hash);
	return auth_repo_token_insert(c, family_id, hash, jti, ctx->refresh_ttl_s, err);
}

/* A new family and its first pair. */
static int login_locked(struct db_conn *c, void *arg, struct app_error *err)
{
	struct pair_job *j = arg;

	if (auth_repo_family_insert(c, j->family_id, j->u->id, err) != 0)
		return -1;
	return issue_pair(j->ctx, c, j->a, j->u, j->family_id, j->out, err);
}

int auth_login(struct auth_ctx *ctx, struct arena *a, const struct rpc_origin *origin,
	       const char *email, const char *password, struct auth_token_pair *out,
	       struct app_error *err)
{
	char family[AUTH_ID_LEN + 1];
	struct auth_user u;
	struct pair_job j = { .ctx = ctx, .a = a, .u = &u, .family_id = family, .out = out };
	int rc;

	if (ctx->users.verify_credentials(ctx->users.ctx, email ? email : "",
					  password ? password : "", origin, &u, err) != 0)
		return -1;
	auth_random_id(family);
	rc = db_with_tx(ctx->db, ctx->db_wait_ms, login_locked, &j, err);
	if (rc == 0)
		log_info("login", LOG_I("userId", u.id), LOG_S("familyId", family));
	return rc;
}

/* Revokes a family in a statement of its own; a failure is logged (the caller
 * is refused either way). */
static void revoke_family(struct auth_ctx *ctx, const char *family_id, const char *why)
{
	struct app_error err;

	app_error_init(&err);
	auth_repo_family_revoke(db_pool_any(ctx->db), family_id, &err);
	if (err.code != ERR_OK)
		log_error("cannot revoke refresh family", LOG_S("familyId", family_id),
			  LOG_S("code", err_name(err.code)));
	else
		log_warn("refresh family revoked", LOG_S("familyId", family_id),
			 LOG_S("reason", why));
}

/* The checks that need only the stored token: unknown, revoked family,
 * re-use of a spent token (revokes the family), expiry, user's not-before. */
static int check_token(struct auth_ctx *ctx, const char *hash, struct auth_refresh_row *row,
		       struct app_error *err)
{
	int64_t nbf_ms;
	int rc;

	rc = auth_repo_token_find(db_pool_any(ctx->db), hash, false, row, err);
	if (rc != 0 && err->code == ERR_NOT_FOUND) {
		app_error_init(err);
		return app_error_set(err, ERR_UNAUTHORIZED, "Invalid refresh token");
	}
	if (rc != 0)
		return -1;
	if (row->family_revoked)
		return app_error_set(err, ERR_TOKEN_REVOKED, NULL);
	if (row->spent) {
		revoke_family(ctx, row->family_id, "spent token presented again");
		return app_error_set(err, ERR_TOKEN_REVOKED, NULL);
	}
	if (row->expires_at_us <= now_unix_us())
		return app_error_set(err, ERR_TOKEN_EXPIRED, "Refresh token has expired");
	/* Families are revoked with the not-before itself (auth_revocation_write);
	 * this catches one created while that change was being written. */
	nbf_ms = ctx->revocations ? revocations_not_before(ctx->revocations, row->user_id) : 0;
	if (nbf_ms > 0 && row->family_created_at_us / 1000 < nbf_ms) {
		revoke_family(ctx, row->family_id, "issued before the user's not-before");
		return app_error_set(err, ERR_TOKEN_REVOKED, NULL);
	}
	return 0;
}

/* Under the row lock: spends the token (unless a concurrent refresh did,
 * which is a re-use) and issues the next pair of the family. */
static int rotate_locked(struct db_conn *c, void *arg, struct app_error *err)
{
	struct pair_job *j = arg;
	struct auth_refresh_row row;

	if (auth_repo_token_find(c, j->hash, true, &row, err) != 0) {
		if (err->code != ERR_NOT_FOUND)
			return -1;
		app_error_init(err);
		return app_error_set(err, ERR_UNAUTHORIZED, "Invalid refresh token");
	}
	if (row.family_revoked)
		return app_error_set(err, ERR_TOKEN_REVOKED, NULL);
	if (row.spent) { /* the revocation is committed, the call still fails */
		j->reused = true;
		if (auth_repo_family_revoke(c, row.family_id, err) != 0 || db_commit(c, err) != 0)
			return -1;
		return app_error_set(err, ERR_TOKEN_REVOKED, NULL);
	}
	if (auth_repo_token_spend(c, row.id, err) != 0)
		return -1;
	return issue_pair(j->ctx, c, j->a, j->u, row.family_id, j->out, err);
}

/* The user behind a family, as it is now; deleted or disabled revokes it. */
static int current_user(struct auth_ctx *ctx, const struct rpc_origin *origin,
			const struct auth_refresh_row *row, struct auth_user *u,
			struct app_error *err)
{
	if (auth_fetch_user(ctx, row->user_id, origin, u, err) != 0) {
		if (err->code != ERR_NOT_FOUND)
			return -1;
		revoke_family(ctx, row->family_id, "user deleted");
		app_error_init(err);
		return app_error_set(err, ERR_TOKEN_REVOKED, NULL);
	}
	if (!u->is_active) {
		revoke_family(ctx, row->family_id, "user disabled");
		return app_error_set(err, ERR_TOKEN_REVOKED, NULL);
	}
	return 0;
}

int auth_refresh(struct auth_ctx *ctx, struct arena *a, const struct rpc_origin *origin,
		 const char *refresh_token, struct auth_token_pair *out, struct app_error *err)
{
	char hash[AUTH_SHA256_HEX_LEN + 1];
	struct auth_refresh_row row;
	struct auth_user u;
	struct pair_job j = { .ctx = ctx, .a = a, .u = &u, .hash = hash, .out = out };
	int rc;

	if (!auth_refresh_token_well_formed(refresh_token))
		return app_error_set(err, ERR_UNAUTHORIZED, "Invalid refresh token");
	auth_sha256_hex(refresh_token, AUTH_REFRESH_TOKEN_LEN, hash);
	if (check_token(ctx, hash, &row, err) != 0 || current_user(ctx, origin, &row, &u, err) != 0)
		return -1;
	rc = db_with_tx(ctx->db, ctx->db_wait_ms, rotate_locked, &j, err);
	if (j.reused)
		log_warn("refresh family revoked", LOG_S("familyId", row.family_id),
			 LOG_S("reason", "spent token presented again"));
	else if (rc == 0)
		log_info("token refreshed", LOG_I("userId", u.id),
			 LOG_S("familyId", row.family_id));
	return rc;
}

int auth_logout(struct auth_ctx *ctx, const struct principal *caller, int64_t *seq,
		struct app_error *err)
{
	struct auth_revocation_row row = { .jti = caller->jti,
					   .expires_at_ms = (caller->exp + JWT_LEEWAY_S) * 1000 };
	char family[AUTH_ID_LEN + 1] = "";

	if (auth_rule_logout(caller, err) != 0 ||
	    auth_revocation_store(ctx, &row, family, seq, err) != 0)
		return -1;
	log_info("logout", LOG_I("userId", caller->user_id), LOG_S("familyId", family),
		 LOG_I("seq", *seq));
	return 0;
}

int auth_validate_token(struct auth_ctx *ctx, const struct principal *caller, const char *token,
			struct principal *out, struct app_error *err)
{
	if (!token || !*token) {
		if (auth_rule_me(caller, err) != 0)
			return -1;
		*out = *caller;
		return 0;
	}
	if (jwt_verify(ctx->jwt, token, now_s(), out, err) != 0)
		return -1;
	if (!ctx->revocations)
		return 0;
	switch (revocations_check(ctx->revocations, out->jti, out->user_id, out->iat_ms)) {
	case REVOCATION_OK:
		return 0;
	case REVOCATION_REVOKED:
		return app_error_set(err, ERR_TOKEN_REVOKED, NULL);
	default:
		return app_error_set(
			err, ERR_SERVICE_UNAVAILABLE,
			"Tokens cannot be checked right now: revocation state is unavailable");
	}
}
