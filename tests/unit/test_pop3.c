/*
 * The POP3 front-end, driven over a socketpair: pop3_serve runs in a
 * forked child (as it does under the daemon) on a real mbox maildrop and
 * a {PLAIN} passwd file in a temporary directory; the test is the client.
 * The child's log goes to a file that is printed only when a test fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "md5.h"
#include "netio.h"
#include "params.h"
#include "session.h"

/* The maildrop: three messages; the first needs dot-stuffing, the last
 * has no final line end.  With reuse_xuidl the first two keep their ids. */
#define M1 "Subject: one\nX-UIDL: uid-one\n\nHello\n.dotted line\n..two dots\n.\nend\n"
#define M2 "Subject: two\nX-UIDL: uid-two\n\nline 1\nline 2\nline 3\n"
#define M3 "Subject: three\n\nno final newline"
#define FROM "From sender@example.org Mon Jan  1 00:00:00 2024\n"

static const char *const msgs[] = { M1, M2, M3 };

#define HOST "pop.test.example"

/* crypt("sesame", "$6$saltsalt$"): a secret APOP cannot use. */
#define CAROL_HASH "$6$saltsalt$g3uPFdehVnKoLXdidvSAg1zlVgYomPr0X/xgdXSBn2LuxZUOG" \
                   "gYW4IULZkguZ77fzYteIur49AGHmF9iek6Sf1"

struct sess {
	pid_t pid;
	int fd;
	char buf[1 << 16];
	size_t start, end;
	char greeting[512];
};

struct fixture {
	char dir[64];
	char passwd[128];
	char mailtmpl[128];
	char alice[128];
	char log[128];
	struct config cfg;
	struct sess s[2];
	bool passed;
};

/* Octets of M with CRLF line ends and a line end added at the end
 * (RFC 1939 §11, PROTOCOLS.md 3.6). */
static size_t
wire_octets(const char *m)
{
	size_t n = strlen(m), lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += m[i] == '\n';
	return n + lines + (n && m[n - 1] != '\n' ? 2 : 0);
}

/* M as RETR sends it before the terminator: CRLF, dot-stuffed; at most
 * BODY body lines (TOP), or all with BODY < 0. */
