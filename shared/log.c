/* log.c - JSON-lines logger in pino's shape, or one readable line per event.
 *
 * A line is built in a stack buffer (a heap one when it outgrows it) and sent
 * with one write(2), so lines from concurrent threads never interleave. The
 * only mutable state is the logger's configuration, guarded by a mutex. */
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"
#include "validate.h"

#define LOG_NAME_MAX 64
#define LOG_STACK_LINE 2048

struct log_config {
	enum log_level level;
	enum log_format format;
	int fd;
	char name[LOG_NAME_MAX];
};

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_config log_cfg = { LOG_INFO, LOG_FORMAT_JSON, 1, "" };

static const char *const level_names[] = { "trace", "debug", "info", "warn", "error", "fatal" };
/* Upper-case and padded to one width so that messages line up. */
static const char *const level_labels[] = { "TRACE", "DEBUG", "INFO ", "WARN ", "ERROR", "FATAL" };

/* ---- configuration ------------------------------------------------------------ */

static enum log_level level_clamp(enum log_level level)
{
	if ((int)level < LOG_TRACE)
		return LOG_TRACE;
	if ((int)level > LOG_FATAL)
		return LOG_FATAL;
	return level;
}

void log_init(enum log_level level, enum log_format format, const char *name)
{
	pthread_mutex_lock(&log_lock);
	log_cfg.level = level_clamp(level);
	log_cfg.format = format == LOG_FORMAT_PRETTY ? LOG_FORMAT_PRETTY : LOG_FORMAT_JSON;
	strlcpy_s(log_cfg.name, name ? name : "", sizeof(log_cfg.name));
	pthread_mutex_unlock(&log_lock);
}

void log_set_fd(int fd)
{
	pthread_mutex_lock(&log_lock);
	log_cfg.fd = fd;
	pthread_mutex_unlock(&log_lock);
}

bool log_enabled(enum log_level level)
{
	bool on;

	pthread_mutex_lock(&log_lock);
	on = level_clamp(level) >= log_cfg.level;
	pthread_mutex_unlock(&log_lock);
	return on;
}

/* Copies the configuration into *cfg; false when level is filtered out. */
static bool log_snapshot(enum log_level level, struct log_config *cfg)
{
	bool on;

	pthread_mutex_lock(&log_lock);
	on = level >= log_cfg.level;
	if (on)
		*cfg = log_cfg;
	pthread_mutex_unlock(&log_lock);
	return on;
}

bool log_level_parse(const char *s, enum log_level *out)
{
	if (!s)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

/* ---- the line buffer ---------------------------------------------------------- */

struct line {
	char *p;
	size_t len;
	size_t cap;
	bool heap; /* p was allocated here (else it is the caller's stack buffer) */
};

static void line_reserve(struct line *l, size_t extra)
{
	size_t cap = l->cap;

	if (l->len + extra <= cap)
		return;
	while (cap < l->len + extra)
		cap *= 2;
	if (l->heap) {
		l->p = xrealloc(l->p, cap);
	} else {
		char *q = xmalloc(cap);

		memcpy(q, l->p, l->len);
		l->p = q;
		l->heap = true;
	}
	l->cap = cap;
}

static void line_put(struct line *l, const char *s, size_t n)
{
	line_reserve(l, n);
	memcpy(l->p + l->len, s, n);
	l->len += n;
}

static void line_puts(struct line *l, const char *s)
{
	line_put(l, s, strlen(s));
}

static void line_putc(struct line *l, char c)
{
	line_put(l, &c, 1);
}

/* ---- value encoders --------------------------------------------------------------- */

/* One ASCII byte; JSON escapes for '"', '\' and control characters. In pretty
 * text (json false) only control characters are escaped, to keep one line. */
static void put_ascii(struct line *l, unsigned char c, bool json)
{
	static const char hex[] = "0123456789abcdef";
	char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF] };

	switch (c) {
	case '"':
		line_puts(l, json ? "\\\"" : "\"");
		return;
	case '\\':
		line_puts(l, json ? "\\\\" : "\\");
		return;
	case '\n':
		line_puts(l, "\\n");
		return;
	case '\r':
		line_puts(l, "\\r");
		return;
	case '\t':
		line_puts(l, "\\t");
		return;
	case '\b':
		line_puts(l, "\\b");
		return;
	case '\f':
		line_puts(l, "\\f");
		return;
	}
	if (c < 0x20 || c == 0x7F)
		line_put(l, u, sizeof(u));
	else
		line_putc(l, (char)c);
}

/* Text with escapes; valid UTF-8 is kept as is, each invalid byte becomes \ufffd. */
static void put_escaped(struct line *l, const char *s, bool json)
{
	size_t len = strlen(s);
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n;

		if (c < 0x80) {
			put_ascii(l, c, json);
			i++;
			continue;
		}
		n = utf8_decode(s + i, len - i, NULL);
		if (n == 0) {
			line_puts(l, "\\ufffd");
			i++;
		} else {
			line_put(l, s + i, n);
			i += n;
		}
	}
}

