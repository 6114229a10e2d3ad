/* auth_revocations.c - the owner's side of revocation (revocation.h): the
 * changes written to auth.revocations, this process's own in-memory copy
 * kept from the database by a follower thread, and the pages the
 * WatchRevocations stream serves to everyone else.
 *
 * The follower wakes on a kick (a change written by this process) or every
 * FEED_POLL_MS (changes written by another replica), reads the changes
 * after its position, applies them and records the sync; every
 * PURGE_EVERY_MS it deletes expired rows and prunes the copy. A database
 * that cannot be read leaves the copy as it was: it turns stale after
 * REVOCATION_MAX_STALENESS_MS, and credentials are then refused (503). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_repo.h"
#include "auth_service.h"
#include "db.h"
#include "log.h"
#include "revocation.h"
#include "revoke_proof.h"
#include "util.h"

#define FEED_POLL_MS 100
#define PURGE_EVERY_MS 60000
/* A not-before later than this much ahead of our clock is refused. */
#define NOT_BEFORE_MAX_AHEAD_MS 60000

struct auth_feed {
	struct auth_ctx *ctx;
	pthread_t thread;
	pthread_mutex_t lock; /* guards kicked, stop */
	pthread_cond_t kick;
	bool kicked;
	bool stop;
	bool db_lost_logged;
	bool stale_logged;
	int64_t last_purge_ms;
};

/* When a user's not-before stops refusing anything: after the longest
 * access or refresh token life (plus the JWT leeway). */
static int64_t auth_user_revocation_expiry_ms(const struct auth_ctx *ctx, int64_t not_before_ms)
{
	int64_t life_s = ctx->access_ttl_s > ctx->refresh_ttl_s ? ctx->access_ttl_s
								: ctx->refresh_ttl_s;

	return not_before_ms + (life_s + JWT_LEEWAY_S) * 1000;
}

/* ---- the follower ----------------------------------------------------------------- */

/* Applies one page of changes; returns the last seq applied (or after). */
static int64_t apply_rows(struct revocations *r, const struct auth_revocation_row *rows, size_t n,
			  int64_t after)
{
	for (size_t i = 0; i < n; i++) {
		if (rows[i].jti)
			revocations_add_token(r, rows[i].jti, rows[i].expires_at_ms);
		else
			revocations_add_user(r, rows[i].user_id, rows[i].not_before_ms,
					     rows[i].expires_at_ms);
		after = rows[i].seq;
	}
	return after;
}

/* Brings the copy up to the database's head on connection c. */
static int sync_on(struct auth_ctx *ctx, struct db_conn *c, struct app_error *err)
{
	char feed_id[REVOCATION_FEED_ID_MAX], held[REVOCATION_FEED_ID_MAX];
	int64_t head, pos = revocations_position(ctx->revocations, held);
	size_t n;

	if (auth_repo_feed_head(c, feed_id, &head, err) != 0)
		return -1;
	if (strcmp(feed_id, held) != 0 || pos > head) {
		if (held[0])
			log_warn("revocation feed changed; reloading", LOG_S("feed", feed_id));
		revocations_reset(ctx->revocations, feed_id);
		pos = 0;
	}
	do {
		struct auth_revocation_row *rows;
		struct arena a;

		arena_init(&a);
		if (auth_repo_revocations_after(c, pos, now_unix_ms(), AUTH_REVOCATION_PAGE, &a,
						&rows, &n, err) != 0) {
			arena_release(&a);
			return -1;
		}
		pos = apply_rows(ctx->revocations, rows, n, pos);
		arena_release(&a);
	} while (n == AUTH_REVOCATION_PAGE);
	revocations_synced(ctx->revocations, pos > head ? pos : head, true);
	return 0;
}

static void purge(struct auth_feed *f, struct db_conn *c)
{
	int64_t now = now_unix_ms(), deleted = 0;
	struct app_error err;

	app_error_init(&err);
	if (auth_repo_revocations_purge(c, now, &deleted, &err) == 0 && deleted > 0)
		log_info("expired revocations deleted", LOG_I("count", deleted));
	revocations_prune(f->ctx->revocations, now);
}

