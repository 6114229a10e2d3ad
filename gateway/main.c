/* gateway: the REST front door (API.md §1, §2). Reads the environment, opens
 * one long-lived gRPC channel per upstream service, serves HTTP until
 * SIGTERM/SIGINT, then drains: /health/ready answers 503 for
 * SHUTDOWN_DELAY_MS while everything else is still served (so load balancers
 * stop sending traffic), then it stops accepting, lets requests in flight
 * finish and exits 0. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "caller.h"
#include "config.h"
#include "health.h"
#include "http.h"
#include "json_arena.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "revocation_follow.h"
#include "rpc.h"
#include "seq_waiter.h"
#include "svc.h"
#include "util.h"

struct gateway_settings {
	struct http_server_config http;
	bool production;
	const char *redis_url;
	struct ratelimit_config limits;
	int shutdown_delay_ms;       /* SHUTDOWN_DELAY_MS: draining before the listener closes */
	int revocation_staleness_ms; /* REVOCATION_MAX_STALENESS_MS */
};

/* API_VERSION: a short path segment such as "v1". */
static bool version_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 16)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9')))
			return false;
	}
	return true;
}

static int read_settings(struct gateway_settings *s, struct api *api)
{
	struct config_reader r;

	config_reader_init(&r);
	svc_config_read_base(&r, "gateway", &s->production, &api->jwt);
	s->http.host = config_str(&r, "API_HOST", "0.0.0.0");
	s->http.port = (int)config_int(&r, "API_PORT", 3000, 0, 65535);
	api->version = config_str(&r, "API_VERSION", "v1");
	if (!version_ok(api->version))
		config_error(&r, "API_VERSION: \"%s\" must be 1-16 lower-case letters or digits",
			     api->version);
	api->upstream_target[UPSTREAM_USERS] = config_str(&r, "USERS_ADDR", "127.0.0.1:50051");
	api->upstream_target[UPSTREAM_POSTS] = config_str(&r, "POSTS_ADDR", "127.0.0.1:50052");
	api->upstream_target[UPSTREAM_AUTH] = config_str(&r, "AUTH_ADDR", "127.0.0.1:50053");
	api->deadline_ms = (int)config_int(&r, "GRPC_DEADLINE_MS", 5000, 1, 600000);
	s->redis_url = config_str(&r, "REDIS_URL", "redis://127.0.0.1:6379");
	s->http.max_body_bytes = (size_t)config_int(&r, "MAX_BODY_BYTES", 1048576, 1, 1 << 30);
	/* HTTP threads never wait on an upstream (api.c): one per core is enough */
	s->http.threads = (int)config_int(&r, "GATEWAY_THREADS", online_cpus(), 1, 256);
	s->http.conn_limit = (unsigned)config_int(&r, "HTTP_MAX_CONNECTIONS", 1024, 1, 100000);
	s->http.per_ip_limit = (unsigned)config_int(&r, "HTTP_MAX_CONNECTIONS_PER_IP", 128, 1,
						    100000);
	s->http.timeout_s = (unsigned)config_int(&r, "HTTP_IDLE_TIMEOUT", 30, 1, 3600);
	s->http.head_timeout_ms = (int)config_int(&r, "HTTP_HEADER_TIMEOUT_MS", 10000, 100, 600000);
	s->http.body_timeout_ms = (int)config_int(&r, "HTTP_BODY_TIMEOUT_MS", 30000, 100, 3600000);
	api->health_timeout_ms = (int)config_int(&r, "HEALTH_CHECK_TIMEOUT_MS", 1000, 1, 60000);
	s->shutdown_delay_ms = (int)config_int(&r, "SHUTDOWN_DELAY_MS", 0, 0, 600000);
	s->limits.enabled = config_bool(&r, "RATE_LIMIT_ENABLED", true);
	s->limits.window_ms = config_int(&r, "RATE_LIMIT_WINDOW_MS", 900000, 1000, 86400000LL * 7);
	s->limits.max = config_int(&r, "RATE_LIMIT_MAX", 100, 1, 1000000000);
	s->limits.auth_max = config_int(&r, "AUTH_RATE_LIMIT_MAX", 5, 1, 1000000000);
	s->limits.trust_proxy = (int)config_int(&r, "TRUST_PROXY", 0, 0, 32);
	s->revocation_staleness_ms = (int)config_int(&r, "REVOCATION_MAX_STALENESS_MS",
						     REVOCATION_DEFAULT_MAX_STALENESS_MS, 1000,
						     3600000);
	return config_reader_finish(&r, stderr);
}