static void
wire_form(const char *m, int body, char *out, size_t cap)
{
	size_t o = 0;
	bool in_body = false;
	int lines = 0;
	out[0] = '\0';
	while (*m) {
		const char *e = strchr(m, '\n');
		size_t len = e ? (size_t)(e - m) : strlen(m);
		if (in_body && body >= 0 && lines++ >= body)
			break;
		o += (size_t)snprintf(out + o, cap - o, "%s%.*s\r\n",
		                      m[0] == '.' ? "." : "", (int)len, m);
		assert_true(o < cap);
		if (len == 0)
			in_body = true;
		m += len + (e ? 1 : 0);
	}
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	char path[160];
	if (!fx)
		return -1;
	strcpy(fx->dir, "/tmp/test_pop3.XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->passwd, sizeof fx->passwd, "%s/passwd", fx->dir);
	snprintf(fx->mailtmpl, sizeof fx->mailtmpl, "%s/mail/%%u", fx->dir);
	snprintf(fx->alice, sizeof fx->alice, "%s/mail/alice", fx->dir);
	snprintf(fx->log, sizeof fx->log, "%s/log", fx->dir);
	snprintf(path, sizeof path, "%s/mail", fx->dir);
	if (mkdir(path, 0700) != 0)
		return -1;
	write_file(fx->passwd,
	           "alice:{PLAIN}wonderland\n"
	           "bob:{PLAIN}my secret pw\n"
	           "carol:{SHA512-CRYPT}" CAROL_HASH "\n");
	write_file(fx->alice, FROM M1 "\n" FROM M2 "\n" FROM M3);

	config_defaults(&fx->cfg);
	snprintf(fx->cfg.passwd, sizeof fx->cfg.passwd, "%s", fx->passwd);
	snprintf(fx->cfg.mailbox, sizeof fx->cfg.mailbox, "%s", fx->mailtmpl);
	snprintf(fx->cfg.hostname, sizeof fx->cfg.hostname, HOST);
	fx->cfg.auth_fail_delay_ms = 0;
	fx->cfg.reuse_xuidl = true;
	for (int i = 0; i < 2; i++)
		fx->s[i].fd = -1;
	signal(SIGPIPE, SIG_IGN);
	*state = fx;
	return 0;
}

/* Closes the client side and reaps the child; its exit status. */
static int
end_session(struct sess *s)
{
	int status = 0;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->pid > 0 && waitpid(s->pid, &status, 0) != s->pid)
		status = -1;
	s->pid = 0;
	return status;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	bool clean = true;
	for (int i = 0; i < 2; i++) {
		int st = end_session(&fx->s[i]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			clean = false;
	}
	if (!fx->passed || !clean) {
		FILE *f = fopen(fx->log, "r");
		char line[512];
		print_error("server log:\n");
		while (f && fgets(line, sizeof line, f))
			print_error("  %s", line);
		if (f)
			fclose(f);
	}
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return clean ? 0 : -1;
}

/* The server side of one connection, in the child process. */
static void
serve(struct fixture *fx, int fd)
{
	int logfd = open(fx->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (logfd >= 0)
		dup2(logfd, 2);
	log_set_tag("test");
	struct netio *io = malloc(sizeof *io);
	if (!io)
		_exit(3);
	struct session_env env;
	memset(&env, 0, sizeof env);
	env.cfg = &fx->cfg;
	env.where.mailbox = fx->cfg.mailbox;
	env.where.reuse_xuidl = fx->cfg.reuse_xuidl;
	env.peer = "test";
	env.stats.end = "disconnected";
	netio_init(io, fd, fd);
	io->idle_timeout = fx->cfg.timeout_login;
	pop3_serve(io, &env);
	netio_flush(io);
	fprintf(stderr, "end: %s\n", env.stats.end);
	_exit(0);
}

static bool get_line(struct sess *s, char *out, size_t cap);
static void status(struct sess *s, const char *cmd, const char *want,
                   char *out, size_t cap);

/* Starts session I and reads its greeting. */
static struct sess *
start(struct fixture *fx, int i)
{
	int sv[2];
	struct sess *s = &fx->s[i];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		close(sv[1]);
		for (int j = 0; j < 2; j++)
			if (fx->s[j].fd >= 0)
				close(fx->s[j].fd);
		serve(fx, sv[0]);
	}
	close(sv[0]);
	s->fd = sv[1];
	s->start = s->end = 0;
	status(s, NULL, "+OK ", s->greeting, sizeof s->greeting);
	return s;
}

static void
send_raw(struct sess *s, const char *text)
{
	size_t n = strlen(text);
	assert_int_equal(write(s->fd, text, n), (ssize_t)n);
}

/* One reply line without its CRLF; false at end of file.  Every line
 * must end in CRLF. */
static bool
get_line(struct sess *s, char *out, size_t cap)
{
	for (;;) {
		char *lf = memchr(s->buf + s->start, '\n', s->end - s->start);
		if (lf) {
			size_t n = (size_t)(lf - (s->buf + s->start));
			if (n == 0 || lf[-1] != '\r')
				fail_msg("reply line without CRLF");
			assert_true(n - 1 < cap);
			memcpy(out, s->buf + s->start, n - 1);
			out[n - 1] = '\0';
			s->start += n + 1;
			return true;
		}
		if (s->start > 0) {
			memmove(s->buf, s->buf + s->start, s->end - s->start);
			s->end -= s->start;
			s->start = 0;
		}
		assert_true(s->end < sizeof s->buf);
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		if (poll(&p, 1, 10000) != 1)
			fail_msg("no reply within 10 s");
		ssize_t n = read(s->fd, s->buf + s->end, sizeof s->buf - s->end);
		if (n <= 0) {
			if (s->end > 0)
				fail_msg("connection closed after a partial line");
			return false;
		}
		s->end += (size_t)n;
	}
}

/* Sends CMD (unless NULL) and reads one status line, which must be "+OK "
 * or "-ERR " followed by text (RFC 1957), and start with WANT. */
static void
status(struct sess *s, const char *cmd, const char *want, char *out, size_t cap)
{
	char line[1024];
	if (cmd) {
		send_raw(s, cmd);
		send_raw(s, "\r\n");
	}
	if (!get_line(s, line, sizeof line))
		fail_msg("%s: connection closed instead of a reply", cmd ? cmd : "greeting");
	bool ok = strncmp(line, "+OK ", 4) == 0 && line[4] != '\0';
	bool err = strncmp(line, "-ERR ", 5) == 0 && line[5] != '\0';
	if (!ok && !err)
		fail_msg("%s: bad status line \"%s\"", cmd ? cmd : "greeting", line);
	if (strncmp(line, want, strlen(want)) != 0)
		fail_msg("%s: got \"%s\", want \"%s...\"", cmd ? cmd : "greeting",
		         line, want);
	if (out)
		snprintf(out, cap, "%s", line);
}

/* Sends CMD, expects exactly the status line WANT. */
static void
exact(struct sess *s, const char *cmd, const char *want)
{
	char line[1024];
	status(s, cmd, "", line, sizeof line);
	if (strcmp(line, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", cmd, line, want);
}

/* Reads a multi-line body up to its "." line; lines joined with CRLF,
 * stuffing left as sent. */
static void
body(struct sess *s, char *out, size_t cap)
{
	char line[2048];
	size_t o = 0;
	out[0] = '\0';
	for (;;) {
		if (!get_line(s, line, sizeof line))
			fail_msg("connection closed inside a multi-line reply");
		if (strcmp(line, ".") == 0)
			return;
		o += (size_t)snprintf(out + o, cap - o, "%s\r\n", line);
		assert_true(o < cap);
	}
}

static void
expect_closed(struct sess *s)
{
	char line[1024];
	if (get_line(s, line, sizeof line))
		fail_msg("expected the connection closed, got \"%s\"", line);
}

/* Ends session S (the server has closed it) and asserts how the server
 * says it ended, as session_run would log it. */
static void
assert_end(struct fixture *fx, struct sess *s, const char *how)
{
	char got[512] = "(none)\n", line[512];
	assert_int_equal(end_session(s), 0);
	FILE *f = fopen(fx->log, "r");
	assert_non_null(f);
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "end: ", 5) == 0)
			snprintf(got, sizeof got, "%s", line + 5); /* the last one */
	fclose(f);
	got[strcspn(got, "\n")] = '\0';
	if (strcmp(got, how) != 0)
		fail_msg("session ended as \"%s\", want \"%s\"", got, how);
}

static void
login(struct sess *s)
{
	status(s, "USER alice", "+OK ", NULL, 0);
	status(s, "PASS wonderland", "+OK ", NULL, 0);
}

/* The timestamp: the greeting's last token, <...@HOST>. */
static void
timestamp(const struct sess *s, char *ts, size_t cap)
{
	const char *lt = strrchr(s->greeting, '<');
	assert_non_null(lt);
	snprintf(ts, cap, "%s", lt);
}

static size_t
total_octets(void)
{
	return wire_octets(M1) + wire_octets(M2) + wire_octets(M3);
}

static void
test_greeting(void **state)
{
	struct fixture *fx = *state;
	struct sess *a = start(fx, 0);
	struct sess *b = start(fx, 1);
	char ts[320];

	assert_true(strncmp(a->greeting, "+OK POP3", 8) == 0);
	timestamp(a, ts, sizeof ts);
	size_t n = strlen(ts);
	assert_true(n > strlen("<@" HOST ">"));
	assert_string_equal(ts + n - strlen("@" HOST ">"), "@" HOST ">");
	assert_null(strchr(ts, ' '));
	assert_int_equal(strchr(ts, '@') - ts, (long)(n - strlen("@" HOST ">")));
	/* RFC 1939 §7: different on every greeting. */
	assert_string_not_equal(a->greeting, b->greeting);
	fx->passed = true;
}

static void
test_user_pass_login(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);
	char want[64];

	status(s, "USER alice", "+OK ", NULL, 0);
	status(s, "PASS wonderland", "+OK ", NULL, 0);
	snprintf(want, sizeof want, "+OK 3 %zu", total_octets());
	exact(s, "STAT", want);
	status(s, "QUIT", "+OK ", NULL, 0);
	expect_closed(s);
	fx->passed = true;
}

