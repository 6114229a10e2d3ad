/* it.h - helpers shared by integration tests: tokens as the auth service
 * will issue them, gRPC calls with credentials, and direct database reads to
 * assert what was (not) written. */
#ifndef TESTS_IT_H
#define TESTS_IT_H

#include <stdbool.h>
#include <stdint.h>

#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>

#include "err.h"
#include "rpc.h"

/* The secret every integration test configures its services with. */
#define IT_JWT_SECRET "integration-test-secret-0123456789abcdef"
#define IT_JWT_ISSUER "agentos-auth"

/* Inline NULL-terminated string lists for the assertions' field, header and
 * method arguments: FIELDS("email", "name"); NO_DETAILS: no field list. */
#define FIELDS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define HEADERS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NO_DETAILS NULL
/* Full gRPC method names: USERS("GetUser"). */
#define USERS(m) "/agentos.users.v1.UsersService/" m
#define POSTS(m) "/agentos.posts.v1.PostsService/" m
#define AUTH(m) "/agentos.auth.v1.AuthService/" m

/* An access token for user_id with the role's permissions, valid for an
 * hour (malloc'd; caller frees). */
char *it_token(int64_t user_id, const char *email, const char *role);
/* Same, with explicit iat/exp offsets from now (seconds) and secret. */
char *it_token_ex(int64_t user_id, const char *email, const char *role, int64_t iat_off,
		  int64_t exp_off, const char *secret);

/* The result of one call: the reply (NULL on error), the error and status. */
struct it_result {
	ProtobufCMessage *reply;
	struct app_error err;
	grpc_status_code status;
};

/* One unary call with `authorization: Bearer <token>` when token is not NULL
 * and x-api-key when api_key is not NULL, 5 s deadline. */
struct it_result it_call(struct rpc_channel *ch, const char *method, const ProtobufCMessage *req,
			 const ProtobufCMessageDescriptor *reply_desc, const char *token,
			 const char *api_key);
void it_result_release(struct it_result *r);

/* true when r carries violation `field`. */
bool it_has_violation(const struct it_result *r, const char *field);

/* Runs SQL on the stack's database and returns the first column of the first
 * row as a malloc'd string ("" for no row, "NULL" for SQL NULL). */
char *it_sql(const char *database_url, const char *sql);
/* it_sql parsed as an integer (-1 for no row). */
int64_t it_sql_int(const char *database_url, const char *sql);

/* SELECT <expr> FROM <table> WHERE id = <id>, as it_sql returns it. */
char *it_stored(const char *database_url, const char *table, int64_t id, const char *expr);
/* true when it_stored(...) is want; else false, naming what was found. */
bool it_stored_is(const char *database_url, const char *table, int64_t id, const char *expr,
		  const char *want);

/* Runs a statement that returns no rows; true on success. */
bool it_sql_exec(const char *database_url, const char *sql);

/* Redis server statistics (INFO commandstats): resets them, and reads how
 * many times a command (lower-case, e.g. "mget") ran since. */
void it_redis_reset_stats(const char *redis_url);
/* FLUSHALL: every key of every database gone. */
void it_redis_flushall(const char *redis_url);
int64_t it_redis_command_calls(const char *redis_url, const char *command);

#endif
