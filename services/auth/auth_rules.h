/* auth_rules.h - who may manage which API key, what a key may do, who may
 * log out (API.md §1 "Authentication and authorization", §2 "Auth and API
 * keys"): the auth service's every authorization decision. Pure functions
 * (no I/O), unit-tested in auth_rules_test.c and auth_keys_test.c.
 *
 * Each check returns 0 when allowed, or -1 with err set to what the caller
 * sees: 401 UNAUTHORIZED (anonymous), 403 FORBIDDEN, 404 NOT_FOUND (another
 * user's key, to a non-admin), 400 BAD_REQUEST (a bad id). */
#ifndef AUTH_RULES_H
#define AUTH_RULES_H

#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "perm.h"
#include "principal.h"

struct auth_key_create;

/* Managing keys (create, list, get, revoke, rotate) needs a bearer token:
 * anonymous 401, an API-key caller 403. */
int auth_rule_manage_keys(const struct principal *caller, struct app_error *err);
/* One key by id: auth_rule_manage_keys, then 400 unless id > 0. */
int auth_rule_key_id(const struct principal *caller, int64_t id, struct app_error *err);
/* ListApiKeys: auth_rule_manage_keys; another user's keys (*user_id != 0)
 * are for an admin only (403), a negative id is 400; a non-admin's
 * *user_id becomes their own id, an admin's stays (0 = everyone's). */
int auth_rule_list_keys(const struct principal *caller, int64_t *user_id, struct app_error *err);
/* A loaded key of owner_id: its owner's or an admin's; otherwise it does
 * not exist for the caller (404 "API key not found"). */
int auth_rule_key_visible(const struct principal *caller, int64_t owner_id, struct app_error *err);
/* A key may be created with permissions the creator holds ("*" holds all);
 * more is 403 naming each one it lacks. */
int auth_rule_key_perms(perm_set held, perm_set want, struct app_error *err);
/* Logout needs a bearer token: anonymous 401, an API-key caller 403. */
int auth_rule_logout(const struct principal *caller, struct app_error *err);

/* Who am I (ValidateToken without a token): any credentials; anonymous 401. */
int auth_rule_me(const struct principal *caller, struct app_error *err);

/* Checks a create request against the caller's permissions: *name (trimmed,
 * from a), *perms and *days set. Unknown permission names, an empty list, a
 * bad name or days: VALIDATION_ERROR with every failing field; known
 * permissions beyond the caller's ("*" included): FORBIDDEN (checked first). */
int auth_key_request_check(struct arena *a, perm_set held, const struct auth_key_create *in,
			   const char **name, perm_set *perms, int32_t *days,
			   struct app_error *err);
/* What a key may do now: its permissions, bounded by its owner's current
 * role permissions (a key of a demoted admin loses what the owner lost). */
perm_set auth_key_effective_perms(perm_set key, perm_set owner);

#endif
