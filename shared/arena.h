/* arena.h - a bump allocator for memory that lives exactly as long as one call.
 *
 * Handlers build reply messages (strings, sub-messages, arrays) from the call's
 * arena; the runtime frees everything at once after the reply is sent. */
#ifndef SHARED_ARENA_H
#define SHARED_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *head;
};

/* No allocation. */
void arena_init(struct arena *a);
/* Frees every block; the arena may be reused after. arena_release(NULL) is a no-op. */
void arena_release(struct arena *a);

/* Zeroed, 16-byte aligned memory owned by the arena. Aborts on out-of-memory,
 * like the rest of the project's allocation wrappers. */
void *arena_alloc(struct arena *a, size_t size);
/* Copies of s (NULL -> NULL) and of n bytes of s plus a NUL, owned by the arena. */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_sprintf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
