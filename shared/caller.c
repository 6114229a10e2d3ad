/* caller.c - the caller of a request, from its credentials; see caller.h.
 *
 * Bearer tokens are verified here (jwt_hs256.h) and checked against the
 * in-memory revocation copy (revocation.h): no network call. While that copy
 * is not loaded or stale, bearer and API-key requests fail closed (503).
 * API keys go to the auth service (or its local validator);
 * successful validations are kept in a small cache:
 *   - keyed by SHA-256(key): the key itself is never stored;
 *   - CACHE_SLOTS entries used as a ring in insertion order, so a full cache
 *     overwrites its oldest entry; a hash index (chained through the slots)
 *     finds an entry without scanning;
 *   - an entry lives cache_ms (monotonic clock), and never past the key's own
 *     expiry; failures are never cached, so a refused key is asked again.
 * One mutex guards the cache; no call to Redis or the auth service is made
 * while holding it. */
#include "caller.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "agentos/auth/v1/auth.pb-c.h"
#include "log.h"
#include "revocation.h"
#include "rpc.h"
#include "token_cache.h"
#include "util.h"

#define VALIDATE_API_KEY "/agentos.auth.v1.AuthService/ValidateApiKey"
#define CACHE_SLOTS 1024
#define CACHE_BUCKETS 2048 /* a power of two */
#define CACHE_NIL UINT16_MAX
#define CACHE_MAX_MS 1000
#define DIGEST_LEN 32
#define DEFAULT_DEADLINE_MS 2000
/* Longer "keys" are refused without asking anyone (the auth service issues
 * keys of about 60 characters). */
#define API_KEY_MAX_BYTES 512
#define USER_ID_LIMIT (INT64_C(1) << 53)

struct cache_slot {
	unsigned char digest[DIGEST_LEN];
	struct principal p;
	int64_t expires_ms; /* mono_ms() */
	uint16_t next;      /* next slot in the same bucket, or CACHE_NIL */
	bool used;
};

struct caller_resolver {
	struct caller_config cfg;
	pthread_mutex_t lock; /* guards slots, buckets, head */
	struct cache_slot slots[CACHE_SLOTS];
	uint16_t buckets[CACHE_BUCKETS];
	size_t head;                /* the slot the next insertion takes: the oldest */
	struct token_cache *tokens; /* bearer tokens already verified */
};

struct caller_resolver *caller_resolver_new(const struct caller_config *cfg)
{
	struct caller_resolver *r = xcalloc(1, sizeof(*r));

	r->cfg = *cfg;
	if (r->cfg.cache_ms < 0)
		r->cfg.cache_ms = 0;
	if (r->cfg.cache_ms > CACHE_MAX_MS)
		r->cfg.cache_ms = CACHE_MAX_MS;
	if (r->cfg.deadline_ms <= 0)
		r->cfg.deadline_ms = DEFAULT_DEADLINE_MS;
	pthread_mutex_init(&r->lock, NULL);
	r->tokens = token_cache_new();
	for (size_t i = 0; i < CACHE_BUCKETS; i++)
		r->buckets[i] = CACHE_NIL;
	return r;
}

void caller_resolver_free(struct caller_resolver *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	token_cache_free(r->tokens);
	free(r);
}

static void anonymous(struct principal *p)
{
	memset(p, 0, sizeof(*p));
	p->method = AUTH_NONE;
}

/* ---- the API-key cache (callers hold r->lock) ------------------------------ */

static size_t bucket_of(const unsigned char *digest)
{
	uint32_t h;

	memcpy(&h, digest, sizeof(h)); /* a SHA-256 is uniform already */
	return h & (CACHE_BUCKETS - 1);
}

static uint16_t *link_to(struct caller_resolver *r, const unsigned char *digest, uint16_t idx)
{
	uint16_t *at = &r->buckets[bucket_of(digest)];

	while (*at != CACHE_NIL && *at != idx)
		at = &r->slots[*at].next;
	return at;
}

