/* soak_client.c - the load client of `make soak` (bench/soak.sh).
 *
 *   soak-client <base url> <seconds> <threads> <outdir>
 *
 * Signs up and logs in max(16, threads) users, then runs <threads> threads for
 * <seconds>, each with its own libcurl easy handle (keep-alive), doing a
 * weighted mix of reads, writes, logins and bad requests (op_table), paced to
 * SOAK_RATE requests/s in all (default 100; 0: as fast as it can). Each user
 * belongs to one thread, so its If-Match is never raced. Answers are counted in
 * memory per second, operation and status class (bounded: seconds x ops x
 * classes per thread); the rest is appended to files in <outdir> as it happens:
 *   posts.tsv     acknowledged POST /posts (201): end_ms, post id, user id
 *   comments.tsv  acknowledged comments (201): end_ms, post id, comment id
 *   errors.tsv    5xx and transport errors (status 0): start_ms, end_ms, op,
 *                 status, error.code or the curl message
 *   odd.tsv       any other status than the operation expects, and answers that
 *                 contradict an acknowledged write (same columns)
 *   stalls.tsv    times the machine did not run the client: a 100 ms sleep of a
 *                 watcher thread that overran by more than 1 s (start_ms,
 *                 end_ms, overrun ms); a frozen VM or host stalls every process
 *                 at once, and soak.sh tells the errors it causes apart
 * and at the end:
 *   seconds.tsv   second, its wall-clock ms, op, counts: err 2xx 3xx 4xx 5xx
 *   totals.tsv    per op: expected status, counts, unexpected, p50/p99/max ms
 *   users.tsv     id, email, password, last acknowledged version and name
 * soak.sh checks those files afterwards. Exit: 0 ok, 2 usage or set-up error.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define MIN_USERS 16
#define RING_SIZE 1024     /* recent post ids that reads and comments pick from */
#define BODY_MAX (4 << 20) /* a bigger answer is a bug: the transfer is aborted */
#define LAT_BUCKETS 1300   /* 1 ms up to 1 s, then 100 ms up to 30 s */
#define EXTRA_SECONDS 120  /* slots for answers arriving after <seconds> */
#define STALL_MS 1000      /* a watcher's sleep overrun that counts as a stall */

enum op {
	OP_LIST,
	OP_GET_POST,
	OP_ME,
	OP_CREATE_POST,
	OP_COMMENT,
	OP_PATCH_ME,
	OP_LOGIN_OK,
	OP_LOGIN_BAD,
	OP_BAD_JSON,
	OP_NOT_FOUND,
	OP_INVALID,
	OP_COUNT
};
enum cls { CLS_ERR, CLS_2XX, CLS_3XX, CLS_4XX, CLS_5XX, CLS_COUNT };

struct op_info {
	const char *name;
	int weight;  /* out of 100 */
	long expect; /* the status a healthy stack answers */
};

static const struct op_info op_table[OP_COUNT] = {
	[OP_LIST] = { "list_posts", 25, 200 },
	[OP_GET_POST] = { "get_post", 20, 200 },
	[OP_ME] = { "get_me", 12, 200 },
	[OP_CREATE_POST] = { "create_post", 10, 201 },
	[OP_COMMENT] = { "create_comment", 10, 201 },
	[OP_PATCH_ME] = { "patch_me", 7, 200 },
	[OP_LOGIN_OK] = { "login", 2, 200 },
	[OP_LOGIN_BAD] = { "login_bad_password", 2, 401 },
	[OP_BAD_JSON] = { "bad_json", 4, 400 },
	[OP_NOT_FOUND] = { "unknown_route", 4, 404 },
	[OP_INVALID] = { "invalid_post", 4, 422 },
};

struct buf {
	char *data;
	size_t len, cap;
};

struct user {
	int64_t id;
	char email[80];
	char password[40];
	char token[2048];
	char etag[32];         /* If-Match for the next PATCH; "" sends none */
	int64_t acked_version; /* of the last 200 PATCH, 0 when none */
	char acked_name[64];
};

struct soak;