/* RFC 1939 §7: PASS may hold spaces; the argument is the rest. */
static void
test_pass_with_spaces_and_empty_maildrop(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);
	char text[256];

	status(s, "USER bob", "+OK ", NULL, 0);
	status(s, "PASS my secret pw", "+OK ", NULL, 0);
	exact(s, "STAT", "+OK 0 0");
	/* An empty maildrop lists as success with no lines. */
	status(s, "LIST", "+OK ", NULL, 0);
	body(s, text, sizeof text);
	assert_string_equal(text, "");
	status(s, "UIDL", "+OK ", NULL, 0);
	body(s, text, sizeof text);
	assert_string_equal(text, "");
	status(s, "LIST 1", "-ERR ", NULL, 0);
	fx->passed = true;
}

static void
test_apop(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);
	char ts[320], in[400], hex[33], cmd[400];

	timestamp(s, ts, sizeof ts);
	snprintf(in, sizeof in, "%swonderland", ts);
	md5_hex(in, strlen(in), hex);
	/* A digest for another secret fails... */
	snprintf(in, sizeof in, "%swonderlanD", ts);
	char bad[33];
	md5_hex(in, strlen(in), bad);
	snprintf(cmd, sizeof cmd, "APOP alice %s", bad);
	exact(s, cmd, "-ERR [AUTH] Authentication failed");
	/* ...the right one logs in. */
	snprintf(cmd, sizeof cmd, "APOP alice %s", hex);
	status(s, cmd, "+OK ", NULL, 0);
	status(s, "STAT", "+OK 3 ", NULL, 0);
	fx->passed = true;
}

