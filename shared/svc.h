/* svc.h - what every gRPC service reads at start-up (API.md §4), validated in
 * one place so that users, posts and auth agree on names, defaults and rules. */
#ifndef SHARED_SVC_H
#define SHARED_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "jwt_hs256.h"

/* The development default; refused when APP_ENV=production. */
#define SVC_DEV_JWT_SECRET "dev-only-insecure-jwt-secret-change-me-0123456789"

struct svc_config {
	const char *name;         /* "users", also the log name and error domain */
	bool production;          /* APP_ENV=production */
	const char *database_url; /* DATABASE_URL (required) */
	int db_pool_min;          /* DATABASE_POOL_MIN (2) */
	int db_pool_max;          /* DATABASE_POOL_MAX (10) */
	const char *redis_url;    /* REDIS_URL (redis://127.0.0.1:6379) */
	int redis_ttl_s;          /* REDIS_TTL (3600) */
	int near_cache;           /* REDIS_NEAR_CACHE (16384): entries kept in memory, 0 = none */
	struct jwt_config jwt;    /* JWT_SECRET, JWT_ISSUER (agentos-auth) */
	char listen_addr[300];    /* GRPC_HOST (0.0.0.0) : GRPC_PORT (default_port) */
	int workers;              /* GRPC_WORKERS (8): the quick methods' workers */
	int slow_workers;         /* GRPC_SLOW_WORKERS (8): per slow method */
	int shutdown_grace_ms;    /* SHUTDOWN_GRACE_MS (10000) */
	int startup_timeout_s;    /* DATABASE_STARTUP_TIMEOUT (30) */
	int deadline_ms;          /* GRPC_DEADLINE_MS (5000): calls to other services */
	const char *users_addr;   /* USERS_ADDR (127.0.0.1:50051) */
	const char *auth_addr;    /* AUTH_ADDR (127.0.0.1:50053): API keys, revocations */
	int revocation_staleness_ms; /* REVOCATION_MAX_STALENESS_MS (30000) */
};

/* The part every binary shares, the gateway included: LOG_LEVEL/LOG_FORMAT
 * (initializes the logger), APP_ENV, JWT_SECRET (with the production guard)
 * and JWT_ISSUER. */
void svc_config_read_base(struct config_reader *r, const char *name, bool *production,
			  struct jwt_config *jwt);

/* The quick workers (GRPC_WORKERS) of a service whose quick methods wait on
 * PostgreSQL: enough of them to keep its connections busy. */
#define SVC_DEFAULT_WORKERS 8

/* Reads the common variables into c (strings point into the environment) and
 * initializes the logger from LOG_LEVEL/LOG_FORMAT; GRPC_WORKERS defaults to
 * default_workers. Errors go into r; in production an unset, default or short
 * JWT_SECRET is one of them. */
void svc_config_read(struct config_reader *r, struct svc_config *c, const char *name,
		     int default_port, int default_workers);

struct caller_resolver;
struct db_pool;
struct db_migration;
struct kv;
struct revocations;
struct revocation_follower;
struct rpc_channel;
struct rpc_method;

/* What users and posts hold beside their own context: the Redis client, the
 * channel to the auth service, this process's copy of auth's revocations
 * (kept by following its feed) and the caller resolver built on both: JWTs
 * checked against that copy, API keys validated by auth (cached 500 ms, so a
 * revoked key stops within a second). */
struct svc_links {
	struct kv *kv;            /* REDIS_URL */
	struct rpc_channel *auth; /* AUTH_ADDR */
	struct revocations *revocations;
	struct revocation_follower *follower;
	struct caller_resolver *callers;
};

/* Opens every link of l for c; with REDIS_NEAR_CACHE > 0 the Redis client
 * keeps a near copy of the entries under near_prefixes (kv.h). 0, or main's
 * exit code with l closed: 2 after a configuration error (printed, naming the
 * variable), 1 when the follower cannot start (logged). */
int svc_links_open(struct svc_links *l, const struct svc_config *c,
		   const char *const *near_prefixes);

/* Closes what svc_links_open opened; a zeroed l is fine. */
void svc_links_close(struct svc_links *l);

/* A service as svc_run serves it. */
struct svc_def {
	const char *full_name; /* its gRPC service, e.g. "agentos.users.v1.UsersService" */
	const struct rpc_method *methods;
	size_t n_methods;
	const struct db_migration *migrations; /* applied to the schema named c->name */
	size_t n_migrations;
	/* The start-up steps that need the schema, run before serving (NULL:
	 * none); nonzero (logged by it) ends the start-up with exit code 1. */
	int (*ready)(void *ready_ctx);
	void *ready_ctx;
	/* The FileDescriptorSet the build embedded (<name>_descriptor_set),
	 * served by gRPC reflection; NULL: reflection answers UNIMPLEMENTED. */
	const uint8_t *descriptors;
	size_t descriptors_len;
};

/* Applies def's migrations (retrying once a second while the database is
 * unreachable, for up to c->startup_timeout_s: compose and k8s start
 * everything at once), runs def->ready, then serves def->methods (handlers
 * get app, and each call's caller resolved by callers: caller.h) on
 * c->listen_addr with c->workers until SIGTERM/SIGINT. grpc.health.v1 answers
 * for "" (SERVING while db answers: the process is up, API.md §3) and
 * def->full_name (also needs rev, NULL: none, to have its first full load:
 * the service can check credentials, i.e. it is ready); gRPC server
 * reflection (reflection.h, v1 and v1alpha) answers from c->descriptors and
 * lists the services of the methods, Health and ServerReflection. Logs
 * "service listening" / "stopped". Returns main's exit code: 0 after a
 * clean stop (also one asked for while waiting for the database), 1 when
 * the migrations or def->ready fail, the address cannot be bound, the
 * descriptors are malformed or the run failed. */
int svc_run(const struct svc_config *c, const struct svc_def *def, void *app, struct db_pool *db,
	    struct caller_resolver *callers, struct revocations *rev);

#endif