/* One thread: its handle, its last answer and its own counters (no locks). */
struct worker {
	struct soak *s;
	int idx;
	pthread_t thread;
	CURL *curl;
	struct buf body;
	char etag[32];
	char errbuf[CURL_ERROR_SIZE];
	uint64_t rng;
	int64_t seq;
	uint32_t (*sec)[OP_COUNT][CLS_COUNT];
	uint32_t lat[OP_COUNT][LAT_BUCKETS];
	int64_t lat_max[OP_COUNT];
	uint64_t unexpected[OP_COUNT];
};

struct soak {
	const char *base;
	const char *outdir;
	int seconds, threads, nsec, nusers;
	double rate;
	int64_t start_ms, end_mono;
	struct user *users;
	struct worker *workers;
	pthread_mutex_t lock; /* guards the ring and the five files */
	int64_t ring[RING_SIZE];
	size_t ring_len, ring_next;
	FILE *posts, *comments, *errors, *odd, *stalls;
};

struct req {
	const char *method;
	const char *path;
	const char *token;
	const char *if_match;
	const char *body;
};

/* ---- HTTP ------------------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = size * n;

	if (b->len + len + 1 > BODY_MAX)
		return 0;
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + len + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

/* Keeps the ETag header's value (32 bytes at most) in arg. */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	char *etag = arg;
	size_t len = size * n, i = 5, j = 0;

	if (len <= 5 || strncasecmp(p, "ETag:", 5) != 0)
		return len;
	while (i < len && p[i] == ' ')
		i++;
	while (i < len && p[i] != '\r' && p[i] != '\n' && j < 31)
		etag[j++] = p[i++];
	etag[j] = '\0';
	return len;
}

static struct curl_slist *request_headers(const struct req *r)
{
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	char line[2200];

	if (r->body)
		h = curl_slist_append(h, "Content-Type: application/json");
	if (r->token) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", r->token);
		h = curl_slist_append(h, line);
	}
	if (r->if_match && r->if_match[0]) {
		snprintf(line, sizeof(line), "If-Match: %s", r->if_match);
		h = curl_slist_append(h, line);
	}
	return h;
}

/* One request on the worker's connection: the status, 0 for a transport
 * error (message in w->errbuf). The answer is in w->body and w->etag. */
static long http_call(struct worker *w, const struct req *r)
{
	struct curl_slist *hdrs = request_headers(r);
	CURL *c = w->curl;
	char url[512];
	long status = 0;

	snprintf(url, sizeof(url), "%s%s", w->s->base, r->path);
	w->body.len = 0;
	w->etag[0] = '\0';
	w->errbuf[0] = '\0';
	curl_easy_reset(c); /* options only: the connection is kept */
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, w->errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &w->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, w->etag);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (r->body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	return status;
}

/* Retries transport errors and 5xx (set-up and verification only). */
static long http_call_retry(struct worker *w, const struct req *r)
{
	long st = 0;

	for (int i = 0; i < 10; i++) {
		st = http_call(w, r);
		if (st != 0 && st < 500)
			break;
		sleep_ms(1000);
	}
	return st;
}

/* ---- envelopes ---------------------------------------------------------------- */

/* The parsed answer (caller json_decref()s it) and its "data" member. */
static json_t *body_root(const struct worker *w)
{
	return w->body.len ? json_loadb(w->body.data, w->body.len, 0, NULL) : NULL;
}

