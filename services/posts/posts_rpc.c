/* posts_rpc.c - PostsService over gRPC: with posts_users.c the only posts
 * files that touch generated protobuf types. The runtime resolves each call's
 * caller; a handler converts the request into the service's structs, and the
 * result back into a reply allocated from the call's arena. */
#include "posts_rpc.h"

#include "agentos/posts/v1/posts.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"
#include "rpc_msg.h"
#include "util.h"

#define PATH(m) "/agentos.posts.v1.PostsService/" m

/* {id, name}; name absent (JSON null) for a deleted author. */
static Agentos__Posts__V1__Author *author_msg(struct arena *a, int64_t id, const char *name)
{
	Agentos__Posts__V1__Author *m = arena_alloc(a, sizeof(*m));

	agentos__posts__v1__author__init(m);
	m->id = id;
	if (name) {
		Google__Protobuf__StringValue *v = arena_alloc(a, sizeof(*v));

		google__protobuf__string_value__init(v);
		v->value = (char *)name;
		m->name = v;
	}
	return m;
}

static Agentos__Posts__V1__Post *post_msg(struct arena *a, struct post *p)
{
	Agentos__Posts__V1__Post *m = arena_alloc(a, sizeof(*m));

	agentos__posts__v1__post__init(m);
	m->id = p->id;
	m->title = (char *)p->title;
	m->body = (char *)p->body;
	m->status = p->status;
	m->author = author_msg(a, p->author_id, p->author_name);
	m->comment_count = p->comment_count;
	m->version = p->version;
	m->created_at = rpc_msg_timestamp(a, p->created_at_us);
	m->updated_at = rpc_msg_timestamp(a, p->updated_at_us);
	m->published_at = rpc_msg_timestamp(a, p->published_at_us);
	return m;
}

static Agentos__Posts__V1__Comment *comment_msg(struct arena *a, struct comment *c)
{
	Agentos__Posts__V1__Comment *m = arena_alloc(a, sizeof(*m));

	agentos__posts__v1__comment__init(m);
	m->id = c->id;
	m->post_id = c->post_id;
	m->body = (char *)c->body;
	m->author = author_msg(a, c->author_id, c->author_name);
	m->created_at = rpc_msg_timestamp(a, c->created_at_us);
	m->updated_at = rpc_msg_timestamp(a, c->updated_at_us);
	return m;
}

static int create_post(void *app, struct rpc_ctx *cx)
{
	const Agentos__Posts__V1__CreatePostRequest *r = cx->req;
	struct post *p = arena_alloc(cx->arena, sizeof(*p));
	struct post_create in = { .title = r->title, .body = r->body, .status = r->status };

	if (posts_create(app, cx->caller, &cx->origin, cx->arena, &in, p, cx->err) != 0)
		return -1;
	return rpc_reply(cx, &post_msg(cx->arena, p)->base);
}

static int get_post(void *app, struct rpc_ctx *cx)
{
	const Agentos__Posts__V1__GetPostRequest *r = cx->req;
	struct post *p = arena_alloc(cx->arena, sizeof(*p));

	if (posts_get(app, cx->caller, &cx->origin, cx->arena, r->id, p, cx->err) != 0)
		return -1;
	return rpc_reply(cx, &post_msg(cx->arena, p)->base);
}

