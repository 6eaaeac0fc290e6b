/*
 * hash64: XXH64 as its specification defines it, checked against values
 * from the reference implementation (xxhsum -H1), one-shot and fed in
 * pieces of every size, and a prefix's value taken midway.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "hash64.h"

static const struct {
	const char *text;
	uint64_t want;
} vectors[] = {
	{ "", 0xef46db3751d8e999u },
	{ "a", 0xd24ec4f1a98c6e5bu },
	{ "abc", 0x44bc2cf5ad770999u },
	{ "Nobody inspects the spammish repetition", 0xfbcea83c8a378bf1u },
	{ "0123456789abcdef0123456789abcdef", 0x642a94958e71e6c5u },
	{ "The quick brown fox jumps over the lazy dog. "
	  "The quick brown fox jumps over the lazy dog.", 0x5282b0966ccdb49du },
};

/* 1000 octets i * 7 mod 256: stripes, a tail of 8s, 4 and 1s. */
static void
thousand(unsigned char b[1000])
{
	for (int i = 0; i < 1000; i++)
		b[i] = (unsigned char)(i * 7);
}

static void
test_reference_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof vectors / sizeof *vectors; i++)
		assert_true(hash64(vectors[i].text, strlen(vectors[i].text)) ==
		            vectors[i].want);
	unsigned char b[1000];
	thousand(b);
	assert_true(hash64(b, sizeof b) == 0x25275608a9cfc168u);
}

static void
test_pieces_of_every_size(void **state)
{
	(void)state;
	unsigned char b[1000];
	thousand(b);
	for (size_t step = 1; step <= 70; step++) {
		struct hash64 h;
		hash64_init(&h);
		for (size_t at = 0; at < sizeof b; at += step)
			hash64_update(&h, b + at,
			              sizeof b - at < step ? sizeof b - at : step);
		assert_true(hash64_final(&h) == 0x25275608a9cfc168u);
	}
}

/* hash64_final leaves the state alone: a prefix's value, then more. */
static void
test_prefix_midway(void **state)
{
	(void)state;
	unsigned char b[1000];
	thousand(b);
	struct hash64 h;
	hash64_init(&h);
	for (size_t n = 0; n < sizeof b; n++) {
		assert_true(hash64_final(&h) == hash64(b, n));
		hash64_update(&h, b + n, 1);
	}
	assert_true(hash64_final(&h) == 0x25275608a9cfc168u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_values),
		cmocka_unit_test(test_pieces_of_every_size),
		cmocka_unit_test(test_prefix_midway),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
