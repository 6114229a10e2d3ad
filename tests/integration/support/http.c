/* http.c - an HTTP client for integration tests (libcurl, or a raw socket)
 * and a gateway stack to point it at; see http.h. The envelope checks are in
 * http_shape.c. */
#include "http.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "it.h"
#include "jwt_hs256.h"
#include "rpc.h"
#include "util.h"

#define IT_HTTP_TIMEOUT_MS 10000
#define IT_HTTP_MAX_HEADERS 64

/* ---- response assembly ----------------------------------------------------- */

static void body_append(struct it_http_result *r, const char *data, size_t n)
{
	r->body = xrealloc(r->body, r->body_len + n + 1);
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
}

static void headers_clear(struct it_http_result *r)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->nheaders = 0;
}

/* One "Name: value" line (CRLF or not); a status line starts a new response
 * (after a 100 Continue), so the headers seen so far are dropped. */
static void header_line(struct it_http_result *r, const char *line, size_t n)
{
	const char *colon, *v, *end = line + n;

	while (end > line && (end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if (end - line >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		headers_clear(r);
		return;
	}
	colon = memchr(line, ':', (size_t)(end - line));
	if (!colon || r->nheaders >= IT_HTTP_MAX_HEADERS)
		return;
	v = colon + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	r->headers = xrealloc(r->headers, (r->nheaders + 1) * sizeof(*r->headers));
	r->headers[r->nheaders].name = strndup(line, (size_t)(colon - line));
	r->headers[r->nheaders].value = strndup(v, (size_t)(end - v));
	r->nheaders++;
}

static void finish(struct it_http_result *r)
{
	json_error_t jerr;

	if (!r->body)
		body_append(r, "", 0);
	if (r->body_len > 0)
		r->json = json_loadb(r->body, r->body_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
				     &jerr);
}

/* ---- libcurl ------------------------------------------------------------------ */

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	header_line(ctx, data, size * n);
	return size * n;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	body_append(ctx, data, size * n);
	return size * n;
}

static bool names_header(const char *const *headers, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; headers && headers[i]; i++) {
		if (strncasecmp(headers[i], name, len) == 0 && headers[i][len] == ':')
			return true;
	}
	return false;
}

static struct curl_slist *header_list(const char *const *headers, const char *body)
{
	struct curl_slist *list = NULL;

	for (size_t i = 0; headers && headers[i]; i++)
		list = curl_slist_append(list, headers[i]);
	list = curl_slist_append(list, "Expect:");
	if (body && !names_header(headers, "Content-Type"))
		list = curl_slist_append(list, "Content-Type:");
	return list;
}

static void set_method(CURL *c, const char *method, const char *body)
{
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
}

struct it_http_result it_http(const char *method, const char *url, const char *const *headers,
			      const char *body)
{
	struct it_http_result r = { 0 };
	struct curl_slist *list = header_list(headers, body);
	CURL *c = curl_easy_init();
	int64_t started = mono_ms();
	CURLcode rc;

	if (!c) {
		strlcpy_s(r.error, "curl_easy_init failed", sizeof(r.error));
		goto out_free_list;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)IT_HTTP_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	set_method(c, method, body);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	} else {
		snprintf(r.error, sizeof(r.error), "%s %s: %s", method, url,
			 curl_easy_strerror(rc));
		r.status = 0;
	}
	curl_easy_cleanup(c);
out_free_list:
	curl_slist_free_all(list);
	r.elapsed_ms = mono_ms() - started;
	finish(&r);
	return r;
}

/* ---- raw socket ------------------------------------------------------------------ */

static int connect_local(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* Everything the peer sends until it closes or the deadline passes. */
static char *recv_all(int fd, size_t *len, int64_t deadline)
{
	char *buf = xmalloc(1);
	char chunk[4096];

	*len = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - mono_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf = xrealloc(buf, *len + (size_t)n + 1);
		memcpy(buf + *len, chunk, (size_t)n);
		*len += (size_t)n;
	}
	buf[*len] = '\0';
	return buf;
}

