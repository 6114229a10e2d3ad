/* router.c - see router.h. */
#include "router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

struct segments {
	size_t n;
	const char *start[ROUTER_MAX_SEGMENTS];
	size_t len[ROUTER_MAX_SEGMENTS];
};

/* Splits "/a/b" into "a", "b"; false when not of the form (/segment)+ with
 * non-empty segments, or too many of them. */
static bool split(const char *path, struct segments *s)
{
	const char *p = path;

	s->n = 0;
	if (*p != '/')
		return false;
	while (*p == '/') {
		const char *seg = ++p;

		while (*p && *p != '/')
			p++;
		if (p == seg || s->n == ROUTER_MAX_SEGMENTS)
			return false;
		s->start[s->n] = seg;
		s->len[s->n++] = (size_t)(p - seg);
	}
	return *p == '\0';
}

/* Matches path segments against a pattern; fills m's params when it does. */
static bool match_pattern(const char *pattern, const struct segments *path, struct route_match *m)
{
	struct segments pat;

	if (!split(pattern, &pat) || pat.n != path->n)
		return false;
	m->nparams = 0;
	for (size_t i = 0; i < pat.n; i++) {
		if (pat.start[i][0] == ':') {
			struct route_param *p;

			if (m->nparams == ROUTER_MAX_PARAMS || path->len[i] >= sizeof(p->value))
				return false;
			p = &m->params[m->nparams++];
			snprintf(p->name, sizeof(p->name), "%.*s", (int)(pat.len[i] - 1),
				 pat.start[i] + 1);
			memcpy(p->value, path->start[i], path->len[i]);
			p->value[path->len[i]] = '\0';
		} else if (pat.len[i] != path->len[i] ||
			   memcmp(pat.start[i], path->start[i], pat.len[i]) != 0) {
			return false;
		}
	}
	return true;
}

static bool allow_has(const char *allow, const char *method)
{
	size_t n = strlen(method);

	for (const char *p = allow; (p = strstr(p, method)) != NULL; p += n) {
		if ((p == allow || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
			return true;
	}
	return false;
}

static void allow_append(char *allow, size_t size, const char *method)
{
	size_t used = strlen(allow);

	if (!allow_has(allow, method) && used < size)
		snprintf(allow + used, size - used, "%s%s", used ? ", " : "", method);
}

enum router_result router_match(const struct route *table, size_t n, const char *method,
				const char *path, struct route_match *m, char *allow,
				size_t allowsize)
{
	struct segments segs;
	struct route_match tmp;
	bool path_known = false;

	if (allowsize)
		allow[0] = '\0';
	if (!split(path, &segs))
		return ROUTER_NOT_FOUND;
	for (size_t i = 0; i < n; i++) {
		if (!match_pattern(table[i].pattern, &segs, &tmp))
			continue;
		if (strcmp(table[i].method, method) == 0) {
			*m = tmp;
			m->route = &table[i];
			return ROUTER_FOUND;
		}
		path_known = true;
		allow_append(allow, allowsize, table[i].method);
	}
	return path_known ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}
