/* it.c - integration test helpers; see it.h. */
#include "it.h"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt_hs256.h"
#include "util.h"

char *it_token_ex(int64_t user_id, const char *email, const char *role, int64_t iat_off,
		  int64_t exp_off, const char *secret)
{
	struct jwt_config cfg = { .secret = secret, .issuer = IT_JWT_ISSUER, .leeway_s = 30 };
	struct principal p = { .method = AUTH_JWT, .user_id = user_id };
	int64_t now_ms = now_unix_ms() + iat_off * 1000, now = now_ms / 1000 - iat_off;
	char jti[33];

	strlcpy_s(p.email, email, sizeof(p.email));
	strlcpy_s(p.role, role, sizeof(p.role));
	role_permissions(role, &p.perms);
	random_alnum(jti, 32);
	p.iat_ms = now_ms; /* as the auth service issues them */
	return jwt_sign(&cfg, &p, now + iat_off, now + exp_off, jti);
}

char *it_token(int64_t user_id, const char *email, const char *role)
{
	return it_token_ex(user_id, email, role, 0, 3600, IT_JWT_SECRET);
}

struct it_result it_call(struct rpc_channel *ch, const char *method, const ProtobufCMessage *req,
			 const ProtobufCMessageDescriptor *reply_desc, const char *token,
			 const char *api_key)
{
	struct it_result r = { 0 };
	char auth[JWT_MAX_TOKEN_BYTES + 16];
	struct rpc_metadata md[3] = {
		{ "authorization", NULL },
		{ "x-api-key", api_key },
		{ "x-request-id", "it-req-1" },
	};

	if (token) {
		snprintf(auth, sizeof(auth), "Bearer %s", token);
		md[0].value = auth;
	}
	app_error_init(&r.err);
	if (rpc_call_unary(ch, method, req, reply_desc, md, 3, 5000, &r.reply, &r.err, &r.status) !=
	    0)
		r.reply = NULL;
	return r;
}

void it_result_release(struct it_result *r)
{
	if (r->reply)
		protobuf_c_message_free_unpacked(r->reply, NULL);
	r->reply = NULL;
}

bool it_has_violation(const struct it_result *r, const char *field)
{
	for (size_t i = 0; i < r->err.nviolations; i++) {
		if (strcmp(r->err.violations[i].field, field) == 0)
			return true;
	}
	return false;
}

char *it_sql(const char *database_url, const char *sql)
{
	PGconn *c = PQconnectdb(database_url);
	PGresult *res;
	char *out;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "it_sql: connect: %s", PQerrorMessage(c));
		PQfinish(c);
		return xstrdup("<no connection>");
	}
	res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "it_sql: %s: %s", sql, PQerrorMessage(c));
		out = xstrdup("<error>");
	} else if (PQntuples(res) == 0) {
		out = xstrdup("");
	} else {
		out = xstrdup(PQgetisnull(res, 0, 0) ? "NULL" : PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	PQfinish(c);
	return out;
}

int64_t it_sql_int(const char *database_url, const char *sql)
{
	char *s = it_sql(database_url, sql);
	int64_t v = -1;

	if (!parse_int64(s, &v))
		v = -1;
	free(s);
	return v;
}

char *it_stored(const char *database_url, const char *table, int64_t id, const char *expr)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE id = %lld", expr, table, (long long)id);
	return it_sql(database_url, sql);
}

bool it_stored_is(const char *database_url, const char *table, int64_t id, const char *expr,
		  const char *want)
{
	char *got = it_stored(database_url, table, id, expr);
	bool same = strcmp(got, want) == 0;

	if (!same)
		fprintf(stderr, "%s %lld: %s is \"%s\", expected \"%s\"\n", table, (long long)id,
			expr, got, want);
	free(got);
	return same;
}

bool it_sql_exec(const char *database_url, const char *sql)
{
	PGconn *c = PQconnectdb(database_url);
	PGresult *res = PQexec(c, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "it_sql_exec: %s: %s", sql, PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
	return ok;
}

/* A connection to the stack's Redis ("redis://127.0.0.1:N"). */
static redisContext *redis_connect(const char *redis_url)
{
	const char *hostport = strstr(redis_url, "://");
	char host[64];
	int port = 6379;

	hostport = hostport ? hostport + 3 : redis_url;
	if (sscanf(hostport, "%63[^:]:%d", host, &port) < 1)
		return NULL;
	return redisConnect(host, port);
}

void it_redis_reset_stats(const char *redis_url)
{
	redisContext *c = redis_connect(redis_url);
	redisReply *r = c ? redisCommand(c, "CONFIG RESETSTAT") : NULL;

	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
}

void it_redis_flushall(const char *redis_url)
{
	redisContext *c = redis_connect(redis_url);
	redisReply *r = c ? redisCommand(c, "FLUSHALL") : NULL;

	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
}

int64_t it_redis_command_calls(const char *redis_url, const char *command)
{
	redisContext *c = redis_connect(redis_url);
	redisReply *r = c ? redisCommand(c, "INFO commandstats") : NULL;
	char needle[64];
	int64_t calls = 0;
	const char *at;

	snprintf(needle, sizeof(needle), "cmdstat_%s:calls=", command);
	if (r && r->type == REDIS_REPLY_STRING && (at = strstr(r->str, needle)) != NULL)
		calls = strtoll(at + strlen(needle), NULL, 10);
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	return calls;
}
