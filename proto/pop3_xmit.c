/*
 * Qpopper's XTND XMIT, which Eudora uses to send mail through the POP
 * server: after our +OK the client sends one message, dot-terminated and
 * dot-stuffed as in RFC 1939 §3, and we hand it to the operator's
 * sendmail-compatible command (xtnd_xmit_command), whose exit status
 * decides +OK or -ERR.  Not configured: -ERR at once, nothing read,
 * nothing sent.
 *
 * The command runs without a shell (its line is split at blanks), with
 * the message on its standard input and LF line ends, as sendmail -t -i
 * expects from a local program.  A command that neither reads nor exits
 * is killed after XMIT_TIMEOUT seconds.
 */
#include "pop3.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* A message larger than this is read to its end and refused: mail
 * submission limits are commonly 10 to 50 MB. */
#define XMIT_MAX_OCTETS (32u * 1024 * 1024)
#define XMIT_MAX_ARGS 32
#define XMIT_TIMEOUT 120

struct xmit_buf {
	char *data;
	size_t len, cap;
	bool too_big, bad_line, oom;
};

static void
append(struct xmit_buf *b, const char *s, size_t n)
{
	if (b->too_big || b->oom)
		return;
	if (b->len + n > XMIT_MAX_OCTETS) {
		b->too_big = true;
		return;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		while (cap < b->len + n)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d) {
			b->oom = true;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

/* Reads the message up to its "." line; false if the session is over. */
static bool
read_message(struct pop3 *p, struct xmit_buf *b)
{
	char line[LINE_MAX_OCTETS];
	size_t len;
	for (;;) {
		enum netio_status st = netio_read_line(p->io, line, sizeof(line), &len);
		if (st == NETIO_TOOLONG) {
			b->bad_line = true;
			continue;
		}
		if (st != NETIO_LINE) {
			p->env->stats.end = st == NETIO_EOF ? "disconnected"
			                  : st == NETIO_TIMEOUT ? "timeout" : "i/o error";
			return false;
		}
		if (len == 1 && line[0] == '.')
			return true;
		/* RFC 1939 §3 byte-stuffing, undone. */
		const char *s = line[0] == '.' ? line + 1 : line;
		append(b, s, len - (size_t)(s - line));
		append(b, "\n", 1);
	}
}

/* Splits the configured command line at blanks, in place. */
static size_t
split_args(char *cmd, char **argv)
{
	size_t n = 0;
	char *save;
	for (char *w = strtok_r(cmd, " \t", &save); w && n < XMIT_MAX_ARGS;
	     w = strtok_r(NULL, " \t", &save))
		argv[n++] = w;
	argv[n] = NULL;
	return n;
}

static void
child(int in_fd, char **argv)
{
	dup2(in_fd, 0);
	int null = open("/dev/null", O_WRONLY);
	if (null >= 0)
		dup2(null, 1);
	/* The session's socket, listeners and maildrop stay ours. */
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	signal(SIGPIPE, SIG_DFL);
	execv(argv[0], argv);
	_exit(127);
}

static long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes DATA to FD within the deadline; false if the reader went away
 * or did not keep up. */
static bool
feed(int fd, const char *data, size_t len, long deadline)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			long left = deadline - now_ms();
			if (left > 0 && poll(&pfd, 1, (int)left) >= 0)
				continue;
		}
		return false;
	}
	return true;
}

/* Waits for PID until the deadline, then kills it; its wait status. */
static int
reap(pid_t pid, long deadline)
{
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		struct timespec nap = { 0, 20 * 1000000L };
		nanosleep(&nap, NULL);
	}
}

/* Runs the configured command on the message; its wait status, or -1. */
static int
run_command(struct pop3 *p, const struct xmit_buf *b)
{
	char cmd[sizeof(p->env->cfg->xtnd_xmit)];
	char *argv[XMIT_MAX_ARGS + 1];
	int fds[2];

	snprintf(cmd, sizeof(cmd), "%s", p->env->cfg->xtnd_xmit);
	if (split_args(cmd, argv) == 0 || pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[1]);
		child(fds[0], argv);
	}
	close(fds[0]);
	fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
	long deadline = now_ms() + XMIT_TIMEOUT * 1000L;
	bool fed = feed(fds[1], b->data ? b->data : "", b->len, deadline);
	close(fds[1]);
	int status = reap(pid, deadline);
	/* A command that exits 0 without reading everything did not send it. */
	if (!fed && status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return -1;
	return status;
}

int
pop3_xmit(struct pop3 *p)
{
	struct xmit_buf b = { 0 };

	if (!p->env->cfg->xtnd_xmit[0]) {
		pop3_err(p, "XTND XMIT is disabled on this server; nothing was sent");
		return POP3_CONTINUE;
	}
	pop3_ok(p, "Send the message; end it with a line holding only a dot");
	if (!read_message(p, &b)) {
		free(b.data);
		return POP3_CLOSE;
	}
	if (b.too_big || b.bad_line || b.oom || b.len == 0) {
		pop3_err(p, "%s; nothing was sent",
		         b.oom ? "[SYS/TEMP] Out of memory"
		         : b.too_big ? "Message too large"
		         : b.bad_line ? "A line of the message is too long"
		         : "Empty message");
		free(b.data);
		return POP3_CONTINUE;
	}
	int status = run_command(p, &b);
	free(b.data);
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		log_info("XTND XMIT: %zu octets sent", b.len);
		pop3_ok(p, "Message sent");
	} else if (status >= 0 && WIFEXITED(status)) {
		log_warn("XTND XMIT: mail command exited with %d", WEXITSTATUS(status));
		pop3_err(p, "Message not sent: the mail command failed (exit %d)",
		         WEXITSTATUS(status));
	} else {
		log_warn("XTND XMIT: mail command could not be run or did not finish");
		pop3_err(p, "[SYS/TEMP] Message not sent: the mail command did not finish");
	}
	return POP3_CONTINUE;
}
