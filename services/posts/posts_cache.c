/* posts_cache.c - `post:<id>` cache entries; see posts_cache.h. */
#include "posts_cache.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "log.h"
#include "util.h"

#define KEY_MAX 32

static void post_key(char *buf, int64_t id)
{
	snprintf(buf, KEY_MAX, KV_POST_PREFIX "%" PRId64, id);
}

/* malloc'd JSON of p (no author name); caller frees. */
static char *encode(const struct post *p)
{
	json_t *o = json_pack("{sI sI ss ss ss sI sI sI sI sI}", "id", (json_int_t)p->id,
			      "authorId", (json_int_t)p->author_id, "title", p->title, "body",
			      p->body, "status", p->status, "commentCount",
			      (json_int_t)p->comment_count, "version", (json_int_t)p->version,
			      "createdAt", (json_int_t)p->created_at_us, "updatedAt",
			      (json_int_t)p->updated_at_us, "publishedAt",
			      (json_int_t)p->published_at_us);
	char *s;

	if (!o)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static bool decode(const char *data, size_t len, struct arena *a, int64_t want_id, struct post *p)
{
	json_t *o = json_loadb(data, len, 0, NULL);
	json_int_t id = 0, author = 0, count = 0, version = 0, created = 0, updated = 0, pub = 0;
	const char *title = NULL, *body = NULL, *status = NULL;
	bool ok;

	if (!o)
		return false;
	ok = json_unpack(o, "{sI sI ss ss ss sI sI sI sI sI}", "id", &id, "authorId", &author,
			 "title", &title, "body", &body, "status", &status, "commentCount", &count,
			 "version", &version, "createdAt", &created, "updatedAt", &updated,
			 "publishedAt", &pub) == 0 &&
	     id == want_id;
	if (ok) {
		memset(p, 0, sizeof(*p));
		p->id = id;
		p->author_id = author;
		p->title = arena_strdup(a, title);
		p->body = arena_strdup(a, body);
		strlcpy_s(p->status, status, sizeof(p->status));
		p->comment_count = count;
		p->version = version;
		p->created_at_us = created;
		p->updated_at_us = updated;
		p->published_at_us = pub;
	}
	json_decref(o);
	return ok;
}

bool posts_cache_get(struct kv *kv, struct arena *a, int64_t id, struct post *out,
		     struct kv_seen *seen)
{
	char key[KEY_MAX];
	char *val = NULL;
	size_t len = 0;
	bool hit;

	post_key(key, id);
	if (kv_cache_get(kv, key, &val, &len, seen) != 1)
		return false;
	hit = decode(val, len, a, id, out);
	free(val);
	return hit;
}

void posts_cache_put(struct kv *kv, const struct post *p, int ttl_s, const struct kv_seen *seen)
{
	char key[KEY_MAX];
	const char *keys[] = { key };
	struct kv_value val = { .data = encode(p) };

	if (!val.data)
		return;
	val.len = strlen(val.data);
	post_key(key, p->id);
	kv_cache_fill(kv, keys, &val, seen, 1, ttl_s);
	free(val.data);
}

void posts_cache_invalidate(struct kv *kv, int64_t id)
{
	char key[KEY_MAX];

	post_key(key, id);
	kv_cache_invalidate(kv, key);
}
