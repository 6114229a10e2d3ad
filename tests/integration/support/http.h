/* http.h - what integration tests need to talk to the REST gateway as a client
 * would: one HTTP request at a time (libcurl, or a raw socket for requests
 * curl will not send), exact-shape checks of API.md §1's envelopes, and a
 * gateway stack (PostgreSQL, Redis, users service, gateway) to run them on.
 *
 * Include it as "support/http.h": gateway/http.h (the server) is also on the
 * test include path. */
#ifndef TESTS_IT_HTTP_H
#define TESTS_IT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "it.h"
#include "stack.h"

/* ---- one request ------------------------------------------------------------ */

struct it_http_header {
	char *name;
	char *value;
};

/* One response. Owns everything it points to; it_http_release() frees it. */
struct it_http_result {
	long status; /* 0 when no HTTP response was received (see error) */
	char *body;  /* the body bytes plus a NUL; "" when empty */
	size_t body_len;
	json_t *json; /* the body parsed (duplicate keys refused), NULL if not JSON */
	struct it_http_header *headers; /* the final response's headers, in order */
	size_t nheaders;
	int64_t elapsed_ms; /* from sending to the end of the response */
	char error[256];    /* transport error text when status is 0 */
};

/* Sends method url with headers ("Name: value", NULL-terminated, may be NULL)
 * and body (NULL: none; "" sends an empty body with Content-Length: 0). When
 * a body is sent and headers name no Content-Type, none is sent (curl's form
 * default is suppressed); "Expect: 100-continue" is never sent. 10 s limit. */
struct it_http_result it_http(const char *method, const char *url, const char *const *headers,
			      const char *body);
/* Writes request (len bytes, sent as is) to 127.0.0.1:port and reads the
 * response until the server closes the connection (send "Connection: close")
 * or 10 s pass; a chunked body is decoded. */
struct it_http_result it_http_raw(int port, const char *request, size_t len);
/* A response header's value (name case-insensitive; the first one), or NULL. */
const char *it_http_header(const struct it_http_result *r, const char *name);
/* Frees r's contents; r may be released twice. */
void it_http_release(struct it_http_result *r);
/* Prints r (status, headers, body) to stderr with a label: failure context. */
void it_http_dump(const struct it_http_result *r, const char *label);

/* ---- exact shapes (each prints what differs and returns false) ---------------- */

/* obj is a JSON object whose keys are exactly keys (NULL-terminated). */
bool it_json_keys_are(const json_t *obj, const char *const *keys);
/* s is RFC 3339 UTC: YYYY-MM-DDTHH:MM:SS[.fraction]Z. */
bool it_rfc3339_utc(const char *s);
/* s is a generated request id: "req_" + at least 16 of [A-Za-z0-9]. */
bool it_generated_request_id(const char *s);
/* meta is exactly {timestamp, version, requestId}, version "v1", timestamp
 * RFC 3339 UTC, requestId equal to the X-Request-Id header of r. */
bool it_meta_ok(const struct it_http_result *r, const json_t *meta);
/* A success envelope: status, JSON Content-Type, exactly {success: true,
 * data: <object>, meta}. */
bool it_http_is_success(const struct it_http_result *r, long status);
/* A list envelope: 200, exactly {success: true, data: [...], pagination, meta},
 * pagination exactly {page, limit, total, totalPages, hasNext, hasPrev}. */
bool it_http_is_list(const struct it_http_result *r);
/* An error envelope: status, JSON Content-Type, exactly {success: false,
 * error, meta}, error.code == code, error.message a non-empty string.
 * fields NULL: error has no "details". Otherwise error is exactly {code,
 * message, details} and details lists exactly these fields (one entry each,
 * any order), each entry exactly {field, message} with a non-empty message.
 * IT_ANY_DETAILS: details may be absent or anything well-formed. */
bool it_http_is_error(const struct it_http_result *r, long status, const char *code,
		      const char *const *fields);
extern const char *const IT_ANY_DETAILS[];
/* A user object exactly as API.md §2: {id, email, name, role, isActive,
 * isVerified, version, createdAt, updatedAt} with their JSON types. */
bool it_json_is_user(const json_t *user);

