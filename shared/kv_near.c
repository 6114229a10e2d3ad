/* kv_near.c - a near copy of cache entries, kept exact by Redis's own
 * invalidation messages (see kv.h, "a near copy").
 *
 * The copy is a direct-mapped table: a key has one slot, chosen by its hash,
 * and a newer key of the same slot takes it. Every slot carries a sequence
 * number that each invalidation of a key of that slot raises, whether the
 * key was there or not, and the table a generation that every loss of the
 * invalidation link raises. A read that misses notes both before it asks
 * Redis, and its answer goes into the copy only when neither moved: an
 * invalidation that overtook the answer cannot be undone by it.
 *
 * One thread holds the link: a connection that asked Redis (CLIENT TRACKING
 * ... BCAST, redirected to itself) for a message on every change of a key
 * under the prefixes, by anyone, including expiry and FLUSHALL, and that
 * subscribed to those messages. It pings every NEAR_PING_MS; the copy is
 * used only while the last answer is younger than NEAR_LIVE_MS (a pong does
 * not order the messages: Redis queues them at the end of its loop's pass).
 * What keeps a read from missing a message that Redis has sent is
 * kv__near_usable: nothing unread on the socket, and nothing read from it
 * that the thread has not applied yet. */
#include "kv.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "util.h"

#define NEAR_LOCKS 64         /* slot locks, a power of two */
#define NEAR_PING_MS 100      /* the link's heartbeat */
#define NEAR_LIVE_MS 300      /* the copy is trusted this long after the last answer */
#define NEAR_MAX_AGE_MS 60000 /* an entry is read again from Redis after this long */
#define NEAR_RETRY_MS 1000    /* between attempts to open the link */
#define NEAR_CHANNEL "__redis__:invalidate"

struct near_slot {
	uint64_t seq; /* raised by every invalidation of a key of this slot */
	char *key;    /* NULL: empty */
	char *val;
	size_t len;
	int64_t at_ms; /* when it was stored */
};

#define NEAR_PREFIXES 4
#define NEAR_PREFIX_MAX 32

struct kv_near {
	struct kv *kv;
	char prefix[NEAR_PREFIXES][NEAR_PREFIX_MAX];
	size_t nprefix;
	atomic_int link_fd; /* the link's socket, -1 while it is down */
	size_t mask;        /* slots - 1 */
	struct near_slot *slots;
	pthread_mutex_t locks[NEAR_LOCKS];
	atomic_uint_least64_t gen;       /* raised when the link is lost or opened */
	atomic_int_least64_t live_until; /* monotonic ms; 0 while the link is down */
	/* Odd while the link's thread holds bytes read from the socket that it
	 * has not applied yet (a message being handled, or part of one). */
	atomic_uint_least64_t unapplied;

	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stop;
	pthread_t thread;
	bool warned; /* the link failed; logged once until it works again */
};

static uint64_t hash_of(const char *key)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (const unsigned char *s = (const unsigned char *)key; *s; s++)
		h = (h ^ *s) * 1099511628211ULL;
	return h;
}

static bool live(const struct kv_near *n)
{
	return mono_ms() < atomic_load_explicit(&n->live_until, memory_order_acquire);
}

static bool followed(const struct kv_near *n, const char *key)
{
	for (size_t i = 0; i < n->nprefix; i++) {
		if (strncmp(key, n->prefix[i], strlen(n->prefix[i])) == 0)
			return true;
	}
	return false;
}

/* Live, and no message waiting unread on the link. Redis writes a change's
 * message in the same pass of its event loop as its answer to the writer,
 * so a read after this check does not miss the message of a write whose
 * writer has since answered its own client, however late the link's thread
 * runs (unless Redis was held up between those two writes). */
bool kv__near_usable(struct kv_near *n)
{
	struct pollfd pfd = { .fd = -1, .events = POLLIN };
	uint64_t held;

	if (!n || !live(n))
		return false;
	held = atomic_load(&n->unapplied);
	if (held & 1)
		return false;
	pfd.fd = atomic_load(&n->link_fd);
	/* and nothing was read between the two loads of unapplied */
	return pfd.fd >= 0 && poll(&pfd, 1, 0) == 0 && atomic_load(&n->unapplied) == held;
}

/* The link's thread marks what it reads as not applied yet (odd), and as
 * applied (even) once its reader holds nothing more. */