static int64_t json_int(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* data.<key> of the answer as an integer, -1 when absent. */
static int64_t data_int(const struct worker *w, const char *key)
{
	json_t *root = body_root(w);
	int64_t v = json_int(json_object_get(root, "data"), key);

	json_decref(root);
	return v;
}

/* data.<key> of the answer as a string into out ("" when absent). */
static void data_str(const struct worker *w, const char *key, char *out, size_t n)
{
	json_t *root = body_root(w);
	json_t *v = json_object_get(json_object_get(root, "data"), key);

	strlcpy_s(out, json_is_string(v) ? json_string_value(v) : "", n);
	json_decref(root);
}

/* error.code of an error envelope, or the curl message of a transport error. */
static void error_detail(const struct worker *w, long status, char *out, size_t n)
{
	json_t *root, *code;

	if (status == 0) {
		strlcpy_s(out, w->errbuf[0] ? w->errbuf : "transport error", n);
		return;
	}
	root = body_root(w);
	code = json_object_get(json_object_get(root, "error"), "code");
	strlcpy_s(out, json_is_string(code) ? json_string_value(code) : "-", n);
	json_decref(root);
}

/* ---- recording ------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static void append(struct soak *s, FILE *f, const char *fmt,
							 ...)
{
	va_list ap;

	va_start(ap, fmt);
	pthread_mutex_lock(&s->lock);
	vfprintf(f, fmt, ap);
	fflush(f);
	pthread_mutex_unlock(&s->lock);
	va_end(ap);
}

static enum cls class_of(long status)
{
	if (status <= 0)
		return CLS_ERR;
	if (status >= 500)
		return CLS_5XX;
	if (status >= 400)
		return CLS_4XX;
	return status >= 300 ? CLS_3XX : CLS_2XX;
}

/* Counts one answer (started at t0) and logs it when it is a 5xx, a transport
 * error, another status than expected, or carries a note (a contradiction). */
static void record(struct worker *w, enum op op, int64_t t0, long status, const char *note)
{
	struct soak *s = w->s;
	int64_t t1 = now_unix_ms(), ms = t1 - t0, sec = (t1 - s->start_ms) / 1000;
	int64_t b = ms < 1000 ? ms : 1000 + (ms - 1000) / 100;
	enum cls c = class_of(status);
	char detail[256];

	sec = sec < 0 ? 0 : (sec >= s->nsec ? s->nsec - 1 : sec);
	w->sec[sec][op][c]++;
	w->lat[op][b < 0 ? 0 : (b >= LAT_BUCKETS ? LAT_BUCKETS - 1 : b)]++;
	if (ms > w->lat_max[op])
		w->lat_max[op] = ms;
	if (c != CLS_ERR && c != CLS_5XX && status == op_table[op].expect && !note)
		return;
	if (note)
		strlcpy_s(detail, note, sizeof(detail));
	else
		error_detail(w, status, detail, sizeof(detail));
	if (c == CLS_ERR || c == CLS_5XX) {
		append(s, s->errors, "%" PRId64 "\t%" PRId64 "\t%s\t%ld\t%s\n", t0, t1,
		       op_table[op].name, status, detail);
		return;
	}
	w->unexpected[op]++;
	append(s, s->odd, "%" PRId64 "\t%" PRId64 "\t%s\t%ld\t%s\n", t0, t1, op_table[op].name,
	       status, detail);
}

static uint64_t rnd(struct worker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static void ring_push(struct soak *s, int64_t id)
{
	pthread_mutex_lock(&s->lock);
	s->ring[s->ring_next] = id;
	s->ring_next = (s->ring_next + 1) % RING_SIZE;
	if (s->ring_len < RING_SIZE)
		s->ring_len++;
	pthread_mutex_unlock(&s->lock);
}

/* A post id acknowledged by this run, 0 when there is none yet. */
static int64_t ring_pick(struct worker *w)
{
	struct soak *s = w->s;
	int64_t id = 0;
	uint64_t r = rnd(w);

	pthread_mutex_lock(&s->lock);
	if (s->ring_len)
		id = s->ring[r % s->ring_len];
	pthread_mutex_unlock(&s->lock);
	return id;
}

/* ---- operations ------------------------------------------------------------------ */

static void do_list(struct worker *w)
{
	struct req r = { "GET", "/api/v1/posts?limit=20", NULL, NULL, NULL };
	int64_t t0 = now_unix_ms();

	record(w, OP_LIST, t0, http_call(w, &r), NULL);
}

static void do_get_post(struct worker *w, int64_t id)
{
	char path[64], note[96] = "";
	struct req r = { "GET", path, NULL, NULL, NULL };
	int64_t t0 = now_unix_ms(), got;
	long st;

	snprintf(path, sizeof(path), "/api/v1/posts/%" PRId64, id);
	st = http_call(w, &r);
	got = st == 200 ? data_int(w, "id") : id;
	if (got != id)
		snprintf(note, sizeof(note), "post %" PRId64 " answered id %" PRId64, id, got);
	record(w, OP_GET_POST, t0, st, note[0] ? note : NULL);
}

static void do_me(struct worker *w, struct user *u)
{
	struct req r = { "GET", "/api/v1/users/me", u->token, NULL, NULL };
	int64_t t0 = now_unix_ms(), v;
	char note[96] = "";
	long st = http_call(w, &r);

	if (st == 200) {
		v = data_int(w, "version");
		if (v < u->acked_version)
			snprintf(note, sizeof(note),
				 "user %" PRId64 " version %" PRId64
				 " older than acknowledged %" PRId64,
				 u->id, v, u->acked_version);
		strlcpy_s(u->etag, w->etag, sizeof(u->etag));
	}
	record(w, OP_ME, t0, st, note[0] ? note : NULL);
}

static void do_create_post(struct worker *w, struct user *u)
{
	char body[256], note[64] = "";
	struct req r = { "POST", "/api/v1/posts", u->token, NULL, body };
	int64_t t0 = now_unix_ms(), id;
	long st;

	snprintf(body, sizeof(body),
		 "{\"title\":\"soak %d.%" PRId64 "\",\"body\":\"A post "
		 "written by the soak drill.\",\"status\":\"published\"}",
		 w->idx, ++w->seq);
	st = http_call(w, &r);
	if (st == 201) {
		id = data_int(w, "id");
		if (id > 0) {
			append(w->s, w->s->posts, "%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n",
			       now_unix_ms(), id, u->id);
			ring_push(w->s, id);
		} else {
			strlcpy_s(note, "201 without an id", sizeof(note));
		}
	}
	record(w, OP_CREATE_POST, t0, st, note[0] ? note : NULL);
}

static void do_comment(struct worker *w, struct user *u, int64_t post)
{
	char path[80], body[128], note[64] = "";
	struct req r = { "POST", path, u->token, NULL, body };
	int64_t t0 = now_unix_ms(), id;
	long st;

	snprintf(path, sizeof(path), "/api/v1/posts/%" PRId64 "/comments", post);
	snprintf(body, sizeof(body), "{\"body\":\"soak comment %d.%" PRId64 "\"}", w->idx,
		 ++w->seq);
	st = http_call(w, &r);
	if (st == 201) {
		id = data_int(w, "id");
		if (id > 0)
			append(w->s, w->s->comments, "%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n",
			       now_unix_ms(), post, id);
		else
			strlcpy_s(note, "201 without an id", sizeof(note));
	}
	record(w, OP_COMMENT, t0, st, note[0] ? note : NULL);
}

/* A name change with If-Match from the last ETag; after any failure the next
 * one goes without (a 503 may still have committed and moved the version). */
static void do_patch_me(struct worker *w, struct user *u)
{
	char name[64], body[128], note[96] = "";
	struct req r = { "PATCH", "/api/v1/users/me", u->token, u->etag, body };
	int64_t t0 = now_unix_ms(), v;
	long st;

	snprintf(name, sizeof(name), "Soak %d.%" PRId64, w->idx, ++w->seq);
	snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
	st = http_call(w, &r);
	if (st != 200) {
		u->etag[0] = '\0';
		record(w, OP_PATCH_ME, t0, st, NULL);
		return;
	}
	v = data_int(w, "version");
	if (v <= u->acked_version)
		snprintf(note, sizeof(note), "version %" PRId64 " after acknowledged %" PRId64, v,
			 u->acked_version);
	u->acked_version = v;
	strlcpy_s(u->acked_name, name, sizeof(u->acked_name));
	strlcpy_s(u->etag, w->etag, sizeof(u->etag));
	record(w, OP_PATCH_ME, t0, st, note[0] ? note : NULL);
}

/* Logs in: a good one refreshes the user's token. */
static long login(struct worker *w, struct user *u, bool good, bool retry)
{
	char body[256], token[sizeof(u->token)];
	struct req r = { "POST", "/api/v1/auth/login", NULL, NULL, body };
	long st;

	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", u->email,
		 good ? u->password : "not-the-password");
	st = retry ? http_call_retry(w, &r) : http_call(w, &r);
	if (good && st == 200) {
		data_str(w, "accessToken", token, sizeof(token));
		if (token[0])
			strlcpy_s(u->token, token, sizeof(u->token));
	}
	return st;
}

static void do_bad(struct worker *w, struct user *u, enum op op)
{
	struct req r = { "POST", "/api/v1/posts", u->token, NULL, NULL };
	int64_t t0 = now_unix_ms();

	if (op == OP_BAD_JSON)
		r.body = "{\"title\": \"unterminated";
	else if (op == OP_INVALID)
		r.body = "{\"title\":\"   \",\"body\":\"x\",\"status\":\"published\"}";
	else
		r = (struct req){ "GET", "/api/v1/soak/nowhere", NULL, NULL, NULL };
	record(w, op, t0, http_call(w, &r), NULL);
}

static void run_op(struct worker *w, enum op op, struct user *u)
{
	int64_t post = op == OP_GET_POST || op == OP_COMMENT ? ring_pick(w) : 0, t0;

	switch (op) {
	case OP_GET_POST:
		if (post)
			do_get_post(w, post);
		else
			do_list(w);
		break;
	case OP_COMMENT:
		if (post)
			do_comment(w, u, post);
		else
			do_create_post(w, u);
		break;
	case OP_ME:
		do_me(w, u);
		break;
	case OP_CREATE_POST:
		do_create_post(w, u);
		break;
	case OP_PATCH_ME:
		do_patch_me(w, u);
		break;
	case OP_LOGIN_OK:
	case OP_LOGIN_BAD:
		t0 = now_unix_ms();
		record(w, op, t0, login(w, u, op == OP_LOGIN_OK, false), NULL);
		break;
	case OP_BAD_JSON:
	case OP_INVALID:
	case OP_NOT_FOUND:
		do_bad(w, u, op);
		break;
	default:
		do_list(w);
		break;
	}
}

static enum op pick_op(struct worker *w)
{
	int r = (int)(rnd(w) % 100);

	for (int i = 0; i < OP_COUNT; i++) {
		r -= op_table[i].weight;
		if (r < 0)
			return (enum op)i;
	}
	return OP_LIST;
}

/* One of the users this thread owns (user i belongs to thread i % threads). */
static struct user *pick_user(struct worker *w)
{
	struct soak *s = w->s;
	int owned = (s->nusers - w->idx + s->threads - 1) / s->threads;

	return &s->users[w->idx + (int)(rnd(w) % (uint64_t)owned) * s->threads];
}

/* Waits for the next slot of this thread's share of SOAK_RATE; a thread that
 * fell more than a second behind starts afresh instead of bursting. */
static void pace(const struct soak *s, double *due, double interval)
{
	double now = (double)mono_ms();

	*due += interval;
	if (now - *due > 1000.0)
		*due = now;
	if (*due > now && *due < (double)s->end_mono)
		sleep_ms((int)(*due - now));
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct soak *s = w->s;
	double interval = s->rate > 0 ? s->threads * 1000.0 / s->rate : 0;
	double due = (double)mono_ms() + (double)w->idx * interval / s->threads;

	while (mono_ms() < s->end_mono) {
		run_op(w, pick_op(w), pick_user(w));
		if (interval > 0)
			pace(s, &due, interval);
	}
	return NULL;
}

/* Sleeps 100 ms at a time until the end and logs every overrun beyond
 * STALL_MS, by either clock (a paused VM may stop the monotonic one). */
static void *watcher_main(void *arg)
{
	struct soak *s = arg;

	while (mono_ms() < s->end_mono) {
		int64_t w0 = now_unix_ms(), m0 = mono_ms(), w1, m1, late;

		sleep_ms(100);
		w1 = now_unix_ms();
		m1 = mono_ms();
		late = (w1 - w0 > m1 - m0 ? w1 - w0 : m1 - m0) - 100;
		if (late > STALL_MS)
			append(s, s->stalls, "%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n", w0, w1,
			       late);
	}
	return NULL;
}

/* ---- set-up and results ------------------------------------------------------------ */

static void worker_init(struct worker *w, struct soak *s, int idx)
{
	w->s = s;
	w->idx = idx;
	w->curl = curl_easy_init();
	if (!w->curl) {
		fprintf(stderr, "soak-client: curl_easy_init failed\n");
		exit(2);
	}
	random_bytes(&w->rng, sizeof(w->rng));
	w->rng |= 1;
	w->sec = xcalloc((size_t)s->nsec, sizeof(*w->sec));
}

static void worker_release(struct worker *w)
{
	curl_easy_cleanup(w->curl);
	free(w->body.data);
	free(w->sec);
}

/* Signs user i up and logs it in (before the clock starts: not counted). */
static int user_setup(struct worker *w, struct user *u, int i, int64_t tag)
{
	char body[256];
	struct req r = { "POST", "/api/v1/users", NULL, NULL, body };
	long st;

	snprintf(u->email, sizeof(u->email), "soak-%" PRId64 "-%d@example.com", tag, i);
	snprintf(u->password, sizeof(u->password), "soak-password-%d", i);
	snprintf(u->acked_name, sizeof(u->acked_name), "Soak user %d", i);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\",\"name\":\"%s\"}",
		 u->email, u->password, u->acked_name);
	st = http_call_retry(w, &r);
	u->id = st == 201 ? data_int(w, "id") : -1;
	if (u->id <= 0) {
		fprintf(stderr, "soak-client: sign-up of %s: status %ld %s\n", u->email, st,
			w->body.len ? w->body.data : w->errbuf);
		return -1;
	}
	st = login(w, u, true, true);
	if (st != 200 || !u->token[0]) {
		fprintf(stderr, "soak-client: login of %s: status %ld\n", u->email, st);
		return -1;
	}
	return 0;
}

