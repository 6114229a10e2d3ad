/* revocation_follow.c - the feed follower; see revocation_follow.h. */
#include "revocation_follow.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "agentos/auth/v1/auth.pb-c.h"
#include "log.h"
#include "rpc.h"
#include "util.h"

#define WATCH_PATH "/agentos.auth.v1.AuthService/WatchRevocations"
#define POLL_MS 250
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define PRUNE_EVERY_MS 60000

struct revocation_follower {
	struct revocations *r;
	char *target;
	struct rpc_channel *auth; /* the follower's own; NULL after a failure */
	pthread_t thread;
	atomic_bool stop;
	bool feed_lost_logged;
	bool stale_logged;
	int64_t last_prune_ms;
};

static void apply_batch(struct revocation_follower *f, const Agentos__Auth__V1__RevocationBatch *b)
{
	struct revocations *r = f->r;
	bool was_loaded = revocations_loaded(r);

	if (b->reset)
		revocations_reset(r, b->feed_id);
	for (size_t i = 0; i < b->n_tokens; i++)
		revocations_add_token(r, b->tokens[i]->jti, b->tokens[i]->expires_at_ms);
	for (size_t i = 0; i < b->n_users; i++)
		revocations_add_user(r, b->users[i]->user_id, b->users[i]->not_before_ms,
				     b->users[i]->expires_at_ms);
	revocations_synced(r, b->seq, b->caught_up);
	if (!was_loaded && b->caught_up) {
		struct revocation_stats st;

		revocations_stats(r, &st);
		log_info("revocation state loaded", LOG_I("seq", st.seq),
			 LOG_I("tokens", (int64_t)st.tokens), LOG_I("users", (int64_t)st.users));
	}
}

/* Logs the copy turning stale and current again, and prunes now and then. */
static void housekeeping(struct revocation_follower *f)
{
	struct revocation_stats st;
	int64_t now = mono_ms();

	revocations_stats(f->r, &st);
	if (st.loaded && !st.current && !f->stale_logged) {
		f->stale_logged = true;
		log_error(
			"revocation state is stale: bearer and API-key requests are refused (503) "
			"until the auth service's feed answers again",
			LOG_I("sinceSyncMs", st.age_ms), LOG_I("seq", st.seq));
	} else if (st.current && f->stale_logged) {
		f->stale_logged = false;
		log_info("revocation state is current again", LOG_I("seq", st.seq));
	}
	if (now - f->last_prune_ms >= PRUNE_EVERY_MS) {
		f->last_prune_ms = now;
		revocations_prune(f->r, now_unix_ms());
	}
}

/* Follows one stream until it fails, goes silent or the follower stops;
 * true when at least one batch came. */
static bool follow_stream(struct revocation_follower *f)
{
	Agentos__Auth__V1__WatchRevocationsRequest
		req = AGENTOS__AUTH__V1__WATCH_REVOCATIONS_REQUEST__INIT;
	char feed_id[REVOCATION_FEED_ID_MAX];
	struct rpc_client_stream *s;
	int64_t last_msg = mono_ms();
	bool got = false;
	struct app_error err;

	req.after_seq = revocations_position(f->r, feed_id);
	req.feed_id = feed_id;
	if (!f->auth)
		f->auth = rpc_channel_new_ex(f->target, true);
	s = rpc_client_stream_open(f->auth, WATCH_PATH, &req.base, NULL, 0);
	while (!atomic_load(&f->stop)) {
		ProtobufCMessage *m;
		int rc = rpc_client_stream_next(s, &agentos__auth__v1__revocation_batch__descriptor,
						POLL_MS, &m, &err);

		housekeeping(f);
		if (rc < 0)
			break;
		if (rc == 0) {
			if (mono_ms() - last_msg > REVOCATION_FOLLOW_SILENCE_MS) {
				app_error_set(&err, ERR_GATEWAY_TIMEOUT, "the feed went silent");
				break;
			}
			continue;
		}
		apply_batch(f, (const Agentos__Auth__V1__RevocationBatch *)m);
		protobuf_c_message_free_unpacked(m, NULL);
		last_msg = mono_ms();
		if (!got && f->feed_lost_logged)
			log_info("revocation feed is back",
				 LOG_I("seq", revocations_position(f->r, NULL)));
		got = true;
		f->feed_lost_logged = false;
	}
	if (!atomic_load(&f->stop) && !f->feed_lost_logged) {
		f->feed_lost_logged = true;
		log_warn("revocation feed lost; retrying (the last state is enforced meanwhile)",
			 LOG_S("error", err.message));
	}
	rpc_client_stream_close(s);
	if (!atomic_load(&f->stop)) { /* the next attempt connects afresh */
		rpc_channel_free(f->auth);
		f->auth = NULL;
	}
	return got;
}

static void *follow_main(void *arg)
{
	struct revocation_follower *f = arg;
	int backoff = BACKOFF_MIN_MS;

	while (!atomic_load(&f->stop)) {
		if (follow_stream(f))
			backoff = BACKOFF_MIN_MS;
		for (int waited = 0; waited < backoff && !atomic_load(&f->stop); waited += 50) {
			sleep_ms(50);
			housekeeping(f);
		}
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

struct revocation_follower *revocation_follower_start(struct revocations *r,
						      const char *auth_target)
{
	struct revocation_follower *f = xcalloc(1, sizeof(*f));
	int err;

	f->r = r;
	f->target = xstrdup(auth_target);
	f->last_prune_ms = mono_ms();
	atomic_init(&f->stop, false);
	err = pthread_create(&f->thread, NULL, follow_main, f);
	if (err != 0) {
		log_error("cannot start the revocation follower", LOG_I("error", err));
		free(f->target);
		free(f);
		return NULL;
	}
	return f;
}

void revocation_follower_stop(struct revocation_follower *f)
{
	if (!f)
		return;
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
	rpc_channel_free(f->auth);
	free(f->target);
	free(f);
}
