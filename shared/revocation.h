/* revocation.h - what makes an otherwise valid access token unusable, kept
 * in Redis (shared by every service and gateway replica):
 *
 *   revoked:jti:<jti>   "1", expiring with the token (logout)
 *   user:nbf:<id>       unix seconds: tokens of this user issued before are
 *                       refused (password, role, disable, delete), kept for
 *                       REVOCATION_NBF_TTL_S, longer than any token lives
 *
 * Redis is the only store of these facts: run it with persistence (AOF) in
 * production. When it is unreachable, a check cannot decide and the token is
 * accepted (logged), as ARCHITECTURE.md's "fail closed only when that can be
 * decided" says. */
#ifndef SHARED_REVOCATION_H
#define SHARED_REVOCATION_H

#include <stdint.h>

struct kv;

#define REVOCATION_NBF_TTL_S (30 * 86400)

/* Refuses jti until exp (unix seconds; plus the JWT leeway). 0 or -1. */
int revocation_revoke_jti(struct kv *kv, const char *jti, int64_t exp_s);
/* Refuses every token of user_id issued before unix_s. 0 or -1. */
int revocation_set_not_before(struct kv *kv, int64_t user_id, int64_t unix_s);
/* The user's not-before (0 when none). 0, or -1 when Redis is unavailable. */
int revocation_not_before(struct kv *kv, int64_t user_id, int64_t *unix_s);
/* One MGET for both facts: 1 revoked (jti denylisted, or iat before the
 * user's not-before), 0 not revoked, -1 cannot tell (Redis unavailable). */
int revocation_check(struct kv *kv, const char *jti, int64_t user_id, int64_t iat);

#endif
