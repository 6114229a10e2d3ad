/* users_password.c - argon2id hashing with bounded concurrency.
 *
 * Each hash allocates USERS_ARGON2_M_KIB of memory; a semaphore caps how many
 * run at once so a sign-up or login flood cannot exhaust memory: excess
 * callers wait (bounded by their deadline) instead of allocating. */
#include <argon2.h>
#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "users_service.h"
#include "util.h"

#define SALT_BYTES 16
#define HASH_BYTES 32

struct users_hasher {
	sem_t slots;
	char dummy[USERS_HASH_MAX]; /* hash of a random password, for unknown users */
};

static int acquire_slot(struct users_hasher *h, int64_t wait_ms, struct app_error *err)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)(wait_ms / 1000);
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (sem_timedwait(&h->slots, &until) != 0) {
		if (errno == EINTR)
			continue;
		log_warn("password hashing saturated", LOG_I("waitedMs", wait_ms));
		return app_error_set(err, ERR_SERVICE_UNAVAILABLE,
				     "Server is busy, please retry shortly");
	}
	return 0;
}

static int hash_raw(const char *password, char *out, size_t outsize, struct app_error *err)
{
	unsigned char salt[SALT_BYTES];
	int rc;

	random_bytes(salt, sizeof(salt));
	rc = argon2id_hash_encoded(USERS_ARGON2_T, USERS_ARGON2_M_KIB, USERS_ARGON2_P, password,
				   strlen(password), salt, sizeof(salt), HASH_BYTES, out, outsize);
	if (rc != ARGON2_OK) {
		log_error("argon2id hashing failed", LOG_S("error", argon2_error_message(rc)));
		return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
	}
	return 0;
}

struct users_hasher *users_hasher_new(int max_concurrent)
{
	struct users_hasher *h = xcalloc(1, sizeof(*h));
	char random_pw[33];
	struct app_error err;

	sem_init(&h->slots, 0, (unsigned)(max_concurrent > 0 ? max_concurrent : 1));
	random_alnum(random_pw, 32);
	app_error_init(&err);
	if (hash_raw(random_pw, h->dummy, sizeof(h->dummy), &err) != 0) {
		users_hasher_free(h);
		return NULL;
	}
	return h;
}

void users_hasher_free(struct users_hasher *h)
{
	if (!h)
		return;
	sem_destroy(&h->slots);
	free(h);
}

int users_hasher_hash(struct users_hasher *h, const char *password, int64_t wait_ms, char *out,
		      size_t outsize, struct app_error *err)
{
	int rc;

	if (acquire_slot(h, wait_ms, err) != 0)
		return -1;
	rc = hash_raw(password, out, outsize, err);
	sem_post(&h->slots);
	return rc;
}

int users_hasher_verify(struct users_hasher *h, const char *encoded, const char *password,
			int64_t wait_ms, bool *ok, struct app_error *err)
{
	int rc;

	*ok = false;
	if (acquire_slot(h, wait_ms, err) != 0)
		return -1;
	rc = argon2id_verify(encoded ? encoded : h->dummy, password, strlen(password));
	sem_post(&h->slots);
	if (rc == ARGON2_OK) {
		*ok = encoded != NULL;
		return 0;
	}
	if (rc == ARGON2_VERIFY_MISMATCH)
		return 0;
	log_error("argon2id verification failed", LOG_S("error", argon2_error_message(rc)));
	return app_error_set(err, ERR_INTERNAL_ERROR, NULL);
}
