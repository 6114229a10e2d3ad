/* gateway_slowclient_rest_it.c - slow clients cannot take the gateway down
 * (issue 14 item 1): 1,200 connections from 40 loopback addresses
 * (127.0.0.2-127.0.0.41, 30 each, under the per-IP limit) send a request
 * line and then trickle header lines; past HTTP_HEADER_TIMEOUT_MS they are
 * closed (408), and a normal client polling every 100 ms is answered again,
 * p99 under 100 ms. A body trickled past HTTP_BODY_TIMEOUT_MS is a 408 too.
 * Both deadlines are shortened (2 s, 1.5 s) so the binary takes ~10 s. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

#define GW_IT_NAME "gateway_slowclient_rest_it"
#define GW_IT_ENV "HTTP_HEADER_TIMEOUT_MS=2000", "HTTP_BODY_TIMEOUT_MS=1500"
#include "support/gw_fixture.h"

#define HEAD_MS 2000
#define BODY_MS 1500
#define ADDRS 40
#define PER_ADDR 30
#define ATTACKERS (ADDRS * PER_ADDR)
#define SLOW_LOG "slow clients closed"
#define ATTACK_MS 6000 /* how long the attack and the normal client run */

static int setup(void **state)
{
	struct rlimit rl;

	/* 1,200 client sockets here, as many in the gateway: raise the soft
	 * limit to the hard one (the gateway inherits it). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return gw_setup(state);
}

/* A non-blocking TCP connection to the gateway from 127.0.0.<host>; -1 on failure. */
static int connect_from(int host)
{
	struct sockaddr_in from = { .sin_family = AF_INET };
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)G.port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	from.sin_addr.s_addr = htonl((127u << 24) | (unsigned)host);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&from, sizeof(from)) != 0 ||
	    (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0 && errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_text(int fd, const char *s)
{
	(void)send(fd, s, strlen(s), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Up to size-1 bytes the server sent so far (non-blocking); "" when none. */
static void peek_reply(int fd, char *buf, size_t size)
{
	ssize_t n = recv(fd, buf, size - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
}

/* What the server sent before closing fd, waiting until deadline (mono ms);
 * 1 = a 408 envelope, 0 = closed without one, -1 = still open. */
static int outcome(int fd, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t left = deadline - mono_ms();
	char buf[512];

	if (poll(&p, 1, left > 0 ? (int)left : 0) <= 0)
		return -1;
	peek_reply(fd, buf, sizeof(buf));
	return strncmp(buf, "HTTP/1.1 408 ", 13) == 0 && strstr(buf, "\"REQUEST_TIMEOUT\"");
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The metric line's value, or -1. */
static long long metric(const char *text, const char *series)
{
	const char *p = strstr(text, series);

	return p ? strtoll(p + strlen(series), NULL, 10) : -1;
}

struct poller {
	int64_t lat[ATTACK_MS / 100 + 10]; /* ms; -1 = no answer */
	int64_t at[ATTACK_MS / 100 + 10];  /* ms since the attack began */
	size_t n;
};

/* The normal client: GET /api/v1/posts from 127.0.0.1 every 100 ms (each
 * request limited to 3 s) until ATTACK_MS after t0, while trickle() keeps
 * the attackers' heads going. */
static void poll_and_trickle(struct poller *p, int64_t t0, const int *fds, size_t nfds)
{
	char url[160];
	int64_t next = t0, last_trickle = t0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/posts", G.port);
	while (mono_ms() < t0 + ATTACK_MS && p->n < ARRAY_SIZE(p->lat)) {
		struct it_http_result r;
		int64_t start;

		if (mono_ms() - last_trickle >= 500) { /* well inside MHD's idle timeout */
			for (size_t i = 0; i < nfds; i++)
				send_text(fds[i], "X-Slow: 1\r\n");
			last_trickle = mono_ms();
		}
		while (mono_ms() < next)
			usleep(2000);
		start = mono_ms();
		r = it_http("GET", url, (const char *const[]){ "Connection: close", NULL }, NULL);
		p->at[p->n] = start - t0;
		p->lat[p->n] = r.status == 200 ? r.elapsed_ms : -1;
		p->n++;
		it_http_release(&r);
		next = start + 100;
	}
}

static void slow_heads_are_cut_at_the_deadline(void **state)
{
	static int fds[ATTACKERS];
	struct poller p = { .n = 0 };
	int64_t after[ARRAY_SIZE(p.lat)], t0;
	size_t nafter = 0, answered408 = 0, blocked = 0, still_open = 0;
	struct it_http_result m;
	char buf[512], *log;
	int lines = 0;

	(void)state;
	for (int i = 0; i < ATTACKERS; i++) {
		fds[i] = connect_from(2 + i / PER_ADDR);
		assert_true(fds[i] >= 0);
	}
	usleep(100 * 1000); /* connected */
	for (int i = 0; i < ATTACKERS; i++)
		send_text(fds[i], "GET /api/v1/posts HTTP/1.1\r\nHost: 127.0.0.1\r\n");
	t0 = mono_ms();
	poll_and_trickle(&p, t0, fds, ATTACKERS);
	for (size_t i = 0; i < p.n; i++) {
		if (p.at[i] < 1000 && (p.lat[i] < 0 || p.lat[i] > 500))
			blocked++;
		/* after the deadline plus the reaper's tick and a margin */
		if (p.at[i] >= HEAD_MS + 500) {
			if (p.lat[i] < 0)
				fail_msg("request at +%lld ms was not answered",
					 (long long)p.at[i]);
			after[nafter++] = p.lat[i];
		}
	}
	/* Attackers accepted late (from the backlog, once the first were
	 * closed) have their own deadline: give them one more. */
	for (int i = 0; i < ATTACKERS; i++) {
		int o = outcome(fds[i], t0 + ATTACK_MS + HEAD_MS + 1000);

		answered408 += o == 1;
		still_open += o == -1;
		close(fds[i]);
	}
	fprintf(stderr,
		"normal requests: %zu, blocked in the first second: %zu, after the "
		"deadline: %zu; attackers answered 408: %zu, closed without: %zu, still open: "
		"%zu\n",
		p.n, blocked, nafter, answered408, ATTACKERS - answered408 - still_open,
		still_open);
	assert_int_equal(still_open, 0);
	assert_true(nafter >= 20);
	qsort(after, nafter, sizeof(after[0]), cmp_i64);
	fprintf(stderr, "after the deadline: p50 %lld ms, p99 %lld ms, max %lld ms\n",
		(long long)after[nafter / 2], (long long)after[(nafter * 99) / 100],
		(long long)after[nafter - 1]);
	assert_true(after[(nafter * 99) / 100] < 100);
	/* Every attacker that got a slot was closed with a 408 (a request line
	 * had arrived); those still in the backlog when the others were closed
	 * were given their own deadline and got one too. A few may be turned
	 * away at accept (MHD closes what a full worker accepts in a race):
	 * about 1 in 10 under AddressSanitizer, whose slower gateway accepts
	 * more of them late (seen: 1072 of 1200). Either way none stays open. */
	assert_true(answered408 >= ATTACKERS * 3 / 4);
	snprintf(buf, sizeof(buf), "http://127.0.0.1:%d/metrics", G.port);
	m = it_http("GET", buf, NULL, NULL);
	assert_int_equal(m.status, 200);
	assert_true(metric(m.body, "http_slow_clients_closed_total{phase=\"headers\"} ") >=
		    (long long)answered408);
	it_http_release(&m);
	/* logged, at most once a second (the test ran ATTACK_MS) */
	log = read_file_all(proc_log_path(G.gateway));
	assert_non_null(log);
	for (const char *l = strstr(log, SLOW_LOG); l; l = strstr(l + 1, SLOW_LOG))
		lines++;
	fprintf(stderr, "log lines about slow clients: %d\n", lines);
	assert_true(lines >= 1 && lines <= ATTACK_MS / 1000 + 2);
	free(log);
}

/* A body trickled a byte every 200 ms: a 408 once HTTP_BODY_TIMEOUT_MS has
 * passed since the head, although bytes keep coming. */
static void slow_body_is_cut_at_the_deadline(void **state)
{
	int fd = connect_from(1);
	char buf[1024];
	int64_t start;
	struct pollfd pfd;

	(void)state;
	assert_true(fd >= 0);
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	send_text(fd, "POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		      "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n");
	start = mono_ms();
	buf[0] = '\0';
	while (mono_ms() - start < BODY_MS + 2000) {
		send_text(fd, " ");
		usleep(200 * 1000);
		peek_reply(fd, buf, sizeof(buf));
		if (buf[0])
			break;
	}
	close(fd);
	if (strncmp(buf, "HTTP/1.1 408 ", 13) != 0 || !strstr(buf, "\"REQUEST_TIMEOUT\""))
		fail_msg("no 408 within %d ms: [%.200s]", BODY_MS + 2000, buf);
	assert_true(mono_ms() - start >= BODY_MS - 100);
	assert_true(mono_ms() - start < BODY_MS + 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slow_heads_are_cut_at_the_deadline),
		cmocka_unit_test(slow_body_is_cut_at_the_deadline),
	};

	return cmocka_run_group_tests(tests, setup, gw_teardown);
}