static void cache_unlink(struct caller_resolver *r, uint16_t idx)
{
	struct cache_slot *s = &r->slots[idx];
	uint16_t *at = link_to(r, s->digest, idx);

	if (*at == idx)
		*at = s->next;
	s->used = false;
	s->next = CACHE_NIL;
}

static int cache_find(const struct caller_resolver *r, const unsigned char *digest)
{
	for (uint16_t i = r->buckets[bucket_of(digest)]; i != CACHE_NIL; i = r->slots[i].next) {
		if (memcmp(r->slots[i].digest, digest, DIGEST_LEN) == 0)
			return i;
	}
	return -1;
}

/* true and *out on a live entry; a stale one is dropped. */
static bool cache_lookup(struct caller_resolver *r, const unsigned char *digest,
			 struct principal *out)
{
	int64_t now_ms = mono_ms(), now_s = now_unix_ms() / 1000;
	bool hit = false;
	int i;

	if (r->cfg.cache_ms <= 0)
		return false;
	pthread_mutex_lock(&r->lock);
	i = cache_find(r, digest);
	if (i >= 0) {
		const struct cache_slot *s = &r->slots[i];

		hit = s->expires_ms > now_ms && (s->p.exp == 0 || s->p.exp > now_s);
		if (hit)
			*out = s->p;
		else
			cache_unlink(r, (uint16_t)i);
	}
	pthread_mutex_unlock(&r->lock);
	return hit;
}

static void cache_store(struct caller_resolver *r, const unsigned char *digest,
			const struct principal *p)
{
	struct cache_slot *s;
	uint16_t idx;
	int old;

	if (r->cfg.cache_ms <= 0)
		return;
	pthread_mutex_lock(&r->lock);
	old = cache_find(r, digest);
	if (old >= 0)
		cache_unlink(r, (uint16_t)old); /* re-inserted below as the newest */
	idx = (uint16_t)r->head;
	r->head = (r->head + 1) % CACHE_SLOTS;
	s = &r->slots[idx];
	if (s->used)
		cache_unlink(r, idx); /* the oldest entry makes room */
	memcpy(s->digest, digest, DIGEST_LEN);
	s->p = *p;
	s->expires_ms = mono_ms() + r->cfg.cache_ms;
	s->used = true;
	s->next = r->buckets[bucket_of(digest)];
	r->buckets[bucket_of(digest)] = idx;
	pthread_mutex_unlock(&r->lock);
}

static bool key_digest(const char *key, unsigned char *digest)
{
	unsigned int len = 0;

	return EVP_Digest(key, strlen(key), digest, &len, EVP_sha256(), NULL) == 1 &&
	       len == DIGEST_LEN;
}

/* ---- API keys ------------------------------------------------------------------ */

/* The principal of a ValidateApiKey reply: the key's permissions (names this
 * build does not know are ignored, as in tokens), its expiry. */
static int principal_from_reply(const Agentos__Auth__V1__Principal *m, struct principal *out,
				struct app_error *err)
{
	anonymous(out);
	if (m->user_id <= 0 || m->user_id >= USER_ID_LIMIT)
		return app_error_set(err, ERR_INTERNAL_ERROR,
				     "The auth service returned an invalid principal");
	out->method = AUTH_API_KEY;
	out->user_id = m->user_id;
	strlcpy_s(out->email, m->email, sizeof(out->email));
	if (role_valid(m->role)) /* informational: permissions decide */
		strlcpy_s(out->role, m->role, sizeof(out->role));
	for (size_t i = 0; i < m->n_permissions; i++) {
		enum perm p;

		if (perm_parse(m->permissions[i], &p))
			out->perms |= PERM_BIT(p);
	}
	out->exp = m->expires_at ? m->expires_at->seconds : 0;
	return 0;
}

/* AuthService.ValidateApiKey; its errors are returned as they came. */
static int validate_remote(struct caller_resolver *r, const char *key, const char *request_id,
			   struct principal *out, struct app_error *err)
{
	Agentos__Auth__V1__ValidateApiKeyRequest
		req = AGENTOS__AUTH__V1__VALIDATE_API_KEY_REQUEST__INIT;
	const struct rpc_metadata md[] = { { "x-request-id", request_id } };
	ProtobufCMessage *reply = NULL;
	int rc;

