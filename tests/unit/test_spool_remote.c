/*
 * The remote backend (spool/remote.c) fed by a hostile monitor: a listing
 * that is truncated, overlong, or carries a bad count or uid must give
 * SPOOL_ETEMP, never a crash or a read past the payload; a good one must
 * read back exactly as sent, marks included.
 *
 * No monitor runs: the replies are written into a socket pair before the
 * call that reads them (they are small enough for its buffer), and the
 * requests the backend sent are read back afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc.h"
#include "privsep.h"
#include "remote.h"
#include "spool.h"

struct fx {
	int ours;   /* the monitor's end, written and read by the test */
	int theirs; /* the protocol process's end, given to spool_use_remote */
};

static int
setup(void **state)
{
	int sv[2];
	struct fx *f = calloc(1, sizeof *f);
	if (!f || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return -1;
	f->ours = sv[0];
	f->theirs = sv[1];
	spool_use_remote(f->theirs);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	close(f->ours);
	close(f->theirs);
	free(f);
	return 0;
}

/* A listing of N messages: code, count, hidden, then (size, uid) each. */
static void
listing(struct ipc_out *o, uint64_t code, uint64_t count, size_t n,
        const uint64_t *sizes, const char *const *uids)
{
	ipc_out_init(o);
	ipc_put_u64(o, code);
	ipc_put_u64(o, count);
	ipc_put_u64(o, 3); /* hidden */
	for (size_t i = 0; i < n; i++) {
		ipc_put_u64(o, sizes[i]);
		ipc_put_str(o, uids[i]);
	}
}

/* Queues a reply of TYPE with the first LEN octets of O. */
static void
queue(struct fx *f, unsigned type, const struct ipc_out *o, size_t len)
{
	struct ipc_out cut = { .p = o->p, .len = len, .cap = o->cap };
	assert_true(ipc_send(f->ours, type, &cut, NULL, 0));
}

static void
queue_code(struct fx *f, unsigned type, uint64_t code)
{
	struct ipc_out o;
	ipc_out_init(&o);
	ipc_put_u64(&o, code);
	queue(f, type, &o, o.len);
	ipc_out_free(&o);
}

/* Reads the next request the backend sent; its payload into BUF. */
static unsigned
request(struct fx *f, unsigned char *buf, size_t cap, size_t *len_r)
{
	unsigned type;
	size_t len;
	assert_int_equal(ipc_recv_head(f->ours, &type, &len, cap), 1);
	assert_true(ipc_recv_body(f->ours, buf, len));
	*len_r = len;
	return type;
}

/* Opens with the first LEN octets of the listing O.  Once the code
 * said SPOOL_OK (LEN >= 8 here), a listing that fails to parse is closed
 * again, which asks for PS_CLOSE: its answer is queued beforehand, and
 * left for the spool_close of an open that succeeds. */
static enum spool_err
open_with(struct fx *f, const struct ipc_out *o, size_t len, struct spool **sp_r)
{
	bool closes = len >= 8;
	queue(f, PS_LISTING, o, len);
	if (closes)
		queue_code(f, PS_RESULT, SPOOL_OK);
	struct spool_where w = { .mailbox = "/nonexistent/%u" };
	enum spool_err e = spool_open(&w, "alice", NULL, sp_r);
	unsigned char buf[256];
	size_t n;
	assert_int_equal(request(f, buf, sizeof buf, &n), PS_OPEN);
	if (e != SPOOL_OK && closes)
		assert_int_equal(request(f, buf, sizeof buf, &n), PS_CLOSE);
	return e;
}

static const uint64_t SIZES[] = { 120, 0, 99999999999ull };
static const char *const UIDS[] = { "1700000000.M1P2.host", "!", "~abc" };

static void
test_good_listing_reads_back(void **state)
{
	struct fx *f = *state;
	struct ipc_out o;
	struct spool *sp;
	listing(&o, SPOOL_OK, 3, 3, SIZES, UIDS);
	queue(f, PS_LISTING, &o, o.len);
	ipc_out_free(&o);
	struct spool_where w = { .mailbox = "/nonexistent/%u" };
	assert_int_equal(spool_open(&w, "alice", NULL, &sp), SPOOL_OK);
	assert_int_equal(spool_count(sp), 3);
	assert_int_equal(spool_hidden(sp), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_true(spool_size(sp, i) == SIZES[i]);
		assert_string_equal(spool_uid(sp, i), UIDS[i]);
		assert_false(spool_is_deleted(sp, i));
	}
	assert_true(spool_size(sp, 3) == 0);
	assert_string_equal(spool_uid(sp, 3), "");
	assert_true(spool_live_size(sp) == 120 + 99999999999ull);

	/* Envelopes are asked for on first use, all at once. */
	ipc_out_init(&o);
	ipc_put_u64(&o, SPOOL_OK);
	ipc_put_u64(&o, 3);
	ipc_put_str(&o, "From a");
	ipc_put_str(&o, "From b");
	ipc_put_str(&o, "From c");
	queue(f, PS_ENVELOPE_LIST, &o, o.len);
	ipc_out_free(&o);
	assert_string_equal(spool_envelope(sp, 1), "From b");
	assert_string_equal(spool_envelope(sp, 2), "From c");
	assert_string_equal(spool_envelope(sp, 3), "");

	spool_set_deleted(sp, 1, true);
	spool_set_deleted(sp, 7, true); /* out of range: ignored */
	assert_true(spool_is_deleted(sp, 1));
	assert_int_equal(spool_live_count(sp), 2);
	assert_true(spool_live_size(sp) == 120 + 99999999999ull);
	spool_set_deleted(sp, 0, true);
	spool_undelete_all(sp);
	assert_int_equal(spool_live_count(sp), 3);
	spool_set_deleted(sp, 2, true);

	queue_code(f, PS_RESULT, SPOOL_OK); /* the commit */
	queue_code(f, PS_RESULT, SPOOL_OK); /* the close */
	assert_int_equal(spool_commit(sp), SPOOL_OK);

	unsigned char buf[256];
	size_t n;
	assert_int_equal(request(f, buf, sizeof buf, &n), PS_OPEN);
	assert_int_equal(request(f, buf, sizeof buf, &n), PS_ENVELOPES);
	assert_int_equal(request(f, buf, sizeof buf, &n), PS_COMMIT);
	assert_int_equal(n, 3);
	assert_memory_equal(buf, "\0\0\1", 3);
	assert_int_equal(request(f, buf, sizeof buf, &n), PS_CLOSE);
}

/* Every proper prefix of a good listing is refused. */
static void
test_truncated_listing_refused(void **state)
{
	struct fx *f = *state;
	struct ipc_out o;
	struct spool *sp;
	listing(&o, SPOOL_OK, 3, 3, SIZES, UIDS);
	for (size_t len = 0; len < o.len; len++) {
		assert_int_equal(open_with(f, &o, len, &sp), SPOOL_ETEMP);
		assert_null(sp);
	}
	ipc_out_free(&o);
}

static void
test_hostile_listing_refused(void **state)
{
	struct fx *f = *state;
	struct ipc_out o;
	struct spool *sp;

	/* More messages claimed than sent, or far more than could fit. */
	uint64_t counts[] = { 4, 1000, (uint64_t)1 << 40, UINT64_MAX };
	for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
		listing(&o, SPOOL_OK, counts[i], 3, SIZES, UIDS);
		assert_int_equal(open_with(f, &o, o.len, &sp), SPOOL_ETEMP);
		ipc_out_free(&o);
	}
	/* Fewer claimed than sent: the rest is garbage. */
	listing(&o, SPOOL_OK, 2, 3, SIZES, UIDS);
	assert_int_equal(open_with(f, &o, o.len, &sp), SPOOL_ETEMP);
	ipc_out_free(&o);

	/* Uids that are not uids: empty, a space, a control octet, 71
	 * octets, 8-bit. */
	char longest[72];
	memset(longest, 'x', 71);
	longest[71] = '\0';
	const char *bad[] = { "", "a b", "a\tb", longest, "caf\xc3\xa9" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		const char *uids[] = { "ok", bad[i], "ok2" };
		listing(&o, SPOOL_OK, 3, 3, SIZES, uids);
		assert_int_equal(open_with(f, &o, o.len, &sp), SPOOL_ETEMP);
		ipc_out_free(&o);
	}
	/* 70 octets is the longest uid. */
	longest[70] = '\0';
	const char *uids[] = { "ok", longest, "ok2" };
	listing(&o, SPOOL_OK, 3, 3, SIZES, uids);
	assert_int_equal(open_with(f, &o, o.len, &sp), SPOOL_OK);
	assert_string_equal(spool_uid(sp, 1), longest);
	ipc_out_free(&o);
	spool_close(sp);
	unsigned char buf[64];
	size_t n;
	assert_int_equal(request(f, buf, sizeof buf, &n), PS_CLOSE);

	/* A last uid without its NUL. */
	listing(&o, SPOOL_OK, 3, 3, SIZES, UIDS);
	o.p[o.len - 1] = 'x';
	assert_int_equal(open_with(f, &o, o.len, &sp), SPOOL_ETEMP);
	ipc_out_free(&o);

	/* An error code passes through; an unknown one is a temporary
	 * failure. */
	listing(&o, SPOOL_EINUSE, 0, 0, NULL, NULL);
	queue(f, PS_LISTING, &o, 8);
	struct spool_where w = { .mailbox = "/nonexistent/%u" };
	assert_int_equal(spool_open(&w, "alice", NULL, &sp), SPOOL_EINUSE);
	assert_int_equal(request(f, buf, sizeof buf, &n), PS_OPEN);
	ipc_out_free(&o);
	listing(&o, 1000, 0, 0, NULL, NULL);
	queue(f, PS_LISTING, &o, 8);
	assert_int_equal(spool_open(&w, "alice", NULL, &sp), SPOOL_ETEMP);
	assert_int_equal(request(f, buf, sizeof buf, &n), PS_OPEN);
	ipc_out_free(&o);
}

/* An empty maildrop is a listing of no messages. */
static void
test_empty_listing(void **state)
{
	struct fx *f = *state;
	struct ipc_out o;
	struct spool *sp;
	listing(&o, SPOOL_OK, 0, 0, NULL, NULL);
	assert_int_equal(open_with(f, &o, o.len, &sp), SPOOL_OK);
	ipc_out_free(&o);
	assert_int_equal(spool_count(sp), 0);
	assert_int_equal(spool_live_count(sp), 0);
	spool_close(sp);
	unsigned char buf[64];
	size_t n;
	assert_int_equal(request(f, buf, sizeof buf, &n), PS_CLOSE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_listing_reads_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_listing_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_listing_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_listing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
