/* auth_keys.c - API keys: creation, listing, reading, revocation, rotation
 * and validation (API.md §2 "Auth and API keys", §6).
 *
 * Managing keys needs a bearer token: a key cannot mint, list or rotate
 * keys (403). Another user's key does not exist for a non-admin (404). Only
 * SHA-256(secret) is stored; the whole key exists once, in the create or
 * rotate reply. Error precedence as elsewhere: 401 -> 403 -> 404 -> 422 -> 409. */
#include <string.h>

#include "auth_repo.h"
#include "auth_service.h"
#include "db.h"
#include "log.h"
#include "util.h"

/* last_used_at moves at most this often per key (one write a minute, not per call). */
#define TOUCH_INTERVAL_US (60LL * 1000000)

/* ---- management ----------------------------------------------------------------------- */

int auth_keys_create(struct auth_ctx *ctx, const struct principal *caller, struct arena *a,
		     const struct auth_key_create *in, struct auth_new_api_key *out,
		     struct app_error *err)
{
	char public_id[AUTH_KEY_PUBLIC_LEN + 1], secret[AUTH_KEY_SECRET_LEN + 1];
	char hash[AUTH_SHA256_HEX_LEN + 1];
	struct auth_key_row_new row = { .user_id = caller->user_id };
	int rc;

	if (auth_rule_manage_keys(caller, err) != 0 ||
	    auth_key_request_check(a, caller->perms, in, &row.name, &row.perms, &row.days, err) !=
		    0)
		return -1;
	auth_key_generate(public_id, secret, out->full);
	auth_sha256_hex(secret, AUTH_KEY_SECRET_LEN, hash);
	memset(secret, 0, sizeof(secret));
	row.public_id = public_id;
	row.secret_hash = hash;
	rc = auth_repo_key_insert(db_pool_any(ctx->db), &row, &out->key, err);
	if (rc == 0)
		log_info("api key created", LOG_I("keyId", out->key.id),
			 LOG_I("userId", row.user_id));
	return rc;
}

int auth_keys_list(struct auth_ctx *ctx, const struct principal *caller, struct arena *a,
		   int32_t page, int32_t limit, int64_t user_id, struct auth_api_key **out,
		   size_t *nout, struct page_info *pi, struct app_error *err)
{
	struct page pg;
	int64_t total = 0;
	int rc;

	if (auth_rule_list_keys(caller, &user_id, err) != 0 ||
	    page_resolve(page, limit, &pg, err) != 0)
		return -1;
	rc = auth_repo_key_list(db_pool_any(ctx->db), user_id, pg.limit, page_offset(&pg), a, out,
				nout, &total, err);
	if (rc == 0)
		*pi = page_info_make(&pg, total);
	return rc;
}

/* One key by id, as its owner or an admin acts on it (run on the pool's any
 * handle, or as db_with_tx's work). */
struct key_job {
	struct auth_ctx *ctx;
	const struct principal *caller;
	int64_t id;
	struct auth_api_key *key;     /* the key as loaded */
	struct auth_new_api_key *out; /* rotation: the new key */
};

/* Key id, as the caller may see it: another user's key is NOT_FOUND for a
 * non-admin, exactly like a key that does not exist. */
static int find_visible(struct db_conn *c, void *arg, struct app_error *err)
{
	struct key_job *j = arg;

	if (auth_repo_key_find(c, j->id, false, j->key, err) != 0)
		return -1;
	return auth_rule_key_visible(j->caller, j->key->user_id, err);
}

int auth_keys_get(struct auth_ctx *ctx, const struct principal *caller, int64_t id,
		  struct auth_api_key *out, struct app_error *err)
{
	struct key_job j = { .caller = caller, .id = id, .key = out };

	if (auth_rule_key_id(caller, id, err) != 0)
		return -1;
	return find_visible(db_pool_any(ctx->db), &j, err);
}

/* Revokes a visible key unless it is revoked already (which keeps its time). */
static int revoke_visible(struct db_conn *c, void *arg, struct app_error *err)
{
	struct key_job *j = arg;

	if (find_visible(c, arg, err) != 0)
		return -1;
	return j->key->revoked_at_us ? 0 : auth_repo_key_revoke(c, j->id, err);
}

int auth_keys_revoke(struct auth_ctx *ctx, const struct principal *caller, int64_t id,
		     struct app_error *err)
{
	struct auth_api_key k;
	struct key_job j = { .caller = caller, .id = id, .key = &k };

	if (auth_rule_key_id(caller, id, err) != 0 ||
	    revoke_visible(db_pool_any(ctx->db), &j, err) != 0)
		return -1;
	if (k.revoked_at_us == 0) /* as loaded: it was live, now it is revoked */
		log_info("api key revoked", LOG_I("keyId", id), LOG_I("userId", k.user_id),
			 LOG_I("by", caller->user_id));
	return 0;
}

/* Under the old key's row lock: state checks, the new key, the old key's
 * shortened life. */