	if (!r->cfg.auth)
		return app_error_set(err, ERR_SERVICE_UNAVAILABLE,
				     "API keys cannot be validated: no auth service is configured");
	req.key = (char *)key;
	if (rpc_call_unary(r->cfg.auth, VALIDATE_API_KEY, &req.base,
			   &agentos__auth__v1__principal__descriptor, md, ARRAY_SIZE(md),
			   r->cfg.deadline_ms, &reply, err, NULL) != 0)
		return -1;
	rc = principal_from_reply((const Agentos__Auth__V1__Principal *)reply, out, err);
	protobuf_c_message_free_unpacked(reply, NULL);
	return rc;
}

/* 0 when the revocation copy can answer, else 503 (fail closed). */
static int revocations_usable(struct caller_resolver *r, struct app_error *err)
{
	if (!r->cfg.revocations || revocations_current(r->cfg.revocations))
		return 0;
	return app_error_set(
		err, ERR_SERVICE_UNAVAILABLE,
		"Credentials cannot be checked right now: revocation state is unavailable");
}

/* The checks every API key gets before anyone is asked; 1 when the cache
 * answered (*out), 0 when the key must be validated, -1 with err. */
static int api_key_precheck(struct caller_resolver *r, const char *key,
			    unsigned char digest[DIGEST_LEN], struct principal *out,
			    struct app_error *err)
{
	if (revocations_usable(r, err) != 0)
		return -1;
	if (!*key || strnlen(key, API_KEY_MAX_BYTES + 1) > API_KEY_MAX_BYTES)
		return app_error_set(err, ERR_UNAUTHORIZED, "Invalid API key");
	if (!key_digest(key, digest))
		return app_error_set(err, ERR_INTERNAL_ERROR, "Cannot hash the API key");
	return cache_lookup(r, digest, out) ? 1 : 0;
}

/* A validation's outcome: cached when it succeeded; a failure without a
 * code of its own is 401. */
static int api_key_outcome(struct caller_resolver *r, const unsigned char *digest, int rc,
			   struct principal *out, struct app_error *err)
{
	if (rc != 0) {
		anonymous(out);
		if (err->code == ERR_OK)
			app_error_set(err, ERR_UNAUTHORIZED, "Invalid API key");
		return -1;
	}
	out->method = AUTH_API_KEY;
	cache_store(r, digest, out);
	return 0;
}

static int resolve_api_key(struct caller_resolver *r, const char *key, const char *request_id,
			   struct principal *out, struct app_error *err)
{
	unsigned char digest[DIGEST_LEN];
	int rc = api_key_precheck(r, key, digest, out, err);

	if (rc != 0)
		return rc > 0 ? 0 : -1;
	if (r->cfg.local_api_key)
		rc = r->cfg.local_api_key(r->cfg.local_ctx, key, out, err);
	else
		rc = validate_remote(r, key, request_id, out, err);
	return api_key_outcome(r, digest, rc, out, err);
}

/* ---- the same without waiting (the gateway) -------------------------------------- */

struct pending_key {
	struct caller_resolver *r;
	unsigned char digest[DIGEST_LEN];
	caller_done_fn done;
	void *arg;
};

static void key_validated(void *arg, struct rpc_result *res)
{
	struct pending_key *k = arg;
	struct principal p;
	int rc = res->rc;

	anonymous(&p);
	if (rc == 0)
		rc = principal_from_reply((const Agentos__Auth__V1__Principal *)res->reply, &p,
					  &res->err);
	rc = api_key_outcome(k->r, k->digest, rc, &p, &res->err);
	k->done(k->arg, rc, &p, &res->err);
	free(k);
}

