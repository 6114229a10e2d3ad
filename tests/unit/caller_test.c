/* caller_test.c - caller_resolve without PostgreSQL or Redis servers:
 * bearer parsing and verification, the both-credentials and anonymous cases,
 * the API-key cache (lifetime, size bound, failures never cached) with a
 * local validator that counts its calls, and the remote path against an
 * in-process fake AuthService (reply -> principal, errors passed through,
 * x-request-id forwarded, unreachable = SERVICE_UNAVAILABLE). Redis that
 * cannot be reached means "accept, warn at most once every 10 s". */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include "agentos/auth/v1/auth.pb-c.h"
#include "caller.h"
#include "revocation.h"
#include "log.h"
#include "rpc.h"
#include "util.h"

#define SECRET "0123456789abcdef0123456789abcdef-caller-test"
#define ISSUER "agentos-auth"
#define VALIDATE "/agentos.auth.v1.AuthService/ValidateApiKey"

static const struct jwt_config jwt = { SECRET, ISSUER, JWT_LEEWAY_S };

static int64_t now_s(void)
{
	return now_unix_ms() / 1000;
}

/* A token for user 42 with the role's permissions, iat/exp relative to now. */
static char *token(const char *role, int64_t iat_off, int64_t exp_off)
{
	struct principal p = { .method = AUTH_JWT, .user_id = 42 };
	char *t;

	strlcpy_s(p.email, "u42@example.com", sizeof(p.email));
	strlcpy_s(p.role, role, sizeof(p.role));
	assert_true(role_permissions(role, &p.perms));
	t = jwt_sign(&jwt, &p, now_s() + iat_off, now_s() + exp_off, "jti-42");
	assert_non_null(t);
	return t;
}

static char *bearer(const char *tok)
{
	size_t n = strlen(tok) + 8;
	char *h = malloc(n);

	assert_non_null(h);
	snprintf(h, n, "Bearer %s", tok);
	return h;
}

/* ---- a local validator that counts its calls --------------------------------- */

struct local {
	atomic_int calls;
	int64_t exp;          /* the principal's exp (0: none) */
	enum err_code refuse; /* ERR_OK: accept every key */
};

/* Accepts any key as user 7 with read:posts (+ write:posts for "ak_writer"). */
static int local_validate(void *ctx, const char *key, struct principal *out, struct app_error *err)
{
	struct local *l = ctx;

	atomic_fetch_add(&l->calls, 1);
	if (l->refuse != ERR_OK)
		return app_error_set(err, l->refuse, "local says %s", err_name(l->refuse));
	memset(out, 0, sizeof(*out));
	out->method = AUTH_JWT; /* the resolver must say API key whatever this says */
	out->user_id = 7;
	strlcpy_s(out->role, "user", sizeof(out->role));
	out->perms = PERM_BIT(PERM_READ_POSTS);
	if (strcmp(key, "ak_writer") == 0)
		out->perms |= PERM_BIT(PERM_WRITE_POSTS);
	out->exp = l->exp;
	return 0;
}

static struct caller_resolver *local_resolver(struct local *l, int cache_ms)
{
	struct caller_config cfg = {
		.jwt = &jwt, .local_api_key = local_validate, .local_ctx = l, .cache_ms = cache_ms
	};

	return caller_resolver_new(&cfg);
}

static int resolve(struct caller_resolver *r, const char *authz, const char *key,
		   struct principal *p, struct app_error *e)
{
	app_error_init(e);
	memset(p, 0xA5, sizeof(*p)); /* garbage: the resolver must overwrite all of it */
	return caller_resolve(r, authz, key, "req-unit-1", p, e);
}

static void assert_anonymous(const struct principal *p)
{
	assert_int_equal(p->method, AUTH_NONE);
	assert_int_equal(p->user_id, 0);
	assert_int_equal(p->perms, 0);
}

static void assert_refused(int rc, const struct app_error *e, enum err_code code)
{
	if (rc != -1 || e->code != code)
		fprintf(stderr, "expected %s, got rc %d %s (%s)\n", err_name(code), rc,
			err_name(e->code), e->message);
	assert_int_equal(rc, -1);
	assert_string_equal(err_name(e->code), err_name(code));
}

/* ---- bearer ---------------------------------------------------------------------- */

