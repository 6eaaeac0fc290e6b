/*
 * Session I/O over a socketpair: line ends, the line bound, NUL octets,
 * end of file, the idle and write timers, buffered output (one write for a
 * pipelined batch), a vanished peer and a stop request.
 *
 * read() and write() are wrapped for the server's descriptor so a test can
 * chop input into small reads, count writes, and inject EINTR, EAGAIN,
 * short writes and hard errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netio.h"
#include "wire.h"

/* What the wrappers do to the server's descriptor. */
struct seam {
	int fd;               /* the server's end; -1: wrap nothing */
	size_t read_chunk;    /* >0: at most this many octets per read() */
	size_t write_chunk;   /* >0: at most this many octets per write() */
	unsigned writes;      /* write() calls on fd */
	int write_errno[4];   /* errors for the next write() calls, 0 = none */
	unsigned write_errors;
};

static struct seam seam = { .fd = -1 };

ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_read(int fd, void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);

ssize_t
__wrap_read(int fd, void *buf, size_t n)
{
	if (fd == seam.fd && seam.read_chunk > 0 && n > seam.read_chunk)
		n = seam.read_chunk;
	return __real_read(fd, buf, n);
}

ssize_t
__wrap_write(int fd, const void *buf, size_t n)
{
	if (fd != seam.fd)
		return __real_write(fd, buf, n);
	seam.writes++;
	if (seam.write_errors < 4 && seam.write_errno[seam.write_errors]) {
		errno = seam.write_errno[seam.write_errors++];
		return -1;
	}
	if (seam.write_chunk > 0 && n > seam.write_chunk)
		n = seam.write_chunk;
	return __real_write(fd, buf, n);
}

struct fixture {
	struct netio io;  /* big: lives on the heap, not the stack */
	int peer;         /* the client's end, blocking */
	char line[LINE_MAX_OCTETS];
	size_t len;
};

