/* auth_secret.c - the shapes of the secrets the auth service hands out and
 * how they are stored: refresh tokens (base64url of 32 random bytes), API
 * keys ("ak_<public id>_<secret>", base62), and their SHA-256 (the only
 * form that reaches the database). Pure functions: no I/O but randomness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "auth_service.h"
#include "log.h"
#include "util.h"

void auth_sha256_hex(const void *data, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32) {
		/* libcrypto cannot fail SHA-256 short of a broken install: stop. */
		log_fatal("SHA-256 unavailable");
		abort();
	}
	for (unsigned int i = 0; i < len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[2 * len] = '\0';
}

/* RFC 4648 §5 without padding; out >= 4 * ceil(n / 3) + 1 bytes. */
static void base64url(const unsigned char *in, size_t n, char *out)
{
	static const char
		alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i = 0;

	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
}

void auth_refresh_token_new(char *out)
{
	unsigned char raw[AUTH_REFRESH_RAW_BYTES];

	random_bytes(raw, sizeof(raw));
	base64url(raw, sizeof(raw), out);
	memset(raw, 0, sizeof(raw));
}

static bool is_alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_base64url(char c)
{
	return is_alnum(c) || c == '-' || c == '_';
}

bool auth_refresh_token_well_formed(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n] && n <= AUTH_REFRESH_TOKEN_LEN; n++) {
		if (!is_base64url(s[n]))
			return false;
	}
	return n == AUTH_REFRESH_TOKEN_LEN;
}

void auth_random_id(char *out)
{
	random_alnum(out, AUTH_ID_LEN);
}

void auth_key_generate(char *public_id, char *secret, char *key)
{
	random_alnum(public_id, AUTH_KEY_PUBLIC_LEN);
	random_alnum(secret, AUTH_KEY_SECRET_LEN);
	snprintf(key, AUTH_KEY_LEN + 1, "ak_%s_%s", public_id, secret);
}

/* true when s[0..n) are all alphanumerics. */
static bool all_alnum(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!is_alnum(s[i]))
			return false;
	}
	return true;
}

bool auth_key_parse(const char *key, char *public_id, char *secret)
{
	const char *pub, *sec;

	if (!key || strnlen(key, AUTH_KEY_LEN + 1) != AUTH_KEY_LEN || strncmp(key, "ak_", 3) != 0)
		return false;
	pub = key + 3;
	sec = pub + AUTH_KEY_PUBLIC_LEN + 1;
	if (pub[AUTH_KEY_PUBLIC_LEN] != '_' || !all_alnum(pub, AUTH_KEY_PUBLIC_LEN) ||
	    !all_alnum(sec, AUTH_KEY_SECRET_LEN))
		return false;
	memcpy(public_id, pub, AUTH_KEY_PUBLIC_LEN);
	public_id[AUTH_KEY_PUBLIC_LEN] = '\0';
	memcpy(secret, sec, AUTH_KEY_SECRET_LEN);
	secret[AUTH_KEY_SECRET_LEN] = '\0';
	return true;
}
