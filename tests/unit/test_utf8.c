/*
 * proto/utf8.c: RFC 3629 well-formedness (every class of malformed
 * sequence) and the partial SASLprep of RFC 4013 (the C.1.2 and B.1
 * mappings, the C.2 to C.9 prohibitions, in-place use, output bounds).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "utf8.h"

static bool
valid(const char *s)
{
	return utf8_valid(s, strlen(s));
}

static void
test_well_formed(void **state)
{
	(void)state;
	assert_true(valid(""));
	assert_true(valid("alice"));
	assert_true(valid("j\xc3\xbcrgen"));                 /* U+00FC */
	assert_true(valid("\xe2\x82\xac"));                  /* U+20AC */
	assert_true(valid("\xf0\x9f\x93\xab"));              /* U+1F4EB */
	assert_true(valid("\xf4\x8f\xbf\xbd"));              /* U+10FFFD */
	assert_true(valid("\xed\x9f\xbf\xee\x80\x80"));      /* U+D7FF U+E000 */
	/* The NUL inside the length is a character like any other. */
	assert_true(utf8_valid("a\0b", 3));
}

static void
test_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"\x80", "a\xbf", "\xc3", "\xe2\x82", "\xf0\x9f\x93",  /* stray, cut */
		"\xc3\x28", "\xe2\x28\xac", "\xf0\x9f\x28\xab",      /* bad continuation */
		"\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf",
		"\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf",              /* overlong */
		"\xed\xa0\x80", "\xed\xbf\xbf",                      /* surrogates */
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xfe", /* > U+10FFFF */
		"j\xfcrgen",                                         /* Latin-1 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(valid(bad[i]));
		char out[32];
		assert_false(utf8_saslprep(bad[i], out, sizeof(out)));
	}
	/* A character cut by the length is malformed. */
	assert_false(utf8_valid("\xc3\xbc", 1));
}

static void
expect(const char *in, const char *want)
{
	char out[64];
	assert_true(utf8_saslprep(in, out, sizeof(out)));
	assert_string_equal(out, want);
}

/* RFC 4013 §3 examples that need no NFKC, and our own. */
static void
test_mappings(void **state)
{
	(void)state;
	expect("I\xc2\xadX", "IX");                   /* SOFT HYPHEN, §3 #1 */
	expect("user", "user");                       /* §3 #2 */
	expect("USER", "USER");                       /* case preserved, §3 #3 */
	expect("a\xc2\xa0" "b", "a b");               /* NO-BREAK SPACE */
	expect("a\xe3\x80\x80" "b", "a b");           /* IDEOGRAPHIC SPACE */
	expect("a\xe2\x80\x8b" "b", "a b");           /* ZERO WIDTH SPACE: C.1.2 */
	expect("a\xe2\x80\x8d" "b\xef\xbb\xbf", "ab"); /* ZWJ, BOM: B.1 */
	expect("a\xef\xb8\x8f", "a");                 /* VARIATION SELECTOR-16 */
	expect("p\xc3\xa4sswo\xcc\x88rd", "p\xc3\xa4sswo\xcc\x88rd"); /* no NFKC */
	expect("", "");
}

static void
test_prohibited(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"\x07", "a\tb", "\x7f",                          /* C.2.1, §3 #5 */
		"\xc2\x85", "\xe2\x80\xa8", "\xef\xbf\xb9",      /* C.2.2 */
		"\xee\x80\x80", "\xf3\xb0\x80\x80",              /* C.3 */
		"\xef\xbf\xbe", "\xef\xb7\x90", "\xf0\x9f\xbf\xbf", /* C.4 */
		"\xef\xbf\xbd",                                  /* C.6 */
		"\xe2\xbf\xb0",                                  /* C.7 */
		"\xcd\x80", "\xe2\x80\x8e", "\xe2\x80\xae",      /* C.8 */
		"\xf3\xa0\x80\x81", "\xf3\xa0\x81\xbf",          /* C.9 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char out[32];
		assert_false(utf8_saslprep(bad[i], out, sizeof(out)));
	}
}

/* The output never grows, so prepping in place works, and a buffer of
 * strlen + 1 is enough; a smaller one is refused, not overrun. */
static void
test_in_place_and_bounds(void **state)
{
	(void)state;
	char buf[] = "\xc2\xa0j\xc3\xbcr\xc2\xadgen\xe3\x80\x80";
	assert_true(utf8_saslprep(buf, buf, sizeof(buf)));
	assert_string_equal(buf, " j\xc3\xbcrgen ");
	char out[6];
	assert_true(utf8_saslprep("alice", out, 6));
	assert_string_equal(out, "alice");
	assert_false(utf8_saslprep("alice", out, 5));
	assert_false(utf8_saslprep("j\xc3\xbc", out, 3));
	assert_false(utf8_saslprep("", out, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_formed),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_mappings),
		cmocka_unit_test(test_prohibited),
		cmocka_unit_test(test_in_place_and_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