/* A digest made for another session's timestamp is refused. */
static void
test_apop_replay(void **state)
{
	struct fixture *fx = *state;
	struct sess *a = start(fx, 0);
	struct sess *b = start(fx, 1);
	char ts[320], in[400], hex[33], cmd[400];

	timestamp(a, ts, sizeof ts);
	snprintf(in, sizeof in, "%swonderland", ts);
	md5_hex(in, strlen(in), hex);
	snprintf(cmd, sizeof cmd, "APOP alice %s", hex);
	exact(b, cmd, "-ERR [AUTH] Authentication failed");
	fx->passed = true;
}

/* RFC 1939 §13: an unknown user and a wrong password look the same. */
static void
test_auth_failures_identical(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);
	char wrong[512], unknown[512], apop[512];

	status(s, "USER alice", "+OK ", NULL, 0);
	status(s, "PASS wonderlanx", "-ERR [AUTH]", wrong, sizeof wrong);
	status(s, "USER nobody", "+OK ", NULL, 0);
	status(s, "PASS wonderland", "-ERR [AUTH]", unknown, sizeof unknown);
	assert_string_equal(wrong, unknown);
	status(s, "APOP nobody 0123456789abcdef0123456789abcdef", "-ERR [AUTH]",
	       apop, sizeof apop);
	assert_string_equal(apop, wrong);
	/* APOP for a user whose secret is hashed: the same failure. */
	char ts[320], in[400], hex[33], cmd[400];
	timestamp(s, ts, sizeof ts);
	snprintf(in, sizeof in, "%ssesame", ts);
	md5_hex(in, strlen(in), hex);
	snprintf(cmd, sizeof cmd, "APOP carol %s", hex);
	status(s, cmd, "-ERR [AUTH]", apop, sizeof apop);
	assert_string_equal(apop, wrong);
	/* After failures the client may try again, here with the right
	 * password for the same user. */
	status(s, "USER carol", "+OK ", NULL, 0);
	status(s, "PASS sesame", "+OK ", NULL, 0);
	exact(s, "STAT", "+OK 0 0");
	fx->passed = true;
}

static void
test_too_many_auth_failures(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);

	for (int i = 0; i < MAX_AUTH_FAILURES; i++) {
		status(s, "USER alice", "+OK ", NULL, 0);
		status(s, "PASS nope", "-ERR [AUTH]", NULL, 0);
	}
	status(s, NULL, "-ERR ", NULL, 0);
	expect_closed(s);
	fx->passed = true;
}