static void log_loaded(struct revocations *r)
{
	struct revocation_stats st;

	revocations_stats(r, &st);
	log_info("revocation state loaded", LOG_I("seq", st.seq),
		 LOG_I("tokens", (int64_t)st.tokens), LOG_I("users", (int64_t)st.users));
}

static void sync_once(struct auth_feed *f)
{
	struct db_conn *c = db_pool_any(f->ctx->db);
	bool was_loaded = revocations_loaded(f->ctx->revocations);
	struct app_error err;
	int rc;

	app_error_init(&err);
	rc = sync_on(f->ctx, c, &err);
	if (rc == 0 && !was_loaded)
		log_loaded(f->ctx->revocations);
	if (rc == 0 && mono_ms() - f->last_purge_ms >= PURGE_EVERY_MS) {
		f->last_purge_ms = mono_ms();
		purge(f, c);
	}
	if (rc != 0 && !f->db_lost_logged) {
		f->db_lost_logged = true;
		log_warn("cannot read the revocation feed; the last state is enforced meanwhile",
			 LOG_S("error", err.message));
	} else if (rc == 0 && f->db_lost_logged) {
		f->db_lost_logged = false;
		log_info("revocation feed readable again");
	}
}

static void log_staleness(struct auth_feed *f)
{
	bool current = revocations_current(f->ctx->revocations);
	struct revocation_stats st;

	revocations_stats(f->ctx->revocations, &st);
	if (st.loaded && !current && !f->stale_logged) {
		f->stale_logged = true;
		log_error(
			"revocation state is stale: bearer and API-key requests are refused (503) "
			"until the database answers again",
			LOG_I("sinceSyncMs", st.age_ms));
	} else if (current && f->stale_logged) {
		f->stale_logged = false;
		log_info("revocation state is current again", LOG_I("seq", st.seq));
	}
}

/* Waits for a kick, at most FEED_POLL_MS; false when asked to stop. */
static bool wait_kick(struct auth_feed *f)
{
	struct timespec until;
	bool go;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += FEED_POLL_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->lock);
	while (!f->kicked && !f->stop && pthread_cond_timedwait(&f->kick, &f->lock, &until) == 0)
		;
	f->kicked = false;
	go = !f->stop;
	pthread_mutex_unlock(&f->lock);
	return go;
}

static void *feed_main(void *arg)
{
	struct auth_feed *f = arg;

	do {
		sync_once(f);
		log_staleness(f);
	} while (wait_kick(f));
	return NULL;
}

struct auth_feed *auth_feed_start(struct auth_ctx *ctx)
{
	struct auth_feed *f = xcalloc(1, sizeof(*f));
	pthread_condattr_t ca;
	int err;

	f->ctx = ctx;
	f->last_purge_ms = mono_ms() - PURGE_EVERY_MS; /* purge at the first sync */
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->kick, &ca);
	pthread_condattr_destroy(&ca);
	err = pthread_create(&f->thread, NULL, feed_main, f);
	if (err != 0) {
		log_error("cannot start the revocation feed follower", LOG_I("error", err));
		pthread_cond_destroy(&f->kick);
		pthread_mutex_destroy(&f->lock);
		free(f);
		return NULL;
	}
	return f;
}

/* Makes the follower read the feed now. NULL is a no-op. */
static void auth_feed_kick(struct auth_feed *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->kicked = true;
	pthread_cond_signal(&f->kick);
	pthread_mutex_unlock(&f->lock);
}

void auth_feed_stop(struct auth_feed *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = true;
	pthread_cond_signal(&f->kick);
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->thread, NULL);
	pthread_cond_destroy(&f->kick);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* ---- writing changes -------------------------------------------------------------- */

/* Appends row (and, for a user, revokes the families it refuses) in one
 * transaction, then applies it to the copy at once and wakes the follower
 * (which tells the streams). */