static void bearer_parsing_rules(void **state)
{
	assert_string_equal(caller_parse_bearer("Bearer abc.def.ghi"), "abc.def.ghi");
	assert_string_equal(caller_parse_bearer("bearer x"), "x");
	assert_string_equal(caller_parse_bearer("BEARER x"), "x");
	assert_null(caller_parse_bearer("Bearer  x")); /* two spaces */
	assert_null(caller_parse_bearer("Bearer "));
	assert_null(caller_parse_bearer("Bearer"));
	assert_null(caller_parse_bearer("Bearerx"));
	assert_null(caller_parse_bearer("Basic dXNlcjpwYXNz"));
	assert_null(caller_parse_bearer(""));
	assert_null(caller_parse_bearer(NULL));
}

static void bearer_tokens_are_verified(void **state)
{
	struct local l = { 0 };
	struct caller_resolver *r = local_resolver(&l, 500);
	char *good = token("moderator", 0, 3600), *expired = token("user", -7200, -3600);
	char *hg = bearer(good), *he = bearer(expired);
	struct principal p;
	struct app_error e;

	assert_int_equal(resolve(r, hg, NULL, &p, &e), 0); /* kv NULL: no revocation lookup */
	assert_int_equal(p.method, AUTH_JWT);
	assert_int_equal(p.user_id, 42);
	assert_string_equal(p.role, "moderator");
	assert_string_equal(p.jti, "jti-42");
	assert_true(perm_has(p.perms, PERM_READ_USERS));
	assert_refused(resolve(r, he, NULL, &p, &e), &e, ERR_TOKEN_EXPIRED);
	assert_anonymous(&p);
	assert_refused(resolve(r, "Bearer not.a.jwt", NULL, &p, &e), &e, ERR_UNAUTHORIZED);
	assert_refused(resolve(r, good, NULL, &p, &e), &e, ERR_UNAUTHORIZED); /* no scheme */
	assert_anonymous(&p);
	assert_refused(resolve(r, "Basic dXNlcjpwYXNz", NULL, &p, &e), &e, ERR_UNAUTHORIZED);
	assert_refused(resolve(r, "", NULL, &p, &e), &e, ERR_UNAUTHORIZED);
	assert_int_equal(atomic_load(&l.calls), 0);
	caller_resolver_free(r);
	free(good);
	free(expired);
	free(hg);
	free(he);
}

static void both_credentials_are_a_bad_request(void **state)
{
	struct local l = { 0 };
	struct caller_resolver *r = local_resolver(&l, 500);
	char *good = token("admin", 0, 3600), *hg = bearer(good);
	struct principal p;
	struct app_error e;

	assert_refused(resolve(r, hg, "ak_writer", &p, &e), &e, ERR_BAD_REQUEST);
	assert_anonymous(&p);
	/* even when the bearer is garbage: both present is the first rule */
	assert_refused(resolve(r, "Basic x", "", &p, &e), &e, ERR_BAD_REQUEST);
	assert_int_equal(atomic_load(&l.calls), 0);
	caller_resolver_free(r);
	free(good);
	free(hg);
}

static void no_credentials_is_anonymous(void **state)
{
	struct local l = { 0 };
	struct caller_resolver *r = local_resolver(&l, 500);
	struct principal p;
	struct app_error e;

	assert_int_equal(resolve(r, NULL, NULL, &p, &e), 0);
	assert_anonymous(&p);
	assert_int_equal(e.code, ERR_OK);
	assert_int_equal(caller_resolve(r, NULL, NULL, NULL, &p, NULL), 0); /* err may be NULL */
	caller_resolver_free(r);
}

/* ---- API keys with a local validator ------------------------------------------------ */