static void
test_stat_list_uidl(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);
	char want[256], text[1024], line[256];

	login(s);
	snprintf(want, sizeof want, "+OK 3 %zu", total_octets());
	exact(s, "stat", want); /* RFC 1939 §3: keywords are case-insensitive */

	status(s, "LIST", "+OK ", NULL, 0);
	body(s, text, sizeof text);
	snprintf(want, sizeof want, "1 %zu\r\n2 %zu\r\n3 %zu\r\n", wire_octets(M1),
	         wire_octets(M2), wire_octets(M3));
	assert_string_equal(text, want);
	for (int i = 0; i < 3; i++) {
		char cmd[32];
		snprintf(cmd, sizeof cmd, "LIST %d", i + 1);
		snprintf(want, sizeof want, "+OK %d %zu", i + 1, wire_octets(msgs[i]));
		exact(s, cmd, want);
	}

	status(s, "UIDL", "+OK ", NULL, 0);
	body(s, text, sizeof text);
	assert_true(strncmp(text, "1 uid-one\r\n2 uid-two\r\n3 ", 24) == 0);
	/* Generated ids: 1..70 octets of 0x21..0x7E, nothing after them. */
	const char *uid3 = text + 24;
	size_t n = strcspn(uid3, "\r");
	assert_true(n >= 1 && n <= UID_MAX);
	for (size_t i = 0; i < n; i++)
		assert_true(uid3[i] >= 0x21 && uid3[i] <= 0x7e);
	assert_string_equal(uid3 + n, "\r\n");
	exact(s, "UIDL 2", "+OK 2 uid-two");
	snprintf(want, sizeof want, "+OK 3 %.*s", (int)n, uid3);
	status(s, "UIDL 3", "+OK ", line, sizeof line);
	assert_string_equal(line, want);
	fx->passed = true;
}

/* RETR sends the message dot-stuffed with CRLF; its size is the size
 * LIST gave, stuffing not counted, a missing last line end counted. */
static void
test_retr(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);
	char text[2048], want[2048], cmd[32];

	login(s);
	for (int i = 0; i < 3; i++) {
		char first[128], octets[64];
		snprintf(cmd, sizeof cmd, "RETR %d", i + 1);
		status(s, cmd, "+OK ", first, sizeof first);
		/* Clients read the size from the first line: the LIST size. */
		snprintf(octets, sizeof octets, "+OK %zu ", wire_octets(msgs[i]));
		assert_true(strncmp(first, octets, strlen(octets)) == 0);
		body(s, text, sizeof text);
		wire_form(msgs[i], -1, want, sizeof want);
		assert_string_equal(text, want);
	}
	assert_non_null(strstr(want, "no final newline\r\n"));
	/* The stuffed lines of message 1, as they went out. */
	status(s, "RETR 1", "+OK ", NULL, 0);
	body(s, text, sizeof text);
	assert_non_null(strstr(text, "\r\n..dotted line\r\n...two dots\r\n..\r\nend\r\n"));
	fx->passed = true;
}

static void
test_top(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);
	char text[2048], want[2048];

	login(s);
	status(s, "TOP 1 0", "+OK ", NULL, 0);
	body(s, text, sizeof text);
	assert_string_equal(text, "Subject: one\r\nX-UIDL: uid-one\r\n\r\n");
	status(s, "TOP 1 2", "+OK ", NULL, 0);
	body(s, text, sizeof text);
	wire_form(M1, 2, want, sizeof want);
	assert_string_equal(text, want);
	assert_string_equal(text, "Subject: one\r\nX-UIDL: uid-one\r\n\r\nHello\r\n"
	                          "..dotted line\r\n");
	/* More lines than the body has: the whole message. */
	status(s, "TOP 2 99", "+OK ", NULL, 0);
	body(s, text, sizeof text);
	wire_form(M2, -1, want, sizeof want);
	assert_string_equal(text, want);
	/* A huge count saturates rather than wrapping to a small one. */
	status(s, "TOP 2 18446744073709551617", "+OK ", NULL, 0);
	body(s, text, sizeof text);
	assert_string_equal(text, want);

	status(s, "TOP 1", "-ERR ", NULL, 0);
	status(s, "TOP 1 -1", "-ERR ", NULL, 0);
	status(s, "TOP 1 x", "-ERR ", NULL, 0);
	status(s, "TOP 4 1", "-ERR ", NULL, 0);
	status(s, "TOP 0 1", "-ERR ", NULL, 0);
	fx->passed = true;
}

