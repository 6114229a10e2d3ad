/* gateway_http_test.c - the HTTP layer as a client sees it: a real server on
 * 127.0.0.1 (free port) with a test handler, driven by libcurl and by raw
 * sockets for requests curl will not send (smuggling, hostile input). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "http.h"
#include "log.h"
#include "util.h"

#define MAX_BODY 1024

/* ---- the handler under the server ---------------------------------------- */

/* What the handler saw last (on /echo). */
struct seen {
	char method[16];
	char path[256];
	bool body_null;
	char body[MAX_BODY + 1];
	size_t body_len;
	int a_count;
	char a_first[64];
	int name_count;
	char name[64];
	int flag_count;
	char flag[16];
	char each[256];
	char header[64];
};

static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static struct seen seen;
static atomic_int handler_calls;
static atomic_int slow_entered;

static struct http_server *server;
static int port;
static int log_fd = -1;

static void copy_or_empty(char *dst, const char *src, size_t size)
{
	strlcpy_s(dst, src ? src : "", size);
}

static bool collect_each(void *ctx, const char *name, const char *value)
{
	char *buf = ctx;
	size_t n = strlen(buf);

	snprintf(buf + n, sizeof(seen.each) - n, "%s%s=%s", n ? "&" : "", name, value);
	return true;
}

static bool stop_after_first(void *ctx, const char *name, const char *value)
{
	(*(int *)ctx)++;
	return false;
}

static void record(struct http_request *req)
{
	const char *v = NULL;
	int once = 0;

	pthread_mutex_lock(&seen_mu);
	copy_or_empty(seen.method, req->method, sizeof(seen.method));
	copy_or_empty(seen.path, req->path, sizeof(seen.path));
	seen.body_null = req->body == NULL;
	seen.body_len = req->body_len;
	copy_or_empty(seen.body, req->body, sizeof(seen.body));
	seen.a_count = http_query(req, "a", &v);
	copy_or_empty(seen.a_first, v, sizeof(seen.a_first));
	seen.name_count = http_query(req, "name", &v);
	copy_or_empty(seen.name, v, sizeof(seen.name));
	seen.flag_count = http_query(req, "flag", &v);
	copy_or_empty(seen.flag, v, sizeof(seen.flag));
	seen.each[0] = '\0';
	http_query_each(req, collect_each, seen.each);
	http_query_each(req, stop_after_first, &once);
	if (once > 1)
		seen.each[0] = '!'; /* http_query_each did not stop */
	copy_or_empty(seen.header, http_header(req, "X-TEST-IN"), sizeof(seen.header));
	pthread_mutex_unlock(&seen_mu);
}

/* A copy taken under the lock: a failed assert must not leave it held. */
static struct seen last_seen(void)
{
	struct seen copy;

	pthread_mutex_lock(&seen_mu);
	copy = seen;
	pthread_mutex_unlock(&seen_mu);
	return copy;
}

static void test_handler(void *app, struct http_request *req, struct http_response *res)
{
	const char *n = NULL;

	atomic_fetch_add(&handler_calls, 1);
	if (app != &seen) {
		res->status = 500; /* the test sees it: no assert off the test thread */
		return;
	}
	if (strcmp(req->path, "/echo") == 0) {
		record(req);
		res->status = 200;
		res->body = xstrdup("{\"ok\":true}");
		res->body_len = strlen(res->body);
		http_response_header(res, "X-Test", arena_strdup(req->arena, "yes"));
	} else if (strcmp(req->path, "/nocontent") == 0) {
		res->status = 204;
		res->body = xstrdup("must not be sent");
		res->body_len = strlen(res->body);
	} else if (strcmp(req->path, "/text") == 0) {
		res->status = 201;
		res->body = xstrdup("hello");
		res->body_len = 5;
		res->content_type = "text/plain; charset=utf-8";
	} else if (strcmp(req->path, "/n") == 0) {
		http_query(req, "n", &n);
		res->status = 200;
		res->body = xstrdup(n ? n : "");
		res->body_len = strlen(res->body);
	} else if (strcmp(req->path, "/slow") == 0) {
		struct timespec ts = { 0, 300 * 1000 * 1000 };

		atomic_store(&slow_entered, 1);
		nanosleep(&ts, NULL);
		res->status = 200;
		res->body = xstrdup("slow");
		res->body_len = 4;
	} else if (strcmp(req->path, "/nostatus") != 0) {
		res->status = 404;
		res->body = xstrdup("{}");
		res->body_len = 2;
	}
}

