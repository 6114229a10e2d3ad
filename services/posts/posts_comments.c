/* posts_comments.c - comments: listed, created, edited and deleted only on a
 * post the caller may see (else 404). The post's comment_count moves in the
 * same transaction as the insert/delete, in place (comment_count + 1), so
 * concurrent comments never lose a count. */
#include <string.h>

#include "db.h"
#include "log.h"
#include "posts_cache.h"
#include "posts_internal.h"
#include "posts_repo.h"
#include "posts_service.h"

static const char *const comment_sorts[] = { "createdAt", NULL };

static int name_comment(struct posts_ctx *ctx, const struct rpc_origin *o, struct arena *a,
			struct comment *cm, struct app_error *err)
{
	const char *name = NULL;

	if (posts_author_names(ctx, o, a, &cm->author_id, 1, &name, err) != 0)
		return -1;
	cm->author_name = name;
	return 0;
}

int posts_comment_list(struct posts_ctx *ctx, const struct principal *caller,
		       const struct rpc_origin *o, struct arena *a, const struct comment_query *q,
		       struct comment **out, size_t *nout, struct page_info *page,
		       struct app_error *err)
{
	struct post post;
	struct page pg;
	int64_t total = 0, *ids;
	const char **names;
	bool desc = false;
	int sort, rc;

	if (page_resolve(q->page, q->limit, &pg, err) != 0 ||
	    sort_parse(q->sort ? q->sort : "", "createdAt", comment_sorts, &sort, &desc, err) !=
		    0 ||
	    posts_load_visible(ctx, caller, a, q->post_id, &post, err) != 0)
		return -1;
	rc = posts_repo_comment_list(db_pool_any(ctx->db), a, q->post_id, desc, pg.limit,
				     page_offset(&pg), out, nout, &total, err);
	if (rc != 0)
		return -1;
	ids = arena_alloc(a, sizeof(*ids) * (*nout ? *nout : 1));
	names = arena_alloc(a, sizeof(*names) * (*nout ? *nout : 1));
	for (size_t i = 0; i < *nout; i++)
		ids[i] = (*out)[i].author_id;
	if (posts_author_names(ctx, o, a, ids, *nout, names, err) != 0)
		return -1;
	for (size_t i = 0; i < *nout; i++)
		(*out)[i].author_name = names[i];
	*page = page_info_make(&pg, total);
	return 0;
}

/* A comment's write and its post's count, in one transaction. */
struct comment_job {
	struct arena *a;
	int64_t post_id, comment_id, author_id;
	const char *body;
	struct comment *out;
};

/* Insert and count + 1 (db_with_tx's work). */
static int insert_counted(struct db_conn *c, void *arg, struct app_error *err)
{
	struct comment_job *j = arg;

	if (posts_repo_add_comment_count(c, j->post_id, 1, err) != 0)
		return -1;
	return posts_repo_comment_insert(c, j->a, j->post_id, j->author_id, j->body, j->out, err);
}

/* Soft delete and count - 1 (db_with_tx's work). */
static int delete_counted(struct db_conn *c, void *arg, struct app_error *err)
{
	struct comment_job *j = arg;

	if (posts_repo_comment_soft_delete(c, j->post_id, j->comment_id, err) != 0)
		return -1;
	return posts_repo_add_comment_count(c, j->post_id, -1, err);
}

