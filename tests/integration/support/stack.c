/* stack.c - the integration-test harness (see stack.h).
 *
 * PostgreSQL and Redis are managed by deploy/local/stack.sh (the script
 * `make run` uses), run as a child process and waited for. Project binaries
 * are forked and exec'd here, output appended to <dir>/<name>.log.
 *
 * Every stack is kept in one static list so that an atexit handler can stop
 * whatever a test binary that exits early (failed assertion, exit()) started. */
#include "stack.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "it.h"
#include "log.h"
#include "rpc.h"
#include "util.h"

extern char **environ;

#define STACK_START_TRIES 3

struct proc {
	struct proc *next;
	char name[64];
	char log_path[PATH_MAX];
	pid_t pid;
	bool exited;
	int status; /* 0..255, 128+signal */
};

struct stack {
	struct stack *next;
	pid_t owner; /* the process that started it (not a forked copy) */
	char dir[PATH_MAX];
	char script[PATH_MAX];
	int pg_port;
	int redis_port;
	bool pg_up;
	bool redis_up;
	char db_url[128];
	char redis_url[64];
	struct proc *procs;
};

/* Every live stack, for the atexit handler; guarded by stacks_lock. */
static struct stack *stacks;
static pthread_mutex_t stacks_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;

static void __attribute__((noreturn, format(printf, 1, 2))) fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("stack: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1); /* the atexit handler stops what was started */
}

static int decode_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 255;
}

/* In a freshly forked child: default signal dispositions and an empty mask, so
 * that what the test process blocked or ignored (rpc_runtime_init blocks
 * SIGTERM and ignores SIGPIPE) does not leak into the program it execs. */
static void child_reset_signals(void)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
}

static size_t env_key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* environ plus extra ("K=V"), later entries replacing earlier ones with the
 * same K. The array is malloc'd; the strings are borrowed. */
static char **build_env(const char *const *extra)
{
	size_t n = 0, nextra = 0, out = 0;
	char **env;

	while (environ[n])
		n++;
	while (extra && extra[nextra])
		nextra++;
	env = xcalloc(n + nextra + 1, sizeof(*env));
	for (size_t i = 0; i < n; i++)
		env[out++] = environ[i];
	for (size_t i = 0; i < nextra; i++) {
		size_t klen = env_key_len(extra[i]);
		size_t j;

		for (j = 0; j < out; j++) {
			if (env_key_len(env[j]) == klen && strncmp(env[j], extra[i], klen) == 0)
				break;
		}
		env[j] = (char *)extra[i];
		if (j == out)
			out++;
	}
	env[out] = NULL;
	return env;
}

/* Runs stack.sh <cmd> <dir> [port] and waits; returns its exit status (-1
 * when it could not be run). Never exits: the atexit handler uses it. */
static int run_script(const struct stack *s, const char *cmd, int port)
{
	char portbuf[16];
	char *argv[] = { "/bin/sh",      (char *)s->script,         (char *)cmd,
			 (char *)s->dir, port > 0 ? portbuf : NULL, NULL };
	static const char *const fast[] = { "STACK_FAST=1", NULL };
	char **env = build_env(fast); /* before fork: the child may not malloc */
	int wstatus;
	pid_t pid;

	snprintf(portbuf, sizeof(portbuf), "%d", port);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "stack: fork: %s\n", strerror(errno));
		free(env);
		return -1;
	}
	if (pid == 0) {
		child_reset_signals();
		execve("/bin/sh", argv, env);
		_exit(127);
	}
	free(env);
	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "stack: waitpid: %s\n", strerror(errno));
			return -1;
		}
	}
	return decode_status(wstatus);
}

static void mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	if (strlcpy_s(buf, path, sizeof(buf)) >= sizeof(buf))
		fatal("path too long: %s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			fatal("mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		fatal("mkdir %s: %s", buf, strerror(errno));
}

static void remove_tree(const char *dir)
{
	char *argv[] = { "/bin/rm", "-rf", "--", (char *)dir, NULL };
	int wstatus;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		execv("/bin/rm", argv);
		_exit(127);
	}
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
}

/* Ports are picked below Linux's ephemeral range (32768-60999 by default):
 * a port the kernel chose for us (bind to port 0) is one it may also give
 * to an outgoing connection (a service's gRPC, PostgreSQL or Redis client)
 * before the process it was chosen for binds it, which then fails to start
 * (seen once in CI). Below the range, only a listener can take it, and the
 * bind below checks that none has. */
