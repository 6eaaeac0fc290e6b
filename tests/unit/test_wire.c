/*
 * The transmitted form (spool/wire.h): sizes, line iteration, and the
 * sent form produced in pieces (wire_out), checked against a plain
 * line-by-line reference at every piece size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "wire_reference.h"

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

/* wire_size the slow way: +1 per LF without a CR before it, +2 for a
 * last line without LF. */
static uint64_t
naive_size(const unsigned char *d, size_t len)
{
	uint64_t size = len;
	for (size_t i = 0; i < len; i++)
		if (d[i] == '\n' && (i == 0 || d[i - 1] != '\r'))
			size++;
	return len == 0 ? 2 : size + (d[len - 1] != '\n' ? 2 : 0);
}

/* Random octets from a few that matter, at lengths across the blocks
 * wire_size counts in, CR and LF landing on every block edge. */
static void
test_size_random(void **state)
{
	(void)state;
	static const unsigned char alphabet[] = "\r\n\r\nab.\0";
	unsigned char d[700];
	srand(6);
	for (int round = 0; round < 3000; round++) {
		size_t len = (size_t)rand() % sizeof d;
		for (size_t i = 0; i < len; i++)
			d[i] = alphabet[rand() % 8];
		assert_int_equal(wire_size(d, len), naive_size(d, len));
	}
	/* A CRLF split exactly on a block edge, and a lone CR before one. */
	for (size_t at = 100; at < 300; at++) {
		memset(d, 'x', sizeof d);
		d[at] = '\r';
		d[at + 1] = '\n';
		d[at + 40] = '\r';
		assert_int_equal(wire_size(d, at + 2), naive_size(d, at + 2));
		assert_int_equal(wire_size(d, sizeof d), naive_size(d, sizeof d));
	}
}

/* Fills OUT in pieces of at most CAP octets; returns the total. */
static size_t
pieces(const unsigned char *d, size_t len, unsigned flags, uint64_t max_body,
       size_t cap, unsigned char *out)
{
	struct wire_out w;
	size_t total = 0, n;
	wire_out_init(&w, d, len, flags, max_body);
	while ((n = wire_out_fill(&w, out + total, cap)) > 0) {
		assert_true(n <= cap);
		total += n;
	}
	/* Finished stays finished. */
	assert_int_equal(wire_out_fill(&w, out + total, cap), 0);
	/* Produced whole, the count made on the way is the size. */
	if (max_body == UINT64_MAX)
		assert_int_equal(wire_out_octets(&w), wire_size(d, len));
	return total;
}

static const unsigned flag_sets[] = {
	0, WIRE_DOT_STUFF, WIRE_DOT_STUFF | WIRE_STRIP_NUL, WIRE_STRIP_NUL,
	WIRE_QUOTE_FROM,
};
static const uint64_t body_limits[] = { 0, 1, 2, UINT64_MAX };

/* D in every flag set and body limit, at every piece size from 1 octet
 * (every line end split between calls) to more than the whole. */
static void
check_all_ways(const unsigned char *d, size_t len)
{
	size_t cap_max = 3 * len + 8;
	unsigned char *want = malloc(cap_max), *got = malloc(cap_max);
	assert_non_null(want);
	assert_non_null(got);
	for (size_t f = 0; f < sizeof flag_sets / sizeof *flag_sets; f++)
		for (size_t b = 0; b < sizeof body_limits / sizeof *body_limits; b++) {
			size_t n = reference(d, len, flag_sets[f], body_limits[b], want);
			for (size_t cap = 1; cap <= n + 1; cap++) {
				size_t m = pieces(d, len, flag_sets[f], body_limits[b],
				                  cap, got);
				assert_int_equal(m, n);
				assert_memory_equal(got, want, n);
			}
		}
	free(want);
	free(got);
}