static int
setup(void **state)
{
	int sv[2];
	struct fixture *fx = calloc(1, sizeof *fx);
	if (!fx || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return -1;
	netio_init(&fx->io, sv[0], sv[0]);
	fx->peer = sv[1];
	seam = (struct seam){ .fd = sv[0] };
	netio_stop_requested = 0;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	seam = (struct seam){ .fd = -1 };
	netio_stop_requested = 0;
	close(fx->io.rfd);
	if (fx->peer >= 0)
		close(fx->peer);
	free(fx);
	return 0;
}

/* The client sends TEXT (LEN octets). */
static void
send_n(struct fixture *fx, const char *text, size_t len)
{
	assert_int_equal(__real_write(fx->peer, text, len), (ssize_t)len);
}

static void
send_s(struct fixture *fx, const char *text)
{
	send_n(fx, text, strlen(text));
}

static enum netio_status
read_line(struct fixture *fx)
{
	memset(fx->line, 'Z', sizeof fx->line);
	fx->len = 12345;
	return netio_read_line(&fx->io, fx->line, sizeof fx->line, &fx->len);
}

static void
expect_line(struct fixture *fx, const char *want)
{
	assert_int_equal(read_line(fx), NETIO_LINE);
	assert_int_equal(fx->len, strlen(want));
	assert_string_equal(fx->line, want);
}

/* What the client has received so far, without waiting. */
static size_t
received(struct fixture *fx, char *buf, size_t cap)
{
	ssize_t n = recv(fx->peer, buf, cap - 1, MSG_DONTWAIT);
	if (n < 0) {
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		n = 0;
	}
	buf[n] = '\0';
	return (size_t)n;
}

static void
test_line_ends(void **state)
{
	struct fixture *fx = *state;

	send_s(fx, "lf\ncrlf\r\ncr\rlast\n\n");
	expect_line(fx, "lf");
	expect_line(fx, "crlf");
	expect_line(fx, "cr");
	expect_line(fx, "last");
	expect_line(fx, "");
	/* A bare CR then a CRLF are two line ends. */
	send_s(fx, "a\r\r\nb\n");
	expect_line(fx, "a");
	expect_line(fx, "");
	expect_line(fx, "b");
	assert_false(netio_line_pending(&fx->io));
}

static void
test_line_ends_in_small_reads(void **state)
{
	struct fixture *fx = *state;

	seam.read_chunk = 1;
	send_s(fx, "USER alice\r\nPASS x\rSTAT\nQUIT\r\n");
	expect_line(fx, "USER alice");
	expect_line(fx, "PASS x");
	expect_line(fx, "STAT");
	expect_line(fx, "QUIT");
	shutdown(fx->peer, SHUT_WR);
	assert_int_equal(read_line(fx), NETIO_EOF);
}

/* The CR and the LF of one CRLF arrive in separate packets. */
static void
test_split_crlf_is_one_line_end(void **state)
{
	struct fixture *fx = *state;

	send_s(fx, "one\r");
	expect_line(fx, "one");
	send_s(fx, "\ntwo\r");
	expect_line(fx, "two");
	send_s(fx, "\n");
	send_s(fx, "three\n");
	expect_line(fx, "three");
	/* An LF that is not right after the CR is a line end of its own. */
	send_s(fx, "four\r");
	expect_line(fx, "four");
	send_s(fx, "x\n\n");
	expect_line(fx, "x");
	expect_line(fx, "");
}

static void
test_line_limit(void **state)
{
	struct fixture *fx = *state;
	char buf[8];
	size_t len = 0;

	/* CAP - 1 octets fit; CAP do not. */
	send_s(fx, "1234567\n12345678\nnext\n");
	assert_int_equal(netio_read_line(&fx->io, buf, sizeof buf, &len), NETIO_LINE);
	assert_int_equal(len, 7);
	assert_string_equal(buf, "1234567");
	assert_int_equal(netio_read_line(&fx->io, buf, sizeof buf, &len),
	                 NETIO_TOOLONG);
	assert_int_equal(netio_read_line(&fx->io, buf, sizeof buf, &len), NETIO_LINE);
	assert_string_equal(buf, "next");
}

/* An overlong line spread over many reads is reported once, and its tail
 * never comes back as a line of its own. */
static void
test_overlong_line_reported_once(void **state)
{
	struct fixture *fx = *state;
	size_t n = 3 * NETIO_INBUF + 100;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, 'x', n);
	memcpy(big + n - 12, " DELE 1", 7); /* the tail must not run */

	seam.read_chunk = 1000;
	send_n(fx, big, n - 5);
	send_s(fx, "\r");
	send_s(fx, "\nNOOP\r\n");
	assert_int_equal(read_line(fx), NETIO_TOOLONG);
	expect_line(fx, "NOOP");
	free(big);

	/* A line just over the caller's buffer, CRLF split after it. */
	memset(fx->line, 0, sizeof fx->line);
	char over[LINE_MAX_OCTETS + 1];
	memset(over, 'y', sizeof over);
	seam.read_chunk = 0;
	send_n(fx, over, sizeof over - 1); /* LINE_MAX_OCTETS octets: one too many */
	send_s(fx, "\r");
	assert_int_equal(read_line(fx), NETIO_TOOLONG);
	send_s(fx, "\nSTAT\n");
	expect_line(fx, "STAT");
	/* LINE_MAX_OCTETS - 1 is the longest line the session buffer takes. */
	send_n(fx, over, sizeof over - 2);
	send_s(fx, "\n");
	assert_int_equal(read_line(fx), NETIO_LINE);
	assert_int_equal(fx->len, LINE_MAX_OCTETS - 1);
}

static void
test_nul_octets_kept(void **state)
{
	struct fixture *fx = *state;

	send_n(fx, "US\0ER a\0\n\0\n", 11);
	assert_int_equal(read_line(fx), NETIO_LINE);
	assert_int_equal(fx->len, 8);
	assert_memory_equal(fx->line, "US\0ER a\0", 9); /* and terminated */
	assert_int_equal(read_line(fx), NETIO_LINE);
	assert_int_equal(fx->len, 1);
	assert_int_equal(fx->line[0], '\0');
}