static void mark_unapplied(struct kv_near *n, bool unapplied)
{
	if ((atomic_load(&n->unapplied) & 1) != unapplied)
		atomic_fetch_add(&n->unapplied, 1);
}

static void slot_clear(struct near_slot *s)
{
	free(s->key);
	free(s->val);
	s->key = NULL;
	s->val = NULL;
	s->len = 0;
}

/* ---- the copy ------------------------------------------------------------------ */

bool kv__near_get(struct kv_near *n, const char *key, char **val, size_t *len)
{
	size_t i;
	struct near_slot *s;
	bool hit = false;

	if (!n)
		return false;
	i = (size_t)hash_of(key) & n->mask;
	s = &n->slots[i];
	pthread_mutex_lock(&n->locks[i & (NEAR_LOCKS - 1)]);
	if (s->key && strcmp(s->key, key) == 0 && mono_ms() - s->at_ms < NEAR_MAX_AGE_MS) {
		*val = xmalloc(s->len + 1);
		memcpy(*val, s->val, s->len + 1);
		*len = s->len;
		hit = true;
	}
	pthread_mutex_unlock(&n->locks[i & (NEAR_LOCKS - 1)]);
	return hit;
}

void kv__near_mark(struct kv_near *n, const char *key, struct kv_near_mark *m)
{
	size_t i;

	m->usable = false;
	if (!n || !followed(n, key))
		return;
	m->gen = atomic_load(&n->gen);
	if (!live(n))
		return;
	i = (size_t)hash_of(key) & n->mask;
	pthread_mutex_lock(&n->locks[i & (NEAR_LOCKS - 1)]);
	m->seq = n->slots[i].seq;
	pthread_mutex_unlock(&n->locks[i & (NEAR_LOCKS - 1)]);
	m->usable = true;
}

void kv__near_put(struct kv_near *n, const char *key, const char *val, size_t len,
		  const struct kv_near_mark *m)
{
	size_t i;
	struct near_slot *s;

	if (!n || !m->usable)
		return;
	i = (size_t)hash_of(key) & n->mask;
	s = &n->slots[i];
	pthread_mutex_lock(&n->locks[i & (NEAR_LOCKS - 1)]);
	/* The generation is read under the slot lock, which a flush also takes
	 * for every slot after raising it. */
	if (s->seq == m->seq && atomic_load(&n->gen) == m->gen && live(n)) {
		slot_clear(s);
		s->key = xstrdup(key);
		s->val = xmalloc(len + 1);
		memcpy(s->val, val, len);
		s->val[len] = '\0';
		s->len = len;
		s->at_ms = mono_ms();
	}
	pthread_mutex_unlock(&n->locks[i & (NEAR_LOCKS - 1)]);
}

void kv__near_drop(struct kv_near *n, const char *key)
{
	size_t i;
	struct near_slot *s;

	if (!n)
		return;
	i = (size_t)hash_of(key) & n->mask;
	s = &n->slots[i];
	pthread_mutex_lock(&n->locks[i & (NEAR_LOCKS - 1)]);
	s->seq++;
	if (s->key && strcmp(s->key, key) == 0)
		slot_clear(s);
	pthread_mutex_unlock(&n->locks[i & (NEAR_LOCKS - 1)]);
}

/* Forgets every entry; reads in flight cannot store theirs. */
static void flush_all(struct kv_near *n)
{
	atomic_fetch_add(&n->gen, 1);
	for (size_t l = 0; l < NEAR_LOCKS; l++) {
		pthread_mutex_lock(&n->locks[l]);
		for (size_t i = l; i <= n->mask; i += NEAR_LOCKS) {
			n->slots[i].seq++;
			slot_clear(&n->slots[i]);
		}
		pthread_mutex_unlock(&n->locks[l]);
	}
}

/* ---- the link ------------------------------------------------------------------ */

/* Waits up to ms or until stop; true when stopping. */
static bool wait_or_stop(struct kv_near *n, int ms)
{
	struct timespec t = mono_deadline(ms);
	bool stop;

	pthread_mutex_lock(&n->stop_lock);
	if (!n->stop)
		pthread_cond_timedwait(&n->stop_cond, &n->stop_lock, &t);
	stop = n->stop;
	pthread_mutex_unlock(&n->stop_lock);
	return stop;
}

static bool stopping(struct kv_near *n)
{
	bool stop;

	pthread_mutex_lock(&n->stop_lock);
	stop = n->stop;
	pthread_mutex_unlock(&n->stop_lock);
	return stop;
}

