/* The monitor channel's framing (src/ipc.h): whole messages, bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc.h"

static int sv[2];

static int
pair_setup(void **state)
{
	(void)state;
	return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}

static int
pair_teardown(void **state)
{
	(void)state;
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	return 0;
}

static void
test_round_trip_with_tail(void **state)
{
	(void)state;
	struct ipc_out o;
	ipc_out_init(&o);
	ipc_put_u64(&o, 0x0102030405060708ull);
	ipc_put_str(&o, "alice");
	assert_true(ipc_send(sv[0], 7, &o, "TAIL", 4));
	ipc_out_free(&o);

	unsigned type;
	size_t len;
	unsigned char buf[64];
	assert_int_equal(ipc_recv_head(sv[1], &type, &len, sizeof(buf)), 1);
	assert_int_equal(type, 7);
	assert_int_equal(len, 8 + 6 + 4);
	assert_true(ipc_recv_body(sv[1], buf, len));
	struct ipc_in in;
	ipc_in_init(&in, buf, len);
	assert_true(ipc_get_u64(&in) == 0x0102030405060708ull);
	assert_string_equal(ipc_get_str(&in, 64), "alice");
	assert_false(in.bad);
	assert_memory_equal(buf + in.pos, "TAIL", 4);
}

/* A message sent in pieces reads as one; the buffer empties after each. */
static void
test_sent_in_pieces(void **state)
{
	(void)state;
	struct ipc_out o;
	unsigned type;
	size_t len;
	unsigned char buf[32];
	ipc_out_init(&o);
	assert_true(ipc_send_head(sv[0], 66, 14));
	ipc_put_u64(&o, 7);
	assert_true(ipc_send_part(sv[0], &o));
	assert_int_equal(o.len, 0);
	assert_true(ipc_send_part(sv[0], &o)); /* an empty piece sends nothing */
	ipc_put_str(&o, "bob12");
	assert_true(ipc_send_part(sv[0], &o));
	ipc_out_free(&o);
	assert_int_equal(ipc_recv_head(sv[1], &type, &len, 64), 1);
	assert_int_equal(type, 66);
	assert_int_equal(len, 14);
	assert_true(ipc_recv_body(sv[1], buf, len));
	struct ipc_in in;
	ipc_in_init(&in, buf, len);
	assert_true(ipc_get_u64(&in) == 7);
	assert_string_equal(ipc_get_str(&in, 8), "bob12");
	assert_int_equal(in.pos, len);
	/* More than a message holds is refused before anything is sent. */
	assert_false(ipc_send_head(sv[0], 66, UINT32_MAX));
}

static void
test_empty_message_and_eof(void **state)
{
	(void)state;
	unsigned type;
	size_t len;
	assert_true(ipc_send(sv[0], 9, NULL, NULL, 0));
	assert_int_equal(ipc_recv_head(sv[1], &type, &len, 0), 1);
	assert_int_equal(type, 9);
	assert_int_equal(len, 0);
	close(sv[0]);
	sv[0] = socket(AF_UNIX, SOCK_STREAM, 0); /* for teardown */
	assert_int_equal(ipc_recv_head(sv[1], &type, &len, 0), 0);
}

static void
test_oversize_and_short_header_refused(void **state)
{
	(void)state;
	unsigned type;
	size_t len;
	unsigned char big[] = { 0, 0, 1, 0, 1 }; /* 256 octets announced */
	assert_int_equal(write(sv[0], big, sizeof(big)), (ssize_t)sizeof(big));
	assert_int_equal(ipc_recv_head(sv[1], &type, &len, 100), -1);

	unsigned char zero[] = { 0, 0, 0, 0, 1 }; /* no room for the type */
	assert_int_equal(write(sv[0], zero, sizeof(zero)), (ssize_t)sizeof(zero));
	assert_int_equal(ipc_recv_head(sv[1], &type, &len, 100), -1);

	unsigned char part[] = { 0, 0 };
	assert_int_equal(write(sv[0], part, sizeof(part)), (ssize_t)sizeof(part));
	close(sv[0]);
	sv[0] = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(ipc_recv_head(sv[1], &type, &len, 100), -1);
}

static void
test_reader_bounds(void **state)
{
	(void)state;
	const unsigned char no_nul[] = { 'a', 'b', 'c' };
	struct ipc_in in;
	ipc_in_init(&in, no_nul, sizeof(no_nul));
	assert_string_equal(ipc_get_str(&in, 64), "");
	assert_true(in.bad);

	const unsigned char too_long[] = "abcdef";
	ipc_in_init(&in, too_long, sizeof(too_long));
	assert_string_equal(ipc_get_str(&in, 3), "");
	assert_true(in.bad);

	const unsigned char short_num[] = { 1, 2, 3 };
	ipc_in_init(&in, short_num, sizeof(short_num));
	assert_true(ipc_get_u64(&in) == 0);
	assert_true(in.bad);
	/* Once bad, always bad: a later field is never read from garbage. */
	assert_string_equal(ipc_get_str(&in, 64), "");
}

static void
test_body_cut_short(void **state)
{
	(void)state;
	unsigned char buf[16];
	assert_int_equal(write(sv[0], "abc", 3), 3);
	close(sv[0]);
	sv[0] = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_false(ipc_recv_body(sv[1], buf, 8));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_with_tail, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_sent_in_pieces, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_empty_message_and_eof, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_oversize_and_short_header_refused, pair_setup, pair_teardown),
		cmocka_unit_test(test_reader_bounds),
		cmocka_unit_test_setup_teardown(test_body_cut_short, pair_setup, pair_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