#define FREE_PORT_LOW 20000
#define FREE_PORT_SPAN 12000

static bool port_bindable(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		fatal("socket: %s", strerror(errno));
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

int stack_free_port(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static uint64_t state;
	int port = -1;

	pthread_mutex_lock(&lock);
	if (state == 0)
		state = (uint64_t)now_unix_ms() ^ ((uint64_t)getpid() << 20) ^ 0x9e3779b97f4a7c15u;
	for (int i = 0; i < 2000 && port < 0; i++) {
		state = state * 6364136223846793005u + 1442695040888963407u;
		int candidate = FREE_PORT_LOW + (int)((state >> 33) % FREE_PORT_SPAN);

		if (port_bindable(candidate))
			port = candidate;
	}
	pthread_mutex_unlock(&lock);
	if (port < 0)
		fatal("cannot find a free port below the ephemeral range");
	return port;
}

static void stacks_remove(struct stack *s)
{
	pthread_mutex_lock(&stacks_lock);
	for (struct stack **pp = &stacks; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&stacks_lock);
}

static void stop_all_at_exit(void)
{
	for (;;) {
		struct stack *s;

		pthread_mutex_lock(&stacks_lock);
		s = stacks;
		pthread_mutex_unlock(&stacks_lock);
		if (!s)
			break;
		if (s->owner != getpid()) {
			/* A forked copy exiting: the stack is not its to stop. */
			stacks_remove(s);
			continue;
		}
		stack_stop(s);
	}
}

static void register_atexit(void)
{
	atexit(stop_all_at_exit);
}

static void stacks_add(struct stack *s)
{
	pthread_once(&atexit_once, register_atexit);
	pthread_mutex_lock(&stacks_lock);
	s->next = stacks;
	stacks = s;
	pthread_mutex_unlock(&stacks_lock);
}

static void find_script(struct stack *s)
{
	const char *path = getenv("STACK_SH");

	if (!path || !*path)
		path = "deploy/local/stack.sh";
	if (access(path, R_OK) != 0)
		fatal("%s: %s (run from the repository root, or set STACK_SH)", path,
		      strerror(errno));
	if (!realpath(path, s->script))
		fatal("%s: %s", path, strerror(errno));
}

static void make_dir(struct stack *s, const char *name)
{
	const char *base = getenv("TEST_TMPDIR");
	char tmpl[PATH_MAX];
	int n;

	if (!base || !*base)
		base = "/tmp";
	mkdir_p(base);
	n = snprintf(tmpl, sizeof(tmpl), "%s/%s-XXXXXX", base, name);
	if (n < 0 || (size_t)n >= sizeof(tmpl))
		fatal("TEST_TMPDIR too long");
	if (!mkdtemp(tmpl))
		fatal("mkdtemp %s: %s", tmpl, strerror(errno));
	if (!realpath(tmpl, s->dir))
		fatal("%s: %s", tmpl, strerror(errno));
}

/* A free port can be taken by someone else before the server binds it: try a
 * few fresh ports before giving up. */
static void start_pg(struct stack *s)
{
	for (int i = 0; i < STACK_START_TRIES; i++) {
		s->pg_port = stack_free_port();
		if (run_script(s, "pg-start", s->pg_port) == 0) {
			s->pg_up = true;
			snprintf(s->db_url, sizeof(s->db_url), "postgresql://app@127.0.0.1:%d/app",
				 s->pg_port);
			return;
		}
	}
	fatal("PostgreSQL did not start (see %s/pg.log)", s->dir);
}

static void start_redis(struct stack *s)
{
	for (int i = 0; i < STACK_START_TRIES; i++) {
		s->redis_port = stack_free_port();
		if (run_script(s, "redis-start", s->redis_port) == 0) {
			s->redis_up = true;
			snprintf(s->redis_url, sizeof(s->redis_url), "redis://127.0.0.1:%d",
				 s->redis_port);
			return;
		}
		run_script(s, "redis-stop", 0);
	}
	fatal("Redis did not start (see %s/redis.log)", s->dir);
}

struct stack *stack_start(const char *name)
{
	struct stack *s = xcalloc(1, sizeof(*s));

	/* The test process's own client logs (e.g. refused connections while
	 * polling for readiness) are noise; the services log to their own files. */
	log_init(LOG_ERROR, LOG_FORMAT_JSON, "test");
	s->owner = getpid();
	find_script(s);
	make_dir(s, name);
	stacks_add(s);
	if (run_script(s, "pg-init", 0) != 0)
		fatal("initdb failed (see %s/initdb.log)", s->dir);
	start_pg(s);
	start_redis(s);
	return s;
}

static void procs_stop_all(struct stack *s)
{
	struct proc *p = s->procs;

	while (p) {
		struct proc *next = p->next;

		if (!p->exited)
			proc_stop(p);
		free(p);
		p = next;
	}
	s->procs = NULL;
}

void stack_stop(struct stack *s)
{
	const char *keep = getenv("KEEP_TEST_TMP");

	if (!s)
		return;
	stacks_remove(s);
	procs_stop_all(s);
	if (s->pg_up && run_script(s, "pg-stop", 0) != 0)
		fprintf(stderr, "stack: PostgreSQL in %s did not stop\n", s->dir);
	if (s->redis_up && run_script(s, "redis-stop", 0) != 0)
		fprintf(stderr, "stack: Redis in %s did not stop\n", s->dir);
	if (keep && strcmp(keep, "1") == 0)
		fprintf(stderr, "stack: kept %s\n", s->dir);
	else
		remove_tree(s->dir);
	free(s);
}

const char *stack_dir(const struct stack *s)
{
	return s->dir;
}

const char *stack_database_url(const struct stack *s)
{
	return s->db_url;
}

const char *stack_redis_url(const struct stack *s)
{
	return s->redis_url;
}

void stack_pg_stop(struct stack *s)
{
	if (run_script(s, "pg-stop", 0) != 0)
		fatal("PostgreSQL did not stop (see %s/pg.log)", s->dir);
	s->pg_up = false;
}

void stack_pg_start(struct stack *s)
{
	s->pg_up = true; /* stop it at exit even if the start half-succeeded */
	if (run_script(s, "pg-start", s->pg_port) != 0)
		fatal("PostgreSQL did not restart on port %d (see %s/pg.log)", s->pg_port, s->dir);
}

void stack_redis_stop(struct stack *s)
{
	if (run_script(s, "redis-stop", 0) != 0)
		fatal("Redis did not stop (see %s/redis.log)", s->dir);
	s->redis_up = false;
}

/* cmd's reply on a fresh connection; fatal unless it has type want. */
static redisReply *redis_run(const struct stack *s, const char *cmd, int want)
{
	redisContext *ctx = redisConnect("127.0.0.1", s->redis_port);
	redisReply *r = ctx && !ctx->err ? redisCommand(ctx, cmd) : NULL;

	if (!r || r->type != want)
		fatal("%s failed on the stack's Redis", cmd);
	redisFree(ctx);
	return r;
}

long long stack_redis_reads(const struct stack *s)
{
	static const char *const cmds[] = { "cmdstat_get:calls=", "cmdstat_mget:calls=" };
	redisReply *r = redis_run(s, "INFO commandstats", REDIS_REPLY_STRING);
	long long n = 0;

	for (size_t i = 0; i < 2; i++) {
		const char *at = strstr(r->str, cmds[i]);
		int64_t v;
		char num[24];

		if (!at)
			continue;
		at += strlen(cmds[i]);
		snprintf(num, sizeof(num), "%.*s", (int)strspn(at, "0123456789"), at);
		if (!parse_int64(num, &v))
			fatal("INFO commandstats: no count after %s", cmds[i]);
		n += v;
	}
	freeReplyObject(r);
	return n;
}

void stack_redis_command(const struct stack *s, const char *cmd)
{
	freeReplyObject(redis_run(s, cmd, REDIS_REPLY_STATUS));
}

void stack_redis_signal(struct stack *s, int sig)
{
	char path[PATH_MAX + 32], *text;
	int64_t pid = 0;

	snprintf(path, sizeof(path), "%s/redis/redis.pid", s->dir);
	text = read_file_all(path);
	if (text)
		text[strcspn(text, "\r\n")] = '\0';
	if (!text || !parse_int64(text, &pid) || pid <= 1 || kill((pid_t)pid, sig) != 0)
		fatal("cannot signal redis-server (pid file %s)", path);
	free(text);
}

void stack_redis_start(struct stack *s)
{
	s->redis_up = true;
	if (run_script(s, "redis-start", s->redis_port) != 0)
		fatal("Redis did not restart on port %d (see %s/redis.log)", s->redis_port, s->dir);
}

/* ---- project binaries ------------------------------------------------------ */

/* path as given, or under $TEST_BUILD_DIR when that is set and path is
 * relative. Without TEST_BUILD_DIR (a binary run by hand from the repository
 * root), a relative path that does not exist is looked for under build/. */
static void resolve_path(const char *path, char *out, size_t outsize)
{
	const char *build = getenv("TEST_BUILD_DIR");
	int n;

	if (path[0] != '/' && build && *build)
		n = snprintf(out, outsize, "%s/%s", build, path);
	else if (path[0] != '/' && access(path, X_OK) != 0)
		n = snprintf(out, outsize, "build/%s", path);
	else
		n = snprintf(out, outsize, "%s", path);
	if (n < 0 || (size_t)n >= outsize)
		fatal("path too long: %s", path);
}

static void write_str(int fd, const char *str)
{
	ssize_t r = write(fd, str, strlen(str));

	(void)r;
}

/* The forked child: output to the log, die with the test process, exec. */
static void __attribute__((noreturn))
spawn_child(const struct proc *p, const char *path, char **env, pid_t parent)
{
	char *argv[] = { (char *)path, NULL };
	int fd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0)
		_exit(126);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	child_reset_signals();
	/* A test binary that crashes must not leave services running. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(125);
	execve(path, argv, env);
	/* Only async-signal-safe calls here: the test process may have threads. */
	write_str(STDERR_FILENO, "stack: cannot exec ");
	write_str(STDERR_FILENO, path);
	write_str(STDERR_FILENO, "\n");
	_exit(127);
}

