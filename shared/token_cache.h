/* token_cache.h - access tokens already verified, so that a token presented
 * again skips the signature check and the claims' parsing (caller.c).
 *
 * A verification depends only on the token's bytes, the key and the clock:
 * an entry is the whole token (compared byte for byte, never by hash alone)
 * and the principal jwt_verify made of it, and a lookup checks expiry again
 * against the clock, with the verifier's leeway. Revocation is not part of
 * it: callers check that on every request. Tokens longer than
 * TOKEN_CACHE_MAX_BYTES are never kept (ours are about 350 bytes).
 *
 * TOKEN_CACHE_SHARDS shards, each a direct-mapped table of
 * TOKEN_CACHE_SLOTS entries under its own mutex: a new token replaces
 * whatever shared its slot. Thread-safe. */
#ifndef SHARED_TOKEN_CACHE_H
#define SHARED_TOKEN_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "jwt_hs256.h"

#define TOKEN_CACHE_MAX_BYTES 600
#define TOKEN_CACHE_SHARDS 16
#define TOKEN_CACHE_SLOTS 64 /* per shard: 1024 tokens, about 1 MiB */

struct token_cache;

struct token_cache *token_cache_new(void);
void token_cache_free(struct token_cache *c);

/* true and *out when token was verified before and has not expired at
 * now_s (exp + leeway_s > now_s, as jwt_verify decides). */
bool token_cache_get(struct token_cache *c, const char *token, int64_t now_s, int leeway_s,
		     struct principal *out);
/* Keeps token with the principal jwt_verify returned for it. */
void token_cache_put(struct token_cache *c, const char *token, const struct principal *p);

#endif
