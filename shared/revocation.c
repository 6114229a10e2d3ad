/* revocation.c - the in-memory revocation copy; see revocation.h.
 *
 * Two open-addressing hash tables with linear probing (no tombstones:
 * deletion shifts the rest of the run back), each slot starting with its
 * 64-bit key (0 = empty): revoked tokens keyed by a hash of the jti, user
 * not-befores keyed by the user id. A jti hash collision can only refuse a
 * valid token (never accept a revoked one), and with 64-bit hashes of
 * random ids its odds are about n / 2^64 per check.
 *
 * Locks: `tables` (a rwlock) guards both tables; `lock` guards the position
 * and sync times, with `moved` signalled when the position moves. */
#include "revocation.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define TABLE_MIN_CAP 64

struct token_slot {
	uint64_t key; /* hash of the jti; 0 = empty */
	int64_t expires_at_ms;
};

struct user_slot {
	uint64_t key; /* the user id; 0 = empty */
	int64_t expires_at_ms;
	int64_t not_before_ms;
};

/* Both slot types have the key first and the expiry second. */
struct table {
	unsigned char *slots;
	size_t slot_size;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

struct revocations {
	pthread_rwlock_t tables;
	struct table tokens;
	struct table users;

	pthread_mutex_t lock;
	pthread_cond_t moved;
	int64_t seq;
	char feed_id[REVOCATION_FEED_ID_MAX];
	bool loaded;
	int64_t last_sync_ms; /* mono_ms(); INT64_MIN = never */
	int max_staleness_ms;
};

/* ---- the tables ------------------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

static uint64_t jti_key(const char *jti)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)jti; *p; p++) {
		h ^= *p;
		h *= UINT64_C(0x100000001b3);
	}
	h = mix64(h);
	return h ? h : 1;
}

static unsigned char *slot_at(const struct table *t, size_t i)
{
	return t->slots + i * t->slot_size;
}

static uint64_t key_at(const struct table *t, size_t i)
{
	uint64_t k;

	memcpy(&k, slot_at(t, i), sizeof(k));
	return k;
}

static int64_t expiry_at(const struct table *t, size_t i)
{
	int64_t e;

	memcpy(&e, slot_at(t, i) + sizeof(uint64_t), sizeof(e));
	return e;
}

static size_t home_of(const struct table *t, uint64_t key)
{
	return (size_t)mix64(key) & (t->cap - 1);
}

/* The slot holding key, or NULL. */
static void *table_find(const struct table *t, uint64_t key)
{
	if (t->cap == 0)
		return NULL;
	for (size_t i = home_of(t, key);; i = (i + 1) & (t->cap - 1)) {
		uint64_t k = key_at(t, i);

		if (k == key)
			return slot_at(t, i);
		if (k == 0)
			return NULL;
	}
}

/* The slot for key, inserted (zeroed but for the key) when absent; *fresh
 * says which. Never fails: the table grows at 3/4 full. */
static void *table_upsert(struct table *t, uint64_t key, bool *fresh);

static void table_grow(struct table *t)
{
	struct table bigger = { .slot_size = t->slot_size,
				.cap = t->cap ? t->cap * 2 : TABLE_MIN_CAP };
	bool fresh;

	bigger.slots = xcalloc(bigger.cap, bigger.slot_size);
	for (size_t i = 0; i < t->cap; i++) {
		uint64_t k = key_at(t, i);

		if (k != 0)
			memcpy(table_upsert(&bigger, k, &fresh), slot_at(t, i), t->slot_size);
	}
	free(t->slots);
	*t = bigger;
}

static void *table_upsert(struct table *t, uint64_t key, bool *fresh)
{
	if ((t->n + 1) * 4 > t->cap * 3)
		table_grow(t);
	for (size_t i = home_of(t, key);; i = (i + 1) & (t->cap - 1)) {
		uint64_t k = key_at(t, i);

		*fresh = k == 0;
		if (k == key || k == 0) {
			if (k == 0) {
				memset(slot_at(t, i), 0, t->slot_size);
				memcpy(slot_at(t, i), &key, sizeof(key));
				t->n++;
			}
			return slot_at(t, i);
		}
	}
}

/* Empties slot i and moves back the entries after it that may no longer be
 * reachable from their home slot (linear probing's deletion). */
static void table_delete_at(struct table *t, size_t i)
{
	size_t mask = t->cap - 1;
	size_t j = i;

	for (;;) {
		uint64_t k;
		size_t home;

		j = (j + 1) & mask;
		k = key_at(t, j);
		if (k == 0)
			break;
		home = home_of(t, k);
		/* Entry j stays when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		memcpy(slot_at(t, i), slot_at(t, j), t->slot_size);
		i = j;
	}
	memset(slot_at(t, i), 0, t->slot_size);
	t->n--;
}

static void table_prune(struct table *t, int64_t now_ms)
{
	size_t i = 0;

	while (i < t->cap) {
		if (key_at(t, i) != 0 && expiry_at(t, i) < now_ms)
			table_delete_at(t, i); /* slot i may now hold a moved entry: look again */
		else
			i++;
	}
}

static void table_release(struct table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->n = 0;
}

/* ---- the copy ---------------------------------------------------------------------- */

struct revocations *revocations_new(int max_staleness_ms)
{
	struct revocations *r = xcalloc(1, sizeof(*r));
	pthread_condattr_t ca;

