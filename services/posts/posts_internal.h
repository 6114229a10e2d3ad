/* posts_internal.h - helpers shared by posts_service.c and posts_comments.c
 * (not part of the service's interface). */
#ifndef POSTS_INTERNAL_H
#define POSTS_INTERNAL_H

#include "posts_rules.h"
#include "posts_service.h"

/* The non-deleted post id as the caller may see it: cache-aside read, then
 * NOT_FOUND when missing or a draft the caller may not see. No author name. */
int posts_load_visible(struct posts_ctx *ctx, const struct principal *caller, struct arena *a,
		       int64_t id, struct post *out, struct app_error *err);
/* Current names of the n author ids (duplicates allowed) with one lookup:
 * names[i] for ids[i], NULL when deleted. n = 0 makes no call. */
int posts_author_names(struct posts_ctx *ctx, const struct rpc_origin *o, struct arena *a,
		       const int64_t *ids, size_t n, const char **names, struct app_error *err);
/* 400 unless id is a positive integer. */
int posts_check_id(const char *what, int64_t id, struct app_error *err);

#endif
