/* users-service: configuration and wiring (API.md §4; ARCHITECTURE.md
 * "Runtime model"). Reads the environment, applies the users schema's
 * migrations, bootstraps the admin account, then serves UsersService and
 * grpc.health.v1 until SIGTERM/SIGINT. */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "db.h"
#include "kv.h"
#include "log.h"
#include "rpc.h"
#include "svc.h"
#include "users_limit.h"
#include "users_repo.h"
#include "users_rpc.h"
#include "util.h"
#include "users_service.h"

/* The build's FileDescriptorSet, for gRPC reflection (deploy/embed_bin.sh
 * output: build/gen/users_descriptors.c). */
extern const uint8_t users_descriptor_set[];
extern const size_t users_descriptor_set_len;

struct users_settings {
	struct svc_config svc;
	int hash_concurrency;
	const char *admin_email;
	const char *admin_password;
	struct users_limit_config limits;
};

static int read_settings(struct users_settings *s)
{
	struct config_reader r;

	config_reader_init(&r);
	/* The quick methods are cache reads (GetUser, BatchGetUsers; everything
	 * that blocks long has a lane): one worker per CPU leaves fewer threads
	 * to wake per call (README, "A service's request path"). */
	svc_config_read(&r, &s->svc, "users", 50051, online_cpus());
	s->hash_concurrency = (int)config_int(&r, "PASSWORD_HASH_CONCURRENCY", 2, 1, 64);
	s->admin_email = config_str(&r, "ADMIN_EMAIL", NULL);
	s->admin_password = config_str(&r, "ADMIN_PASSWORD", NULL);
	/* The gateway's names and defaults: one setting for both limiters. */
	s->limits.enabled = config_bool(&r, "RATE_LIMIT_ENABLED", true);
	s->limits.window_ms = config_int(&r, "RATE_LIMIT_WINDOW_MS", 900000, 1000, 86400000LL * 7);
	s->limits.account_max = config_int(&r, "AUTH_RATE_LIMIT_MAX", 5, 1, 1000000000);
	s->limits.caller_max = config_int(&r, "VERIFY_CALLER_RATE_LIMIT_MAX", 0, 0, 1000000000);
	if (!s->admin_email != !s->admin_password)
		config_error(&r, "ADMIN_EMAIL and ADMIN_PASSWORD must be set together");
	return config_reader_finish(&r, stderr);
}

/* The start-up steps that need the schema (svc_def.ready). */
struct users_start {
	struct users_ctx *svc;
	const struct users_settings *s;
	struct users_relay *relay; /* the outbox's, stopped by main */
};

static int users_ready(void *ctx)
{
	struct users_start *st = ctx;
	struct app_error err;

	app_error_init(&err);
	if (st->s->admin_email &&
	    users_bootstrap_admin(st->svc, st->s->admin_email, st->s->admin_password, &err) != 0) {
		log_fatal("admin bootstrap failed", LOG_S("code", err_name(err.code)),
			  LOG_S("error", err.message));
		return -1;
	}
	st->relay = users_relay_start(st->svc, st->s->svc.deadline_ms);
	return st->relay ? 0 : -1;
}

int main(void)
{
	struct users_settings s;
	struct users_ctx svc = { 0 }; /* the handlers' app pointer */
	struct svc_links links;
	struct users_auth_client *revoker = NULL;
	struct users_start start = { .svc = &svc, .s = &s };
	int rc;

	rpc_runtime_init();
	if (read_settings(&s) != 0)
		return 2;
	rc = svc_links_open(&links, &s.svc, (const char *[]){ KV_USER_PREFIX, NULL });
	if (rc != 0)
		goto out;
	svc.kv = links.kv;
	svc.revocations = links.revocations;
	svc.cache_ttl_s = s.svc.redis_ttl_s;
	svc.db_wait_ms = 2000;
	revoker = users_auth_client_new(links.auth, &s.svc.jwt);
	svc.revoke_tokens = users_auth_revoke;
	svc.revoke_ctx = revoker;
	svc.db = db_pool_new(s.svc.database_url, s.svc.db_pool_min, s.svc.db_pool_max);
	svc.limiter = users_limiter_new(&s.limits, svc.kv);
	svc.hasher = users_hasher_new(s.hash_concurrency);
	rc = svc.hasher
		     ? svc_run(&s.svc,
			       &(const struct svc_def){ USERS_SERVICE_NAME, users_rpc_methods,
							users_rpc_methods_count, users_migrations,
							users_migrations_count, users_ready, &start,
							users_descriptor_set,
							users_descriptor_set_len },
			       &svc, svc.db, links.callers, links.revocations)
		     : 1;
out:
	users_relay_stop(start.relay);
	users_auth_client_free(revoker);
	users_hasher_free(svc.hasher);
	users_limiter_free(svc.limiter);
	db_pool_free(svc.db);
	svc_links_close(&links);
	rpc_runtime_shutdown();
	return rc;
}
