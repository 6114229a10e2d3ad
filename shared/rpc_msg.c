/* rpc_msg.c - see rpc_msg.h. */
#include "rpc_msg.h"

Google__Protobuf__Timestamp *rpc_msg_timestamp(struct arena *a, int64_t unix_us)
{
	Google__Protobuf__Timestamp *t;

	if (unix_us == 0)
		return NULL;
	t = arena_alloc(a, sizeof(*t));
	google__protobuf__timestamp__init(t);
	t->seconds = unix_us / 1000000;
	t->nanos = (int32_t)(unix_us % 1000000) * 1000;
	return t;
}

ProtobufCMessage *rpc_msg_empty(struct arena *a)
{
	Google__Protobuf__Empty *m = arena_alloc(a, sizeof(*m));

	google__protobuf__empty__init(m);
	return &m->base;
}

Agentos__Common__V1__Pagination *rpc_msg_pagination(struct arena *a, const struct page_info *pi)
{
	Agentos__Common__V1__Pagination *m = arena_alloc(a, sizeof(*m));

	agentos__common__v1__pagination__init(m);
	m->page = pi->page;
	m->limit = pi->limit;
	m->total = pi->total;
	m->total_pages = pi->total_pages;
	m->has_next = pi->has_next;
	m->has_prev = pi->has_prev;
	return m;
}
