/* posts_rules.c - who may see and do what to posts and comments (API.md §1
 * "Authentication and authorization", §2 "Posts and comments", §6), and the
 * field rules. Pure functions: no I/O, unit-tested. */
#include "posts_rules.h"

#include <locale.h>
#include <pthread.h>
#include <string.h>
#include <wctype.h>

#include "perm.h"
#include "posts_service.h"

static bool authenticated(const struct principal *c)
{
	return c->method != AUTH_NONE && c->user_id > 0;
}

static bool is_author(const struct principal *c, int64_t author_id)
{
	return authenticated(c) && c->user_id == author_id;
}

bool posts_visible(const struct principal *caller, int64_t author_id, const char *status)
{
	if (strcmp(status, POST_STATUS_PUBLISHED) == 0)
		return true;
	return is_author(caller, author_id) || perm_has(caller->perms, PERM_UPDATE_POSTS);
}

bool posts_may_see_drafts(const struct principal *caller, int64_t author_id)
{
	if (perm_has(caller->perms, PERM_UPDATE_POSTS))
		return true;
	return author_id > 0 && is_author(caller, author_id);
}

enum posts_list_scope posts_list_scope(const struct principal *caller, int64_t author_id,
				       const char *status)
{
	if (posts_may_see_drafts(caller, author_id))
		return POSTS_SCOPE_ALL;
	if (status && strcmp(status, POST_STATUS_DRAFT) == 0)
		return POSTS_SCOPE_NOTHING;
	return POSTS_SCOPE_PUBLISHED;
}

/* 401 for anonymous callers, else 403 unless one of the two is held. */
static int require_any(const struct principal *c, enum perm p1, enum perm p2, struct app_error *err)
{
	if (!authenticated(c))
		return app_error_set(err, ERR_UNAUTHORIZED, NULL);
	if (perm_has(c->perms, p1) || perm_has(c->perms, p2))
		return 0;
	return app_error_set(err, ERR_FORBIDDEN, NULL);
}

int posts_may_create_post(const struct principal *caller, struct app_error *err)
{
	return require_any(caller, PERM_WRITE_POSTS, PERM_WRITE_POSTS, err);
}

int posts_check_can_write_post(const struct principal *caller, struct app_error *err)
{
	return require_any(caller, PERM_WRITE_POSTS, PERM_UPDATE_POSTS, err);
}

int posts_check_can_delete_post(const struct principal *caller, struct app_error *err)
{
	return require_any(caller, PERM_WRITE_POSTS, PERM_DELETE_POSTS, err);
}

int posts_check_can_write_comment(const struct principal *caller, struct app_error *err)
{
	return require_any(caller, PERM_WRITE_COMMENTS, PERM_WRITE_COMMENTS, err);
}

int posts_check_can_delete_comment(const struct principal *caller, struct app_error *err)
{
	return require_any(caller, PERM_WRITE_COMMENTS, PERM_DELETE_COMMENTS, err);
}

/* The author with own_perm, or any holder of other_perm. */
static int owner_or(const struct principal *c, int64_t author_id, enum perm own_perm,
		    enum perm other_perm, struct app_error *err)
{
	if (perm_has(c->perms, other_perm))
		return 0;
	if (is_author(c, author_id) && perm_has(c->perms, own_perm))
		return 0;
	return app_error_set(err, ERR_FORBIDDEN, NULL);
}

int posts_may_update_post(const struct principal *caller, int64_t author_id, struct app_error *err)
{
	return owner_or(caller, author_id, PERM_WRITE_POSTS, PERM_UPDATE_POSTS, err);
}

int posts_may_delete_post(const struct principal *caller, int64_t author_id, struct app_error *err)
{
	return owner_or(caller, author_id, PERM_WRITE_POSTS, PERM_DELETE_POSTS, err);
}

