/* kv_cache.c - cache entries that a late fill cannot make stale and whose
 * invalidations are retried until they land (see kv.h, "cache entries").
 *
 * The pending invalidations of a client are a chained hash table under one
 * mutex, with an atomic count so that a read with nothing pending (the normal
 * case) takes no lock. A background thread, started at the first failure,
 * retries them in batches. Each record carries the stamp of its latest
 * failure: a tombstone that lands takes away only the records stamped before
 * it was sent, never one of a write that failed while it was on its way. */
#include "kv.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "log.h"
#include "util.h"

#define PENDING_BUCKETS 4096 /* a power of two */
#define RETRY_BATCH 256      /* keys per retry round trip */

struct pending_key {
	struct pending_key *next;
	uint64_t stamp; /* kv_pending.stamps when its latest failure was recorded */
	char key[];
};

struct kv_pending {
	struct kv *kv;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct pending_key *buckets[PENDING_BUCKETS];
	atomic_size_t count;
	atomic_uint_least64_t stamps; /* raised by every failure recorded */
	atomic_uint_least64_t landed; /* grows each time pending keys land */
	atomic_bool overflow;         /* a key could not be recorded: trust no entry */
	pthread_t thread;
	bool running, stop;
};

/* KEYS: the keys to fill; ARGV[1] the TTL (s), then for key i ARGV[2i] what
 * its read saw ('' = absent, else a tombstone) and ARGV[2i+1] the value. A
 * key is written only when it still holds exactly what its read saw. */
static const char fill_lua[] = "local out = {}\n"
			       "for i, k in ipairs(KEYS) do\n"
			       "  local cur = redis.call('GET', k)\n"
			       "  local seen = ARGV[2 * i]\n"
			       "  out[i] = 0\n"
			       "  if (cur == false and seen == '') or cur == seen then\n"
			       "    redis.call('SET', k, ARGV[2 * i + 1], 'EX', ARGV[1])\n"
			       "    out[i] = 1\n"
			       "  end\n"
			       "end\n"
			       "return out\n";

static struct kv_script fill_script;
static pthread_once_t fill_script_once = PTHREAD_ONCE_INIT;

static void fill_script_load(void)
{
	kv_script_init(&fill_script, fill_lua);
}

/* ---- the pending set ------------------------------------------------------------ */

static size_t bucket_of(const char *key)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (const unsigned char *s = (const unsigned char *)key; *s; s++)
		h = (h ^ *s) * 1099511628211ULL;
	return (size_t)(h & (PENDING_BUCKETS - 1));
}

static struct pending_key **find_locked(struct kv_pending *p, const char *key)
{
	struct pending_key **e = &p->buckets[bucket_of(key)];

	while (*e && strcmp((*e)->key, key) != 0)
		e = &(*e)->next;
	return e;
}

static bool pending_has(struct kv_pending *p, const char *key)
{
	bool has;

	if (atomic_load(&p->overflow))
		return true;
	if (atomic_load(&p->count) == 0)
		return false;
	pthread_mutex_lock(&p->lock);
	has = *find_locked(p, key) != NULL;
	pthread_mutex_unlock(&p->lock);
	return has;
}

static void *retry_main(void *arg);

