/* router_fuzz.c - libFuzzer harness for gateway/router.c: router_match over
 * the real route table (gateway/routes.c) with a fuzzed method and path.
 *
 * Input: "<method>\n<path>" (no newline: the whole input is the path and the
 * method is GET). The path may hold any byte but NUL (the HTTP layer hands
 * over a C string). Beyond memory safety (ASan/UBSan), every answer is
 * checked against router.h's contract:
 *   - FOUND: the route's method is the one asked for; rebuilding the path from
 *     the route's pattern and the captured params gives back the exact path;
 *     no param is empty, holds '/' or is longer than the value buffer allows;
 *   - METHOD_NOT_ALLOWED: Allow lists only methods of the table, never the
 *     one asked for, each once; the path then matches for one of them;
 *   - every answer is the same when asked twice (no hidden state), and the
 *     same with a tiny Allow buffer (which must stay NUL-terminated). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "routes.h"

#define ROUTER_FUZZ_MAX_INPUT 4096
#define ALLOW_SIZE 128

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *method, const char *path)
{
	fprintf(stderr, "router_fuzz: %s (method \"%s\", path \"%s\")\n", what, method, path);
	abort();
}

/* Rebuilds the concrete path of a FOUND match from its pattern; false when it
 * does not fit out. */
static int rebuild(const struct route_match *m, char *out, size_t outsize)
{
	const char *p = m->route->pattern;
	size_t used = 0, param = 0;

	out[0] = '\0';
	while (*p) {
		const char *seg, *end;
		size_t n;

		if (*p != '/')
			return 0;
		seg = p + 1;
		end = strchr(seg, '/');
		if (!end)
			end = seg + strlen(seg);
		if (*seg == ':') {
			if (param >= m->nparams ||
			    strncmp(m->params[param].name, seg + 1, (size_t)(end - seg - 1)) != 0 ||
			    m->params[param].name[end - seg - 1] != '\0')
				return 0;
			n = (size_t)snprintf(out + used, outsize - used, "/%s",
					     m->params[param].value);
			param++;
		} else {
			n = (size_t)snprintf(out + used, outsize - used, "/%.*s", (int)(end - seg),
					     seg);
		}
		if (n >= outsize - used)
			return 0;
		used += n;
		p = end;
	}
	return param == m->nparams;
}

static int method_known(const char *name, size_t len)
{
	for (size_t i = 0; i < routes_count; i++)
		if (strlen(routes[i].method) == len && memcmp(routes[i].method, name, len) == 0)
			return 1;
	return 0;
}

/* Allow: "A, B, C" with table methods only, each once, never `method`. */
static void check_allow(const char *allow, const char *method, const char *path)
{
	const char *p = allow;
	char seen[16][16];
	size_t nseen = 0;

	if (!*allow)
		fail("METHOD_NOT_ALLOWED with an empty Allow", method, path);
	for (;;) {
		size_t len = strcspn(p, ",");

		if (!method_known(p, len))
			fail("Allow names a method that is not in the table", method, path);
		if (strlen(method) == len && memcmp(p, method, len) == 0)
			fail("Allow names the method that was refused", method, path);
		for (size_t i = 0; i < nseen; i++)
			if (strlen(seen[i]) == len && memcmp(seen[i], p, len) == 0)
				fail("Allow names a method twice", method, path);
		if (nseen < 16 && len < sizeof(seen[0])) {
			memcpy(seen[nseen], p, len);
			seen[nseen++][len] = '\0';
		}
		if (!p[len])
			break;
		if (p[len + 1] != ' ')
			fail("Allow is not comma-space separated", method, path);
		p += len + 2;
	}
}

static void check_found(const struct route_match *m, const char *method, const char *path)
{
	char again[ROUTER_FUZZ_MAX_INPUT + 64];

	if (m->route < routes || m->route >= routes + routes_count)
		fail("FOUND a route outside the table", method, path);
	if (strcmp(m->route->method, method) != 0)
		fail("FOUND a route of another method", method, path);
	if (m->nparams > ROUTER_MAX_PARAMS)
		fail("too many params", method, path);
	for (size_t i = 0; i < m->nparams; i++) {
		const char *v = m->params[i].value;

		if (!v[0] || strchr(v, '/') || strlen(v) >= sizeof(m->params[i].value))
			fail("a param value is empty, holds '/' or overflows", method, path);
	}
	if (!rebuild(m, again, sizeof(again)) || strcmp(again, path) != 0)
		fail("pattern + params do not give back the path", method, path);
}

static void check(const char *method, const char *path)
{
	struct route_match m, m2;
	char allow[ALLOW_SIZE], small[8];
	enum router_result r, r2;

	memset(&m, 0, sizeof(m));
	r = router_match(routes, routes_count, method, path, &m, allow, sizeof(allow));
	switch (r) {
	case ROUTER_FOUND:
		check_found(&m, method, path);
		break;
	case ROUTER_METHOD_NOT_ALLOWED:
		check_allow(allow, method, path);
		break;
	case ROUTER_NOT_FOUND:
		break;
	default:
		fail("unknown result", method, path);
	}
	memset(&m2, 0, sizeof(m2));
	memset(small, 'x', sizeof(small));
	r2 = router_match(routes, routes_count, method, path, &m2, small, sizeof(small));
	if (r2 != r)
		fail("a second call (smaller Allow buffer) answered differently", method, path);
	if (!memchr(small, '\0', sizeof(small)))
		fail("a small Allow buffer is left unterminated", method, path);
	if (r == ROUTER_FOUND && (m2.route != m.route || m2.nparams != m.nparams))
		fail("a second call matched differently", method, path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl;
	char *method, *path;
	size_t mlen, plen;

	if (size > ROUTER_FUZZ_MAX_INPUT || memchr(data, '\0', size))
		return -1; /* not a C string: the HTTP layer never passes one */
	nl = memchr(data, '\n', size);
	mlen = nl ? (size_t)(nl - data) : 0;
	plen = nl ? size - mlen - 1 : size;
	/* Exact-size copies, so ASan sees any read past the terminator. */
	method = malloc(mlen + 4);
	path = malloc(plen + 1);
	if (!method || !path)
		abort();
	if (nl)
		memcpy(method, data, mlen);
	else
		memcpy(method, "GET", mlen = 3);
	method[mlen] = '\0';
	memcpy(path, nl ? nl + 1 : data, plen);
	path[plen] = '\0';
	check(method, path);
	free(method);
	free(path);
	return 0;
}
