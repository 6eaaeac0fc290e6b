/*
 * The monitor (src/privsep_monitor.c) driven by a hostile protocol
 * process: every request that a well-behaved one would never send must be
 * refused, and a protocol process that vanishes deletes nothing.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "netio.h"
#include "params.h"
#include "privsep.h"
#include "spool.h"

#define MSG1 "From a@example.org Mon Nov 23 10:00:00 2026\nSubject: one\n\nfirst\n\n"
#define MSG2 "From b@example.org Mon Nov 23 10:00:01 2026\nSubject: two\n\nsecond\n"

struct fx {
	char dir[64];
	char mbox[128];
	struct config cfg;
	struct sockaddr_storage peer;
	int ch;
	pid_t pid;
};

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *
read_file(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Every fork() of the monitor (and of the test) writes one octet here,
 * when it is open: the test counts the children a login costs. */
static int fork_log = -1;

pid_t __real_fork(void);
pid_t __wrap_fork(void);
pid_t
__wrap_fork(void)
{
	if (fork_log >= 0 && write(fork_log, "f", 1) != 1)
		abort();
	return __real_fork();
}

static void
on_stop(int sig)
{
	(void)sig;
	netio_stop_requested = 1;
}

/* Starts a monitor; PEER_PORT 0 means no trusted peer address. */
static void
start(struct fx *f, unsigned peer_port)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct sockaddr_in *v4 = (struct sockaddr_in *)&f->peer;
	memset(&f->peer, 0, sizeof(f->peer));
	v4->sin_family = AF_INET;
	v4->sin_port = htons((uint16_t)peer_port);
	v4->sin_addr.s_addr = htonl(0x7f000001);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		close(sv[0]);
		/* What src/privsep.c's handler does for a monitor that may
		 * not signal its protocol process. */
		struct sigaction sa = { .sa_handler = on_stop };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		static struct privsep_takeover t;
		static unsigned char room[NETIO_INBUF];
		t.in_room = room;
		enum privsep_monitor_end end =
			privsep_monitor(&f->cfg, &f->cfg.ids, sv[1],
			                peer_port ? &f->peer : NULL, &t);
		_exit(end == PRIVSEP_MONITOR_EOF ? 0 : end == PRIVSEP_MONITOR_BROKEN ? 1 : 3);
	}
	close(sv[1]);
	f->ch = sv[0];
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[160];
	snprintf(f->dir, sizeof(f->dir), "/tmp/po-monitor-XXXXXX");
	if (!f || !mkdtemp(f->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/mail", f->dir);
	mkdir(path, 0700);
	snprintf(f->mbox, sizeof(f->mbox), "%s/mail/alice", f->dir);
	write_file(f->mbox, MSG1 MSG2);
	config_defaults(&f->cfg);
	snprintf(f->cfg.passwd, sizeof(f->cfg.passwd), "%s/passwd", f->dir);
	write_file(f->cfg.passwd, "alice:{PLAIN}wonderland\nbob:{PLAIN}builder\n");
	snprintf(f->cfg.mailbox, sizeof(f->cfg.mailbox), "%s/mail/%%u", f->dir);
	assert_true(config_parse_prefix("127.0.0.0/8", &f->cfg.rpop_trusted[0]));
	f->cfg.nrpop_trusted = 1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Ends the protocol side and returns the monitor's exit status. */
static int
finish(struct fx *f)
{
	int status;
	close(f->ch);
	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	return status;
}

static void
send_req(struct fx *f, unsigned type, struct ipc_out *o)
{
	assert_true(ipc_send(f->ch, type, o, NULL, 0));
	ipc_out_free(o);
}

/* Reads a reply of TYPE whose first field is a code; the rest is left
 * in BUF (at *POS_R). */
static uint64_t
reply(struct fx *f, unsigned type, unsigned char *buf, size_t cap, size_t *len_r)
{
	unsigned t;
	size_t len;
	assert_int_equal(ipc_recv_head(f->ch, &t, &len, cap), 1);
	assert_int_equal(t, type);
	assert_true(ipc_recv_body(f->ch, buf, len));
	struct ipc_in in;
	ipc_in_init(&in, buf, len);
	uint64_t code = ipc_get_u64(&in);
	assert_false(in.bad);
	if (len_r)
		*len_r = len;
	return code;
}

static uint64_t
login(struct fx *f, const char *user, const char *pw)
{
	unsigned char buf[64];
	struct ipc_out o;
	ipc_out_init(&o);
	ipc_put_str(&o, user);
	ipc_put_str(&o, pw);
	send_req(f, PS_AUTH_PASS, &o);
	return reply(f, PS_RESULT, buf, sizeof(buf), NULL);
}

static uint64_t
open_box(struct fx *f, const char *user, unsigned char *buf, size_t cap, size_t *len_r)
{
	struct ipc_out o;
	ipc_out_init(&o);
	ipc_put_str(&o, user);
	ipc_put_u64(&o, 0);
	ipc_put_str(&o, "");
	send_req(f, PS_OPEN, &o);
	return reply(f, PS_LISTING, buf, cap, len_r);
}

static void
test_open_needs_this_monitors_login(void **state)
{
	struct fx *f = *state;
	unsigned char buf[4096];
	start(f, 0);
	assert_int_equal(open_box(f, "alice", buf, sizeof(buf), NULL), SPOOL_EPERM);
	assert_int_equal(login(f, "alice", "wrong"), AUTH_FAIL);
	assert_int_equal(open_box(f, "alice", buf, sizeof(buf), NULL), SPOOL_EPERM);
	assert_int_equal(login(f, "bob", "builder"), AUTH_OK);
	assert_int_equal(open_box(f, "alice", buf, sizeof(buf), NULL), SPOOL_EPERM);
	assert_int_equal(finish(f), 0);
}

static void
test_listing_read_and_commit(void **state)
{
	struct fx *f = *state;
	unsigned char buf[4096];
	size_t len;
	start(f, 0);
	assert_int_equal(login(f, "alice", "wonderland"), AUTH_OK);
	assert_int_equal(open_box(f, "alice", buf, sizeof(buf), &len), SPOOL_OK);
	struct ipc_in in;
	ipc_in_init(&in, buf, len);
	(void)ipc_get_u64(&in);
	assert_true(ipc_get_u64(&in) == 2);
	assert_true(ipc_get_u64(&in) == 0); /* none hidden by the limits */
	uint64_t size = ipc_get_u64(&in);
	assert_true(size == strlen("Subject: one\r\n\r\nfirst\r\n"));
	assert_int_equal(strlen(ipc_get_str(&in, 70)), 32);
	assert_false(in.bad);
	/* Envelopes come only when asked for (POP1). */
	assert_true(ipc_send(f->ch, PS_ENVELOPES, NULL, NULL, 0));
	assert_int_equal(reply(f, PS_ENVELOPE_LIST, buf, sizeof(buf), &len), SPOOL_OK);
	ipc_in_init(&in, buf + 8, len - 8);
	assert_true(ipc_get_u64(&in) == 2);
	assert_string_equal(ipc_get_str(&in, 200), "From a@example.org Mon Nov 23 10:00:00 2026");
	assert_string_equal(ipc_get_str(&in, 200), "From b@example.org Mon Nov 23 10:00:01 2026");
	assert_false(in.bad);
	/* A second open while one is open is refused. */
	assert_int_equal(open_box(f, "alice", buf, sizeof(buf), NULL), SPOOL_EPERM);

	struct ipc_out o;
	ipc_out_init(&o);
	ipc_put_u64(&o, 2); /* past the end */
	send_req(f, PS_READ, &o);
	assert_int_equal(reply(f, PS_DATA, buf, sizeof(buf), &len), SPOOL_EINVAL);
	/* A message goes across as its file and range, read by the
	 * protocol process itself. */
	ipc_out_init(&o);
	ipc_put_u64(&o, 1);
	send_req(f, PS_READ, &o);
	uint64_t off = reply(f, PS_DATA_AT, buf, sizeof(buf), &len);
	assert_int_equal(len, 16);
	ipc_in_init(&in, buf + 8, 8);
	uint64_t mlen = ipc_get_u64(&in);
	int fd = ipc_recv_fd(f->ch);
	assert_true(fd >= 0);
	assert_int_equal(mlen, strlen("Subject: two\n\nsecond\n"));
	assert_int_equal(pread(fd, buf, (size_t)mlen, (off_t)off), (ssize_t)mlen);
	assert_memory_equal(buf, "Subject: two\n\nsecond\n", mlen);
	close(fd);

	ipc_out_init(&o);
	ipc_put_bytes(&o, "\1", 1); /* one flag for two messages */
	send_req(f, PS_COMMIT, &o);
	assert_int_equal(reply(f, PS_RESULT, buf, sizeof(buf), NULL), SPOOL_EINVAL);
	ipc_out_init(&o);
	ipc_put_bytes(&o, "\1\0", 2);
	send_req(f, PS_COMMIT, &o);
	assert_int_equal(reply(f, PS_RESULT, buf, sizeof(buf), NULL), SPOOL_OK);
	assert_int_equal(finish(f), 0);
	assert_string_equal(read_file(f->mbox), MSG2);
}

/* A listing longer than one piece of the monitor's (64 KiB) arrives as
 * one message that parses to its last octet. */
static void
test_long_listing_in_pieces(void **state)
{
	struct fx *f = *state;
	char path[256];
	static const char *const subs[] = { "", "/cur", "/new", "/tmp" };
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/mail/bob%s", f->dir, subs[i]);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	enum { N = 3000 };
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "%s/mail/bob/cur/%d.M%dP1.example.org:2,S",
		         f->dir, 1700000000 + i, i);
		write_file(path, "Subject: x\n\nbody\n");
	}
	size_t cap = 256 * 1024, len;
	unsigned char *buf = malloc(cap);
	assert_non_null(buf);
	start(f, 0);
	assert_int_equal(login(f, "bob", "builder"), AUTH_OK);
	assert_int_equal(open_box(f, "bob", buf, cap, &len), SPOOL_OK);
	assert_true(len > 64 * 1024);
	struct ipc_in in;
	ipc_in_init(&in, buf + 8, len - 8);
	assert_true(ipc_get_u64(&in) == N);
	assert_true(ipc_get_u64(&in) == 0);
	for (int i = 0; i < N; i++) {
		char uid[64];
		snprintf(uid, sizeof(uid), "%d.M%dP1.example.org", 1700000000 + i, i);
		assert_true(ipc_get_u64(&in) == strlen("Subject: x\r\n\r\nbody\r\n"));
		assert_string_equal(ipc_get_str(&in, 70), uid);
	}
	assert_false(in.bad);
	assert_int_equal(in.pos, in.len);
	free(buf);
	assert_int_equal(finish(f), 0);
}

