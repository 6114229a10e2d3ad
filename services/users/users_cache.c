/* users_cache.c - `user:<id>` cache entries; see users_cache.h. */
#include "users_cache.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "log.h"
#include "util.h"

#define KEY_MAX 32

static void user_key(char *buf, int64_t id)
{
	snprintf(buf, KEY_MAX, "user:%" PRId64, id);
}

/* malloc'd JSON of u; caller frees. */
static char *encode(const struct user *u)
{
	json_t *o = json_pack("{sI ss ss ss sb sb sI sI sI}", "id", (json_int_t)u->id, "email",
			      u->email, "name", u->name, "role", u->role, "isActive", u->is_active,
			      "isVerified", u->is_verified, "version", (json_int_t)u->version,
			      "createdAt", (json_int_t)u->created_at_us, "updatedAt",
			      (json_int_t)u->updated_at_us);
	char *s;

	if (!o)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static bool decode(const char *data, size_t len, int64_t want_id, struct user *u)
{
	json_t *o = json_loadb(data, len, 0, NULL);
	json_int_t id = 0, version = 0, created = 0, updated = 0;
	const char *email = NULL, *name = NULL, *role = NULL;
	int active = 0, verified = 0;
	bool ok;

	if (!o)
		return false;
	ok = json_unpack(o, "{sI ss ss ss sb sb sI sI sI}", "id", &id, "email", &email, "name",
			 &name, "role", &role, "isActive", &active, "isVerified", &verified,
			 "version", &version, "createdAt", &created, "updatedAt", &updated) == 0 &&
	     id == want_id;
	if (ok) {
		u->id = id;
		strlcpy_s(u->email, email, sizeof(u->email));
		strlcpy_s(u->name, name, sizeof(u->name));
		strlcpy_s(u->role, role, sizeof(u->role));
		u->is_active = active;
		u->is_verified = verified;
		u->version = version;
		u->created_at_us = created;
		u->updated_at_us = updated;
	}
	json_decref(o);
	return ok;
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
	struct kv_value val = { .data = encode(u) };

	if (!val.data)
		return;
	val.len = strlen(val.data);
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
		vals[i].data = encode(&u[i]);
		vals[i].len = vals[i].data ? strlen(vals[i].data) : 0;
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