int posts_comment_create(struct posts_ctx *ctx, const struct principal *caller,
			 const struct rpc_origin *o, struct arena *a, int64_t post_id,
			 const char *body, struct comment *out, struct app_error *err)
{
	struct comment_job j = {
		.a = a, .post_id = post_id, .author_id = caller->user_id, .body = body, .out = out
	};
	struct post post;
	const char *name = NULL;

	if (posts_check_can_write_comment(caller, err) != 0 ||
	    posts_load_visible(ctx, caller, a, post_id, &post, err) != 0)
		return -1;
	if (!posts_check_body("body", body, COMMENT_BODY_MAX_CHARS, err))
		return app_error_set(err, ERR_VALIDATION_ERROR, NULL);
	/* The author's name first: a users outage fails the call before writing. */
	if (posts_author_names(ctx, o, a, &caller->user_id, 1, &name, err) != 0 ||
	    db_with_tx(ctx->db, ctx->db_wait_ms, insert_counted, &j, err) != 0)
		return -1;
	posts_cache_invalidate(ctx->kv, post_id);
	out->author_name = name;
	log_info("comment created", LOG_I("postId", post_id), LOG_I("commentId", out->id));
	return 0;
}

/* The post visible to the caller, then the comment on it. */
static int load_comment(struct posts_ctx *ctx, const struct principal *caller, struct arena *a,
			int64_t post_id, int64_t comment_id, struct comment *out,
			struct app_error *err)
{
	struct post post;
	int rc;

	if (posts_load_visible(ctx, caller, a, post_id, &post, err) != 0 ||
	    posts_check_id("commentId", comment_id, err) != 0)
		return -1;
	rc = posts_repo_comment_find(db_pool_any(ctx->db), a, post_id, comment_id, out, err);
	return rc;
}

/* The update mask of a comment: only "body" is writable; *body when named. */
static int parse_comment_mask(const char *const *paths, size_t n, bool *body, struct app_error *err)
{
	static const struct mask_field known[] = { { "body", "body", 1u } };
	unsigned bits = 0;

	*body = false;
	if (!mask_parse(known, 1, paths, n, &bits, err))
		return app_error_set(err, ERR_VALIDATION_ERROR, NULL);
	*body = bits != 0;
	return 0;
}

int posts_comment_update(struct posts_ctx *ctx, const struct principal *caller,
			 const struct rpc_origin *o, struct arena *a, int64_t post_id,
			 int64_t comment_id, const char *const *paths, size_t npaths,
			 const char *body, struct comment *out, struct app_error *err)
{
	struct comment cur;
	bool write;
	int rc;

	if (posts_check_can_write_comment(caller, err) != 0)
		return -1;
	if (load_comment(ctx, caller, a, post_id, comment_id, &cur, err) != 0 ||
	    posts_may_update_comment(caller, cur.author_id, err) != 0 ||
	    parse_comment_mask(paths, npaths, &write, err) != 0)
		return -1;
	if (write && !posts_check_body("body", body, COMMENT_BODY_MAX_CHARS, err))
		return app_error_set(err, ERR_VALIDATION_ERROR, NULL);
	if (!write || strcmp(body, cur.body) == 0) {
		*out = cur; /* nothing changes */
	} else {
		rc = posts_repo_comment_update(db_pool_any(ctx->db), a, post_id, comment_id, body,
					       out, err);
		if (rc != 0)
			return -1;
		log_info("comment updated", LOG_I("postId", post_id),
			 LOG_I("commentId", comment_id));
	}
	return name_comment(ctx, o, a, out, err);
}

int posts_comment_delete(struct posts_ctx *ctx, const struct principal *caller, struct arena *a,
			 int64_t post_id, int64_t comment_id, struct app_error *err)
{
	struct comment cur;
	struct comment_job j = { .post_id = post_id, .comment_id = comment_id };

	if (posts_check_can_delete_comment(caller, err) != 0 ||
	    load_comment(ctx, caller, a, post_id, comment_id, &cur, err) != 0 ||
	    posts_may_delete_comment(caller, cur.author_id, err) != 0 ||
	    db_with_tx(ctx->db, ctx->db_wait_ms, delete_counted, &j, err) != 0)
		return -1;
	posts_cache_invalidate(ctx->kv, post_id);
	log_info("comment deleted", LOG_I("postId", post_id), LOG_I("commentId", comment_id),
		 LOG_I("by", caller->user_id));
	return 0;
}
