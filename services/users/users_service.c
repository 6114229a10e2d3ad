/* users_service.c - who may do what to which user, in which order.
 *
 * Error precedence (API.md §6): credentials (401) -> permission (403) ->
 * resource (404) -> forbidden fields (403) -> validation (422) -> conflicts
 * (409). Writes are one transaction each; the cache entry is deleted after
 * the commit. */
#include "users_service.h"

#include <string.h>

#include "db.h"
#include "log.h"
#include "perm.h"
#include "users_rules.h"
#include "users_cache.h"
#include "users_repo.h"
#include "users_validate.h"

int users_create(struct users_ctx *ctx, const struct principal *caller, struct arena *a,
		 const struct user_create *in, struct user *out, struct app_error *err)
{
	char email[EMAIL_MAX_LEN + 1], hash[USERS_HASH_MAX];
	struct user_row_new row = { .role = "user", .is_active = true };
	unsigned admin_fields = (in->role && *in->role ? USER_FIELD_ROLE : 0) |
				(in->has_is_active ? USER_FIELD_IS_ACTIVE : 0) |
				(in->has_is_verified ? USER_FIELD_IS_VERIFIED : 0);
	bool ok = true;
	int rc;

	if (users_rule_fields(caller, admin_fields, err) != 0)
		return -1;
	ok &= users_check_email(in->email, email, sizeof(email), err);
	ok &= users_check_password("password", in->password, err);
	ok &= users_check_name(a, in->name, &row.name, err);
	if (admin_fields & USER_FIELD_ROLE) {
		ok &= users_check_role(in->role, err);
		row.role = in->role;
	}
	if (!ok)
		return app_error_set(err, ERR_VALIDATION_ERROR, NULL);
	if (in->has_is_active)
		row.is_active = in->is_active;
	row.is_verified = in->has_is_verified && in->is_verified;
	row.email = email;
	if (users_hasher_hash(ctx->hasher, in->password, HASH_WAIT_MS, hash, sizeof(hash), err) !=
	    0)
		return -1;
	row.password_hash = hash;
	rc = users_repo_insert(db_pool_any(ctx->db), &row, out, err);
	if (rc == 0)
		log_info("user created", LOG_I("userId", out->id), LOG_S("role", out->role));
	return rc;
}

int users_get(struct users_ctx *ctx, const struct principal *caller, int64_t id, struct user *out,
	      struct app_error *err)
{
	struct kv_seen seen;
	int rc;

	if (users_rule_target(caller, &id, err) != 0 || users_rule_read(caller, id, err) != 0)
		return -1;
	if (users_cache_get(ctx->kv, id, out, &seen))
		return 0;
	rc = users_repo_find(db_pool_any(ctx->db), id, out, err);
	if (rc == 0)
		users_cache_put(ctx->kv, out, ctx->cache_ttl_s, &seen);
	return rc;
}

/* Unique ids in order of first appearance; -1 on a non-positive id. */
static int dedupe_ids(struct arena *a, const int64_t *ids, size_t n, int64_t **out, size_t *nout,
		      struct app_error *err)
{
	int64_t *u = arena_alloc(a, sizeof(*u) * (n ? n : 1));
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		if (ids[i] <= 0)
			return app_error_set(err, ERR_BAD_REQUEST, "ids must be positive integers");
		for (size_t j = 0; j < k && !seen; j++)
			seen = u[j] == ids[i];
		if (!seen)
			u[k++] = ids[i];
	}
	*out = u;
	*nout = k;
	return 0;
}