static struct proc *stack_spawn(struct stack *s, const char *name, const char *path,
				const char *const *env)
{
	struct proc *p = xcalloc(1, sizeof(*p));
	char resolved[PATH_MAX];
	char **envp;
	pid_t parent = getpid();
	int n;

	resolve_path(path, resolved, sizeof(resolved));
	if (access(resolved, X_OK) != 0)
		fatal("%s: %s", resolved, strerror(errno));
	strlcpy_s(p->name, name, sizeof(p->name));
	n = snprintf(p->log_path, sizeof(p->log_path), "%s/%s.log", s->dir, name);
	if (n < 0 || (size_t)n >= sizeof(p->log_path))
		fatal("log path too long for %s", name);
	envp = build_env(env);
	fflush(NULL);
	p->pid = fork();
	if (p->pid < 0)
		fatal("fork: %s", strerror(errno));
	if (p->pid == 0)
		spawn_child(p, resolved, envp, parent);
	free(envp);
	p->next = s->procs;
	s->procs = p;
	return p;
}

const char *proc_log_path(const struct proc *p)
{
	return p->log_path;
}

const char *proc_name(const struct proc *p)
{
	return p->name;
}

void proc_signal(struct proc *p, int sig)
{
	if (!p->exited)
		kill(p->pid, sig);
}

