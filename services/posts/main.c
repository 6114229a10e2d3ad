/* posts-service: configuration and wiring (API.md §4; ARCHITECTURE.md
 * "Runtime model"). Reads the environment, applies the posts schema's
 * migrations, then serves PostsService and grpc.health.v1 until
 * SIGTERM/SIGINT. Authors' names come from UsersService (USERS_ADDR); API
 * keys are validated by AuthService (AUTH_ADDR). */
#include <stdio.h>
#include <stdlib.h>

#include "caller.h"
#include "config.h"
#include "db.h"
#include "kv.h"
#include "log.h"
#include "posts_repo.h"
#include "posts_rpc.h"
#include "rpc.h"
#include "svc.h"
#include "util.h"

struct posts_settings {
	struct svc_config svc;
	const char *users_addr;
	const char *auth_addr; /* AuthService, for callers presenting an API key */
	int deadline_ms;
	int startup_timeout_s;
};

static int read_settings(struct posts_settings *s)
{
	struct config_reader r;

	config_reader_init(&r);
	svc_config_read(&r, &s->svc, "posts", 50052);
	s->users_addr = config_str(&r, "USERS_ADDR", "127.0.0.1:50051");
	s->auth_addr = config_str(&r, "AUTH_ADDR", "127.0.0.1:50053");
	s->deadline_ms = (int)config_int(&r, "GRPC_DEADLINE_MS", 5000, 1, 600000);
	s->startup_timeout_s = (int)config_int(&r, "DATABASE_STARTUP_TIMEOUT", 30, 0, 3600);
	return config_reader_finish(&r, stderr);
}

static bool health(void *p)
{
	struct posts_app *app = p;

	return db_pool_ping(app->svc.db);
}

static int serve(struct posts_settings *s, struct posts_app *app)
{
	static const char *const names[] = { POSTS_SERVICE_NAME, NULL };
	struct rpc_server_config cfg = {
		.listen_addr = s->svc.listen_addr, .workers = s->svc.workers,
		.shutdown_grace_ms = s->svc.shutdown_grace_ms, .domain = "posts",
		.health_services = names, .health_check = health, .app = app,
	};
	struct rpc_server *srv = rpc_server_new(&cfg, posts_rpc_methods, posts_rpc_methods_count);
	int rc;

	if (!srv)
		return -1;
	log_info("posts service listening", LOG_S("addr", s->svc.listen_addr),
		 LOG_I("port", rpc_server_port(srv)), LOG_I("workers", s->svc.workers),
		 LOG_S("usersAddr", s->users_addr));
	rc = rpc_server_run(srv);
	rpc_server_free(srv);
	log_info("posts service stopped");
	return rc;
}

/* Credentials of every call: JWTs checked against the revocations in Redis,
 * API keys validated by the auth service (cached 500 ms). */
static struct caller_resolver *new_callers(const struct posts_settings *s, struct posts_app *app,
					   struct rpc_channel *auth)
{
	const struct caller_config cfg = {
		.jwt = &s->svc.jwt, .kv = app->svc.kv, .auth = auth, .cache_ms = 500,
		.deadline_ms = 2000,
	};

	return caller_resolver_new(&cfg);
}

int main(void)
{
	struct posts_settings s;
	struct posts_app app = { 0 };
	struct rpc_channel *auth = NULL;
	struct posts_users_client *users = NULL;
	int rc = 1, migrated;

	rpc_runtime_init();
	if (read_settings(&s) != 0)
		return 2;
	app.svc.cache_ttl_s = s.svc.redis_ttl_s;
	app.svc.db_wait_ms = 2000;
	app.svc.kv = kv_new(s.svc.redis_url, 250, s.svc.workers);
	if (!app.svc.kv) {
		fprintf(stderr, "config: REDIS_URL: \"%s\" is not a redis://host[:port][/db] URL\n",
			s.svc.redis_url);
		return 2;
	}
	auth = rpc_channel_new(s.auth_addr);
	app.callers = new_callers(&s, &app, auth);
	users = posts_users_client_new(s.users_addr, s.deadline_ms);
	app.svc.names = posts_users_names;
	app.svc.names_ctx = users;
	app.svc.db = db_pool_new(s.svc.database_url, s.svc.db_pool_min, s.svc.db_pool_max);
	migrated = svc_migrate(app.svc.db, "posts", posts_migrations, posts_migrations_count,
			       s.startup_timeout_s);
	if (migrated != 0) {
		rc = migrated > 0 ? 0 : 1; /* stopped while waiting for the database: a clean exit */
		goto out;
	}
	rc = serve(&s, &app) == 0 ? 0 : 1;
out:
	db_pool_free(app.svc.db);
	caller_resolver_free(app.callers);
	posts_users_client_free(users);
	rpc_channel_free(auth);
	kv_free(app.svc.kv);
	rpc_runtime_shutdown();
	return rc;
}
