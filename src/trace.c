/* The protocol trace; what it writes and why is in trace.h. */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define TRACE_MASK "********"
/* A traced line is cut here: enough for any command or reply, and a
 * message line in full mode is still readable. */
#define TRACE_TEXT_MAX 1000
/* The column where a client line's annotation starts. */
#define TRACE_NOTE_COLUMN 36

struct trace {
	int fd;
	bool own_fd;
	bool bodies;            /* message data in full, not summarised */
	bool tagged;            /* lines start with "proto peer " (stderr) */
	char proto[16];
	char peer[96];
	const struct dispatch_table *table;
	unsigned state;
	/* The client line held until the next event. */
	bool pending, pending_secret, pending_toolong;
	unsigned pending_state;
	char pend[TRACE_TEXT_MAX + 1];
	size_t pend_len;
	/* The server line being assembled from what netio writes. */
	char sline[TRACE_TEXT_MAX + 1];
	size_t slen;
	bool struncated, sbegun;
	bool challenge;         /* the last POP3 server line was "+ ..." */
	/* Message data between trace_body_begin and trace_body_end. */
	bool in_body;
	char label[64];
	unsigned long long body_octets, body_lines;
};

/* One trace line, in one write(2), so sessions tracing onto the same
 * stderr never cut into each other's lines. */