static FILE *open_out(const struct soak *s, const char *name, const char *mode)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", s->outdir, name);
	f = fopen(path, mode);
	if (!f) {
		perror(path);
		exit(2);
	}
	return f;
}

static void write_seconds(const struct soak *s)
{
	FILE *f = open_out(s, "seconds.tsv", "w");

	fprintf(f, "sec\tms\top\terr\t2xx\t3xx\t4xx\t5xx\n");
	for (int sec = 0; sec < s->nsec; sec++) {
		for (int op = 0; op < OP_COUNT; op++) {
			uint64_t n[CLS_COUNT] = { 0 }, all = 0;

			for (int t = 0; t < s->threads; t++)
				for (int c = 0; c < CLS_COUNT; c++)
					n[c] += s->workers[t].sec[sec][op][c];
			for (int c = 0; c < CLS_COUNT; c++)
				all += n[c];
			if (all)
				fprintf(f,
					"%d\t%" PRId64 "\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
					"\t%" PRIu64 "\t%" PRIu64 "\n",
					sec, s->start_ms + (int64_t)sec * 1000, op_table[op].name,
					n[0], n[1], n[2], n[3], n[4]);
		}
	}
	fclose(f);
}

static int64_t bucket_ms(int b)
{
	return b < 1000 ? b : 1000 + (int64_t)(b - 1000) * 100;
}

