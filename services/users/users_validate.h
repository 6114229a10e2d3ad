/* users_validate.h - field rules for user input; see users_validate.c. */
#ifndef USERS_VALIDATE_H
#define USERS_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "users_rules.h"
#include "users_service.h"

/* Normalized (trimmed, lower-case) email into out. */
bool users_check_email(const char *in, char *out, size_t outsize, struct app_error *err);
/* Trimmed name (owned by a) into *out: 1..100 code points. */
bool users_check_name(struct arena *a, const char *in, const char **out, struct app_error *err);
/* 8..128 code points; violations name `field` (password, newPassword). */
bool users_check_password(const char *field, const char *pw, struct app_error *err);
bool users_check_role(const char *role, struct app_error *err);
/* Update-mask paths to USER_FIELD_* bits; unknown paths are violations. */
bool users_parse_mask(const char *const *paths, size_t n, unsigned *fields, struct app_error *err);
/* "isActive" for USER_FIELD_IS_ACTIVE. */
const char *users_field_json_name(unsigned bit);

#endif
