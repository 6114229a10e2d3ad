/* pit.c - the PostsService integration stack and call wrappers; see pit.h. */
#include "pit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agentos/users/v1/users.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "util.h"

/* stack_spawn_serving of path as name, on target's port. */
static bool spawn(struct pit *p, struct proc **out, const char *name, const char *path,
		  const char *target, const struct stack_peers *peers, const char *const *extra)
{
	int port = (int)strtol(strrchr(target, ':') + 1, NULL, 10);

	*out = stack_spawn_serving(p->stack, name, path, port, peers, extra);
	return *out != NULL;
}

static void free_target(char *buf, size_t size)
{
	snprintf(buf, size, "127.0.0.1:%d", stack_free_port());
}

bool pit_start(struct pit *p, const char *name, bool with_auth)
{
	static const char *const users_env[] = { "ADMIN_EMAIL=" PIT_ADMIN_EMAIL,
						 "ADMIN_PASSWORD=admin-password-1", NULL };
	static const char *const posts_env[] = { "GRPC_DEADLINE_MS=1500", NULL };
	const struct stack_peers peers = { .users = p->users_target, .auth = p->auth_target };
	const struct stack_peers auth_peers = { .users = p->users_target };
	const struct stack_peers users_peers = { .auth = p->auth_target };

	_Static_assert(PIT_DEADLINE_MS == 1500, "posts_env above");
	memset(p, 0, sizeof(*p));
	rpc_runtime_init();
	p->stack = stack_start(name);
	p->db = stack_database_url(p->stack);
	free_target(p->users_target, sizeof(p->users_target));
	free_target(p->auth_target, sizeof(p->auth_target));
	free_target(p->target, sizeof(p->target));
	/* Auth first: every other service loads its revocation state from it
	 * before it reports SERVING. with_auth only says whether the test talks
	 * to it (p->auth_ch). */
	if (!spawn(p, &p->auth, "auth", "bin/auth-service", p->auth_target, &auth_peers, NULL))
		return false;
	if (!spawn(p, &p->users, "users", "bin/users-service", p->users_target, &users_peers,
		   users_env))
		return false;
	if (!spawn(p, &p->posts, "posts", "bin/posts-service", p->target, &peers, posts_env))
		return false;
	p->ch = rpc_channel_new(p->target);
	p->users_ch = rpc_channel_new(p->users_target);
	if (with_auth)
		p->auth_ch = rpc_channel_new(p->auth_target);
	p->admin_id = it_sql_int(p->db,
				 "SELECT id FROM users.users WHERE email = '" PIT_ADMIN_EMAIL "'");
	p->admin_token = it_token(p->admin_id, PIT_ADMIN_EMAIL, "admin");
	return true;
}

int pit_stop(struct pit *p)
{
	int posts, auth;

	/* Our connections first: a server's shutdown waits for open connections. */
	if (p->ch)
		rpc_channel_free(p->ch);
	if (p->users_ch)
		rpc_channel_free(p->users_ch);
	if (p->auth_ch)
		rpc_channel_free(p->auth_ch);
	posts = p->posts ? proc_stop(p->posts) : 0; /* it holds channels to users and auth */
	auth = p->auth ? proc_stop(p->auth) : 0;
	if (posts != 0)
		fprintf(stderr, "posts-service exited with %d after SIGTERM; log: %s\n", posts,
			proc_log_path(p->posts));
	if (auth != 0)
		fprintf(stderr, "auth-service exited with %d after SIGTERM\n", auth);
	free(p->admin_token);
	stack_stop(p->stack);
	rpc_runtime_shutdown();
	memset(p, 0, sizeof(*p));
	return posts == 0 && auth == 0 ? 0 : -1;
}

void pit_expect_error(const struct it_result *r, grpc_status_code status, enum err_code code)
{
	if (r->status != status || r->err.code != code)
		fprintf(stderr, "expected %s/%s, got %s/%s (%s)\n", rpc_status_name(status),
			err_name(code), rpc_status_name(r->status), err_name(r->err.code),
			r->err.message);
	assert_string_equal(rpc_status_name(r->status), rpc_status_name(status));
	assert_string_equal(err_name(r->err.code), err_name(code));
	assert_null(r->reply);
}