/* The latency below which a share q of the answers of op fell. */
static int64_t percentile(const struct soak *s, int op, uint64_t total, double q)
{
	uint64_t want = (uint64_t)((double)total * q), seen = 0;

	for (int b = 0; b < LAT_BUCKETS; b++) {
		for (int t = 0; t < s->threads; t++)
			seen += s->workers[t].lat[op][b];
		if (seen > want)
			return bucket_ms(b);
	}
	return bucket_ms(LAT_BUCKETS - 1);
}

static void write_totals(const struct soak *s)
{
	FILE *f = open_out(s, "totals.tsv", "w");

	fprintf(f,
		"op\texpect\ttotal\terr\t2xx\t3xx\t4xx\t5xx\tunexpected\tp50_ms\tp99_ms\tmax_ms\n");
	for (int op = 0; op < OP_COUNT; op++) {
		uint64_t n[CLS_COUNT] = { 0 }, all = 0, odd = 0;
		int64_t max = 0;

		for (int t = 0; t < s->threads; t++) {
			const struct worker *w = &s->workers[t];

			for (int sec = 0; sec < s->nsec; sec++)
				for (int c = 0; c < CLS_COUNT; c++)
					n[c] += w->sec[sec][op][c];
			odd += w->unexpected[op];
			max = w->lat_max[op] > max ? w->lat_max[op] : max;
		}
		for (int c = 0; c < CLS_COUNT; c++)
			all += n[c];
		fprintf(f,
			"%s\t%ld\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
			"\t%" PRIu64 "\t%" PRIu64 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n",
			op_table[op].name, op_table[op].expect, all, n[0], n[1], n[2], n[3], n[4],
			odd, percentile(s, op, all, 0.5), percentile(s, op, all, 0.99), max);
	}
	fclose(f);
}