static int list_posts(void *app, struct rpc_ctx *cx)
{
	const Agentos__Posts__V1__ListPostsRequest *r = cx->req;
	Agentos__Posts__V1__ListPostsResponse *m = arena_alloc(cx->arena, sizeof(*m));
	struct post_query q = { .page = r->page,
				.limit = r->limit,
				.sort = r->sort,
				.status = r->status,
				.q = r->q,
				.author_id = r->author_id,
				.author_must_exist = r->author_must_exist };
	struct page_info pi;
	struct post *posts;
	size_t n;

	if (posts_list(app, cx->caller, &cx->origin, cx->arena, &q, &posts, &n, &pi, cx->err) != 0)
		return -1;
	agentos__posts__v1__list_posts_response__init(m);
	m->posts = arena_alloc(cx->arena, sizeof(*m->posts) * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		m->posts[i] = post_msg(cx->arena, &posts[i]);
	m->n_posts = n;
	m->pagination = rpc_msg_pagination(cx->arena, &pi);
	return rpc_reply(cx, &m->base);
}

static int update_post(void *app, struct rpc_ctx *cx)
{
	const Agentos__Posts__V1__UpdatePostRequest *r = cx->req;
	struct post *p = arena_alloc(cx->arena, sizeof(*p));
	const Agentos__Posts__V1__Post *v = r->post;
	struct post_patch patch = {
		.paths = r->update_mask ? (const char *const *)r->update_mask->paths : NULL,
		.npaths = r->update_mask ? r->update_mask->n_paths : 0,
		.title = v ? v->title : "",
		.body = v ? v->body : "",
		.status = v ? v->status : "",
		.expected_version = r->version,
	};

	if (posts_update(app, cx->caller, &cx->origin, cx->arena, r->id, &patch, p, cx->err) != 0)
		return -1;
	return rpc_reply(cx, &post_msg(cx->arena, p)->base);
}

static int delete_post(void *app, struct rpc_ctx *cx)
{
	const Agentos__Posts__V1__DeletePostRequest *r = cx->req;

	if (posts_delete(app, cx->caller, cx->arena, r->id, cx->err) != 0)
		return -1;
	return rpc_reply(cx, rpc_msg_empty(cx->arena));
}

static int create_comment(void *app, struct rpc_ctx *cx)
{
	const Agentos__Posts__V1__CreateCommentRequest *r = cx->req;
	struct comment *c = arena_alloc(cx->arena, sizeof(*c));

	if (posts_comment_create(app, cx->caller, &cx->origin, cx->arena, r->post_id, r->body, c,
				 cx->err) != 0)
		return -1;
	return rpc_reply(cx, &comment_msg(cx->arena, c)->base);
}

static int list_comments(void *app, struct rpc_ctx *cx)
{
	const Agentos__Posts__V1__ListCommentsRequest *r = cx->req;
	Agentos__Posts__V1__ListCommentsResponse *m = arena_alloc(cx->arena, sizeof(*m));
	struct comment_query q = {
		.post_id = r->post_id, .page = r->page, .limit = r->limit, .sort = r->sort
	};
	struct page_info pi;
	struct comment *cs;
	size_t n;

	if (posts_comment_list(app, cx->caller, &cx->origin, cx->arena, &q, &cs, &n, &pi,
			       cx->err) != 0)
		return -1;
	agentos__posts__v1__list_comments_response__init(m);
	m->comments = arena_alloc(cx->arena, sizeof(*m->comments) * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		m->comments[i] = comment_msg(cx->arena, &cs[i]);
	m->n_comments = n;
	m->pagination = rpc_msg_pagination(cx->arena, &pi);
	return rpc_reply(cx, &m->base);
}

static int update_comment(void *app, struct rpc_ctx *cx)
{
	const Agentos__Posts__V1__UpdateCommentRequest *r = cx->req;
	struct comment *c = arena_alloc(cx->arena, sizeof(*c));
	const char *const *paths = r->update_mask ? (const char *const *)r->update_mask->paths
						  : NULL;
	size_t npaths = r->update_mask ? r->update_mask->n_paths : 0;

	if (posts_comment_update(app, cx->caller, &cx->origin, cx->arena, r->post_id, r->comment_id,
				 paths, npaths, r->comment ? r->comment->body : "", c,
				 cx->err) != 0)
		return -1;
	return rpc_reply(cx, &comment_msg(cx->arena, c)->base);
}

static int delete_comment(void *app, struct rpc_ctx *cx)
{
	const Agentos__Posts__V1__DeleteCommentRequest *r = cx->req;

	if (posts_comment_delete(app, cx->caller, cx->arena, r->post_id, r->comment_id, cx->err) !=
	    0)
		return -1;
	return rpc_reply(cx, rpc_msg_empty(cx->arena));
}

const struct rpc_method posts_rpc_methods[] = {
	RPC_UNARY(PATH("CreatePost"), &agentos__posts__v1__create_post_request__descriptor,
		  create_post),
	RPC_UNARY(PATH("GetPost"), &agentos__posts__v1__get_post_request__descriptor, get_post),
	RPC_UNARY(PATH("ListPosts"), &agentos__posts__v1__list_posts_request__descriptor,
		  list_posts),
	RPC_UNARY(PATH("UpdatePost"), &agentos__posts__v1__update_post_request__descriptor,
		  update_post),
	RPC_UNARY(PATH("DeletePost"), &agentos__posts__v1__delete_post_request__descriptor,
		  delete_post),
	RPC_UNARY(PATH("CreateComment"), &agentos__posts__v1__create_comment_request__descriptor,
		  create_comment),
	RPC_UNARY(PATH("ListComments"), &agentos__posts__v1__list_comments_request__descriptor,
		  list_comments),
	RPC_UNARY(PATH("UpdateComment"), &agentos__posts__v1__update_comment_request__descriptor,
		  update_comment),
	RPC_UNARY(PATH("DeleteComment"), &agentos__posts__v1__delete_comment_request__descriptor,
		  delete_comment),
};
const size_t posts_rpc_methods_count = ARRAY_SIZE(posts_rpc_methods);