/* The suite's server settings (a test changes what it tests). */
static struct http_server_config config(void)
{
	return (struct http_server_config){
		.host = "127.0.0.1",
		.threads = 4,
		.max_body_bytes = MAX_BODY,
		.conn_limit = 256,
		.per_ip_limit = 64,
		.timeout_s = 5,
		.api_version = "v1",
		.handler = test_handler,
		.app = &seen,
	};
}

static struct http_server *start(void)
{
	struct http_server_config cfg = config();

	return http_server_start(&cfg);
}

static int group_setup(void **state)
{
	const char *keep = getenv("GATEWAY_HTTP_TEST_LOG"); /* to read it after a failure */
	FILE *f = keep ? fopen(keep, "w+") : tmpfile();

	if (!f)
		return -1;
	log_fd = dup(fileno(f));
	fclose(f);
	log_set_fd(log_fd);
	log_init(LOG_INFO, LOG_FORMAT_JSON, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	server = start();
	if (!server)
		return -1;
	port = http_server_port(server);
	return port > 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	http_server_stop(server);
	curl_global_cleanup();
	log_set_fd(1);
	close(log_fd);
	return 0;
}

/* ---- clients ----------------------------------------------------------------- */

struct reply {
	long status;
	char *body;
	size_t len;
	char *headers;
	size_t hlen;
};

static void buf_append(char **buf, size_t *len, const char *p, size_t n)
{
	*buf = xrealloc(*buf, *len + n + 1);
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct reply *r = ud;

	buf_append(&r->body, &r->len, p, size * n);
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct reply *r = ud;

	buf_append(&r->headers, &r->hlen, p, size * n);
	return size * n;
}

/* A response header's value (static buffer per call site use), or NULL. */
static const char *reply_header(const struct reply *r, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name);

	for (const char *line = r->headers; line && *line;) {
		const char *end = strstr(line, "\r\n");
		size_t llen = end ? (size_t)(end - line) : strlen(line);

		if (llen > nlen + 1 && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			const char *v = line + nlen + 1;

			while (*v == ' ')
				v++;
			snprintf(out, size, "%.*s", (int)(llen - (size_t)(v - line)), v);
			return out;
		}
		line = end ? end + 2 : NULL;
	}
	return NULL;
}

