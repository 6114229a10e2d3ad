/* config.h - configuration from the environment, validated at start-up.
 *
 * A reader collects every malformed value, so one start-up reports all of them:
 *
 *   struct config_reader r;
 *   config_reader_init(&r);
 *   int64_t port = config_int(&r, "GRPC_PORT", 50051, 1, 65535);
 *   ...
 *   if (config_reader_finish(&r, stderr) != 0) exit(2);
 *
 * An unset or empty variable takes the default. A set but malformed one is an
 * error naming the variable, e.g. `GRPC_PORT: "80x" is not an integer in 1..65535`. */
#ifndef SHARED_CONFIG_H
#define SHARED_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_MAX_ERRORS 32

struct config_reader {
	int nerrors;
	char errors[CONFIG_MAX_ERRORS][256];
};

void config_reader_init(struct config_reader *r);

/* Adds an error of the caller's own (e.g. a cross-field rule). */
void config_error(struct config_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The value, or def when unset/empty. The pointer is getenv's (or def). */
const char *config_str(struct config_reader *r, const char *name, const char *def);
/* Like config_str, but unset/empty is an error ("NAME is required"). */
const char *config_required(struct config_reader *r, const char *name);
/* Whole decimal integer within [min, max]. */
int64_t config_int(struct config_reader *r, const char *name, int64_t def, int64_t min,
		   int64_t max);
/* true/false, 1/0, yes/no, on/off (case-insensitive). */
bool config_bool(struct config_reader *r, const char *name, bool def);
/* One of the NULL-terminated allowed values (case-sensitive); returns the allowed
 * entry (stable storage) or def. */
const char *config_enum(struct config_reader *r, const char *name, const char *def,
			const char *const *allowed);
/* A duration in seconds: "90" (seconds), or a number with s/m/h/d ("15m", "24h",
 * "7d"); must be within [min_s, max_s]. */
int64_t config_duration_s(struct config_reader *r, const char *name, int64_t def, int64_t min_s,
			  int64_t max_s);

/* Parses a duration string as config_duration_s does; false when malformed. */
bool config_parse_duration(const char *s, int64_t *seconds);

/* Writes each error as one line to out ("config: <error>") and returns -1 when
 * there were errors, 0 otherwise. */
int config_reader_finish(struct config_reader *r, FILE *out);

#endif
