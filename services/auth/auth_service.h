/* auth_service.h - the auth service's rules: login, refresh-token rotation,
 * logout, token and API-key validation, API-key management (API.md §1, §2
 * "Auth and API keys", §6). Transport-free: the gRPC layer (auth_rpc.c)
 * converts messages to and from these structs, and the calls this service
 * makes to UsersService go through struct auth_users (auth_users.c). */
#ifndef AUTH_SERVICE_H
#define AUTH_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "jwt_hs256.h"
#include "perm.h"
#include "revocation.h"
#include "validate.h"

struct db_conn;
struct db_pool;
struct revocations;
struct auth_feed;

/* ---- secrets and formats (auth_secret.c; pure) ------------------------------ */

#define AUTH_SHA256_HEX_LEN 64
/* Refresh token: base64url (no padding) of 32 random bytes. */
#define AUTH_REFRESH_RAW_BYTES 32
#define AUTH_REFRESH_TOKEN_LEN 43
/* API key: "ak_" <public id> "_" <secret>. */
#define AUTH_KEY_PUBLIC_LEN 12
#define AUTH_KEY_SECRET_LEN 43 /* base62: 43 * log2(62) = 256.03 bits */
#define AUTH_KEY_PREFIX_LEN (3 + AUTH_KEY_PUBLIC_LEN)
#define AUTH_KEY_LEN (AUTH_KEY_PREFIX_LEN + 1 + AUTH_KEY_SECRET_LEN)
/* Random ids: jti of access tokens, refresh family ids. */
#define AUTH_ID_LEN 24

/* Lower-case hex SHA-256 of n bytes of data into out (>= 65 bytes). */
void auth_sha256_hex(const void *data, size_t n, char *out);
/* A fresh refresh token into out (>= AUTH_REFRESH_TOKEN_LEN + 1 bytes). */
void auth_refresh_token_new(char *out);
/* true when s has the exact shape of a refresh token (43 base64url chars). */
bool auth_refresh_token_well_formed(const char *s);
/* AUTH_ID_LEN random alphanumerics plus a NUL into out. */
void auth_random_id(char *out);
/* A fresh key: public id (13 bytes), secret (44 bytes) and the whole key
 * "ak_<public>_<secret>" (AUTH_KEY_LEN + 1 bytes). */
void auth_key_generate(char *public_id, char *secret, char *key);
/* Splits "ak_<12 alnum>_<43 alnum>" (nothing before, after or between);
 * false for anything else. public_id >= 13, secret >= 44 bytes. */
bool auth_key_parse(const char *key, char *public_id, char *secret);

/* ---- data --------------------------------------------------------------------- */

#define AUTH_KEY_NAME_MAX_CHARS 100
#define AUTH_KEY_DAYS_DEFAULT 90
#define AUTH_KEY_DAYS_MAX 365

/* A user as UsersService returns it. */
struct auth_user {
	int64_t id;
	char email[EMAIL_MAX_LEN + 1];
	char name[AUTH_KEY_NAME_MAX_CHARS * 4 + 1];
	char role[16];
	bool is_active;
	bool is_verified;
	int64_t version;
	int64_t created_at_us;
	int64_t updated_at_us;
};

/* Reply of login and refresh. access_token is owned by the call's arena. */
struct auth_token_pair {
	const char *access_token;
	int64_t expires_in; /* exp - iat, seconds */
	char refresh_token[AUTH_REFRESH_TOKEN_LEN + 1];
	struct auth_user user;
};

/* An API key as stored (never the secret). Times are unix microseconds;
 * 0 = NULL for last_used_at, revoked_at, rotated_at. */
struct auth_api_key {
	int64_t id;
	int64_t user_id;
	char public_id[AUTH_KEY_PUBLIC_LEN + 1];
	char name[AUTH_KEY_NAME_MAX_CHARS * 4 + 1];
	perm_set perms;
	char secret_hash[AUTH_SHA256_HEX_LEN + 1];
	int64_t expires_at_us; /* whole seconds */
	int64_t created_at_us;
	int64_t last_used_at_us;
	int64_t revoked_at_us;
	int64_t rotated_at_us;
};

