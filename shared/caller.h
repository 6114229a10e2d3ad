/* caller.h - who is calling, for the gateway and every service: the one place
 * that turns `authorization` / `x-api-key` into a principal.
 *
 *   neither                 anonymous (AUTH_NONE)
 *   both                    400 BAD_REQUEST
 *   Bearer <jwt>            jwt_verify (jwt_hs256.h), then revocations_check
 *                           (in memory): a logged-out jti or a token issued
 *                           before the user's not-before is 401
 *                           TOKEN_REVOKED; a revocation copy not loaded yet
 *                           or stale is 503 SERVICE_UNAVAILABLE (as for
 *                           API keys)
 *   x-api-key               validated by the auth service
 *                           (AuthService.ValidateApiKey over gRPC, or the
 *                           local validator inside the auth service itself):
 *                           401 UNAUTHORIZED (unknown/malformed),
 *                           TOKEN_EXPIRED (expired or past rotation grace),
 *                           TOKEN_REVOKED (revoked, owner disabled/deleted);
 *                           the principal carries the key's permissions, not
 *                           the owner's full set
 *
 * API-key validations are cached in-process for at most cache_ms (<= 1000),
 * keyed by a SHA-256 of the key (the key itself is never kept), so a revoked
 * key stops working everywhere within a second. Thread-safe. */
#ifndef SHARED_CALLER_H
#define SHARED_CALLER_H

#include "err.h"
#include "jwt_hs256.h"
#include "principal.h"

struct revocations;
struct rpc_channel;

/* Validates an API key in-process (the auth service's own implementation). */
typedef int (*caller_api_key_fn)(void *ctx, const char *key, struct principal *out,
				 struct app_error *err);

struct caller_config {
	const struct jwt_config *jwt;
	struct revocations *revocations; /* the revocation copy; NULL: none (tests) */
	struct rpc_channel *auth;        /* AuthService, for API keys (when no local validator) */
	caller_api_key_fn local_api_key;
	void *local_ctx;
	int cache_ms;    /* API-key cache lifetime, 0..1000 */
	int deadline_ms; /* ValidateApiKey deadline */
};

struct caller_resolver;

/* cfg's pointers must outlive the resolver. Never NULL. */
struct caller_resolver *caller_resolver_new(const struct caller_config *cfg);
void caller_resolver_free(struct caller_resolver *r);

/* Resolves the caller (values may be NULL). 0 and *out, or -1 with err.
 * request_id is forwarded to the auth service. */
int caller_resolve(struct caller_resolver *r, const char *authorization, const char *api_key,
		   const char *request_id, struct principal *out, struct app_error *err);

/* caller_resolve without waiting (the gateway): when an API key must be
 * validated by the auth service (not in the cache), the validation is
 * started on async and CALLER_PENDING returned; done then runs once, on an
 * rpc_async thread (or on this one when the call could not start), with
 * caller_resolve's 0 and principal or -1 and err (both valid during the
 * callback only). Any other answer is returned at once, as caller_resolve's,
 * and done is not called. */
#define CALLER_PENDING 1
struct rpc_async;
typedef void (*caller_done_fn)(void *arg, int rc, const struct principal *p,
			       const struct app_error *err);
int caller_resolve_start(struct caller_resolver *r, struct rpc_async *async,
			 const char *authorization, const char *api_key, const char *request_id,
			 struct principal *out, struct app_error *err, caller_done_fn done,
			 void *arg);

/* caller_resolve for one gRPC call (an rpc_resolve_fn, rpc.h; ctx is the
 * resolver): `authorization`, `x-api-key` and the request id from its
 * metadata; *out in the call's arena. */
struct rpc_call;
int caller_resolve_call(void *ctx, struct rpc_call *call, const struct principal **out,
			struct app_error *err);

/* The token of an Authorization value "Bearer <token>": the scheme in any
 * case, exactly one space, a non-empty token not starting with a space.
 * Points into authorization; NULL for any other form (and for NULL). */
const char *caller_parse_bearer(const char *authorization);

#endif
