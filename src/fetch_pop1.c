/*
 * postoffice fetch over POP1 (RFC 918): greeting, USER, PASS, then one
 * whole-mailbox transaction: RDEL (RETR with --keep) names the mailbox,
 * "#xxx" gives its size, RCEV brings exactly xxx octets, RCVD ends it
 * (and for RDEL the server deletes the mail now), QUIT.
 *
 * The data is the mailbox as a Unix mail file with CRLF line ends
 * (RFC/rfc918.md): each message is a "From " envelope line, its lines
 * with mboxrd quoting (one more ">" on lines matching ">*From "), and an
 * empty line.  It is checked whole before anything is stored, and RCVD
 * is sent only once every message is stored and fsync'ed; any failure
 * before that gets RSET, so nothing is deleted.
 */
#include "fetch.h"

#include <stdio.h>
#include <string.h>

/* The greeting (any "+" line: ours is RFC 937's "+ POP2 ...", shared on
 * port 109), then USER and PASS. */
static int
login(struct fetch *f)
{
	char line[LINE_MAX_OCTETS];
	int r = fetch_reply(f, line, sizeof line);
	if (r)
		return r;
	if (!fetch_positive(f, line))
		return fetch_fail(FETCH_EXIT_PROTOCOL, "greeting: '%s'", line);
	return fetch_login(f);
}

/* A line of the data matching ">+From " loses one ">". */
static bool
quoted_from(const unsigned char *p, size_t len)
{
	size_t i = 0;
	while (i < len && p[i] == '>')
		i++;
	return i > 0 && len - i >= 5 && !memcmp(p + i, "From ", 5);
}

/* Ends the message in M: it must close with its empty line, which is
 * not part of it.  Stores it when STORE. */
static int
finish(struct fetch *f, const char *env, struct fetch_buf *m, uint64_t wire,
       unsigned long idx, bool store)
{
	if (m->len == 0 || m->p[m->len - 1] != '\n' ||
	    (m->len > 1 && m->p[m->len - 2] != '\n'))
		return fetch_fail(FETCH_EXIT_PROTOCOL, "mailbox data: message %lu "
		                  "does not end with an empty line", idx);
	if (!store)
		return 0;
	return fetch_store(f, env, m->p, m->len - 1, wire - 2);
}

/*
 * Splits the mailbox data D at its "From " lines.  With STORE false it
 * only checks the form, so that a malformed mailbox stores nothing.
 */
static int
split(struct fetch *f, const unsigned char *d, size_t len, bool store)
{
	char env[LINE_MAX_OCTETS] = "";
	struct fetch_buf m = { 0 };
	uint64_t wire = 0;
	bool open = false;
	int r = 0;
	unsigned long checked = 0;

	if (len > 0 && d[len - 1] != '\n')
		return fetch_fail(FETCH_EXIT_PROTOCOL, "mailbox data: no line end at the end");
	for (size_t pos = 0; pos < len && !r;) {
		const unsigned char *line = d + pos, *lf = memchr(line, '\n', len - pos);
		size_t n = (size_t)(lf - line);
		pos += n + 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n >= 5 && !memcmp(line, "From ", 5)) {
			if (open && !(r = finish(f, env, &m, wire, checked + 1, store)))
				checked++;
			if (n >= sizeof env || memchr(line, '\0', n))
				r = fetch_fail(FETCH_EXIT_PROTOCOL, "mailbox data: a bad From line");
			memcpy(env, line, n < sizeof env ? n : 0);
			env[n < sizeof env ? n : 0] = '\0';
			open = true;
			m.len = 0;
			wire = 0;
			continue;
		}
		if (!open)
			r = fetch_fail(FETCH_EXIT_PROTOCOL, "mailbox data: it does not start "
			               "with a From line");
		else if (quoted_from(line, n) ? !fetch_buf_add(&m, line + 1, n - 1)
		                               : !fetch_buf_add(&m, line, n))
			r = fetch_fail(FETCH_EXIT_STORE, "out of memory");
		else if (!fetch_buf_add(&m, "\n", 1))
			r = fetch_fail(FETCH_EXIT_STORE, "out of memory");
		wire += n - quoted_from(line, n) + 2;
	}
	if (!r && open && !(r = finish(f, env, &m, wire, checked + 1, store)))
		checked++;
	fetch_buf_free(&m);
	if (!r && !store)
		fetch_trace_line(f, "-- %lu message%s in the mailbox data", checked,
		                 checked == 1 ? "" : "s");
	return r;
}

/* RCEV, the data, split, stored; RCVD only after all of it is safe. */
static int
transfer(struct fetch *f, uint64_t count)
{
	struct fetch_buf d = { 0 };
	int r = fetch_counted(f, "RCEV", count, &d, "mailbox data");
	if (!r)
		r = split(f, d.p, d.len, false);
	if (!r)
		r = split(f, d.p, d.len, true);
	fetch_buf_free(&d);
	if (r) {
		char line[LINE_MAX_OCTETS];
		if (!f->dead && fetch_send(f, 0, "RSET"))
			(void)fetch_reply(f, line, sizeof line);
		return r;
	}
	char line[LINE_MAX_OCTETS];
	if (!fetch_send(f, 0, "RCVD"))
		return fetch_fail(FETCH_EXIT_CONNECT, "the connection failed");
	if ((r = fetch_reply(f, line, sizeof line)))
		return r;
	if (!fetch_positive(f, line))
		return fetch_fail(FETCH_EXIT_PROTOCOL, "RCVD: the server answered '%s'%s",
		                  line, f->keep ? "" : "; the mail may not be deleted");
	return 0;
}

int
fetch_pop1(struct fetch *f)
{
	char line[LINE_MAX_OCTETS];
	int r = login(f);
	if (r)
		return r;
	const char *verb = f->keep ? "RETR" : "RDEL";
	const char *name = f->mailbox[0] ? f->mailbox : f->user;
	uint64_t count;
	if (!fetch_send(f, 0, "%s %s", verb, name))
		return fetch_fail(FETCH_EXIT_CONNECT, "the connection failed");
	if ((r = fetch_reply(f, line, sizeof line)))
		return r;
	if (!fetch_number(line, '#', &count)) {
		fetch_quit(f);
		return fetch_fail(FETCH_EXIT_PROTOCOL, "%s %s: the server answered '%s'",
		                  verb, name, line);
	}
	if ((r = transfer(f, count))) {
		fetch_quit(f);
		return r;
	}
	return fetch_goodbye(f);
}
