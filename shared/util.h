/* util.h - small helpers every module uses: checked allocation, clocks,
 * bounded string copies, randomness, secret-safe comparison. */
#ifndef SHARED_UTIL_H
#define SHARED_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define WARN_UNUSED __attribute__((warn_unused_result))

/* Allocation that aborts (after logging) on out-of-memory; the caller owns
 * the result and frees it with free(). */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Copies at most dstsize-1 bytes and always terminates; returns strlen(src)
 * (so truncation is `ret >= dstsize`). */
size_t strlcpy_s(char *dst, const char *src, size_t dstsize);

/* Wall clock (realtime) and monotonic clock. */
int64_t now_unix_ms(void);
int64_t now_unix_us(void);
int64_t mono_ms(void);
/* Online CPUs (sysconf; at least 1): thread counts that follow the cores. */
int online_cpus(void);
int64_t mono_us(void);
/* A condition variable whose timed waits use CLOCK_MONOTONIC, and the
 * CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait. */
void cond_init_monotonic(pthread_cond_t *c);
struct timespec mono_deadline(int ms);
/* Sleeps ms milliseconds, resuming after signals. */
void sleep_ms(int ms);

/* RFC 3339 UTC with milliseconds: "2026-01-15T10:30:00.123Z". buf >= 25 bytes. */
void format_rfc3339_ms(int64_t unix_ms, char *buf, size_t bufsize);

/* Fills buf with cryptographically random bytes (getrandom); aborts if the
 * kernel cannot provide them. */
void random_bytes(void *buf, size_t n);
/* n random characters from [A-Za-z0-9] plus a NUL (buf >= n + 1). */
void random_alnum(char *buf, size_t n);
/* The same for identifiers that are not secrets (request, trace and span
 * ids): served from a per-thread pool of getrandom bytes taken 512 at a
 * time, so an id costs no system call. Secrets (salts, keys, tokens) use
 * random_bytes / random_alnum. */
void random_id_bytes(void *buf, size_t n);
void random_id_alnum(char *buf, size_t n);

/* Constant-time equality of two byte strings of the same length. */
bool secure_equal(const void *a, const void *b, size_t n);

/* Parses a whole decimal int64 (optional leading '-'); no spaces, no trailing
 * garbage, no overflow. */
bool parse_int64(const char *s, int64_t *out);

#endif