int posts_may_update_comment(const struct principal *caller, int64_t author_id,
			     struct app_error *err)
{
	/* Moderators may not edit others' comments; admins (holding "*") may. */
	if (perm_is_admin(caller->perms))
		return 0;
	if (is_author(caller, author_id) && perm_has(caller->perms, PERM_WRITE_COMMENTS))
		return 0;
	return app_error_set(err, ERR_FORBIDDEN, NULL);
}

int posts_may_delete_comment(const struct principal *caller, int64_t author_id,
			     struct app_error *err)
{
	return owner_or(caller, author_id, PERM_WRITE_COMMENTS, PERM_DELETE_COMMENTS, err);
}

enum posts_published_change posts_published_change(const char *old_status, const char *new_status)
{
	bool was = strcmp(old_status, POST_STATUS_PUBLISHED) == 0;
	bool is = strcmp(new_status, POST_STATUS_PUBLISHED) == 0;

	if (is && !was)
		return POSTS_PUBLISHED_SET;
	if (was && !is)
		return POSTS_PUBLISHED_CLEAR;
	return POSTS_PUBLISHED_KEEP;
}

static locale_t utf8_locale;
static pthread_once_t utf8_locale_once = PTHREAD_ONCE_INIT;

static void utf8_locale_load(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* The code point at s (n bytes left) in *cp; its length, or 1 with *cp = 0
 * for a byte that starts no valid sequence. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 1;
	uint32_t v = len == 1 ? s[0] : s[0] & (0x3fu >> (len - 1));

	*cp = 0;
	if (s[0] >= 0x80 && (len == 1 || len > n || s[0] > 0xf4))
		return 1;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 1;
		v = (v << 6) | (s[i] & 0x3fu);
	}
	*cp = v;
	return len;
}

/* A letter or digit as pg_trgm counts them (a word character). Without a
 * UTF-8 locale every non-ASCII code point counts, as most are letters. */
static bool word_char(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
	pthread_once(&utf8_locale_once, utf8_locale_load);
	if (!utf8_locale)
		return true;
	return iswalnum_l((wint_t)cp, utf8_locale) != 0;
}

bool posts_search_indexable(const char *q)
{
	const unsigned char *s = (const unsigned char *)q;
	size_t n = strlen(q), run = 0;

	while (n > 0) {
		uint32_t cp;
		size_t len = utf8_next(s, n, &cp);

		run = cp && word_char(cp) ? run + 1 : 0;
		if (run >= POSTS_SEARCH_MIN_CHARS)
			return true;
		s += len;
		n -= len;
	}
	return false;
}

bool posts_check_title(struct arena *a, const char *in, const char **out, struct app_error *err)
{
	return text_check(a, "title", "Title", in, POST_TITLE_MAX_CHARS, true, out, err);
}

bool posts_check_body(const char *field, const char *in, size_t max_chars, struct app_error *err)
{
	return text_check(NULL, field, "Body", in, max_chars, false, NULL, err);
}

bool posts_check_status(const char *in, bool allow_empty, const char **out, struct app_error *err)
{
	if (allow_empty && (!in || !*in)) {
		*out = POST_STATUS_DRAFT;
		return true;
	}
	if (in && strcmp(in, POST_STATUS_DRAFT) == 0) {
		*out = POST_STATUS_DRAFT;
		return true;
	}
	if (in && strcmp(in, POST_STATUS_PUBLISHED) == 0) {
		*out = POST_STATUS_PUBLISHED;
		return true;
	}
	app_error_add_violation(err, "status", "Status must be one of draft, published");
	return false;
}

bool posts_parse_mask(const char *const *paths, size_t n, unsigned *fields, struct app_error *err)
{
	static const struct mask_field known[] = { { "title", "title", POST_FIELD_TITLE },
						   { "body", "body", POST_FIELD_BODY },
						   { "status", "status", POST_FIELD_STATUS } };

	return mask_parse(known, sizeof(known) / sizeof(known[0]), paths, n, fields, err);
}
