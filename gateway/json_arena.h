/* json_arena.h - replies built without an allocation per JSON node.
 *
 * jansson allocates every object, array, string, number and hashtable
 * bucket separately, and frees them one by one: for a page of posts that is
 * thousands of malloc/free pairs per reply. Between json_arena_begin and
 * json_arena_end on a thread, every jansson allocation of that thread comes
 * from the thread's bump arena (64 KiB kept between replies, more chunks for
 * larger ones, released at the end) and jansson's frees of arena memory do
 * nothing. Outside that window, and on every other thread, jansson
 * allocates with malloc and frees with free as usual, so libraries that free
 * jansson's output themselves (libjwt) keep working.
 *
 * The rule for a window: every JSON value made in it is gone (decref'd) by
 * its end; the text to keep leaves through json_arena_dump (malloc'd). */
#ifndef GATEWAY_JSON_ARENA_H
#define GATEWAY_JSON_ARENA_H

#include <stddef.h>

#include <jansson.h>

/* Routes jansson's allocations through the arena functions; once, before
 * threads start (main). Without it the window functions still work and
 * allocate with malloc. */
void json_arena_install(void);

void json_arena_begin(void);
/* Ends the window: the arena's memory is reused by the next one. */
void json_arena_end(void);

/* root as compact JSON in a malloc'd buffer (the caller frees it); *len
 * its length without the terminating NUL. Inside a window or not. Aborts on
 * out-of-memory, as xmalloc does. */
char *json_arena_dump(const json_t *root, size_t *len);

#endif
