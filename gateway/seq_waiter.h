/* seq_waiter.h - "answer once this gateway's revocation copy holds feed
 * position seq", without blocking the thread that asks: a reply that wrote
 * a revocation is handed here and released (its callback run) on the
 * waiter's own thread once revocations_wait says so or its time is up.
 *
 * One thread serves the requests in arrival order: positions only grow and
 * the copy applies them in order, so a later request is never held up by an
 * earlier one for longer than the copy itself is late. */
#ifndef GATEWAY_SEQ_WAITER_H
#define GATEWAY_SEQ_WAITER_H

#include <stdbool.h>
#include <stdint.h>

struct revocations;
struct seq_waiter;

/* applied: the copy held seq within the time given; false: it did not. */
typedef void (*seq_waiter_fn)(void *arg, bool applied);

/* Starts the waiter's thread. Never NULL (aborts when no thread can start). */
struct seq_waiter *seq_waiter_new(void);
/* Runs every callback still queued (their waits are cut short: applied is
 * whatever the copy says now), stops the thread and frees w. NULL: no-op. */
void seq_waiter_free(struct seq_waiter *w);

/* fn(arg, applied) once r holds seq or wait_ms passed: at once on this
 * thread when it already holds it, else on the waiter's thread. */
void seq_waiter_add(struct seq_waiter *w, struct revocations *r, int64_t seq, int wait_ms,
		    seq_waiter_fn fn, void *arg);

#endif
