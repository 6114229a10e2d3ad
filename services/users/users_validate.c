/* users_validate.c - field rules for user input (API.md §2 "Users", §6).
 * Each check appends violations to err and returns false when it failed, so
 * callers can report every failing field at once. */
#include "users_validate.h"

#include <string.h>

#include "perm.h"
#include "util.h"

bool users_check_email(const char *in, char *out, size_t outsize, struct app_error *err)
{
	if (!in || !*in) {
		app_error_add_violation(err, "email", "Email is required");
		return false;
	}
	if (!utf8_valid(in, strlen(in)) || !email_normalize(in, out, outsize)) {
		app_error_add_violation(err, "email", "Invalid email format");
		return false;
	}
	return true;
}

bool users_check_name(struct arena *a, const char *in, const char **out, struct app_error *err)
{
	return text_check(a, "name", "Name", in, USER_NAME_MAX_CHARS, true, out, err);
}

bool users_check_password(const char *field, const char *pw, struct app_error *err)
{
	size_t chars;

	if (!pw || !*pw) {
		app_error_add_violation(err, field, "Password is required");
		return false;
	}
	if (!utf8_valid(pw, strlen(pw))) {
		app_error_add_violation(err, field, "Password must be valid UTF-8");
		return false;
	}
	chars = utf8_length(pw);
	if (chars < USER_PASSWORD_MIN_CHARS) {
		app_error_add_violation(err, field, "Password must be at least %d characters",
					USER_PASSWORD_MIN_CHARS);
		return false;
	}
	if (chars > USER_PASSWORD_MAX_CHARS) {
		app_error_add_violation(err, field, "Password must be at most %d characters",
					USER_PASSWORD_MAX_CHARS);
		return false;
	}
	return true;
}

bool users_check_role(const char *role, struct app_error *err)
{
	if (!role_valid(role)) {
		app_error_add_violation(err, "role", "Role must be one of user, moderator, admin");
		return false;
	}
	return true;
}

/* Mask paths are proto field names; camelCase JSON names are accepted too. */
static const struct mask_field user_paths[] = {
	{ "email", "email", USER_FIELD_EMAIL },
	{ "name", "name", USER_FIELD_NAME },
	{ "role", "role", USER_FIELD_ROLE },
	{ "is_active", "isActive", USER_FIELD_IS_ACTIVE },
	{ "is_verified", "isVerified", USER_FIELD_IS_VERIFIED },
};

bool users_parse_mask(const char *const *paths, size_t n, unsigned *fields, struct app_error *err)
{
	return mask_parse(user_paths, ARRAY_SIZE(user_paths), paths, n, fields, err);
}

const char *users_field_json_name(unsigned bit)
{
	return mask_json_name(user_paths, ARRAY_SIZE(user_paths), bit);
}
