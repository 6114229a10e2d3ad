/* config.c - environment variables read and checked at start-up; see config.h. */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* Longest part of a malformed value quoted back in its error message. */
#define CONFIG_ECHO_MAX 64

void config_reader_init(struct config_reader *r)
{
	r->nerrors = 0;
}

void config_error(struct config_reader *r, const char *fmt, ...)
{
	va_list ap;
	int slot = r->nerrors;

	if (slot >= CONFIG_MAX_ERRORS) {
		/* Full: the last slot says that more were dropped. */
		strlcpy_s(r->errors[CONFIG_MAX_ERRORS - 1], "(further errors omitted)",
			  sizeof(r->errors[0]));
		return;
	}
	va_start(ap, fmt);
	vsnprintf(r->errors[slot], sizeof(r->errors[slot]), fmt, ap);
	va_end(ap);
	r->nerrors = slot + 1;
}

/* The value as it can be shown on a terminal: non-printable bytes as \xNN,
 * long values cut with "...". */
static void echo_value(const char *s, char *buf, size_t bufsize)
{
	static const char hex[] = "0123456789abcdef";
	size_t j = 0, i;

	for (i = 0; s[i] && i < CONFIG_ECHO_MAX && j + 5 < bufsize; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
			buf[j++] = (char)c;
		} else {
			buf[j++] = '\\';
			buf[j++] = 'x';
			buf[j++] = hex[c >> 4];
			buf[j++] = hex[c & 0xF];
		}
	}
	if (s[i] && j + 4 <= bufsize) {
		memcpy(buf + j, "...", 3);
		j += 3;
	}
	buf[j] = '\0';
}

/* getenv, with "" reported as unset. */
static const char *env_value(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

const char *config_str(struct config_reader *r, const char *name, const char *def)
{
	const char *v = env_value(name);

	return v ? v : def;
}

const char *config_required(struct config_reader *r, const char *name)
{
	const char *v = env_value(name);

	if (!v)
		config_error(r, "%s is required", name);
	return v;
}

int64_t config_int(struct config_reader *r, const char *name, int64_t def, int64_t min, int64_t max)
{
	const char *v = env_value(name);
	char shown[CONFIG_ECHO_MAX * 4 + 4];
	int64_t n;

	if (!v)
		return def;
	if (parse_int64(v, &n) && n >= min && n <= max)
		return n;
	echo_value(v, shown, sizeof(shown));
	config_error(r, "%s: \"%s\" is not an integer in %lld..%lld", name, shown, (long long)min,
		     (long long)max);
	return def;
}

bool config_bool(struct config_reader *r, const char *name, bool def)
{
	static const char *const yes[] = { "true", "1", "yes", "on" };
	static const char *const no[] = { "false", "0", "no", "off" };
	const char *v = env_value(name);
	char shown[CONFIG_ECHO_MAX * 4 + 4];

	if (!v)
		return def;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return true;
		if (strcasecmp(v, no[i]) == 0)
			return false;
	}
	echo_value(v, shown, sizeof(shown));
	config_error(r, "%s: \"%s\" is not a boolean (true/false, 1/0, yes/no, on/off)", name,
		     shown);
	return def;
}

const char *config_enum(struct config_reader *r, const char *name, const char *def,
			const char *const *allowed)
{
	const char *v = env_value(name);
	char shown[CONFIG_ECHO_MAX * 4 + 4];
	char choices[128] = "";
	size_t used = 0;

	if (!v)
		return def;
	for (size_t i = 0; allowed && allowed[i]; i++) {
		if (strcmp(v, allowed[i]) == 0)
			return allowed[i];
	}
	for (size_t i = 0; allowed && allowed[i] && used < sizeof(choices); i++) {
		int n = snprintf(choices + used, sizeof(choices) - used, "%s%s", i ? ", " : "",
				 allowed[i]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
	echo_value(v, shown, sizeof(shown));
	config_error(r, "%s: \"%s\" is not one of %s", name, shown, choices);
	return def;
}

bool config_parse_duration(const char *s, int64_t *seconds)
{
	int64_t v = 0, unit = 1;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		int digit = *p - '0';

		if (v > (INT64_MAX - digit) / 10)
			return false;
		v = v * 10 + digit;
	}
	switch (*p) {
	case '\0':
		break;
	case 's':
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return false;
	}
	if (*p && p[1] != '\0')
		return false;
	if (v > INT64_MAX / unit)
		return false;
	*seconds = v * unit;
	return true;
}

int64_t config_duration_s(struct config_reader *r, const char *name, int64_t def, int64_t min_s,
			  int64_t max_s)
{
	const char *v = env_value(name);
	char shown[CONFIG_ECHO_MAX * 4 + 4];
	int64_t s;

	if (!v)
		return def;
	echo_value(v, shown, sizeof(shown));
	if (!config_parse_duration(v, &s)) {
		config_error(r,
			     "%s: \"%s\" is not a duration (seconds, or a number with s/m/h/d: "
			     "90, 15m, 24h, 7d)",
			     name, shown);
		return def;
	}
	if (s < min_s || s > max_s) {
		config_error(r, "%s: \"%s\" is not between %llds and %llds", name, shown,
			     (long long)min_s, (long long)max_s);
		return def;
	}
	return s;
}

int config_reader_finish(struct config_reader *r, FILE *out)
{
	if (r->nerrors == 0)
		return 0;
	for (int i = 0; out && i < r->nerrors; i++)
		fprintf(out, "config: %s\n", r->errors[i]);
	if (out)
		fflush(out);
	return -1;
}
