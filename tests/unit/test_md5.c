/* MD5 (RFC 1321), HMAC-MD5 (RFC 2104) and the APOP and CRAM-MD5 examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "md5.h"

static void
to_hex(const unsigned char digest[16], char hex[33])
{
	int i;

	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

static void
assert_md5(const char *input, const char *expected)
{
	char hex[33];

	md5_hex(input, strlen(input), hex);
	assert_string_equal(hex, expected);
}

/* RFC 1321 appendix A.5, the whole test suite. */
static void
test_rfc1321_suite(void **state)
{
	(void)state;
	assert_md5("", "d41d8cd98f00b204e9800998ecf8427e");
	assert_md5("a", "0cc175b9c0f1b6a831c399e269772661");
	assert_md5("abc", "900150983cd24fb0d6963f7d28e17f72");
	assert_md5("message digest", "f96b697d7cb7938d525a2f31aaf161d0");
	assert_md5("abcdefghijklmnopqrstuvwxyz",
	           "c3fcd3d76192e4007dfb496cca67e13b");
	assert_md5("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	           "0123456789",
	           "d174ab98d277d9f5a5611c2c9f419d9f");
	assert_md5("1234567890123456789012345678901234567890"
	           "1234567890123456789012345678901234567890",
	           "57edf4a22be3c955ac49da2e2107b67a");
}

/* Lengths around the padding boundaries: 55 octets leave room for the
 * length in the last block, 56 and 63 need a second one, 64 is a whole
 * block.  Digests computed with an independent implementation. */
static void
test_padding_boundaries(void **state)
{
	static const struct {
		size_t len;
		const char *hex;
	} cases[] = {
		{ 55, "04364420e25c512fd958a70738aa8f72" },
		{ 56, "668a72d5ba17f08e62dabcafad6db14b" },
		{ 63, "7dc2ca208106a2f703567bdff99d8981" },
		{ 64, "c1bb4f81d892b2d57947682aeb252456" },
	};
	char buf[65], hex[33];
	size_t i;

	(void)state;
	memset(buf, 'x', sizeof buf);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		md5_hex(buf, cases[i].len, hex);
		assert_string_equal(hex, cases[i].hex);
	}
}

/* Feeding a message in odd-sized pieces gives the one-shot digest. */
static void
test_incremental(void **state)
{
	static const size_t chunks[] = { 1, 3, 7, 13, 63, 64, 65, 2, 127, 5 };
	unsigned char msg[1000], one[16], many[16];
	struct md5 m;
	size_t off, i, n;

	(void)state;
	for (i = 0; i < sizeof msg; i++)
		msg[i] = (unsigned char)(i * 7 + 3);
	md5_init(&m);
	md5_update(&m, msg, sizeof msg);
	md5_final(&m, one);

	md5_init(&m);
	for (off = 0, i = 0; off < sizeof msg; off += n, i++) {
		n = chunks[i % (sizeof chunks / sizeof chunks[0])];
		if (n > sizeof msg - off)
			n = sizeof msg - off;
		md5_update(&m, msg + off, n);
		md5_update(&m, msg + off, 0);
	}
	md5_final(&m, many);
	assert_memory_equal(one, many, 16);
}

/* RFC 1939 §7: the APOP example is MD5(timestamp || secret). */
static void
test_apop_example(void **state)
{
	static const char s[] = "<1896.697170952@dbc.mtview.ca.us>tanstaaf";

	(void)state;
	assert_md5(s, "c4c9334bac560ecc979e58001b3e22fb");
}

static void
assert_hmac(const void *key, size_t keylen, const void *data, size_t len,
            const char *expected)
{
	unsigned char digest[16];
	char hex[33];

	md5_hmac(key, keylen, data, len, digest);
	to_hex(digest, hex);
	assert_string_equal(hex, expected);
}

/* RFC 2202 §2, test cases 1-3 and 6 (a key longer than the block). */
static void
test_hmac_rfc2202(void **state)
{
	unsigned char key[80], data[50];

	(void)state;
	memset(key, 0x0b, 16);
	assert_hmac(key, 16, "Hi There", 8,
	            "9294727a3638bb1c13f48ef8158bfc9d");

	assert_hmac("Jefe", 4, "what do ya want for nothing?", 28,
	            "750c783e6ab0b503eaa86e310a5db738");

	memset(key, 0xaa, 16);
	memset(data, 0xdd, sizeof data);
	assert_hmac(key, 16, data, sizeof data,
	            "56be34521d144c88dbb8c733f0e8b3f6");

	memset(key, 0xaa, 80);
	assert_hmac(key, 80,
	            "Test Using Larger Than Block-Size Key - Hash Key First",
	            54, "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
}

/* RFC 2195 §2: the CRAM-MD5 example exchange. */
static void
test_cram_md5_example(void **state)
{
	static const char challenge[] =
		"<1896.697170952@postoffice.reston.mci.net>";
	static const char secret[] = "tanstaaftanstaaf";

	(void)state;
	assert_hmac(secret, strlen(secret), challenge, strlen(challenge),
	            "b913a602c7eda7a495b4e6e7334d3890");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1321_suite),
		cmocka_unit_test(test_padding_boundaries),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_apop_example),
		cmocka_unit_test(test_hmac_rfc2202),
		cmocka_unit_test(test_cram_md5_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