void pit_expect_ok(const struct it_result *r, const char *what)
{
	if (r->status != GRPC_STATUS_OK)
		fprintf(stderr, "%s: expected OK, got %s/%s (%s)\n", what,
			rpc_status_name(r->status), err_name(r->err.code), r->err.message);
	assert_string_equal(rpc_status_name(r->status), "OK");
	assert_non_null(r->reply);
}

static char *vsql(const struct pit *p, const char *fmt, va_list ap)
{
	char sql[2048];
	int n = vsnprintf(sql, sizeof(sql), fmt, ap);

	assert_true(n > 0 && (size_t)n < sizeof(sql));
	return it_sql(p->db, sql);
}

char *pit_sqlf(const struct pit *p, const char *fmt, ...)
{
	va_list ap;
	char *out;

	va_start(ap, fmt);
	out = vsql(p, fmt, ap);
	va_end(ap);
	return out;
}

int64_t pit_sql_intf(const struct pit *p, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int64_t v = -1;

	va_start(ap, fmt);
	s = vsql(p, fmt, ap);
	va_end(ap);
	if (!parse_int64(s, &v))
		v = -1;
	free(s);
	return v;
}

/* ---- users ------------------------------------------------------------------- */

struct pit_user pit_user_new(struct pit *p, const char *tag, const char *name, const char *role)
{
	Agentos__Users__V1__CreateUserRequest req = AGENTOS__USERS__V1__CREATE_USER_REQUEST__INIT;
	struct pit_user u = { 0 };
	struct it_result r;

	snprintf(u.email, sizeof(u.email), "%s@example.com", tag);
	strlcpy_s(u.name, name, sizeof(u.name));
	req.email = u.email;
	req.password = PIT_PASSWORD;
	req.name = u.name;
	r = it_call(p->users_ch, USERS("CreateUser"), &req.base,
		    &agentos__users__v1__user__descriptor, NULL, NULL);
	pit_expect_ok(&r, "CreateUser");
	u.id = ((Agentos__Users__V1__User *)r.reply)->id;
	it_result_release(&r);
	u.token = it_token(u.id, u.email, role);
	return u;
}

void pit_user_free(struct pit_user *u)
{
	free(u->token);
	u->token = NULL;
}

void pit_user_delete(struct pit *p, const struct pit_user *u)
{
	Agentos__Users__V1__DeleteUserRequest req = AGENTOS__USERS__V1__DELETE_USER_REQUEST__INIT;
	struct it_result r;

	req.id = u->id;
	r = it_call(p->users_ch, USERS("DeleteUser"), &req.base,
		    &google__protobuf__empty__descriptor, u->token, NULL);
	pit_expect_ok(&r, "DeleteUser");
	it_result_release(&r);
}

/* ---- posts ------------------------------------------------------------------- */

struct it_result pit_create_post(struct pit *p, const char *title, const char *body,
				 const char *status, const char *token)
{
	Agentos__Posts__V1__CreatePostRequest req = AGENTOS__POSTS__V1__CREATE_POST_REQUEST__INIT;

	req.title = (char *)title;
	req.body = (char *)body;
	req.status = (char *)status;
	return it_call(p->ch, POSTS("CreatePost"), &req.base, &agentos__posts__v1__post__descriptor,
		       token, NULL);
}

int64_t pit_make_post(struct pit *p, const char *title, const char *status, const char *token)
{
	char body[256];
	struct it_result r;
	int64_t id;

	snprintf(body, sizeof(body), "Body of %s", title);
	r = pit_create_post(p, title, body, status, token);
	pit_expect_ok(&r, "CreatePost");
	id = PIT_POST(r)->id;
	assert_true(id > 0);
	it_result_release(&r);
	return id;
}

struct it_result pit_get_post(struct pit *p, int64_t id, const char *token)
{
	Agentos__Posts__V1__GetPostRequest req = AGENTOS__POSTS__V1__GET_POST_REQUEST__INIT;

	req.id = id;
	return it_call(p->ch, POSTS("GetPost"), &req.base, &agentos__posts__v1__post__descriptor,
		       token, NULL);
}