static void
test_dele_rset_noop(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);
	char want[128], text[1024];

	login(s);
	status(s, "DELE 2", "+OK ", NULL, 0);
	snprintf(want, sizeof want, "+OK 2 %zu", wire_octets(M1) + wire_octets(M3));
	exact(s, "STAT", want);
	/* Any later reference to a deleted message is an error. */
	status(s, "DELE 2", "-ERR ", NULL, 0);
	status(s, "RETR 2", "-ERR ", NULL, 0);
	status(s, "LIST 2", "-ERR ", NULL, 0);
	status(s, "UIDL 2", "-ERR ", NULL, 0);
	status(s, "TOP 2 0", "-ERR ", NULL, 0);
	status(s, "LIST", "+OK ", NULL, 0);
	body(s, text, sizeof text);
	snprintf(want, sizeof want, "1 %zu\r\n3 %zu\r\n", wire_octets(M1),
	         wire_octets(M3));
	assert_string_equal(text, want);
	status(s, "UIDL", "+OK ", NULL, 0);
	body(s, text, sizeof text);
	assert_null(strstr(text, "uid-two"));

	status(s, "NOOP", "+OK ", NULL, 0);
	status(s, "RSET", "+OK ", NULL, 0);
	snprintf(want, sizeof want, "+OK 3 %zu", total_octets());
	exact(s, "STAT", want);
	exact(s, "UIDL 2", "+OK 2 uid-two");
	fx->passed = true;
}

/* Deletions happen at QUIT and only then (RFC 1939 §6). */
static void
test_quit_commits_drop_does_not(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);
	char want[128];

	login(s);
	status(s, "DELE 1", "+OK ", NULL, 0);
	status(s, "DELE 3", "+OK ", NULL, 0);
	assert_int_equal(end_session(s), 0); /* no QUIT */

	s = start(fx, 0);
	login(s);
	snprintf(want, sizeof want, "+OK 3 %zu", total_octets());
	exact(s, "STAT", want);
	status(s, "DELE 1", "+OK ", NULL, 0);
	status(s, "DELE 3", "+OK ", NULL, 0);
	status(s, "QUIT", "+OK ", NULL, 0);
	expect_closed(s);
	assert_int_equal(end_session(s), 0);

	s = start(fx, 0);
	login(s);
	snprintf(want, sizeof want, "+OK 1 %zu", wire_octets(M2));
	exact(s, "STAT", want);
	exact(s, "UIDL 1", "+OK 1 uid-two");
	fx->passed = true;
}

/* QUIT before login: +OK, close, nothing deleted. */
static void
test_quit_in_authorization(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);

	status(s, "USER alice", "+OK ", NULL, 0);
	status(s, "QUIT", "+OK ", NULL, 0);
	expect_closed(s);
	fx->passed = true;
}

/* RFC 1939 §3: unknown commands and commands in the wrong state both get
 * -ERR, and the texts tell the two apart. */
static void
test_wrong_state_vs_unknown(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);
	char unknown[512], wrong[512], line[512];

	status(s, "XYZZY", "-ERR ", unknown, sizeof unknown);
	status(s, "STAT", "-ERR ", wrong, sizeof wrong);
	assert_string_not_equal(unknown, wrong);
	status(s, "RETR 1", "-ERR ", line, sizeof line);
	assert_string_not_equal(line, unknown);
	status(s, "PASS wonderland", "-ERR ", NULL, 0); /* no USER yet */
	login(s);
	status(s, "USER alice", "-ERR ", line, sizeof line);
	assert_string_not_equal(line, unknown);
	status(s, "APOP alice 0123456789abcdef0123456789abcdef", "-ERR ", NULL, 0);
	status(s, "XYZZY", "-ERR ", line, sizeof line);
	assert_string_equal(line, unknown);
	/* Still logged in after all that. */
	status(s, "STAT", "+OK 3 ", NULL, 0);
	fx->passed = true;
}

/* PROTOCOLS.md 3.6: a second USER is refused and forgets the first. */
static void
test_second_user(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);

	status(s, "USER bob", "+OK ", NULL, 0);
	status(s, "USER alice", "-ERR ", NULL, 0);
	status(s, "PASS wonderland", "-ERR ", NULL, 0);
	login(s);
	fx->passed = true;
}

