/* kv.c - Redis client on hiredis (see kv.h).
 *
 * A pool of blocking contexts under one mutex. A context that saw an I/O
 * error is freed, and so are the idle ones (they point at the same dead
 * server); from then on one caller per second may try to connect, and every
 * other call fails at once until a connection succeeds again. */
#include "kv.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include "log.h"
#include "util.h"

#define KV_RETRY_MS 1000 /* reconnect attempts after a failure: at most one per interval */
#define KV_HOST_MAX 256
#define KV_PASSWORD_MAX 256

struct kv {
	char host[KV_HOST_MAX];
	int port;
	char user[KV_PASSWORD_MAX];     /* an ACL user (AUTH user password); empty: default */
	char password[KV_PASSWORD_MAX]; /* empty: no AUTH */
	int db;
	int timeout_ms;
	int max_conns;

	pthread_mutex_t lock;
	pthread_cond_t freed; /* a context or a slot came back */
	redisContext **idle;  /* max_conns entries */
	int nidle;
	int total;                  /* contexts that exist or are being opened */
	int64_t retry_at_ms;        /* 0 = up; else no connect attempt before this time */
	struct kv_pending *pending; /* invalidations not landed yet (kv_cache.c) */
	struct kv_near *near;       /* NULL: no near copy (kv_near.c) */
};

/* ---- URL -------------------------------------------------------------------- */

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Copies [s, end) percent-decoded into out; false when malformed or too long. */
static bool url_decode(const char *s, const char *end, char *out, size_t outsize)
{
	size_t o = 0;

	for (; s < end; s++) {
		char ch = *s;

		if (ch == '%') {
			int hi = end - s > 2 ? hexval(s[1]) : -1;
			int lo = end - s > 2 ? hexval(s[2]) : -1;

			if (hi < 0 || lo < 0)
				return false;
			ch = (char)(hi * 16 + lo);
			s += 2;
		}
		if (o + 1 >= outsize || ch == '\0')
			return false;
		out[o++] = ch;
	}
	out[o] = '\0';
	return true;
}

/* A whole decimal number in [min, max]. */
static bool parse_range(const char *s, const char *end, int min, int max, int *out)
{
	char buf[16];
	int64_t v;
	size_t len = (size_t)(end - s);

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[0] == '-' || !parse_int64(buf, &v) || v < min || v > max)
		return false;
	*out = (int)v;
	return true;
}

/* host, [ipv6], host:port, [ipv6]:port */
static bool parse_hostport(struct kv *kv, const char *s, const char *end)
{
	const char *host = s, *host_end, *colon = NULL;

	if (s < end && *s == '[') {
		host = s + 1;
		host_end = memchr(host, ']', (size_t)(end - host));
		if (!host_end)
			return false;
		if (host_end + 1 < end) {
			if (host_end[1] != ':')
				return false;
			colon = host_end + 1;
		}
	} else {
		colon = memchr(s, ':', (size_t)(end - s));
		host_end = colon ? colon : end;
	}
	if (host_end == host || (size_t)(host_end - host) >= sizeof(kv->host))
		return false;
	memcpy(kv->host, host, (size_t)(host_end - host));
	kv->host[host_end - host] = '\0';
	kv->port = 6379;
	if (colon && !parse_range(colon + 1, end, 1, 65535, &kv->port))
		return false;
	return true;
}

/* redis://[[user]:password@]host[:port][/db] */
static bool parse_url(struct kv *kv, const char *url)
{
	static const char scheme[] = "redis://";
	const char *s, *end, *at, *slash;

	if (!url || strncmp(url, scheme, sizeof(scheme) - 1) != 0)
		return false;
	s = url + sizeof(scheme) - 1;
	slash = strchr(s, '/');
	end = slash ? slash : s + strlen(s);
	at = NULL;
	for (const char *q = s; q < end; q++) {
		if (*q == '@')
			at = q;
	}
	if (at) {
		const char *colon = memchr(s, ':', (size_t)(at - s));

		/* A user without a password ("redis://user@host") sends no AUTH. */
		if (colon && (!url_decode(s, colon, kv->user, sizeof(kv->user)) ||
			      !url_decode(colon + 1, at, kv->password, sizeof(kv->password))))
			return false;
		s = at + 1;
	}
	if (!parse_hostport(kv, s, end))
		return false;
	kv->db = 0;
	if (slash && slash[1] &&
	    !parse_range(slash + 1, slash + strlen(slash), 0, 1 << 20, &kv->db))
		return false;
	return true;
}

/* ---- connections ------------------------------------------------------------ */

