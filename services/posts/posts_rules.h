/* posts_rules.h - who may see and change which posts and comments (API.md §1
 * "Authentication and authorization", §2 "Posts and comments"), and the
 * field checks: the posts service's every authorization decision. Pure
 * functions (no I/O), unit-tested in posts_rules_test.c.
 *
 * A check returning int gives 0 when allowed, or -1 with err set to what the
 * caller sees: 401 UNAUTHORIZED (anonymous), 403 FORBIDDEN (not allowed). */
#ifndef POSTS_RULES_H
#define POSTS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "principal.h"

/* Post fields named in an update mask. */
#define POST_FIELD_TITLE 1u
#define POST_FIELD_BODY 2u
#define POST_FIELD_STATUS 4u

/* What an update does to published_at. */
enum posts_published_change { POSTS_PUBLISHED_KEEP, POSTS_PUBLISHED_SET, POSTS_PUBLISHED_CLEAR };

/* Which posts a list may show. */
enum posts_list_scope {
	POSTS_SCOPE_PUBLISHED, /* published only */
	POSTS_SCOPE_ALL,       /* drafts too (the status filter still applies) */
	POSTS_SCOPE_NOTHING,   /* asked for drafts it may not see: empty result */
};

/* A draft is visible to its author and to holders of update:posts; a
 * published post to everyone. */
bool posts_visible(const struct principal *caller, int64_t author_id, const char *status);
/* May the caller see drafts of author_id (0 = of anyone) in a list? */
bool posts_may_see_drafts(const struct principal *caller, int64_t author_id);
enum posts_list_scope posts_list_scope(const struct principal *caller, int64_t author_id,
				       const char *status);
/* CreatePost (API.md §2: `write:posts`): 401 anonymous, 403 without
 * write:posts (update:posts alone does not create). */
int posts_may_create_post(const struct principal *caller, struct app_error *err);
/* Generic permission before any lookup: 401 anonymous, 403 without any
 * permission that could allow the action. */
int posts_check_can_write_post(const struct principal *caller, struct app_error *err);
int posts_check_can_delete_post(const struct principal *caller, struct app_error *err);
int posts_check_can_write_comment(const struct principal *caller, struct app_error *err);
int posts_check_can_delete_comment(const struct principal *caller, struct app_error *err);
/* Ownership of a loaded row: 0 or 403. */
int posts_may_update_post(const struct principal *caller, int64_t author_id, struct app_error *err);
int posts_may_delete_post(const struct principal *caller, int64_t author_id, struct app_error *err);
/* The comment's author with write:comments, or an admin ("*"). */
int posts_may_update_comment(const struct principal *caller, int64_t author_id,
			     struct app_error *err);
int posts_may_delete_comment(const struct principal *caller, int64_t author_id,
			     struct app_error *err);
enum posts_published_change posts_published_change(const char *old_status, const char *new_status);

/* A title search the trigram index can serve: q holds at least
 * POSTS_SEARCH_MIN_CHARS letters or digits in a row (pg_trgm extracts no
 * trigram from a shorter run, and a pattern without one scans every post). */
#define POSTS_SEARCH_MIN_CHARS 3
bool posts_search_indexable(const char *q);

/* Field checks: append a violation to err and return false when invalid. */
bool posts_check_title(struct arena *a, const char *in, const char **out, struct app_error *err);
bool posts_check_body(const char *field, const char *in, size_t max_chars, struct app_error *err);
/* "" becomes draft when allow_empty. */
bool posts_check_status(const char *in, bool allow_empty, const char **out, struct app_error *err);
/* Mask paths (title, body, status); unknown ones are violations. */
bool posts_parse_mask(const char *const *paths, size_t n, unsigned *fields, struct app_error *err);

#endif
