/* forge.c - forged credentials and secret scans for the auth integration
 * tests; see forge.h. */
#include "forge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "it.h"
#include "perm.h"
#include "stack.h"
#include "util.h"

#define TOKEN_MAX 8192

/* Appends base64url(data) (no padding) to the string out of cap bytes. */
static void b64url_cat(char *out, size_t cap, const void *data, size_t len)
{
	unsigned char *tmp = xmalloc(len * 4 / 3 + 8);
	int n = EVP_EncodeBlock(tmp, data, (int)len);

	while (n > 0 && tmp[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++)
		tmp[i] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : tmp[i];
	snprintf(out + strlen(out), cap - strlen(out), "%.*s", n, (const char *)tmp);
	free(tmp);
}

char *it_forge(const char *header, json_t *claims, const char *key)
{
	char *token = xmalloc(TOKEN_MAX), *payload = json_dumps(claims, JSON_COMPACT);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	json_decref(claims);
	token[0] = '\0';
	b64url_cat(token, TOKEN_MAX, header, strlen(header));
	strlcpy_s(token + strlen(token), ".", TOKEN_MAX - strlen(token));
	b64url_cat(token, TOKEN_MAX, payload, strlen(payload));
	if (key && !HMAC(EVP_sha256(), key, (int)strlen(key), (unsigned char *)token, strlen(token),
			 mac, &maclen))
		maclen = 0;
	strlcpy_s(token + strlen(token), ".", TOKEN_MAX - strlen(token));
	b64url_cat(token, TOKEN_MAX, mac, maclen);
	free(payload);
	return token;
}

json_t *it_claims(int64_t id, const char *email, const char *role)
{
	int64_t now = now_unix_ms() / 1000;
	const char *names[PERM__COUNT];
	perm_set perms = 0;
	json_t *arr = json_array();
	char sub[32], jti[33];
	int n;

	role_permissions(role, &perms);
	n = perm_names(perms, names, PERM__COUNT);
	for (int i = 0; i < n; i++)
		json_array_append_new(arr, json_string(names[i]));
	snprintf(sub, sizeof(sub), "user_%lld", (long long)id);
	random_alnum(jti, 32);
	return json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:s, s:s}", "sub", sub, "email", email,
			 "role", role, "permissions", arr, "iat", (json_int_t)now, "exp",
			 (json_int_t)(now + 3600), "jti", jti, "iss", IT_JWT_ISSUER);
}

json_t *it_claims_with(json_t *c, const char *name, json_t *value)
{
	if (value)
		json_object_set_new(c, name, value);
	else
		json_object_del(c, name);
	return c;
}

/* a's header.payload with b's signature (malloc'd); frees a and b. */
static char *splice(char *a, char *b)
{
	size_t head = (size_t)(strrchr(a, '.') - a), len = head + strlen(strrchr(b, '.')) + 1;
	char *out = xmalloc(len);

	memcpy(out, a, head);
	strlcpy_s(out + head, strrchr(b, '.'), len - head);
	free(a);
	free(b);
	return out;
}

static char *signed_with(json_t *claims)
{
	return it_forge(IT_HS256_HEADER, claims, IT_JWT_SECRET);
}

void it_attacks_make(int64_t id, const char *email, struct it_attack a[IT_ATTACKS])
{
	int64_t now = now_unix_ms() / 1000;
	char *flipped = signed_with(it_claims(id, email, "user"));
	char *bit = strrchr(flipped, '.') + 5; /* inside the signature, not its padding bits */

	*bit = *bit == 'A' ? 'B' : 'A';
	a[0] = (struct it_attack){ "tampered signature", flipped, ERR_UNAUTHORIZED };
	a[1] = (struct it_attack){ "admin payload under a user signature",
				   splice(signed_with(it_claims_with(it_claims(id, email, "user"),
								     "role", json_string("admin"))),
					  signed_with(it_claims(id, email, "user"))),
				   ERR_UNAUTHORIZED };
	a[2] = (struct it_attack){ "alg none",
				   it_forge("{\"alg\":\"none\",\"typ\":\"JWT\"}",
					    it_claims(id, email, "user"), NULL),
				   ERR_UNAUTHORIZED };
	a[3] = (struct it_attack){ "wrong iss",
				   signed_with(it_claims_with(it_claims(id, email, "user"), "iss",
							      json_string("evil-issuer"))),
				   ERR_UNAUTHORIZED };
	a[4] = (struct it_attack){ "missing exp",
				   signed_with(it_claims_with(it_claims(id, email, "user"), "exp",
							      NULL)),
				   ERR_UNAUTHORIZED };
	a[5] = (struct it_attack){
		"expired",
		signed_with(it_claims_with(it_claims_with(it_claims(id, email, "user"), "iat",
							  json_integer(now - 7200)),
					   "exp", json_integer(now - 3600))),
		ERR_TOKEN_EXPIRED
	};
	a[6] = (struct it_attack){ "iat in the future",
				   signed_with(it_claims_with(it_claims(id, email, "user"), "iat",
							      json_integer(now + 3600))),
				   ERR_UNAUTHORIZED };
	a[7] = (struct it_attack){ "another secret",
				   it_forge(IT_HS256_HEADER, it_claims(id, email, "user"),
					    "another-secret-that-is-long-enough-0123"),
				   ERR_UNAUTHORIZED };
}

void it_attacks_free(struct it_attack a[IT_ATTACKS])
{
	for (size_t i = 0; i < IT_ATTACKS; i++) {
		free(a[i].token);
		a[i].token = NULL;
	}
}

json_t *it_jwt_claims(const char *token)
{
	const char *p = strchr(token, '.'), *end = p ? strchr(p + 1, '.') : NULL;
	size_t n = end ? (size_t)(end - p - 1) : 0;
	char *b64 = xmalloc(n + 4);
	unsigned char *raw = xmalloc(n + 4);
	json_t *j = NULL;
	int len;

	for (size_t i = 0; i < n; i++)
		b64[i] = p[1 + i] == '-' ? '+' : p[1 + i] == '_' ? '/' : p[1 + i];
	while (n % 4)
		b64[n++] = '=';
	len = n ? EVP_DecodeBlock(raw, (unsigned char *)b64, (int)n) : -1;
	if (len > 0)
		j = json_loadb((const char *)raw, strnlen((const char *)raw, (size_t)len), 0, NULL);
	free(b64);
	free(raw);
	return j;
}

int64_t it_unix_of(const char *s)
{
	struct tm tm = { 0 };

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

void it_next_second(void)
{
	int64_t ms = 1000 - now_unix_ms() % 1000 + 50;
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The part of a secret that must not leak either: a JWT's signature. */
static const char *signature_of(const char *s)
{
	const char *dot = strrchr(s, '.');

	return dot && strlen(dot) > 20 ? dot : NULL;
}

bool it_log_free_of(const char *path, const char *const *secrets, size_t n)
{
	char *log = read_file_all(path);
	bool ok = log && log[0] != '\0';

	if (!ok)
		fprintf(stderr, "log %s is missing or empty\n", path);
	for (size_t i = 0; log && i < n; i++) {
		const char *sig = signature_of(secrets[i]);

		if (strstr(log, secrets[i]) || (sig && strstr(log, sig))) {
			fprintf(stderr, "%s contains secret #%zu (%.10s...)\n", path, i,
				secrets[i]);
			ok = false;
		}
	}
	if (ok && strstr(log, "$argon2id$")) {
		fprintf(stderr, "%s contains an argon2id hash\n", path);
		ok = false;
	}
	free(log);
	return ok;
}
