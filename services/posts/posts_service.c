/* posts_service.c - posts: who may see and change which post, in which order.
 *
 * Error precedence (API.md §6): credentials (401) -> permission (403) ->
 * resource (404; another user's draft included) -> ownership (403) ->
 * validation (422) -> conflicts (409). Writes are one transaction each; the
 * cache entry is deleted after the commit. Authors' names come from one
 * UsersService.BatchGetUsers call per reply. */
#include "posts_service.h"

#include <string.h>

#include "db.h"
#include "log.h"
#include "perm.h"
#include "posts_cache.h"
#include "posts_internal.h"
#include "posts_repo.h"

#define ID_MAX 9007199254740991LL /* 2^53 - 1 */

int posts_check_id(const char *what, int64_t id, struct app_error *err)
{
	if (id <= 0 || id > ID_MAX)
		return app_error_set(err, ERR_BAD_REQUEST, "%s must be a positive integer", what);
	return 0;
}

int posts_load_visible(struct posts_ctx *ctx, const struct principal *caller, struct arena *a,
		       int64_t id, struct post *out, struct app_error *err)
{
	struct kv_seen seen;
	int rc;

	if (posts_check_id("id", id, err) != 0)
		return -1;
	if (!posts_cache_get(ctx->kv, a, id, out, &seen)) {
		rc = posts_repo_find(db_pool_any(ctx->db), a, id, out, err);
		if (rc != 0)
			return -1;
		posts_cache_put(ctx->kv, out, ctx->cache_ttl_s, &seen);
	}
	out->author_name = NULL;
	if (!posts_visible(caller, out->author_id, out->status))
		return app_error_set(err, ERR_NOT_FOUND, "Post not found");
	return 0;
}

int posts_author_names(struct posts_ctx *ctx, const struct rpc_origin *o, struct arena *a,
		       const int64_t *ids, size_t n, const char **names, struct app_error *err)
{
	int64_t *uniq;
	const char **found;
	size_t k = 0;

	if (n == 0)
		return 0;
	uniq = arena_alloc(a, sizeof(*uniq) * n);
	found = arena_alloc(a, sizeof(*found) * n);
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (size_t j = 0; j < k && !seen; j++)
			seen = uniq[j] == ids[i];
		if (!seen)
			uniq[k++] = ids[i];
	}
	memset(found, 0, sizeof(*found) * n);
	if (ctx->names(ctx->names_ctx, a, o, uniq, k, found, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		names[i] = NULL;
		for (size_t j = 0; j < k; j++) {
			if (uniq[j] == ids[i])
				names[i] = found[j];
		}
	}
	return 0;
}

/* Fills p->author_name (one lookup). */
static int name_one(struct posts_ctx *ctx, const struct rpc_origin *o, struct arena *a,
		    struct post *p, struct app_error *err)
{
	const char *name = NULL;

	if (posts_author_names(ctx, o, a, &p->author_id, 1, &name, err) != 0)
		return -1;
	p->author_name = name;
	return 0;
}

int posts_create(struct posts_ctx *ctx, const struct principal *caller, const struct rpc_origin *o,
		 struct arena *a, const struct post_create *in, struct post *out,
		 struct app_error *err)
{
	const char *title = NULL, *status = NULL, *name = NULL;
	bool ok = true;
	int rc;

	if (posts_may_create_post(caller, err) != 0)
		return -1;
	ok &= posts_check_title(a, in->title, &title, err);
	ok &= posts_check_body("body", in->body, POST_BODY_MAX_CHARS, err);
	ok &= posts_check_status(in->status, true, &status, err);
	if (!ok)
		return app_error_set(err, ERR_VALIDATION_ERROR, NULL);
	/* The author's name first: a users outage fails the call before writing. */
	if (posts_author_names(ctx, o, a, &caller->user_id, 1, &name, err) != 0)
		return -1;
	rc = posts_repo_insert(db_pool_any(ctx->db), a, caller->user_id, title, in->body, status,
			       out, err);
	if (rc != 0)
		return -1;
	out->author_name = name;
	log_info("post created", LOG_I("postId", out->id), LOG_I("authorId", out->author_id),
		 LOG_S("status", out->status));
	return 0;
}