static void
emit(struct trace *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
emit(struct trace *t, const char *fmt, ...)
{
	char buf[TRACE_TEXT_MAX * 4 + 512];
	size_t n = 0;
	va_list ap;

	if (t->tagged)
		n = (size_t)snprintf(buf, sizeof(buf), "%s %s ",
		                     t->table ? t->table->name : t->proto, t->peer);
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += (size_t)m < sizeof(buf) - n - 1 ? (size_t)m : sizeof(buf) - n - 2;
	buf[n++] = '\n';
	for (size_t done = 0; done < n;) {
		ssize_t w = write(t->fd, buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		done += (size_t)w;
	}
}

/* Printable ASCII as is, everything else as \xNN: a client must not be
 * able to send escape sequences to the teacher's terminal. */
static void
escape(char *out, size_t cap, const char *s, size_t len, bool cut)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02X", c);
	}
	if (cut && o + 4 < cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static const char *
state_name(const struct trace *t, unsigned state)
{
	if (t->table && t->table->state_names)
		for (unsigned i = 0; t->table->state_names[i]; i++)
			if (state == 1u << i)
				return t->table->state_names[i];
	return "CONNECTED";
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The row a line's verb selects in STATE, as the dispatcher picks it;
 * *secret_r says whether any row of that verb holds a secret. */
static const struct dispatch_row *
find_row(const struct trace *t, const char *verb, unsigned state,
         bool *secret_r)
{
	const struct dispatch_row *found = NULL;
	*secret_r = false;
	if (!t->table)
		return NULL;
	for (size_t i = 0; i < t->table->nrows; i++) {
		const struct dispatch_row *r = &t->table->rows[i];
		if (strcasecmp(r->verb, verb) != 0)
			continue;
		if (r->flags & DISPATCH_SECRET)
			*secret_r = true;
		if (!found || (!(found->states & state) && (r->states & state)))
			found = r;
	}
	return found;
}

/*
 * Writes the held client line: masked, escaped, annotated.  With a
 * secret row, the words before its last argument are kept and everything
 * from that argument on becomes the mask.
 */
static void
flush_client(struct trace *t)
{
	char shown[TRACE_TEXT_MAX * 4 + 16], note[256] = "";
	if (!t->pending)
		return;
	t->pending = false;
	if (t->pending_toolong) {
		emit(t, "C: <line too long, discarded>");
		return;
	}
	if (t->pending_secret) {
		emit(t, "C: " TRACE_MASK);
		return;
	}
	const char *p = t->pend, *end = t->pend + t->pend_len;
	while (p < end && is_blank(*p))
		p++;
	const char *vb = p;
	while (p < end && !is_blank(*p))
		p++;
	char verb[32];
	size_t vlen = (size_t)(p - vb) < sizeof(verb) - 1 ? (size_t)(p - vb)
	                                                  : sizeof(verb) - 1;
	memcpy(verb, vb, vlen);
	verb[vlen] = '\0';

	bool secret;
	unsigned st = t->pending_state;
	const struct dispatch_row *row = vlen ? find_row(t, verb, st, &secret) : NULL;
	size_t keep = t->pend_len;
	if (row && secret) {
		/* Skip the arguments before the secret one (RFC 937 quoting:
		 * a backslash keeps the next character in the word). */
		bool bs = (t->table->flags & DISPATCH_BACKSLASH) != 0;
		for (unsigned a = 1; a < row->max_args; a++) {
			while (p < end && is_blank(*p))
				p++;
			while (p < end && !is_blank(*p))
				p += (bs && *p == '\\' && p + 1 < end) ? 2 : 1;
		}
		keep = (size_t)(p - t->pend);
	}
	escape(shown, sizeof(shown), t->pend, keep, false);
	if (keep < t->pend_len) {
		size_t n = strlen(shown);
		snprintf(shown + n, sizeof(shown) - n, " " TRACE_MASK);
	}
	if (row && (row->states & st))
		snprintf(note, sizeof(note), "[%s %s, %s]", row->rfc, row->verb,
		         state_name(t, st));
	else if (row)
		snprintf(note, sizeof(note), "[%s %s; not valid in %s]", row->rfc,
		         row->verb, state_name(t, st));
	else if (vlen)
		snprintf(note, sizeof(note), "[unknown command]");
	int pad = TRACE_NOTE_COLUMN - (int)strlen(shown);
	emit(t, "C: %s%*s%s", shown, note[0] ? (pad < 4 ? 4 : pad) : 0, "", note);
}

static void
flush_server(struct trace *t)
{
	char shown[TRACE_TEXT_MAX * 4 + 16];
	if (!t->sbegun)
		return;
	escape(shown, sizeof(shown), t->sline, t->slen, t->struncated);
	emit(t, "S: %s", shown);
	t->challenge = t->table && !strcmp(t->table->name, "pop3")
	            && t->slen >= 2 && t->sline[0] == '+' && t->sline[1] == ' ';
	t->slen = 0;
	t->struncated = t->sbegun = false;
}

struct trace *
trace_open_fd(int fd, bool bodies, const char *prefix)
{
	struct trace *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->fd = fd;
	t->bodies = bodies;
	if (prefix && *prefix) {
		t->tagged = true;
		snprintf(t->peer, sizeof(t->peer), "%s", prefix);
	}
	return t;
}

/* Whether FD is the same open file as the client's descriptors. */
static bool
same_file(int fd, int rfd, int wfd)
{
	struct stat a, b;
	if (fstat(fd, &a) != 0)
		return true; /* no stderr at all: nothing to trace onto */
	int fds[2] = { rfd, wfd };
	for (int i = 0; i < 2; i++)
		if (fstat(fds[i], &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return true;
	return false;
}

struct trace *
trace_open(const char *where, bool bodies, const char *proto,
           const char *peer, int rfd, int wfd)
{
	struct trace *t;
	if (!where[0])
		return NULL;
	if (!strcmp(where, "stderr")) {
		if (same_file(STDERR_FILENO, rfd, wfd)) {
			log_warn("trace: stderr is the client's connection; not tracing");
			return NULL;
		}
		t = trace_open_fd(STDERR_FILENO, bodies, peer);
		if (t)
			snprintf(t->proto, sizeof(t->proto), "%s", proto);
		return t;
	}

	/* One file per session, private: a trace in full holds mail. */
	char path[4096 + 96], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", gmtime_r(&now, &tm));
	snprintf(path, sizeof(path), "%s/%s-%ld-%s.trace", where, stamp,
	         (long)getpid(), proto);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	              0600);
	if (fd < 0) {
		log_warn("trace: %s: %s", path, strerror(errno));
		return NULL;
	}
	t = trace_open_fd(fd, bodies, NULL);
	if (!t) {
		close(fd);
		return NULL;
	}
	t->own_fd = true;
	snprintf(t->proto, sizeof(t->proto), "%s", proto);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	emit(t, "# postoffice trace: %s session from %s, %s", proto, peer, stamp);
	return t;
}

void
trace_close(struct trace *t, const char *how)
{
	if (!t)
		return;
	flush_client(t);
	trace_body_end(t);
	flush_server(t);
	emit(t, "-- end: %s", how ? how : "closed");
	if (t->own_fd)
		close(t->fd);
	free(t);
}

void
trace_set_table(struct trace *t, const struct dispatch_table *table,
                unsigned state)
{
	if (!t)
		return;
	t->table = table;
	if (!state)
		return;
	t->state = state;
	if (t->pending && !t->pending_state)
		t->pending_state = state;
	flush_server(t);
	emit(t, "-- %s, state %s", table->name, state_name(t, state));
}

void
trace_flush(struct trace *t)
{
	if (!t)
		return;
	flush_client(t);
	flush_server(t);
}

void
trace_resume(struct trace *t, const struct dispatch_table *table,
             unsigned state)
{
	if (!t)
		return;
	t->table = table;
	t->state = state;
}

void
trace_state(struct trace *t, unsigned state)
{
	if (!t || t->state == state)
		return;
	flush_client(t);
	flush_server(t);
	emit(t, "-- %s -> %s", state_name(t, t->state), state_name(t, state));
	t->state = state;
}

void
trace_client(struct trace *t, const char *line, size_t len)
{
	if (!t)
		return;
	flush_client(t);
	flush_server(t);
	t->pending = true;
	t->pending_toolong = false;
	t->pending_secret = t->challenge;
	t->challenge = false;
	t->pending_state = t->state;
	t->pend_len = len < TRACE_TEXT_MAX ? len : TRACE_TEXT_MAX;
	memcpy(t->pend, line, t->pend_len);
}

void
trace_client_toolong(struct trace *t)
{
	if (!t)
		return;
	flush_client(t);
	flush_server(t);
	t->pending = t->pending_toolong = true;
	t->challenge = false;
}

void
trace_server(struct trace *t, const void *data, size_t len)
{
	const unsigned char *p = data;
	if (!t)
		return;
	flush_client(t);
	for (size_t i = 0; i < len; i++) {
		if (t->in_body) {
			t->body_octets++;
			if (p[i] == '\n')
				t->body_lines++;
			if (!t->bodies)
				continue;
		}
		if (p[i] == '\n') {
			if (t->slen > 0 && t->sline[t->slen - 1] == '\r')
				t->slen--;
			t->sbegun = true;
			flush_server(t);
			continue;
		}
		t->sbegun = true;
		if (t->slen < TRACE_TEXT_MAX)
			t->sline[t->slen++] = (char)p[i];
		else
			t->struncated = true;
	}
}

void
trace_body_begin(struct trace *t, const char *fmt, ...)
{
	va_list ap;
	if (!t)
		return;
	flush_client(t);
	flush_server(t);
	va_start(ap, fmt);
	vsnprintf(t->label, sizeof(t->label), fmt, ap);
	va_end(ap);
	t->in_body = true;
	t->body_octets = t->body_lines = 0;
}

void
trace_body_end(struct trace *t)
{
	if (!t || !t->in_body)
		return;
	t->in_body = false;
	if (t->bodies) {
		flush_server(t);
		return;
	}
	emit(t, "S: <%s: %llu octets, %llu lines>", t->label, t->body_octets,
	     t->body_lines);
}