static void api_keys_are_cached_for_cache_ms(void **state)
{
	struct local l = { 0 };
	struct caller_resolver *r = local_resolver(&l, 100);
	struct principal p;
	struct app_error e;

	assert_int_equal(resolve(r, NULL, "ak_writer", &p, &e), 0);
	assert_int_equal(p.method, AUTH_API_KEY);
	assert_int_equal(p.user_id, 7);
	assert_int_equal(p.perms, PERM_BIT(PERM_READ_POSTS) | PERM_BIT(PERM_WRITE_POSTS));
	assert_int_equal(resolve(r, NULL, "ak_writer", &p, &e), 0);
	assert_int_equal(p.method, AUTH_API_KEY); /* from the cache, same principal */
	assert_int_equal(p.perms, PERM_BIT(PERM_READ_POSTS) | PERM_BIT(PERM_WRITE_POSTS));
	assert_int_equal(atomic_load(&l.calls), 1);
	assert_int_equal(resolve(r, NULL, "ak_reader", &p, &e), 0); /* another key: its own entry */
	assert_int_equal(p.perms, PERM_BIT(PERM_READ_POSTS));
	assert_int_equal(atomic_load(&l.calls), 2);
	sleep_ms(150); /* past cache_ms: asked again */
	assert_int_equal(resolve(r, NULL, "ak_writer", &p, &e), 0);
	assert_int_equal(atomic_load(&l.calls), 3);
	assert_int_equal(resolve(r, NULL, "ak_writer", &p, &e), 0);
	assert_int_equal(atomic_load(&l.calls), 3);
	caller_resolver_free(r);
}

static void cache_ms_is_bounded_and_zero_disables(void **state)
{
	struct local l = { 0 };
	struct caller_resolver *r = local_resolver(&l, 0);
	struct principal p;
	struct app_error e;

	for (int i = 0; i < 3; i++)
		assert_int_equal(resolve(r, NULL, "ak_writer", &p, &e), 0);
	assert_int_equal(atomic_load(&l.calls), 3);
	caller_resolver_free(r);

	atomic_store(&l.calls, 0);
	r = local_resolver(&l, 60000); /* clamped to 1000 ms: a revoked key stops within 1 s */
	assert_int_equal(resolve(r, NULL, "ak_writer", &p, &e), 0);
	sleep_ms(1100);
	assert_int_equal(resolve(r, NULL, "ak_writer", &p, &e), 0);
	assert_int_equal(atomic_load(&l.calls), 2);
	caller_resolver_free(r);
}

static void an_expired_key_is_not_served_from_the_cache(void **state)
{
	struct local l = { .exp = now_s() }; /* expires this very second */
	struct caller_resolver *r = local_resolver(&l, 1000);
	struct principal p;
	struct app_error e;

	assert_int_equal(resolve(r, NULL, "ak_writer", &p, &e), 0);
	assert_int_equal(resolve(r, NULL, "ak_writer", &p, &e), 0);
	assert_int_equal(atomic_load(&l.calls), 2);
	caller_resolver_free(r);
}

static void local_errors_pass_through_and_are_not_cached(void **state)
{
	static const enum err_code codes[] = { ERR_UNAUTHORIZED, ERR_TOKEN_EXPIRED,
					       ERR_TOKEN_REVOKED, ERR_SERVICE_UNAVAILABLE };
	struct local l = { 0 };
	struct caller_resolver *r = local_resolver(&l, 1000);
	struct principal p;
	struct app_error e;
	char want[64];

	for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
		l.refuse = codes[i];
		assert_refused(resolve(r, NULL, "ak_bad", &p, &e), &e, codes[i]);
		snprintf(want, sizeof(want), "local says %s", err_name(codes[i]));
		assert_string_equal(e.message, want);
		assert_anonymous(&p);
	}
	assert_int_equal(atomic_load(&l.calls), (int)ARRAY_SIZE(codes));
	l.refuse = ERR_OK; /* the key is good now: asked again, not a cached refusal */
	assert_int_equal(resolve(r, NULL, "ak_bad", &p, &e), 0);
	assert_int_equal(atomic_load(&l.calls), (int)ARRAY_SIZE(codes) + 1);
	caller_resolver_free(r);
}

static void malformed_keys_are_refused_without_asking(void **state)
{
	struct local l = { 0 };
	struct caller_resolver *r = local_resolver(&l, 1000);
	char big[600];
	struct principal p;
	struct app_error e;

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_refused(resolve(r, NULL, "", &p, &e), &e, ERR_UNAUTHORIZED);
	assert_refused(resolve(r, NULL, big, &p, &e), &e, ERR_UNAUTHORIZED);
	assert_int_equal(atomic_load(&l.calls), 0);
	caller_resolver_free(r);
}

