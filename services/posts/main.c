/* posts-service: configuration and wiring (API.md §4; ARCHITECTURE.md
 * "Runtime model"). Reads the environment, applies the posts schema's
 * migrations, then serves PostsService and grpc.health.v1 until
 * SIGTERM/SIGINT. Authors' names come from UsersService (USERS_ADDR); API
 * keys are validated by AuthService (AUTH_ADDR). */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "db.h"
#include "kv.h"
#include "log.h"
#include "posts_repo.h"
#include "posts_rpc.h"
#include "rpc.h"
#include "svc.h"
#include "util.h"

/* The build's FileDescriptorSet, for gRPC reflection (deploy/embed_bin.sh
 * output: build/gen/posts_descriptors.c). */
extern const uint8_t posts_descriptor_set[];
extern const size_t posts_descriptor_set_len;

static int read_settings(struct svc_config *c)
{
	struct config_reader r;

	config_reader_init(&r);
	svc_config_read(&r, c, "posts", 50052, SVC_DEFAULT_WORKERS);
	return config_reader_finish(&r, stderr);
}

int main(void)
{
	struct svc_config s;
	struct posts_ctx svc = { 0 }; /* the handlers' app pointer */
	struct svc_links links;
	struct posts_users_client *users = NULL;
	int rc;

	rpc_runtime_init();
	if (read_settings(&s) != 0)
		return 2;
	/* post:<id> copies, and authors' names under user:<id> (posts_users.c) */
	rc = svc_links_open(&links, &s, (const char *[]){ KV_POST_PREFIX, KV_USER_PREFIX, NULL });
	if (rc != 0)
		goto out;
	svc.kv = links.kv;
	svc.cache_ttl_s = s.redis_ttl_s;
	svc.db_wait_ms = 2000;
	users = posts_users_client_new(s.users_addr, s.deadline_ms, svc.kv);
	svc.names = posts_users_names;
	svc.names_ctx = users;
	/* Every statement of this service is planned once per session: each
	 * one's generic plan was checked to be the one a custom plan picks (the
	 * list query's shape is chosen for it, posts_repo.c), and planning the
	 * page query on every request cost more than running it. */
	svc.db = db_pool_new_opts(s.database_url, "-c plan_cache_mode=force_generic_plan",
				  s.db_pool_min, s.db_pool_max);
	rc = svc_run(&s,
		     &(const struct svc_def){ POSTS_SERVICE_NAME, posts_rpc_methods,
					      posts_rpc_methods_count, posts_migrations,
					      posts_migrations_count, NULL, NULL,
					      posts_descriptor_set, posts_descriptor_set_len },
		     &svc, svc.db, links.callers, links.revocations);
out:
	db_pool_free(svc.db);
	posts_users_client_free(users);
	svc_links_close(&links);
	rpc_runtime_shutdown();
	return rc;
}
