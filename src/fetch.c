/*
 * postoffice fetch: the command line, the URL, the connection, the trace
 * and the local store (fetch.h).  The protocols are in fetch_pop1.c,
 * fetch_pop2.c and fetch_pop3.c.
 */
#include "fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "spool.h"

#define FETCH_MASK "********"

static void
usage(void)
{
	fprintf(stderr,
	  "usage: postoffice fetch [--trace] [--keep] [--apop] [--password-file FILE]\n"
	  "                        --to mbox:PATH|maildir:PATH URL\n"
	  "URL: pop3://user@host[:port] (port 110), pop2://user@host[:port][/folder]\n"
	  "     or pop1://user@host[:port][/mailbox] (port 109)\n"
	  "the password is the first line of FILE, else $POSTOFFICE_PASSWORD\n");
}

int
fetch_fail(int status, const char *fmt, ...)
{
	va_list ap;
	fputs("postoffice fetch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

static void
wipe(void *p, size_t len)
{
	volatile unsigned char *v = p;
	while (len--)
		*v++ = 0;
}

/* ---- the trace: C: for what we send, S: for what the server says ---- */

void
fetch_trace_line(struct fetch *f, const char *fmt, ...)
{
	va_list ap;
	if (!f->trace)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* "C: " or "S: " and LEN octets of P, printable ASCII as is and the rest
 * as \xNN, so a server cannot send escape sequences to the terminal. */
static void
trace_text(const struct fetch *f, const char *tag, const char *p, size_t len,
           bool masked)
{
	if (!f->trace)
		return;
	fputs(tag, stderr);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c < 0x7f)
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02X", c);
	}
	fputs(masked ? " " FETCH_MASK "\n" : "\n", stderr);
}

/* ---- the connection ---- */

bool
fetch_send(struct fetch *f, unsigned secret, const char *fmt, ...)
{
	char line[LINE_MAX_OCTETS + SECRET_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line - 2)
		return false;

	/* Mask from word SECRET on; POP2 quoting keeps "\ " in a word. */
	size_t shown = (size_t)n;
	if (secret) {
		const char *p = line;
		for (unsigned w = 0; w < secret && *p; w++) {
			while (*p && *p != ' ')
				p += (p[0] == '\\' && p[1]) ? 2 : 1;
			if (w + 1 < secret)
				while (*p == ' ')
					p++;
		}
		shown = (size_t)(p - line);
	}
	trace_text(f, "C: ", line, shown, shown < (size_t)n);

	memcpy(line + n, "\r\n", 2);
	netio_write(&f->io, line, (size_t)n + 2);
	bool ok = netio_flush(&f->io);
	if (!ok)
		f->dead = true;
	if (secret) {
		wipe(line, sizeof line);
		wipe(f->io.out, sizeof f->io.out);
	}
	return ok;
}

/* The connection is gone or silent: say so once, and let fetch_quit
 * know there is no one left to say QUIT to. */
static int
input_failed(struct fetch *f, enum netio_status st)
{
	f->dead = true;
	switch (st) {
	case NETIO_EOF:
		return fetch_fail(FETCH_EXIT_CONNECT, "the server closed the connection");
	case NETIO_TIMEOUT:
		return fetch_fail(FETCH_EXIT_CONNECT, "no answer from the server in %d seconds",
		                  FETCH_TIMEOUT);
	default:
		return fetch_fail(FETCH_EXIT_CONNECT, "the connection failed");
	}
}

/* One octet of input. */
static int
get_octet(struct fetch *f, unsigned char *c)
{
	size_t n;
	enum netio_status st = netio_read_raw(&f->io, c, 1, &n);
	return st == NETIO_LINE ? 0 : input_failed(f, st);
}

int
fetch_reply(struct fetch *f, char *buf, size_t cap)
{
	size_t len = 0;
	for (;;) {
		unsigned char c;
		int r = get_octet(f, &c);
		if (r)
			return r;
		if (c == '\n')
			break;
		if (len + 1 >= cap)
			return fetch_fail(FETCH_EXIT_PROTOCOL, "a reply line over %zu octets",
			                  cap - 1);
		buf[len++] = (char)c;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	trace_text(f, "S: ", buf, len, false);
	if (memchr(buf, '\0', len))
		return fetch_fail(FETCH_EXIT_PROTOCOL, "a NUL in a reply line");
	return 0;
}

bool
fetch_buf_add(struct fetch_buf *b, const void *p, size_t len)
{
	if (len > FETCH_DATA_MAX - b->len)
		return false;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len)
			cap *= 2;
		unsigned char *q = realloc(b->p, cap);
		if (!q)
			return false;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	return true;
}

void
fetch_buf_free(struct fetch_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int
fetch_counted(struct fetch *f, const char *verb, uint64_t n,
              struct fetch_buf *b, const char *label)
{
	b->len = 0;
	if (n > FETCH_DATA_MAX)
		return fetch_fail(FETCH_EXIT_PROTOCOL, "%s: %llu octets is more than "
		                  "fetch holds (%llu)", label, (unsigned long long)n,
		                  (unsigned long long)FETCH_DATA_MAX);
	if (b->cap < n) {
		unsigned char *q = realloc(b->p, (size_t)n);
		if (!q)
			return fetch_fail(FETCH_EXIT_STORE, "%s: out of memory", label);
		b->p = q;
		b->cap = (size_t)n;
	}
	if (!fetch_send(f, 0, "%s", verb))
		return fetch_fail(FETCH_EXIT_CONNECT, "the connection failed");
	while (b->len < n) {
		size_t got;
		enum netio_status st = netio_read_raw(&f->io, b->p + b->len,
		                                      (size_t)n - b->len, &got);
		if (st != NETIO_LINE) {
			fetch_fail(FETCH_EXIT_CONNECT, "%s: %zu of %llu octets received",
			           label, b->len, (unsigned long long)n);
			return input_failed(f, st);
		}
		b->len += got;
	}
	size_t lines = 0;
	for (size_t i = 0; i < b->len; i++)
		lines += b->p[i] == '\n';
	fetch_trace_line(f, "S: <%s: %llu octets, %zu lines>", label,
	                 (unsigned long long)n, lines);
	return 0;
}

int
fetch_data_line(struct fetch *f, struct fetch_buf *b, uint64_t *wire_r,
                bool *end_r)
{
	size_t start = b->len;
	*end_r = false;
	for (;;) {
		unsigned char c;
		int r = get_octet(f, &c);
		if (r)
			return r;
		if (!fetch_buf_add(b, &c, 1))
			return fetch_fail(FETCH_EXIT_PROTOCOL, "a message over %llu octets",
			                  (unsigned long long)FETCH_DATA_MAX);
		if (c == '\n')
			break;
	}
	unsigned char *line = b->p + start;
	size_t n = b->len - start;
	if (n >= 2 && line[n - 2] == '\r') {
		line[n - 2] = '\n';
		n--;
	}
	if (n == 2 && line[0] == '.') {
		b->len = start;
		*end_r = true;
		return 0;
	}
	if (line[0] == '.') {
		memmove(line, line + 1, n - 1);
		n--;
	}
	b->len = start + n;
	*wire_r += n + 1;
	return 0;
}

bool
fetch_number(const char *reply, char indicator, uint64_t *n_r)
{
	const char *p = reply + 1;
	uint64_t n = 0;
	if (reply[0] != indicator || *p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*n_r = n;
	return *p == '\0' || *p == ' ';
}

void
fetch_quit(struct fetch *f)
{
	char line[LINE_MAX_OCTETS];
	if (!f->dead && fetch_send(f, 0, "QUIT"))
		(void)fetch_reply(f, line, sizeof line);
}

bool
fetch_positive(const struct fetch *f, const char *line)
{
	if (f->proto == FETCH_POP3)
		return !strncmp(line, "+OK", 3) && (line[3] == '\0' || line[3] == ' ');
	return line[0] == '+';
}

int
fetch_login(struct fetch *f)
{
	char line[LINE_MAX_OCTETS];
	const char *step = "USER";
	if (!fetch_send(f, 0, "USER %s", f->user))
		return fetch_fail(FETCH_EXIT_CONNECT, "the connection failed");
	int r = fetch_reply(f, line, sizeof line);
	if (!r && fetch_positive(f, line)) {
		step = "PASS";
		if (!fetch_send(f, 1, "PASS %s", f->password))
			return fetch_fail(FETCH_EXIT_CONNECT, "the connection failed");
		r = fetch_reply(f, line, sizeof line);
	}
	if (!r && !fetch_positive(f, line)) {
		fetch_quit(f);
		return fetch_fail(FETCH_EXIT_AUTH, "login refused at %s: %s", step, line);
	}
	return r;
}

int
fetch_goodbye(struct fetch *f)
{
	char line[LINE_MAX_OCTETS];
	if (!fetch_send(f, 0, "QUIT"))
		return fetch_fail(FETCH_EXIT_CONNECT, "the connection failed");
	int r = fetch_reply(f, line, sizeof line);
	if (!r && !fetch_positive(f, line))
		r = fetch_fail(FETCH_EXIT_PROTOCOL, "QUIT: the server answered '%s'", line);
	if (r && !f->keep && f->messages && f->proto != FETCH_POP1)
		fetch_fail(r, "the messages fetched may still be on the server");
	return r;
}

/* Connects to F's host and port, trying each address in turn, each for
 * FETCH_TIMEOUT seconds at most; the socket or -1 (printed). */
static int
dial(struct fetch *f, int *status_r)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res;
	int e = getaddrinfo(f->host, f->port, &hints, &res);
	if (e != 0) {
		*status_r = fetch_fail(FETCH_EXIT_NOHOST, "%s: %s", f->host, gai_strerror(e));
		return -1;
	}
	int fd = -1, err = 0;
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			socklen_t len = sizeof err;
			int n = poll(&p, 1, FETCH_TIMEOUT * 1000);
			if (n == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0
			    && err == 0)
				break;
			if (n == 0)
				err = ETIMEDOUT;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		*status_r = fetch_fail(FETCH_EXIT_CONNECT, "%s port %s: %s", f->host,
		                       f->port, strerror(err));
	return fd;
}

/* ---- the local store ---- */

size_t
fetch_lf_form(unsigned char *p, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
			continue;
		p[o++] = p[i];
	}
	return o;
}

int
fetch_store(struct fetch *f, const char *envelope, const unsigned char *msg,
            size_t len, uint64_t wire)
{
	/* An empty message is stored as the one empty line the servers send
	 * for it (spool/wire.h): an mbox or Maildir entry is never empty. */
	if (len == 0)
		msg = (const unsigned char *)"\n", len = 1;
	enum spool_err e = spool_append(f->target, f->maildir, envelope, msg, len);
	if (e != SPOOL_OK)
		return fetch_fail(FETCH_EXIT_STORE, "storing message %lu in %s: %s",
		                  f->messages + 1, f->target, spool_strerror(e));
	f->messages++;
	f->octets += wire;
	fetch_trace_line(f, "-- stored message %lu (%llu octets) in %s", f->messages,
	                 (unsigned long long)wire, f->target);
	return 0;
}

/* ---- the command line ---- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copies [P, P+LEN) into OUT undoing %XX escapes; refuses control
 * characters (they would end or split a command line) and, unless
 * SPACES, spaces. */
static bool
decode(const char *p, size_t len, char *out, size_t cap, bool spaces)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)p[i];
		if (c == '%') {
			int hi = i + 2 < len ? hexval(p[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(p[i + 2]) : -1;
			if (lo < 0)
				return false;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || (c == ' ' && !spaces) || o + 1 >= cap)
			return false;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return o > 0;
}

/* scheme://user@host[:port][/mailbox] */
static bool
parse_url(struct fetch *f, const char *url)
{
	static const struct { const char *scheme, *port; enum fetch_proto proto; } s[] = {
		{ "pop3://", "110", FETCH_POP3 },
		{ "pop2://", "109", FETCH_POP2 },
		{ "pop1://", "109", FETCH_POP1 },
	};
	size_t i = 0;
	while (i < 3 && strncmp(url, s[i].scheme, 7) != 0)
		i++;
	if (i == 3)
		return false;
	f->proto = s[i].proto;
	snprintf(f->port, sizeof f->port, "%s", s[i].port);

	const char *auth = url + 7, *slash = strchr(auth, '/');
	const char *end = slash ? slash : auth + strlen(auth);
	const char *at = NULL;
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (!at || !decode(auth, (size_t)(at - auth), f->user, sizeof f->user, false))
		return false;

	const char *h = at + 1, *hend, *colon = NULL;
	if (*h == '[') {
		hend = memchr(h, ']', (size_t)(end - h));
		if (!hend)
			return false;
		h++;
		colon = hend + 1 < end ? hend + 1 : NULL;
		if (colon && *colon != ':')
			return false;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		hend = colon ? colon : end;
	}
	size_t hlen = (size_t)(hend - h);
	if (hlen == 0 || hlen >= sizeof f->host)
		return false;
	memcpy(f->host, h, hlen);
	f->host[hlen] = '\0';
	if (colon) {
		size_t plen = (size_t)(end - colon - 1);
		if (plen == 0 || plen > 5 || strspn(colon + 1, "0123456789") < plen)
			return false;
		memcpy(f->port, colon + 1, plen);
		f->port[plen] = '\0';
		long port = strtol(f->port, NULL, 10);
		if (port < 1 || port > 65535)
			return false;
	}
	f->mailbox[0] = '\0';
	if (slash && slash[1]) {
		if (f->proto == FETCH_POP3)
			return false; /* POP3 has one maildrop per user */
		if (!decode(slash + 1, strlen(slash + 1), f->mailbox, sizeof f->mailbox, true))
			return false;
	}
	return true;
}

/* The first line of FILE, or $POSTOFFICE_PASSWORD. */
static int
read_password(struct fetch *f, const char *file)
{
	if (file) {
		FILE *fp = fopen(file, "r");
		if (!fp)
			return fetch_fail(FETCH_EXIT_USAGE, "%s: %s", file, strerror(errno));
		bool got = fgets(f->password, sizeof f->password, fp) != NULL;
		fclose(fp);
		if (!got)
			f->password[0] = '\0';
		f->password[strcspn(f->password, "\r\n")] = '\0';
	} else {
		const char *env = getenv("POSTOFFICE_PASSWORD");
		if (!env)
			return fetch_fail(FETCH_EXIT_USAGE, "no password: give --password-file "
			                  "FILE or set POSTOFFICE_PASSWORD");
		if (strlen(env) >= sizeof f->password)
			return fetch_fail(FETCH_EXIT_USAGE, "the password is too long");
		strcpy(f->password, env);
	}
	if (!f->password[0])
		return fetch_fail(FETCH_EXIT_USAGE, "the password is empty");
	for (const char *p = f->password; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fetch_fail(FETCH_EXIT_USAGE, "the password holds a control character");
	return 0;
}

static int
parse_args(struct fetch *f, int argc, char **argv)
{
	const char *to = NULL, *url = NULL, *pwfile = NULL;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--trace"))
			f->trace = true;
		else if (!strcmp(argv[i], "--keep"))
			f->keep = true;
		else if (!strcmp(argv[i], "--apop"))
			f->apop = true;
		else if (!strcmp(argv[i], "--password-file") && i + 1 < argc)
			pwfile = argv[++i];
		else if (!strcmp(argv[i], "--to") && i + 1 < argc)
			to = argv[++i];
		else if (!url && argv[i][0] != '-')
			url = argv[i];
		else {
			usage();
			return FETCH_EXIT_USAGE;
		}
	}
	if (!to || !url) {
		usage();
		return FETCH_EXIT_USAGE;
	}
	if (!strncmp(to, "mbox:", 5) && to[5])
		f->maildir = false;
	else if (!strncmp(to, "maildir:", 8) && to[8])
		f->maildir = true;
	else
		return fetch_fail(FETCH_EXIT_USAGE, "--to takes mbox:PATH or maildir:PATH");
	f->target = strchr(to, ':') + 1;
	if (!parse_url(f, url))
		return fetch_fail(FETCH_EXIT_USAGE, "bad URL '%s': expected pop3://user@host"
		                  "[:port], pop2:// or pop1://user@host[:port][/mailbox]", url);
	if (f->apop && f->proto != FETCH_POP3)
		return fetch_fail(FETCH_EXIT_USAGE, "--apop is for pop3:// only");
	return read_password(f, pwfile);
}

int
fetch_main(int argc, char **argv)
{
	static struct fetch f;
	int status = parse_args(&f, argc, argv);
	if (status) {
		wipe(f.password, sizeof f.password);
		return status;
	}
	/* A server that closes while we write must give an error, not kill us. */
	struct sigaction sa = { .sa_handler = SIG_IGN };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);

	int fd = dial(&f, &status);
	if (fd >= 0) {
		fetch_trace_line(&f, "-- connected to %s port %s", f.host, f.port);
		netio_init(&f.io, fd, fd);
		f.io.idle_timeout = FETCH_TIMEOUT;
		f.io.write_timeout = FETCH_TIMEOUT;
		status = f.proto == FETCH_POP3 ? fetch_pop3(&f)
		       : f.proto == FETCH_POP2 ? fetch_pop2(&f) : fetch_pop1(&f);
		close(fd);
	}
	wipe(f.password, sizeof f.password);
	if (status && f.messages)
		fetch_fail(status, "%lu message%s stored in %s before the failure",
		           f.messages, f.messages == 1 ? " was" : "s were", f.target);
	if (!status)
		fprintf(stderr, "fetched %lu message%s, %llu octets\n", f.messages,
		        f.messages == 1 ? "" : "s", (unsigned long long)f.octets);
	return status;
}