static void reply_free(struct reply *r)
{
	free(r->body);
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

static CURLcode perform(CURL *c, const char *method, const char *path, const char *body,
			const char *const *headers, struct reply *out)
{
	struct curl_slist *list = NULL;
	char url[512];
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	for (size_t i = 0; headers && headers[i]; i++)
		list = curl_slist_append(list, headers[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(list);
	return rc;
}

static void request(const char *method, const char *path, const char *body,
		    const char *const *headers, struct reply *out)
{
	CURL *c = curl_easy_init();

	assert_non_null(c);
	assert_int_equal(perform(c, method, path, body, headers, out), CURLE_OK);
	curl_easy_cleanup(c);
}

/* Sends raw bytes (then half-closes when asked), then reads until the server
 * closes (or wait_s pass). */
static char *raw_exchange_opt(const char *data, size_t len, bool half_close, int wait_s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = wait_s };
	char *out = NULL, chunk[4096];
	size_t outlen = 0, sent = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (sent < len) {
		ssize_t n = send(fd, data + sent, len - sent, MSG_NOSIGNAL);

		if (n <= 0)
			break; /* the server may hang up early: read what it said */
		sent += (size_t)n;
	}
	if (half_close)
		shutdown(fd, SHUT_WR);
	buf_append(&out, &outlen, "", 0);
	for (;;) {
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);

		if (n <= 0)
			break;
		buf_append(&out, &outlen, chunk, (size_t)n);
	}
	close(fd);
	return out;
}

static char *raw_exchange(const char *data, size_t len)
{
	return raw_exchange_opt(data, len, false, 5);
}

static int raw_status(const char *resp)
{
	int status = 0;

	if (sscanf(resp, "HTTP/1.1 %d", &status) != 1)
		return 0;
	return status;
}

/* The error code of the envelope in a raw response. */
static void assert_raw_error(const char *resp, int status, const char *code)
{
	const char *body = strstr(resp, "\r\n\r\n");
	json_t *j;

	assert_int_equal(raw_status(resp), status);
	assert_non_null(strcasestr(resp, "\r\nX-Request-Id: req_"));
	assert_non_null(body);
	j = json_loads(body + 4, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_false(json_object_get(j, "success")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
			    code);
	json_decref(j);
}

/* ---- log capture ------------------------------------------------------------- */

/* The access-log line carrying request id rid (caller frees), waiting up to 2 s:
 * it is written when the response has been sent, maybe after the client read it. */
static char *log_line_for(const char *rid)
{
	char needle[128];

	snprintf(needle, sizeof(needle), "\"requestId\":\"%s\"", rid);
	for (int tries = 0; tries < 200; tries++) {
		off_t size = lseek(log_fd, 0, SEEK_END);
		char *all = xmalloc((size_t)size + 1), *hit;

		assert_int_equal(pread(log_fd, all, (size_t)size, 0), size);
		all[size] = '\0';
		hit = strstr(all, needle);
		if (hit) {
			char *start = hit, *end = strchr(hit, '\n'), *line;

			while (start > all && start[-1] != '\n')
				start--;
			line = strndup(start, end ? (size_t)(end - start) : strlen(start));
			free(all);
			return line;
		}
		free(all);
		usleep(10 * 1000);
	}
	return NULL;
}

/* ---- tests --------------------------------------------------------------------- */

static void test_get_query_and_headers(void **state)
{
	struct seen sn;
	const char *hdrs[] = { "x-test-in: hello there", "X-Request-Id: abc-123", NULL };
	struct reply r;
	char v[128];

	request("GET", "/echo?a=1&a=2&name=J%C3%BCrgen+x%26y&flag", NULL, hdrs, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"ok\":true}");
	assert_string_equal(reply_header(&r, "X-Test", v, sizeof(v)), "yes");
	assert_string_equal(reply_header(&r, "Content-Type", v, sizeof(v)), "application/json");
	assert_string_equal(reply_header(&r, "X-Request-Id", v, sizeof(v)), "abc-123");
	sn = last_seen();
	assert_string_equal(sn.method, "GET");
	assert_string_equal(sn.path, "/echo");
	assert_true(sn.body_null);
	assert_int_equal(sn.body_len, 0);
	assert_int_equal(sn.a_count, 2);
	assert_string_equal(sn.a_first, "1");
	assert_int_equal(sn.name_count, 1);
	assert_string_equal(sn.name, "J\xC3\xBCrgen x&y");
	assert_int_equal(sn.flag_count, 1);
	assert_string_equal(sn.flag, "");
	assert_string_equal(sn.each, "a=1&a=2&name=J\xC3\xBCrgen x&y&flag=");
	assert_string_equal(sn.header, "hello there");
	reply_free(&r);
}

static void test_post_body_and_decoded_path(void **state)
{
	struct seen sn;
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	struct reply r;

	request("POST", "/echo", "{\"x\":1}", hdrs, &r);
	assert_int_equal(r.status, 200);
	sn = last_seen();
	assert_string_equal(sn.method, "POST");
	assert_false(sn.body_null);
	assert_string_equal(sn.body, "{\"x\":1}");
	assert_int_equal(sn.body_len, 7);
	reply_free(&r);

	/* Exactly at the limit is accepted. */
	{
		char *big = xmalloc(MAX_BODY + 1);

		memset(big, 'b', MAX_BODY);
		big[MAX_BODY] = '\0';
		request("PATCH", "/echo", big, hdrs, &r);
		assert_int_equal(r.status, 200);
		sn = last_seen();
		assert_string_equal(sn.method, "PATCH");
		assert_int_equal(sn.body_len, MAX_BODY);
		assert_int_equal(strlen(sn.body), MAX_BODY);
		reply_free(&r);
		free(big);
	}

	request("DELETE", "/echo", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	/* The raw path: percent-decoded, query excluded. */
	{
		const char *raw = "GET /%65cho HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

		free(raw_exchange(raw, strlen(raw)));
	}
	sn = last_seen();
	assert_string_equal(sn.method, "GET");
	assert_string_equal(sn.path, "/echo");
}

static void test_request_id_rule(void **state)
{
	const char *spaced[] = { "X-Request-Id: abc 123", NULL };
	char long_id[80], long_hdr[100], v[128];
	const char *too_long[] = { long_hdr, NULL };
	const char *good[] = { "X-Request-Id: A.b_c-9", NULL };
	struct reply r;

	memset(long_id, 'a', 65);
	long_id[65] = '\0';
	snprintf(long_hdr, sizeof(long_hdr), "X-Request-Id: %s", long_id);

	request("GET", "/echo", NULL, good, &r);
	assert_string_equal(reply_header(&r, "X-Request-Id", v, sizeof(v)), "A.b_c-9");
	reply_free(&r);

	for (int i = 0; i < 3; i++) {
		const char *const *h = i == 0 ? spaced : i == 1 ? too_long : NULL;
		const char *id;

		request("GET", "/echo", NULL, h, &r);
		id = reply_header(&r, "X-Request-Id", v, sizeof(v));
		assert_non_null(id);
		assert_int_equal(strlen(id), 20);
		assert_memory_equal(id, "req_", 4);
		for (size_t k = 4; k < 20; k++)
			assert_true((id[k] >= 'a' && id[k] <= 'z') ||
				    (id[k] >= 'A' && id[k] <= 'Z') ||
				    (id[k] >= '0' && id[k] <= '9'));
		reply_free(&r);
	}
}

static void test_no_content_and_content_type(void **state)
{
	struct reply r;
	char v[128];
	const char *del_req = "DELETE /nocontent HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char *raw;

	request("DELETE", "/nocontent", NULL, NULL, &r);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.len, 0);
	assert_null(reply_header(&r, "Content-Type", v, sizeof(v)));
	assert_non_null(reply_header(&r, "X-Request-Id", v, sizeof(v)));
	reply_free(&r);

	raw = raw_exchange(del_req, strlen(del_req));
	assert_int_equal(raw_status(raw), 204);
	assert_null(strstr(raw, "must not"));
	free(raw);

	request("GET", "/text", NULL, NULL, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body, "hello");
	assert_string_equal(reply_header(&r, "Content-Type", v, sizeof(v)),
			    "text/plain; charset=utf-8");
	reply_free(&r);

	/* A handler that sets no status is a 500 in the envelope, not a hang. */
	request("GET", "/nostatus", NULL, NULL, &r);
	assert_int_equal(r.status, 500);
	assert_non_null(strstr(r.body, "\"INTERNAL_ERROR\""));
	reply_free(&r);
}

static void test_413_by_content_length(void **state)
{
	const char *hdrs[] = { "X-Request-Id: big-1", NULL };
	char *big = xmalloc(MAX_BODY + 2), *line;
	int before = atomic_load(&handler_calls);
	struct reply r;
	json_t *j;

	memset(big, 'x', MAX_BODY + 1);
	big[MAX_BODY + 1] = '\0';
	request("POST", "/echo", big, hdrs, &r);
	assert_int_equal(r.status, 413);
	j = json_loads(r.body, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
			    "PAYLOAD_TOO_LARGE");
	assert_string_equal(json_string_value(
				    json_object_get(json_object_get(j, "meta"), "requestId")),
			    "big-1");
	json_decref(j);
	reply_free(&r);
	free(big);
	assert_int_equal(atomic_load(&handler_calls), before);
	line = log_line_for("big-1");
	assert_non_null(line);
	assert_non_null(strstr(line, "\"statusCode\":413"));
	free(line);

	/* Answered from the headers alone: the 100 MB are never waited for. */
	{
		const char *
			req = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n";
		int64_t t0 = mono_ms();
		char *resp = raw_exchange(req, strlen(req));

		assert_raw_error(resp, 413, "PAYLOAD_TOO_LARGE");
		assert_true(mono_ms() - t0 < 2000);
		assert_non_null(strcasestr(resp, "\r\nConnection: close\r\n"));
		free(resp);
	}
}

/* A client that sends the over-limit body anyway, without waiting. */
static void test_413_body_sent_anyway(void **state)
{
	static const size_t sizes[] = { 2000, 60 * 1024, 512 * 1024 };
	int before = atomic_load(&handler_calls);

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t body = sizes[i], len;
		char *req = xmalloc(body + 256), *resp;
		int head = snprintf(req, 256,
				    "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
				    body);

		memset(req + head, 'y', body);
		len = (size_t)head + body;
		resp = raw_exchange(req, len);
		assert_raw_error(resp, 413, "PAYLOAD_TOO_LARGE");
		free(resp);
		free(req);
	}
	assert_int_equal(atomic_load(&handler_calls), before);
}

static void test_413_chunked(void **state)
{
	struct seen sn;
	int before = atomic_load(&handler_calls);
	char req[8192], chunk[600], *resp;
	size_t len;

	memset(chunk, 'z', 500);
	chunk[500] = '\0';
	len = (size_t)snprintf(req, sizeof(req),
			       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
			       "Connection: close\r\n\r\n");
	for (int i = 0; i < 5; i++)
		len += (size_t)snprintf(req + len, sizeof(req) - len, "1f4\r\n%s\r\n", chunk);
	len += (size_t)snprintf(req + len, sizeof(req) - len, "0\r\n\r\n");
	resp = raw_exchange(req, len);
	assert_raw_error(resp, 413, "PAYLOAD_TOO_LARGE");
	free(resp);
	assert_int_equal(atomic_load(&handler_calls), before);

	/* A chunked body within the limit arrives whole. */
	len = (size_t)snprintf(req, sizeof(req),
			       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
			       "Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
	resp = raw_exchange(req, len);
	assert_int_equal(raw_status(resp), 200);
	free(resp);
	sn = last_seen();
	assert_string_equal(sn.body, "hello world");
	assert_int_equal(sn.body_len, 11);
}

/* A chunked body that never ends is dropped after a bounded amount: the
 * server hangs up (no response) and logs the request as aborted. */
static void test_endless_chunked(void **state)
{
	static const char head[] = "POST /echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: endless-1\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n";
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 5 };
	int before = atomic_load(&handler_calls);
	size_t chunk_len = 64 * 1024, sent = 0;
	char *chunk = xmalloc(chunk_len + 16);
	int n = snprintf(chunk, 16, "%zx\r\n", chunk_len);
	bool refused = false;
	char *line;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(chunk + n, 'e', chunk_len);
	memcpy(chunk + n + chunk_len, "\r\n", 2);
	assert_int_equal(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
	while (sent < 64u * 1024 * 1024) {
		ssize_t w = send(fd, chunk, (size_t)n + chunk_len + 2, MSG_NOSIGNAL);

		if (w <= 0) {
			refused = true;
			break;
		}
		sent += (size_t)w;
	}
	close(fd);
	free(chunk);
	assert_true(refused);
	assert_int_equal(atomic_load(&handler_calls), before);
	line = log_line_for("endless-1");
	assert_non_null(line);
	assert_non_null(strstr(line, "\"msg\":\"HTTP Request aborted\""));
	assert_non_null(strstr(line, "\"statusCode\":413"));
	free(line);
}

static void test_400_smuggling(void **state)
{
	static const char *const reqs[] = {
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
		"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
		"content-length: 5\r\n\r\nhello",
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\nhello!",
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc",
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n"
		"Content-Length: 5\r\n\r\nhello",
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
		"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	};
	int before = atomic_load(&handler_calls);

	for (size_t i = 0; i < ARRAY_SIZE(reqs); i++) {
		char *resp = raw_exchange(reqs[i], strlen(reqs[i]));

		assert_raw_error(resp, 400, "BAD_REQUEST");
		free(resp);
	}
	assert_int_equal(atomic_load(&handler_calls), before);
}

/* Garbage must not take the server down. */
static void test_hostile_input(void **state)
{
	static const char *const junk[] = {
		"\x00\x01\x02\xff\r\n\r\n",
		"GET\r\n\r\n",
		"GET / HTTP/9.9\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
		"GET /echo?%zz=%00&&=&a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /ec%00ho HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: \xff\xfe\r\nConnection: close\r\n\r\n",
		"GET /echo HTTP/1.1\r\nHost: x\r\n",
	};
	char *huge = xmalloc(200 * 1024);
	struct reply r;
	int n;

	for (size_t i = 0; i < ARRAY_SIZE(junk); i++)
		free(raw_exchange_opt(junk[i], i == 0 ? 8 : strlen(junk[i]), true, 1));
	/* Headers over the per-connection memory limit. */
	n = snprintf(huge, 200 * 1024, "GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(huge + n, 'h', 150 * 1024);
	memcpy(huge + n + 150 * 1024, "\r\n\r\n", 4);
	free(raw_exchange_opt(huge, (size_t)n + 150 * 1024 + 4, false, 1));
	free(huge);

	request("GET", "/echo", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
}

/* What only the raw URL shows: %00 (400), %2F in the path (404), and a
 * target MHD would choke on (414, answered at once). */
static void test_raw_uri(void **state)
{
	static const struct {
		const char *target;
		int status;
	} cases[] = { { "/echo?a=%00", 400 },
		      { "/echo?%00=1", 400 },
		      { "/ec%2Fho", 404 },
		      { "/ec%2fho", 404 } };
	char *req = xmalloc(16 * 1024), *resp;
	int before = atomic_load(&handler_calls);
	int64_t t0;
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		n = (size_t)snprintf(req, 16 * 1024, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
				     cases[i].target);
		resp = raw_exchange(req, n);
		assert_raw_error(resp, cases[i].status,
				 cases[i].status == 400 ? "BAD_REQUEST" : "NOT_FOUND");
		free(resp);
	}
	assert_int_equal(atomic_load(&handler_calls), before);
	/* 101 parameters, then a target of 8193 bytes: 414 at once */
	n = (size_t)snprintf(req, 16 * 1024, "GET /echo?a=1");
	for (int i = 1; i <= 100; i++)
		n += (size_t)snprintf(req + n, 16 * 1024 - n, "&a=1");
	n += (size_t)snprintf(req + n, 16 * 1024 - n, " HTTP/1.1\r\nHost: x\r\n\r\n");
	t0 = mono_ms();
	resp = raw_exchange(req, n);
	assert_raw_error(resp, 414, "URI_TOO_LONG");
	assert_true(mono_ms() - t0 < 1000);
	free(resp);
	n = (size_t)snprintf(req, 16 * 1024, "GET /echo?a=");
	memset(req + n, 'a', 8193 - (n - 4));
	n += 8193 - (n - 4);
	n += (size_t)snprintf(req + n, 16 * 1024 - n, " HTTP/1.1\r\nHost: x\r\n\r\n");
	resp = raw_exchange(req, n);
	assert_raw_error(resp, 414, "URI_TOO_LONG");
	free(resp);
	free(req);
	assert_int_equal(atomic_load(&handler_calls), before);
}

/* A connection to p from which the test sends what it wants. */
static int connect_port(int p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p) };
	struct timeval tv = { .tv_sec = 3 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Sends head, then one byte of trickle every 50 ms until the server answers
 * or closes; returns what it sent back ("" when it closed without a word)
 * and sets *ms to how long that took. */
static char *trickle_until_closed(int fd, const char *head, const char *trickle, int64_t *ms)
{
	int64_t t0 = mono_ms();
	char *out = NULL, chunk[4096];
	size_t outlen = 0;

	buf_append(&out, &outlen, "", 0);
	if (head)
		send(fd, head, strlen(head), MSG_NOSIGNAL);
	while (mono_ms() - t0 < 3000) {
		ssize_t n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			break;
		if (n > 0) {
			buf_append(&out, &outlen, chunk, (size_t)n);
			continue;
		}
		if (trickle)
			send(fd, trickle, strlen(trickle), MSG_NOSIGNAL);
		usleep(50 * 1000);
	}
	*ms = mono_ms() - t0;
	return out;
}

/* Head and body deadlines (300 ms each here) hold however steadily bytes
 * arrive; a connection that sent nothing, or sits idle between requests, is
 * closed without a reply. */
static void test_deadlines(void **state)
{
	struct http_server_config cfg = config();
	struct http_server *s;
	int p, fd;
	int64_t ms;
	char *resp;

	cfg.threads = 2;
	cfg.conn_limit = cfg.per_ip_limit = 16;
	cfg.timeout_s = 30;
	cfg.head_timeout_ms = cfg.body_timeout_ms = 300;
	s = http_server_start(&cfg);

	assert_non_null(s);
	p = http_server_port(s);
	fd = connect_port(p);
	resp = trickle_until_closed(fd, "GET /echo HTTP/1.1\r\nHost: x\r\n", "X", &ms);
	assert_raw_error(resp, 408, "REQUEST_TIMEOUT");
	assert_true(ms >= 250 && ms < 1500);
	free(resp);
	close(fd);
	fd = connect_port(p);
	resp = trickle_until_closed(fd,
				    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
				    "Content-Type: application/json\r\n\r\n",
				    " ", &ms);
	assert_raw_error(resp, 408, "REQUEST_TIMEOUT");
	assert_true(ms >= 250 && ms < 1500);
	free(resp);
	close(fd);
	fd = connect_port(p); /* nothing sent: closed, no reply */
	resp = trickle_until_closed(fd, NULL, NULL, &ms);
	assert_string_equal(resp, "");
	assert_true(ms >= 250 && ms < 1500);
	free(resp);
	close(fd);
	fd = connect_port(p); /* one request answered, then idle: closed, no 408 */
	resp = trickle_until_closed(fd, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", NULL, &ms);
	assert_int_equal(raw_status(resp), 200);
	assert_null(strstr(resp, "408"));
	assert_true(ms >= 250 && ms < 1500);
	free(resp);
	close(fd);
	http_server_stop(s);
}

static void test_access_log(void **state)
{
	const char *hdrs[] = { "User-Agent: test-agent/1.0", "X-Request-Id: log-1", NULL };
	static const char *const order[] = { "\"level\":\"info\"",
					     "\"msg\":\"HTTP Request\"",
					     "\"method\":\"GET\"",
					     "\"url\":",
					     "\"statusCode\":200",
					     "\"duration\":",
					     "\"userAgent\":\"test-agent/1.0\"",
					     "\"ip\":\"127.0.0.1\"",
					     "\"requestId\":\"log-1\"" };
	struct reply r;
	const char *prev = NULL;
	char *line;
	json_t *j;

	request("GET", "/echo?api_key=ak_live_s3cret&x=1&apiKey=abc&token=ak_other&key=k&q=a%20b",
		NULL, hdrs, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	line = log_line_for("log-1");
	assert_non_null(line);
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		const char *at = strstr(line, order[i]);

		assert_non_null(at);
		assert_true(prev == NULL || at > prev);
		prev = at;
	}
	j = json_loads(line, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "url")),
			    "/echo?api_key=[REDACTED]&x=1&apiKey=[REDACTED]&token=[REDACTED]"
			    "&key=[REDACTED]&q=a%20b");
	assert_true(json_is_real(json_object_get(j, "duration")) ||
		    json_is_integer(json_object_get(j, "duration")));
	assert_true(json_number_value(json_object_get(j, "duration")) >= 0);
	assert_null(strstr(line, "s3cret"));
	assert_null(strstr(line, "ak_"));
	json_decref(j);
	free(line);

	/* JWTs anywhere in the URL: a value of any name, inside a value, a path
	 * segment, a name. */
	hdrs[1] = "X-Request-Id: log-jwt";
	request("GET",
		"/echo/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln-_x?t=eyJh.eyJi.c&"
		"x=Bearer%20eyJhbGci.eyJzdWIi.sig&eyJh.eyJi.=1&n=eyJnotajwt&k=ceyJa.b.c",
		NULL, hdrs, &r);
	reply_free(&r);
	line = log_line_for("log-jwt");
	assert_non_null(line);
	j = json_loads(line, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "url")),
			    "/echo/[REDACTED]?t=[REDACTED]&x=Bearer%20[REDACTED]&[REDACTED]=1"
			    "&n=eyJnotajwt&k=ceyJa.b.c");
	json_decref(j);
	free(line);

	/* An answer of the server itself is logged too. */
	{
		const char *req = "POST /echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: log-2\r\n"
				  "Content-Length: 1\r\nContent-Length: 1\r\n\r\nx";
		char *resp = raw_exchange(req, strlen(req));

		assert_int_equal(raw_status(resp), 400);
		free(resp);
		line = log_line_for("log-2");
		assert_non_null(line);
		assert_non_null(strstr(line, "\"msg\":\"HTTP Request\""));
		assert_non_null(strstr(line, "\"statusCode\":400"));
		assert_non_null(strstr(line, "\"method\":\"POST\""));
		free(line);
	}
}

struct worker {
	int id;
	int ok;
};

static void *concurrent_worker(void *arg)
{
	struct worker *w = arg;
	CURL *c = curl_easy_init();

	for (int i = 0; c && i < 50; i++) {
		char path[64], want[32];
		struct reply r;

		snprintf(want, sizeof(want), "%d-%d", w->id, i);
		snprintf(path, sizeof(path), "/n?n=%s", want);
		if (perform(c, "GET", path, NULL, NULL, &r) == CURLE_OK && r.status == 200 &&
		    r.body && strcmp(r.body, want) == 0)
			w->ok++;
		reply_free(&r);
	}
	curl_easy_cleanup(c);
	return NULL;
}

static void test_concurrent(void **state)
{
	pthread_t t[4];
	struct worker w[4];

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, concurrent_worker, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].ok, 50);
	}
}