static void
test_eof(void **state)
{
	struct fixture *fx = *state;

	send_s(fx, "QUIT\r\npartial");
	shutdown(fx->peer, SHUT_WR);
	expect_line(fx, "QUIT");
	/* A last line without a line end is not a command. */
	assert_int_equal(read_line(fx), NETIO_EOF);
	assert_int_equal(read_line(fx), NETIO_EOF);
}

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_idle_timeout(void **state)
{
	struct fixture *fx = *state;

	fx->io.idle_timeout = 1;
	send_s(fx, "NOOP\n");
	expect_line(fx, "NOOP"); /* a buffered line does not wait */
	double t0 = now();
	assert_int_equal(read_line(fx), NETIO_TIMEOUT);
	double took = now() - t0;
	assert_true(took >= 0.9 && took < 5.0);

	/* A partial line does not reset the timer into a line. */
	send_s(fx, "NO");
	assert_int_equal(read_line(fx), NETIO_TIMEOUT);
}

/* Replies stay buffered while a complete command is buffered, and go out
 * in one write when the reader would block (RFC 2449 §6.6). */
static void
test_pipelined_replies_in_one_write(void **state)
{
	struct fixture *fx = *state;
	char got[256];

	send_s(fx, "STAT\r\nNOOP\r\n");
	expect_line(fx, "STAT");
	netio_puts(&fx->io, "+OK 2 320\r\n");
	assert_true(netio_line_pending(&fx->io));
	expect_line(fx, "NOOP");
	netio_printf(&fx->io, "%s %d%c\r\n", "+OK", 7, '!');
	assert_int_equal(received(fx, got, sizeof got), 0);
	assert_int_equal(seam.writes, 0);
	assert_false(netio_line_pending(&fx->io));

	shutdown(fx->peer, SHUT_WR);
	assert_int_equal(read_line(fx), NETIO_EOF);
	assert_int_equal(seam.writes, 1);
	assert_int_equal(received(fx, got, sizeof got), 19);
	assert_string_equal(got, "+OK 2 320\r\n+OK 7!\r\n");
	assert_true(fx->io.octets_out == 19);
	assert_true(fx->io.octets_in == 12);
}

static void
test_flush_writes_everything(void **state)
{
	struct fixture *fx = *state;
	char got[256];

	netio_write(&fx->io, "+OK a\0b\r\n", 9);
	netio_printf(&fx->io, "%zu %s\r\n", (size_t)3, "three");
	assert_int_equal(received(fx, got, sizeof got), 0);
	assert_true(netio_flush(&fx->io));
	assert_int_equal(received(fx, got, sizeof got), 18);
	assert_memory_equal(got, "+OK a\0b\r\n3 three\r\n", 18);
	/* Nothing left over to send twice. */
	assert_true(netio_flush(&fx->io));
	assert_int_equal(received(fx, got, sizeof got), 0);
}

/* EINTR and EAGAIN are retried; short writes are continued. */
static void
test_flush_retries(void **state)
{
	struct fixture *fx = *state;
	char got[256];

	seam.write_errno[0] = EINTR;
	seam.write_errno[1] = EAGAIN;
	seam.write_chunk = 3;
	netio_puts(&fx->io, "+OK short writes\r\n");
	assert_true(netio_flush(&fx->io));
	assert_false(fx->io.failed);
	assert_int_equal(received(fx, got, sizeof got), 18);
	assert_string_equal(got, "+OK short writes\r\n");
	assert_true(seam.writes >= 2 + 6);
}

/* A hard write error is sticky: later output is dropped, reads fail. */
static void
test_write_error_sticky(void **state)
{
	struct fixture *fx = *state;
	char got[256];

	seam.write_errno[0] = EIO;
	netio_puts(&fx->io, "+OK lost\r\n");
	assert_false(netio_flush(&fx->io));
	assert_true(fx->io.failed);
	unsigned writes = seam.writes;
	netio_puts(&fx->io, "+OK also lost\r\n");
	assert_false(netio_flush(&fx->io));
	assert_int_equal(seam.writes, writes);
	send_s(fx, "NOOP\n");
	assert_int_equal(read_line(fx), NETIO_ERROR);
	assert_int_equal(received(fx, got, sizeof got), 0);
}

