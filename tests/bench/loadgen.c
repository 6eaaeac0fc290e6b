/*
 * loadgen: the load generator of the benchmark (tests/bench/bench.py).
 *
 * One process, no dependencies beyond libc.  Every mode talks to a POP
 * server on 127.0.0.1:PORT and prints one line of key=value figures, so
 * the driver can parse it; a wrong reply or a wrong octet count is an
 * error, counted and printed, never a figure.
 *
 *   loadgen storm PORT CONC SESSIONS PREFIX NUSERS PASS
 *       SESSIONS POP3 sessions (connect, greeting, USER, PASS, STAT, QUIT),
 *       CONC at a time over poll(); slot i logs in as PREFIX<k> for
 *       k = i, i+CONC, ... (mod NUSERS), so two concurrent sessions never
 *       share a maildrop when CONC divides NUSERS (a session locks it).
 *   loadgen idle PORT N PREFIX PASS
 *       N sessions logged in as PREFIX0 .. PREFIX<N-1> (USER, PASS, STAT),
 *       then "ready N" on stdout; holds them until stdin ends or gives a
 *       line, then QUITs them all.
 *   loadgen retr PORT USER PASS
 *       RETR of every message, one at a time; the unstuffed octets must add
 *       up to the sum of LIST.  Figures are for the RETR loop only.
 *   loadgen ceiling OCTETS MSGS
 *       The same client loop against a trivial sender forked in-process on
 *       a loopback port: it answers each RETR with "+OK" and a prebuilt
 *       block of OCTETS/MSGS octets.  The ceiling for `retr`.
 *   loadgen list PORT USER PASS
 *       One session: login, STAT, LIST, UIDL, QUIT; the counts must agree.
 *   loadgen pop2 PORT USER PASS
 *       POP2 (RFC 937): HELO, READ 1, then RETR and ACKS to the end, QUIT;
 *       each RETR must deliver exactly the "=ccc" octets announced.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUF_OCTETS   (256 * 1024)
#define LINE_OCTETS  1024
#define MAX_INFLIGHT 64		/* logins started at once: below listen(128) */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static unsigned long
number(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end)
		die("not a number: %s", s);
	return v;
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
dial(unsigned port, int nonblock)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
}

/* ---- a blocking connection with a large input buffer ---- */

struct conn {
	int fd;
	size_t start, end;
	char buf[BUF_OCTETS];
};

static void
conn_fill(struct conn *c)
{
	ssize_t r;

	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	if (c->end == sizeof(c->buf))
		return;
	do
		r = read(c->fd, c->buf + c->end, sizeof(c->buf) - c->end);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		die("read: %s", strerror(errno));
	if (r == 0)
		die("connection closed by the server");
	c->end += (size_t)r;
}

/* One reply line without its line end, into line (LINE_OCTETS). */
static void
conn_line(struct conn *c, char *line)
{
	for (;;) {
		char *p = c->buf + c->start;
		char *nl = memchr(p, '\n', c->end - c->start);

		if (nl) {
			size_t n = (size_t)(nl - p);

			if (n > 0 && p[n - 1] == '\r')
				n--;
			if (n >= LINE_OCTETS)
				n = LINE_OCTETS - 1;
			memcpy(line, p, n);
			line[n] = '\0';
			c->start += (size_t)(nl - p) + 1;
			return;
		}
		if (c->end - c->start >= LINE_OCTETS)
			die("reply line too long");
		conn_fill(c);
	}
}

static void
conn_cmd(struct conn *c, char *line, const char *fmt, ...)
{
	char out[LINE_OCTETS];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, sizeof(out) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(out) - 2)
		die("command too long");
	memcpy(out + n, "\r\n", 2);
	send_all(c->fd, out, (size_t)n + 2);
	conn_line(c, line);
}

static void
conn_ok(struct conn *c, const char *what, const char *line)
{
	(void)c;
	if (strncmp(line, "+OK", 3) != 0)
		die("%s: %s", what, line);
}

/*
 * A dot-terminated block (RFC 1939 §3), read in place.  Returns the
 * unstuffed octets (CRLF included, terminator excluded): the figure LIST
 * gives.  lines_r, if not NULL, gets the line count.  A line longer than
 * the buffer is counted in pieces; it cannot be the terminator.
 */
