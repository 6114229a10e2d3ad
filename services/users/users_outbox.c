/* users_outbox.c - the relay of the token-revocation outbox
 * (002_token_revocation_outbox.sql): queued revocations go to the auth
 * service, which owns revocation state, and leave the queue only once it
 * acknowledged them. A write that queues one delivers the account's
 * not-before itself right after its commit (so the change is refused before
 * the write is answered, and the write knows the feed position to wait for
 * even when a relay took its row first); the relay thread retries whatever
 * is left every RELAY_EVERY_MS, so an auth service that was down gets every
 * change once it is back. Delivery is at least once: the auth service keeps
 * the later not-before, so a repeat changes nothing. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "db.h"
#include "log.h"
#include "users_repo.h"
#include "users_service.h"
#include "util.h"

#define OUTBOX_BATCH 32
#define RELAY_EVERY_MS 1000

/* One batch of the flush (db_with_tx's work). */
struct batch_job {
	struct users_ctx *ctx;
	int deadline_ms;
	size_t n;     /* the rows taken */
	int64_t *seq; /* the highest position acknowledged */
};

/* Delivers one locked batch; -1 on the first failure (the rest stays
 * queued). What was acknowledged leaves the queue even when a later row
 * failed: the batch commits either way. */
static int deliver(struct db_conn *c, void *arg, struct app_error *err)
{
	struct batch_job *j = arg;
	struct users_outbox_row rows[OUTBOX_BATCH];
	struct app_error late;
	int rc = users_repo_outbox_take(c, OUTBOX_BATCH, rows, &j->n, err);

	for (size_t i = 0; rc == 0 && i < j->n; i++) {
		int64_t s = 0;

		rc = j->ctx->revoke_tokens(j->ctx->revoke_ctx, rows[i].user_id,
					   rows[i].not_before_ms, j->deadline_ms, &s, err);
		if (rc == 0)
			rc = users_repo_outbox_delete(c, rows[i].id, err);
		if (rc == 0 && s > *j->seq)
			*j->seq = s;
	}
	app_error_init(&late);
	if (db_commit(c, rc == 0 ? err : &late) != 0)
		rc = -1;
	return rc;
}

/* Delivers every queued revocation (oldest first) with deadline_ms per call;
 * *seq the highest feed position acknowledged (0: none). -1 with err at the
 * first failure (the rest stays queued). */
static int users_outbox_flush(struct users_ctx *ctx, int deadline_ms, int64_t *seq,
			      struct app_error *err)
{
	struct batch_job j = {
		.ctx = ctx, .deadline_ms = deadline_ms, .n = OUTBOX_BATCH, .seq = seq
	};
	int rc = 0;

	*seq = 0;
	if (!ctx->revoke_tokens)
		return 0;
	while (rc == 0 && j.n == OUTBOX_BATCH)
		rc = db_with_tx(ctx->db, ctx->db_wait_ms, deliver, &j, err);
	return rc;
}

int users_outbox_deliver_user(struct users_ctx *ctx, int64_t user_id, int deadline_ms, int64_t *seq,
			      struct app_error *err)
{
	struct db_conn *c = db_pool_any(ctx->db);
	int64_t not_before_ms = 0;
	int rc;

	*seq = 0;
	if (!ctx->revoke_tokens)
		return 0;
	rc = users_repo_not_before_ms(c, user_id, &not_before_ms, err);
	if (rc == 0)
		rc = ctx->revoke_tokens(ctx->revoke_ctx, user_id, not_before_ms, deadline_ms, seq,
					err);
	if (rc == 0) {
		struct app_error late;

		/* acknowledged: a failure here only means the relay repeats it */
		app_error_init(&late);
		if (users_repo_outbox_forget(c, user_id, not_before_ms, &late) != 0)
			log_warn("delivered revocation left queued", LOG_I("userId", user_id),
				 LOG_S("error", late.message));
	}
	return rc;
}

struct users_relay {
	struct users_ctx *ctx;
	int deadline_ms;
	pthread_t thread;
	atomic_bool stop;
	bool failing; /* logged once per episode */
};

static void *relay_main(void *arg)
{
	struct users_relay *r = arg;

	while (!atomic_load(&r->stop)) {
		struct app_error err;
		int64_t seq;

		app_error_init(&err);
		if (users_outbox_flush(r->ctx, r->deadline_ms, &seq, &err) != 0) {
			if (!r->failing)
				log_warn(
					"token revocations queued; the auth service did not take them "
					"yet (retrying every second)",
					LOG_S("error", err.message));
			r->failing = true;
		} else if (r->failing) {
			r->failing = false;
			log_info("queued token revocations delivered", LOG_I("seq", seq));
		}
		for (int waited = 0; waited < RELAY_EVERY_MS && !atomic_load(&r->stop);
		     waited += 50)
			sleep_ms(50);
	}
	return NULL;
}

struct users_relay *users_relay_start(struct users_ctx *ctx, int deadline_ms)
{
	struct users_relay *r = xcalloc(1, sizeof(*r));
	int err;

	r->ctx = ctx;
	r->deadline_ms = deadline_ms;
	atomic_init(&r->stop, false);
	err = pthread_create(&r->thread, NULL, relay_main, r);
	if (err != 0) {
		log_error("cannot start the revocation relay", LOG_I("error", err));
		free(r);
		return NULL;
	}
	return r;
}

void users_relay_stop(struct users_relay *r)
{
	if (!r)
		return;
	atomic_store(&r->stop, true);
	pthread_join(r->thread, NULL);
	free(r);
}