static void *slow_client(void *arg)
{
	struct reply *r = arg;
	CURL *c = curl_easy_init();

	if (perform(c, "GET", "/slow", NULL, NULL, r) != CURLE_OK)
		r->status = -1;
	curl_easy_cleanup(c);
	return NULL;
}

/* Stop lets a request being handled finish, then returns promptly. */
static void test_stop(void **state)
{
	struct http_server *main_server = server;
	int main_port = port;
	struct reply r;
	pthread_t t;
	int64_t t0;

	server = start();
	assert_non_null(server);
	port = http_server_port(server);
	assert_true(port > 0 && port != main_port);

	atomic_store(&slow_entered, 0);
	assert_int_equal(pthread_create(&t, NULL, slow_client, &r), 0);
	while (!atomic_load(&slow_entered))
		usleep(1000);
	t0 = mono_ms();
	http_server_stop(server);
	assert_true(mono_ms() - t0 < 2000);
	pthread_join(t, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "slow");
	reply_free(&r);

	/* Idle: immediate; and the port is closed afterwards. */
	server = start();
	assert_non_null(server);
	port = http_server_port(server);
	t0 = mono_ms();
	http_server_stop(server);
	assert_true(mono_ms() - t0 < 500);
	{
		CURL *c = curl_easy_init();

		assert_int_not_equal(perform(c, "GET", "/echo", NULL, NULL, &r), CURLE_OK);
		reply_free(&r);
		curl_easy_cleanup(c);
	}
	http_server_stop(NULL);
	server = main_server;
	port = main_port;
}

static void test_bind_failure(void **state)
{
	struct http_server_config cfg = config();
	struct http_server *s;

	/* The port is taken by the running server (no SO_REUSEPORT sharing). */
	cfg.port = port;
	s = http_server_start(&cfg);
	if (s)
		http_server_stop(s);
	assert_null(s);
	cfg.host = "not an address";
	assert_null(http_server_start(&cfg));
	cfg.host = "127.0.0.1";
	cfg.handler = NULL;
	assert_null(http_server_start(&cfg));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_query_and_headers),
		cmocka_unit_test(test_post_body_and_decoded_path),
		cmocka_unit_test(test_request_id_rule),
		cmocka_unit_test(test_no_content_and_content_type),
		cmocka_unit_test(test_413_by_content_length),
		cmocka_unit_test(test_413_body_sent_anyway),
		cmocka_unit_test(test_413_chunked),
		cmocka_unit_test(test_endless_chunked),
		cmocka_unit_test(test_400_smuggling),
		cmocka_unit_test(test_hostile_input),
		cmocka_unit_test(test_raw_uri),
		cmocka_unit_test(test_deadlines),
		cmocka_unit_test(test_access_log),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_bind_failure),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
