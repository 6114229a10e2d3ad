/* svc.c - the common service configuration; see svc.h. */
#include "svc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caller.h"
#include "db.h"
#include "kv.h"
#include "log.h"
#include "revocation.h"
#include "revocation_follow.h"
#include "reflection.h"
#include "rpc.h"
#include "util.h"

static void read_logging(struct config_reader *r, const char *name)
{
	static const char *const formats[] = { "json", "pretty", NULL };
	const char *level_s = config_str(r, "LOG_LEVEL", "info");
	const char *format = config_enum(r, "LOG_FORMAT", "json", formats);
	enum log_level level = LOG_INFO;

	if (!log_level_parse(level_s, &level))
		config_error(
			r, "LOG_LEVEL: \"%s\" is not one of trace, debug, info, warn, error, fatal",
			level_s);
	log_init(level, strcmp(format, "pretty") == 0 ? LOG_FORMAT_PRETTY : LOG_FORMAT_JSON, name);
}

static void read_jwt(struct config_reader *r, bool production, struct jwt_config *jwt)
{
	const char *secret = config_str(r, "JWT_SECRET", NULL);

	if (!secret) {
		if (production)
			config_error(r, "JWT_SECRET is required when APP_ENV=production");
		secret = SVC_DEV_JWT_SECRET;
	} else if (production && strcmp(secret, SVC_DEV_JWT_SECRET) == 0) {
		config_error(
			r,
			"JWT_SECRET must not be the development default when APP_ENV=production");
	}
	if (!jwt_key_acceptable(secret))
		config_error(r, "JWT_SECRET must be at least %d bytes", JWT_MIN_KEY_BYTES);
	jwt->secret = secret;
	jwt->issuer = config_str(r, "JWT_ISSUER", "agentos-auth");
	jwt->leeway_s = JWT_LEEWAY_S;
}

void svc_config_read_base(struct config_reader *r, const char *name, bool *production,
			  struct jwt_config *jwt)
{
	static const char *const envs[] = { "development", "production", NULL };

	read_logging(r, name);
	*production = strcmp(config_enum(r, "APP_ENV", "development", envs), "production") == 0;
	read_jwt(r, *production, jwt);
}

void svc_config_read(struct config_reader *r, struct svc_config *c, const char *name,
		     int default_port, int default_workers)
{
	const char *host;
	int64_t port;

	memset(c, 0, sizeof(*c));
	c->name = name;
	svc_config_read_base(r, name, &c->production, &c->jwt);
	c->database_url = config_required(r, "DATABASE_URL");
	c->db_pool_min = (int)config_int(r, "DATABASE_POOL_MIN", 2, 0, 1000);
	c->db_pool_max = (int)config_int(r, "DATABASE_POOL_MAX", 10, 1, 1000);
	if (c->db_pool_min > c->db_pool_max)
		config_error(r, "DATABASE_POOL_MIN (%d) must not exceed DATABASE_POOL_MAX (%d)",
			     c->db_pool_min, c->db_pool_max);
	c->redis_url = config_str(r, "REDIS_URL", "redis://127.0.0.1:6379");
	c->redis_ttl_s = (int)config_int(r, "REDIS_TTL", 3600, 1, 30 * 86400);
	c->near_cache = (int)config_int(r, "REDIS_NEAR_CACHE", 16384, 0, 1 << 20);
	host = config_str(r, "GRPC_HOST", "0.0.0.0");
	port = config_int(r, "GRPC_PORT", default_port, 0, 65535);
	snprintf(c->listen_addr, sizeof(c->listen_addr), "%s:%d", host, (int)port);
	c->workers = (int)config_int(r, "GRPC_WORKERS", default_workers, 1, 256);
	c->slow_workers = (int)config_int(r, "GRPC_SLOW_WORKERS", 8, 1, 64);
	c->shutdown_grace_ms = (int)config_int(r, "SHUTDOWN_GRACE_MS", 10000, 0, 600000);
	c->startup_timeout_s = (int)config_int(r, "DATABASE_STARTUP_TIMEOUT", 30, 0, 3600);
	c->deadline_ms = (int)config_int(r, "GRPC_DEADLINE_MS", 5000, 1, 600000);
	c->users_addr = config_str(r, "USERS_ADDR", "127.0.0.1:50051");
	c->auth_addr = config_str(r, "AUTH_ADDR", "127.0.0.1:50053");
	c->revocation_staleness_ms = (int)config_int(r, "REVOCATION_MAX_STALENESS_MS",
						     REVOCATION_DEFAULT_MAX_STALENESS_MS, 1000,
						     3600000);
}

/* Sleeps ms unless SIGTERM/SIGINT arrives (blocked in every thread by
 * rpc_runtime_init, so they wait to be collected); true when asked to stop. */
static bool wait_or_stop(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	return sigtimedwait(&set, NULL, &ts) > 0;
}

/* Applies the migrations (db_migrate), retrying while the database is
 * unreachable (svc.h). 0 applied, -1 failed (logged), 1 SIGTERM/SIGINT
 * arrived while waiting: the caller exits cleanly. */
static int svc_migrate(struct db_pool *db, const char *schema, const struct db_migration *m,
		       size_t n, int timeout_s)
{
	int64_t give_up = mono_ms() + (int64_t)timeout_s * 1000;
	struct app_error err;

	for (;;) {
		app_error_init(&err);
		if (db_migrate(db, schema, m, n, &err) == 0)
			return 0;
		if (err.code != ERR_SERVICE_UNAVAILABLE || mono_ms() >= give_up) {
			log_fatal("cannot apply migrations", LOG_S("code", err_name(err.code)),
				  LOG_S("error", err.message));
			return -1;
		}
		log_warn("database not reachable yet, retrying", LOG_S("error", err.message));
		if (wait_or_stop(1000))
			return 1;
	}
}

