/* users_cache.c - `user:<id>` cache entries; see users_cache.h. */
#include "users_cache.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "log.h"
#include "util.h"

#define KEY_MAX 32

static void user_key(char *buf, int64_t id)
{
	snprintf(buf, KEY_MAX, KV_USER_PREFIX "%" PRId64, id);
}

/* Entries are a compact text record, read back without building a JSON
 * tree (and free of NUL bytes: the cache's Lua fill takes C strings):
 *
 *   U1 <id> <version> <created_at_us> <updated_at_us> <flags> \
 *      <n>:<email><n>:<name><n>:<role>
 *
 * numbers in decimal, flags bit 0 is_active and bit 1 is_verified, each
 * string preceded by its byte length. Anything else (an older format, a
 * truncated value) is a miss. */
#define ENTRY_PREFIX "U1 "

/* malloc'd record of u into *out (length *len). */
static bool encode(const struct user *u, char **out, size_t *len)
{
	size_t ne = strlen(u->email), nn = strlen(u->name), nr = strlen(u->role);
	size_t cap = 5 * 21 + 8 + 3 * 21 + ne + nn + nr + 1;
	char *buf = xmalloc(cap);
	int n = snprintf(buf, cap,
			 ENTRY_PREFIX "%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
				      " %d %zu:%s%zu:%s%zu:%s",
			 u->id, u->version, u->created_at_us, u->updated_at_us,
			 (u->is_active ? 1 : 0) | (u->is_verified ? 2 : 0), ne, u->email, nn,
			 u->name, nr, u->role);

	if (n < 0 || (size_t)n >= cap) {
		free(buf);
		return false;
	}
	*out = buf;
	*len = (size_t)n;
	return true;
}

/* A decimal integer at *at followed by sep; false when there is none. */
static bool get_num(const char **at, const char *end, char sep, int64_t *v)
{
	const char *p = *at;
	bool neg = p < end && *p == '-';
	int64_t x = 0;
	int digits = 0;

	p += neg;
	for (; p < end && *p >= '0' && *p <= '9' && digits < 19; p++, digits++)
		x = x * 10 + (*p - '0');
	if (digits == 0 || p >= end || *p != sep)
		return false;
	*v = neg ? -x : x;
	*at = p + 1;
	return true;
}

/* "<n>:<n bytes>" at *at into dst (size cap, NUL added). */
static bool get_str(const char **at, const char *end, char *dst, size_t cap)
{
	int64_t n;

	if (!get_num(at, end, ':', &n) || n < 0 || n >= (int64_t)cap || end - *at < n)
		return false;
	memcpy(dst, *at, (size_t)n);
	dst[n] = '\0';
	*at += n;
	return strlen(dst) == (size_t)n;
}

static bool decode(const char *data, size_t len, int64_t want_id, struct user *u)
{
	const char *p = data, *end = data + len;
	int64_t id, flags;

	if (len < sizeof(ENTRY_PREFIX) - 1 ||
	    memcmp(p, ENTRY_PREFIX, sizeof(ENTRY_PREFIX) - 1) != 0)
		return false;
	p += sizeof(ENTRY_PREFIX) - 1;
	if (!get_num(&p, end, ' ', &id) || id != want_id || !get_num(&p, end, ' ', &u->version) ||
	    !get_num(&p, end, ' ', &u->created_at_us) ||
	    !get_num(&p, end, ' ', &u->updated_at_us) || !get_num(&p, end, ' ', &flags))
		return false;
	u->id = id;
	u->is_active = (flags & 1) != 0;
	u->is_verified = (flags & 2) != 0;
	return get_str(&p, end, u->email, sizeof(u->email)) &&
	       get_str(&p, end, u->name, sizeof(u->name)) &&
	       get_str(&p, end, u->role, sizeof(u->role)) && p == end;
}

bool users_cache_get(struct kv *kv, int64_t id, struct user *out, struct kv_seen *seen)
{
	char key[KEY_MAX];
	char *val = NULL;
	size_t len = 0;
	bool hit;

	user_key(key, id);
	if (kv_cache_get(kv, key, &val, &len, seen) != 1)
		return false;
	hit = decode(val, len, id, out);
	free(val);
	return hit;
}

size_t users_cache_get_many(struct kv *kv, struct arena *a, const int64_t *ids, size_t n,
			    struct user *out, bool *hit, struct kv_seen *seen)
{
	const char **keys = arena_alloc(a, sizeof(*keys) * (n ? n : 1));
	struct kv_value *vals = arena_alloc(a, sizeof(*vals) * (n ? n : 1));
	size_t hits = 0;

	for (size_t i = 0; i < n; i++) {
		char *k = arena_alloc(a, KEY_MAX);

		user_key(k, ids[i]);
		keys[i] = k;
		hit[i] = false;
		seen[i].fillable = false;
	}
	if (n == 0 || kv_cache_mget(kv, keys, n, vals, seen) == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (vals[i].data && decode(vals[i].data, vals[i].len, ids[i], &out[i])) {
			hit[i] = true;
			hits++;
		}
	}
	kv_values_release(vals, n);
	return hits;
}

void users_cache_put(struct kv *kv, const struct user *u, int ttl_s, const struct kv_seen *seen)
{
	char key[KEY_MAX];
	const char *keys[] = { key };
	struct kv_value val;

	if (!encode(u, &val.data, &val.len))
		return;
	user_key(key, u->id);
	kv_cache_fill(kv, keys, &val, seen, 1, ttl_s);
	free(val.data);
}

void users_cache_put_many(struct kv *kv, struct arena *a, const struct user *u, size_t n,
			  const int64_t *ids, const struct kv_seen *seen, size_t nids, int ttl_s)
{
	const char **keys;
	struct kv_value *vals;
	struct kv_seen *rseen;

	if (n == 0)
		return;
	keys = arena_alloc(a, sizeof(*keys) * n);
	vals = arena_alloc(a, sizeof(*vals) * n);
	rseen = arena_alloc(a, sizeof(*rseen) * n);
	for (size_t i = 0; i < n; i++) {
		char *k = arena_alloc(a, KEY_MAX);

		user_key(k, u[i].id);
		keys[i] = k;
		if (!encode(&u[i], &vals[i].data, &vals[i].len)) {
			vals[i].data = NULL;
			vals[i].len = 0;
		}
		rseen[i] = (struct kv_seen){ .fillable = false };
		for (size_t j = 0; j < nids; j++) {
			if (ids[j] == u[i].id)
				rseen[i] = seen[j];
		}
	}
	kv_cache_fill(kv, keys, vals, rseen, n, ttl_s);
	for (size_t i = 0; i < n; i++)
		free(vals[i].data);
}

void users_cache_invalidate(struct kv *kv, int64_t id)
{
	char key[KEY_MAX];

	user_key(key, id);
	kv_cache_invalidate(kv, key);
}