static unsigned long long
conn_block(struct conn *c, unsigned long long *lines_r)
{
	unsigned long long octets = 0, lines = 0;
	int midline = 0;

	for (;;) {
		char *p = c->buf + c->start, *e = c->buf + c->end;
		char *nl;

		while ((nl = memchr(p, '\n', (size_t)(e - p))) != NULL) {
			size_t n = (size_t)(nl - p) + 1;

			if (!midline && p[0] == '.') {
				if (n == 3 && p[1] == '\r') {
					c->start = (size_t)(nl + 1 - c->buf);
					if (lines_r)
						*lines_r = lines;
					return octets;
				}
				n--;
			}
			octets += n;
			lines++;
			midline = 0;
			p = nl + 1;
		}
		c->start = (size_t)(p - c->buf);
		if (c->start == 0 && c->end == sizeof(c->buf)) {
			/* a line longer than the buffer: count what we have */
			if (!midline && p[0] == '.') {
				octets--;
			}
			octets += c->end;
			c->start = c->end;
			midline = 1;
		}
		conn_fill(c);
	}
}

static struct conn *
conn_open(unsigned port)
{
	struct conn *c = malloc(sizeof(*c));

	if (!c)
		die("out of memory");
	c->fd = dial(port, 0);
	if (c->fd < 0)
		die("connect to port %u: %s", port, strerror(errno));
	c->start = c->end = 0;
	return c;
}

static void
conn_free(struct conn *c)
{
	close(c->fd);
	free(c);
}

/* Greeting, USER, PASS, STAT; returns the message count and size. */
static unsigned long
pop3_login(struct conn *c, const char *user, const char *pass,
    unsigned long long *octets_r)
{
	char line[LINE_OCTETS];
	unsigned long n;
	unsigned long long o;

	conn_line(c, line);
	conn_ok(c, "greeting", line);
	conn_cmd(c, line, "USER %s", user);
	conn_ok(c, "USER", line);
	conn_cmd(c, line, "PASS %s", pass);
	conn_ok(c, "PASS", line);
	conn_cmd(c, line, "STAT");
	if (sscanf(line, "+OK %lu %llu", &n, &o) != 2)
		die("STAT: %s", line);
	if (octets_r)
		*octets_r = o;
	return n;
}

static void
pop3_quit(struct conn *c)
{
	char line[LINE_OCTETS];

	conn_cmd(c, line, "QUIT");
	conn_ok(c, "QUIT", line);
}

/* Sums a LIST block's sizes (the block is short lines "n size"). */
static unsigned long long
pop3_list(struct conn *c, unsigned long *count_r)
{
	char line[LINE_OCTETS];
	unsigned long long sum = 0, size;
	unsigned long count = 0, msn;

	conn_cmd(c, line, "LIST");
	conn_ok(c, "LIST", line);
	for (;;) {
		conn_line(c, line);
		if (!strcmp(line, "."))
			break;
		if (sscanf(line, "%lu %llu", &msn, &size) != 2)
			die("LIST line: %s", line);
		sum += size;
		count++;
	}
	*count_r = count;
	return sum;
}

/* ---- retr and ceiling ---- */

static void
retr_loop(struct conn *c, unsigned long n, unsigned long long expect,
    const char *label)
{
	char line[LINE_OCTETS];
	unsigned long long got = 0;
	unsigned long i;
	double t0, t;

	t0 = now();
	for (i = 1; i <= n; i++) {
		conn_cmd(c, line, "RETR %lu", i);
		conn_ok(c, "RETR", line);
		got += conn_block(c, NULL);
	}
	t = now() - t0;
	printf("%s msgs=%lu octets=%llu expected=%llu seconds=%.6f mbps=%.2f "
	    "errors=%d\n", label, n, got, expect, t, got / t / 1e6,
	    got != expect);
}

static int
cmd_retr(unsigned port, const char *user, const char *pass)
{
	struct conn *c = conn_open(port);
	unsigned long n, listed;
	unsigned long long sum;

	n = pop3_login(c, user, pass, NULL);
	sum = pop3_list(c, &listed);
	if (listed != n)
		die("LIST has %lu lines, STAT %lu", listed, n);
	retr_loop(c, n, sum, "retr");
	pop3_quit(c);
	conn_free(c);
	return 0;
}

