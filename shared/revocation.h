/* revocation.h - what makes an otherwise valid access token unusable, held
 * in memory by every process that accepts credentials.
 *
 * The auth service owns the state (its schema: auth.revocations, one row per
 * change, numbered by a feed sequence; see services/auth). A process holds a
 * copy, struct revocations, fed by a follower: in the auth service straight
 * from its database, everywhere else from AuthService.WatchRevocations
 * (revocation_follow.h). Two kinds of entries:
 *
 *   revoked token   the jti of a logged-out access token, until it expires
 *   user not-before every token of the user whose iat_ms is before it
 *                   (password, role change, disable, delete)
 *
 * A check is a lookup in two hash tables under a read lock: no network call.
 * The copy is usable ("current") once its first full load is in and while
 * its last successful sync is at most max_staleness_ms old; otherwise a
 * check answers REVOCATION_UNKNOWN and the caller fails closed (503).
 *
 * Memory: a revoked token takes one 16-byte slot (a 64-bit hash of its jti
 * and its expiry) in a table at most 3/4 full: 21 to 43 bytes per token,
 * 32 MiB for 1,000,000 (tests/unit/revocation_test.c measures it). A user
 * entry takes a 24-byte slot. Entries are dropped once they refuse nothing
 * (revocations_prune, run by the followers). Thread-safe. */
#ifndef SHARED_REVOCATION_H
#define SHARED_REVOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REVOCATION_FEED_ID_MAX 64
/* The trailing metadata entry of a reply whose call wrote a revocation: the
 * feed position that includes it. A gateway waits (at most
 * REVOCATION_SEQ_WAIT_MS) until its copy has it before answering, so the
 * client's next request is refused even on the same gateway. */
#define REVOCATION_SEQ_TRAILER "x-revocation-seq"
#define REVOCATION_SEQ_WAIT_MS 1000
#define REVOCATION_DEFAULT_MAX_STALENESS_MS 30000

struct revocations;

enum revocation_verdict {
	REVOCATION_OK,      /* not revoked */
	REVOCATION_REVOKED, /* logged out, or issued before the user's not-before */
	REVOCATION_UNKNOWN, /* the copy is not loaded yet, or stale: fail closed */
};

/* A copy that is stale max_staleness_ms after its last sync (<= 0: the
 * default). Never NULL; free with revocations_free. */
struct revocations *revocations_new(int max_staleness_ms);
void revocations_free(struct revocations *r);

/* The verdict for a token (jti, user_id, iat_ms) at this moment. */
enum revocation_verdict revocations_check(struct revocations *r, const char *jti, int64_t user_id,
					  int64_t iat_ms);
/* Loaded and not stale: what readiness reports; credentials are refused
 * (503) otherwise. */
bool revocations_current(struct revocations *r);
/* The first full load is in: a service reports SERVING from then on. */
bool revocations_loaded(struct revocations *r);
/* The user's not-before (unix ms), 0 when none is held. */
int64_t revocations_not_before(struct revocations *r, int64_t user_id);

/* ---- the follower's side ------------------------------------------------------ */

/* Drops every entry and the position: the next batch starts a new load
 * from feed_id. */
void revocations_reset(struct revocations *r, const char *feed_id);
void revocations_add_token(struct revocations *r, const char *jti, int64_t expires_at_ms);
/* Keeps the later of the held and the given not-before. */
void revocations_add_user(struct revocations *r, int64_t user_id, int64_t not_before_ms,
			  int64_t expires_at_ms);
/* Records a successful sync up to seq (never moving back); caught_up marks
 * the first full load as complete. Wakes revocations_wait callers. */
void revocations_synced(struct revocations *r, int64_t seq, bool caught_up);
/* Drops entries that expired before now_ms. */
void revocations_prune(struct revocations *r, int64_t now_ms);

/* The position and the feed id (into feed_id, REVOCATION_FEED_ID_MAX bytes). */
int64_t revocations_position(struct revocations *r, char *feed_id);
/* Waits until the copy has applied seq, at most timeout_ms; true when it has. */
bool revocations_wait(struct revocations *r, int64_t seq, int timeout_ms);
/* Waits until the position moves past seq, at most timeout_ms; true when it did. */
bool revocations_wait_beyond(struct revocations *r, int64_t seq, int timeout_ms);

struct revocation_stats {
	size_t tokens;  /* revoked tokens held */
	size_t users;   /* user not-befores held */
	size_t bytes;   /* memory of both tables */
	int64_t seq;    /* the position */
	int64_t age_ms; /* since the last sync; -1 before the first */
	bool loaded;    /* the first full load is in */
	bool current;   /* loaded and not stale */
};
void revocations_stats(struct revocations *r, struct revocation_stats *out);

#endif