static void
test_out_like_reference(void **state)
{
	(void)state;
	static const struct { const char *s; size_t len; } cases[] = {
#define C(lit) { lit, sizeof(lit) - 1 }
		C(""), C("\n"), C("\r\n"), C("a"), C("."), C(".\n"), C("..\r\n"),
		C("\r"), C("a\rb\n"), C("x\n\ny\r\n\r"), C("\n\n\n"),
		C("H: 1\nH: 2\n\nb1\n.b2\r\nb3"), C("From x\n>From y\n>>From z\nFrom"),
		C("\0.a\n\0\0\n.\0\n\0"), C("H: \0\n\0\n\nbody\0\n"),
		C("no header end\n.at all"), C("\r\r\n\r\n.\r\n..\r\n"),
#undef C
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		check_all_ways((const unsigned char *)cases[i].s, cases[i].len);
}

/* Random messages built of the pieces that matter. */
static void
test_out_random(void **state)
{
	(void)state;
	static const char *const bits[] = {
		"a", "bc", ".", "\r", "\n", "\r\n", "\0", ">", "From ", "\n.", "\n\n",
	};
	unsigned char d[200];
	srand(1939);
	for (int round = 0; round < 150; round++) {
		size_t len = 0, want = (size_t)rand() % 60;
		while (len < want) {
			const char *b = bits[rand() % 11];
			size_t n = b[0] ? strlen(b) : 1;
			memcpy(d + len, b, n);
			len += n;
		}
		check_all_ways(d, len);
	}
}

/* Lines of every length around the 16-octet blocks RETR's copy works
 * in, with CRLF or LF, dots in front, long runs with no line end, in
 * output pieces from a few octets to more than the whole: the block copy
 * must never overrun a piece nor miss a LF at any offset. */
static void
test_out_lines_by_blocks(void **state)
{
	(void)state;
	enum { MAX = 6000 };
	unsigned char *d = malloc(MAX), *want = malloc(3 * MAX), *got = malloc(3 * MAX);
	assert_non_null(d);
	assert_non_null(want);
	assert_non_null(got);
	srand(937);
	for (int round = 0; round < 60; round++) {
		size_t len = 0;
		while (len < MAX - 300) {
			size_t l = (size_t)rand() % (round % 3 ? 40 : 260);
			for (size_t k = 0; k < l; k++)
				d[len++] = (unsigned char)(k == 0 && rand() % 4 == 0 ? '.'
				                           : 'a' + rand() % 26);
			if (rand() % 3 == 0)
				d[len++] = '\r';
			d[len++] = '\n';
		}
		if (round % 2) /* no line end at the very end */
			len -= 1;
		static const unsigned fl[] = { 0, WIRE_DOT_STUFF, WIRE_STRIP_NUL };
		for (size_t f = 0; f < 3; f++) {
			size_t n = reference(d, len, fl[f], UINT64_MAX, want);
			static const size_t caps[] = { 1, 2, 3, 17, 18, 19, 20, 33, 100,
			                               257, 4096, 3 * MAX };
			for (size_t c = 0; c < sizeof caps / sizeof *caps; c++) {
				size_t m = pieces(d, len, fl[f], UINT64_MAX, caps[c], got);
				assert_int_equal(m, n);
				assert_memory_equal(got, want, n);
			}
		}
	}
	free(d);
	free(want);
	free(got);
}

/* D sent with FLAGS and BODY, in pieces of 7 octets, must be WANT. */
static void
expect_sent(const char *d, size_t len, unsigned flags, uint64_t body,
            const char *want, size_t want_len)
{
	unsigned char out[256];
	size_t n = pieces((const unsigned char *)d, len, flags, body, 7, out);
	assert_int_equal(n, want_len);
	assert_memory_equal(out, want, n);
}

/* String literals, NULs and all. */
#define SENT(lit, flags, body, want) \
	expect_sent(lit, sizeof(lit) - 1, flags, body, want, sizeof(want) - 1)
#define ALL UINT64_MAX

static void
test_out_cases(void **state)
{
	(void)state;
	/* Bare LF becomes CRLF, CRLF stays, a lone CR is data. */
	SENT("a\nb\r\nc\rd\n", 0, ALL, "a\r\nb\r\nc\rd\r\n");
	/* A last line without line end gets one, even after a CR. */
	SENT("abc", 0, ALL, "abc\r\n");
	SENT("a\r", 0, ALL, "a\r\r\n");
	/* No bytes at all: one empty line. */
	SENT("", WIRE_DOT_STUFF, ALL, "\r\n");
	/* A "." at the very start of the message, and lines of dots. */
	SENT(".start\n.\n..\n", WIRE_DOT_STUFF, ALL, "..start\r\n..\r\n...\r\n");
	SENT(".start\n", 0, ALL, ".start\r\n");
	/* NULs: kept, or left out with the "." decided on what is sent. */
	SENT("\0.x\n", WIRE_DOT_STUFF, ALL, "\0.x\r\n");
	SENT("\0.x\na\0b\n\0\0\n", WIRE_DOT_STUFF | WIRE_STRIP_NUL, ALL,
	     "..x\r\nab\r\n\r\n");
	/* TOP n: the header, its empty line, n body lines. */
	SENT("H: 1\nH: 2\n\nb1\nb2\n", WIRE_DOT_STUFF, 0, "H: 1\r\nH: 2\r\n\r\n");
	SENT("H: 1\n\n.b1\nb2\n", WIRE_DOT_STUFF, 1, "H: 1\r\n\r\n..b1\r\n");
	SENT("H: 1\nno body", WIRE_DOT_STUFF, 0, "H: 1\r\nno body\r\n");
	/* A line of NULs is not the empty line that ends the header. */
	SENT("H\n\0\nb\n", WIRE_STRIP_NUL, 0, "H\r\n\r\nb\r\n");
	/* mboxrd quoting. */
	SENT("From a\n>From b\nFrom\n>>From c\n", WIRE_QUOTE_FROM, ALL,
	     ">From a\r\n>>From b\r\nFrom\r\n>>>From c\r\n");
}

/* A line end cut between two pieces: the CR ends one, the LF starts the
 * next; the "." of a stuffed line may be a piece of its own. */
static void
test_out_split_line_end(void **state)
{
	(void)state;
	const unsigned char *d = (const unsigned char *)"ab\n.c\r\n";
	unsigned char out[8];
	struct wire_out w;
	wire_out_init(&w, d, 7, WIRE_DOT_STUFF, UINT64_MAX);
	assert_int_equal(wire_out_fill(&w, out, 3), 3);
	assert_memory_equal(out, "ab\r", 3);
	assert_int_equal(wire_out_fill(&w, out, 2), 2);
	assert_memory_equal(out, "\n.", 2);
	assert_int_equal(wire_out_fill(&w, out, 8), 4);
	assert_memory_equal(out, ".c\r\n", 4);
	assert_int_equal(wire_out_fill(&w, out, 8), 0);
}

/* 5 MB of lines longer than any output buffer, in 64 KiB pieces. */
static void
test_out_long_lines(void **state)
{
	(void)state;
	const size_t len = 5 * 1000 * 1000, line = 300 * 1000;
	unsigned char *d = malloc(len), *want = malloc(len + len / 100);
	unsigned char *got = malloc(len + len / 100);
	assert_non_null(d);
	assert_non_null(want);
	assert_non_null(got);
	for (size_t i = 0; i < len; i++)
		d[i] = i % line == line - 1 ? '\n' : i % line == 0 ? '.' : (unsigned char)('a' + i % 26);
	size_t n = reference(d, len, WIRE_DOT_STUFF, UINT64_MAX, want);
	assert_int_equal(pieces(d, len, WIRE_DOT_STUFF, UINT64_MAX, 65536, got), n);
	assert_memory_equal(got, want, n);
	/* The form's size plus one "." per line, with no final line end. */
	assert_int_equal(n, wire_size(d, len) + (len + line - 1) / line);
	free(d);
	free(want);
	free(got);
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
		cmocka_unit_test(test_size_random),
		cmocka_unit_test(test_out_like_reference),
		cmocka_unit_test(test_out_random),
		cmocka_unit_test(test_out_lines_by_blocks),
		cmocka_unit_test(test_out_cases),
		cmocka_unit_test(test_out_split_line_end),
		cmocka_unit_test(test_out_long_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