static void the_cache_is_bounded_and_evicts_the_oldest(void **state)
{
	struct local l = { 0 };
	struct caller_resolver *r = local_resolver(&l, 1000);
	struct principal p;
	struct app_error e;
	char key[32];

	for (int i = 0; i <= 1024; i++) { /* 1025 keys in a 1024-entry cache */
		snprintf(key, sizeof(key), "ak_%d", i);
		assert_int_equal(resolve(r, NULL, key, &p, &e), 0);
	}
	assert_int_equal(atomic_load(&l.calls), 1025);
	assert_int_equal(resolve(r, NULL, "ak_1024", &p, &e), 0); /* newest: cached */
	assert_int_equal(resolve(r, NULL, "ak_1", &p, &e), 0);    /* second oldest: cached */
	assert_int_equal(atomic_load(&l.calls), 1025);
	assert_int_equal(resolve(r, NULL, "ak_0", &p, &e), 0); /* oldest: evicted */
	assert_int_equal(atomic_load(&l.calls), 1026);
	caller_resolver_free(r);
}

struct hammer {
	struct caller_resolver *r;
	atomic_int wrong;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	struct principal p;
	struct app_error e;
	char key[32];

	for (int i = 0; i < 3000; i++) {
		if (i % 2)
			strlcpy_s(key, "ak_writer", sizeof(key));
		else
			snprintf(key, sizeof(key), "ak_r%d", i % 1500);
		if (resolve(h->r, NULL, key, &p, &e) != 0 || p.user_id != 7 ||
		    p.method != AUTH_API_KEY ||
		    !!(p.perms & PERM_BIT(PERM_WRITE_POSTS)) != !!(i % 2))
			atomic_fetch_add(&h->wrong, 1);
	}
	return NULL;
}

static void the_cache_is_thread_safe(void **state)
{
	struct local l = { 0 };
	struct hammer h = { .r = local_resolver(&l, 1000) };
	pthread_t t[4];

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer_main, &h), 0);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&h.wrong), 0);
	/* 751 distinct keys fit: at most a few concurrent misses per key */
	assert_true(atomic_load(&l.calls) >= 751);
	assert_true(atomic_load(&l.calls) <= 751 * 4);
	caller_resolver_free(h.r);
}

/* ---- API keys through a fake AuthService ----------------------------------------- */

struct fake_auth {
	struct rpc_server *srv;
	pthread_t thread;
	struct rpc_channel *ch;
	atomic_int calls;
	char seen_request_id[80];
};

static struct fake_auth fake;

/* "ak_good": user 9, admin role but a key limited to read:posts (+ an unknown
 * permission name); "ak_revoked": TOKEN_REVOKED; anything else UNAUTHORIZED. */
static int fake_validate(void *ctx, struct rpc_ctx *cx)
{
	static char *perms[] = { "read:posts", "launch:rockets" };
	const Agentos__Auth__V1__ValidateApiKeyRequest *req = cx->req;
	struct arena *a = cx->arena;
	Agentos__Auth__V1__Principal *m = arena_alloc(a, sizeof(*m));
	Google__Protobuf__Timestamp *ts = arena_alloc(a, sizeof(*ts));

	atomic_fetch_add(&fake.calls, 1);
	strlcpy_s(fake.seen_request_id, cx->origin.request_id, sizeof(fake.seen_request_id));
	if (strcmp(req->key, "ak_revoked") == 0)
		return app_error_set(cx->err, ERR_TOKEN_REVOKED, "API key has been revoked");
	if (strcmp(req->key, "ak_good") != 0)
		return app_error_set(cx->err, ERR_UNAUTHORIZED, "Invalid API key");
	agentos__auth__v1__principal__init(m);
	google__protobuf__timestamp__init(ts);
	ts->seconds = now_s() + 3600;
	m->user_id = 9;
	m->email = "nine@example.com";
	m->role = "admin";
	m->permissions = perms;
	m->n_permissions = ARRAY_SIZE(perms);
	m->auth_method = "api_key";
	m->expires_at = ts;
	return rpc_reply(cx, &m->base);
}

static const struct rpc_method fake_methods[] = {
	RPC_UNARY(VALIDATE, &agentos__auth__v1__validate_api_key_request__descriptor,
		  fake_validate),
};

static void *fake_main(void *p)
{
	rpc_server_run(p);
	return NULL;
}

