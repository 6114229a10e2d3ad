/* users_service.h - the users service's rules: validation, authorization
 * decisions, cache-aside reads, write ordering. Transport-free: the gRPC layer
 * (users_rpc.c) converts messages to and from these structs. */
#ifndef USERS_SERVICE_H
#define USERS_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "principal.h"
#include "validate.h"

struct db_pool;
struct kv;
struct users_hasher;
struct revocations;
struct users_limiter;

#define USER_NAME_MAX_CHARS 100
#define USER_PASSWORD_MIN_CHARS 8
#define USER_PASSWORD_MAX_CHARS 128
#define USERS_BATCH_MAX 1000
/* How long a sign-up or login waits for a free hashing slot. */
#define HASH_WAIT_MS 3000
/* Passwords presented longer than this are refused before any hashing. */
#define PASSWORD_MAX_BYTES 1024

struct user {
	int64_t id;
	char email[EMAIL_MAX_LEN + 1];
	char name[USER_NAME_MAX_CHARS * 4 + 1];
	char role[16];
	bool is_active;
	bool is_verified;
	int64_t version;
	int64_t created_at_us; /* unix microseconds */
	int64_t updated_at_us;
};

/* Everything the service needs; owned by main.c. */
struct users_ctx {
	struct db_pool *db;
	struct kv *kv;
	struct users_hasher *hasher;
	struct users_limiter *limiter; /* VerifyCredentials' (users_limit.h); NULL: none */
	int cache_ttl_s;
	int db_wait_ms; /* how long a call waits for a free connection */
	/* Delivers a token revocation to the auth service (users_auth_revoke;
	 * NULL: the outbox is never flushed, as in unit tests). 0 and *seq, the
	 * feed position that includes it, or -1 with err. */
	int (*revoke_tokens)(void *ctx, int64_t user_id, int64_t not_before_ms, int deadline_ms,
			     int64_t *seq, struct app_error *err);
	void *revoke_ctx;
	/* This process's revocation copy (NULL in unit tests): a revoking write
	 * answers once it holds the change, so the caller's next call is refused
	 * here too. */
	struct revocations *revocations;
};

/* Sign-up input. Strings are as received (untrimmed); has_* mark admin-only
 * fields the caller sent. */
struct user_create {
	const char *email;
	const char *password;
	const char *name;
	const char *role; /* NULL or "" = not sent */
	bool has_is_active, is_active;
	bool has_is_verified, is_verified;
};

/* Update input: paths as sent in the update mask (snake_case or camelCase),
 * values from the request's user. expected_version 0 = unconditional. */
struct user_patch {
	const char *const *paths;
	size_t npaths;
	const char *email;
	const char *name;
	const char *role;
	bool is_active;
	bool is_verified;
	int64_t expected_version;
};

struct user_query {
	int32_t page, limit;
	const char *sort, *name, *email, *status, *role; /* NULL or "" = not set */
};

/* Every function returns 0, or -1 with err set to the error the caller sees.
 * caller is the resolved principal (AUTH_NONE = anonymous). Output arrays are
 * allocated from a (the call's arena). */
int users_create(struct users_ctx *ctx, const struct principal *caller, struct arena *a,
		 const struct user_create *in, struct user *out, struct app_error *err);
/* id 0 = the caller. Self needs read:own_profile, others read:users. */
int users_get(struct users_ctx *ctx, const struct principal *caller, int64_t id, struct user *out,
	      struct app_error *err);
/* Users for ids (unknown and deleted left out, order of first appearance).
 * *full is set when the caller may see whole users (read:users); otherwise
 * the caller must only be shown id and name. */
int users_batch_get(struct users_ctx *ctx, const struct principal *caller, struct arena *a,
		    const int64_t *ids, size_t nids, struct user **out, size_t *nout, bool *full,
		    struct app_error *err);
int users_list(struct users_ctx *ctx, const struct principal *caller, struct arena *a,
	       const struct user_query *q, struct user **out, size_t *nout, struct page_info *page,
	       struct app_error *err);
/* The writes that revoke the user's access tokens (a role change, disabling,
 * deletion, a password change) set *rev_seq to the revocation feed position
 * that includes the change once the auth service has it (0 when it could
 * not be told yet: the outbox relay retries). */
int users_update(struct users_ctx *ctx, const struct principal *caller, struct arena *a, int64_t id,
		 const struct user_patch *p, struct user *out, int64_t *rev_seq,
		 struct app_error *err);
int users_delete(struct users_ctx *ctx, const struct principal *caller, int64_t id,
		 int64_t *rev_seq, struct app_error *err);
int users_change_password(struct users_ctx *ctx, const struct principal *caller, struct arena *a,
			  int64_t id, const char *current, const char *new_password,
			  int64_t *rev_seq, struct app_error *err);
/* Login check: unknown email and wrong password are the same
 * INVALID_CREDENTIALS after the same amount of hashing; a deleted user is
 * INVALID_CREDENTIALS; a disabled one (right password) ACCOUNT_DISABLED.
 * Failures are limited per account and per caller (the peer's address,
 * users_limit.h): past a limit, RATE_LIMIT_EXCEEDED before any hashing. */
int users_verify_credentials(struct users_ctx *ctx, struct arena *a, const char *caller,
			     const char *email, const char *password, struct user *out,
			     struct app_error *err);
/* Makes sure an active admin with this email exists (ADMIN_EMAIL/ADMIN_PASSWORD);
 * an existing account keeps its password. */
int users_bootstrap_admin(struct users_ctx *ctx, const char *email, const char *password,
			  struct app_error *err);

/* ---- token revocation outbox (users_outbox.c) --------------------------- */

/* The deadline of the delivery a revoking write makes before it answers. */
#define USERS_REVOKE_INLINE_MS 1000

/* Delivers user_id's current not-before (its queued revocations up to it
 * then leave the queue): what a revoking write does after its commit. *seq
 * the feed position that includes it; -1 with err (the relay retries). */
int users_outbox_deliver_user(struct users_ctx *ctx, int64_t user_id, int deadline_ms, int64_t *seq,
			      struct app_error *err);

/* The relay: flushes the outbox every second until stopped. NULL (logged)
 * when the thread cannot start. */
struct users_relay;
struct users_relay *users_relay_start(struct users_ctx *ctx, int deadline_ms);
void users_relay_stop(struct users_relay *r);

/* ---- password hashing (users_password.c) -------------------------------- */

#define USERS_ARGON2_M_KIB 19456 /* 19 MiB: OWASP's minimum for argon2id */
#define USERS_ARGON2_T 2
#define USERS_ARGON2_P 1
#define USERS_HASH_MAX 160

/* At most max_concurrent hashes run at once (each takes ~19 MiB); callers
 * beyond that wait for a slot up to their own wait bound. */
struct users_hasher *users_hasher_new(int max_concurrent);
void users_hasher_free(struct users_hasher *h);
/* Encoded "$argon2id$v=19$m=19456,t=2,p=1$..." into out. -1 with
 * SERVICE_UNAVAILABLE when no slot frees up within wait_ms. */
int users_hasher_hash(struct users_hasher *h, const char *password, int64_t wait_ms, char *out,
		      size_t outsize, struct app_error *err);
/* *ok = password matches encoded. encoded NULL = verify against a dummy hash
 * (same cost, never matches) so unknown accounts take the same time. */
int users_hasher_verify(struct users_hasher *h, const char *encoded, const char *password,
			int64_t wait_ms, bool *ok, struct app_error *err);

#endif