/* A key just created or rotated: the only time the whole key exists. */
struct auth_new_api_key {
	struct auth_api_key key;
	char full[AUTH_KEY_LEN + 1];
};

struct auth_key_create {
	const char *name;         /* as received */
	const char *const *perms; /* names as received */
	size_t nperms;
	int32_t expires_in_days; /* 0 = AUTH_KEY_DAYS_DEFAULT */
};

/* The incoming call the service acts for (rpc.h): what calls it makes on
 * the caller's behalf inherit. NULL = none (request id generated
 * downstream, the client's own deadline). */
struct rpc_origin;

/* How the service reaches UsersService (auth_users.c over gRPC; fakes in
 * tests). Both return 0 and fill out, or -1 with err as UsersService
 * answered (or SERVICE_UNAVAILABLE / GATEWAY_TIMEOUT for transport). */
struct auth_users {
	int (*verify_credentials)(void *ctx, const char *email, const char *password,
				  const struct rpc_origin *origin, struct auth_user *out,
				  struct app_error *err);
	/* GetUser(id 0 = me) with `authorization: Bearer <token>`. */
	int (*get_me)(void *ctx, const char *token, const struct rpc_origin *origin,
		      struct auth_user *out, struct app_error *err);
	void *ctx;
};

/* One revocation change: a token (jti set, user_id 0) or a user's
 * not-before (jti NULL). Times are unix ms. */
struct auth_revocation_row {
	int64_t seq;
	const char *jti;
	int64_t user_id;
	int64_t not_before_ms;
	int64_t expires_at_ms; /* after it the change refuses nothing */
};

/* Everything the service needs; owned by main.c. */
struct auth_ctx {
	struct db_pool *db;
	struct revocations *revocations; /* this process's copy (revocation.h) */
	struct auth_feed *feed;          /* keeps it current; NULL in unit tests */
	const struct jwt_config *jwt;
	struct auth_users users;
	int64_t access_ttl_s;     /* JWT_EXPIRES_IN */
	int64_t refresh_ttl_s;    /* REFRESH_EXPIRES_IN */
	int64_t rotation_grace_s; /* API_KEY_ROTATION_GRACE_SECONDS */
	int db_wait_ms;           /* how long a call waits for a free connection */
};

/* ---- tokens (auth_service.c) --------------------------------------------------- */

/* Every function returns 0, or -1 with err set to the error the caller sees.
 * caller is the resolved principal (AUTH_NONE = anonymous). Calls to
 * UsersService carry origin's request id and end before its deadline.
 * Strings in out are owned by a. */
int auth_login(struct auth_ctx *ctx, struct arena *a, const struct rpc_origin *origin,
	       const char *email, const char *password, struct auth_token_pair *out,
	       struct app_error *err);
/* Spends refresh_token and issues a new pair of the same family. */
int auth_refresh(struct auth_ctx *ctx, struct arena *a, const struct rpc_origin *origin,
		 const char *refresh_token, struct auth_token_pair *out, struct app_error *err);
/* Bearer callers only: refuses the token's jti until it expires and revokes
 * its family, in one transaction; *seq is the feed position of the change. */
int auth_logout(struct auth_ctx *ctx, const struct principal *caller, int64_t *seq,
		struct app_error *err);
/* token "" or NULL = the caller itself (anonymous: UNAUTHORIZED). */
int auth_validate_token(struct auth_ctx *ctx, const struct principal *caller, const char *token,
			struct principal *out, struct app_error *err);
/* The current user id via UsersService.GetUser with a short-lived token
 * minted for that user. NOT_FOUND when the user is deleted; a refusal of the
 * minted token by UsersService is INTERNAL_ERROR (misconfiguration). */
int auth_fetch_user(struct auth_ctx *ctx, int64_t user_id, const struct rpc_origin *origin,
		    struct auth_user *out, struct app_error *err);

/* ---- revocation (auth_revocations.c) --------------------------------------------- */