static int fake_start(void **state)
{
	struct rpc_server_config cfg = { .listen_addr = "127.0.0.1:0",
					 .workers = 2,
					 .shutdown_grace_ms = 1000,
					 .domain = "auth" };
	char target[64];

	fake.srv = rpc_server_new(&cfg, fake_methods, ARRAY_SIZE(fake_methods));
	if (!fake.srv)
		return -1;
	if (pthread_create(&fake.thread, NULL, fake_main, fake.srv) != 0)
		return -1;
	snprintf(target, sizeof(target), "127.0.0.1:%d", rpc_server_port(fake.srv));
	fake.ch = rpc_channel_new(target);
	return 0;
}

static int fake_stop(void **state)
{
	rpc_server_stop(fake.srv);
	pthread_join(fake.thread, NULL);
	rpc_server_free(fake.srv);
	rpc_channel_free(fake.ch);
	return 0;
}

static struct caller_resolver *remote_resolver(struct rpc_channel *ch, int cache_ms)
{
	struct caller_config cfg = {
		.jwt = &jwt, .auth = ch, .cache_ms = cache_ms, .deadline_ms = 2000
	};

	return caller_resolver_new(&cfg);
}

static void remote_keys_become_principals(void **state)
{
	struct caller_resolver *r = remote_resolver(fake.ch, 500);
	struct principal p;
	struct app_error e;
	int base = atomic_load(&fake.calls);

	assert_int_equal(resolve(r, NULL, "ak_good", &p, &e), 0);
	assert_int_equal(p.method, AUTH_API_KEY);
	assert_int_equal(p.user_id, 9);
	assert_string_equal(p.email, "nine@example.com");
	assert_string_equal(p.role, "admin");
	assert_int_equal(p.perms, PERM_BIT(PERM_READ_POSTS)); /* the key's, not the owner's */
	assert_false(perm_is_admin(p.perms));
	assert_true(p.exp >= now_s() + 3590 && p.exp <= now_s() + 3600);
	assert_string_equal(fake.seen_request_id, "req-unit-1"); /* forwarded */
	assert_int_equal(resolve(r, NULL, "ak_good", &p, &e), 0);
	assert_int_equal(atomic_load(&fake.calls), base + 1); /* cached */
	caller_resolver_free(r);
}

static void remote_errors_pass_through(void **state)
{
	struct caller_resolver *r = remote_resolver(fake.ch, 500);
	struct principal p;
	struct app_error e;
	int base = atomic_load(&fake.calls);

	assert_refused(resolve(r, NULL, "ak_revoked", &p, &e), &e, ERR_TOKEN_REVOKED);
	assert_string_equal(e.message, "API key has been revoked");
	assert_anonymous(&p);
	assert_refused(resolve(r, NULL, "ak_unknown", &p, &e), &e, ERR_UNAUTHORIZED);
	assert_refused(resolve(r, NULL, "ak_revoked", &p, &e), &e, ERR_TOKEN_REVOKED);
	assert_int_equal(atomic_load(&fake.calls), base + 3); /* refusals are not cached */
	caller_resolver_free(r);
}

static void unreachable_auth_service_is_unavailable(void **state)
{
	struct rpc_channel *nowhere = rpc_channel_new("127.0.0.1:1");
	struct caller_resolver *r = remote_resolver(nowhere, 500);
	struct caller_resolver *none = remote_resolver(NULL, 500);
	struct principal p;
	struct app_error e;
	int64_t start = mono_ms();

	assert_refused(resolve(r, NULL, "ak_good", &p, &e), &e, ERR_SERVICE_UNAVAILABLE);
	assert_anonymous(&p);
	assert_true(mono_ms() - start < 2500);
	assert_refused(resolve(none, NULL, "ak_good", &p, &e), &e, ERR_SERVICE_UNAVAILABLE);
	caller_resolver_free(r);
	caller_resolver_free(none);
	rpc_channel_free(nowhere);
}

/* ---- the in-memory revocation copy ----------------------------------------------------- */