static void dechunk(struct it_http_result *r, const char *p, const char *end)
{
	while (p < end) {
		char *after;
		unsigned long size = strtoul(p, &after, 16);
		const char *data = strstr(after, "\r\n");

		if (!data || size == 0)
			return;
		data += 2;
		if ((size_t)(end - data) < size)
			size = (unsigned long)(end - data);
		body_append(r, data, size);
		p = data + size + 2;
	}
}

/* Splits a whole HTTP/1.x response into r. */
static void parse_raw(struct it_http_result *r, const char *raw, size_t len)
{
	const char *end = raw + len, *head_end = strstr(raw, "\r\n\r\n"), *line, *body;
	const char *te, *cl;

	if (strncmp(raw, "HTTP/1.", 7) != 0 || !head_end) {
		snprintf(r->error, sizeof(r->error), "not an HTTP response (%zu bytes)", len);
		return;
	}
	r->status = strtol(raw + 9, NULL, 10);
	for (line = strstr(raw, "\r\n") + 2; line < head_end;) {
		const char *eol = strstr(line, "\r\n");

		header_line(r, line, (size_t)(eol - line));
		line = eol + 2;
	}
	body = head_end + 4;
	te = it_http_header(r, "Transfer-Encoding");
	cl = it_http_header(r, "Content-Length");
	if (te && strcasecmp(te, "chunked") == 0)
		dechunk(r, body, end);
	else if (cl && strtoul(cl, NULL, 10) <= (size_t)(end - body))
		body_append(r, body, strtoul(cl, NULL, 10));
	else
		body_append(r, body, (size_t)(end - body));
}

struct it_http_result it_http_raw(int port, const char *request, size_t len)
{
	struct it_http_result r = { 0 };
	int64_t started = mono_ms();
	int fd = connect_local(port);
	size_t rawlen;
	char *raw;

	if (fd < 0) {
		snprintf(r.error, sizeof(r.error), "connect 127.0.0.1:%d: %s", port,
			 strerror(errno));
		goto out;
	}
	if (!send_all(fd, request, len))
		snprintf(r.error, sizeof(r.error), "send: %s", strerror(errno));
	/* Read even after a failed send: the server may have answered early. */
	raw = recv_all(fd, &rawlen, started + IT_HTTP_TIMEOUT_MS);
	close(fd);
	parse_raw(&r, raw, rawlen);
	free(raw);
out:
	r.elapsed_ms = mono_ms() - started;
	finish(&r);
	return r;
}

const char *it_http_header(const struct it_http_result *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	}
	return NULL;
}

void it_http_release(struct it_http_result *r)
{
	headers_clear(r);
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
	if (r->json)
		json_decref(r->json);
	r->json = NULL;
}

void it_http_dump(const struct it_http_result *r, const char *label)
{
	fprintf(stderr, "--- %s: HTTP %ld (%lld ms)%s%s\n", label, r->status,
		(long long)r->elapsed_ms, r->error[0] ? " error: " : "", r->error);
	for (size_t i = 0; i < r->nheaders; i++)
		fprintf(stderr, "  %s: %s\n", r->headers[i].name, r->headers[i].value);
	fprintf(stderr, "  body (%zu bytes): %.2000s\n", r->body_len, r->body ? r->body : "");
}

/* ---- a gateway stack ------------------------------------------------------------- */

bool it_gateway_users_start(struct it_gateway *g)
{
	static const char *const extra[] = { "ADMIN_EMAIL=" IT_GW_ADMIN_EMAIL,
					     "ADMIN_PASSWORD=" IT_GW_ADMIN_PASSWORD,
					     /* the gateway's limits are under test here, not
					      * VerifyCredentials' (users_verify_limit_grpc_it.c) */
					     "AUTH_RATE_LIMIT_MAX=1000000", NULL };
	const struct stack_peers peers = { .auth = g->auth_target };

	g->users = stack_spawn_serving(g->stack, "users", "bin/users-service", g->users_port,
				       &peers, extra);
	return g->users != NULL;
}