/* PROTOCOLS.md 3.6: zero, signs, junk, overflow, missing and extra
 * arguments are all errors; 4294967297 is not message 1. */
static void
test_bad_arguments(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);
	const char *bad[] = {
		"LIST 0", "LIST -1", "LIST +1", "LIST 1x", "LIST 4",
		"LIST 4294967297", "LIST 18446744073709551617", "RETR 4294967297",
		"DELE 4294967297", "UIDL 4294967297", "RETR", "DELE", "LIST 1 2",
		"STAT 1", "NOOP x", "RSET 1", "TOP", "TOP 1 2 3", "QUIT now",
	};

	login(s);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		status(s, bad[i], "-ERR ", NULL, 0);
	/* Nothing was deleted by any of them. */
	status(s, "STAT", "+OK 3 ", NULL, 0);
	/* Runs of blanks between tokens are tolerated. */
	status(s, "  LIST   2  ", "+OK 2 ", NULL, 0);
	fx->passed = true;
}

/* Too many bad commands end the session. */
static void
test_bad_command_limit(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);

	for (int i = 0; i < MAX_BAD_COMMANDS - 1; i++)
		status(s, "BOGUS", "-ERR ", NULL, 0);
	status(s, "BOGUS", "-ERR ", NULL, 0);
	status(s, NULL, "-ERR ", NULL, 0); /* the closing notice */
	expect_closed(s);
	assert_end(fx, s, "too many bad commands");
	fx->passed = true;
}

/* Overlong lines count towards the same limit, and the session ends for
 * the same reason. */
static void
test_overlong_line_limit(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);
	static char big[2 * LINE_MAX_OCTETS];

	memset(big, 'x', sizeof big - 1);
	for (int i = 0; i < MAX_BAD_COMMANDS; i++)
		status(s, big, "-ERR ", NULL, 0);
	char line[1024];
	while (get_line(s, line, sizeof line))
		; /* a closing notice, if any */
	assert_end(fx, s, "too many bad commands");
	fx->passed = true;
}

/* Empty lines, control characters and overlong lines are refused; the
 * tail of an overlong line never runs. */
static void
test_malformed_lines(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);
	static char big[3 * LINE_MAX_OCTETS];

	login(s);
	status(s, "", "-ERR ", NULL, 0);
	status(s, "   ", "-ERR ", NULL, 0);
	status(s, "STAT\x01", "-ERR ", NULL, 0);
	memset(big, 'x', sizeof big - 1);
	memcpy(big + sizeof big - 20, " DELE 1", 7);
	status(s, big, "-ERR ", NULL, 0);
	status(s, "STAT", "+OK 3 ", NULL, 0);
	/* A NUL refuses the line; it does not cut it short. */
	assert_int_equal(write(s->fd, "STAT\0\r\n", 7), 7);
	status(s, NULL, "-ERR ", NULL, 0);
	assert_int_equal(write(s->fd, "DELE 1\0junk\r\n", 13), 13);
	status(s, NULL, "-ERR ", NULL, 0);
	status(s, "STAT", "+OK 3 ", NULL, 0);
	fx->passed = true;
}

static void
test_nul_in_password(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);

	status(s, "USER alice", "+OK ", NULL, 0);
	assert_int_equal(write(s->fd, "PASS wonderland\0x\r\n", 20), 20);
	status(s, NULL, "-ERR ", NULL, 0);
	status(s, "STAT", "-ERR ", NULL, 0); /* not logged in */
	fx->passed = true;
}

/* PROTOCOLS.md 3.6: command lines of 255 octets and more are accepted. */
static void
test_long_command_lines(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);
	char cmd[LINE_MAX_OCTETS];

	status(s, "USER alice", "+OK ", NULL, 0);
	snprintf(cmd, sizeof cmd, "PASS %0250d", 7);
	exact(s, cmd, "-ERR [AUTH] Authentication failed");
	login(s);
	memset(cmd, ' ', sizeof cmd);
	memcpy(cmd, "NOOP", 4);
	cmd[600] = '\0';
	status(s, cmd, "+OK ", NULL, 0);
	fx->passed = true;
}

