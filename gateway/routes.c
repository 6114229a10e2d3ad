/* routes.c - the REST API (API.md §2) as data. */
#include "routes.h"

#include "agentos/auth/v1/auth.pb-c.h"
#include "agentos/posts/v1/posts.pb-c.h"
#include "agentos/users/v1/users.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "util.h"

#define USERS(m) "/agentos.users.v1.UsersService/" m
#define AUTH(m) "/agentos.auth.v1.AuthService/" m
#define POSTS(m) "/agentos.posts.v1.PostsService/" m

/* A table: its rows keep the layout they were written in. */
/* clang-format off */
static const char *const create_read_only[] = { "id", "createdAt", "updatedAt", "version", NULL };
static const char *const user_read_only[] = { "id", "createdAt", "updatedAt", NULL };
static const char *const user_put_required[] = { "email", "name", NULL };
static const char *const id_read_only[] = { "id", NULL };
static const char *const user_admin_only[] = { "role", "isActive", "isVerified", NULL };
static const char *const post_read_only[] = { "id", "author", "commentCount", "version",
					      "createdAt", "updatedAt", "publishedAt", NULL };
static const char *const post_put_required[] = { "title", "body", "status", NULL };
static const char *const comment_read_only[] = { "id", "postId", "author", "createdAt",
						 "updatedAt", NULL };
static const char *const key_read_only[] = { "id", "prefix", "key", "createdAt", "expiresAt",
					     "lastUsedAt", "revokedAt", NULL };

