/* jwt_hs256.c - JWT verification with HS256 pinned, and token signing.
 *
 * libjwt 1.10 is used for the HMAC only: it takes the algorithm from the token,
 * checks no claim and accepts any signature under an empty key. Everything it
 * does not check is checked here, before and after it runs:
 *   1. shape: at most JWT_MAX_TOKEN_BYTES, three base64url segments;
 *   2. header, decoded here: alg exactly "HS256", typ absent or "JWT", no crit;
 *   3. key: never handed to libjwt unless jwt_key_acceptable();
 *   4. signature: libjwt (Debian's build compares in constant time), then
 *      jwt_get_alg() must still say HS256;
 *   5. claims: read from libjwt's parsed payload, exact JSON types.
 * Expiry is checked last, so TOKEN_EXPIRED (which tells a client to refresh)
 * is only ever said about a token that is otherwise valid.
 * Error messages describe the failure and never contain the token. */
#include "jwt_hs256.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <jwt.h>

#include "util.h"

#define HS256_SIG_B64_LEN 43             /* 32 bytes, base64url without padding */
#define USER_ID_LIMIT (INT64_C(1) << 53) /* ids are JSON numbers: < 2^53 */
#define SUB_PREFIX "user_"
#define SUB_PREFIX_LEN (sizeof(SUB_PREFIX) - 1)

static int reject(struct app_error *err, enum err_code code, const char *msg)
{
	if (err)
		return app_error_set(err, code, "%s", msg);
	return -1;
}

bool jwt_key_acceptable(const char *secret)
{
	size_t len;

	if (!secret)
		return false;
	len = strlen(secret);
	return len >= JWT_MIN_KEY_BYTES && len <= INT_MAX;
}

/* ---- base64url ------------------------------------------------------------ */

/* 0..63 for a base64url character, -1 for anything else ('=' included). */
static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* A non-empty unpadded base64url segment of a length that can be decoded. */
static bool b64url_segment_ok(const char *s, size_t len)
{
	if (len == 0 || len % 4 == 1)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (b64url_value((unsigned char)s[i]) < 0)
			return false;
	}
	return true;
}

/* Strict decoding of a segment that passed b64url_segment_ok: unused low bits
 * of the last character must be zero, so one text has one encoding.
 * Returns a malloc'd buffer (caller frees) of *out_len bytes plus a NUL,
 * or NULL when the encoding is not canonical. */
static unsigned char *b64url_decode(const char *s, size_t len, size_t *out_len)
{
	unsigned char *out = xmalloc(len * 3 / 4 + 1);
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 6) | (uint32_t)b64url_value((unsigned char)s[i]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1u;
		}
	}
	if (acc != 0) {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	*out_len = n;
	return out;
}

/* ---- token shape and header --------------------------------------------- */

/* Splits token into header and payload segment lengths; checks every segment. */
static bool token_shape_ok(const char *token, size_t len, size_t *head_len)
{
	const char *dot1 = memchr(token, '.', len);
	const char *dot2;
	size_t body_len, sig_len;

	if (!dot1)
		return false;
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
	if (!dot2)
		return false;
	*head_len = (size_t)(dot1 - token);
	body_len = (size_t)(dot2 - dot1 - 1);
	sig_len = len - (size_t)(dot2 + 1 - token);
	return b64url_segment_ok(token, *head_len) && b64url_segment_ok(dot1 + 1, body_len) &&
	       sig_len == HS256_SIG_B64_LEN && b64url_segment_ok(dot2 + 1, sig_len);
}

static bool json_string_is(const json_t *v, const char *expected)
{
	return json_is_string(v) && json_string_length(v) == strlen(expected) &&
	       strcmp(json_string_value(v), expected) == 0;
}

/* The JOSE header, decoded here rather than trusted to libjwt's lenient
 * decoder: alg pinned to HS256, typ optional but "JWT", crit refused (no
 * extension is understood), duplicate names refused. */