/* Polls until the gateway answers any HTTP status on GET /users/me. */
/* The last lines of p's log on stderr (a sanitizer's report, a fatal
 * configuration error), for a process that died unexpectedly. */
static void print_log_tail(struct proc *p)
{
	char *log = read_file_all(proc_log_path(p));
	size_t n = log ? strlen(log) : 0;
	const char *start = log;

	if (!log)
		return;
	if (n > 6000)
		start = log + n - 6000;
	fprintf(stderr, "--- last lines of %s:\n%s\n---\n", proc_log_path(p), start);
	free(log);
}

/* Gives the gateway up to 10 s to load its revocation state from the auth
 * service (until then credentials get 503), watching its log rather than
 * asking it (a request would show in its metrics); a test whose auth
 * service is meant to be down goes on after that. */
static void wait_revocation_loaded(struct proc *gw)
{
	int64_t deadline = mono_ms() + 10000;

	while (mono_ms() < deadline) {
		char *log = read_file_all(proc_log_path(gw));
		bool loaded = log && strstr(log, "revocation state loaded");

		free(log);
		if (loaded)
			return;
		sleep_ms(10);
	}
}

/* Polls GET /health/live (never rate limited) until the gateway answers. */
static bool wait_gateway(struct proc *gw, int port)
{
	int64_t deadline = mono_ms() + 20000;
	char url[160];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health/live", port);
	while (mono_ms() < deadline) {
		struct it_http_result r;
		bool up;

		if (proc_wait(gw, 0) >= 0) {
			fprintf(stderr, "gateway exited during start-up; log: %s\n",
				proc_log_path(gw));
			print_log_tail(gw); /* the folder is gone once the stack stops */
			return false;
		}
		r = it_http("GET", url, NULL, NULL);
		up = r.status != 0;
		it_http_release(&r);
		if (up) {
			wait_revocation_loaded(gw);
			return true;
		}
		sleep_ms(50);
	}
	fprintf(stderr, "gateway did not answer within 20 s; log: %s\n", proc_log_path(gw));
	return false;
}

struct proc *it_gateway_posts_spawn(struct it_gateway *g, const char *name, int port)
{
	const struct stack_peers peers = { .users = g->users_target, .auth = g->auth_target };

	return stack_spawn_env(g->stack, name, "bin/posts-service", port, &peers, NULL);
}

static struct proc *gateway_spawn(struct it_gateway *g, const char *name, int api_port,
				  const char *const *extra_env)
{
	const struct stack_peers peers = { .users = g->users_target,
					   .auth = g->auth_target,
					   .posts = g->posts_target };
	const char *env[40] = { "GRPC_DEADLINE_MS=1500", "MAX_BODY_BYTES=4096", "API_VERSION=v1",
				"RATE_LIMIT_MAX=1000000" };
	size_t n = 4;
	struct proc *gw;

	_Static_assert(IT_GW_DEADLINE_MS == 1500 && IT_GW_MAX_BODY == 4096, "env above");
	for (size_t i = 0; extra_env && extra_env[i] && n < ARRAY_SIZE(env) - 1; i++)
		env[n++] = extra_env[i];
	env[n] = NULL;
	gw = stack_spawn_env(g->stack, name, "bin/gateway", api_port, &peers, env);
	return wait_gateway(gw, api_port) ? gw : NULL;
}

struct proc *it_gateway_spawn_extra(struct it_gateway *g, const char *name, int port,
				    const char *const *extra_env)
{
	return gateway_spawn(g, name, port, extra_env);
}