static void put_json_string(struct line *l, const char *s)
{
	line_putc(l, '"');
	put_escaped(l, s, true);
	line_putc(l, '"');
}

static void put_int(struct line *l, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	line_puts(l, buf);
}

/* Millisecond precision without trailing zeros ("12.5", "3"); huge magnitudes
 * in exponent form; NaN and infinities (not JSON numbers) as null. */
static void put_double(struct line *l, double d)
{
	char buf[64];
	size_t n;

	if (!isfinite(d)) {
		line_puts(l, "null");
		return;
	}
	if (fabs(d) >= 1e15) {
		snprintf(buf, sizeof(buf), "%.17g", d);
		line_puts(l, buf);
		return;
	}
	snprintf(buf, sizeof(buf), "%.3f", d);
	n = strlen(buf);
	while (buf[n - 1] == '0')
		n--;
	if (buf[n - 1] == '.')
		n--;
	buf[n] = '\0';
	line_puts(l, strcmp(buf, "-0") == 0 ? "0" : buf);
}

/* ---- the two formats ----------------------------------------------------------------- */

static void put_json_value(struct line *l, const struct log_field *f)
{
	switch (f->type) {
	case LOG_FIELD_STR:
		if (f->s)
			put_json_string(l, f->s);
		else
			line_puts(l, "null");
		break;
	case LOG_FIELD_INT:
		put_int(l, f->i);
		break;
	case LOG_FIELD_DOUBLE:
		put_double(l, f->d);
		break;
	default:
		line_puts(l, f->i ? "true" : "false");
		break;
	}
}

static bool field_known(const struct log_field *f)
{
	return f->key && (f->type == LOG_FIELD_STR || f->type == LOG_FIELD_INT ||
			  f->type == LOG_FIELD_DOUBLE || f->type == LOG_FIELD_BOOL);
}

static void build_json(struct line *l, const struct log_config *cfg, enum log_level level,
		       const char *msg, const struct log_field *fields)
{
	line_puts(l, "{\"level\":\"");
	line_puts(l, level_names[level]);
	line_puts(l, "\",\"time\":");
	put_int(l, now_unix_ms());
	if (cfg->name[0]) {
		line_puts(l, ",\"name\":");
		put_json_string(l, cfg->name);
	}
	line_puts(l, ",\"msg\":");
	put_json_string(l, msg ? msg : "");
	for (const struct log_field *f = fields; f && f->type != LOG_FIELD_END; f++) {
		if (!field_known(f))
			continue;
		line_putc(l, ',');
		put_json_string(l, f->key);
		line_putc(l, ':');
		put_json_value(l, f);
	}
	line_putc(l, '}');
}

/* A pretty value is quoted when it would otherwise be ambiguous or unreadable. */
static bool pretty_needs_quotes(const char *s)
{
	if (*s == '\0' || !utf8_valid(s, strlen(s)))
		return true;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7F)
			return true;
	}
	return false;
}

static void put_pretty_value(struct line *l, const struct log_field *f)
{
	if (f->type == LOG_FIELD_STR && f->s && pretty_needs_quotes(f->s))
		put_json_string(l, f->s);
	else if (f->type == LOG_FIELD_STR && f->s)
		line_puts(l, f->s);
	else
		put_json_value(l, f);
}

static void build_pretty(struct line *l, const struct log_config *cfg, enum log_level level,
			 const char *msg, const struct log_field *fields)
{
	char ts[32];

	format_rfc3339_ms(now_unix_ms(), ts, sizeof(ts));
	line_puts(l, ts);
	line_putc(l, ' ');
	line_puts(l, level_labels[level]);
	if (cfg->name[0]) {
		line_puts(l, " [");
		put_escaped(l, cfg->name, false);
		line_putc(l, ']');
	}
	line_putc(l, ' ');
	put_escaped(l, msg ? msg : "", false);
	for (const struct log_field *f = fields; f && f->type != LOG_FIELD_END; f++) {
		if (!field_known(f))
			continue;
		line_putc(l, ' ');
		put_escaped(l, f->key, false);
		line_putc(l, '=');
		put_pretty_value(l, f);
	}
}

/* ---- output ------------------------------------------------------------------------------ */

/* One write(2) for the whole line; a short write (rare: a full pipe, a
 * signal) is finished by more writes. Errors are dropped: there is nowhere
 * left to report them. */
static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

void log_emit(enum log_level level, const char *msg, const struct log_field *fields)
{
	char stack[LOG_STACK_LINE];
	struct line l = { stack, 0, sizeof(stack), false };
	struct log_config cfg;
	int saved_errno = errno;

	level = level_clamp(level);
	if (!log_snapshot(level, &cfg))
		return;
	if (cfg.format == LOG_FORMAT_PRETTY)
		build_pretty(&l, &cfg, level, msg, fields);
	else
		build_json(&l, &cfg, level, msg, fields);
	line_putc(&l, '\n');
	write_all(cfg.fd, l.p, l.len);
	if (l.heap)
		free(l.p);
	/* Logging between a failing call and its errno check must not change errno. */
	errno = saved_errno;
}
