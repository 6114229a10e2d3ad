/* json_arena.c - see json_arena.h. */
#include "json_arena.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define ARENA_KEPT (64 * 1024) /* the chunk a thread keeps between windows */
#define ARENA_ALIGN 16

struct chunk {
	struct chunk *next;
	size_t cap;
	size_t used;
	_Alignas(ARENA_ALIGN) char data[];
};

/* The thread's chunks (newest first; the last one is the kept one). */
static __thread struct chunk *chunks;
static __thread bool active;

/* A key whose destructor frees a thread's chunks when it exits. */
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void free_chunks(void *unused)
{
	(void)unused;
	while (chunks) {
		struct chunk *c = chunks;

		chunks = c->next;
		free(c);
	}
}

static void make_exit_key(void)
{
	pthread_key_create(&exit_key, free_chunks);
}

static bool in_arena(const void *p)
{
	for (const struct chunk *c = chunks; c; c = c->next) {
		if ((const char *)p >= c->data && (const char *)p < c->data + c->cap)
			return true;
	}
	return false;
}

static struct chunk *chunk_new(size_t cap)
{
	struct chunk *c = xmalloc(sizeof(*c) + cap);

	c->next = NULL;
	c->cap = cap;
	c->used = 0;
	return c;
}

static void *arena_malloc(size_t n)
{
	struct chunk *c;
	void *p;

	if (!active)
		return malloc(n);
	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (!chunks || chunks->cap - chunks->used < n) {
		if (!chunks) { /* the thread's first: freed when it exits */
			pthread_once(&exit_once, make_exit_key);
			pthread_setspecific(exit_key, &chunks);
		}
		c = chunk_new(n > ARENA_KEPT ? n : ARENA_KEPT);
		c->next = chunks;
		chunks = c;
	}
	p = chunks->data + chunks->used;
	chunks->used += n;
	return p;
}

static void arena_free(void *p)
{
	if (p && !in_arena(p))
		free(p);
}

void json_arena_install(void)
{
	json_set_alloc_funcs(arena_malloc, arena_free);
}

void json_arena_begin(void)
{
	active = true;
}

void json_arena_end(void)
{
	active = false;
	/* keep the oldest chunk, emptied; free the rest */
	while (chunks && chunks->next) {
		struct chunk *c = chunks;

		chunks = c->next;
		free(c);
	}
	if (chunks)
		chunks->used = 0;
}

struct dump_buf {
	char *data;
	size_t len;
	size_t cap;
};

static int dump_append(const char *buffer, size_t size, void *data)
{
	struct dump_buf *b = data;

	if (b->len + size + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;

		while (cap < b->len + size + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, buffer, size);
	b->len += size;
	return 0;
}

char *json_arena_dump(const json_t *root, size_t *len)
{
	struct dump_buf b = { .data = NULL };

	dump_append("", 0, &b); /* never NULL, even for an empty dump */
	json_dump_callback(root, dump_append, &b, JSON_COMPACT);
	b.data[b.len] = '\0';
	if (len)
		*len = b.len;
	return b.data;
}