static struct timeval ms_to_tv(int ms)
{
	return (struct timeval){ .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
}

/* Runs a command that must answer +OK (AUTH, SELECT). */
static bool command_ok(redisContext *ctx, int argc, const char **argv, const char *what)
{
	redisReply *r = redisCommandArgv(ctx, argc, argv, NULL);
	bool ok = r && r->type == REDIS_REPLY_STATUS;

	if (r && r->type == REDIS_REPLY_ERROR)
		log_warn("redis refused the connection setup", LOG_S("command", what),
			 LOG_S("error", r->str));
	if (r)
		freeReplyObject(r);
	return ok;
}

/* A connected, authenticated context on the right db, or NULL. */
static redisContext *ctx_open(struct kv *kv)
{
	char db[16];
	/* AUTH [user] password: a named user is a Redis 6 ACL user */
	const char *auth3[] = { "AUTH", kv->user, kv->password };
	const char *auth2[] = { "AUTH", kv->password };
	const char *select[] = { "SELECT", db };
	redisContext *ctx = redisConnectWithTimeout(kv->host, kv->port, ms_to_tv(kv->timeout_ms));

	if (!ctx)
		return NULL;
	if (ctx->err) {
		log_warn("redis unreachable", LOG_S("host", kv->host), LOG_I("port", kv->port),
			 LOG_S("error", ctx->errstr));
		goto out_free;
	}
	if (redisSetTimeout(ctx, ms_to_tv(kv->timeout_ms)) != REDIS_OK)
		goto out_free;
	redisEnableKeepAlive(ctx);
	if (kv->password[0] &&
	    !command_ok(ctx, kv->user[0] ? 3 : 2, kv->user[0] ? auth3 : auth2, "AUTH"))
		goto out_free;
	snprintf(db, sizeof(db), "%d", kv->db);
	if (kv->db != 0 && !command_ok(ctx, 2, select, "SELECT"))
		goto out_free;
	return ctx;
out_free:
	redisFree(ctx);
	return NULL;
}

/* After a failure: the idle contexts are as dead as the one that failed. */
static void mark_down_locked(struct kv *kv)
{
	kv->retry_at_ms = mono_ms() + KV_RETRY_MS;
	while (kv->nidle > 0) {
		redisFree(kv->idle[--kv->nidle]);
		kv->total--;
	}
	pthread_cond_broadcast(&kv->freed);
}

/* Reserves an idle context or a slot to open one, waiting up to the timeout
 * for one to come back. 1 = *out idle context, 0 = open one, -1 = fail now. */
static int take_slot(struct kv *kv, redisContext **out)
{
	struct timespec deadline = mono_deadline(kv->timeout_ms);
	int rc = 0;

	for (;;) {
		if (kv->retry_at_ms && mono_ms() < kv->retry_at_ms)
			return -1; /* down: fail fast */
		if (kv->nidle > 0) {
			*out = kv->idle[--kv->nidle];
			return 1;
		}
		if (kv->total < kv->max_conns) {
			kv->total++;
			/* This caller is the one attempt of this interval. */
			if (kv->retry_at_ms)
				kv->retry_at_ms = mono_ms() + KV_RETRY_MS;
			return 0;
		}
		if (rc == ETIMEDOUT)
			return -1;
		rc = pthread_cond_timedwait(&kv->freed, &kv->lock, &deadline);
	}
}

/* A usable context, or NULL at once when Redis is known to be down. */
static redisContext *kv_acquire(struct kv *kv)
{
	redisContext *ctx = NULL;
	int got;

	pthread_mutex_lock(&kv->lock);
	got = take_slot(kv, &ctx);
	pthread_mutex_unlock(&kv->lock);
	if (got != 0)
		return ctx;
	ctx = ctx_open(kv);
	pthread_mutex_lock(&kv->lock);
	if (ctx) {
		kv->retry_at_ms = 0;
	} else {
		kv->total--;
		mark_down_locked(kv);
	}
	pthread_mutex_unlock(&kv->lock);
	return ctx;
}

/* Gives a context back; one with an error is freed and marks Redis down. */
static void kv_release(struct kv *kv, redisContext *ctx)
{
	pthread_mutex_lock(&kv->lock);
	if (ctx->err) {
		log_warn("redis connection failed", LOG_S("error", ctx->errstr));
		redisFree(ctx);
		kv->total--;
		mark_down_locked(kv);
	} else {
		kv->idle[kv->nidle++] = ctx;
		pthread_cond_signal(&kv->freed);
	}
	pthread_mutex_unlock(&kv->lock);
}

struct kv *kv_new(const char *url, int timeout_ms, int max_conns)
{
	struct kv *kv = xcalloc(1, sizeof(*kv));