/* Loads the cache misses with one query and caches them. */
static int fill_misses(struct users_ctx *ctx, struct arena *a, const int64_t *ids, size_t n,
		       struct user *found, bool *hit, const struct kv_seen *seen,
		       struct app_error *err)
{
	int64_t *miss = arena_alloc(a, sizeof(*miss) * n);
	struct user *rows;
	size_t nmiss = 0, nrows = 0;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (!hit[i])
			miss[nmiss++] = ids[i];
	}
	if (nmiss == 0)
		return 0;
	rc = users_repo_find_many(db_pool_any(ctx->db), miss, nmiss, a, &rows, &nrows, err);
	if (rc != 0)
		return -1;
	for (size_t r = 0; r < nrows; r++) {
		for (size_t i = 0; i < n; i++) {
			if (ids[i] == rows[r].id) {
				found[i] = rows[r];
				hit[i] = true;
			}
		}
	}
	users_cache_put_many(ctx->kv, a, rows, nrows, ids, seen, n, ctx->cache_ttl_s);
	return 0;
}

int users_batch_get(struct users_ctx *ctx, const struct principal *caller, struct arena *a,
		    const int64_t *ids, size_t nids, struct user **out, size_t *nout, bool *full,
		    struct app_error *err)
{
	int64_t *uniq = NULL;
	size_t n = 0, k = 0;
	struct user *found;
	struct kv_seen *seen;
	bool *hit;

	if (nids > USERS_BATCH_MAX)
		return app_error_set(err, ERR_BAD_REQUEST, "At most %d ids per call",
				     USERS_BATCH_MAX);
	if (dedupe_ids(a, ids, nids, &uniq, &n, err) != 0)
		return -1;
	found = arena_alloc(a, sizeof(*found) * (n ? n : 1));
	hit = arena_alloc(a, sizeof(*hit) * (n ? n : 1));
	seen = arena_alloc(a, sizeof(*seen) * (n ? n : 1));
	users_cache_get_many(ctx->kv, a, uniq, n, found, hit, seen);
	if (fill_misses(ctx, a, uniq, n, found, hit, seen, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (hit[i])
			found[k++] = found[i];
	}
	*out = found;
	*nout = k;
	*full = users_rule_full_view(caller);
	return 0;
}

/* In enum user_sort's order. */
static const char *const user_sorts[] = { "createdAt", "name", "email", NULL };

static int build_filter(struct arena *a, const struct user_query *q, const struct page *pg,
			struct user_list_filter *f, struct app_error *err)
{
	int sort;

	if (sort_parse(q->sort ? q->sort : "", "-createdAt", user_sorts, &sort, &f->desc, err) != 0)
		return -1;
	f->sort = (enum user_sort)sort;
	f->is_active = -1;
	if (q->status && *q->status) {
		if (strcmp(q->status, "active") != 0 && strcmp(q->status, "inactive") != 0)
			return app_error_set(err, ERR_BAD_REQUEST,
					     "status must be one of active, inactive");
		f->is_active = strcmp(q->status, "active") == 0;
	}
	if (q->role && *q->role) {
		if (!role_valid(q->role))
			return app_error_set(err, ERR_BAD_REQUEST,
					     "role must be one of user, moderator, admin");
		f->role = q->role;
	}
	if (q->name && *q->name)
		f->name = q->name;
	if (q->email && *q->email) {
		char *email = arena_alloc(a, EMAIL_MAX_LEN + 1);

		email_normalize(q->email, email,
				EMAIL_MAX_LEN + 1); /* exact match; validity irrelevant */
		f->email = email;
	}
	f->limit = pg->limit;
	f->offset = page_offset(pg);
	return 0;
}

int users_list(struct users_ctx *ctx, const struct principal *caller, struct arena *a,
	       const struct user_query *q, struct user **out, size_t *nout, struct page_info *page,
	       struct app_error *err)
{
	struct user_list_filter f = { 0 };
	struct page pg;
	int64_t total = 0;
	int rc;

	if (users_rule_list(caller, err) != 0)
		return -1;
	if (page_resolve(q->page, q->limit, &pg, err) != 0 || build_filter(a, q, &pg, &f, err) != 0)
		return -1;
	rc = users_repo_list(db_pool_any(ctx->db), &f, a, out, nout, &total, err);
	if (rc == 0)
		*page = page_info_make(&pg, total);
	return rc;
}
