/* ceiling.c - the benchmark's ceiling: a bare libmicrohttpd server that
 * answers every request with the same application/json body, doing nothing
 * else. What the gateway reaches on a scenario is reported as a share of what
 * this program reaches on the same machine, with the same load.
 *
 *   bench-ceiling <port> <body-bytes>
 *
 * Listens on 127.0.0.1:<port>; the body is a valid JSON object of exactly
 * <body-bytes> bytes (the size of a typical GET /api/v1/users/:id answer).
 * SIGTERM or SIGINT stops it (exit 0).
 *
 * For the comparison to be fair, the daemon is started the way gateway/http.c
 * starts the gateway's: MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
 * MHD_USE_ERROR_LOG | MHD_USE_ITC, a thread pool of GATEWAY_THREADS' default
 * size (8), the same connection limits, idle timeout and per-connection
 * memory, a completion callback, and one response created per request and
 * answered after the request is complete (the second call of the access
 * handler), as the gateway does. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#define CEILING_THREADS 8               /* gateway/main.c: GATEWAY_THREADS default */
#define CEILING_CONN_LIMIT 1024         /* HTTP_MAX_CONNECTIONS default */
#define CEILING_PER_IP_LIMIT 128        /* HTTP_MAX_CONNECTIONS_PER_IP default */
#define CEILING_TIMEOUT_S 30            /* HTTP_IDLE_TIMEOUT default */
#define CEILING_CONN_MEMORY (64 * 1024) /* gateway/http.c: HTTP_CONN_MEMORY */
#define CEILING_BODY_MIN 10             /* {"pad":""} */
#define CEILING_BODY_MAX (1024 * 1024)

struct ceiling {
	const char *body; /* read-only after start-up, shared by every thread */
	size_t body_len;
};

/* A JSON object of exactly len bytes: {"pad":"xxx...x"}. malloc'd; caller frees. */
static char *make_body(size_t len)
{
	static const char head[] = "{\"pad\":\"";
	static const char tail[] = "\"}";
	char *b = malloc(len + 1);
	size_t pad = len - (sizeof(head) - 1) - (sizeof(tail) - 1);

	if (!b)
		return NULL;
	memcpy(b, head, sizeof(head) - 1);
	memset(b + sizeof(head) - 1, 'x', pad);
	memcpy(b + sizeof(head) - 1 + pad, tail, sizeof(tail) - 1);
	b[len] = '\0';
	return b;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **req_cls)
{
	struct ceiling *c = cls;
	struct MHD_Response *mr;
	enum MHD_Result ok;

	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;
	/* First call: headers seen. Marked, answered once the request is complete. */
	if (!*req_cls) {
		*req_cls = c;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* a body is read and dropped */
		return MHD_YES;
	}
	mr = MHD_create_response_from_buffer(c->body_len, (void *)c->body, MHD_RESPMEM_PERSISTENT);
	if (!mr)
		return MHD_NO;
	MHD_add_response_header(mr, "Content-Type", "application/json");
	ok = MHD_queue_response(conn, MHD_HTTP_OK, mr);
	MHD_destroy_response(mr);
	return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	*req_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	fputs("ceiling: ", stderr);
	vfprintf(stderr, fmt, ap);
}

/* A decimal number in [min, max], or -1. */
static long parse_arg(const char *s, long min, long max)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	return v;
}

static struct MHD_Daemon *start(struct ceiling *c, uint16_t port)
{
	struct sockaddr_in addr;

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons(port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
					MHD_USE_ERROR_LOG | MHD_USE_ITC,
				port, NULL, NULL, on_access, c, MHD_OPTION_EXTERNAL_LOGGER,
				on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
				(const struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
				(unsigned int)CEILING_THREADS, MHD_OPTION_CONNECTION_LIMIT,
				(unsigned int)CEILING_CONN_LIMIT,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				(unsigned int)CEILING_PER_IP_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)CEILING_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				(size_t)CEILING_CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED,
				on_completed, NULL, MHD_OPTION_END);
}

int main(int argc, char **argv)
{
	struct ceiling c = { 0 };
	struct MHD_Daemon *d;
	sigset_t set;
	long port, len;
	int sig = 0;
	char *body;

	port = argc == 3 ? parse_arg(argv[1], 1, 65535) : -1;
	len = argc == 3 ? parse_arg(argv[2], CEILING_BODY_MIN, CEILING_BODY_MAX) : -1;
	if (port < 0 || len < 0) {
		fprintf(stderr, "usage: %s <port> <body-bytes %d..%d>\n", argv[0], CEILING_BODY_MIN,
			CEILING_BODY_MAX);
		return 2;
	}
	body = make_body((size_t)len);
	if (!body)
		return 1;
	c.body = body;
	c.body_len = (size_t)len;

	/* Blocked before MHD starts its threads, so that only sigwait sees them. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	d = start(&c, (uint16_t)port);
	if (!d) {
		fprintf(stderr, "ceiling: cannot listen on 127.0.0.1:%ld\n", port);
		free(body);
		return 1;
	}
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	free(body);
	return 0;
}