/* Records key as pending and makes sure the retry thread runs. */
static void pending_add(struct kv_pending *p, const char *key)
{
	struct pending_key **e;
	size_t len = strlen(key) + 1;

	pthread_mutex_lock(&p->lock);
	e = find_locked(p, key);
	if (!*e && atomic_load(&p->count) >= KV_PENDING_MAX) {
		if (!atomic_exchange(&p->overflow, true))
			log_error("too many cache invalidations pending: this process reads "
				  "no cache entry until it restarts",
				  LOG_S("key", key));
	} else if (!*e) {
		*e = xmalloc(sizeof(**e) + len);
		(*e)->next = NULL;
		memcpy((*e)->key, key, len);
		atomic_fetch_add(&p->count, 1);
	}
	if (*e)
		(*e)->stamp = atomic_fetch_add(&p->stamps, 1) + 1;
	if (!p->running && !p->stop) {
		p->running = pthread_create(&p->thread, NULL, retry_main, p) == 0;
		if (!p->running)
			log_error("cannot start the cache invalidation retry thread");
	}
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

/* Forgets keys[0..n): their tombstones, sent when the stamps were at most
 * sent_at, landed. A key that failed again since then stays. */
static void pending_remove(struct kv_pending *p, const char *const *keys, size_t n,
			   uint64_t sent_at)
{
	pthread_mutex_lock(&p->lock);
	atomic_fetch_add(&p->landed, 1); /* before a key leaves: overlapping reads miss */
	for (size_t i = 0; i < n; i++) {
		struct pending_key **e = find_locked(p, keys[i]), *gone = *e;

		if (!gone || gone->stamp > sent_at)
			continue;
		*e = gone->next;
		free(gone);
		atomic_fetch_sub(&p->count, 1);
	}
	pthread_mutex_unlock(&p->lock);
}

/* Copies up to max pending keys (malloc'd, caller frees each). */
static size_t pending_snapshot(struct kv_pending *p, char **out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&p->lock);
	for (size_t b = 0; b < PENDING_BUCKETS && n < max; b++) {
		for (struct pending_key *e = p->buckets[b]; e && n < max; e = e->next)
			out[n++] = xstrdup(e->key);
	}
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* ---- tombstones and retries -------------------------------------------------------- */

static void tombstone(char out[KV_TOMBSTONE_MAX])
{
	static atomic_uint_least64_t seq;
	uint64_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = ((uint64_t)now_unix_ms() << 20) ^ atomic_fetch_add(&seq, 1);
	snprintf(out, KV_TOMBSTONE_MAX, "~%016" PRIx64, r);
}

/* One round trip of tombstones for up to RETRY_BATCH pending keys; true
 * when they all landed (or nothing was pending). */
static bool retry_once(struct kv_pending *p)
{
	char *keys[RETRY_BATCH];
	char tombs[RETRY_BATCH][KV_TOMBSTONE_MAX];
	struct kv_value vals[RETRY_BATCH];
	uint64_t sent_at = atomic_load(&p->stamps); /* before the snapshot and the send */
	size_t n = pending_snapshot(p, keys, RETRY_BATCH);
	bool ok;

	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		tombstone(tombs[i]);
		vals[i].data = tombs[i];
		vals[i].len = strlen(tombs[i]);
	}
	ok = kv_setex_many(p->kv, (const char *const *)keys, vals, n, KV_TOMBSTONE_TTL_S) == 0;
	if (ok) {
		pending_remove(p, (const char *const *)keys, n, sent_at);
		log_info("cache invalidations landed after a retry", LOG_I("keys", (int64_t)n));
	}
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	return ok;
}

/* Sleeps ms whatever new failures arrive (each one signals wake: retrying
 * per failed write would hammer a Redis that refuses them), unless stopped. */
static void sleep_locked(struct kv_pending *p, int ms)
{
	struct timespec t = mono_deadline(ms);

	while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock, &t) != ETIMEDOUT) {
	}
}

static void *retry_main(void *arg)
{
	struct kv_pending *p = arg;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if (atomic_load(&p->count) == 0) {
			pthread_cond_wait(&p->wake, &p->lock);
			continue;
		}
		sleep_locked(p, KV_RETRY_INVALIDATE_MS);
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->lock);
		while (atomic_load(&p->count) > 0 && retry_once(p)) {
		}
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct kv_pending *kv__pending_new(struct kv *kv)
{
	struct kv_pending *p = xcalloc(1, sizeof(*p));

	p->kv = kv;
	pthread_mutex_init(&p->lock, NULL);
	cond_init_monotonic(&p->wake);
	return p;
}