static void write_users(const struct soak *s)
{
	FILE *f = open_out(s, "users.tsv", "w");

	for (int i = 0; i < s->nusers; i++) {
		const struct user *u = &s->users[i];

		fprintf(f, "%" PRId64 "\t%s\t%s\t%" PRId64 "\t%s\n", u->id, u->email, u->password,
			u->acked_version, u->acked_name);
	}
	fclose(f);
}

static int run_load(struct soak *s)
{
	int64_t tag = now_unix_ms();
	pthread_t watcher;

	s->users = xcalloc((size_t)s->nusers, sizeof(*s->users));
	s->workers = xcalloc((size_t)s->threads, sizeof(*s->workers));
	for (int t = 0; t < s->threads; t++)
		worker_init(&s->workers[t], s, t);
	for (int i = 0; i < s->nusers; i++)
		if (user_setup(&s->workers[0], &s->users[i], i, tag) != 0)
			return 2;
	s->posts = open_out(s, "posts.tsv", "w");
	s->comments = open_out(s, "comments.tsv", "w");
	s->errors = open_out(s, "errors.tsv", "w");
	s->odd = open_out(s, "odd.tsv", "w");
	s->stalls = open_out(s, "stalls.tsv", "w");
	s->start_ms = now_unix_ms();
	s->end_mono = mono_ms() + (int64_t)s->seconds * 1000;
	printf("soak-client: %d users, %d threads, %d s, start_ms %" PRId64 "\n", s->nusers,
	       s->threads, s->seconds, s->start_ms);
	fflush(stdout);
	pthread_create(&watcher, NULL, watcher_main, s);
	for (int t = 0; t < s->threads; t++)
		pthread_create(&s->workers[t].thread, NULL, worker_main, &s->workers[t]);
	for (int t = 0; t < s->threads; t++)
		pthread_join(s->workers[t].thread, NULL);
	pthread_join(watcher, NULL);
	fclose(s->posts);
	fclose(s->comments);
	fclose(s->errors);
	fclose(s->odd);
	fclose(s->stalls);
	write_seconds(s);
	write_totals(s);
	write_users(s);
	return 0;
}