static int check_header(const char *seg, size_t len, struct app_error *err)
{
	unsigned char *raw;
	size_t raw_len;
	json_t *head;
	const json_t *typ;
	int ret = -1;

	raw = b64url_decode(seg, len, &raw_len);
	if (!raw)
		return reject(err, ERR_UNAUTHORIZED, "Malformed token header");
	head = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (!json_is_object(head)) {
		reject(err, ERR_UNAUTHORIZED, "Malformed token header");
		goto out_decref;
	}
	if (!json_string_is(json_object_get(head, "alg"), "HS256")) {
		reject(err, ERR_UNAUTHORIZED, "Token algorithm must be HS256");
		goto out_decref;
	}
	typ = json_object_get(head, "typ");
	if (typ && !json_string_is(typ, "JWT")) {
		reject(err, ERR_UNAUTHORIZED, "Token type must be JWT");
		goto out_decref;
	}
	if (json_object_get(head, "crit")) {
		reject(err, ERR_UNAUTHORIZED, "Token header has unsupported critical parameters");
		goto out_decref;
	}
	ret = 0;
out_decref:
	json_decref(head);
	return ret;
}

/* Checks the HMAC with libjwt and returns its parsed claims as a new jansson
 * object (caller decrefs), or NULL with err set. The key is acceptable. */
static json_t *verified_claims(const char *secret, const char *token, struct app_error *err)
{
	jwt_t *jwt = NULL;
	char *text;
	json_t *claims;

	if (jwt_decode(&jwt, token, (const unsigned char *)secret, (int)strlen(secret)) != 0 ||
	    !jwt) {
		reject(err, ERR_UNAUTHORIZED, "Invalid token signature");
		return NULL;
	}
	/* libjwt could have read another alg than our decoder, or returned an
	 * unverified object on an allocation failure: re-check what it used. */
	if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
		jwt_free(jwt);
		reject(err, ERR_UNAUTHORIZED, "Token algorithm must be HS256");
		return NULL;
	}
	text = jwt_get_grants_json(jwt, NULL);
	jwt_free(jwt);
	if (!text) {
		reject(err, ERR_UNAUTHORIZED, "Malformed token claims");
		return NULL;
	}
	claims = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	if (!json_is_object(claims)) {
		json_decref(claims);
		reject(err, ERR_UNAUTHORIZED, "Malformed token claims");
		return NULL;
	}
	return claims;
}

/* ---- claims ----------------------------------------------------------------- */

/* A string claim with no embedded NUL and fewer than max bytes (max >= 1). */
static const char *string_claim(const json_t *claims, const char *name, size_t max)
{
	const json_t *v = json_object_get(claims, name);
	const char *s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	if (json_string_length(v) >= max || strlen(s) != json_string_length(v))
		return NULL;
	return s;
}

