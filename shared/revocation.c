/* revocation.c - denylisted token ids and per-user "not before" times in
 * Redis; see revocation.h.
 *
 * Values are decimal text: "1" for a denylisted jti, unix seconds for a
 * not-before. A value that does not parse is ignored (treated as absent)
 * rather than refusing every token of the user on a corrupt entry. */
#include "revocation.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn.h"
#include "kv.h"
#include "log.h"
#include "util.h"

#define JTI_PREFIX "revoked:jti:"
#define NBF_PREFIX "user:nbf:"
/* A jti is at most sizeof(struct principal.jti) - 1 bytes once verified;
 * anything longer was never issued here and is not stored. */
#define JTI_MAX 127
#define KEY_MAX (sizeof(JTI_PREFIX) + JTI_MAX + 1)

static bool jti_key(char *buf, size_t size, const char *jti)
{
	size_t n;

	if (!jti || !*jti)
		return false;
	n = strnlen(jti, JTI_MAX + 1);
	if (n > JTI_MAX)
		return false;
	snprintf(buf, size, JTI_PREFIX "%s", jti);
	return true;
}

static void nbf_key(char *buf, size_t size, int64_t user_id)
{
	snprintf(buf, size, NBF_PREFIX "%" PRId64, user_id);
}

int revocation_revoke_jti(struct kv *kv, const char *jti, int64_t exp_s)
{
	char key[KEY_MAX];
	int64_t ttl;

	if (!kv || !jti_key(key, sizeof(key), jti))
		return -1;
	/* The token stays verifiable until exp + leeway: keep refusing it that long. */
	ttl = exp_s - now_unix_ms() / 1000 + JWT_LEEWAY_S;
	if (ttl < 1)
		ttl = 1;
	if (ttl > REVOCATION_NBF_TTL_S)
		ttl = REVOCATION_NBF_TTL_S;
	return kv_setex(kv, key, "1", 1, (int)ttl);
}

int revocation_set_not_before(struct kv *kv, int64_t user_id, int64_t unix_s)
{
	char key[KEY_MAX], val[24];
	int n;

	if (!kv || user_id <= 0)
		return -1;
	nbf_key(key, sizeof(key), user_id);
	n = snprintf(val, sizeof(val), "%" PRId64, unix_s);
	return kv_setex(kv, key, val, (size_t)n, REVOCATION_NBF_TTL_S);
}

/* The stored not-before, 0 when data is NULL or malformed. */
static int64_t parse_nbf(const char *data, int64_t user_id)
{
	int64_t v;

	if (!data)
		return 0;
	if (!parse_int64(data, &v) || v < 0) {
		log_warn("ignoring a malformed not-before entry", LOG_I("userId", user_id));
		return 0;
	}
	return v;
}

int revocation_not_before(struct kv *kv, int64_t user_id, int64_t *unix_s)
{
	char key[KEY_MAX];
	char *val = NULL;
	size_t len = 0;
	int rc;

	*unix_s = 0;
	if (!kv)
		return -1;
	nbf_key(key, sizeof(key), user_id);
	rc = kv_get(kv, key, &val, &len);
	if (rc < 0)
		return -1;
	*unix_s = parse_nbf(val, user_id);
	free(val);
	return 0;
}

int revocation_check(struct kv *kv, const char *jti, int64_t user_id, int64_t iat)
{
	char jkey[KEY_MAX], nkey[KEY_MAX];
	const char *keys[2];
	struct kv_value vals[2];
	size_t n = 0, nbf_at;
	int revoked;

	if (!kv)
		return -1;
	if (jti_key(jkey, sizeof(jkey), jti))
		keys[n++] = jkey;
	nbf_key(nkey, sizeof(nkey), user_id);
	nbf_at = n;
	keys[n++] = nkey;
	if (kv_mget(kv, keys, n, vals) != 0)
		return -1;
	revoked = (nbf_at == 1 && vals[0].data != NULL) ||
		  iat < parse_nbf(vals[nbf_at].data, user_id);
	kv_values_release(vals, n);
	return revoked ? 1 : 0;
}