/* Blocks until SIGTERM or SIGINT (blocked in every thread by rpc_runtime_init).
 * Every TRIM_EVERY_S meanwhile, memory freed after a burst (reply arenas,
 * gRPC and libmicrohttpd buffers) goes back to the system instead of staying
 * in malloc's heaps, as the services do. */
#define TRIM_EVERY_S 10

static int wait_for_stop(void)
{
	const struct timespec every = { .tv_sec = TRIM_EVERY_S, .tv_nsec = 0 };
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	while ((sig = sigtimedwait(&set, NULL, &every)) < 0) {
		if (errno == EAGAIN)
			malloc_trim(0);
	}
	return sig;
}

/* Marks the gateway draining (/health/ready 503) and keeps serving for
 * delay_ms, so that load balancers take it out before the listener closes. */
static void drain(struct api *api, int delay_ms)
{
	struct timespec ts = { .tv_sec = delay_ms / 1000,
			       .tv_nsec = (long)(delay_ms % 1000) * 1000000L };

	atomic_store(&api->draining, true);
	log_info("draining", LOG_I("delay_ms", delay_ms));
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		; /* interrupted: sleep the rest */
}

/* Credentials are checked at the gateway too (revoked tokens and API keys
 * are a 401 before any upstream call); API keys through the auth service's
 * channel, cached 500 ms. */
static struct caller_resolver *new_callers(struct api *api)
{
	const struct caller_config cfg = {
		.jwt = &api->jwt,
		.revocations = api->revocations,
		.auth = api->upstream[UPSTREAM_AUTH],
		.cache_ms = 500,
		.deadline_ms = api->deadline_ms,
	};

	return caller_resolver_new(&cfg);
}

int main(void)
{
	struct gateway_settings s = { 0 };
	struct api api = { 0 };
	struct revocation_follower *follower;
	struct http_server *srv;
	int sig;

	rpc_runtime_init();
	json_arena_install();
	if (read_settings(&s, &api) != 0)
		return 2;
	/* Redis is used by the HTTP threads (limits) and the completion threads
	 * (the auth limiter's take-back) */
	api.kv = kv_new(s.redis_url, 250, s.http.threads + online_cpus());
	if (!api.kv) {
		fprintf(stderr, "config: REDIS_URL: \"%s\" is not a redis://host[:port][/db] URL\n",
			s.redis_url);
		return 2;
	}
	snprintf(api.base, sizeof(api.base), "/api/%s", api.version);
	for (int i = 0; i < UPSTREAM__COUNT; i++)
		api.upstream[i] = rpc_channel_new(api.upstream_target[i]);
	api.async = rpc_async_new(online_cpus());
	api.seq_waiter = seq_waiter_new();
	/* Revocation state loads from the auth service now; /health/ready is
	 * 503 and credentials get 503 until it is in. */
	api.revocations = revocations_new(s.revocation_staleness_ms);
	follower = revocation_follower_start(api.revocations, api.upstream_target[UPSTREAM_AUTH]);
	api.callers = new_callers(&api);
	api.metrics = api_metrics_new(api.base);
	api.health = health_flight_new();
	api.limits = ratelimit_new(&s.limits, api.kv, api.metrics);
	s.http.api_version = api.version;
	s.http.handler = api_handle;
	s.http.on_begin = api_on_begin;
	s.http.on_done = api_on_done;
	s.http.on_slow_client = api_on_slow_client;
	s.http.app = &api;
	srv = http_server_start(&s.http);
	if (srv) {
		log_info("gateway listening", LOG_S("host", s.http.host),
			 LOG_I("port", http_server_port(srv)), LOG_S("base", api.base),
			 LOG_S("users", api.upstream_target[UPSTREAM_USERS]));
		sig = wait_for_stop();
		log_info("shutting down", LOG_S("reason", sig == SIGINT ? "SIGINT" : "SIGTERM"));
		drain(&api, s.shutdown_delay_ms);
		http_server_stop(srv);
		log_info("gateway stopped");
	}
	/* every request is answered: nothing is left on these two */
	seq_waiter_free(api.seq_waiter);
	rpc_async_free(api.async);
	revocation_follower_stop(follower);
	ratelimit_free(api.limits);
	metrics_free(api.metrics);
	health_flight_free(api.health);
	caller_resolver_free(api.callers);
	for (int i = 0; i < UPSTREAM__COUNT; i++)
		rpc_channel_free(api.upstream[i]);
	revocations_free(api.revocations);
	kv_free(api.kv);
	rpc_runtime_shutdown();
	return srv ? 0 : 1;
}
