/* posts_write.c - changes to existing posts: update (with an update mask and
 * an optional expected version) and soft delete. Same precedence rules as
 * posts_service.c. */
#include <string.h>

#include "db.h"
#include "log.h"
#include "posts_cache.h"
#include "posts_internal.h"
#include "posts_repo.h"
#include "posts_service.h"

/* Validates the patched values and computes the row to write from cur. */
static int apply_patch(struct arena *a, const struct post *cur, unsigned fields,
		       const struct post_patch *p, struct post_row_update *u, struct app_error *err)
{
	bool ok = true;

	*u = (struct post_row_update){ .title = cur->title,
				       .body = cur->body,
				       .status = cur->status };
	if (fields & POST_FIELD_TITLE)
		ok &= posts_check_title(a, p->title, &u->title, err);
	if ((fields & POST_FIELD_BODY) &&
	    (ok &= posts_check_body("body", p->body, POST_BODY_MAX_CHARS, err)))
		u->body = p->body;
	if (fields & POST_FIELD_STATUS)
		ok &= posts_check_status(p->status, false, &u->status, err);
	if (!ok)
		return app_error_set(err, ERR_VALIDATION_ERROR, NULL);
	u->published = posts_published_change(cur->status, u->status);
	return 0;
}

static bool row_changes(const struct post *cur, const struct post_row_update *u)
{
	return strcmp(u->title, cur->title) != 0 || strcmp(u->body, cur->body) != 0 ||
	       strcmp(u->status, cur->status) != 0;
}

/* One write under the post's row lock (db_with_tx's work). */
struct post_job {
	const struct principal *caller;
	struct arena *a;
	int64_t id;
	const struct post_patch *p; /* updates only */
	struct post *out;
	bool changed;
};

/* The checks that need the current row, in precedence order, then the write. */
static int update_locked(struct db_conn *c, void *arg, struct app_error *err)
{
	struct post_job *j = arg;
	const struct post_patch *p = j->p;
	struct post cur;
	struct post_row_update u;
	unsigned fields = 0;

	if (posts_repo_find_for_update(c, j->a, j->id, &cur, err) != 0)
		return -1;
	if (!posts_visible(j->caller, cur.author_id, cur.status))
		return app_error_set(err, ERR_NOT_FOUND, "Post not found");
	if (posts_may_update_post(j->caller, cur.author_id, err) != 0)
		return -1;
	if (!posts_parse_mask(p->paths, p->npaths, &fields, err))
		return app_error_set(err, ERR_VALIDATION_ERROR, NULL);
	if (apply_patch(j->a, &cur, fields, p, &u, err) != 0)
		return -1;
	if (p->expected_version != 0 && p->expected_version != cur.version)
		return app_error_set(err, ERR_VERSION_CONFLICT,
				     "Version %lld does not match the current version %lld",
				     (long long)p->expected_version, (long long)cur.version);
	j->changed = row_changes(&cur, &u);
	if (!j->changed) {
		*j->out = cur;
		return 0;
	}
	return posts_repo_update(c, j->a, j->id, &u, j->out, err);
}

int posts_update(struct posts_ctx *ctx, const struct principal *caller, const struct rpc_origin *o,
		 struct arena *a, int64_t id, const struct post_patch *p, struct post *out,
		 struct app_error *err)
{
	struct post_job j = { .caller = caller, .a = a, .id = id, .p = p, .out = out };
	const char *name = NULL;

	if (posts_check_can_write_post(caller, err) != 0 || posts_check_id("id", id, err) != 0 ||
	    db_with_tx(ctx->db, ctx->db_wait_ms, update_locked, &j, err) != 0)
		return -1;
	if (j.changed) {
		posts_cache_invalidate(ctx->kv, id);
		log_info("post updated", LOG_I("postId", id), LOG_I("version", out->version),
			 LOG_S("status", out->status));
	}
	if (posts_author_names(ctx, o, a, &out->author_id, 1, &name, err) != 0)
		return -1;
	out->author_name = name;
	return 0;
}

static int delete_locked(struct db_conn *c, void *arg, struct app_error *err)
{
	struct post_job *j = arg;

	if (posts_repo_find_for_update(c, j->a, j->id, j->out, err) != 0)
		return -1;
	if (!posts_visible(j->caller, j->out->author_id, j->out->status))
		return app_error_set(err, ERR_NOT_FOUND, "Post not found");
	if (posts_may_delete_post(j->caller, j->out->author_id, err) != 0)
		return -1;
	return posts_repo_soft_delete(c, j->id, err);
}

int posts_delete(struct posts_ctx *ctx, const struct principal *caller, struct arena *a, int64_t id,
		 struct app_error *err)
{
	struct post cur;
	struct post_job j = { .caller = caller, .a = a, .id = id, .out = &cur };

	if (posts_check_can_delete_post(caller, err) != 0 || posts_check_id("id", id, err) != 0 ||
	    db_with_tx(ctx->db, ctx->db_wait_ms, delete_locked, &j, err) != 0)
		return -1;
	posts_cache_invalidate(ctx->kv, id);
	log_info("post deleted", LOG_I("postId", id), LOG_I("by", caller->user_id));
	return 0;
}