bool it_gateway_start(struct it_gateway *g, const char *name, const char *const *extra_env)
{
	const struct stack_peers posts_peers = { .users = g->users_target, .auth = g->auth_target };

	memset(g, 0, sizeof(*g));
	curl_global_init(CURL_GLOBAL_ALL);
	rpc_runtime_init();
	g->stack = stack_start(name);
	g->db = stack_database_url(g->stack);
	g->users_port = stack_free_port();
	g->auth_port = stack_free_port();
	g->posts_port = stack_free_port();
	g->port = stack_free_port();
	snprintf(g->base, sizeof(g->base), "http://127.0.0.1:%d/api/v1", g->port);
	snprintf(g->users_target, sizeof(g->users_target), "127.0.0.1:%d", g->users_port);
	snprintf(g->auth_target, sizeof(g->auth_target), "127.0.0.1:%d", g->auth_port);
	snprintf(g->posts_target, sizeof(g->posts_target), "127.0.0.1:%d", g->posts_port);
	/* Auth first: users, posts and the gateway load their revocation state
	 * from it before they are SERVING / ready. */
	g->auth = stack_spawn_auth(g->stack, g->auth_port, g->users_target);
	if (!g->auth || !it_gateway_users_start(g))
		return false;
	g->posts = stack_spawn_serving(g->stack, "posts", "bin/posts-service", g->posts_port,
				       &posts_peers, NULL);
	if (!g->posts)
		return false;
	g->admin_id = it_sql_int(g->db,
				 "SELECT id FROM users.users WHERE email = '" IT_GW_ADMIN_EMAIL
				 "'");
	g->admin_token = it_token(g->admin_id, IT_GW_ADMIN_EMAIL, "admin");
	g->gateway = gateway_spawn(g, "gateway", g->port, extra_env);
	return g->gateway != NULL;
}

/* SIGTERM to p, if the harness started it: 0 when it exited 0 (now or in an
 * earlier stop by the test), else its status, named on stderr. */
static int stop_checked(struct proc *p)
{
	int status = p ? proc_stop(p) : 0;

	if (status != 0)
		fprintf(stderr, "%s exited with %d after SIGTERM; log: %s\n", proc_name(p), status,
			proc_log_path(p));
	return status;
}

int it_gateway_stop(struct it_gateway *g)
{
	struct proc *services[] = { g->posts, g->users, g->auth }; /* callers first */
	int status;

	for (size_t i = 0; i < ARRAY_SIZE(services); i++) {
		if (services[i])
			proc_signal(services[i], SIGCONT); /* a test that failed half-way */
	}
	status = g->gateway ? stop_checked(g->gateway) : -1;
	for (size_t i = 0; i < ARRAY_SIZE(services); i++)
		status |= stop_checked(services[i]);
	stack_stop(g->stack);
	free(g->admin_token);
	rpc_runtime_shutdown();
	curl_global_cleanup();
	memset(g, 0, sizeof(*g));
	return status;
}

bool it_gateway_await_200(const struct it_gateway *g, const char *path, const char *token,
			  int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	char url[512], auth[JWT_MAX_TOKEN_BYTES + 32];
	const char *headers[] = { auth, NULL };

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", g->port, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
	for (;;) {
		struct it_http_result r = it_http("GET", url, token ? headers : NULL, NULL);
		long status = r.status;

		it_http_release(&r);
		if (status == 200)
			return true;
		if (mono_ms() >= deadline)
			return false;
		sleep_ms(100);
	}
}

struct it_http_result it_gateway_call(const struct it_gateway *g, const char *method,
				      const char *path, const char *token,
				      const char *const *headers, const char *body)
{
	char url[2048], auth[JWT_MAX_TOKEN_BYTES + 32];
	const char *all[24];
	size_t n = 0;

	snprintf(url, sizeof(url), "%s%s", g->base, path);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		all[n++] = auth;
	}
	if (body && !names_header(headers, "Content-Type"))
		all[n++] = "Content-Type: application/json";
	for (size_t i = 0; headers && headers[i] && n < ARRAY_SIZE(all) - 1; i++)
		all[n++] = headers[i];
	all[n] = NULL;
	return it_http(method, url, all, body);
}
