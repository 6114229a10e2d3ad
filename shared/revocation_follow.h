/* revocation_follow.h - keeps a struct revocations current from the auth
 * service's feed (AuthService.WatchRevocations, a server stream).
 *
 * One thread per process: it opens the stream from the copy's position,
 * applies each batch, and reopens it after any failure (100 ms, doubling to
 * 2 s between attempts), resuming from the last applied sequence number so
 * no change is missed. The follower has a channel of its own, made anew for
 * each attempt after a failure: gRPC's own reconnection backoff (up to 5 s,
 * shared by every channel to a target) never delays the recovery. The server sends a heartbeat
 * every second; a stream silent for REVOCATION_FOLLOW_SILENCE_MS (a frozen auth service) is
 * abandoned and reopened. Entries that expired are pruned every minute.
 * Logged: the feed lost and back (once per episode), the copy turning stale
 * (fail closed) and current again. */
#ifndef SHARED_REVOCATION_FOLLOW_H
#define SHARED_REVOCATION_FOLLOW_H

#include "revocation.h"

#define REVOCATION_FOLLOW_SILENCE_MS 5000

struct revocation_follower;

/* Starts following the auth service at target (gRPC target syntax); r must
 * outlive the follower. NULL (logged) when the thread cannot start. */
struct revocation_follower *revocation_follower_start(struct revocations *r,
						      const char *auth_target);
/* Stops the thread (within about 250 ms) and frees f. NULL is a no-op. */
void revocation_follower_stop(struct revocation_follower *f);

#endif