	pthread_rwlock_init(&r->tables, NULL);
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->moved, &ca);
	pthread_condattr_destroy(&ca);
	r->tokens.slot_size = sizeof(struct token_slot);
	r->users.slot_size = sizeof(struct user_slot);
	r->last_sync_ms = INT64_MIN;
	r->max_staleness_ms = max_staleness_ms > 0 ? max_staleness_ms
						   : REVOCATION_DEFAULT_MAX_STALENESS_MS;
	return r;
}

void revocations_free(struct revocations *r)
{
	if (!r)
		return;
	table_release(&r->tokens);
	table_release(&r->users);
	pthread_cond_destroy(&r->moved);
	pthread_mutex_destroy(&r->lock);
	pthread_rwlock_destroy(&r->tables);
	free(r);
}

static bool current_locked(const struct revocations *r, int64_t now_ms)
{
	return r->loaded && now_ms - r->last_sync_ms <= r->max_staleness_ms;
}

bool revocations_current(struct revocations *r)
{
	bool cur;

	pthread_mutex_lock(&r->lock);
	cur = current_locked(r, mono_ms());
	pthread_mutex_unlock(&r->lock);
	return cur;
}

bool revocations_loaded(struct revocations *r)
{
	bool loaded;

	pthread_mutex_lock(&r->lock);
	loaded = r->loaded;
	pthread_mutex_unlock(&r->lock);
	return loaded;
}

int64_t revocations_not_before(struct revocations *r, int64_t user_id)
{
	const struct user_slot *u;
	int64_t nbf;

	if (user_id <= 0)
		return 0;
	pthread_rwlock_rdlock(&r->tables);
	u = table_find(&r->users, (uint64_t)user_id);
	nbf = u ? u->not_before_ms : 0;
	pthread_rwlock_unlock(&r->tables);
	return nbf;
}

enum revocation_verdict revocations_check(struct revocations *r, const char *jti, int64_t user_id,
					  int64_t iat_ms)
{
	const struct user_slot *u;
	bool revoked;

	if (!revocations_current(r))
		return REVOCATION_UNKNOWN;
	pthread_rwlock_rdlock(&r->tables);
	u = user_id > 0 ? table_find(&r->users, (uint64_t)user_id) : NULL;
	revoked = (u && iat_ms < u->not_before_ms) ||
		  (jti && *jti && table_find(&r->tokens, jti_key(jti)) != NULL);
	pthread_rwlock_unlock(&r->tables);
	return revoked ? REVOCATION_REVOKED : REVOCATION_OK;
}

