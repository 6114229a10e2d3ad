/* routes.c - the REST API (API.md §2) as data. */
#include "routes.h"

#include "agentos/users/v1/users.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "util.h"

#define USERS(m) "/agentos.users.v1.UsersService/" m

static const char *const create_read_only[] = { "id", "createdAt", "updatedAt", "version", NULL };
static const char *const user_read_only[] = { "id", "createdAt", "updatedAt", NULL };
static const char *const user_put_required[] = { "email", "name", NULL };
static const char *const id_read_only[] = { "id", NULL };
static const char *const user_admin_only[] = { "role", "isActive", "isVerified", NULL };

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
			   { "name", QUERY_TEXT }, { "email", QUERY_TEXT }, { "status", QUERY_TEXT },
			   { "role", QUERY_TEXT } },
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
};

const size_t routes_count = ARRAY_SIZE(routes);
