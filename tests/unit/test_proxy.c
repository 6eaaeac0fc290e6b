/*
 * The PROXY protocol header parsers (HAProxy's proxy-protocol.txt):
 * proxy_parse_v1 for the text line (§2.1), proxy_v2_fixed and
 * proxy_parse_v2 for the binary header (§2.2), and proxy_read over a
 * pipe, which must consume the header and not one octet more.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "params.h"
#include "proxy.h"

static const unsigned char sig[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

/* ---- v1 ---- */

static bool
v1(const char *line, struct sockaddr_storage *ss, const char **why)
{
	*why = NULL;
	return proxy_parse_v1(line, strlen(line), ss, why);
}

static void
assert_v1_refused(const char *line)
{
	struct sockaddr_storage ss;
	const char *why;
	if (v1(line, &ss, &why))
		fail_msg("accepted: %s", line);
	assert_non_null(why);
}

/* SS holds AF's address ADDR (as inet_ntop writes it) and PORT. */
static void
assert_addr(const struct sockaddr_storage *ss, int af, const char *addr, unsigned port)
{
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
	char buf[INET6_ADDRSTRLEN];
	assert_int_equal(ss->ss_family, af);
	assert_non_null(inet_ntop(af, af == AF_INET ? (const void *)&v4->sin_addr
	                                            : (const void *)&v6->sin6_addr,
	                          buf, sizeof(buf)));
	assert_string_equal(buf, addr);
	assert_int_equal(ntohs(af == AF_INET ? v4->sin_port : v6->sin6_port), port);
}

#define assert_v4(ss, addr, port) assert_addr(ss, AF_INET, addr, port)
#define assert_v6(ss, addr, port) assert_addr(ss, AF_INET6, addr, port)

static void
test_v1_tcp4(void **state)
{
	struct sockaddr_storage ss;
	const char *why;
	(void)state;
	assert_true(v1("PROXY TCP4 192.0.2.7 127.0.0.1 40001 110\r\n", &ss, &why));
	assert_v4(&ss, "192.0.2.7", 40001);
	assert_true(v1("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", &ss, &why));
	assert_v4(&ss, "0.0.0.0", 0);
}

