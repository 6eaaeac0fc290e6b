/*
 * postoffice fetch over POP2 (RFC 937), the client side of its decision
 * table (p.20-21): greeting, HELO, FOLD if a folder was named, READ, then
 * RETR and exactly =ccc octets, ACKD (ACKS with --keep) for the next
 * =ccc, until =0, and QUIT, at which the server removes what was ACKDed.
 * ACKD is sent only once the message is stored and fsync'ed; if storing
 * fails the message gets NACK (kept) and the session QUITs.
 */
#include "fetch.h"

#include <stdio.h>
#include <string.h>

/* RFC 937 p.6 Quoting: a space or a backslash in an argument gets a
 * backslash in front. */
static bool
quote(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	for (; *s; s++) {
		if (o + 3 > cap)
			return false;
		if (*s == ' ' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o] = '\0';
	return true;
}

/* Reads a "#nnn" (count) or "=ccc" (length) reply into *n_r. */
static int
expect_number(struct fetch *f, char indicator, const char *what, uint64_t *n_r)
{
	char line[LINE_MAX_OCTETS];
	int r = fetch_reply(f, line, sizeof line);
	if (r)
		return r;
	if (line[0] == '-')
		f->dead = true; /* RFC 937 p.2: every error closes the connection */
	if (!fetch_number(line, indicator, n_r))
		return fetch_fail(FETCH_EXIT_PROTOCOL,
		                  "%s: expected %c<number>, the server answered '%s'",
		                  what, indicator, line);
	return 0;
}

static int
login(struct fetch *f, uint64_t *count_r)
{
	char line[LINE_MAX_OCTETS], user[2 * USER_MAX + 1], pass[2 * SECRET_MAX + 1];
	int r = fetch_reply(f, line, sizeof line);
	if (r)
		return r;
	if (line[0] != '+')
		return fetch_fail(FETCH_EXIT_PROTOCOL, "greeting: '%s'", line);
	quote(f->user, user, sizeof user);
	quote(f->password, pass, sizeof pass);
	bool sent = fetch_send(f, 2, "HELO %s %s", user, pass);
	memset(pass, 0, sizeof pass);
	if (!sent)
		return fetch_fail(FETCH_EXIT_CONNECT, "the connection failed");
	if ((r = fetch_reply(f, line, sizeof line)))
		return r;
	if (line[0] == '-') { /* RFC 937 p.7: "- error", then the server closes */
		f->dead = true;
		return fetch_fail(FETCH_EXIT_AUTH, "login refused: %s", line);
	}
	if (!fetch_number(line, '#', count_r))
		return fetch_fail(FETCH_EXIT_PROTOCOL, "HELO: the server answered '%s'", line);
	if (!f->mailbox[0])
		return 0;
	char name[2 * sizeof f->mailbox];
	quote(f->mailbox, name, sizeof name);
	if (!fetch_send(f, 0, "FOLD %s", name))
		return fetch_fail(FETCH_EXIT_CONNECT, "the connection failed");
	return expect_number(f, '#', "FOLD", count_r);
}

/* RETR of a length LEN announced by the last =ccc: the data stored,
 * then ACKD/ACKS, whose =ccc is the next length. */
static int
fetch_one(struct fetch *f, uint64_t *len, struct fetch_buf *b)
{
	char label[48];
	snprintf(label, sizeof label, "message %lu", f->messages + 1);
	int r = fetch_counted(f, "RETR", *len, b, label);
	if (r)
		return r;
	size_t n = fetch_lf_form(b->p, b->len);
	if ((r = fetch_store(f, NULL, b->p, n, *len))) {
		/* Not stored: NACK keeps it; QUIT is not valid before an ack. */
		if (fetch_send(f, 0, "NACK"))
			(void)expect_number(f, '=', "NACK", len);
		return r;
	}
	if (!fetch_send(f, 0, f->keep ? "ACKS" : "ACKD"))
		return fetch_fail(FETCH_EXIT_CONNECT, "the connection failed");
	return expect_number(f, '=', f->keep ? "ACKS" : "ACKD", len);
}

int
fetch_pop2(struct fetch *f)
{
	uint64_t count, len = 0;
	int r = login(f, &count);
	if (r)
		return r;
	fetch_trace_line(f, "-- %llu message%s to fetch", (unsigned long long)count,
	                 count == 1 ? "" : "s");
	if (count > 0) {
		if (!fetch_send(f, 0, "READ"))
			return fetch_fail(FETCH_EXIT_CONNECT, "the connection failed");
		r = expect_number(f, '=', "READ", &len);
	}
	struct fetch_buf b = { 0 };
	while (!r && len > 0)
		r = fetch_one(f, &len, &b);
	fetch_buf_free(&b);
	if (r) {
		fetch_quit(f);
		return r;
	}
	return fetch_goodbye(f);
}
