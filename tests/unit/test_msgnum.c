/*
 * Strict number parsing: digits only, no sign, no blanks, no wrap-around,
 * so "LIST 4294967297" never means LIST 1 and "RETR -1" is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "msgnum.h"

#define UNSET UINT64_C(0xdeadbeef)

static void
assert_parses(const char *s, uint64_t want)
{
	uint64_t v = UNSET;
	assert_true(msgnum_parse(s, &v));
	assert_true(v == want);
}

static void
assert_refused(const char *s)
{
	uint64_t v = UNSET;
	assert_false(msgnum_parse(s, &v));
	assert_true(v == UNSET); /* untouched */
}

static void
test_parse_plain_numbers(void **state)
{
	(void)state;
	assert_parses("0", 0);
	assert_parses("1", 1);
	assert_parses("42", 42);
	assert_parses("007", 7);
	assert_parses("4294967295", UINT64_C(4294967295));
	assert_parses("4294967297", UINT64_C(4294967297));
	assert_parses("18446744073709551615", UINT64_MAX);
}

static void
test_parse_refuses_junk(void **state)
{
	(void)state;
	assert_refused("");
	assert_refused("-1");
	assert_refused("+1");
	assert_refused(" 1");
	assert_refused("1 ");
	assert_refused("\t1");
	assert_refused("1x");
	assert_refused("x1");
	assert_refused("0x10");
	assert_refused("1.0");
	assert_refused("1e3");
	assert_refused("\xef\xbc\x91"); /* U+FF11, a full-width digit */
	/* Junk after an overflowing run is still junk. */
	assert_refused("99999999999999999999999x");
}

static void
test_parse_saturates(void **state)
{
	(void)state;
	assert_parses("18446744073709551616", UINT64_MAX);
	assert_parses("18446744073709551625", UINT64_MAX);
	assert_parses("99999999999999999999", UINT64_MAX);
	assert_parses("184467440737095516150", UINT64_MAX);
	assert_parses("000000000000000000000000000000001", 1);
}

static void
test_index_bounds(void **state)
{
	size_t idx = 77;
	(void)state;

	assert_true(msgnum_index("1", 5, &idx));
	assert_int_equal(idx, 0);
	assert_true(msgnum_index("5", 5, &idx));
	assert_int_equal(idx, 4);
	assert_true(msgnum_index("03", 5, &idx));
	assert_int_equal(idx, 2);

	idx = 77;
	assert_false(msgnum_index("0", 5, &idx));
	assert_false(msgnum_index("6", 5, &idx));
	assert_false(msgnum_index("1", 0, &idx));
	assert_false(msgnum_index("", 5, &idx));
	assert_false(msgnum_index("-1", 5, &idx));
	assert_false(msgnum_index("+1", 5, &idx));
	assert_false(msgnum_index(" 1", 5, &idx));
	assert_false(msgnum_index("1x", 5, &idx));
	assert_int_equal(idx, 77);
}

/* Numbers that wrap to a small one in 32 or 64 bits are still too big. */
static void
test_index_no_wraparound(void **state)
{
	size_t idx = 77;
	(void)state;

	assert_false(msgnum_index("4294967297", 5, &idx));      /* 2^32 + 1 */
	assert_false(msgnum_index("4294967296", 5, &idx));      /* 2^32 */
	assert_false(msgnum_index("18446744073709551617", 5, &idx)); /* 2^64 + 1 */
	assert_false(msgnum_index("18446744073709551616", 5, &idx));
	assert_int_equal(idx, 77);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_plain_numbers),
		cmocka_unit_test(test_parse_refuses_junk),
		cmocka_unit_test(test_parse_saturates),
		cmocka_unit_test(test_index_bounds),
		cmocka_unit_test(test_index_no_wraparound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
