/* gateway_transcode_write_test.c - the replies' text path (transcode_write,
 * json_out) against the jansson path it replaced: for random messages of
 * every type the API has, and for every byte and a set of reals, the text
 * written must be byte for byte what json_dumps(JSON_COMPACT) prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agentos/auth/v1/auth.pb-c.h"
#include "agentos/posts/v1/posts.pb-c.h"
#include "agentos/users/v1/users.pb-c.h"
#include "arena.h"
#include "transcode.h"
#include "transcode_internal.h"

static const ProtobufCMessageDescriptor *const types[] = {
	&agentos__users__v1__user__descriptor,
	&agentos__users__v1__list_users_response__descriptor,
	&agentos__users__v1__batch_get_users_response__descriptor,
	&agentos__users__v1__create_user_request__descriptor,
	&agentos__users__v1__update_user_request__descriptor,
	&agentos__posts__v1__post__descriptor,
	&agentos__posts__v1__list_posts_response__descriptor,
	&agentos__posts__v1__comment__descriptor,
	&agentos__posts__v1__list_comments_response__descriptor,
	&agentos__posts__v1__update_post_request__descriptor,
	&agentos__auth__v1__token_pair__descriptor,
	&agentos__auth__v1__principal__descriptor,
	&agentos__auth__v1__api_key__descriptor,
	&agentos__auth__v1__new_api_key__descriptor,
	&agentos__auth__v1__list_api_keys_response__descriptor,
	&agentos__auth__v1__revocation_batch__descriptor,
};

/* Texts that exercise the escapes and the UTF-8 handling. */
static const char *const texts[] = {
	"",
	"Ann",
	"quote \" backslash \\ slash /",
	"tab\tnewline\ncr\rbs\bff\f",
	"\x01\x1f\x7f control",
	"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8",
	"bad \xff utf-8 \xc3",
	"<script>alert(1)</script>",
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const int64_t ints[] = { 0,         1,         -1,
				42,        INT32_MAX, INT32_MIN,
				INT64_MAX, INT64_MIN, 1733390000123LL };

static void fill(struct arena *a, ProtobufCMessage *m, int depth);

static void fill_scalar(struct arena *a, const ProtobufCFieldDescriptor *f, void *dst, int depth)
{
	int64_t v = ints[next() % (sizeof(ints) / sizeof(ints[0]))];
	const ProtobufCEnumDescriptor *ed;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		*(const char **)
			dst = arena_strdup(a, texts[next() % (sizeof(texts) / sizeof(texts[0]))]);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)dst = (protobuf_c_boolean)(next() & 1);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		ed = f->descriptor;
		*(int *)dst = next() % 4 == 0 ? 97 : ed->values[next() % ed->n_values].value;
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		if (depth < 3 && next() % 4 != 0) {
			ProtobufCMessage *sub = transcode_new(a, f->descriptor);

			fill(a, sub, depth + 1);
			*(ProtobufCMessage **)dst = sub;
		}
		break;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		*(int32_t *)dst = (int32_t)v;
		break;
	default:
		*(int64_t *)dst = v;
	}
}

/* Every field of m: present or not, repeated ones with 0-3 elements. */
static void fill(struct arena *a, ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *dst = (char *)m + f->offset;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = next() % 4, size = transcode__elem_size(f->type);
			char *arr = arena_alloc(a, size * (n ? n : 1));

			for (size_t k = 0; k < n; k++)
				fill_scalar(a, f, arr + k * size, depth);
			*(size_t *)((char *)m + f->quantifier_offset) = n;
			*(char **)dst = arr;
			continue;
		}
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (next() & 1)
				continue;
			*(uint32_t *)((char *)m + f->quantifier_offset) = f->id;
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
			   f->type != PROTOBUF_C_TYPE_STRING &&
			   f->type != PROTOBUF_C_TYPE_MESSAGE) {
			*(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = next() & 1;
		}
		if (f->type == PROTOBUF_C_TYPE_STRING && next() % 8 == 0)
			continue; /* a NULL string: written as "" */
		fill_scalar(a, f, dst, depth);
	}
}

static char *dumped(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

	json_decref(j);
	return s;
}

static char *written(const ProtobufCMessage *m, const char *field)
{
	struct json_out o;

	jout_init(&o, 16);
	if (field)
		transcode_write_field(&o, m, field);
	else
		transcode_write(&o, m);
	return jout_take(&o, NULL);
}

static void messages_are_written_as_jansson_prints_them(void **state)
{
	(void)state;
	for (int round = 0; round < 300; round++) {
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			struct arena a;
			ProtobufCMessage *m;
			char *want, *got;

			arena_init(&a);
			m = transcode_new(&a, types[t]);
			fill(&a, m, 0);
			want = dumped(transcode_to_json(m));
			got = written(m, NULL);
			if (strcmp(want, got) != 0)
				fail_msg("%s (round %d):\n want %s\n got  %s", types[t]->name,
					 round, want, got);
			free(want);
			free(got);
			arena_release(&a);
		}
	}
}

static void a_list_field_is_its_array_and_a_missing_one_empty(void **state)
{
	struct arena a;
	ProtobufCMessage *m;
	json_t *tree;
	char *want, *got;

	(void)state;
	arena_init(&a);
	m = transcode_new(&a, &agentos__posts__v1__list_posts_response__descriptor);
	fill(&a, m, 0);
	tree = transcode_to_json(m);
	want = json_dumps(json_object_get(tree, "posts"), JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(tree);
	got = written(m, "posts");
	assert_string_equal(got, want);
	free(want);
	free(got);
	got = written(m, "no_such_field");
	assert_string_equal(got, "[]");
	free(got);
	got = written(NULL, NULL);
	assert_string_equal(got, "null");
	free(got);
	arena_release(&a);
}

static void every_byte_is_escaped_as_jansson_does(void **state)
{
	(void)state;
	for (int c = 1; c < 0x80; c++) {
		char s[4] = { 'a', (char)c, 'z', 0 };
		struct json_out o;
		char *want = dumped(json_string(s)), *got;

		jout_init(&o, 4);
		jout_string(&o, s, 3);
		got = jout_take(&o, NULL);
		assert_string_equal(got, want);
		free(want);
		free(got);
	}
}

static void reals_and_integers_are_printed_as_jansson_does(void **state)
{
	static const double reals[] = { 0.0,
					-0.0,
					1.0,
					0.1,
					123.0,
					-2.5,
					1e19,
					1.8446744073709552e19,
					1e-5,
					1e-10,
					1e300,
					5e-324,
					123456789012345678.0,
					3.14159 };
	static const int64_t integers[] = { 0, 7, -7, INT64_MAX, INT64_MIN, 1000000 };

	(void)state;
	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		struct json_out o;
		char *want = dumped(json_real(reals[i])), *got;

		jout_init(&o, 4);
		jout_real(&o, reals[i]);
		got = jout_take(&o, NULL);
		assert_string_equal(got, want);
		free(want);
		free(got);
	}
	for (size_t i = 0; i < sizeof(integers) / sizeof(integers[0]); i++) {
		struct json_out o;
		char *want = dumped(json_integer(integers[i])), *got;

		jout_init(&o, 4);
		jout_int(&o, integers[i]);
		got = jout_take(&o, NULL);
		assert_string_equal(got, want);
		free(want);
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(messages_are_written_as_jansson_prints_them),
		cmocka_unit_test(a_list_field_is_its_array_and_a_missing_one_empty),
		cmocka_unit_test(every_byte_is_escaped_as_jansson_does),
		cmocka_unit_test(reals_and_integers_are_printed_as_jansson_does),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