/* The trivial sender: "+OK" and the same prebuilt block for every RETR. */
static void
ceiling_serve(int lfd, size_t per)
{
	char *block = malloc(per + 16), line[LINE_OCTETS];
	struct conn *c = malloc(sizeof(*c));
	size_t i;
	int fd;

	if (!block || !c)
		die("out of memory");
	for (i = 0; i < per; i++)
		block[i] = (i % 80 == 78) ? '\r' : (i % 80 == 79) ? '\n' : 'x';
	if (per >= 2)
		memcpy(block + per - 2, "\r\n", 2);
	memcpy(block + per, ".\r\n", 3);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept: %s", strerror(errno));
	c->fd = fd;
	c->start = c->end = 0;
	send_all(fd, "+OK ceiling\r\n", 13);
	for (;;) {
		conn_line(c, line);
		if (!strncmp(line, "QUIT", 4)) {
			send_all(fd, "+OK\r\n", 5);
			break;
		}
		send_all(fd, "+OK\r\n", 5);
		send_all(fd, block, per + 3);
	}
	_exit(0);
}

static int
cmd_ceiling(unsigned long long octets, unsigned long msgs)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct conn *c;
	char line[LINE_OCTETS];
	size_t per;
	int lfd, status;
	pid_t pid;

	if (msgs == 0 || octets < msgs)
		die("ceiling: need OCTETS >= MSGS > 0");
	per = (size_t)(octets / msgs);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(lfd, 1) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) != 0)
		die("ceiling listener: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0)
		ceiling_serve(lfd, per);
	close(lfd);
	c = conn_open(ntohs(sin.sin_port));
	conn_line(c, line);
	retr_loop(c, msgs, (unsigned long long)per * msgs, "ceiling");
	pop3_quit(c);
	conn_free(c);
	waitpid(pid, &status, 0);
	return 0;
}

/* ---- list ---- */

static int
cmd_list(unsigned port, const char *user, const char *pass)
{
	char line[LINE_OCTETS];
	struct conn *c;
	unsigned long n, listed;
	unsigned long long octets, sum, uidls;
	double t0, tlogin, t;

	t0 = now();
	c = conn_open(port);
	n = pop3_login(c, user, pass, &octets);
	tlogin = now() - t0;
	sum = pop3_list(c, &listed);
	conn_cmd(c, line, "UIDL");
	conn_ok(c, "UIDL", line);
	conn_block(c, &uidls);
	pop3_quit(c);
	t = now() - t0;
	conn_free(c);
	printf("list msgs=%lu listed=%lu uidls=%llu octets=%llu listsum=%llu "
	    "login_seconds=%.6f seconds=%.6f errors=%d\n", n, listed, uidls,
	    octets, sum, tlogin, t,
	    listed != n || uidls != n || sum != octets);
	return 0;
}

/* ---- pop2 ---- */

static unsigned long long
pop2_length(const char *what, const char *line)
{
	unsigned long long v;

	if (line[0] != '=' || sscanf(line + 1, "%llu", &v) != 1)
		die("%s: %s", what, line);
	return v;
}

static int
cmd_pop2(unsigned port, const char *user, const char *pass)
{
	char line[LINE_OCTETS];
	struct conn *c = conn_open(port);
	unsigned long n, got = 0;
	unsigned long long len, octets = 0;
	double t0, t;

	conn_line(c, line);
	if (line[0] != '+')
		die("POP2 greeting: %s", line);
	conn_cmd(c, line, "HELO %s %s", user, pass);
	if (line[0] != '#' || sscanf(line + 1, "%lu", &n) != 1)
		die("HELO: %s", line);
	t0 = now();
	conn_cmd(c, line, "READ 1");
	len = pop2_length("READ", line);
	while (len > 0) {
		unsigned long long left = len;

		send_all(c->fd, "RETR\r\n", 6);
		while (left > 0) {
			size_t have = c->end - c->start;

			if (have == 0) {
				conn_fill(c);
				continue;
			}
			if (have > left)
				have = (size_t)left;
			c->start += have;
			left -= have;
		}
		octets += len;
		got++;
		conn_cmd(c, line, "ACKS");
		len = pop2_length("ACKS", line);
	}
	t = now() - t0;
	conn_cmd(c, line, "QUIT");
	if (line[0] != '+')
		die("QUIT: %s", line);
	conn_free(c);
	printf("pop2 msgs=%lu expected=%lu octets=%llu seconds=%.6f mbps=%.2f "
	    "errors=%d\n", got, n, octets, t, octets / t / 1e6, got != n);
	return 0;
}