static void
test_v1_tcp6(void **state)
{
	struct sockaddr_storage ss;
	const char *why;
	(void)state;
	assert_true(v1("PROXY TCP6 2001:db8::5 ::1 40002 110\r\n", &ss, &why));
	assert_v6(&ss, "2001:db8::5", 40002);
	/* The spec's worst case (§2.1), here with upper-case digits. */
	const char *longest = "PROXY TCP6 FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF "
	                      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	assert_true(strlen(longest) <= PROXY_V1_MAX);
	assert_true(v1(longest, &ss, &why));
	assert_v6(&ss, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
}

static void
test_v1_unknown_keeps_the_peer(void **state)
{
	struct sockaddr_storage ss;
	const char *why;
	(void)state;
	memset(&ss, 0xff, sizeof(ss));
	assert_true(v1("PROXY UNKNOWN\r\n", &ss, &why));
	assert_int_equal(ss.ss_family, AF_UNSPEC);
	/* The spec lets a sender put anything after UNKNOWN. */
	assert_true(v1("PROXY UNKNOWN ffff:: 1.2.3.4 whatever 99999\r\n", &ss, &why));
	assert_int_equal(ss.ss_family, AF_UNSPEC);
}

static void
test_v1_refuses_bad_framing(void **state)
{
	(void)state;
	assert_v1_refused("");
	assert_v1_refused("\r\n");
	assert_v1_refused("PROXY\r\n");
	assert_v1_refused("PROXY \r\n");
	assert_v1_refused("proxy TCP4 192.0.2.7 127.0.0.1 40001 110\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 40001 110\n");   /* LF only */
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 40001 110\r");   /* CR only */
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 40001 110");     /* no end */
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 40001 110\r\n\r\n");
	assert_v1_refused("PROXY  TCP4 192.0.2.7 127.0.0.1 40001 110\r\n");
	assert_v1_refused("PROXY TCP4  192.0.2.7 127.0.0.1 40001 110\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 40001  110\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 40001 110 \r\n");
	assert_v1_refused(" PROXY TCP4 192.0.2.7 127.0.0.1 40001 110\r\n");
	assert_v1_refused("PROXY\tTCP4 192.0.2.7 127.0.0.1 40001 110\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 40001\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 40001 110 25\r\n");
	assert_v1_refused("PROXY TCP4\r\n");
	assert_v1_refused("PROXY TCP5 192.0.2.7 127.0.0.1 40001 110\r\n");
	assert_v1_refused("PROXY tcp4 192.0.2.7 127.0.0.1 40001 110\r\n");
	assert_v1_refused("PROXY UDP4 192.0.2.7 127.0.0.1 40001 110\r\n");
	assert_v1_refused("PROXY UNKNOWNX\r\n");
}

static void
test_v1_refuses_bad_ports(void **state)
{
	(void)state;
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 65536 110\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 110 65536\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 70000 110\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 4294967297 110\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 040001 110\r\n");  /* leading zero */
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 00 110\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 -1 110\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 +1 110\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 0x10 110\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1 1a 110\r\n");
}

static void
test_v1_refuses_addresses_that_do_not_parse(void **state)
{
	(void)state;
	assert_v1_refused("PROXY TCP4 300.0.2.7 127.0.0.1 40001 110\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2 127.0.0.1 40001 110\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2.07 127.0.0.1 40001 110\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2.7 127.0.0.1.1 40001 110\r\n");
	assert_v1_refused("PROXY TCP4 example.org 127.0.0.1 40001 110\r\n");
	/* Each family's addresses must be of that family. */
	assert_v1_refused("PROXY TCP4 2001:db8::1 127.0.0.1 40001 110\r\n");
	assert_v1_refused("PROXY TCP4 192.0.2.7 ::1 40001 110\r\n");
	assert_v1_refused("PROXY TCP6 192.0.2.7 ::1 40001 110\r\n");
	assert_v1_refused("PROXY TCP6 2001:db8::5 127.0.0.1 40001 110\r\n");
	assert_v1_refused("PROXY TCP6 2001:db8:::5 ::1 40001 110\r\n");
	assert_v1_refused("PROXY TCP6 [2001:db8::5] ::1 40001 110\r\n");
	assert_v1_refused("PROXY TCP6 fe80::1%eth0 ::1 40001 110\r\n");
}

static void
test_v1_refuses_nul_and_oversize(void **state)
{
	struct sockaddr_storage ss;
	const char *why;
	char line[PROXY_V1_MAX + 16];
	(void)state;
	static const char nul[] = "PROXY TCP4 192.0.2.7\0 127.0.0.1 40001 110\r\n";
	assert_false(proxy_parse_v1(nul, sizeof(nul) - 1, &ss, &why));

	/* UNKNOWN padded to exactly 107 octets is fine; 108 is not. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	memcpy(line + PROXY_V1_MAX - 2, "\r\n", 2);
	assert_true(proxy_parse_v1(line, PROXY_V1_MAX, &ss, &why));
	memcpy(line + PROXY_V1_MAX - 1, "\r\n", 2);
	assert_false(proxy_parse_v1(line, PROXY_V1_MAX + 1, &ss, &why));
	assert_non_null(why);
}

/* ---- v2 ---- */

/* A v2 header in BUF: CMD (0 LOCAL, 1 PROXY), FAM, then BODY. */
static size_t
v2(unsigned char *buf, unsigned cmd, unsigned fam, const void *body, size_t n)
{
	memcpy(buf, sig, sizeof(sig));
	buf[12] = (unsigned char)(0x20 | cmd);
	buf[13] = (unsigned char)fam;
	buf[14] = (unsigned char)(n >> 8);
	buf[15] = (unsigned char)n;
	if (n)
		memcpy(buf + PROXY_V2_FIXED, body, n);
	return PROXY_V2_FIXED + n;
}

static const unsigned char tcp4_body[] = {
	192, 0, 2, 7,  127, 0, 0, 1,  0x9c, 0x41,  0x00, 0x6e,
	/* TLVs: PP2_TYPE_NOOP "X", PP2_TYPE_AUTHORITY "mail" */
	0x04, 0x00, 0x01, 'X',  0x02, 0x00, 0x04, 'm', 'a', 'i', 'l',
};

static void
test_v2_proxy_tcp4_with_tlvs(void **state)
{
	unsigned char buf[128];
	struct sockaddr_storage ss;
	const char *why = NULL;
	size_t rest = 0;
	(void)state;
	size_t n = v2(buf, 1, 0x11, tcp4_body, sizeof(tcp4_body));
	assert_true(proxy_v2_fixed(buf, &rest, &why));
	assert_int_equal(rest, sizeof(tcp4_body));
	assert_true(proxy_parse_v2(buf, n, &ss, &why));
	assert_v4(&ss, "192.0.2.7", 40001);
	/* Exactly the addresses, no TLV. */
	n = v2(buf, 1, 0x11, tcp4_body, 12);
	assert_true(proxy_parse_v2(buf, n, &ss, &why));
	assert_v4(&ss, "192.0.2.7", 40001);
}

static void
test_v2_proxy_tcp6(void **state)
{
	unsigned char body[36 + 4], buf[128];
	struct sockaddr_storage ss;
	const char *why;
	(void)state;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::77", body), 1);
	assert_int_equal(inet_pton(AF_INET6, "::1", body + 16), 1);
	body[32] = 0x9c, body[33] = 0x44, body[34] = 0, body[35] = 110;
	memcpy(body + 36, "\x04\x00\x01X", 4);
	size_t n = v2(buf, 1, 0x21, body, sizeof(body));
	assert_true(proxy_parse_v2(buf, n, &ss, &why));
	assert_v6(&ss, "2001:db8::77", 40004);
}

static void
test_v2_local_unspec_and_unix_keep_the_peer(void **state)
{
	unsigned char buf[300], unix_body[216];
	struct sockaddr_storage ss;
	const char *why;
	(void)state;
	memset(unix_body, 0, sizeof(unix_body));
	struct { unsigned cmd, fam; const void *body; size_t n; } ok[] = {
		{ 0, 0x00, "", 0 },                              /* LOCAL, UNSPEC */
		{ 0, 0x11, tcp4_body, sizeof(tcp4_body) },       /* LOCAL ignores addresses */
		{ 0, 0x11, "", 0 },                              /* even missing ones */
		{ 0, 0x99, "", 0 },                              /* and unknown families */
		{ 1, 0x00, "\x04\x00\x01X", 4 },                 /* PROXY, UNSPEC, a TLV */
		{ 1, 0x31, unix_body, sizeof(unix_body) },       /* PROXY over AF_UNIX */
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		memset(&ss, 0xff, sizeof(ss));
		size_t n = v2(buf, ok[i].cmd, ok[i].fam, ok[i].body, ok[i].n);
		if (!proxy_parse_v2(buf, n, &ss, &why))
			fail_msg("case %zu refused: %s", i, why);
		assert_int_equal(ss.ss_family, AF_UNSPEC);
	}
}

static void
assert_v2_refused(const unsigned char *buf, size_t n, const char *why_part)
{
	struct sockaddr_storage ss;
	const char *why = NULL;
	assert_false(proxy_parse_v2(buf, n, &ss, &why));
	assert_non_null(why);
	if (!strstr(why, why_part))
		fail_msg("\"%s\" does not say \"%s\"", why, why_part);
}

static void
test_v2_refuses_bad_fixed_parts(void **state)
{
	unsigned char buf[128];
	size_t rest;
	const char *why;
	(void)state;
	size_t n = v2(buf, 1, 0x11, tcp4_body, 12);
	for (size_t i = 0; i < sizeof(sig); i++) {
		buf[i] ^= 0x20;
		assert_v2_refused(buf, n, "signature");
		assert_false(proxy_v2_fixed(buf, &rest, &why));
		buf[i] ^= 0x20;
	}
	buf[12] = 0x11; /* version 1 in binary form */
	assert_v2_refused(buf, n, "version");
	buf[12] = 0x31; /* version 3 */
	assert_v2_refused(buf, n, "version");
	buf[12] = 0x22; /* command 2 */
	assert_v2_refused(buf, n, "command");
	buf[12] = 0x2f;
	assert_v2_refused(buf, n, "command");
}

static void
test_v2_refuses_lengths_that_do_not_fit(void **state)
{
	static unsigned char buf[PROXY_V2_FIXED + PROXY_V2_REST_MAX + 16];
	static const unsigned char zeros[PROXY_V2_REST_MAX + 1];
	size_t rest;
	const char *why;
	(void)state;
	size_t n = v2(buf, 1, 0x11, tcp4_body, 12);
	/* Truncated anywhere: in the fixed part or in the addresses. */
	for (size_t k = 0; k < n; k++)
		assert_v2_refused(buf, k, k < PROXY_V2_FIXED ? "" : "length");
	/* More octets than the length says. */
	assert_v2_refused(buf, n + 1, "length");
	/* The largest length allowed, then one more. */
	n = v2(buf, 1, 0x11, zeros, PROXY_V2_REST_MAX);
	assert_true(proxy_v2_fixed(buf, &rest, &why));
	assert_int_equal(rest, PROXY_V2_REST_MAX);
	struct sockaddr_storage ss;
	assert_true(proxy_parse_v2(buf, n, &ss, &why));
	n = v2(buf, 1, 0x11, zeros, PROXY_V2_REST_MAX + 1);
	assert_false(proxy_v2_fixed(buf, &rest, &why));
	assert_v2_refused(buf, n, "too long");
	buf[14] = 0xff, buf[15] = 0xff;
	assert_v2_refused(buf, n, "too long");
}

static void
test_v2_refuses_short_addresses_and_other_transports(void **state)
{
	unsigned char buf[128], body[36];
	(void)state;
	memset(body, 0, sizeof(body));
	size_t n = v2(buf, 1, 0x11, body, 11);
	assert_v2_refused(buf, n, "shorter");
	n = v2(buf, 1, 0x21, body, 35);
	assert_v2_refused(buf, n, "shorter");
	n = v2(buf, 1, 0x21, body, 12); /* an IPv4 body labelled IPv6 */
	assert_v2_refused(buf, n, "shorter");
	static const unsigned fams[] = { 0x01, 0x10, 0x12, 0x20, 0x22, 0x32, 0x41, 0xff };
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		n = v2(buf, 1, fams[i], body, sizeof(body));
		assert_v2_refused(buf, n, "only TCP");
	}
}

/* ---- proxy_read: the header and not one octet more ---- */

static bool
read_from_pipe(const void *data, size_t n, struct sockaddr_storage *ss, char *after,
               size_t aftersz)
{
	int p[2];
	const char *why;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], data, n), (ssize_t)n);
	close(p[1]);
	bool ok = proxy_read(p[0], 1000, ss, &why);
	ssize_t k = read(p[0], after, aftersz - 1);
	assert_true(k >= 0);
	after[k] = '\0';
	close(p[0]);
	return ok;
}

