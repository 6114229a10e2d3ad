/* seq_waiter.c - see seq_waiter.h. A FIFO of waits under one mutex; the
 * thread takes the oldest and waits on the revocation copy (which has its
 * own condition variable) for what is left of that wait's time. */
#include "seq_waiter.h"

#include <pthread.h>
#include <stdlib.h>

#include "log.h"
#include "revocation.h"
#include "util.h"

struct wait_item {
	struct wait_item *next;
	struct revocations *r;
	int64_t seq;
	int64_t until_ms; /* mono_ms() */
	seq_waiter_fn fn;
	void *arg;
};

struct seq_waiter {
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct wait_item *head, *tail;
	bool stopping;
	pthread_t thread;
};

static struct wait_item *take(struct seq_waiter *w)
{
	struct wait_item *it;

	pthread_mutex_lock(&w->lock);
	while (!w->head && !w->stopping)
		pthread_cond_wait(&w->more, &w->lock);
	it = w->head;
	if (it) {
		w->head = it->next;
		if (!w->head)
			w->tail = NULL;
	}
	pthread_mutex_unlock(&w->lock);
	return it;
}

static void *waiter_main(void *arg)
{
	struct seq_waiter *w = arg;
	struct wait_item *it;

	while ((it = take(w)) != NULL) {
		int64_t left = it->until_ms - mono_ms();
		bool stopping;

		pthread_mutex_lock(&w->lock);
		stopping = w->stopping;
		pthread_mutex_unlock(&w->lock);
		if (stopping || left < 0)
			left = 0;
		it->fn(it->arg, revocations_wait(it->r, it->seq, (int)left));
		free(it);
	}
	return NULL;
}

struct seq_waiter *seq_waiter_new(void)
{
	struct seq_waiter *w = xcalloc(1, sizeof(*w));

	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->more, NULL);
	if (pthread_create(&w->thread, NULL, waiter_main, w) != 0) {
		log_fatal("cannot start the revocation waiter thread");
		abort();
	}
	return w;
}

void seq_waiter_free(struct seq_waiter *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->more);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->more);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void seq_waiter_add(struct seq_waiter *w, struct revocations *r, int64_t seq, int wait_ms,
		    seq_waiter_fn fn, void *arg)
{
	struct wait_item *it;

	if (revocations_wait(r, seq, 0)) {
		fn(arg, true);
		return;
	}
	it = xcalloc(1, sizeof(*it));
	it->r = r;
	it->seq = seq;
	it->until_ms = mono_ms() + wait_ms;
	it->fn = fn;
	it->arg = arg;
	pthread_mutex_lock(&w->lock);
	if (w->tail)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->lock);
}
