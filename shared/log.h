/* log.h - JSON-lines logger (pino's shape) on stdout.
 *
 * One line per event: {"level":"info","time":<unix ms>,"msg":"...", ...fields}.
 * LOG_FORMAT=pretty prints the same facts for a human:
 *   2026-01-15T10:30:00.123Z INFO  msg key=value ...
 * Thread-safe: each line is written with one write(2).
 * Never pass secrets (passwords, tokens, hashes, API keys) as fields. */
#ifndef SHARED_LOG_H
#define SHARED_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_TRACE, LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL };
enum log_format { LOG_FORMAT_JSON, LOG_FORMAT_PRETTY };

enum log_field_type {
	LOG_FIELD_END,
	LOG_FIELD_STR,
	LOG_FIELD_INT,
	LOG_FIELD_DOUBLE,
	LOG_FIELD_BOOL
};

struct log_field {
	const char *key;
	enum log_field_type type;
	const char *s;
	int64_t i;
	double d;
};

#define LOG_S(k, v) ((struct log_field){ .key = (k), .type = LOG_FIELD_STR, .s = (v) })
#define LOG_I(k, v) ((struct log_field){ .key = (k), .type = LOG_FIELD_INT, .i = (int64_t)(v) })
#define LOG_D(k, v) ((struct log_field){ .key = (k), .type = LOG_FIELD_DOUBLE, .d = (double)(v) })
#define LOG_B(k, v) ((struct log_field){ .key = (k), .type = LOG_FIELD_BOOL, .i = !!(v) })

/* Sets level, format and the "name" field every line carries (e.g. "users").
 * Before log_init: level info, JSON, no name. Call once at start-up. */
void log_init(enum log_level level, enum log_format format, const char *name);

/* Redirects output to fd (tests capture logs this way); default 1. */
void log_set_fd(int fd);

bool log_enabled(enum log_level level);

/* Writes one line. fields is terminated by an entry with type LOG_FIELD_END
 * (key NULL); NULL means no fields. A NULL string field is written as null. */
void log_emit(enum log_level level, const char *msg, const struct log_field *fields);

#define LOG_FIELDS_(...) ((const struct log_field[]){ __VA_ARGS__ __VA_OPT__(, ){ 0 } })
#define log_trace(msg, ...) log_emit(LOG_TRACE, (msg), LOG_FIELDS_(__VA_ARGS__))
#define log_debug(msg, ...) log_emit(LOG_DEBUG, (msg), LOG_FIELDS_(__VA_ARGS__))
#define log_info(msg, ...) log_emit(LOG_INFO, (msg), LOG_FIELDS_(__VA_ARGS__))
#define log_warn(msg, ...) log_emit(LOG_WARN, (msg), LOG_FIELDS_(__VA_ARGS__))
#define log_error(msg, ...) log_emit(LOG_ERROR, (msg), LOG_FIELDS_(__VA_ARGS__))
#define log_fatal(msg, ...) log_emit(LOG_FATAL, (msg), LOG_FIELDS_(__VA_ARGS__))

/* "info" -> LOG_INFO etc. (trace, debug, info, warn, error, fatal). */
bool log_level_parse(const char *s, enum log_level *out);

#endif