static void
test_closed_peer(void **state)
{
	struct fixture *fx = *state;

	signal(SIGPIPE, SIG_IGN);
	close(fx->peer);
	fx->peer = -1;
	netio_puts(&fx->io, "+OK nobody listens\r\n");
	assert_false(netio_flush(&fx->io));
	assert_true(fx->io.failed);
	/* Output bigger than the buffer: dropped, no crash, no hang. */
	static char big[NETIO_OUTBUF * 2];
	memset(big, 'x', sizeof big);
	netio_write(&fx->io, big, sizeof big);
	assert_false(netio_flush(&fx->io));
	assert_int_not_equal(read_line(fx), NETIO_LINE);
	signal(SIGPIPE, SIG_DFL);
}

/* Flushes the rest to the reader PID forked with the peer's end, which
 * must then have seen TOTAL octets as it expected and exited 0. */
static void
flush_to_reader(struct fixture *fx, pid_t pid, size_t total)
{
	assert_true(netio_flush(&fx->io));
	assert_true(fx->io.octets_out == total);
	close(fx->io.rfd);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	fx->io.rfd = socket(AF_UNIX, SOCK_STREAM, 0); /* for teardown */
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Output far bigger than the socket buffer reaches a slow reader whole
 * and in order (the non-blocking write path waits with poll). */
static void
test_large_output(void **state)
{
	struct fixture *fx = *state;
	const size_t total = 4 * 1024 * 1024 + 7;

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[3000];
		size_t seen = 0;
		ssize_t n;
		struct timespec pause = { 0, 100 * 1000 * 1000 };
		close(fx->io.rfd);
		nanosleep(&pause, NULL); /* let the writer fill the socket first */
		while ((n = __real_read(fx->peer, buf, sizeof buf)) > 0)
			for (ssize_t i = 0; i < n; i++, seen++)
				if (buf[i] != (char)('a' + seen % 26))
					_exit(2);
		_exit(seen == total ? 0 : 1);
	}
	char chunk[777];
	size_t sent = 0;
	while (sent < total) {
		size_t n = total - sent < sizeof chunk ? total - sent : sizeof chunk;
		for (size_t i = 0; i < n; i++)
			chunk[i] = (char)('a' + (sent + i) % 26);
		netio_write(&fx->io, chunk, n);
		sent += n;
	}
	flush_to_reader(fx, pid, total);
}

/* A message of 5 MB whose lines are longer than the output buffer, each
 * starting with ".", reaches a slow reader dot-stuffed with CRLF, whole
 * and in order, straight from the converter. */
static void
test_write_wire_long_lines(void **state)
{
	struct fixture *fx = *state;
	const size_t len = 5 * 1000 * 1000, line = NETIO_OUTBUF + 4321;
	const size_t lines = (len + line - 1) / line;
	/* A "." and a CR per line; the last line, cut short, gets CRLF. */
	const size_t total = len + 2 * lines + 1;
	unsigned char *d = malloc(len), *want = malloc(total);
	assert_true(len % line != 0);
	assert_non_null(d);
	assert_non_null(want);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = i % line == line - 1 ? '\n' : i % line == 0 ? '.'
		                : (unsigned char)('a' + i % 26);
		d[i] = c;
		if (c == '.')
			want[o++] = '.';
		if (c == '\n' || i == len - 1) {
			if (c != '\n')
				want[o++] = c;
			want[o++] = '\r';
			want[o++] = '\n';
		} else {
			want[o++] = c;
		}
	}
	assert_int_equal(o, total);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned char buf[5000];
		size_t seen = 0;
		ssize_t n;
		struct timespec pause = { 0, 50 * 1000 * 1000 };
		close(fx->io.rfd);
		nanosleep(&pause, NULL); /* let the writer fill the socket first */
		while ((n = __real_read(fx->peer, buf, sizeof buf)) > 0) {
			if (seen + (size_t)n > total ||
			    memcmp(buf, want + seen, (size_t)n) != 0)
				_exit(2);
			seen += (size_t)n;
		}
		_exit(seen == total ? 0 : 1);
	}
	struct wire_out w;
	wire_out_init(&w, d, len, WIRE_DOT_STUFF, UINT64_MAX);
	assert_true(netio_write_wire(&fx->io, &w) == total);
	flush_to_reader(fx, pid, total);
	free(d);
	free(want);
}