/* ---- storm and idle: many non-blocking sessions over poll() ---- */

enum step { GREETING, USER, PASS, STAT, QUIT, IDLE };

struct slot {
	int fd;			/* -1 when free */
	enum step step;
	unsigned long user;	/* user number of this session */
	unsigned long rounds;	/* sessions this slot has started */
	size_t have;
	char in[LINE_OCTETS];
};

struct storm {
	struct slot *slots;
	struct pollfd *pfd;
	size_t nslots;
	const char *prefix, *pass;
	unsigned long done, errors, started, inflight;
	unsigned long target;	/* sessions to start in all */
	int hold;		/* idle mode: stay logged in after STAT */
};

/* "VERB arg" or "VERB": a few octets on a fresh socket, which its send
 * buffer always takes whole. */
static void
slot_send(struct slot *s, const char *verb, const char *arg)
{
	char out[LINE_OCTETS];
	int n = snprintf(out, sizeof(out), "%s%s%s\r\n", verb, arg ? " " : "",
	    arg ? arg : "");

	if (n < 0 || (size_t)n >= sizeof(out))
		die("command too long");
	if (write(s->fd, out, (size_t)n) != n)
		die("write: %s", strerror(errno));
}

static void
slot_close(struct storm *st, struct slot *s, int ok)
{
	close(s->fd);
	s->fd = -1;
	if (ok)
		st->done++;
	else
		st->errors++;
	if (s->step != IDLE)
		st->inflight--;
}

/* Advances a session by one reply line; returns 0 when it ended. */
static int
slot_reply(struct storm *st, struct slot *s, const char *line)
{
	char name[LINE_OCTETS / 2];

	if (strncmp(line, "+OK", 3) != 0) {
		fprintf(stderr, "loadgen: %s%lu: step %d: %s\n", st->prefix,
		    s->user, (int)s->step, line);
		slot_close(st, s, 0);
		return 0;
	}
	switch (s->step) {
	case GREETING:
		snprintf(name, sizeof(name), "%s%lu", st->prefix, s->user);
		slot_send(s, "USER", name);
		s->step = USER;
		break;
	case USER:
		slot_send(s, "PASS", st->pass);
		s->step = PASS;
		break;
	case PASS:
		slot_send(s, "STAT", NULL);
		s->step = STAT;
		break;
	case STAT:
		if (st->hold) {
			s->step = IDLE;
			st->inflight--;
			st->done++;
			return 1;
		}
		slot_send(s, "QUIT", NULL);
		s->step = QUIT;
		break;
	case QUIT:
		slot_close(st, s, 1);
		return 0;
	case IDLE:
		break;
	}
	return 1;
}

static void
slot_input(struct storm *st, struct slot *s)
{
	ssize_t r = read(s->fd, s->in + s->have, sizeof(s->in) - 1 - s->have);
	char *nl;

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		fprintf(stderr, "loadgen: %s%lu: step %d: %s\n", st->prefix,
		    s->user, (int)s->step, r ? strerror(errno) : "closed");
		slot_close(st, s, 0);
		return;
	}
	s->have += (size_t)r;
	while ((nl = memchr(s->in, '\n', s->have)) != NULL) {
		size_t n = (size_t)(nl - s->in) + 1;

		*nl = '\0';
		if (!slot_reply(st, s, s->in))
			return;
		memmove(s->in, s->in + n, s->have - n);
		s->have -= n;
	}
	if (s->have == sizeof(s->in) - 1) {
		fprintf(stderr, "loadgen: reply line too long\n");
		slot_close(st, s, 0);
	}
}