static void revocations_refuse_in_memory(void **state)
{
	struct revocations *rev = revocations_new(60000);
	struct local l = { 0 };
	struct caller_config cfg = {
		.jwt = &jwt, .revocations = rev, .local_api_key = local_validate, .local_ctx = &l
	};
	struct caller_resolver *r = caller_resolver_new(&cfg);
	char *good = token("user", 0, 3600), *hg = bearer(good);
	int64_t iat_ms = now_s() * 1000; /* the test token has no iat_ms claim */
	struct principal p;
	struct app_error e;

	/* not loaded yet: bearer and API-key requests fail closed, anonymous ones pass */
	assert_refused(resolve(r, hg, NULL, &p, &e), &e, ERR_SERVICE_UNAVAILABLE);
	assert_refused(resolve(r, NULL, "ak_good", &p, &e), &e, ERR_SERVICE_UNAVAILABLE);
	assert_int_equal(atomic_load(&l.calls), 0);
	assert_int_equal(resolve(r, NULL, NULL, &p, &e), 0);
	revocations_synced(rev, 0, true);
	assert_int_equal(resolve(r, hg, NULL, &p, &e), 0);
	assert_int_equal(resolve(r, NULL, "ak_good", &p, &e), 0);
	/* a not-before at the token's own millisecond leaves it valid; one after refuses it */
	revocations_add_user(rev, 42, iat_ms, INT64_MAX);
	assert_int_equal(resolve(r, hg, NULL, &p, &e), 0);
	revocations_add_user(rev, 42, iat_ms + 1, INT64_MAX);
	assert_refused(resolve(r, hg, NULL, &p, &e), &e, ERR_TOKEN_REVOKED);
	revocations_reset(rev, "feed");
	revocations_synced(rev, 1, true);
	assert_int_equal(resolve(r, hg, NULL, &p, &e), 0);
	revocations_add_token(rev, "jti-42", INT64_MAX);
	assert_refused(resolve(r, hg, NULL, &p, &e), &e, ERR_TOKEN_REVOKED);
	assert_int_equal(p.method, AUTH_NONE);
	caller_resolver_free(r);
	revocations_free(rev);
	free(good);
	free(hg);
}

static void stale_revocations_fail_closed(void **state)
{
	struct revocations *rev = revocations_new(1000); /* the least the setting allows */
	struct caller_config cfg = { .jwt = &jwt, .revocations = rev };
	struct caller_resolver *r = caller_resolver_new(&cfg);
	char *good = token("user", 0, 3600), *hg = bearer(good);
	struct principal p;
	struct app_error e;

	revocations_synced(rev, 7, true);
	assert_int_equal(resolve(r, hg, NULL, &p, &e), 0);
	sleep_ms(1100);
	assert_refused(resolve(r, hg, NULL, &p, &e), &e, ERR_SERVICE_UNAVAILABLE);
	revocations_synced(rev, 7, true); /* a heartbeat */
	assert_int_equal(resolve(r, hg, NULL, &p, &e), 0);
	caller_resolver_free(r);
	revocations_free(rev);
	free(good);
	free(hg);
}

int main(void)
{
	const struct CMUnitTest local[] = {
		cmocka_unit_test(bearer_parsing_rules),
		cmocka_unit_test(bearer_tokens_are_verified),
		cmocka_unit_test(both_credentials_are_a_bad_request),
		cmocka_unit_test(no_credentials_is_anonymous),
		cmocka_unit_test(api_keys_are_cached_for_cache_ms),
		cmocka_unit_test(cache_ms_is_bounded_and_zero_disables),
		cmocka_unit_test(an_expired_key_is_not_served_from_the_cache),
		cmocka_unit_test(local_errors_pass_through_and_are_not_cached),
		cmocka_unit_test(malformed_keys_are_refused_without_asking),
		cmocka_unit_test(the_cache_is_bounded_and_evicts_the_oldest),
		cmocka_unit_test(the_cache_is_thread_safe),
		cmocka_unit_test(revocations_refuse_in_memory),
		cmocka_unit_test(stale_revocations_fail_closed),
	};
	const struct CMUnitTest remote[] = {
		cmocka_unit_test(remote_keys_become_principals),
		cmocka_unit_test(remote_errors_pass_through),
		cmocka_unit_test(unreachable_auth_service_is_unavailable),
	};
	int failed;

	rpc_runtime_init();
	log_init(LOG_WARN, LOG_FORMAT_JSON, "caller_test");
	failed = cmocka_run_group_tests_name("caller (local)", local, NULL, NULL);
	failed += cmocka_run_group_tests_name("caller (fake auth service)", remote, fake_start,
					      fake_stop);
	rpc_runtime_shutdown();
	return failed;
}
