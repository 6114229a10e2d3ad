/* ratelimit_local.c - the in-process counters the limiters fall back to while
 * Redis is unreachable (see ratelimit_store.h). One mutex over a chained hash
 * table: the fallback runs only during an outage, where simplicity beats
 * throughput. Memory is bounded: expired windows are dropped whenever the
 * table is full, and a client that still finds no room is not counted. */
#include "ratelimit_store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define LOCAL_DEFAULT_MAX 65536
#define LOCAL_KEY_MAX 80

struct local_entry {
	struct local_entry *next;
	int64_t count;
	int64_t ends_ms; /* the window's end */
	char key[LOCAL_KEY_MAX];
};

struct ratelimit_local {
	pthread_mutex_t lock;
	struct local_entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t n;
	size_t max;
};

struct ratelimit_local *ratelimit_local_new(size_t max_clients)
{
	struct ratelimit_local *l = xcalloc(1, sizeof(*l));

	l->max = max_clients ? max_clients : LOCAL_DEFAULT_MAX;
	l->nbuckets = 1024;
	while (l->nbuckets < l->max)
		l->nbuckets <<= 1;
	l->buckets = xcalloc(l->nbuckets, sizeof(*l->buckets));
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

void ratelimit_local_free(struct ratelimit_local *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nbuckets; i++) {
		struct local_entry *e = l->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&l->lock);
	free(l->buckets);
	free(l);
}

/* FNV-1a */
static size_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/* Drops every entry whose window has ended. */
static void sweep_locked(struct ratelimit_local *l, int64_t now_ms)
{
	for (size_t i = 0; i < l->nbuckets; i++) {
		struct local_entry **pp = &l->buckets[i];

		while (*pp) {
			struct local_entry *e = *pp;

			if (e->ends_ms <= now_ms) {
				*pp = e->next;
				free(e);
				l->n--;
			} else {
				pp = &e->next;
			}
		}
	}
}

/* The entry for key, created when absent; NULL when the table is full. */
static struct local_entry *find_locked(struct ratelimit_local *l, const char *key, int64_t now_ms)
{
	size_t b = hash_key(key) & (l->nbuckets - 1);
	struct local_entry *e;

	for (e = l->buckets[b]; e; e = e->next) {
		if (strcmp(e->key, key) == 0)
			return e;
	}
	if (l->n >= l->max)
		sweep_locked(l, now_ms);
	if (l->n >= l->max)
		return NULL;
	e = xcalloc(1, sizeof(*e));
	strlcpy_s(e->key, key, sizeof(e->key));
	e->next = l->buckets[b];
	l->buckets[b] = e;
	l->n++;
	return e;
}

bool ratelimit_local_add(struct ratelimit_local *l, const char *key, int delta, int64_t window_ms,
			 int64_t now_ms, int64_t *count, int64_t *reset_ms)
{
	struct local_entry *e;
	bool counted = false;

	*count = delta > 0 ? delta : 0;
	*reset_ms = window_ms;
	pthread_mutex_lock(&l->lock);
	e = find_locked(l, key, now_ms);
	if (e && e->ends_ms <= now_ms) {
		/* No window open: a hit opens one; a take-back has nothing to take. */
		e->count = 0;
		e->ends_ms = delta > 0 ? now_ms + window_ms : now_ms;
	}
	if (e) {
		e->count += delta;
		if (e->count < 0)
			e->count = 0;
		*count = e->count;
		*reset_ms = e->ends_ms - now_ms;
		counted = true;
	}
	pthread_mutex_unlock(&l->lock);
	return counted;
}