static int auth_revocation_write(struct auth_ctx *ctx, struct db_conn *c,
				 const struct auth_revocation_row *row, int64_t *seq,
				 struct app_error *err)
{
	int rc = auth_repo_revocation_append(c, row, seq, err);

	if (rc == 0 && !row->jti)
		rc = auth_repo_families_revoke_before(c, row->user_id, row->not_before_ms, err);
	if (rc == 0)
		rc = db_commit(c, err);
	if (rc != 0)
		return -1;
	if (row->jti)
		revocations_add_token(ctx->revocations, row->jti, row->expires_at_ms);
	else
		revocations_add_user(ctx->revocations, row->user_id, row->not_before_ms,
				     row->expires_at_ms);
	auth_feed_kick(ctx->feed);
	return 0;
}

struct revocation_job {
	struct auth_ctx *ctx;
	const struct auth_revocation_row *row;
	char *family; /* a logout: receives its token's family */
	int64_t *seq;
};

/* db_with_tx's work: a logout first revokes its token's family. */
static int store_locked(struct db_conn *c, void *arg, struct app_error *err)
{
	struct revocation_job *j = arg;

	if (j->family && auth_repo_family_revoke_by_jti(c, j->row->jti, j->family, err) != 0)
		return -1;
	return auth_revocation_write(j->ctx, c, j->row, j->seq, err);
}

int auth_revocation_store(struct auth_ctx *ctx, const struct auth_revocation_row *row, char *family,
			  int64_t *seq, struct app_error *err)
{
	struct revocation_job j = { .ctx = ctx, .row = row, .family = family, .seq = seq };

	return db_with_tx(ctx->db, ctx->db_wait_ms, store_locked, &j, err);
}

int auth_revoke_user_tokens(struct auth_ctx *ctx, int64_t user_id, int64_t not_before_ms,
			    const char *proof, int64_t *seq, struct app_error *err)
{
	struct auth_revocation_row row = { .user_id = user_id, .not_before_ms = not_before_ms };
	int rc;

	if (!revoke_proof_ok(ctx->jwt, user_id, not_before_ms, proof))
		return app_error_set(err, ERR_UNAUTHORIZED, "Invalid revocation proof");
	if (user_id <= 0 || not_before_ms <= 0 ||
	    not_before_ms > now_unix_ms() + NOT_BEFORE_MAX_AHEAD_MS)
		return app_error_set(
			err, ERR_BAD_REQUEST,
			"user_id and not_before_ms must be positive, not in the future");
	row.expires_at_ms = auth_user_revocation_expiry_ms(ctx, not_before_ms);
	rc = auth_revocation_store(ctx, &row, NULL, seq, err);
	if (rc == 0)
		log_info("user tokens revoked", LOG_I("userId", user_id),
			 LOG_I("notBeforeMs", not_before_ms), LOG_I("seq", *seq));
	return rc;
}

/* ---- serving the feed ------------------------------------------------------------- */

int auth_revocations_page(struct auth_ctx *ctx, int64_t after, const char *feed_id, struct arena *a,
			  struct auth_revocation_page *out, struct app_error *err)
{
	struct db_conn *c = db_pool_any(ctx->db);
	int64_t head;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = auth_repo_feed_head(c, out->feed_id, &head, err);
	if (rc == 0 && (!feed_id || strcmp(feed_id, out->feed_id) != 0 || after > head)) {
		out->reset = true;
		after = 0;
	}
	if (rc == 0)
		rc = auth_repo_revocations_after(c, after, now_unix_ms(), AUTH_REVOCATION_PAGE, a,
						 &out->rows, &out->n, err);
	if (rc != 0)
		return -1;
	out->more = out->n == AUTH_REVOCATION_PAGE;
	out->seq = out->n ? out->rows[out->n - 1].seq : after;
	if (!out->more && head > out->seq)
		out->seq = head;
	return 0;
}