int posts_get(struct posts_ctx *ctx, const struct principal *caller, const struct rpc_origin *o,
	      struct arena *a, int64_t id, struct post *out, struct app_error *err)
{
	if (posts_load_visible(ctx, caller, a, id, out, err) != 0)
		return -1;
	return name_one(ctx, o, a, out, err);
}

/* In enum post_sort's order. */
static const char *const post_sorts[] = { "createdAt", "publishedAt", "title", NULL };

/* The repository filter for q; *nothing when the caller asked for drafts it
 * may not see (an empty result, not an error). */
static int build_filter(const struct principal *caller, struct arena *a, const struct post_query *q,
			const struct page *pg, struct post_list_filter *f, bool *nothing,
			struct app_error *err)
{
	const char *status = q->status && *q->status ? q->status : NULL;
	int sort;

	if (sort_parse(q->sort ? q->sort : "", "-createdAt", post_sorts, &sort, &f->desc, err) != 0)
		return -1;
	f->sort = (enum post_sort)sort;
	if (status && strcmp(status, POST_STATUS_DRAFT) != 0 &&
	    strcmp(status, POST_STATUS_PUBLISHED) != 0)
		return app_error_set(err, ERR_BAD_REQUEST,
				     "status must be one of draft, published");
	if (q->author_id < 0 || (q->author_must_exist && q->author_id == 0))
		return app_error_set(err, ERR_BAD_REQUEST, "authorId must be a positive integer");
	f->author_id = q->author_id;
	f->status = status;
	switch (posts_list_scope(caller, q->author_id, status)) {
	case POSTS_SCOPE_NOTHING:
		*nothing = true;
		break;
	case POSTS_SCOPE_PUBLISHED:
		f->status = POST_STATUS_PUBLISHED;
		break;
	case POSTS_SCOPE_ALL:
		break;
	}
	if (q->q && *q->q) {
		/* Bounded cost: a pattern the trigram index cannot serve would scan
		 * every post (and count them all) on each request. */
		if (!posts_search_indexable(q->q))
			return app_error_set(
				err, ERR_BAD_REQUEST,
				"q must contain at least %d letters or digits in a row",
				POSTS_SEARCH_MIN_CHARS);
		f->title_has = q->q;
	}
	f->limit = pg->limit;
	f->offset = page_offset(pg);
	return 0;
}

/* Names for a page of posts: one lookup (none when the author's name is
 * already known from the existence check). */
static int name_page(struct posts_ctx *ctx, const struct rpc_origin *o, struct arena *a,
		     struct post *posts, size_t n, bool known, const char *known_name,
		     struct app_error *err)
{
	int64_t *ids;
	const char **names;

	if (known) {
		for (size_t i = 0; i < n; i++)
			posts[i].author_name = known_name;
		return 0;
	}
	ids = arena_alloc(a, sizeof(*ids) * (n ? n : 1));
	names = arena_alloc(a, sizeof(*names) * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		ids[i] = posts[i].author_id;
	if (posts_author_names(ctx, o, a, ids, n, names, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		posts[i].author_name = names[i];
	return 0;
}

int posts_list(struct posts_ctx *ctx, const struct principal *caller, const struct rpc_origin *o,
	       struct arena *a, const struct post_query *q, struct post **out, size_t *nout,
	       struct page_info *page, struct app_error *err)
{
	struct post_list_filter f = { 0 };
	const char *author_name = NULL;
	bool nothing = false;
	struct page pg;
	int64_t total = 0;
	int rc = 0;

	if (page_resolve(q->page, q->limit, &pg, err) != 0 ||
	    build_filter(caller, a, q, &pg, &f, &nothing, err) != 0)
		return -1;
	if (q->author_must_exist) {
		/* GET /users/:id/posts: an unknown or deleted author is 404. */
		if (posts_author_names(ctx, o, a, &q->author_id, 1, &author_name, err) != 0)
			return -1;
		if (!author_name)
			return app_error_set(err, ERR_NOT_FOUND, "User not found");
	}
	*out = NULL;
	*nout = 0;
	if (!nothing) {
		rc = posts_repo_list(db_pool_any(ctx->db), a, &f, out, nout, &total, err);
	}
	if (rc != 0 ||
	    name_page(ctx, o, a, *out, *nout, q->author_must_exist, author_name, err) != 0)
		return -1;
	*page = page_info_make(&pg, total);
	return 0;
}