/* A negative timeout waits as long as it takes. */
int proc_wait(struct proc *p, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;

	while (!p->exited) {
		int wstatus;
		pid_t r = waitpid(p->pid, &wstatus, WNOHANG);

		if (r == p->pid) {
			p->exited = true;
			p->status = decode_status(wstatus);
			break;
		}
		if (r < 0 && errno != EINTR) {
			/* Not our child any more (reaped elsewhere): treat as gone. */
			p->exited = true;
			p->status = 255;
			break;
		}
		if (timeout_ms >= 0 && mono_ms() >= deadline)
			return -1;
		sleep_ms(10);
	}
	return p->status;
}

int proc_stop(struct proc *p)
{
	int status;

	if (p->exited)
		return p->status;
	kill(p->pid, SIGTERM);
	status = proc_wait(p, 10000);
	if (status >= 0)
		return status;
	fprintf(stderr, "stack: %s (pid %d) ignored SIGTERM for 10 s, killing it\n", p->name,
		(int)p->pid);
	kill(p->pid, SIGKILL);
	return proc_wait(p, -1);
}

bool stack_wait_grpc_serving(const char *target, int timeout_ms)
{
	static const char *const names[] = { "agentos.users.v1.UsersService",
					     "agentos.posts.v1.PostsService",
					     "agentos.auth.v1.AuthService" };
	struct rpc_channel *ch = rpc_channel_new(target);
	int64_t deadline = mono_ms() + timeout_ms;
	bool serving = false;

	for (;;) {
		int64_t left = deadline - mono_ms();

		if (left <= 0)
			break;
		/* The service's own name: SERVING once it can check credentials (a
		 * server answers NOT_FOUND for the names it does not serve). */
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !serving; i++)
			serving = rpc_health_check(ch, names[i], left < 500 ? (int)left : 500) == 1;
		if (serving)
			break;
		sleep_ms(50);
	}
	rpc_channel_free(ch);
	return serving;
}

