/* users_limit.h - the limiter in front of VerifyCredentials, so that the
 * users service is no password oracle for whoever reaches its port.
 *
 * The semantics of the gateway's auth limiter (API.md §1 "Rate limiting"):
 * fixed windows of RATE_LIMIT_WINDOW_MS starting at the first counted
 * attempt; an attempt counts when it arrives (so concurrent guesses cannot
 * slip past) and a successful verification takes its counts back, so only
 * failures add up; the attempt that makes a count exceed its limit is the
 * first refused. Two counters per attempt:
 *   - per account: AUTH_RATE_LIMIT_MAX (5) per normalized email, unknown
 *     emails included (a refusal tells nothing about existence);
 *   - per caller: VERIFY_CALLER_RATE_LIMIT_MAX (100; 0 = none) per gRPC peer
 *     address. The auth service is one caller for every login, so this one
 *     is higher: its clients are limited per client by the gateway.
 * A refused attempt is answered RATE_LIMIT_EXCEEDED before any hashing, so
 * it tells nothing about the password. Counters live in Redis under
 * "rl:va:<SHA-1 of the email>" and "rl:vc:<address>" (shared by replicas),
 * in-process while Redis is unreachable (ratelimit_store.h).
 * RATE_LIMIT_ENABLED=false turns it off, as it does the gateway's. */
#ifndef USERS_LIMIT_H
#define USERS_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct kv;
struct users_limiter;

struct users_limit_config {
	bool enabled;        /* RATE_LIMIT_ENABLED */
	int64_t window_ms;   /* RATE_LIMIT_WINDOW_MS */
	int64_t account_max; /* AUTH_RATE_LIMIT_MAX */
	int64_t caller_max;  /* VERIFY_CALLER_RATE_LIMIT_MAX (0: no per-caller limit) */
};

/* What one attempt counted, to take it back after a success. */
struct users_limit_ticket {
	char account_key[48];
	char caller_key[80];
	bool account_counted, caller_counted;
};

/* kv is borrowed. */
struct users_limiter *users_limiter_new(const struct users_limit_config *cfg, struct kv *kv);
void users_limiter_free(struct users_limiter *l);

/* Counts an attempt on account (the email as sent) from caller (the peer's
 * address) and fills t; false when it is refused (a count over its limit).
 * A NULL or disabled limiter allows everything. */
bool users_limit_attempt(struct users_limiter *l, const char *account, const char *caller,
			 struct users_limit_ticket *t);
/* Takes back what t counted (the verification succeeded). */
void users_limit_success(struct users_limiter *l, const struct users_limit_ticket *t);

#endif
