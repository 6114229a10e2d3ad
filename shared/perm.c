/* perm.c - permission names, the role table of API.md §1 and the permission
 * check. The permission list itself is PERM_TABLE in perm.h. */
#include "perm.h"

#include <stddef.h>
#include <string.h>

#include "util.h"

/* perm_set is 32 bits wide: one bit per table row. */
_Static_assert(PERM__COUNT <= 32, "perm_set cannot hold every permission");

static const char *const perm_wire_names[PERM__COUNT] = {
#define PERM_NAME(id, name) [PERM_##id] = name,
	PERM_TABLE(PERM_NAME)
#undef PERM_NAME
};

#define USER_PERMS                                                             \
	(PERM_BIT(PERM_READ_OWN_PROFILE) | PERM_BIT(PERM_UPDATE_OWN_PROFILE) | \
	 PERM_BIT(PERM_READ_POSTS) | PERM_BIT(PERM_WRITE_POSTS) | PERM_BIT(PERM_WRITE_COMMENTS))

#define MODERATOR_PERMS                                                         \
	(USER_PERMS | PERM_BIT(PERM_READ_USERS) | PERM_BIT(PERM_UPDATE_POSTS) | \
	 PERM_BIT(PERM_DELETE_POSTS) | PERM_BIT(PERM_DELETE_COMMENTS))

/* API.md §1 "Roles and their permissions". */
static const struct {
	const char *name;
	perm_set perms;
} role_rows[] = {
	{ "user", USER_PERMS },
	{ "moderator", MODERATOR_PERMS },
	{ "admin", PERM_BIT(PERM_ALL) },
};

/* Every bit a perm_set may meaningfully hold. */
#define PERM_KNOWN_BITS ((perm_set)((1u << PERM__COUNT) - 1u))

/* NULL for a value outside the table. */
const char *perm_name(enum perm p)
{
	if ((int)p < 0 || p >= PERM__COUNT)
		return NULL;
	return perm_wire_names[p];
}

bool perm_parse(const char *s, enum perm *out)
{
	if (!s)
		return false;
	for (int i = 0; i < PERM__COUNT; i++) {
		if (strcmp(perm_wire_names[i], s) == 0) {
			if (out)
				*out = (enum perm)i;
			return true;
		}
	}
	return false;
}

bool role_permissions(const char *role, perm_set *out)
{
	if (!role)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(role_rows); i++) {
		if (strcmp(role_rows[i].name, role) == 0) {
			if (out)
				*out = role_rows[i].perms;
			return true;
		}
	}
	return false;
}

bool role_valid(const char *role)
{
	return role_permissions(role, NULL);
}

bool perm_has(perm_set held, enum perm p)
{
	if ((int)p < 0 || p >= PERM__COUNT)
		return false;
	return (held & PERM_BIT(PERM_ALL)) != 0 || (held & PERM_BIT(p)) != 0;
}

bool perm_is_admin(perm_set held)
{
	return (held & PERM_BIT(PERM_ALL)) != 0;
}

int perm_names(perm_set held, const char **out, int max)
{
	int n = 0;

	if (!out || max <= 0)
		return 0;
	if (perm_is_admin(held)) {
		out[0] = perm_wire_names[PERM_ALL];
		return 1;
	}
	held &= PERM_KNOWN_BITS;
	for (int i = 0; i < PERM__COUNT && n < max; i++) {
		if (held & PERM_BIT(i))
			out[n++] = perm_wire_names[i];
	}
	return n;
}