char *read_file_all(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, len = 0;
	char *buf;

	if (fd < 0)
		return NULL;
	buf = xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (cap - len < 2) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* Appends "name=value" (formatted into buf) to env when value is set. */
static size_t env_add(const char **env, size_t n, char *buf, size_t size, const char *name,
		      const char *value)
{
	if (!value)
		return n;
	snprintf(buf, size, "%s=%s", name, value);
	env[n] = buf;
	return n + 1;
}

struct proc *stack_spawn_env(struct stack *s, const char *name, const char *path, int port,
			     const struct stack_peers *peers, const char *const *extra)
{
	static const struct stack_peers none;
	bool gateway = strcmp(path, "bin/gateway") == 0;
	char port_env[32], db[512], redis[128], addr[3][320];
	const char *env[48] = { port_env, redis, "JWT_SECRET=" IT_JWT_SECRET, "LOG_LEVEL=info",
				gateway ? "API_HOST=127.0.0.1" : "GRPC_HOST=127.0.0.1" };
	size_t n = 5;

	peers = peers ? peers : &none;
	snprintf(port_env, sizeof(port_env), "%s=%d", gateway ? "API_PORT" : "GRPC_PORT", port);
	snprintf(redis, sizeof(redis), "REDIS_URL=%s", stack_redis_url(s));
	if (!gateway)
		n = env_add(env, n, db, sizeof(db), "DATABASE_URL", stack_database_url(s));
	n = env_add(env, n, addr[0], sizeof(addr[0]), "USERS_ADDR", peers->users);
	n = env_add(env, n, addr[1], sizeof(addr[1]), "AUTH_ADDR", peers->auth);
	n = env_add(env, n, addr[2], sizeof(addr[2]), "POSTS_ADDR", peers->posts);
	for (size_t i = 0; extra && extra[i] && n < ARRAY_SIZE(env) - 1; i++)
		env[n++] = extra[i];
	env[n] = NULL;
	return stack_spawn(s, name, path, env);
}

/* Waits until 127.0.0.1:port accepts a TCP connection (or p exits, or 20 s
 * pass). A gRPC channel created before its server listens backs off for
 * seconds; polling the port first lets the health check connect at once. */
static void wait_port_open(int port, struct proc *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int64_t deadline = mono_ms() + 20000;

	while (mono_ms() < deadline && proc_wait(p, 0) < 0) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool open_now = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

		if (fd >= 0)
			close(fd);
		if (open_now)
			return;
		sleep_ms(20);
	}
}

struct proc *stack_spawn_serving(struct stack *s, const char *name, const char *path, int port,
				 const struct stack_peers *peers, const char *const *extra)
{
	struct proc *p = stack_spawn_env(s, name, path, port, peers, extra);
	char target[64];

	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	wait_port_open(port, p);
	if (stack_wait_grpc_serving(target, 20000))
		return p;
	fprintf(stderr, "%s did not become SERVING; log: %s\n", name, proc_log_path(p));
	return NULL;
}

struct proc *stack_spawn_auth(struct stack *s, int port, const char *users_target)
{
	static const char *const extra[] = { "API_KEY_ROTATION_GRACE_SECONDS=2", NULL };
	const struct stack_peers peers = { .users = users_target };

	return stack_spawn_serving(s, "auth", "bin/auth-service", port, &peers, extra);
}

static bool users_spawn(struct stack *s, struct stack_users *u, const char *const *extra)
{
	const struct stack_peers peers = { .auth = u->auth_target };

	u->users = stack_spawn_serving(s, "users", "bin/users-service", u->port, &peers, extra);
	return u->users != NULL;
}

bool stack_users_start(struct stack *s, struct stack_users *u, const char *const *extra)
{
	int auth_port = stack_free_port();

	memset(u, 0, sizeof(*u));
	u->port = stack_free_port();
	snprintf(u->target, sizeof(u->target), "127.0.0.1:%d", u->port);
	snprintf(u->auth_target, sizeof(u->auth_target), "127.0.0.1:%d", auth_port);
	/* Auth first: the users service loads its revocation state from it. */
	u->auth = stack_spawn_auth(s, auth_port, u->target);
	return u->auth && users_spawn(s, u, extra);
}