static void
test_read_stops_at_the_end_of_the_header(void **state)
{
	unsigned char buf[128];
	char after[64];
	struct sockaddr_storage ss;
	(void)state;
	static const char one[] = "PROXY TCP4 192.0.2.7 127.0.0.1 40001 110\r\nCAPA\r\n";
	assert_true(read_from_pipe(one, sizeof(one) - 1, &ss, after, sizeof(after)));
	assert_v4(&ss, "192.0.2.7", 40001);
	assert_string_equal(after, "CAPA\r\n");

	size_t n = v2(buf, 1, 0x11, tcp4_body, sizeof(tcp4_body));
	memcpy(buf + n, "USER alice\r\n", 12);
	assert_true(read_from_pipe(buf, n + 12, &ss, after, sizeof(after)));
	assert_v4(&ss, "192.0.2.7", 40001);
	assert_string_equal(after, "USER alice\r\n");
}

static void
test_read_refuses_what_is_not_a_header(void **state)
{
	char after[256];
	struct sockaddr_storage ss;
	(void)state;
	assert_false(read_from_pipe("USER alice\r\n", 12, &ss, after, sizeof(after)));
	assert_false(read_from_pipe("PROXY TCP4 192.0.2.7", 20, &ss, after, sizeof(after)));
	assert_false(read_from_pipe("", 0, &ss, after, sizeof(after)));
	/* A v1 line longer than 107 octets is refused without reading on. */
	char line[200];
	memset(line, 'A', sizeof(line));
	memcpy(line, "PROXY ", 6);
	assert_false(read_from_pipe(line, sizeof(line), &ss, after, sizeof(after)));
	assert_int_equal(strlen(after), sizeof(line) - PROXY_V1_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_tcp4),
		cmocka_unit_test(test_v1_tcp6),
		cmocka_unit_test(test_v1_unknown_keeps_the_peer),
		cmocka_unit_test(test_v1_refuses_bad_framing),
		cmocka_unit_test(test_v1_refuses_bad_ports),
		cmocka_unit_test(test_v1_refuses_addresses_that_do_not_parse),
		cmocka_unit_test(test_v1_refuses_nul_and_oversize),
		cmocka_unit_test(test_v2_proxy_tcp4_with_tlvs),
		cmocka_unit_test(test_v2_proxy_tcp6),
		cmocka_unit_test(test_v2_local_unspec_and_unix_keep_the_peer),
		cmocka_unit_test(test_v2_refuses_bad_fixed_parts),
		cmocka_unit_test(test_v2_refuses_lengths_that_do_not_fit),
		cmocka_unit_test(test_v2_refuses_short_addresses_and_other_transports),
		cmocka_unit_test(test_read_stops_at_the_end_of_the_header),
		cmocka_unit_test(test_read_refuses_what_is_not_a_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
