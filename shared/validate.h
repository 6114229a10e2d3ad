/* validate.h - input rules shared by services: UTF-8, trimming, emails,
 * pagination and sort parameters (API.md §1, §6). */
#ifndef SHARED_VALIDATE_H
#define SHARED_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"

/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool utf8_valid(const char *s, size_t len);
/* Decodes the one strict UTF-8 sequence at the start of s (len bytes available):
 * its length in bytes (1..4) with the code point in *cp (cp may be NULL), or 0
 * when those bytes do not start a valid sequence (or len is 0). */
size_t utf8_decode(const char *s, size_t len, uint32_t *cp);
/* Number of code points of a valid UTF-8 string. */
size_t utf8_length(const char *s);

/* A copy of s without leading/trailing ASCII whitespace, owned by a. */
char *trim_dup(struct arena *a, const char *s);

/* The one text rule (API.md §2, §6): UTF-8 text of 1..max_chars code
 * points, trimmed of surrounding ASCII whitespace first when trim (then *out
 * is the trimmed copy, from a; otherwise in itself and a may be NULL).
 * false with one violation on field otherwise: "<label> is required" (NULL,
 * empty or only whitespace), "<label> must be valid UTF-8", "<label> must be
 * at most <max_chars> characters". label starts the sentence: "Name". */
bool text_check(struct arena *a, const char *field, const char *label, const char *in,
		size_t max_chars, bool trim, const char **out, struct app_error *err);

/* One writable field of an update mask: its proto path and its JSON name
 * (either is accepted), and the bit it sets. */
struct mask_field {
	const char *path; /* "is_active" */
	const char *json; /* "isActive" */
	unsigned bit;
};

/* The one update-mask parser: the bits of the n fields named by paths (no
 * paths: none); each unknown path is a violation on that path, "Unknown or
 * read-only field", and makes the result false. */
bool mask_parse(const struct mask_field *fields, size_t n, const char *const *paths, size_t npaths,
		unsigned *bits, struct app_error *err);
/* The JSON name of bit in fields, "" when none has it. */
const char *mask_json_name(const struct mask_field *fields, size_t n, unsigned bit);

#define EMAIL_MAX_LEN 254

/* Trims and lower-cases in into out (outsize >= EMAIL_MAX_LEN + 1) and checks
 * it: at most 254 characters, exactly one '@', non-empty local part, a domain
 * with a dot (not first or last), printable ASCII only (no whitespace,
 * control or non-ASCII characters).
 * false when invalid (out then holds the trimmed, lower-cased text, truncated). */
bool email_normalize(const char *in, char *out, size_t outsize);

#define PAGE_DEFAULT_LIMIT 20
#define PAGE_MAX_LIMIT 100

struct page {
	int32_t page;  /* >= 1 */
	int32_t limit; /* 1..100 */
};

struct page_info {
	int32_t page;
	int32_t limit;
	int64_t total;
	int64_t total_pages; /* ceil(total / limit), 0 when total is 0 */
	bool has_next;       /* page < total_pages */
	bool has_prev;       /* page > 1 */
};

/* Request values to a page: 0 means the default (page 1, limit 20); page < 0,
 * limit < 0 or limit > 100 is -1 with BAD_REQUEST naming the parameter. */
int page_resolve(int32_t page, int32_t limit, struct page *out, struct app_error *err);
/* Rows to skip for p. */
int64_t page_offset(const struct page *p);
/* The pagination block for p and total. */
struct page_info page_info_make(const struct page *p, int64_t total);

/* A sort parameter: "" -> def; "field" or "-field" where field is one of the
 * NULL-terminated allowed names. Sets *index (into allowed) and *desc. Unknown
 * field: -1 with BAD_REQUEST. */
int sort_parse(const char *s, const char *def, const char *const *allowed, int *index, bool *desc,
	       struct app_error *err);

#endif