void kv__pending_free(struct kv_pending *p)
{
	size_t left;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	if (p->running)
		pthread_join(p->thread, NULL);
	while (atomic_load(&p->count) > 0 && retry_once(p)) {
	}
	left = atomic_load(&p->count);
	if (left > 0)
		log_error("cache invalidations lost at exit: those entries live out their TTL",
			  LOG_I("keys", (int64_t)left));
	for (size_t b = 0; b < PENDING_BUCKETS; b++) {
		for (struct pending_key *e = p->buckets[b], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

size_t kv_cache_pending(struct kv *kv)
{
	return atomic_load(&kv__pending(kv)->count);
}

void kv_cache_invalidate(struct kv *kv, const char *key)
{
	struct kv_pending *p = kv__pending(kv);
	char tomb[KV_TOMBSTONE_MAX];
	uint64_t sent_at = atomic_load(&p->stamps); /* failures recorded before the send */

	/* Dropped from the near copy before the tombstone (reads from now on
	 * ask Redis) and after it (a read that got the old entry meanwhile
	 * cannot store it): this process reads its write at once, whenever
	 * Redis's own message about the tombstone arrives. */
	kv__near_drop(kv__near(kv), key);
	tombstone(tomb);
	if (kv_setex(kv, key, tomb, strlen(tomb), KV_TOMBSTONE_TTL_S) != 0) {
		log_warn("cache invalidation failed; retrying until it lands", LOG_S("key", key));
		pending_add(p, key);
		kv__near_drop(kv__near(kv), key);
		return;
	}
	kv__near_drop(kv__near(kv), key);
	if (atomic_load(&p->count) > 0)
		pending_remove(p, &key, 1, sent_at); /* it covers the older changes too */
}

/* ---- reads and fills --------------------------------------------------------------- */

/* What a read of key saw, given the value (NULL: absent) it got while
 * landed stayed at epoch; false when the key is pending in this process. */
static bool judge(struct kv_pending *p, const char *key, const char *val, uint64_t epoch,
		  int64_t at_ms, struct kv_seen *seen)
{
	seen->fillable = false;
	seen->tomb[0] = '\0';
	seen->at_ms = at_ms;
	if (pending_has(p, key) || atomic_load(&p->landed) != epoch)
		return false;
	seen->fillable = true;
	if (val && val[0] == '~')
		strlcpy_s(seen->tomb, val, sizeof(seen->tomb));
	return true;
}

int kv_cache_get(struct kv *kv, const char *key, char **val, size_t *len, struct kv_seen *seen)
{
	struct kv_pending *p = kv__pending(kv);
	struct kv_near *near = kv__near(kv);
	struct kv_near_mark mark;
	uint64_t epoch = atomic_load(&p->landed);
	int64_t at = mono_ms();
	int rc;

	*val = NULL;
	*len = 0;
	seen->fillable = false;
	if (pending_has(p, key))
		return 0;
	if (kv__near_usable(near) && kv__near_get(near, key, val, len))
		return 1; /* seen stays unfillable: nothing to fill */
	kv__near_mark(near, key, &mark);
	rc = kv_get(kv, key, val, len);
	if (rc < 0)
		return 0;
	if (judge(p, key, *val, epoch, at, seen) && rc == 1 && (*val)[0] != '~') {
		kv__near_put(near, key, *val, *len, &mark);
		return 1;
	}
	free(*val);
	*val = NULL;
	*len = 0;
	return 0;
}

/* Answers from the near copy what it holds; the keys it does not hold go
 * to miss[] (their indexes) with a mark each. Returns how many missed. */
static size_t mget_near(struct kv *kv, const char *const *keys, size_t n, struct kv_value *out,
			struct kv_seen *seen, size_t *miss, struct kv_near_mark *marks)
{
	struct kv_pending *p = kv__pending(kv);
	struct kv_near *near = kv__near(kv);
	int64_t at = mono_ms();
	bool usable = kv__near_usable(near);
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		out[i] = (struct kv_value){ 0 };
		seen[i] = (struct kv_seen){ .fillable = false, .at_ms = at };
		if (usable && !pending_has(p, keys[i]) &&
		    kv__near_get(near, keys[i], &out[i].data, &out[i].len))
			continue;
		kv__near_mark(near, keys[i], &marks[m]);
		miss[m++] = i;
	}
	return m;
}

size_t kv_cache_mget(struct kv *kv, const char *const *keys, size_t n, struct kv_value *out,
		     struct kv_seen *seen)
{
	struct kv_pending *p = kv__pending(kv);
	uint64_t epoch = atomic_load(&p->landed);
	size_t *miss = xcalloc(n ? n : 1, sizeof(*miss));
	struct kv_near_mark *marks = xcalloc(n ? n : 1, sizeof(*marks));
	const char **mkeys = xcalloc(n ? n : 1, sizeof(*mkeys));
	struct kv_value *mout = xcalloc(n ? n : 1, sizeof(*mout));
	size_t m = mget_near(kv, keys, n, out, seen, miss, marks), hits = n - m;
	bool up;

	for (size_t j = 0; j < m; j++)
		mkeys[j] = keys[miss[j]];
	up = m == 0 || kv_mget(kv, mkeys, m, mout) == 0;
	for (size_t j = 0; up && j < m; j++) {
		size_t i = miss[j];

		if (!judge(p, keys[i], mout[j].data, epoch, seen[i].at_ms, &seen[i]) ||
		    !mout[j].data || mout[j].data[0] == '~') {
			free(mout[j].data);
			continue;
		}
		kv__near_put(kv__near(kv), keys[i], mout[j].data, mout[j].len, &marks[j]);
		out[i] = mout[j];
		hits++;
	}
	free(mout);
	free(mkeys);
	free(marks);
	free(miss);
	return hits;
}

void kv_cache_fill(struct kv *kv, const char *const *keys, const struct kv_value *vals,
		   const struct kv_seen *seen, size_t n, int ttl_s)
{
	const char **k = xcalloc(n ? n : 1, sizeof(*k));
	const char **args = xcalloc(2 * n + 1, sizeof(*args));
	long long *out = xcalloc(n ? n : 1, sizeof(*out));
	char ttl[16];
	int64_t now = mono_ms();
	size_t m = 0;

	snprintf(ttl, sizeof(ttl), "%d", ttl_s);
	args[0] = ttl;
	for (size_t i = 0; i < n; i++) {
		/* Too old a read: the tombstone it must not miss may have expired. */
		if (!seen[i].fillable || !vals[i].data ||
		    now - seen[i].at_ms > KV_TOMBSTONE_TTL_S * 500)
			continue;
		k[m] = keys[i];
		args[1 + 2 * m] = seen[i].tomb;
		args[2 + 2 * m] = vals[i].data;
		m++;
	}
	pthread_once(&fill_script_once, fill_script_load);
	if (m > 0)
		kv_eval_ints(kv, &fill_script, (int)m, k, (int)(2 * m + 1), args, out, m);
	free(out);
	free(args);
	free(k);
}
