/* forge.h - what the auth integration tests need to attack and inspect
 * credentials: JWTs built byte by byte (JSON, base64url, HMAC-SHA256 from
 * libcrypto, independent of libjwt) so that each attack is exactly the one
 * named, the claims of a token, RFC 3339 times, and a scan of log files for
 * secrets. */
#ifndef TESTS_IT_FORGE_H
#define TESTS_IT_FORGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

#define IT_HS256_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

/* base64url(header).base64url(claims).signature, the signature being
 * HMAC-SHA256 under key, or empty when key is NULL. Consumes claims; returns
 * a malloc'd token. */
char *it_forge(const char *header, json_t *claims, const char *key);

/* The claims the auth service issues to user id with role (its permissions
 * from the role table): sub, email, role, permissions, iat now, exp in an
 * hour, a random jti, iss IT_JWT_ISSUER. New reference. */
json_t *it_claims(int64_t id, const char *email, const char *role);
/* Sets claim name to value (consumed), or deletes it when value is NULL;
 * returns c. */
json_t *it_claims_with(json_t *c, const char *name, json_t *value);

/* One attack of API.md §1 and the code it must be refused with. */
struct it_attack {
	const char *name;
	char *token; /* malloc'd */
	enum err_code code;
};

#define IT_ATTACKS 8

/* Fills a with every forged or altered token of API.md §1 for a user: a
 * flipped signature bit, an admin payload under a user signature, alg none,
 * a wrong iss, no exp, expired (TOKEN_EXPIRED), iat in the future, another
 * secret. Everything else about each token is valid. */
void it_attacks_make(int64_t id, const char *email, struct it_attack a[IT_ATTACKS]);
void it_attacks_free(struct it_attack a[IT_ATTACKS]);

/* The claims of a token, decoded from its payload (new reference; NULL when
 * it is not a JWT). */
json_t *it_jwt_claims(const char *token);

/* Unix seconds of an RFC 3339 UTC time, -1 when s is not one. */
int64_t it_unix_of(const char *s);

/* Sleeps into the next wall-clock second (so that what follows shares one second). */
void it_next_second(void);

/* true when none of the n secrets (nor, for a JWT, its signature) and no
 * argon2id hash occurs in the file at path; prints each one found. false too
 * when the file cannot be read or is empty. */
bool it_log_free_of(const char *path, const char *const *secrets, size_t n);

#endif