static void link_failed(struct kv_near *n, const char *what, const char *detail)
{
	if (n->warned)
		return;
	n->warned = true;
	log_warn("near cache off: its Redis invalidation link failed; reads go to Redis",
		 LOG_S("step", what), LOG_S("error", detail ? detail : ""));
}

/* CLIENT TRACKING on REDIRECT <id> BCAST PREFIX <p>...: a message to
 * client id for every change of a key under the prefixes. */
static redisReply *track(const struct kv_near *n, redisContext *ctx, long long id)
{
	const char *argv[6 + 2 * NEAR_PREFIXES] = { "CLIENT",   "TRACKING", "on",
						    "REDIRECT", NULL,       "BCAST" };
	char ids[24];
	int argc = 6;

	snprintf(ids, sizeof(ids), "%lld", id);
	argv[4] = ids;
	for (size_t i = 0; i < n->nprefix; i++) {
		argv[argc++] = "PREFIX";
		argv[argc++] = n->prefix[i];
	}
	return redisCommandArgv(ctx, argc, argv, NULL);
}

/* Asks for invalidation messages on ctx and subscribes to them; false (and
 * logged) when Redis refuses, e.g. one older than 6.0. */
static bool link_setup(struct kv_near *n, redisContext *ctx)
{
	redisReply *r = redisCommand(ctx, "CLIENT ID");
	long long id;
	bool ok;

	if (!r || r->type != REDIS_REPLY_INTEGER) {
		link_failed(n, "CLIENT ID",
			    r && r->type == REDIS_REPLY_ERROR ? r->str : ctx->errstr);
		if (r)
			freeReplyObject(r);
		return false;
	}
	id = r->integer;
	freeReplyObject(r);
	r = track(n, ctx, id);
	ok = r && r->type == REDIS_REPLY_STATUS;
	if (!ok) {
		link_failed(n, "CLIENT TRACKING",
			    r && r->type == REDIS_REPLY_ERROR ? r->str : ctx->errstr);
		if (r)
			freeReplyObject(r);
		return false;
	}
	freeReplyObject(r);
	r = redisCommand(ctx, "SUBSCRIBE " NEAR_CHANNEL);
	ok = r && r->type == REDIS_REPLY_ARRAY;
	if (!ok)
		link_failed(n, "SUBSCRIBE",
			    r && r->type == REDIS_REPLY_ERROR ? r->str : ctx->errstr);
	if (r)
		freeReplyObject(r);
	return ok;
}

/* One message from the link: an invalidation, or a pong. */
static void on_reply(struct kv_near *n, const redisReply *r)
{
	const redisReply *keys;

	atomic_store_explicit(&n->live_until, mono_ms() + NEAR_LIVE_MS, memory_order_release);
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "message") != 0)
		return; /* a pong */
	keys = r->element[2];
	if (keys->type != REDIS_REPLY_ARRAY) {
		flush_all(n); /* FLUSHALL, FLUSHDB: every key changed */
		return;
	}
	for (size_t i = 0; i < keys->elements; i++) {
		const redisReply *k = keys->element[i];

		/* BCAST names only keys under the prefixes; anything else (Redis
		 * 6.0's early FLUSHALL message, a one-key array of "\0") is taken
		 * as every key changed. */
		if (k->type != REDIS_REPLY_STRING || strlen(k->str) != k->len ||
		    !followed(n, k->str)) {
			flush_all(n);
			return;
		}
		kv__near_drop(n, k->str);
	}
}

/* Reads and pings until the link breaks or the client stops. */
static void link_run(struct kv_near *n, redisContext *ctx)
{
	int64_t next_ping = mono_ms();

	while (!stopping(n)) {
		struct pollfd pfd = { .fd = ctx->fd, .events = POLLIN };
		int64_t now = mono_ms();
		void *reply;
		int done = 0;

		if (now >= next_ping) {
			if (redisAppendCommand(ctx, "PING") != REDIS_OK)
				return;
			while (!done) {
				if (redisBufferWrite(ctx, &done) != REDIS_OK)
					return;
			}
			next_ping = now + NEAR_PING_MS;
		}
		if (poll(&pfd, 1, (int)(next_ping - now)) < 0 && errno != EINTR)
			return;
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		mark_unapplied(n, true);
		if (redisBufferRead(ctx) != REDIS_OK)
			return;
		for (;;) {
			reply = NULL;
			if (redisGetReplyFromReader(ctx, &reply) != REDIS_OK)
				return;
			if (!reply)
				break;
			on_reply(n, reply);
			freeReplyObject(reply);
		}
		mark_unapplied(n, ctx->reader->pos < ctx->reader->len);
	}
}