/* ---- main ---------------------------------------------------------------------------- */

static int parse_arg(const char *s, const char *what, int64_t lo, int64_t hi)
{
	int64_t v;

	if (!parse_int64(s, &v) || v < lo || v > hi) {
		fprintf(stderr, "soak-client: %s must be %" PRId64 "..%" PRId64 ", not '%s'\n",
			what, lo, hi, s);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	struct soak s = { 0 };
	const char *rate = getenv("SOAK_RATE");
	int rc;

	if (argc != 5) {
		fprintf(stderr, "usage: soak-client <base url> <seconds> <threads> <outdir>\n"
				"  SOAK_RATE: requests/s in all (default 100, 0: unpaced)\n");
		return 2;
	}
	s.base = argv[1];
	s.seconds = parse_arg(argv[2], "seconds", 1, 86400);
	s.threads = parse_arg(argv[3], "threads", 1, 256);
	s.outdir = argv[4];
	s.rate = rate && rate[0] ? parse_arg(rate, "SOAK_RATE", 0, 100000) : 100;
	s.nsec = s.seconds + EXTRA_SECONDS;
	s.nusers = s.threads > MIN_USERS ? s.threads : MIN_USERS;
	pthread_mutex_init(&s.lock, NULL);
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
		fprintf(stderr, "soak-client: curl_global_init failed\n");
		return 2;
	}
	rc = run_load(&s);
	for (int t = 0; s.workers && t < s.threads; t++)
		worker_release(&s.workers[t]);
	free(s.workers);
	free(s.users);
	curl_global_cleanup();
	pthread_mutex_destroy(&s.lock);
	return rc;
}