/* ---- a gateway stack -------------------------------------------------------------- */

#define IT_GW_ADMIN_EMAIL "root@example.com"
#define IT_GW_ADMIN_PASSWORD "admin-password-1"
#define IT_GW_DEADLINE_MS 1500
#define IT_GW_MAX_BODY 4096

struct it_gateway {
	struct stack *stack;
	struct proc *users, *auth, *posts, *gateway;
	const char *db; /* the stack's database URL (owned by stack) */
	int users_port, auth_port, posts_port;
	int port;          /* the gateway's API_PORT */
	char base[96];     /* "http://127.0.0.1:<port>/api/v1" */
	int64_t admin_id;  /* the bootstrapped admin */
	char *admin_token; /* malloc'd, an hour long */
	char users_target[64], auth_target[64], posts_target[64]; /* "127.0.0.1:<port>" */
};

/* Starts a stack called name: the auth service (API_KEY_ROTATION_GRACE_SECONDS
 * =2), the users service (admin bootstrapped; its VerifyCredentials limit out
 * of reach), the posts service, each SERVING, and the gateway (API_HOST
 * 127.0.0.1, GRPC_DEADLINE_MS IT_GW_DEADLINE_MS, MAX_BODY_BYTES
 * IT_GW_MAX_BODY, a rate limit no test reaches; extra_env entries win), and
 * waits until the gateway answers. false (after printing why and where the
 * logs are) when something did not start. */
bool it_gateway_start(struct it_gateway *g, const char *name, const char *const *extra_env);
/* Starts one more gateway process called name on port (stack_free_port())
 * with the environment it_gateway_start gave g's gateway plus extra_env
 * (later entries win); waits until it answers. NULL (after printing why) when
 * it does not. Stop it with proc_stop (the stack stops it otherwise). */
struct proc *it_gateway_spawn_extra(struct it_gateway *g, const char *name, int port,
				    const char *const *extra_env);
/* Starts the users service again on the same port (after proc_stop) and waits
 * until it is SERVING; false when it is not within 20 s. */
bool it_gateway_users_start(struct it_gateway *g);
/* Starts a posts service called name on 127.0.0.1:port with the users and
 * auth services of g as its peers; does not wait for it to be SERVING. */
struct proc *it_gateway_posts_spawn(struct it_gateway *g, const char *name, int port);
/* Resumes any service a test left stopped (SIGSTOP), then stops the gateway,
 * posts, users and auth with SIGTERM and the stack, and frees g's contents.
 * 0 when each of them exited 0 (a process the test stopped itself counts
 * with the status it had), each other status named on stderr. */
int it_gateway_stop(struct it_gateway *g);
/* A request to the gateway: "<base><path>", with `Authorization: Bearer
 * <token>` when token is not NULL, `Content-Type: application/json` when body
 * is not NULL and headers name no Content-Type, then headers (NULL-terminated,
 * may be NULL; to send your own Authorization, pass token NULL). */
struct it_http_result it_gateway_call(const struct it_gateway *g, const char *method,
				      const char *path, const char *token,
				      const char *const *headers, const char *body);

/* Polls GET <gateway root><path> ("/health", "/api/v1/posts"), as token when
 * it is set, every 100 ms until it answers 200: true when it did within
 * timeout_ms. */
bool it_gateway_await_200(const struct it_gateway *g, const char *path, const char *token,
			  int timeout_ms);

/* The envelope's "data" of a parsed response (borrowed). */
json_t *it_data(const struct it_http_result *r);
/* obj[key] as an integer / a string, asserting (cmocka) it has that type. */
int64_t it_json_int(const json_t *obj, const char *key);
const char *it_json_str(const json_t *obj, const char *key);
/* Asserts r is exactly that error envelope (it_http_is_error), then releases it. */
void it_expect_error(struct it_http_result r, long status, const char *code,
		     const char *const *fields);
/* Asserts r has that status (a 204 no body), dumping it when not, then
 * releases it. */
void it_expect_status(struct it_http_result r, long status);
/* Signs up through the gateway with password "password123" (asserting 201)
 * and returns the new user's id. */
int64_t it_gateway_sign_up(const struct it_gateway *g, const char *email, const char *name);

#endif