	if (!parse_url(kv, url)) {
		free(kv);
		return NULL;
	}
	kv->timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
	kv->max_conns = max_conns > 0 ? max_conns : 1;
	kv->idle = xcalloc((size_t)kv->max_conns, sizeof(*kv->idle));
	pthread_mutex_init(&kv->lock, NULL);
	cond_init_monotonic(&kv->freed);
	kv->pending = kv__pending_new(kv);
	return kv;
}

struct kv_pending *kv__pending(struct kv *kv)
{
	return kv->pending;
}

struct kv_near *kv__near(struct kv *kv)
{
	return kv->near;
}

redisContext *kv__open(struct kv *kv)
{
	return ctx_open(kv);
}

bool kv_cache_near(struct kv *kv, const char *const *prefixes, size_t entries)
{
	if (kv->near)
		return false;
	kv->near = kv__near_new(kv, prefixes, entries);
	return kv->near != NULL;
}

void kv_free(struct kv *kv)
{
	if (!kv)
		return;
	kv__near_free(kv->near);
	kv__pending_free(kv->pending); /* its last attempt still uses the pool */
	while (kv->nidle > 0)
		redisFree(kv->idle[--kv->nidle]);
	pthread_cond_destroy(&kv->freed);
	pthread_mutex_destroy(&kv->lock);
	free(kv->idle);
	free(kv);
}

/* ---- commands --------------------------------------------------------------- */

/* One command; the reply (caller frees) or NULL when Redis is unavailable. A
 * Redis error reply (WRONGTYPE, OOM, ...) is logged and also NULL. */
static redisReply *run(struct kv *kv, int argc, const char **argv, const size_t *argvlen)
{
	redisContext *ctx = kv_acquire(kv);
	redisReply *r;

	if (!ctx)
		return NULL;
	r = redisCommandArgv(ctx, argc, argv, argvlen);
	kv_release(kv, ctx);
	if (r && r->type == REDIS_REPLY_ERROR) {
		log_warn("redis command failed", LOG_S("command", argv[0]), LOG_S("error", r->str));
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

bool kv_ping(struct kv *kv)
{
	const char *argv[] = { "PING" };
	redisReply *r = run(kv, 1, argv, NULL);
	bool ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;

	if (r)
		freeReplyObject(r);
	return ok;
}

/* A malloc'd, NUL-terminated copy of a bulk string. */
static char *dup_bulk(const redisReply *r)
{
	char *p = xmalloc(r->len + 1);

	memcpy(p, r->str, r->len);
	p[r->len] = '\0';
	return p;
}

int kv_get(struct kv *kv, const char *key, char **val, size_t *len)
{
	const char *argv[] = { "GET", key };
	redisReply *r = run(kv, 2, argv, NULL);
	int rc = -1;

	*val = NULL;
	*len = 0;
	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_NIL) {
		rc = 0;
	} else if (r->type == REDIS_REPLY_STRING) {
		*val = dup_bulk(r);
		*len = r->len;
		rc = 1;
	}
	freeReplyObject(r);
	return rc;
}

static bool reply_is_ok(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
}

int kv_setex(struct kv *kv, const char *key, const void *val, size_t len, int ttl_s)
{
	char ttl[16];
	const char *argv[] = { "SET", key, val, "EX", ttl };
	size_t argvlen[] = { 3, strlen(key), len, 2, 0 };
	redisReply *r;
	int rc;

	argvlen[4] = (size_t)snprintf(ttl, sizeof(ttl), "%d", ttl_s);
	r = run(kv, 5, argv, argvlen);
	rc = reply_is_ok(r) ? 0 : -1;
	if (r)
		freeReplyObject(r);
	return rc;
}

int kv_del(struct kv *kv, const char *const *keys, size_t n)
{
	const char **argv;
	redisReply *r;
	int rc;

	if (n == 0)
		return 0;
	argv = xcalloc(n + 1, sizeof(*argv));
	argv[0] = "DEL";
	memcpy(argv + 1, keys, n * sizeof(*keys));
	r = run(kv, (int)n + 1, argv, NULL);
	free(argv);
	rc = r && r->type == REDIS_REPLY_INTEGER ? 0 : -1;
	if (r)
		freeReplyObject(r);
	return rc;
}

int kv_mget(struct kv *kv, const char *const *keys, size_t n, struct kv_value *out)
{
	const char **argv;
	redisReply *r;

	memset(out, 0, n * sizeof(*out));
	if (n == 0)
		return 0;
	argv = xcalloc(n + 1, sizeof(*argv));
	argv[0] = "MGET";
	memcpy(argv + 1, keys, n * sizeof(*keys));
	r = run(kv, (int)n + 1, argv, NULL);
	free(argv);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != n) {
		if (r)
			freeReplyObject(r);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const redisReply *e = r->element[i];

		if (e->type == REDIS_REPLY_STRING) {
			out[i].data = dup_bulk(e);
			out[i].len = e->len;
		}
	}
	freeReplyObject(r);
	return 0;
}

void kv_values_release(struct kv_value *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].data);
		v[i].data = NULL;
		v[i].len = 0;
	}
}