#define AUTH_REVOCATION_PAGE 1000

/* Starts the thread that keeps ctx->revocations current from the database
 * (first load included: ctx->revocations is loaded once it synced). NULL
 * (logged) when it cannot start. */
struct auth_feed *auth_feed_start(struct auth_ctx *ctx);
/* Stops and frees the follower. NULL is a no-op. */
void auth_feed_stop(struct auth_feed *f);

/* Appends row in one transaction; a user row also revokes the refresh
 * families created before its not-before, a token row with family set (a
 * logout) the family of its jti (its id into family, AUTH_ID_LEN + 1). On
 * success applies the change to ctx->revocations at once; *seq its feed
 * position. */
int auth_revocation_store(struct auth_ctx *ctx, const struct auth_revocation_row *row, char *family,
			  int64_t *seq, struct app_error *err);
/* RevokeUserTokens (from the users service's outbox): proof must be
 * revoke_proof_make's for (user_id, not_before_ms), else UNAUTHORIZED. */
int auth_revoke_user_tokens(struct auth_ctx *ctx, int64_t user_id, int64_t not_before_ms,
			    const char *proof, int64_t *seq, struct app_error *err);

/* One page of the feed for a follower at after on feed_id. */
struct auth_revocation_page {
	bool reset;  /* the follower must drop its copy first */
	bool more;   /* another page follows at once */
	int64_t seq; /* the follower's position after this page */
	char feed_id[REVOCATION_FEED_ID_MAX];
	struct auth_revocation_row *rows; /* from the arena */
	size_t n;
};
int auth_revocations_page(struct auth_ctx *ctx, int64_t after, const char *feed_id, struct arena *a,
			  struct auth_revocation_page *out, struct app_error *err);

/* ---- API keys (auth_keys.c) ------------------------------------------------------ */

/* Key management is for bearer callers only (API-key callers: FORBIDDEN).
 * Another user's key is NOT_FOUND unless the caller is admin. */
int auth_keys_create(struct auth_ctx *ctx, const struct principal *caller, struct arena *a,
		     const struct auth_key_create *in, struct auth_new_api_key *out,
		     struct app_error *err);
/* Own keys newest first; admin: all keys, or user_id's (user_id != 0 by a
 * non-admin: FORBIDDEN). *out allocated from a. */
int auth_keys_list(struct auth_ctx *ctx, const struct principal *caller, struct arena *a,
		   int32_t page, int32_t limit, int64_t user_id, struct auth_api_key **out,
		   size_t *nout, struct page_info *pi, struct app_error *err);
int auth_keys_get(struct auth_ctx *ctx, const struct principal *caller, int64_t id,
		  struct auth_api_key *out, struct app_error *err);
/* Idempotent: revoking a revoked key succeeds and keeps its revoked_at. */
int auth_keys_revoke(struct auth_ctx *ctx, const struct principal *caller, int64_t id,
		     struct app_error *err);
/* New key with the same owner, name, permissions and expiry; the old one
 * expires at min(its expiry, now + grace). Revoked, expired or already
 * rotated: CONFLICT. */
int auth_keys_rotate(struct auth_ctx *ctx, const struct principal *caller, int64_t id,
		     struct auth_new_api_key *out, struct app_error *err);
/* Validates a whole key: 0 and *out (method AUTH_API_KEY, the owner's id,
 * email and role, the key's permissions bounded by the owner's role, exp =
 * key expiry), or -1: UNAUTHORIZED (malformed, unknown, wrong secret),
 * TOKEN_REVOKED (revoked; owner deleted or disabled), TOKEN_EXPIRED. */
int auth_keys_validate(struct auth_ctx *ctx, const struct rpc_origin *origin, const char *key,
		       struct principal *out, struct app_error *err);
/* auth_keys_validate as a caller_api_key_fn (caller.h); ctx is struct auth_ctx. */
int auth_keys_validate_local(void *ctx, const char *key, struct principal *out,
			     struct app_error *err);

/* The pure rules (who may manage which key, what a key may do): auth_rules.h. */
#include "auth_rules.h"

#endif