/* "user_<id>": id decimal, no sign, no leading zero, 0 < id < 2^53. */
static bool parse_sub(const char *sub, int64_t *id)
{
	const char *d;
	size_t n;
	int64_t v = 0;

	if (strncmp(sub, SUB_PREFIX, SUB_PREFIX_LEN) != 0)
		return false;
	d = sub + SUB_PREFIX_LEN;
	n = strlen(d);
	if (n == 0 || n > 16 || d[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (d[i] < '0' || d[i] > '9')
			return false;
		v = v * 10 + (d[i] - '0');
	}
	if (v >= USER_ID_LIMIT)
		return false;
	*id = v;
	return true;
}

/* "permissions": an array of strings; names this build does not know are
 * ignored (a newer issuer may grant more), anything else is refused. */
static bool parse_permissions(const json_t *claims, perm_set *out)
{
	const json_t *arr = json_object_get(claims, "permissions");
	const json_t *v;
	size_t i;

	if (!json_is_array(arr))
		return false;
	*out = 0;
	json_array_foreach (arr, i, v) {
		enum perm p;

		if (!json_is_string(v))
			return false;
		if (perm_parse(json_string_value(v), &p))
			*out |= PERM_BIT(p);
	}
	return true;
}

/* iss, jti, sub, role, permissions, email into p. */
static int check_identity(const struct jwt_config *cfg, const json_t *claims, struct principal *p,
			  struct app_error *err)
{
	const char *s;

	if (!json_string_is(json_object_get(claims, "iss"), cfg->issuer))
		return reject(err, ERR_UNAUTHORIZED, "Token issuer is not accepted");
	s = string_claim(claims, "jti", sizeof(p->jti));
	if (!s || !*s)
		return reject(err, ERR_UNAUTHORIZED, "Token has no valid 'jti' claim");
	strlcpy_s(p->jti, s, sizeof(p->jti));
	s = string_claim(claims, "sub", 64);
	if (!s || !parse_sub(s, &p->user_id))
		return reject(err, ERR_UNAUTHORIZED, "Token subject must be 'user_<id>'");
	s = string_claim(claims, "role", sizeof(p->role));
	if (!s || !role_valid(s))
		return reject(err, ERR_UNAUTHORIZED, "Token role is not a known role");
	strlcpy_s(p->role, s, sizeof(p->role));
	if (!parse_permissions(claims, &p->perms))
		return reject(err, ERR_UNAUTHORIZED,
			      "Token permissions must be an array of strings");
	s = string_claim(claims, "email", sizeof(p->email));
	if (!s)
		return reject(err, ERR_UNAUTHORIZED, "Token has no valid 'email' claim");
	strlcpy_s(p->email, s, sizeof(p->email));
	return 0;
}

static int64_t add_saturated(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* iat_ms, when present: an integer within iat's second. Sets p->iat_ms
 * (iat * 1000 without the claim). p->iat is checked already. */
static int check_iat_ms(const json_t *claims, struct principal *p, struct app_error *err)
{
	const json_t *ms = json_object_get(claims, "iat_ms");
	int64_t v;

	if (!ms) {
		bool fits = p->iat < INT64_MAX / 1000 && p->iat > INT64_MIN / 1000;

		p->iat_ms = fits ? p->iat * 1000 : 0;
		return 0;
	}
	if (!json_is_integer(ms))
		return reject(err, ERR_UNAUTHORIZED, "Token 'iat_ms' claim must be an integer");
	v = json_integer_value(ms);
	if (p->iat >= INT64_MAX / 1000 || p->iat <= INT64_MIN / 1000 || v < p->iat * 1000 ||
	    v > p->iat * 1000 + 999)
		return reject(err, ERR_UNAUTHORIZED, "Token 'iat_ms' claim does not match 'iat'");
	p->iat_ms = v;
	return 0;
}

/* exp and iat: both present JSON integers (a real or a string is refused);
 * iat not after now + leeway. Expiry itself is check_expiry's. */
static int check_times(const json_t *claims, int64_t now_s, int64_t leeway, struct principal *p,
		       struct app_error *err)
{
	const json_t *exp = json_object_get(claims, "exp");
	const json_t *iat = json_object_get(claims, "iat");

	if (!json_is_integer(exp))
		return reject(err, ERR_UNAUTHORIZED, "Token 'exp' claim must be an integer");
	if (!json_is_integer(iat))
		return reject(err, ERR_UNAUTHORIZED, "Token 'iat' claim must be an integer");
	p->exp = json_integer_value(exp);
	p->iat = json_integer_value(iat);
	if (p->iat > add_saturated(now_s, leeway))
		return reject(err, ERR_UNAUTHORIZED, "Token was issued in the future");
	return check_iat_ms(claims, p, err);
}

int jwt_verify(const struct jwt_config *cfg, const char *token, int64_t now_s,
	       struct principal *out, struct app_error *err)
{
	struct principal p = { .method = AUTH_JWT };
	int64_t leeway;
	size_t len, head_len;
	json_t *claims;
	int ret;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!cfg || !out || !token)
		return reject(err, ERR_UNAUTHORIZED, "Authentication required");
	if (!jwt_key_acceptable(cfg->secret) || !cfg->issuer || !*cfg->issuer)
		return reject(err, ERR_UNAUTHORIZED, "Token verification is not configured");
	len = strnlen(token, JWT_MAX_TOKEN_BYTES + 1);
	if (len > JWT_MAX_TOKEN_BYTES)
		return reject(err, ERR_UNAUTHORIZED, "Token is too long");
	if (!token_shape_ok(token, len, &head_len))
		return reject(err, ERR_UNAUTHORIZED, "Malformed token");
	if (check_header(token, head_len, err) != 0)
		return -1;
	claims = verified_claims(cfg->secret, token, err);
	if (!claims)
		return -1;
	leeway = cfg->leeway_s > 0 ? cfg->leeway_s : 0;
	ret = check_times(claims, now_s, leeway, &p, err);
	if (ret == 0)
		ret = check_identity(cfg, claims, &p, err);
	json_decref(claims);
	if (ret != 0)
		return -1;
	if (add_saturated(p.exp, leeway) <= now_s)
		return reject(err, ERR_TOKEN_EXPIRED, "Token has expired");
	*out = p;
	return 0;
}

/* ---- signing ---------------------------------------------------------------- */

static int set_claim(json_t *obj, const char *name, json_t *value)
{
	if (!value)
		return -1;
	return json_object_set_new(obj, name, value);
}

/* What jwt_sign refuses to put in a token. */
static bool claims_signable(const struct jwt_config *cfg, const struct principal *p,
			    const char *jti)
{
	return p->user_id > 0 && p->user_id < USER_ID_LIMIT && role_valid(p->role) &&
	       strnlen(p->email, sizeof(p->email)) < sizeof(p->email) && jti && *jti &&
	       strlen(jti) < sizeof(p->jti) && cfg->issuer && *cfg->issuer;
}

/* The permission names as a JSON array, or NULL. */
static json_t *perm_array(const struct principal *p)
{
	const char *names[PERM__COUNT];
	json_t *perms = json_array();
	int n = perm_names(p->perms, names, PERM__COUNT);

	for (int i = 0; perms && i < n; i++) {
		if (json_array_append_new(perms, json_string(names[i])) != 0) {
			json_decref(perms);
			return NULL;
		}
	}
	return perms;
}

/* The claims object for p, or NULL when p could not pass jwt_verify (so the
 * signer never issues a token its own verifier refuses). Caller decrefs. */
static json_t *build_claims(const struct jwt_config *cfg, const struct principal *p, int64_t iat,
			    int64_t exp, const char *jti)
{
	char sub[SUB_PREFIX_LEN + 24];
	json_t *claims;

	if (!claims_signable(cfg, p, jti))
		return NULL;
	snprintf(sub, sizeof(sub), SUB_PREFIX "%lld", (long long)p->user_id);
	claims = json_object();
	if (!claims || set_claim(claims, "permissions", perm_array(p)) != 0 ||
	    set_claim(claims, "sub", json_string(sub)) != 0 ||
	    set_claim(claims, "email", json_string(p->email)) != 0 ||
	    set_claim(claims, "role", json_string(p->role)) != 0 ||
	    set_claim(claims, "iat", json_integer(iat)) != 0 ||
	    set_claim(claims, "exp", json_integer(exp)) != 0 ||
	    set_claim(claims, "jti", json_string(jti)) != 0 ||
	    set_claim(claims, "iss", json_string(cfg->issuer)) != 0 ||
	    (p->iat_ms / 1000 == iat && p->iat_ms > 0 &&
	     set_claim(claims, "iat_ms", json_integer(p->iat_ms)) != 0)) {
		json_decref(claims);
		return NULL;
	}
	return claims;
}

/* libjwt writes the header {"alg":"HS256","typ":"JWT"} itself. */
char *jwt_sign(const struct jwt_config *cfg, const struct principal *p, int64_t iat, int64_t exp,
	       const char *jti)
{
	json_t *claims;
	char *json, *token = NULL;
	jwt_t *jwt = NULL;

	if (!cfg || !p || !jwt_key_acceptable(cfg->secret))
		return NULL;
	claims = build_claims(cfg, p, iat, exp, jti);
	if (!claims)
		return NULL;
	json = json_dumps(claims, JSON_COMPACT);
	json_decref(claims);
	if (!json)
		return NULL;
	if (jwt_new(&jwt) != 0)
		goto out_free_json;
	if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)cfg->secret,
			(int)strlen(cfg->secret)) != 0)
		goto out_free_jwt;
	if (jwt_add_grants_json(jwt, json) != 0)
		goto out_free_jwt;
	token = jwt_encode_str(jwt);
out_free_jwt:
	jwt_free(jwt);
out_free_json:
	free(json);
	return token;
}
