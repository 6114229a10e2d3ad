/* gateway_json_arena_test.c - replies built in the per-thread arena
 * (json_arena.h): the same bytes as plain jansson, no malloc per node, heap
 * values freed inside a window really freed, and the arena reused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_arena.h"

/* A list page as the gateway builds one: n items of a few fields each. */
static json_t *page(int n)
{
	json_t *items = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(items, json_pack("{s:I,s:s,s:s,s:b,s:{s:I,s:s}}", "id",
						       (json_int_t)i, "title", "A title", "content",
						       "Some content \xc3\xa9", "published", i % 2,
						       "author", "id", (json_int_t)(i * 7), "name",
						       "Bench User"));
	return items;
}

static char *dump_plain(int n)
{
	json_t *p = page(n);
	char *s = json_dumps(p, JSON_COMPACT);

	json_decref(p);
	return s;
}

static char *dump_in_arena(int n)
{
	json_t *p;
	char *s;

	json_arena_begin();
	p = page(n);
	s = json_arena_dump(p, NULL);
	json_decref(p);
	json_arena_end();
	return s;
}

static void same_bytes_as_plain_jansson(void **state)
{
	for (int n = 0; n <= 2000; n = n ? n * 10 : 1) {
		char *plain = dump_plain(n), *arena = dump_in_arena(n);
		size_t len = 0;
		json_t *p = page(n);
		char *outside = json_arena_dump(p, &len); /* outside a window too */

		assert_string_equal(arena, plain);
		assert_string_equal(outside, plain);
		assert_int_equal(len, strlen(plain));
		json_decref(p);
		free(plain);
		free(arena);
		free(outside);
	}
}

/* Inside a window the nodes come from the thread's kept chunk: building a
 * small page takes nothing from the heap (plain jansson: a block per node,
 * some 240 here). mallinfo2 reads glibc's heap (under AddressSanitizer it
 * reads zeros and the check is moot). */
static void no_malloc_per_node_inside_a_window(void **state)
{
	struct mallinfo2 before, mid;
	json_t *p;

	free(dump_in_arena(20)); /* the thread's kept chunk exists from here on */
	json_arena_begin();
	before = mallinfo2();
	p = page(20);
	mid = mallinfo2();
	json_decref(p);
	json_arena_end();
	assert_true(mid.uordblks - before.uordblks < 1024);
}

/* A value made before the window (the request body) and freed inside it
 * goes back to the heap (LeakSanitizer would report it otherwise), and one
 * made inside is never handed to free() (AddressSanitizer would). */
static void heap_values_freed_inside_a_window(void **state)
{
	json_t *body = page(50);
	json_t *inner;
	char *s;

	json_arena_begin();
	json_decref(body);
	inner = page(50);
	s = json_arena_dump(inner, NULL);
	json_decref(inner);
	json_arena_end();
	assert_non_null(strstr(s, "\"id\":49"));
	free(s);
}

/* Windows on several threads at once do not share memory. */
static void *thread_main(void *arg)
{
	char *want = arg;

	for (int i = 0; i < 200; i++) {
		char *got = dump_in_arena(100);

		if (strcmp(got, want) != 0)
			return (void *)1;
		free(got);
	}
	return NULL;
}

static void threads_have_their_own_arenas(void **state)
{
	char *want = dump_plain(100);
	pthread_t t[4];
	void *rc;

	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_main, want), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &rc), 0);
		assert_null(rc);
	}
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_bytes_as_plain_jansson),
		cmocka_unit_test(no_malloc_per_node_inside_a_window),
		cmocka_unit_test(heap_values_freed_inside_a_window),
		cmocka_unit_test(threads_have_their_own_arenas),
	};

	json_arena_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
