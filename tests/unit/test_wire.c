/* The transmitted form (spool/wire.h): sizes and line iteration. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "wire.h"

static uint64_t
ws(const char *s)
{
	return wire_size((const unsigned char *)s, strlen(s));
}

static void
test_size_lf(void **state)
{
	(void)state;
	assert_int_equal(ws("a\nbc\n"), 7);       /* a CRLF bc CRLF */
	assert_int_equal(ws("a\r\nbc\r\n"), 7);
	assert_int_equal(ws("a\r\nbc\n"), 7);     /* mixed */
}

static void
test_size_bare_cr(void **state)
{
	(void)state;
	assert_int_equal(ws("a\rb\n"), 5);        /* the CR is data */
	assert_int_equal(ws("\r"), 3);            /* data, then CRLF added */
}

static void
test_size_no_final_newline(void **state)
{
	(void)state;
	assert_int_equal(ws("abc"), 5);
	assert_int_equal(ws("a\nbc"), 7);
}

static void
test_size_empty_and_lone(void **state)
{
	(void)state;
	assert_int_equal(wire_size((const unsigned char *)"", 0), 2);
	assert_int_equal(ws("\n"), 2);
	assert_int_equal(ws("\r\n"), 2);
	assert_int_equal(ws("\n\n"), 4);
}

/* Iterates and returns the number of lines; checks each equals WANT[i]. */
static size_t
lines(const char *data, const char *const *want)
{
	size_t pos = 0, n = 0;
	struct wire_line l;
	while (wire_next_line((const unsigned char *)data, strlen(data), &pos, &l)) {
		assert_non_null(want[n]);
		assert_int_equal(l.len, strlen(want[n]));
		assert_memory_equal(l.p, want[n], l.len);
		n++;
	}
	assert_null(want[n]);
	return n;
}

static void
test_lines(void **state)
{
	(void)state;
	const char *const a[] = { "a", "bc", NULL };
	assert_int_equal(lines("a\r\nbc\n", a), 2);
	assert_int_equal(lines("a\nbc", a), 2);
	const char *const b[] = { "x\ry", NULL };
	assert_int_equal(lines("x\ry\r\n", b), 1);
	const char *const empty[] = { "", NULL };
	assert_int_equal(lines("", empty), 1);
	assert_int_equal(lines("\n", empty), 1);
	assert_int_equal(lines("\r\n", empty), 1);
}

/* The size always equals the octets of the lines plus a CRLF each. */
static void
test_size_matches_lines(void **state)
{
	(void)state;
	static const char *const cases[] = {
		"", "\n", "\r\n", "a", "a\rb", "\r\r\n", "x\n\ny\r\n\r", "From x\n>From y",
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const unsigned char *d = (const unsigned char *)cases[i];
		size_t len = strlen(cases[i]), pos = 0;
		uint64_t sum = 0;
		struct wire_line l;
		while (wire_next_line(d, len, &pos, &l))
			sum += l.len + 2;
		assert_int_equal(wire_size(d, len), sum);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_lf),
		cmocka_unit_test(test_size_bare_cr),
		cmocka_unit_test(test_size_no_final_newline),
		cmocka_unit_test(test_size_empty_and_lone),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_size_matches_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
