/* token_cache.c - verified access tokens; see token_cache.h. */
#include "token_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct token_entry {
	uint64_t hash; /* 0 = empty */
	uint16_t len;
	char token[TOKEN_CACHE_MAX_BYTES];
	struct principal p;
};

struct token_shard {
	pthread_mutex_t lock;
	struct token_entry slots[TOKEN_CACHE_SLOTS];
};

struct token_cache {
	struct token_shard shards[TOKEN_CACHE_SHARDS];
};

/* FNV-1a over the token; the signature part makes it uniform. */
static uint64_t token_hash(const char *s, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= UINT64_C(0x100000001b3);
	}
	h ^= h >> 32;
	return h ? h : 1;
}

struct token_cache *token_cache_new(void)
{
	struct token_cache *c = xcalloc(1, sizeof(*c));

	for (int i = 0; i < TOKEN_CACHE_SHARDS; i++)
		pthread_mutex_init(&c->shards[i].lock, NULL);
	return c;
}

void token_cache_free(struct token_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < TOKEN_CACHE_SHARDS; i++)
		pthread_mutex_destroy(&c->shards[i].lock);
	free(c);
}

static struct token_entry *slot_of(struct token_cache *c, uint64_t h, struct token_shard **shard)
{
	*shard = &c->shards[h % TOKEN_CACHE_SHARDS];
	return &(*shard)->slots[(h / TOKEN_CACHE_SHARDS) % TOKEN_CACHE_SLOTS];
}

bool token_cache_get(struct token_cache *c, const char *token, int64_t now_s, int leeway_s,
		     struct principal *out)
{
	size_t n = strnlen(token, TOKEN_CACHE_MAX_BYTES + 1);
	struct token_shard *shard;
	struct token_entry *e;
	bool hit;
	uint64_t h;

	if (n > TOKEN_CACHE_MAX_BYTES)
		return false;
	h = token_hash(token, n);
	e = slot_of(c, h, &shard);
	pthread_mutex_lock(&shard->lock);
	hit = e->hash == h && e->len == n && memcmp(e->token, token, n) == 0 &&
	      e->p.exp > now_s - (leeway_s > 0 ? leeway_s : 0);
	if (hit)
		*out = e->p;
	pthread_mutex_unlock(&shard->lock);
	return hit;
}

void token_cache_put(struct token_cache *c, const char *token, const struct principal *p)
{
	size_t n = strnlen(token, TOKEN_CACHE_MAX_BYTES + 1);
	struct token_shard *shard;
	struct token_entry *e;
	uint64_t h;

	if (n > TOKEN_CACHE_MAX_BYTES)
		return;
	h = token_hash(token, n);
	e = slot_of(c, h, &shard);
	pthread_mutex_lock(&shard->lock);
	e->hash = h;
	e->len = (uint16_t)n;
	memcpy(e->token, token, n);
	e->p = *p;
	pthread_mutex_unlock(&shard->lock);
}