struct svc_health {
	struct db_pool *db;
	struct revocations *rev;
};

static bool svc_db_ok(void *ctx)
{
	const struct svc_health *h = ctx;

	return db_pool_ping(h->db);
}

static bool svc_loaded(void *ctx)
{
	const struct svc_health *h = ctx;

	return !h->rev || revocations_loaded(h->rev);
}

/* The full service names of the methods ("/pkg.Service/Method" ->
 * "pkg.Service"), each once, then grpc.health.v1.Health; NULL-terminated,
 * strings in a. */
static const char **served_services(const struct rpc_method *m, size_t n, struct arena *a)
{
	const char **names = arena_alloc(a, (n + 2) * sizeof(*names));
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const char *start = m[i].path[0] == '/' ? m[i].path + 1 : m[i].path;
		const char *slash = strchr(start, '/');
		char *name = arena_strndup(a, start,
					   slash ? (size_t)(slash - start) : strlen(start));
		size_t j = 0;

		while (j < k && strcmp(names[j], name) != 0)
			j++;
		if (j == k)
			names[k++] = name;
	}
	names[k] = "grpc.health.v1.Health";
	return names;
}

/* methods plus the reflection rows, with the process's reflection index set
 * from def->descriptors (NULL: none); -1 when the descriptors are malformed. */
static int with_reflection(const struct svc_def *def, struct rpc_method **all,
			   struct reflection **refl)
{
	size_t n = def->n_methods, total = n + ARRAY_SIZE(reflection_methods);
	struct arena a;

	*all = xcalloc(total, sizeof(**all));
	memcpy(*all, def->methods, n * sizeof(**all));
	memcpy(*all + n, reflection_methods, sizeof(reflection_methods));
	*refl = NULL;
	if (!def->descriptors)
		return 0;
	arena_init(&a);
	*refl = reflection_new(def->descriptors, def->descriptors_len,
			       served_services(*all, total, &a));
	arena_release(&a);
	reflection_set_default(*refl);
	return *refl ? 0 : -1;
}

static int svc_serve(const struct svc_config *c, const struct svc_def *def, void *app,
		     struct caller_resolver *callers, struct db_pool *db, struct revocations *rev)
{
	const char *const names[] = { def->full_name, NULL };
	size_t n = def->n_methods;
	struct svc_health health = { .db = db, .rev = rev };
	struct rpc_server_config cfg = {
		.listen_addr = c->listen_addr,
		.workers = c->workers,
		.slow_workers = c->slow_workers,
		.shutdown_grace_ms = c->shutdown_grace_ms,
		.domain = c->name,
		.health_services = names,
		.health_check = svc_db_ok,
		.service_check = svc_loaded,
		.health_ctx = &health,
		.app = app,
		.resolve = caller_resolve_call,
		.resolve_ctx = callers,
	};
	struct rpc_server *srv = NULL;
	struct reflection *refl;
	struct rpc_method *all;
	int rc = -1;

	if (with_reflection(def, &all, &refl) == 0)
		srv = rpc_server_new(&cfg, all, n + ARRAY_SIZE(reflection_methods));
	if (srv) {
		log_info("service listening", LOG_S("addr", c->listen_addr),
			 LOG_I("port", rpc_server_port(srv)), LOG_I("workers", c->workers));
		rc = rpc_server_run(srv);
		rpc_server_free(srv);
		log_info("service stopped");
	}
	reflection_set_default(NULL);
	reflection_free(refl);
	free(all);
	return rc;
}

int svc_run(const struct svc_config *c, const struct svc_def *def, void *app, struct db_pool *db,
	    struct caller_resolver *callers, struct revocations *rev)
{
	int migrated = svc_migrate(db, c->name, def->migrations, def->n_migrations,
				   c->startup_timeout_s);

	/* stopped while waiting for the database: a clean exit */
	if (migrated != 0)
		return migrated > 0 ? 0 : 1;
	if (def->ready && def->ready(def->ready_ctx) != 0)
		return 1;
	return svc_serve(c, def, app, callers, db, rev) == 0 ? 0 : 1;
}

int svc_links_open(struct svc_links *l, const struct svc_config *c,
		   const char *const *near_prefixes)
{
	*l = (struct svc_links){ 0 };
	/* the quick workers, and a share for the slow lanes (cache writes) */
	l->kv = kv_new(c->redis_url, 250, c->workers + c->slow_workers);
	if (!l->kv) {
		fprintf(stderr, "config: REDIS_URL: \"%s\" is not a redis://host[:port][/db] URL\n",
			c->redis_url);
		return 2;
	}
	if (c->near_cache > 0)
		kv_cache_near(l->kv, near_prefixes, (size_t)c->near_cache);
	l->auth = rpc_channel_new(c->auth_addr);
	l->revocations = revocations_new(c->revocation_staleness_ms);
	l->follower = revocation_follower_start(l->revocations, c->auth_addr);
	if (!l->follower) {
		svc_links_close(l);
		return 1;
	}
	l->callers = caller_resolver_new(&(const struct caller_config){
		.jwt = &c->jwt,
		.revocations = l->revocations,
		.auth = l->auth,
		.cache_ms = 500,
		.deadline_ms = 2000,
	});
	return 0;
}

void svc_links_close(struct svc_links *l)
{
	revocation_follower_stop(l->follower);
	caller_resolver_free(l->callers);
	rpc_channel_free(l->auth);
	revocations_free(l->revocations);
	kv_free(l->kv);
	*l = (struct svc_links){ 0 };
}
