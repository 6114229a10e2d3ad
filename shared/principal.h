/* principal.h - who is calling, as every layer sees it once credentials are
 * resolved (caller.h): made by jwt_verify (jwt_hs256.h) from an access token
 * or by an API-key validation. Types only. */
#ifndef SHARED_PRINCIPAL_H
#define SHARED_PRINCIPAL_H

#include <stdint.h>

#include "perm.h"

enum auth_method { AUTH_NONE, AUTH_JWT, AUTH_API_KEY };

struct principal {
	enum auth_method method; /* AUTH_NONE = anonymous; the rest is zero */
	int64_t user_id;
	char email[256];
	char role[16];
	perm_set perms;
	char jti[128];
	int64_t iat;
	int64_t iat_ms; /* the iat_ms claim; iat * 1000 when the token has none */
	int64_t exp;
};

#endif
