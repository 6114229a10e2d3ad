/* stack.h - the integration-test harness: real PostgreSQL, Redis and project
 * binaries, started on free ports in a throwaway folder, the way redis's
 * start_server and libuv's helper processes do it.
 *
 * Every failure to start is fatal for the test binary (message + exit 1): a
 * test never runs against a half-started stack. */
#ifndef TESTS_STACK_H
#define TESTS_STACK_H

#include <stdbool.h>
#include <signal.h>
#include <sys/types.h>

struct stack;
struct proc;

/* Creates $TEST_TMPDIR/<name>-XXXXXX (default /tmp), initializes a PostgreSQL
 * cluster there (as an unprivileged user when running as root), starts
 * PostgreSQL and Redis on free loopback ports and creates database "app".
 * Uses deploy/local/stack.sh, the same script `make run` uses. */
struct stack *stack_start(const char *name);
/* Stops every process started through the stack, then PostgreSQL and Redis,
 * and removes the folder (kept when KEEP_TEST_TMP=1). NULL is a no-op. */
void stack_stop(struct stack *s);

const char *stack_dir(const struct stack *s);
/* postgresql://.../app?host=127.0.0.1&port=N ... usable by libpq. */
const char *stack_database_url(const struct stack *s);
/* redis://127.0.0.1:N */
const char *stack_redis_url(const struct stack *s);

/* Fast shutdown / start again on the same port and data (restart tests). */
void stack_pg_stop(struct stack *s);
void stack_pg_start(struct stack *s);
void stack_redis_stop(struct stack *s);
void stack_redis_start(struct stack *s);
/* How many GET and MGET commands the stack's Redis has run so far (INFO
 * commandstats): what a near-cache hit must not add to. */
long long stack_redis_reads(const struct stack *s);
/* Runs cmd (no arguments, e.g. "FLUSHALL") on the stack's Redis; it must
 * answer a status. */
void stack_redis_command(const struct stack *s, const char *cmd);
/* Sends sig to the stack's redis-server (SIGSTOP stalls it: connections
 * still open, nothing answers; SIGCONT resumes it). */
void stack_redis_signal(struct stack *s, int sig);

/* A free TCP port on 127.0.0.1 (bound and released). */
int stack_free_port(void);

const char *proc_name(const struct proc *p);
const char *proc_log_path(const struct proc *p);
void proc_signal(struct proc *p, int sig);
/* Waits up to timeout_ms (negative: no limit) for the process to exit;
 * returns its exit status (0..255, 128+signal when killed) or -1 on timeout. */
int proc_wait(struct proc *p, int timeout_ms);
/* SIGTERM, wait up to 10 s, then SIGKILL; returns the exit status. */
int proc_stop(struct proc *p);

/* Polls grpc.health.v1.Health/Check(<the service's own name>) on target
 * until SERVING (its database answers and its revocation state is loaded)
 * or timeout; true when it became SERVING. Needs rpc_runtime_init() done by the caller. */
bool stack_wait_grpc_serving(const char *target, int timeout_ms);
/* The peers a process of the stack talks to (each "host:port", NULL: the
 * variable is not set). */
struct stack_peers {
	const char *users, *auth, *posts;
};

/* The one way the tests start a service or the gateway: the binary (with
 * TEST_BUILD_DIR set, "bin/<x>" is resolved under it; else under build/ when
 * it does not exist as given), output appended to <dir>/<name>.log, with
 * the current environment, then what every process of that kind shares,
 * then extra (NULL-terminated, may be NULL; later entries win). A service
 * ("bin/<x>-service") gets GRPC_HOST=127.0.0.1, GRPC_PORT=port,
 * DATABASE_URL, REDIS_URL; the gateway ("bin/gateway") API_HOST=127.0.0.1,
 * API_PORT=port, REDIS_URL; both JWT_SECRET=IT_JWT_SECRET, LOG_LEVEL=info
 * and USERS_ADDR/AUTH_ADDR/POSTS_ADDR for the peers given. Does not wait
 * for it to be ready. */
struct proc *stack_spawn_env(struct stack *s, const char *name, const char *path, int port,
			     const struct stack_peers *peers, const char *const *extra);
/* stack_spawn_env of a service, then waits until it is SERVING on
 * 127.0.0.1:port (its database answers, its revocation state is loaded).
 * NULL, with the log's path on stderr, when it does not within 20 s. */
struct proc *stack_spawn_serving(struct stack *s, const char *name, const char *path, int port,
				 const struct stack_peers *peers, const char *const *extra);
/* stack_spawn_serving of the auth service as "auth", with
 * USERS_ADDR=users_target and API_KEY_ROTATION_GRACE_SECONDS=2. Every other
 * service needs it to become SERVING itself. */
struct proc *stack_spawn_auth(struct stack *s, int port, const char *users_target);

/* A users service with the auth service it needs (the UsersService gRPC
 * tests run on it): both on free ports of 127.0.0.1. */
struct stack_users {
	struct proc *users, *auth;
	int port;        /* the users service's */
	char target[64]; /* "127.0.0.1:<port>" */
	char auth_target[64];
};
/* Starts the auth service, then the users service with extra (may be NULL);
 * false when either did not become SERVING. */
bool stack_users_start(struct stack *s, struct stack_users *u, const char *const *extra);

/* The whole content of a file, malloc'd (NULL when unreadable). */
char *read_file_all(const char *path);

#endif