static void
test_no_check_after_five_failures(void **state)
{
	struct fx *f = *state;
	start(f, 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(login(f, "alice", "guess"), AUTH_FAIL);
	assert_int_equal(login(f, "alice", "wonderland"), AUTH_FAIL);
	assert_int_equal(finish(f), 0);
}

static void
test_rpop_decided_from_the_accepted_address(void **state)
{
	struct fx *f = *state;
	unsigned char buf[64];
	struct ipc_out o;

	start(f, 0); /* behind a balancer, or unknown: never */
	ipc_out_init(&o);
	ipc_put_str(&o, "alice");
	send_req(f, PS_AUTH_RPOP, &o);
	assert_int_equal(reply(f, PS_RESULT, buf, sizeof(buf), NULL), AUTH_FAIL);
	finish(f);

	start(f, 40000); /* not a privileged port */
	ipc_out_init(&o);
	ipc_put_str(&o, "alice");
	send_req(f, PS_AUTH_RPOP, &o);
	assert_int_equal(reply(f, PS_RESULT, buf, sizeof(buf), NULL), AUTH_FAIL);
	finish(f);

	start(f, 1023);
	ipc_out_init(&o);
	ipc_put_str(&o, "alice");
	send_req(f, PS_AUTH_RPOP, &o);
	assert_int_equal(reply(f, PS_RESULT, buf, sizeof(buf), NULL), AUTH_OK);
	finish(f);
}

static void
test_vanished_protocol_process_deletes_nothing(void **state)
{
	struct fx *f = *state;
	unsigned char buf[4096];
	start(f, 0);
	assert_int_equal(login(f, "alice", "wonderland"), AUTH_OK);
	assert_int_equal(open_box(f, "alice", buf, sizeof(buf), NULL), SPOOL_OK);
	assert_int_equal(finish(f), 0);
	assert_string_equal(read_file(f->mbox), MSG1 MSG2);
	/* And the maildrop is free again. */
	struct spool_where w = config_where(&f->cfg);
	struct spool *sp;
	assert_int_equal(spool_open(&w, "alice", NULL, &sp), SPOOL_OK);
	assert_int_equal(spool_count(sp), 2);
	spool_close(sp);
}

/* A monitor with alice's maildrop open is stopped: it must close its
 * end of the channel within 5 s. */
static void
stop_with_the_maildrop_open(struct fx *f)
{
	unsigned char buf[4096];
	struct pollfd p = { .fd = f->ch, .events = POLLIN };
	char c;
	start(f, 0);
	assert_int_equal(login(f, "alice", "wonderland"), AUTH_OK);
	assert_int_equal(open_box(f, "alice", buf, sizeof(buf), NULL), SPOOL_OK);
	assert_int_equal(kill(f->pid, SIGTERM), 0);
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(read(f->ch, &c, 1), 0);
}

/* A stop is passed on by closing the monitor's end of the channel,
 * which a protocol process it may not signal reads as the stop; the
 * maildrop is then let go of unchanged when that process ends. */
static void
test_stop_closes_the_channel(void **state)
{
	struct fx *f = *state;
	stop_with_the_maildrop_open(f);
	/* A request that crossed the stop (the session's closing PS_CLOSE)
	 * gets no reply and does not make the monitor end the session by
	 * force. */
	struct ipc_out o;
	ipc_out_init(&o);
	send_req(f, PS_CLOSE, &o);
	int status = finish(f);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(read_file(f->mbox), MSG1 MSG2);
}

/* One that does not end after the stop (stuck writing to a client) is
 * given up on, for the caller to end by force. */
static void
test_stop_ignored_is_given_up_on(void **state)
{
	struct fx *f = *state;
	stop_with_the_maildrop_open(f);
	int status;
	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	close(f->ch);
	assert_string_equal(read_file(f->mbox), MSG1 MSG2);
}

static void
test_unknown_or_malformed_request_ends_it(void **state)
{
	struct fx *f = *state;
	unsigned t;
	size_t len;
	start(f, 0);
	assert_true(ipc_send(f->ch, 200, NULL, NULL, 0));
	assert_int_equal(ipc_recv_head(f->ch, &t, &len, 64), 0);
	finish(f);

	start(f, 0);
	unsigned char huge[] = { 0x7f, 0xff, 0xff, 0xff, PS_AUTH_PASS };
	assert_int_equal(write(f->ch, huge, sizeof(huge)), (ssize_t)sizeof(huge));
	assert_int_equal(ipc_recv_head(f->ch, &t, &len, 64), 0);
	finish(f);

	start(f, 0); /* a password without its NUL: refused, not read past */
	struct ipc_out o;
	ipc_out_init(&o);
	ipc_put_str(&o, "alice");
	ipc_put_bytes(&o, "wonderland", 10);
	send_req(f, PS_AUTH_PASS, &o);
	unsigned char buf[64];
	assert_int_equal(reply(f, PS_RESULT, buf, sizeof(buf), NULL), AUTH_FAIL);
	finish(f);
}

/* A PS_TAKEOVER for USER carrying IN_LEN octets of client input; the
 * numbers after the peer are utf8, auth failures, bad commands, skip_lf,
 * octets in, octets out (src/privsep_takeover.c). */
static void
send_takeover(struct fx *f, const char *user, uint64_t utf8, size_t in_len)
{
	static unsigned char input[2 * NETIO_INBUF];
	struct ipc_out o;
	memset(input, 'x', sizeof(input));
	ipc_out_init(&o);
	ipc_put_str(&o, user);
	ipc_put_u64(&o, 0);
	ipc_put_str(&o, "");
	ipc_put_str(&o, "127.0.0.1:4000");
	ipc_put_u64(&o, utf8);
	ipc_put_u64(&o, 1);
	ipc_put_u64(&o, 0);
	ipc_put_u64(&o, 0);
	ipc_put_u64(&o, 100 + in_len);
	ipc_put_u64(&o, 200);
	ipc_put_bytes(&o, input, in_len);
	send_req(f, PS_TAKEOVER, &o);
}

/* The monitor ended the session: no reply, the channel closed, and it
 * reports a misbehaving protocol process (exit 1), not a crash. */
static void
assert_ended(struct fx *f)
{
	unsigned t;
	size_t len;
	assert_int_equal(ipc_recv_head(f->ch, &t, &len, 64), 0);
	int status = finish(f);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
}

static void
test_hostile_takeover_ends_the_session(void **state)
{
	struct fx *f = *state;

	start(f, 0); /* before any login */
	send_takeover(f, "alice", 0, 0);
	assert_ended(f);

	start(f, 0); /* for a user other than the one verified */
	assert_int_equal(login(f, "bob", "builder"), AUTH_OK);
	send_takeover(f, "alice", 0, 0);
	assert_ended(f);

	start(f, 0); /* more input than netio could have buffered */
	assert_int_equal(login(f, "alice", "wonderland"), AUTH_OK);
	send_takeover(f, "alice", 0, NETIO_INBUF + 1);
	assert_ended(f);

	start(f, 0); /* a flag that is neither 0 nor 1 */
	assert_int_equal(login(f, "alice", "wonderland"), AUTH_OK);
	send_takeover(f, "alice", 2, 0);
	assert_ended(f);

	start(f, 0); /* truncated: the user alone */
	assert_int_equal(login(f, "alice", "wonderland"), AUTH_OK);
	struct ipc_out o;
	ipc_out_init(&o);
	ipc_put_str(&o, "alice");
	send_req(f, PS_TAKEOVER, &o);
	assert_ended(f);

	start(f, 0); /* a user name over USER_MAX */
	char longname[USER_MAX + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(login(f, "alice", "wonderland"), AUTH_OK);
	send_takeover(f, longname, 0, 0);
	assert_ended(f);

	/* Nothing was opened, so nothing is held. */
	struct spool_where w = config_where(&f->cfg);
	struct spool *sp;
	assert_int_equal(spool_open(&w, "alice", NULL, &sp), SPOOL_OK);
	spool_close(sp);
	assert_string_equal(read_file(f->mbox), MSG1 MSG2);
}

static void
test_takeover_of_the_verified_user(void **state)
{
	struct fx *f = *state;
	unsigned char buf[4096];
	start(f, 0);
	assert_int_equal(login(f, "alice", "wonderland"), AUTH_OK);
	send_takeover(f, "alice", 1, NETIO_INBUF);
	uint64_t code = reply(f, PS_RESULT, buf, sizeof(buf), NULL);
	if (geteuid() == 0) {
		/* As root, the test's mbox is root's: it would be served as
		 * uid 0, so the session stays split and PS_OPEN still works. */
		assert_true(code == PRIVSEP_STAY_SPLIT);
		assert_int_equal(open_box(f, "alice", buf, sizeof(buf), NULL), SPOOL_OK);
		assert_int_equal(finish(f), 0);
		return;
	}
	/* Otherwise this process's own account: taken over (exit 3). */
	assert_true(code == SPOOL_OK);
	int status = finish(f);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
}

/* The account is looked up by the child that checks the credentials:
 * a login and the open after it cost one child, not two. */
static void
test_one_child_per_login(void **state)
{
	struct fx *f = *state;
	unsigned char buf[4096];
	char path[160];
	struct stat st;
	snprintf(path, sizeof(path), "%s/forks", f->dir);
	fork_log = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	assert_true(fork_log >= 0);
	start(f, 0);
	assert_int_equal(login(f, "alice", "wonderland"), AUTH_OK);
	send_takeover(f, "alice", 1, NETIO_INBUF);
	uint64_t code = reply(f, PS_RESULT, buf, sizeof(buf), NULL);
	if (code == PRIVSEP_STAY_SPLIT)
		assert_int_equal(open_box(f, "alice", buf, sizeof(buf), NULL), SPOOL_OK);
	else
		assert_true(code == SPOOL_OK);
	finish(f);
	close(fork_log);
	fork_log = -1;
	assert_int_equal(stat(path, &st), 0);
	/* start()'s own fork of the monitor, and the credential check's. */
	assert_int_equal(st.st_size, 2);
}

int
main(void)
{
	log_to(fopen("/dev/null", "w")); /* refusals are logged; not news here */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_needs_this_monitors_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listing_read_and_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_listing_in_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_check_after_five_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rpop_decided_from_the_accepted_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vanished_protocol_process_deletes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_closes_the_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_ignored_is_given_up_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_or_malformed_request_ends_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_takeover_ends_the_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_takeover_of_the_verified_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_child_per_login, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