struct it_result pit_list_posts(struct pit *p, const Agentos__Posts__V1__ListPostsRequest *req,
				const char *token)
{
	return it_call(p->ch, POSTS("ListPosts"), &req->base,
		       &agentos__posts__v1__list_posts_response__descriptor, token, NULL);
}

struct it_result pit_update_post(struct pit *p, int64_t id, const Agentos__Posts__V1__Post *post,
				 const char *const *paths, int64_t version, const char *token)
{
	Agentos__Posts__V1__UpdatePostRequest req = AGENTOS__POSTS__V1__UPDATE_POST_REQUEST__INIT;
	Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;

	mask.paths = (char **)paths;
	while (paths[mask.n_paths])
		mask.n_paths++;
	req.id = id;
	req.post = (Agentos__Posts__V1__Post *)post;
	req.update_mask = &mask;
	req.version = version;
	return it_call(p->ch, POSTS("UpdatePost"), &req.base, &agentos__posts__v1__post__descriptor,
		       token, NULL);
}

struct it_result pit_delete_post(struct pit *p, int64_t id, const char *token)
{
	Agentos__Posts__V1__DeletePostRequest req = AGENTOS__POSTS__V1__DELETE_POST_REQUEST__INIT;

	req.id = id;
	return it_call(p->ch, POSTS("DeletePost"), &req.base, &google__protobuf__empty__descriptor,
		       token, NULL);
}

/* ---- comments ---------------------------------------------------------------- */

struct it_result pit_create_comment(struct pit *p, int64_t post_id, const char *body,
				    const char *token)
{
	Agentos__Posts__V1__CreateCommentRequest
		req = AGENTOS__POSTS__V1__CREATE_COMMENT_REQUEST__INIT;

	req.post_id = post_id;
	req.body = (char *)body;
	return it_call(p->ch, POSTS("CreateComment"), &req.base,
		       &agentos__posts__v1__comment__descriptor, token, NULL);
}

int64_t pit_make_comment(struct pit *p, int64_t post_id, const char *body, const char *token)
{
	struct it_result r = pit_create_comment(p, post_id, body, token);
	int64_t id;

	pit_expect_ok(&r, "CreateComment");
	id = PIT_COMMENT(r)->id;
	assert_true(id > 0);
	it_result_release(&r);
	return id;
}

struct it_result pit_list_comments(struct pit *p, int64_t post_id, const char *sort,
				   const char *token)
{
	Agentos__Posts__V1__ListCommentsRequest
		req = AGENTOS__POSTS__V1__LIST_COMMENTS_REQUEST__INIT;

	req.post_id = post_id;
	req.limit = 100;
	req.sort = (char *)(sort ? sort : "");
	return it_call(p->ch, POSTS("ListComments"), &req.base,
		       &agentos__posts__v1__list_comments_response__descriptor, token, NULL);
}

struct it_result pit_update_comment(struct pit *p, int64_t post_id, int64_t comment_id,
				    const char *body, const char *token)
{
	Agentos__Posts__V1__UpdateCommentRequest
		req = AGENTOS__POSTS__V1__UPDATE_COMMENT_REQUEST__INIT;
	Agentos__Posts__V1__Comment c = AGENTOS__POSTS__V1__COMMENT__INIT;
	Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
	char *paths[] = { "body" };

	c.body = (char *)body;
	mask.paths = paths;
	mask.n_paths = 1;
	req.post_id = post_id;
	req.comment_id = comment_id;
	req.comment = &c;
	req.update_mask = &mask;
	return it_call(p->ch, POSTS("UpdateComment"), &req.base,
		       &agentos__posts__v1__comment__descriptor, token, NULL);
}

struct it_result pit_delete_comment(struct pit *p, int64_t post_id, int64_t comment_id,
				    const char *token)
{
	Agentos__Posts__V1__DeleteCommentRequest
		req = AGENTOS__POSTS__V1__DELETE_COMMENT_REQUEST__INIT;

	req.post_id = post_id;
	req.comment_id = comment_id;
	return it_call(p->ch, POSTS("DeleteComment"), &req.base,
		       &google__protobuf__empty__descriptor, token, NULL);
}