/* Once output has failed, conversion stops: the rest stays unconverted. */
static void
test_write_wire_stops_on_failure(void **state)
{
	struct fixture *fx = *state;
	static unsigned char d[3 * NETIO_OUTBUF];
	struct wire_out w;
	unsigned char rest[16];

	memset(d, 'x', sizeof d);
	seam.write_errno[0] = EIO;
	wire_out_init(&w, d, sizeof d, WIRE_DOT_STUFF, UINT64_MAX);
	uint64_t n = netio_write_wire(&fx->io, &w);
	assert_true(fx->io.failed);
	assert_true(n == NETIO_OUTBUF);
	assert_int_equal(seam.writes, 1);
	assert_int_equal(wire_out_fill(&w, rest, sizeof rest), sizeof rest);
}

/* A client that stops reading is dropped by the write timer. */
static void
test_write_timeout(void **state)
{
	struct fixture *fx = *state;
	static char big[1024 * 1024];

	fx->io.write_timeout = 1;
	memset(big, 'x', sizeof big);
	double t0 = now();
	for (int i = 0; i < 16 && !fx->io.failed; i++)
		netio_write(&fx->io, big, sizeof big);
	assert_false(netio_flush(&fx->io));
	double took = now() - t0;
	assert_true(took >= 0.9 && took < 5.0);
}

static void
test_stop_requested(void **state)
{
	struct fixture *fx = *state;

	send_s(fx, "NOOP\nSTAT\n");
	expect_line(fx, "NOOP");
	netio_stop_requested = 1;
	/* A line already buffered is handed out; the stop ends the next
	 * wait, even with more input waiting in the socket. */
	expect_line(fx, "STAT");
	send_s(fx, "LIST\n");
	assert_int_equal(read_line(fx), NETIO_STOPPED);
}

static void
on_alarm(int sig)
{
	(void)sig;
	netio_stop_requested = 1;
}

/* SIGTERM arriving while the reader waits (with no idle timer). */
static void
test_stop_while_waiting(void **state)
{
	struct fixture *fx = *state;
	struct sigaction sa, old;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm; /* no SA_RESTART: poll sees EINTR */
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	fx->io.idle_timeout = 0;
	alarm(1);
	enum netio_status st = read_line(fx);
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	assert_int_equal(st, NETIO_STOPPED);
}

static void
test_discard_input(void **state)
{
	struct fixture *fx = *state;

	send_s(fx, "ONE\nTWO\nTHREE\n");
	expect_line(fx, "ONE");
	assert_true(netio_line_pending(&fx->io));
	netio_discard_input(&fx->io);
	assert_false(netio_line_pending(&fx->io));
	send_s(fx, "FOUR\n");
	expect_line(fx, "FOUR");
}

/* netio_read_raw: counted data after a reply line, the LF of a CRLF
 * split across reads never returned, bare CR and NUL kept, small reads,
 * then end of file. */
static void
test_raw_after_line(void **state)
{
	struct fixture *fx = *state;
	unsigned char buf[64];
	size_t n, got = 0;

	seam.read_chunk = 3;
	send_n(fx, "=8 octets\r", 10);
	expect_line(fx, "=8 octets");
	send_n(fx, "\na\rb\0c\r\nd", 9);
	while (got < 8) {
		assert_int_equal(netio_read_raw(&fx->io, buf + got, 8 - got, &n),
		                 NETIO_LINE);
		assert_true(n > 0 && n <= 3);
		got += n;
	}
	assert_memory_equal(buf, "a\rb\0c\r\nd", 8);
	close(fx->peer);
	fx->peer = -1;
	assert_int_equal(netio_read_raw(&fx->io, buf, sizeof buf, &n), NETIO_EOF);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_line_ends),
		T(test_line_ends_in_small_reads),
		T(test_split_crlf_is_one_line_end),
		T(test_line_limit),
		T(test_overlong_line_reported_once),
		T(test_nul_octets_kept),
		T(test_eof),
		T(test_idle_timeout),
		T(test_pipelined_replies_in_one_write),
		T(test_flush_writes_everything),
		T(test_flush_retries),
		T(test_write_error_sticky),
		T(test_closed_peer),
		T(test_large_output),
		T(test_write_wire_long_lines),
		T(test_write_wire_stops_on_failure),
		T(test_write_timeout),
		T(test_stop_requested),
		T(test_stop_while_waiting),
		T(test_discard_input),
		T(test_raw_after_line),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