/* RFC 2449 §6.6: commands sent in one go are answered in order. */
static void
test_pipelining(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);
	char want[64], text[1024];

	send_raw(s, "USER alice\r\nPASS wonderland\r\nSTAT\r\nLIST 2\r\n"
	            "UIDL\r\nDELE 1\r\nQUIT\r\n");
	status(s, NULL, "+OK ", NULL, 0);
	status(s, NULL, "+OK ", NULL, 0);
	snprintf(want, sizeof want, "+OK 3 %zu", total_octets());
	status(s, NULL, want, NULL, 0);
	snprintf(want, sizeof want, "+OK 2 %zu", wire_octets(M2));
	status(s, NULL, want, NULL, 0);
	status(s, NULL, "+OK ", NULL, 0);
	body(s, text, sizeof text);
	assert_true(strncmp(text, "1 uid-one\r\n", 11) == 0);
	status(s, NULL, "+OK ", NULL, 0);
	status(s, NULL, "+OK ", NULL, 0);
	expect_closed(s);
	fx->passed = true;
}

static void
test_capa_both_states(void **state)
{
	struct fixture *fx = *state;
	struct sess *s = start(fx, 0);
	char text[1024];

	status(s, "CAPA", "+OK ", NULL, 0);
	body(s, text, sizeof text);
	assert_non_null(strstr(text, "UIDL\r\n"));
	assert_non_null(strstr(text, "TOP\r\n"));
	assert_non_null(strstr(text, "USER\r\n"));
	login(s);
	status(s, "capa", "+OK ", NULL, 0);
	body(s, text, sizeof text);
	assert_non_null(strstr(text, "PIPELINING\r\n"));
	fx->passed = true;
}

/* A second session on the same maildrop is refused with [IN-USE]. */
static void
test_maildrop_in_use(void **state)
{
	struct fixture *fx = *state;
	struct sess *a = start(fx, 0);
	struct sess *b = start(fx, 1);

	login(a);
	status(b, "USER alice", "+OK ", NULL, 0);
	status(b, "PASS wonderland", "-ERR [IN-USE] ", NULL, 0);
	status(a, "QUIT", "+OK ", NULL, 0);
	expect_closed(a);
	assert_int_equal(end_session(a), 0);
	login(b);
	fx->passed = true;
}

/* RFC 1939 §3: the autologout closes without a reply and without UPDATE. */
static void
test_idle_timeout_closes_silently(void **state)
{
	struct fixture *fx = *state;
	fx->cfg.timeout_login = 1;
	struct sess *s = start(fx, 0);

	status(s, "USER alice", "+OK ", NULL, 0);
	expect_closed(s);
	assert_end(fx, s, "timeout");
	fx->passed = true;
}

/* After login the idle timer is timeout_idle; its expiry deletes nothing. */
static void
test_idle_timeout_after_login(void **state)
{
	struct fixture *fx = *state;
	fx->cfg.timeout_idle = 1; /* below the config's floor, for the test */
	struct sess *s = start(fx, 0);

	login(s);
	status(s, "DELE 1", "+OK ", NULL, 0);
	expect_closed(s);
	assert_end(fx, s, "timeout");
	s = start(fx, 0);
	login(s);
	status(s, "STAT", "+OK 3 ", NULL, 0);
	fx->passed = true;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_greeting),
		T(test_user_pass_login),
		T(test_pass_with_spaces_and_empty_maildrop),
		T(test_apop),
		T(test_apop_replay),
		T(test_auth_failures_identical),
		T(test_too_many_auth_failures),
		T(test_stat_list_uidl),
		T(test_retr),
		T(test_top),
		T(test_dele_rset_noop),
		T(test_quit_commits_drop_does_not),
		T(test_quit_in_authorization),
		T(test_wrong_state_vs_unknown),
		T(test_second_user),
		T(test_bad_arguments),
		T(test_bad_command_limit),
		T(test_overlong_line_limit),
		T(test_malformed_lines),
		T(test_nul_in_password),
		T(test_long_command_lines),
		T(test_pipelining),
		T(test_capa_both_states),
		T(test_maildrop_in_use),
		T(test_idle_timeout_closes_silently),
		T(test_idle_timeout_after_login),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
