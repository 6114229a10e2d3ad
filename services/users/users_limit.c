/* users_limit.c - VerifyCredentials' limiter; see users_limit.h. */
#include "users_limit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "log.h"
#include "ratelimit_store.h"
#include "util.h"
#include "validate.h"

struct users_limiter {
	struct users_limit_config cfg;
	struct ratelimit_store *store;
};

struct users_limiter *users_limiter_new(const struct users_limit_config *cfg, struct kv *kv)
{
	struct users_limiter *l = xcalloc(1, sizeof(*l));

	l->cfg = *cfg;
	l->store = ratelimit_store_new(kv, cfg->window_ms, 0);
	return l;
}

void users_limiter_free(struct users_limiter *l)
{
	if (!l)
		return;
	ratelimit_store_free(l->store);
	free(l);
}

/* "rl:va:" and the SHA-1 (hex) of the normalized email (of the raw string
 * when it does not normalize): no email in Redis, a bounded key. */
static void account_key(const char *account, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	char norm[EMAIL_MAX_LEN + 1];
	unsigned char md[SHA_DIGEST_LENGTH];
	const char *s = account ? account : "";
	size_t o;

	if (email_normalize(s, norm, sizeof(norm)))
		s = norm;
	SHA1((const unsigned char *)s, strlen(s), md);
	o = (size_t)snprintf(out, size, "rl:va:");
	for (size_t i = 0; i < SHA_DIGEST_LENGTH && o + 2 < size; i++) {
		out[o++] = hex[md[i] >> 4];
		out[o++] = hex[md[i] & 15];
	}
	out[o] = '\0';
}

/* Counts one hit on key; true when it stays within max. */
static bool hit(struct users_limiter *l, const char *key, int64_t max)
{
	int64_t count = 0, reset_ms = 0;

	ratelimit_store_add(l->store, key, 1, &count, &reset_ms);
	return count <= max;
}

bool users_limit_attempt(struct users_limiter *l, const char *account, const char *caller,
			 struct users_limit_ticket *t)
{
	bool ok = true;

	memset(t, 0, sizeof(*t));
	if (!l || !l->cfg.enabled)
		return true;
	account_key(account, t->account_key, sizeof(t->account_key));
	ok &= hit(l, t->account_key, l->cfg.account_max);
	t->account_counted = true;
	if (l->cfg.caller_max > 0) {
		snprintf(t->caller_key, sizeof(t->caller_key), "rl:vc:%.64s", caller ? caller : "");
		ok &= hit(l, t->caller_key, l->cfg.caller_max);
		t->caller_counted = true;
	}
	if (!ok)
		log_warn("credential verification refused: too many failures",
			 LOG_S("caller", caller ? caller : ""));
	return ok;
}

void users_limit_success(struct users_limiter *l, const struct users_limit_ticket *t)
{
	int64_t count, reset_ms;

	if (!l || !l->cfg.enabled)
		return;
	if (t->account_counted)
		ratelimit_store_add(l->store, t->account_key, -1, &count, &reset_ms);
	if (t->caller_counted)
		ratelimit_store_add(l->store, t->caller_key, -1, &count, &reset_ms);
}
