/* perm.h - permissions, roles and the permission check of API.md §1.
 *
 * has(p, "action:resource") = p holds "*" or exactly that permission. */
#ifndef SHARED_PERM_H
#define SHARED_PERM_H

#include <stdbool.h>
#include <stdint.h>

/* X(enum suffix, wire name) */
#define PERM_TABLE(X)                               \
	X(ALL, "*")                                 \
	X(READ_OWN_PROFILE, "read:own_profile")     \
	X(UPDATE_OWN_PROFILE, "update:own_profile") \
	X(READ_POSTS, "read:posts")                 \
	X(WRITE_POSTS, "write:posts")               \
	X(WRITE_COMMENTS, "write:comments")         \
	X(READ_USERS, "read:users")                 \
	X(UPDATE_POSTS, "update:posts")             \
	X(DELETE_POSTS, "delete:posts")             \
	X(DELETE_COMMENTS, "delete:comments")

enum perm {
#define PERM_ENUM(id, name) PERM_##id,
	PERM_TABLE(PERM_ENUM)
#undef PERM_ENUM
		PERM__COUNT
};

typedef uint32_t perm_set; /* bit (1u << enum perm) per permission held */

#define PERM_BIT(p) ((perm_set)1u << (p))

const char *perm_name(enum perm p);
/* "read:posts" -> PERM_READ_POSTS; false for unknown strings. */
bool perm_parse(const char *s, enum perm *out);

/* The role table (user, moderator, admin). false for an unknown role. */
bool role_permissions(const char *role, perm_set *out);
bool role_valid(const char *role);

/* The seed's hasPermission: "*" or the exact permission. */
bool perm_has(perm_set held, enum perm p);
/* Admin = holds "*" (a key limited below "*" is not admin). */
bool perm_is_admin(perm_set held);

/* Writes the held permissions' names (in table order) to out[0..max), returns
 * how many; with "*" held, only "*". */
int perm_names(perm_set held, const char **out, int max);

#endif
