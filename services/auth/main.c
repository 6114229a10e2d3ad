/* auth-service: configuration and wiring (API.md §4; ARCHITECTURE.md
 * "Runtime model"). Reads the environment, applies the auth schema's
 * migrations, then serves AuthService and grpc.health.v1 until
 * SIGTERM/SIGINT. Users are reached over gRPC (USERS_ADDR). */
#include <stdio.h>
#include <stdlib.h>

#include "auth_repo.h"
#include "auth_rpc.h"
#include "caller.h"
#include "config.h"
#include "db.h"
#include "revocation.h"
#include "log.h"
#include "rpc.h"
#include "svc.h"
#include "util.h"

/* The build's FileDescriptorSet, for gRPC reflection (deploy/embed_bin.sh
 * output: build/gen/auth_descriptors.c). */
extern const uint8_t auth_descriptor_set[];
extern const size_t auth_descriptor_set_len;

struct auth_settings {
	struct svc_config svc;
	int64_t access_ttl_s;
	int64_t refresh_ttl_s;
	int64_t rotation_grace_s;
};

static int read_settings(struct auth_settings *s)
{
	struct config_reader r;

	config_reader_init(&r);
	svc_config_read(&r, &s->svc, "auth", 50053, SVC_DEFAULT_WORKERS);
	s->access_ttl_s = config_duration_s(&r, "JWT_EXPIRES_IN", 86400, 1, 30 * 86400);
	s->refresh_ttl_s = config_duration_s(&r, "REFRESH_EXPIRES_IN", 7 * 86400, 1, 365 * 86400);
	s->rotation_grace_s = config_int(&r, "API_KEY_ROTATION_GRACE_SECONDS", 86400, 0,
					 30 * 86400);
	return config_reader_finish(&r, stderr);
}

/* Fills the context the handlers share; returns the caller resolver, which
 * validates API keys with this very service, in-process. */
static struct caller_resolver *wire(struct auth_settings *s, struct auth_ctx *svc,
				    struct auth_users_client *users)
{
	struct caller_config cc = {
		.jwt = &s->svc.jwt,
		.revocations = svc->revocations,
		.auth = NULL,
		.local_api_key = auth_keys_validate_local,
		.local_ctx = svc,
		.cache_ms = 0, /* a revoked key stops here at once */
		.deadline_ms = s->svc.deadline_ms,
	};

	svc->jwt = &s->svc.jwt;
	svc->users = auth_users_client_api(users);
	svc->access_ttl_s = s->access_ttl_s;
	svc->refresh_ttl_s = s->refresh_ttl_s;
	svc->rotation_grace_s = s->rotation_grace_s;
	svc->db_wait_ms = 2000;
	return caller_resolver_new(&cc);
}

/* Revocation state loads from the database once the schema is there;
 * SERVING waits for it (svc_def.ready). */
static int auth_ready(void *ctx)
{
	struct auth_ctx *svc = ctx;

	svc->feed = auth_feed_start(svc);
	return svc->feed ? 0 : -1;
}

int main(void)
{
	struct auth_settings s;
	struct auth_ctx svc = { 0 }; /* the handlers' app pointer */
	struct caller_resolver *caller = NULL;
	struct auth_users_client *users = NULL;
	int rc;

	rpc_runtime_init();
	if (read_settings(&s) != 0)
		return 2;
	svc.revocations = revocations_new(s.svc.revocation_staleness_ms);
	svc.db = db_pool_new(s.svc.database_url, s.svc.db_pool_min, s.svc.db_pool_max);
	users = auth_users_client_new(s.svc.users_addr, s.svc.deadline_ms);
	caller = wire(&s, &svc, users);
	rc = svc_run(&s.svc,
		     &(const struct svc_def){ AUTH_SERVICE_NAME, auth_rpc_methods,
					      auth_rpc_methods_count, auth_migrations,
					      auth_migrations_count, auth_ready, &svc,
					      auth_descriptor_set, auth_descriptor_set_len },
		     &svc, svc.db, caller, svc.revocations);
	auth_feed_stop(svc.feed);
	caller_resolver_free(caller);
	auth_users_client_free(users);
	db_pool_free(svc.db);
	revocations_free(svc.revocations);
	rpc_runtime_shutdown();
	return rc;
}
