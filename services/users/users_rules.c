/* users_rules.c - who may do what to which user; see users_rules.h. */
#include "users_rules.h"

#include "perm.h"
#include "users_validate.h"

int users_rule_target(const struct principal *caller, int64_t *id, struct app_error *err)
{
	if (caller->method == AUTH_NONE)
		return app_error_set(err, ERR_UNAUTHORIZED, NULL);
	if (*id == 0)
		*id = caller->user_id;
	if (*id < 0)
		return app_error_set(err, ERR_BAD_REQUEST, "id must be a positive integer");
	return 0;
}

int users_rule_read(const struct principal *caller, int64_t id, struct app_error *err)
{
	bool self = caller->method != AUTH_NONE && id == caller->user_id;

	if (caller->method == AUTH_NONE)
		return app_error_set(err, ERR_UNAUTHORIZED, NULL);
	if (self &&
	    (perm_has(caller->perms, PERM_READ_OWN_PROFILE) || perm_is_admin(caller->perms)))
		return 0;
	if (!self && perm_has(caller->perms, PERM_READ_USERS))
		return 0;
	return app_error_set(err, ERR_FORBIDDEN, NULL);
}

int users_rule_list(const struct principal *caller, struct app_error *err)
{
	if (caller->method == AUTH_NONE)
		return app_error_set(err, ERR_UNAUTHORIZED, NULL);
	if (!perm_has(caller->perms, PERM_READ_USERS))
		return app_error_set(err, ERR_FORBIDDEN, NULL);
	return 0;
}

bool users_rule_full_view(const struct principal *caller)
{
	return perm_has(caller->perms, PERM_READ_USERS);
}

int users_rule_modify(const struct principal *caller, int64_t id, struct app_error *err)
{
	if (caller->method == AUTH_NONE)
		return app_error_set(err, ERR_UNAUTHORIZED, NULL);
	if (perm_is_admin(caller->perms))
		return 0;
	if (id == caller->user_id && perm_has(caller->perms, PERM_UPDATE_OWN_PROFILE))
		return 0;
	return app_error_set(err, ERR_FORBIDDEN, NULL);
}

int users_rule_change_password(const struct principal *caller, int64_t id, struct app_error *err)
{
	if (caller->method == AUTH_NONE)
		return app_error_set(err, ERR_UNAUTHORIZED, NULL);
	if (id != caller->user_id || !perm_has(caller->perms, PERM_UPDATE_OWN_PROFILE))
		return app_error_set(err, ERR_FORBIDDEN,
				     "Only the account owner may change its password");
	return 0;
}

int users_rule_fields(const struct principal *caller, unsigned fields, struct app_error *err)
{
	unsigned forbidden = fields & USER_FIELDS_ADMIN_ONLY;

	if (!forbidden || perm_is_admin(caller->perms))
		return 0;
	for (unsigned bit = 1; bit <= forbidden; bit <<= 1) {
		if (forbidden & bit)
			app_error_add_violation(err, users_field_json_name(bit),
						"Only an admin may set this field");
	}
	return app_error_set(err, ERR_FORBIDDEN, "You may not set these fields");
}
