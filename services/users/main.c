/* users-service: configuration and wiring (API.md §4; ARCHITECTURE.md
 * "Runtime model"). Reads the environment, applies the users schema's
 * migrations, bootstraps the admin account, then serves UsersService and
 * grpc.health.v1 until SIGTERM/SIGINT. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "caller.h"
#include "config.h"
#include "db.h"
#include "kv.h"
#include "log.h"
#include "rpc.h"
#include "svc.h"
#include "users_repo.h"
#include "users_rpc.h"
#include "util.h"
#include "users_service.h"

struct users_settings {
	struct svc_config svc;
	int hash_concurrency;
	int startup_timeout_s;
	const char *admin_email;
	const char *admin_password;
	const char *auth_addr; /* AuthService, for callers presenting an API key */
};

static int read_settings(struct users_settings *s)
{
	struct config_reader r;

	config_reader_init(&r);
	svc_config_read(&r, &s->svc, "users", 50051);
	s->hash_concurrency = (int)config_int(&r, "PASSWORD_HASH_CONCURRENCY", 2, 1, 64);
	s->startup_timeout_s = (int)config_int(&r, "DATABASE_STARTUP_TIMEOUT", 30, 0, 3600);
	s->admin_email = config_str(&r, "ADMIN_EMAIL", NULL);
	s->admin_password = config_str(&r, "ADMIN_PASSWORD", NULL);
	s->auth_addr = config_str(&r, "AUTH_ADDR", "127.0.0.1:50053");
	if (!s->admin_email != !s->admin_password)
		config_error(&r, "ADMIN_EMAIL and ADMIN_PASSWORD must be set together");
	return config_reader_finish(&r, stderr);
}

static bool health(void *p)
{
	struct users_app *app = p;

	return db_pool_ping(app->svc.db);
}

static int serve(struct users_settings *s, struct users_app *app)
{
	static const char *const names[] = { USERS_SERVICE_NAME, NULL };
	struct rpc_server_config cfg = {
		.listen_addr = s->svc.listen_addr, .workers = s->svc.workers,
		.shutdown_grace_ms = s->svc.shutdown_grace_ms, .domain = "users",
		.health_services = names, .health_check = health, .app = app,
	};
	struct rpc_server *srv = rpc_server_new(&cfg, users_rpc_methods, users_rpc_methods_count);
	int rc;

	if (!srv)
		return -1;
	log_info("users service listening", LOG_S("addr", s->svc.listen_addr),
		 LOG_I("port", rpc_server_port(srv)), LOG_I("workers", s->svc.workers));
	rc = rpc_server_run(srv);
	rpc_server_free(srv);
	log_info("users service stopped");
	return rc;
}

/* Credentials of every call: JWTs checked against the revocations in Redis,
 * API keys validated by the auth service (cached 500 ms). */
static struct caller_resolver *new_callers(const struct users_settings *s, struct users_app *app,
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
	struct users_settings s;
	struct users_app app = { 0 };
	struct rpc_channel *auth = NULL;
	struct app_error err;
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
	app.svc.db = db_pool_new(s.svc.database_url, s.svc.db_pool_min, s.svc.db_pool_max);
	app.svc.hasher = users_hasher_new(s.hash_concurrency);
	migrated = app.svc.hasher ? svc_migrate(app.svc.db, "users", users_migrations,
						users_migrations_count, s.startup_timeout_s)
				  : -1;
	if (migrated != 0) {
		rc = migrated > 0 ? 0 : 1; /* stopped while waiting for the database: a clean exit */
		goto out;
	}
	app_error_init(&err);
	if (s.admin_email &&
	    users_bootstrap_admin(&app.svc, s.admin_email, s.admin_password, &err) != 0) {
		log_fatal("admin bootstrap failed", LOG_S("code", err_name(err.code)),
			  LOG_S("error", err.message));
		goto out;
	}
	rc = serve(&s, &app) == 0 ? 0 : 1;
out:
	users_hasher_free(app.svc.hasher);
	db_pool_free(app.svc.db);
	caller_resolver_free(app.callers);
	rpc_channel_free(auth);
	kv_free(app.svc.kv);
	rpc_runtime_shutdown();
	return rc;
}