static int rotate_locked(struct db_conn *c, void *arg, struct app_error *err)
{
	struct key_job *j = arg;
	char public_id[AUTH_KEY_PUBLIC_LEN + 1], secret[AUTH_KEY_SECRET_LEN + 1];
	char hash[AUTH_SHA256_HEX_LEN + 1];
	struct auth_api_key old;

	if (auth_repo_key_find(c, j->id, true, &old, err) != 0 ||
	    auth_rule_key_visible(j->caller, old.user_id, err) != 0)
		return -1;
	if (old.revoked_at_us)
		return app_error_set(err, ERR_CONFLICT, "A revoked key cannot be rotated");
	if (old.rotated_at_us)
		return app_error_set(err, ERR_CONFLICT, "This key was already rotated");
	if (old.expires_at_us <= now_unix_us())
		return app_error_set(err, ERR_CONFLICT, "An expired key cannot be rotated");
	auth_key_generate(public_id, secret, j->out->full);
	auth_sha256_hex(secret, AUTH_KEY_SECRET_LEN, hash);
	memset(secret, 0, sizeof(secret));
	if (auth_repo_key_insert_copy(c, j->id, public_id, hash, &j->out->key, err) != 0)
		return -1;
	return auth_repo_key_retire(c, j->id, j->ctx->rotation_grace_s, err);
}

int auth_keys_rotate(struct auth_ctx *ctx, const struct principal *caller, int64_t id,
		     struct auth_new_api_key *out, struct app_error *err)
{
	struct key_job j = { .ctx = ctx, .caller = caller, .id = id, .out = out };

	if (auth_rule_key_id(caller, id, err) != 0 ||
	    db_with_tx(ctx->db, ctx->db_wait_ms, rotate_locked, &j, err) != 0)
		return -1;
	log_info("api key rotated", LOG_I("keyId", id), LOG_I("newKeyId", out->key.id),
		 LOG_I("userId", out->key.user_id), LOG_I("by", caller->user_id));
	return 0;
}

/* ---- validation ------------------------------------------------------------------------- */

/* The stored key behind a presented one, when the secret matches. */
static int lookup_key(struct auth_ctx *ctx, const char *key, struct auth_api_key *k,
		      struct app_error *err)
{
	char public_id[AUTH_KEY_PUBLIC_LEN + 1], secret[AUTH_KEY_SECRET_LEN + 1];
	char hash[AUTH_SHA256_HEX_LEN + 1];
	bool match;
	int rc;

	if (!auth_key_parse(key, public_id, secret))
		return app_error_set(err, ERR_UNAUTHORIZED, "Invalid API key");
	auth_sha256_hex(secret, AUTH_KEY_SECRET_LEN, hash);
	memset(secret, 0, sizeof(secret));
	rc = auth_repo_key_find_by_public(db_pool_any(ctx->db), public_id, k, err);
	if (rc != 0 && err->code != ERR_NOT_FOUND)
		return -1;
	match = rc == 0 && strlen(k->secret_hash) == AUTH_SHA256_HEX_LEN &&
		secure_equal(hash, k->secret_hash, AUTH_SHA256_HEX_LEN);
	if (!match) {
		app_error_init(err);
		return app_error_set(err, ERR_UNAUTHORIZED, "Invalid API key");
	}
	return 0;
}

/* Records the use, at most once a minute per key; a failure only logs. */
static void touch(struct auth_ctx *ctx, const struct auth_api_key *k)
{
	struct app_error err;

	if (k->last_used_at_us && now_unix_us() - k->last_used_at_us < TOUCH_INTERVAL_US)
		return;
	app_error_init(&err);
	auth_repo_key_touch(db_pool_any(ctx->db), k->id, &err);
	if (err.code != ERR_OK)
		log_warn("cannot record API key use", LOG_I("keyId", k->id),
			 LOG_S("code", err_name(err.code)));
}

/* The key's owner must still exist and be active. */
static int check_owner(struct auth_ctx *ctx, const struct rpc_origin *origin,
		       const struct auth_api_key *k, struct auth_user *u, struct app_error *err)
{
	if (auth_fetch_user(ctx, k->user_id, origin, u, err) != 0) {
		if (err->code != ERR_NOT_FOUND)
			return -1;
		app_error_init(err);
		return app_error_set(err, ERR_TOKEN_REVOKED, "The key's owner no longer exists");
	}
	if (!u->is_active)
		return app_error_set(err, ERR_TOKEN_REVOKED, "The key's owner is disabled");
	return 0;
}

int auth_keys_validate(struct auth_ctx *ctx, const struct rpc_origin *origin, const char *key,
		       struct principal *out, struct app_error *err)
{
	struct auth_api_key k;
	struct auth_user u;
	perm_set owner;

	if (lookup_key(ctx, key, &k, err) != 0)
		return -1;
	if (k.revoked_at_us)
		return app_error_set(err, ERR_TOKEN_REVOKED, "API key has been revoked");
	if (k.expires_at_us <= now_unix_us())
		return app_error_set(err, ERR_TOKEN_EXPIRED, "API key has expired");
	if (check_owner(ctx, origin, &k, &u, err) != 0)
		return -1;
	if (!role_permissions(u.role, &owner)) {
		log_error("user has an unknown role", LOG_I("userId", u.id), LOG_S("role", u.role));
		return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
	}
	touch(ctx, &k);
	memset(out, 0, sizeof(*out));
	out->method = AUTH_API_KEY;
	out->user_id = u.id;
	strlcpy_s(out->email, u.email, sizeof(out->email));
	strlcpy_s(out->role, u.role, sizeof(out->role));
	out->perms = auth_key_effective_perms(k.perms, owner);
	out->exp = k.expires_at_us / 1000000;
	return 0;
}

int auth_keys_validate_local(void *ctx, const char *key, struct principal *out,
			     struct app_error *err)
{
	return auth_keys_validate(ctx, NULL, key, out, err);
}