static void *link_main(void *arg)
{
	struct kv_near *n = arg;

	while (!stopping(n)) {
		redisContext *ctx = kv__open(n->kv);

		if (ctx && link_setup(n, ctx)) {
			flush_all(n); /* reads noted before this point cannot store */
			atomic_store(&n->link_fd, ctx->fd);
			atomic_store(&n->live_until, mono_ms() + NEAR_LIVE_MS);
			if (n->warned)
				log_info("near cache on again: its Redis invalidation link works");
			n->warned = false;
			link_run(n, ctx);
			atomic_store(&n->live_until, 0);
			atomic_store(&n->link_fd,
				     -1); /* before its close: no check polls it after */
			flush_all(n);
			mark_unapplied(n, false);
			if (!stopping(n))
				link_failed(n, "read",
					    ctx->errstr[0] ? ctx->errstr : "connection lost");
		} else if (!ctx) {
			link_failed(n, "connect", "Redis unreachable");
		}
		if (ctx)
			redisFree(ctx);
		if (wait_or_stop(n, NEAR_RETRY_MS))
			break;
	}
	return NULL;
}

struct kv_near *kv__near_new(struct kv *kv, const char *const *prefixes, size_t entries)
{
	struct kv_near *n;
	size_t slots = 64, np = 0;

	for (; prefixes && prefixes[np]; np++) {
		if (np == NEAR_PREFIXES || prefixes[np][0] == '\0' ||
		    strlen(prefixes[np]) >= NEAR_PREFIX_MAX)
			return NULL;
	}
	if (entries == 0 || np == 0)
		return NULL;
	while (slots < entries)
		slots <<= 1;
	n = xcalloc(1, sizeof(*n));
	n->kv = kv;
	for (size_t i = 0; i < np; i++)
		strlcpy_s(n->prefix[i], prefixes[i], NEAR_PREFIX_MAX);
	n->nprefix = np;
	atomic_init(&n->link_fd, -1);
	n->mask = slots - 1;
	n->slots = xcalloc(slots, sizeof(*n->slots));
	for (size_t l = 0; l < NEAR_LOCKS; l++)
		pthread_mutex_init(&n->locks[l], NULL);
	pthread_mutex_init(&n->stop_lock, NULL);
	cond_init_monotonic(&n->stop_cond);
	if (pthread_create(&n->thread, NULL, link_main, n) != 0) {
		log_error("cannot start the near cache's link thread; reads go to Redis");
		n->stop = true; /* kv__near_free joins nothing */
		kv__near_free(n);
		return NULL;
	}
	return n;
}

void kv__near_free(struct kv_near *n)
{
	bool joined;

	if (!n)
		return;
	pthread_mutex_lock(&n->stop_lock);
	joined = !n->stop;
	n->stop = true;
	pthread_cond_signal(&n->stop_cond);
	pthread_mutex_unlock(&n->stop_lock);
	if (joined)
		pthread_join(n->thread, NULL);
	for (size_t i = 0; i <= n->mask; i++)
		slot_clear(&n->slots[i]);
	free(n->slots);
	for (size_t l = 0; l < NEAR_LOCKS; l++)
		pthread_mutex_destroy(&n->locks[l]);
	pthread_cond_destroy(&n->stop_cond);
	pthread_mutex_destroy(&n->stop_lock);
	free(n);
}

bool kv_cache_near_live(struct kv *kv)
{
	struct kv_near *n = kv__near(kv);

	return n && live(n);
}

/* ---- entries a process derives itself ---------------------------------------------- */

bool kv_near_usable(struct kv *kv)
{
	return kv__near_usable(kv__near(kv));
}

bool kv_near_get(struct kv *kv, const char *key, char **val, size_t *len)
{
	return kv__near_get(kv__near(kv), key, val, len);
}

void kv_near_mark(struct kv *kv, const char *key, struct kv_near_mark *m)
{
	kv__near_mark(kv__near(kv), key, m);
}

void kv_near_put(struct kv *kv, const char *key, const char *val, size_t len,
		 const struct kv_near_mark *m)
{
	kv__near_put(kv__near(kv), key, val, len, m);
}