const struct route routes[] = {
	{
		.method = "POST", .pattern = "/users", .upstream = UPSTREAM_USERS,
		.rpc = USERS("CreateUser"),
		.request = &agentos__users__v1__create_user_request__descriptor,
		.reply = &agentos__users__v1__user__descriptor, .status = 201,
		.body = BODY_JSON, .read_only = create_read_only, .admin_only = user_admin_only,
		.reply_kind = REPLY_OBJECT,
	},
	{
		.method = "GET", .pattern = "/users", .upstream = UPSTREAM_USERS,
		.rpc = USERS("ListUsers"),
		.request = &agentos__users__v1__list_users_request__descriptor,
		.reply = &agentos__users__v1__list_users_response__descriptor, .status = 200,
		.auth_required = true, .reply_kind = REPLY_LIST, .list_field = "users",
		.query = { { "page", QUERY_PAGE }, { "limit", QUERY_LIMIT }, { "sort", QUERY_TEXT },
			   { "name", QUERY_TEXT }, { "email", QUERY_TEXT }, { "status", QUERY_ENUM },
			   { "role", QUERY_ENUM } },
	},
	{
		.method = "GET", .pattern = "/users/:id", .upstream = UPSTREAM_USERS,
		.rpc = USERS("GetUser"),
		.request = &agentos__users__v1__get_user_request__descriptor,
		.reply = &agentos__users__v1__user__descriptor, .status = 200,
		.auth_required = true, .me_alias = true, .reply_kind = REPLY_OBJECT, .etag = true,
	},
	{
		.method = "PUT", .pattern = "/users/:id", .upstream = UPSTREAM_USERS,
		.rpc = USERS("UpdateUser"),
		.request = &agentos__users__v1__update_user_request__descriptor,
		.reply = &agentos__users__v1__user__descriptor, .status = 200,
		.auth_required = true, .me_alias = true, .body = BODY_JSON, .body_field = "user",
		.read_only = user_read_only, .required = user_put_required,
		.admin_only = user_admin_only, .update = UPDATE_PUT,
		.versioned = true, .reply_kind = REPLY_OBJECT, .etag = true,
	},
	{
		.method = "PATCH", .pattern = "/users/:id", .upstream = UPSTREAM_USERS,
		.rpc = USERS("UpdateUser"),
		.request = &agentos__users__v1__update_user_request__descriptor,
		.reply = &agentos__users__v1__user__descriptor, .status = 200,
		.auth_required = true, .me_alias = true, .body = BODY_JSON, .body_field = "user",
		.read_only = user_read_only, .admin_only = user_admin_only, .update = UPDATE_PATCH,
		.versioned = true,
		.reply_kind = REPLY_OBJECT, .etag = true,
	},
	{
		.method = "DELETE", .pattern = "/users/:id", .upstream = UPSTREAM_USERS,
		.rpc = USERS("DeleteUser"),
		.request = &agentos__users__v1__delete_user_request__descriptor,
		.reply = &google__protobuf__empty__descriptor, .status = 204,
		.auth_required = true, .me_alias = true, .reply_kind = REPLY_EMPTY,
	},
	{
		.method = "POST", .pattern = "/users/:id/password", .upstream = UPSTREAM_USERS,
		.rpc = USERS("ChangePassword"),
		.request = &agentos__users__v1__change_password_request__descriptor,
		.reply = &google__protobuf__empty__descriptor, .status = 204,
		.auth_required = true, .me_alias = true, .body = BODY_JSON,
		.read_only = id_read_only, .reply_kind = REPLY_EMPTY,
	},
	{
		.method = "GET", .pattern = "/users/:authorId/posts", .upstream = UPSTREAM_POSTS,
		.rpc = POSTS("ListPosts"),
		.request = &agentos__posts__v1__list_posts_request__descriptor,
		.reply = &agentos__posts__v1__list_posts_response__descriptor, .status = 200,
		.me_alias = true, .reply_kind = REPLY_LIST, .list_field = "posts",
		.query = { { "page", QUERY_PAGE }, { "limit", QUERY_LIMIT }, { "sort", QUERY_TEXT },
			   { "status", QUERY_ENUM }, { "q", QUERY_TEXT } },
		.fixed_field = "author_must_exist", .fixed_value = "true",
	},
	{
		.method = "GET", .pattern = "/posts", .upstream = UPSTREAM_POSTS,
		.rpc = POSTS("ListPosts"),
		.request = &agentos__posts__v1__list_posts_request__descriptor,
		.reply = &agentos__posts__v1__list_posts_response__descriptor, .status = 200,
		.reply_kind = REPLY_LIST, .list_field = "posts",
		.query = { { "page", QUERY_PAGE }, { "limit", QUERY_LIMIT }, { "sort", QUERY_TEXT },
			   { "authorId", QUERY_ID }, { "status", QUERY_ENUM }, { "q", QUERY_TEXT } },
	},
	{
		.method = "POST", .pattern = "/posts", .upstream = UPSTREAM_POSTS,
		.rpc = POSTS("CreatePost"),
		.request = &agentos__posts__v1__create_post_request__descriptor,
		.reply = &agentos__posts__v1__post__descriptor, .status = 201,
		.auth_required = true, .body = BODY_JSON, .read_only = post_read_only,
		.reply_kind = REPLY_OBJECT,
	},
	{
		.method = "GET", .pattern = "/posts/:id", .upstream = UPSTREAM_POSTS,
		.rpc = POSTS("GetPost"), .request = &agentos__posts__v1__get_post_request__descriptor,
		.reply = &agentos__posts__v1__post__descriptor, .status = 200,
		.reply_kind = REPLY_OBJECT, .etag = true,
	},
	{
		.method = "PUT", .pattern = "/posts/:id", .upstream = UPSTREAM_POSTS,
		.rpc = POSTS("UpdatePost"),
		.request = &agentos__posts__v1__update_post_request__descriptor,
		.reply = &agentos__posts__v1__post__descriptor, .status = 200,
		.auth_required = true, .body = BODY_JSON, .body_field = "post",
		.read_only = post_read_only, .required = post_put_required, .update = UPDATE_PUT,
		.versioned = true, .reply_kind = REPLY_OBJECT, .etag = true,
	},
	{
		.method = "PATCH", .pattern = "/posts/:id", .upstream = UPSTREAM_POSTS,
		.rpc = POSTS("UpdatePost"),
		.request = &agentos__posts__v1__update_post_request__descriptor,
		.reply = &agentos__posts__v1__post__descriptor, .status = 200,
		.auth_required = true, .body = BODY_JSON, .body_field = "post",
		.read_only = post_read_only, .update = UPDATE_PATCH, .versioned = true,
		.reply_kind = REPLY_OBJECT, .etag = true,
	},
	{
		.method = "DELETE", .pattern = "/posts/:id", .upstream = UPSTREAM_POSTS,
		.rpc = POSTS("DeletePost"),
		.request = &agentos__posts__v1__delete_post_request__descriptor,
		.reply = &google__protobuf__empty__descriptor, .status = 204,
		.auth_required = true, .reply_kind = REPLY_EMPTY,
	},
	{
		.method = "GET", .pattern = "/posts/:postId/comments", .upstream = UPSTREAM_POSTS,
		.rpc = POSTS("ListComments"),
		.request = &agentos__posts__v1__list_comments_request__descriptor,
		.reply = &agentos__posts__v1__list_comments_response__descriptor, .status = 200,
		.reply_kind = REPLY_LIST, .list_field = "comments",
		.query = { { "page", QUERY_PAGE }, { "limit", QUERY_LIMIT }, { "sort", QUERY_TEXT } },
	},
	{
		.method = "POST", .pattern = "/posts/:postId/comments", .upstream = UPSTREAM_POSTS,
		.rpc = POSTS("CreateComment"),
		.request = &agentos__posts__v1__create_comment_request__descriptor,
		.reply = &agentos__posts__v1__comment__descriptor, .status = 201,
		.auth_required = true, .body = BODY_JSON, .read_only = comment_read_only,
		.reply_kind = REPLY_OBJECT,
	},
	{
		.method = "PATCH", .pattern = "/posts/:postId/comments/:commentId",
		.upstream = UPSTREAM_POSTS, .rpc = POSTS("UpdateComment"),
		.request = &agentos__posts__v1__update_comment_request__descriptor,
		.reply = &agentos__posts__v1__comment__descriptor, .status = 200,
		.auth_required = true, .body = BODY_JSON, .body_field = "comment",
		.read_only = comment_read_only, .update = UPDATE_PATCH, .reply_kind = REPLY_OBJECT,
	},
	{
		.method = "DELETE", .pattern = "/posts/:postId/comments/:commentId",
		.upstream = UPSTREAM_POSTS, .rpc = POSTS("DeleteComment"),
		.request = &agentos__posts__v1__delete_comment_request__descriptor,
		.reply = &google__protobuf__empty__descriptor, .status = 204,
		.auth_required = true, .reply_kind = REPLY_EMPTY,
	},
	{
		.method = "POST", .pattern = "/auth/login", .upstream = UPSTREAM_AUTH,
		.rpc = AUTH("Login"), .request = &agentos__auth__v1__login_request__descriptor,
		.reply = &agentos__auth__v1__token_pair__descriptor, .status = 200,
		.body = BODY_JSON, .reply_kind = REPLY_OBJECT,
		.auth_limited = true,
	},
	{
		.method = "POST", .pattern = "/auth/refresh", .upstream = UPSTREAM_AUTH,
		.rpc = AUTH("Refresh"), .request = &agentos__auth__v1__refresh_request__descriptor,
		.reply = &agentos__auth__v1__token_pair__descriptor, .status = 200,
		.body = BODY_JSON, .reply_kind = REPLY_OBJECT,
		.auth_limited = true,
	},
	{
		.method = "POST", .pattern = "/auth/logout", .upstream = UPSTREAM_AUTH,
		.rpc = AUTH("Logout"), .request = &agentos__auth__v1__logout_request__descriptor,
		.reply = &google__protobuf__empty__descriptor, .status = 204,
		.auth_required = true, .reply_kind = REPLY_EMPTY,
	},
	{
		/* ValidateToken with no token: the caller's own credential. */
		.method = "GET", .pattern = "/auth/me", .upstream = UPSTREAM_AUTH,
		.rpc = AUTH("ValidateToken"),
		.request = &agentos__auth__v1__validate_token_request__descriptor,
		.reply = &agentos__auth__v1__principal__descriptor, .status = 200,
		.auth_required = true, .reply_kind = REPLY_OBJECT,
	},
	{
		.method = "POST", .pattern = "/api-keys", .upstream = UPSTREAM_AUTH,
		.rpc = AUTH("CreateApiKey"),
		.request = &agentos__auth__v1__create_api_key_request__descriptor,
		.reply = &agentos__auth__v1__new_api_key__descriptor, .status = 201,
		.auth_required = true, .body = BODY_JSON, .read_only = key_read_only,
		.reply_kind = REPLY_OBJECT,
	},
	{
		.method = "GET", .pattern = "/api-keys", .upstream = UPSTREAM_AUTH,
		.rpc = AUTH("ListApiKeys"),
		.request = &agentos__auth__v1__list_api_keys_request__descriptor,
		.reply = &agentos__auth__v1__list_api_keys_response__descriptor, .status = 200,
		.auth_required = true, .reply_kind = REPLY_LIST, .list_field = "api_keys",
		.query = { { "page", QUERY_PAGE }, { "limit", QUERY_LIMIT }, { "userId", QUERY_ID } },
	},
	{
		.method = "GET", .pattern = "/api-keys/:id", .upstream = UPSTREAM_AUTH,
		.rpc = AUTH("GetApiKey"), .request = &agentos__auth__v1__get_api_key_request__descriptor,
		.reply = &agentos__auth__v1__api_key__descriptor, .status = 200,
		.auth_required = true, .reply_kind = REPLY_OBJECT,
	},
	{
		.method = "DELETE", .pattern = "/api-keys/:id", .upstream = UPSTREAM_AUTH,
		.rpc = AUTH("RevokeApiKey"),
		.request = &agentos__auth__v1__revoke_api_key_request__descriptor,
		.reply = &google__protobuf__empty__descriptor, .status = 204,
		.auth_required = true, .reply_kind = REPLY_EMPTY,
	},
	{
		.method = "POST", .pattern = "/api-keys/:id/rotate", .upstream = UPSTREAM_AUTH,
		.rpc = AUTH("RotateApiKey"),
		.request = &agentos__auth__v1__rotate_api_key_request__descriptor,
		.reply = &agentos__auth__v1__new_api_key__descriptor, .status = 201,
		.auth_required = true, .reply_kind = REPLY_OBJECT,
	},
};
/* clang-format on */

const size_t routes_count = ARRAY_SIZE(routes);