static void
storm_run(struct storm *st, unsigned port, unsigned long nusers)
{
	size_t i;

	for (;;) {
		size_t np = 0;
		int busy = 0;

		for (i = 0; i < st->nslots; i++) {
			struct slot *s = &st->slots[i];

			if (s->fd < 0 && st->started < st->target &&
			    st->inflight < MAX_INFLIGHT &&
			    !(st->hold && s->step == IDLE)) {
				/* slot i's k-th session: user i + k*nslots */
				s->user = (i + s->rounds * st->nslots) % nusers;
				s->rounds++;
				s->fd = dial(port, 1);
				if (s->fd < 0)
					die("connect: %s", strerror(errno));
				s->step = GREETING;
				s->have = 0;
				st->started++;
				st->inflight++;
			}
			if (s->fd >= 0 && s->step != IDLE) {
				st->pfd[np].fd = s->fd;
				st->pfd[np].events = POLLIN;
				st->pfd[np].revents = 0;
				np++;
				busy = 1;
			}
		}
		if (!busy)
			return;
		if (poll(st->pfd, np, 30000) <= 0)
			die("poll: no progress in 30 s (%lu done)", st->done);
		np = 0;
		for (i = 0; i < st->nslots; i++) {
			struct slot *s = &st->slots[i];

			if (s->fd < 0 || s->step == IDLE)
				continue;
			if (st->pfd[np].revents)
				slot_input(st, s);
			np++;
		}
	}
}

static void
storm_init(struct storm *st, size_t nslots, const char *prefix,
    const char *pass)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	st->slots = calloc(nslots, sizeof(*st->slots));
	st->pfd = calloc(nslots, sizeof(*st->pfd));
	if (!st->slots || !st->pfd)
		die("out of memory");
	for (i = 0; i < nslots; i++)
		st->slots[i].fd = -1;
	st->nslots = nslots;
	st->prefix = prefix;
	st->pass = pass;
}

static void
storm_free(struct storm *st)
{
	free(st->slots);
	free(st->pfd);
}

static int
cmd_storm(unsigned port, unsigned long conc, unsigned long sessions,
    const char *prefix, unsigned long nusers, const char *pass)
{
	struct storm st;
	double t0, t;

	if (conc == 0 || nusers < conc)
		die("storm: need 0 < CONC <= NUSERS");
	storm_init(&st, conc, prefix, pass);
	st.target = sessions;
	t0 = now();
	storm_run(&st, port, nusers);
	t = now() - t0;
	printf("storm conc=%lu sessions=%lu errors=%lu seconds=%.6f rate=%.1f\n",
	    conc, st.done, st.errors, t, st.done / t);
	storm_free(&st);
	return 0;
}

static int
cmd_idle(unsigned port, unsigned long n, const char *prefix, const char *pass)
{
	struct storm st;
	char line[64];
	size_t i;
	double t0;

	storm_init(&st, n, prefix, pass);
	st.target = n;
	st.hold = 1;
	t0 = now();
	storm_run(&st, port, n);
	printf("ready %lu errors=%lu seconds=%.3f\n", st.done, st.errors,
	    now() - t0);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = '\0';
	for (i = 0; i < n; i++) {
		struct slot *s = &st.slots[i];

		if (s->fd >= 0) {
			if (write(s->fd, "QUIT\r\n", 6) != 6)
				st.errors++;
			close(s->fd);
		}
	}
	storm_free(&st);
	return 0;
}

static void
usage(void)
{
	fputs("usage: loadgen storm PORT CONC SESSIONS PREFIX NUSERS PASS\n"
	    "       loadgen idle PORT N PREFIX PASS\n"
	    "       loadgen retr|list|pop2 PORT USER PASS\n"
	    "       loadgen ceiling OCTETS MSGS\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (argc == 8 && !strcmp(argv[1], "storm"))
		return cmd_storm((unsigned)number(argv[2]), number(argv[3]),
		    number(argv[4]), argv[5], number(argv[6]), argv[7]);
	if (argc == 6 && !strcmp(argv[1], "idle"))
		return cmd_idle((unsigned)number(argv[2]), number(argv[3]),
		    argv[4], argv[5]);
	if (argc == 5 && !strcmp(argv[1], "retr"))
		return cmd_retr((unsigned)number(argv[2]), argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "list"))
		return cmd_list((unsigned)number(argv[2]), argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "pop2"))
		return cmd_pop2((unsigned)number(argv[2]), argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "ceiling"))
		return cmd_ceiling(number(argv[2]), number(argv[3]));
	usage();
	return 2;
}