int caller_resolve_start(struct caller_resolver *r, struct rpc_async *async,
			 const char *authorization, const char *api_key, const char *request_id,
			 struct principal *out, struct app_error *err, caller_done_fn done,
			 void *arg)
{
	Agentos__Auth__V1__ValidateApiKeyRequest
		req = AGENTOS__AUTH__V1__VALIDATE_API_KEY_REQUEST__INIT;
	const struct rpc_metadata md[] = { { "x-request-id", request_id } };
	struct pending_key *k;
	int rc;

	if (!api_key || authorization || r->cfg.local_api_key || !r->cfg.auth)
		return caller_resolve(r, authorization, api_key, request_id, out, err);
	anonymous(out);
	k = xcalloc(1, sizeof(*k));
	rc = api_key_precheck(r, api_key, k->digest, out, err);
	if (rc != 0) {
		free(k);
		return rc > 0 ? 0 : -1;
	}
	k->r = r;
	k->done = done;
	k->arg = arg;
	req.key = (char *)api_key;
	rpc_call_async(async, r->cfg.auth, VALIDATE_API_KEY, &req.base,
		       &agentos__auth__v1__principal__descriptor, md, ARRAY_SIZE(md),
		       r->cfg.deadline_ms, NULL, key_validated, k);
	return CALLER_PENDING;
}

/* ---- bearer tokens ---------------------------------------------------------------- */

const char *caller_parse_bearer(const char *authorization)
{
	static const char scheme[] = "Bearer";
	const size_t n = sizeof(scheme) - 1;

	if (!authorization)
		return NULL;
	if (strncasecmp(authorization, scheme, n) != 0 || authorization[n] != ' ')
		return NULL;
	if (authorization[n + 1] == '\0' || authorization[n + 1] == ' ')
		return NULL;
	return authorization + n + 1;
}

static int resolve_bearer(struct caller_resolver *r, const char *authorization,
			  struct principal *out, struct app_error *err)
{
	const char *token = caller_parse_bearer(authorization);
	int64_t now_s = now_unix_ms() / 1000;

	if (!token)
		return app_error_set(err, ERR_UNAUTHORIZED,
				     "Authorization header must be 'Bearer <token>'");
	/* A token seen before skips the signature and the claims' parsing; its
	 * expiry is checked again, its revocation below, every time. */
	if (!r->cfg.jwt || !token_cache_get(r->tokens, token, now_s, r->cfg.jwt->leeway_s, out)) {
		if (jwt_verify(r->cfg.jwt, token, now_s, out, err) != 0)
			return -1;
		token_cache_put(r->tokens, token, out);
	}
	if (!r->cfg.revocations)
		return 0;
	switch (revocations_check(r->cfg.revocations, out->jti, out->user_id, out->iat_ms)) {
	case REVOCATION_OK:
		return 0;
	case REVOCATION_REVOKED:
		anonymous(out);
		return app_error_set(err, ERR_TOKEN_REVOKED, "Token has been revoked");
	default:
		anonymous(out);
		return revocations_usable(r, err) != 0
			       ? -1
			       : app_error_set(err, ERR_SERVICE_UNAVAILABLE, NULL);
	}
}

int caller_resolve(struct caller_resolver *r, const char *authorization, const char *api_key,
		   const char *request_id, struct principal *out, struct app_error *err)
{
	struct app_error scratch;
	int rc;

	if (!err) {
		app_error_init(&scratch);
		err = &scratch;
	}
	anonymous(out);
	if (authorization && api_key)
		return app_error_set(
			err, ERR_BAD_REQUEST,
			"Send either an Authorization header or an X-API-Key, not both");
	if (authorization)
		rc = resolve_bearer(r, authorization, out, err);
	else if (api_key)
		rc = resolve_api_key(r, api_key, request_id, out, err);
	else
		rc = 0;
	if (rc != 0)
		anonymous(out);
	return rc;
}

int caller_resolve_call(void *ctx, struct rpc_call *call, const struct principal **out,
			struct app_error *err)
{
	struct principal *p = arena_alloc(rpc_call_arena(call), sizeof(*p));

	*out = p;
	return caller_resolve(ctx, rpc_call_metadata(call, "authorization"),
			      rpc_call_metadata(call, "x-api-key"), rpc_call_request_id(call), p,
			      err);
}
