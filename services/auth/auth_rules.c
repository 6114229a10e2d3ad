/* auth_rules.c - who may manage which API key, what a key may do; see
 * auth_rules.h. */
#include "auth_rules.h"

#include <string.h>

#include "auth_service.h"
#include "util.h"

int auth_rule_manage_keys(const struct principal *caller, struct app_error *err)
{
	if (caller->method == AUTH_NONE)
		return app_error_set(err, ERR_UNAUTHORIZED, NULL);
	if (caller->method != AUTH_JWT)
		return app_error_set(err, ERR_FORBIDDEN,
				     "Managing API keys requires a bearer token");
	return 0;
}

int auth_rule_key_id(const struct principal *caller, int64_t id, struct app_error *err)
{
	if (auth_rule_manage_keys(caller, err) != 0)
		return -1;
	if (id <= 0)
		return app_error_set(err, ERR_BAD_REQUEST, "id must be a positive integer");
	return 0;
}

int auth_rule_list_keys(const struct principal *caller, int64_t *user_id, struct app_error *err)
{
	if (auth_rule_manage_keys(caller, err) != 0)
		return -1;
	if (*user_id != 0 && !perm_is_admin(caller->perms))
		return app_error_set(err, ERR_FORBIDDEN,
				     "Only an admin may list another user's keys");
	if (*user_id < 0)
		return app_error_set(err, ERR_BAD_REQUEST, "userId must be a positive integer");
	if (!perm_is_admin(caller->perms))
		*user_id = caller->user_id;
	return 0;
}

int auth_rule_key_visible(const struct principal *caller, int64_t owner_id, struct app_error *err)
{
	if (owner_id != caller->user_id && !perm_is_admin(caller->perms))
		return app_error_set(err, ERR_NOT_FOUND, "API key not found");
	return 0;
}

int auth_rule_me(const struct principal *caller, struct app_error *err)
{
	if (caller->method == AUTH_NONE)
		return app_error_set(err, ERR_UNAUTHORIZED, NULL);
	return 0;
}

int auth_rule_logout(const struct principal *caller, struct app_error *err)
{
	if (caller->method == AUTH_NONE)
		return app_error_set(err, ERR_UNAUTHORIZED, NULL);
	if (caller->method != AUTH_JWT)
		return app_error_set(err, ERR_FORBIDDEN, "Logout requires a bearer token");
	return 0;
}

perm_set auth_key_effective_perms(perm_set key, perm_set owner)
{
	if (perm_is_admin(key))
		return owner;
	if (perm_is_admin(owner))
		return key;
	return key & owner;
}

/* The known names as a set; unknown ones counted in *unknown. */
static perm_set parse_perms(const struct auth_key_create *in, size_t *unknown)
{
	perm_set set = 0;

	*unknown = 0;
	for (size_t i = 0; i < in->nperms; i++) {
		enum perm p;

		if (in->perms[i] && perm_parse(in->perms[i], &p))
			set |= PERM_BIT(p);
		else
			(*unknown)++;
	}
	return set;
}

int auth_rule_key_perms(perm_set held, perm_set want, struct app_error *err)
{
	const char *names[PERM__COUNT];
	perm_set excess = perm_is_admin(held) ? 0 : want & ~held;
	int n;

	if (!excess)
		return 0;
	n = perm_names(excess, names, PERM__COUNT);
	for (int i = 0; i < n; i++)
		app_error_add_violation(err, "permissions", "You do not hold %s", names[i]);
	return app_error_set(err, ERR_FORBIDDEN, "A key cannot have permissions its creator lacks");
}

static bool check_perms(const struct auth_key_create *in, size_t unknown, struct app_error *err)
{
	if (in->nperms == 0) {
		app_error_add_violation(err, "permissions", "At least one permission is required");
		return false;
	}
	for (size_t i = 0; unknown && i < in->nperms; i++) {
		enum perm p;

		if (!in->perms[i] || !perm_parse(in->perms[i], &p))
			app_error_add_violation(err, "permissions", "Unknown permission \"%.64s\"",
						in->perms[i] ? in->perms[i] : "");
	}
	return unknown == 0;
}

int auth_key_request_check(struct arena *a, perm_set held, const struct auth_key_create *in,
			   const char **name, perm_set *perms, int32_t *days, struct app_error *err)
{
	size_t unknown;
	bool ok = true;

	*perms = parse_perms(in, &unknown);
	if (auth_rule_key_perms(held, *perms, err) != 0)
		return -1;
	ok &= text_check(a, "name", "Name", in->name, AUTH_KEY_NAME_MAX_CHARS, true, name, err);
	ok &= check_perms(in, unknown, err);
	*days = in->expires_in_days ? in->expires_in_days : AUTH_KEY_DAYS_DEFAULT;
	if (*days < 1 || *days > AUTH_KEY_DAYS_MAX) {
		app_error_add_violation(err, "expiresInDays", "Must be between 1 and %d",
					AUTH_KEY_DAYS_MAX);
		ok = false;
	}
	return ok ? 0 : app_error_set(err, ERR_VALIDATION_ERROR, NULL);
}