/* Reads n pipelined replies (all of them, to keep the connection in step);
 * 0 when every one was +OK. */
static int read_ok_replies(redisContext *ctx, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		void *reply = NULL;

		if (redisGetReply(ctx, &reply) != REDIS_OK)
			return -1; /* ctx->err is set: the context is dropped */
		if (!reply_is_ok(reply)) {
			const redisReply *r = reply;

			if (r->type == REDIS_REPLY_ERROR)
				log_warn("redis command failed", LOG_S("command", "SET"),
					 LOG_S("error", r->str));
			rc = -1;
		}
		freeReplyObject(reply);
	}
	return rc;
}

int kv_setex_many(struct kv *kv, const char *const *keys, const struct kv_value *vals, size_t n,
		  int ttl_s)
{
	char ttl[16];
	size_t ttl_len = (size_t)snprintf(ttl, sizeof(ttl), "%d", ttl_s);
	redisContext *ctx;
	int rc = 0;

	if (n == 0)
		return 0;
	ctx = kv_acquire(kv);
	if (!ctx)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *argv[] = { "SET", keys[i], vals[i].data ? vals[i].data : "", "EX",
				       ttl };
		size_t argvlen[] = { 3, strlen(keys[i]), vals[i].data ? vals[i].len : 0, 2,
				     ttl_len };

		if (redisAppendCommandArgv(ctx, 5, argv, argvlen) != REDIS_OK)
			rc = -1;
	}
	if (rc == 0)
		rc = read_ok_replies(ctx, n);
	kv_release(kv, ctx);
	return rc;
}

/* ---- scripts ------------------------------------------------------------------ */

void kv_script_init(struct kv_script *s, const char *src)
{
	unsigned char md[SHA_DIGEST_LENGTH];
	static const char hex[] = "0123456789abcdef";

	s->src = src;
	SHA1((const unsigned char *)src, strlen(src), md);
	for (size_t i = 0; i < SHA_DIGEST_LENGTH; i++) {
		s->sha[2 * i] = hex[md[i] >> 4];
		s->sha[2 * i + 1] = hex[md[i] & 15];
	}
	s->sha[2 * SHA_DIGEST_LENGTH] = '\0';
}

/* EVALSHA, then EVAL when the server answers NOSCRIPT; the reply or NULL. */
static redisReply *eval_reply(redisContext *ctx, const struct kv_script *s, int nkeys,
			      const char *const *keys, int nargs, const char *const *args)
{
	char numkeys[16];
	int argc = 3 + nkeys + nargs;
	const char **argv = xcalloc((size_t)argc, sizeof(*argv));
	redisReply *r;

	snprintf(numkeys, sizeof(numkeys), "%d", nkeys);
	argv[0] = "EVALSHA";
	argv[1] = s->sha;
	argv[2] = numkeys;
	memcpy(argv + 3, keys, (size_t)nkeys * sizeof(*argv));
	memcpy(argv + 3 + nkeys, args, (size_t)nargs * sizeof(*argv));
	r = redisCommandArgv(ctx, argc, argv, NULL);
	if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(r);
		argv[0] = "EVAL";
		argv[1] = s->src;
		r = redisCommandArgv(ctx, argc, argv, NULL);
	}
	free(argv);
	return r;
}

int kv_eval_ints(struct kv *kv, const struct kv_script *s, int nkeys, const char *const *keys,
		 int nargs, const char *const *args, long long *out, size_t nout)
{
	redisContext *ctx = kv_acquire(kv);
	redisReply *r;
	int rc = -1;

	if (!ctx)
		return -1;
	r = eval_reply(ctx, s, nkeys, keys, nargs, args);
	kv_release(kv, ctx);
	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_ERROR) {
		log_warn("redis script failed", LOG_S("error", r->str));
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements >= nout) {
		rc = 0;
		for (size_t i = 0; i < nout; i++) {
			if (r->element[i]->type != REDIS_REPLY_INTEGER)
				rc = -1;
			else
				out[i] = r->element[i]->integer;
		}
	}
	freeReplyObject(r);
	return rc;
}
