/* pit.h - "posts integration test": the stack the PostsService tests run on
 * (PostgreSQL, Redis, users-service, posts-service and, when asked,
 * auth-service, all real processes on free ports) and one-line wrappers for
 * the calls they make over gRPC. Nothing here goes through the gateway.
 *
 * The wrappers that assert (pit_make_*, pit_user_new, pit_expect_error) use
 * cmocka and so belong in a running cmocka test. */
#ifndef TESTS_PIT_H
#define TESTS_PIT_H

#include <stdbool.h>
#include <stdint.h>

#include "agentos/posts/v1/posts.pb-c.h"
#include "it.h"
#include "stack.h"

/* GRPC_DEADLINE_MS the posts service runs with (its calls to users and auth). */
#define PIT_DEADLINE_MS 1500
#define PIT_ADMIN_EMAIL "pit-admin@example.com"
#define PIT_PASSWORD "password123"

struct pit {
	struct stack *stack;
	struct proc *users, *posts, *auth; /* auth is NULL unless asked for */
	struct rpc_channel *ch;            /* PostsService */
	struct rpc_channel *users_ch;
	struct rpc_channel *auth_ch; /* NULL without auth */
	const char *db;              /* owned by stack */
	char target[64], users_target[64], auth_target[64];
	int64_t admin_id;
	char *admin_token; /* role admin; owned */
};

/* A user created through UsersService.CreateUser, with an it_token for role
 * (the token's role is what the services authorize by). */
struct pit_user {
	int64_t id;
	char email[96];
	char name[64];
	char *token; /* owned; pit_user_free */
};

/* Starts everything; false (after printing which log to read) when a
 * service did not become SERVING. Without auth, AUTH_ADDR names a port where
 * nothing listens. */
bool pit_start(struct pit *p, const char *name, bool with_auth);
/* Stops the posts service (SIGTERM: it must exit 0), then the rest; 0 when
 * the posts and auth services exited 0. */
int pit_stop(struct pit *p);

/* Asserts r failed with exactly status and ErrorInfo reason code (printing
 * both on a mismatch). */
void pit_expect_error(const struct it_result *r, grpc_status_code status, enum err_code code);
/* Asserts r succeeded (printing the error otherwise). */
void pit_expect_ok(const struct it_result *r, const char *what);

/* it_sql / it_sql_int with a printf-style statement. */
char *pit_sqlf(const struct pit *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int64_t pit_sql_intf(const struct pit *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- users ------------------------------------------------------------------- */

/* Signs up <tag>@example.com with name and PIT_PASSWORD (asserting success). */
struct pit_user pit_user_new(struct pit *p, const char *tag, const char *name, const char *role);
void pit_user_free(struct pit_user *u);
/* UsersService.DeleteUser of u by u itself (asserting success). */
void pit_user_delete(struct pit *p, const struct pit_user *u);

/* ---- PostsService --------------------------------------------------------------- */

struct it_result pit_create_post(struct pit *p, const char *title, const char *body,
				 const char *status, const char *token);
/* A post with body "Body of <title>" (asserting success); returns its id. */
int64_t pit_make_post(struct pit *p, const char *title, const char *status, const char *token);
struct it_result pit_get_post(struct pit *p, int64_t id, const char *token);
struct it_result pit_list_posts(struct pit *p, const Agentos__Posts__V1__ListPostsRequest *req,
				const char *token);
/* paths: NULL-terminated update_mask paths; version 0 = unconditional. */
struct it_result pit_update_post(struct pit *p, int64_t id, const Agentos__Posts__V1__Post *post,
				 const char *const *paths, int64_t version, const char *token);
struct it_result pit_delete_post(struct pit *p, int64_t id, const char *token);

struct it_result pit_create_comment(struct pit *p, int64_t post_id, const char *body,
				    const char *token);
/* Asserting success; returns the comment id. */
int64_t pit_make_comment(struct pit *p, int64_t post_id, const char *body, const char *token);
/* limit 100, oldest first unless sort says otherwise (NULL = default). */
struct it_result pit_list_comments(struct pit *p, int64_t post_id, const char *sort,
				   const char *token);
/* update_mask ["body"]. */
struct it_result pit_update_comment(struct pit *p, int64_t post_id, int64_t comment_id,
				    const char *body, const char *token);
struct it_result pit_delete_comment(struct pit *p, int64_t post_id, int64_t comment_id,
				    const char *token);

/* Reply accessors. */
#define PIT_POST(r) ((Agentos__Posts__V1__Post *)(r).reply)
#define PIT_POSTS(r) ((Agentos__Posts__V1__ListPostsResponse *)(r).reply)
#define PIT_COMMENT(r) ((Agentos__Posts__V1__Comment *)(r).reply)
#define PIT_COMMENTS(r) ((Agentos__Posts__V1__ListCommentsResponse *)(r).reply)

#endif
