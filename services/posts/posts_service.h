/* posts_service.h - the posts service: its operations (order of checks,
 * cache-aside reads, write ordering; the rules are posts_rules.h). Transport-free:
 * the gRPC layer (posts_rpc.c) converts messages to and from these structs. */
#ifndef POSTS_SERVICE_H
#define POSTS_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "principal.h"
#include "validate.h"

struct db_pool;
struct kv;

#define POST_TITLE_MAX_CHARS 200
#define POST_BODY_MAX_CHARS 50000
#define COMMENT_BODY_MAX_CHARS 10000

#define POST_STATUS_DRAFT "draft"
#define POST_STATUS_PUBLISHED "published"

/* A post; strings owned by the call's arena. author_name NULL = the author
 * was deleted (JSON null). */
struct post {
	int64_t id;
	int64_t author_id;
	const char *author_name;
	const char *title;
	const char *body;
	char status[12];
	int64_t comment_count;
	int64_t version;
	int64_t created_at_us; /* unix microseconds */
	int64_t updated_at_us;
	int64_t published_at_us; /* 0 = not published */
};

struct comment {
	int64_t id;
	int64_t post_id;
	int64_t author_id;
	const char *author_name; /* NULL = author deleted */
	const char *body;
	int64_t created_at_us;
	int64_t updated_at_us;
};

/* Where the current call came from (rpc.h): forwarded to UsersService. */
struct rpc_origin;

/* Looks up the current names of n distinct positive ids with ONE call:
 * names[i] (from a) or NULL when that user is unknown or deleted. 0, or -1
 * with err (SERVICE_UNAVAILABLE when the users service is down). */
typedef int (*posts_names_fn)(void *ctx, struct arena *a, const struct rpc_origin *origin,
			      const int64_t *ids, size_t n, const char **names,
			      struct app_error *err);

/* Everything the service needs; owned by main.c. */
struct posts_ctx {
	struct db_pool *db;
	struct kv *kv;
	int cache_ttl_s;
	int db_wait_ms; /* how long a call waits for a free connection */
	posts_names_fn names;
	void *names_ctx;
};

struct post_create {
	const char *title, *body, *status; /* as received; status "" = draft */
};

/* Update input: paths as sent in the update mask, values from the request's
 * post. expected_version 0 = unconditional. */
struct post_patch {
	const char *const *paths;
	size_t npaths;
	const char *title, *body, *status;
	int64_t expected_version;
};

struct post_query {
	int32_t page, limit;
	const char *sort, *status, *q; /* NULL or "" = not set */
	int64_t author_id;             /* 0 = any */
	bool author_must_exist;
};

struct comment_query {
	int64_t post_id;
	int32_t page, limit;
	const char *sort;
};

/* Every function returns 0, or -1 with err set to the error the caller sees.
 * caller is the resolved principal (AUTH_NONE = anonymous). Outputs are
 * allocated from a (the call's arena). */
int posts_create(struct posts_ctx *ctx, const struct principal *caller, const struct rpc_origin *o,
		 struct arena *a, const struct post_create *in, struct post *out,
		 struct app_error *err);
int posts_get(struct posts_ctx *ctx, const struct principal *caller, const struct rpc_origin *o,
	      struct arena *a, int64_t id, struct post *out, struct app_error *err);
int posts_list(struct posts_ctx *ctx, const struct principal *caller, const struct rpc_origin *o,
	       struct arena *a, const struct post_query *q, struct post **out, size_t *nout,
	       struct page_info *page, struct app_error *err);
int posts_update(struct posts_ctx *ctx, const struct principal *caller, const struct rpc_origin *o,
		 struct arena *a, int64_t id, const struct post_patch *p, struct post *out,
		 struct app_error *err);
int posts_delete(struct posts_ctx *ctx, const struct principal *caller, struct arena *a, int64_t id,
		 struct app_error *err);

int posts_comment_create(struct posts_ctx *ctx, const struct principal *caller,
			 const struct rpc_origin *o, struct arena *a, int64_t post_id,
			 const char *body, struct comment *out, struct app_error *err);
int posts_comment_list(struct posts_ctx *ctx, const struct principal *caller,
		       const struct rpc_origin *o, struct arena *a, const struct comment_query *q,
		       struct comment **out, size_t *nout, struct page_info *page,
		       struct app_error *err);
/* paths: the update mask (only "body" is writable; empty = no-op). */
int posts_comment_update(struct posts_ctx *ctx, const struct principal *caller,
			 const struct rpc_origin *o, struct arena *a, int64_t post_id,
			 int64_t comment_id, const char *const *paths, size_t npaths,
			 const char *body, struct comment *out, struct app_error *err);
int posts_comment_delete(struct posts_ctx *ctx, const struct principal *caller, struct arena *a,
			 int64_t post_id, int64_t comment_id, struct app_error *err);

#endif
