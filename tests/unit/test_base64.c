/*
 * Strict base64 for SASL (RFC 4648 §4 vectors, RFC 5034 §4 strictness):
 * round trips, the RFC 4648 §10 test vectors, and every malformed form a
 * client could send (bad characters, misplaced or excess padding, bad
 * lengths, output that does not fit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "base64.h"

static const struct { const char *plain, *enc; } vectors[] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

/* RFC 4648 §10 in both directions. */
static void
test_rfc4648_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char enc[64];
		unsigned char dec[64];
		size_t n;
		assert_int_equal(base64_encode(vectors[i].plain, strlen(vectors[i].plain), enc),
		                 strlen(vectors[i].enc));
		assert_string_equal(enc, vectors[i].enc);
		assert_true(base64_decode(vectors[i].enc, dec, sizeof(dec), &n));
		assert_int_equal(n, strlen(vectors[i].plain));
		assert_memory_equal(dec, vectors[i].plain, n);
	}
}

/* RFC 4616 example: NULs survive, and every octet value round-trips. */
static void
test_binary_round_trip(void **state)
{
	(void)state;
	unsigned char all[256], back[256];
	char enc[BASE64_ENCODED_SIZE(256)];
	size_t n;
	assert_true(base64_decode("dGVzdAB0ZXN0AHRlc3Q=", back, sizeof(back), &n));
	assert_int_equal(n, 14);
	assert_memory_equal(back, "test\0test\0test", 14);
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)(255 - i);
	base64_encode(all, sizeof(all), enc);
	assert_int_equal(strlen(enc), BASE64_ENCODED_SIZE(256) - 1);
	assert_true(base64_decode(enc, back, sizeof(back), &n));
	assert_int_equal(n, 256);
	assert_memory_equal(all, back, 256);
}

/* RFC 5034 §4: anything outside the alphabet, a '=' that is not final
 * padding, and lengths that are not a multiple of four are refused. */
static void
test_malformed_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"=AAA", "AAA=BBBB", "AA=A", "A===", "====", "Zm9v=", "Zm9", "Z",
		"Zm9v\n", "Zm 9v", "Zm9v-_==", "Zm9v.AAA", "*", "Zg=\x01", "Zm9v Zm9v",
		"Zg==Zg==",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned char out[64];
		size_t n = 99;
		if (base64_decode(bad[i], out, sizeof(out), &n))
			fail_msg("accepted malformed \"%s\"", bad[i]);
		assert_int_equal(n, 99);
	}
}

/* The caller's buffer bounds the output: no write past CAP. */
static void
test_output_bounded(void **state)
{
	(void)state;
	unsigned char out[8];
	size_t n;
	memset(out, 'x', sizeof(out));
	assert_false(base64_decode("Zm9vYmFy", out, 5, &n));
	assert_int_equal(out[5], 'x');
	assert_true(base64_decode("Zm9vYmFy", out, 6, &n));
	assert_int_equal(n, 6);
	assert_false(base64_decode("Zm9vYg==", out, 3, &n));
	assert_true(base64_decode("Zm9vYg==", out, 4, &n));
	assert_memory_equal(out, "foob", 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_binary_round_trip),
		cmocka_unit_test(test_malformed_refused),
		cmocka_unit_test(test_output_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
