/* users_rules.h - who may do what to which user (API.md §1 "Authentication
 * and authorization", §2 "Users"): the users service's every authorization
 * decision. Pure functions (no I/O), unit-tested in users_rules_test.c.
 *
 * Each check returns 0 when allowed, or -1 with err set to what the caller
 * sees: 401 UNAUTHORIZED (anonymous), 400 BAD_REQUEST (a negative id),
 * 403 FORBIDDEN (not allowed). */
#ifndef USERS_RULES_H
#define USERS_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "principal.h"

/* Writable fields of a user, as update-mask bits. */
#define USER_FIELD_EMAIL 0x01u
#define USER_FIELD_NAME 0x02u
#define USER_FIELD_ROLE 0x04u
#define USER_FIELD_IS_ACTIVE 0x08u
#define USER_FIELD_IS_VERIFIED 0x10u
/* The fields only an admin may set (at sign-up or in an update): the one
 * list on the service side; the gateway's route rows are held to it by
 * users_rules_test.c. */
#define USER_FIELDS_ADMIN_ONLY (USER_FIELD_ROLE | USER_FIELD_IS_ACTIVE | USER_FIELD_IS_VERIFIED)

/* The target of a call on one user: 401 anonymous; id 0 becomes the
 * caller's own id; a negative id is 400. */
int users_rule_target(const struct principal *caller, int64_t *id, struct app_error *err);
/* GetUser: self with read:own_profile (or an admin), others with read:users. */
int users_rule_read(const struct principal *caller, int64_t id, struct app_error *err);
/* ListUsers: 401 anonymous, 403 without read:users. */
int users_rule_list(const struct principal *caller, struct app_error *err);
/* BatchGetUsers shows whole users to holders of read:users, else id and name. */
bool users_rule_full_view(const struct principal *caller);
/* UpdateUser and DeleteUser: self with update:own_profile, or an admin. */
int users_rule_modify(const struct principal *caller, int64_t id, struct app_error *err);
/* ChangePassword: the account owner only, with update:own_profile (not even
 * an admin sets another user's password this way). */
int users_rule_change_password(const struct principal *caller, int64_t id, struct app_error *err);
/* Admin-only fields among fields (USER_FIELD_* bits): 403 naming each of
 * them (violations field: the JSON name) unless the caller is an admin. */
int users_rule_fields(const struct principal *caller, unsigned fields, struct app_error *err);

#endif