void revocations_reset(struct revocations *r, const char *feed_id)
{
	pthread_rwlock_wrlock(&r->tables);
	table_release(&r->tokens);
	table_release(&r->users);
	pthread_rwlock_unlock(&r->tables);
	pthread_mutex_lock(&r->lock);
	r->seq = 0;
	strlcpy_s(r->feed_id, feed_id ? feed_id : "", sizeof(r->feed_id));
	pthread_mutex_unlock(&r->lock);
}

void revocations_add_token(struct revocations *r, const char *jti, int64_t expires_at_ms)
{
	struct token_slot *s;
	bool fresh;

	if (!jti || !*jti)
		return;
	pthread_rwlock_wrlock(&r->tables);
	s = table_upsert(&r->tokens, jti_key(jti), &fresh);
	if (fresh || expires_at_ms > s->expires_at_ms)
		s->expires_at_ms = expires_at_ms;
	pthread_rwlock_unlock(&r->tables);
}

void revocations_add_user(struct revocations *r, int64_t user_id, int64_t not_before_ms,
			  int64_t expires_at_ms)
{
	struct user_slot *s;
	bool fresh;

	if (user_id <= 0)
		return;
	pthread_rwlock_wrlock(&r->tables);
	s = table_upsert(&r->users, (uint64_t)user_id, &fresh);
	if (fresh || not_before_ms > s->not_before_ms)
		s->not_before_ms = not_before_ms;
	if (fresh || expires_at_ms > s->expires_at_ms)
		s->expires_at_ms = expires_at_ms;
	pthread_rwlock_unlock(&r->tables);
}

void revocations_synced(struct revocations *r, int64_t seq, bool caught_up)
{
	pthread_mutex_lock(&r->lock);
	if (seq > r->seq)
		r->seq = seq;
	if (caught_up)
		r->loaded = true;
	r->last_sync_ms = mono_ms();
	pthread_cond_broadcast(&r->moved);
	pthread_mutex_unlock(&r->lock);
}

void revocations_prune(struct revocations *r, int64_t now_ms)
{
	pthread_rwlock_wrlock(&r->tables);
	table_prune(&r->tokens, now_ms);
	table_prune(&r->users, now_ms);
	pthread_rwlock_unlock(&r->tables);
}

int64_t revocations_position(struct revocations *r, char *feed_id)
{
	int64_t seq;

	pthread_mutex_lock(&r->lock);
	seq = r->seq;
	if (feed_id)
		strlcpy_s(feed_id, r->feed_id, REVOCATION_FEED_ID_MAX);
	pthread_mutex_unlock(&r->lock);
	return seq;
}

/* Waits on `moved` until done(r, seq) or timeout_ms pass; returns done. */
static bool wait_until(struct revocations *r, int64_t seq, int timeout_ms, bool beyond)
{
	struct timespec until = mono_deadline(timeout_ms);
	bool done;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		done = beyond ? r->seq > seq : r->seq >= seq;
		if (done || pthread_cond_timedwait(&r->moved, &r->lock, &until) != 0)
			break;
	}
	done = beyond ? r->seq > seq : r->seq >= seq;
	pthread_mutex_unlock(&r->lock);
	return done;
}

bool revocations_wait(struct revocations *r, int64_t seq, int timeout_ms)
{
	return wait_until(r, seq, timeout_ms, false);
}

bool revocations_wait_beyond(struct revocations *r, int64_t seq, int timeout_ms)
{
	return wait_until(r, seq, timeout_ms, true);
}

void revocations_stats(struct revocations *r, struct revocation_stats *out)
{
	int64_t now = mono_ms();

	pthread_rwlock_rdlock(&r->tables);
	out->tokens = r->tokens.n;
	out->users = r->users.n;
	out->bytes = r->tokens.cap * r->tokens.slot_size + r->users.cap * r->users.slot_size;
	pthread_rwlock_unlock(&r->tables);
	pthread_mutex_lock(&r->lock);
	out->seq = r->seq;
	out->loaded = r->loaded;
	out->age_ms = r->last_sync_ms == INT64_MIN ? -1 : now - r->last_sync_ms;
	out->current = current_locked(r, now);
	pthread_mutex_unlock(&r->lock);
}
