/*
 * POP1 (RFC 918): the command table and its handlers.
 *
 * A transaction moves a whole mailbox as one counted block: RETR or RDEL
 * opens and locks it and answers "#xxx", RCEV sends exactly xxx octets
 * (and nothing else: p.1, p.2 scenario, p.5 diagram), RCVD ends it and,
 * for RDEL, deletes what was sent.  Errors are "-ERR" and the session goes
 * on (p.5 diagram: back to the start after a failed USER or PASS).
 *
 * The mailbox data (RFC/rfc918.md): every message in order, each as its
 * Unix "From " envelope line, its transmitted form (spool/wire.h) with
 * mboxrd quoting (">*From " gets one more ">"), and one empty line; every
 * line ends in CRLF.  That is the mbox file itself as a 1984 client knew
 * it, for Maildir-backed mailboxes too, and "#xxx" counts exactly it.
 */
#include "pop1.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "trace.h"
#include "wire.h"

static const char *const pop1_state_names[] = {
	"WAIT_USER", "WAIT_PASS", "IDLE", "OPENED", "SENT", NULL,
};

static int pop1_cmd_user(void *sess, int argc, char **argv);
static int pop1_cmd_pass(void *sess, int argc, char **argv);
static int pop1_cmd_retr(void *sess, int argc, char **argv);
static int pop1_cmd_rdel(void *sess, int argc, char **argv);
static int pop1_cmd_rcev(void *sess, int argc, char **argv);
static int pop1_cmd_rcvd(void *sess, int argc, char **argv);
static int pop1_cmd_rset(void *sess, int argc, char **argv);
static int pop1_cmd_noop(void *sess, int argc, char **argv);
static int pop1_cmd_quit(void *sess, int argc, char **argv);

#define ANY (POP1_WAIT_USER | POP1_WAIT_PASS | POP1_IDLE | POP1_OPENED | POP1_SENT)
#define TRANSACTION (POP1_IDLE | POP1_OPENED | POP1_SENT)

static const struct dispatch_row pop1_rows[] = {
	{ "USER", POP1_WAIT_USER | POP1_WAIT_PASS, 1, 1, 0, pop1_cmd_user,
	  "name", "+OK / -ERR", "RFC 918 p.3", "name the user; PASS must follow" },
	{ "PASS", POP1_WAIT_PASS, 1, 1, DISPATCH_REST | DISPATCH_SECRET, pop1_cmd_pass,
	  "password", "+OK / -ERR", "RFC 918 p.3",
	  "password for USER; the rest of the line, spaces included" },
	{ "RETR", POP1_IDLE, 1, 1, DISPATCH_REST, pop1_cmd_retr, "mailbox",
	  "#xxx / -ERR", "RFC 918 p.3",
	  "open and lock a mailbox to read all of it; xxx octets of data" },
	{ "RDEL", POP1_IDLE, 1, 1, DISPATCH_REST, pop1_cmd_rdel, "mailbox",
	  "#xxx / -ERR", "RFC 918 p.3",
	  "the same, and delete what was sent at RCVD" },
	{ "RCEV", POP1_OPENED, 0, 0, 0, pop1_cmd_rcev, "",
	  "xxx octets of data / abort", "RFC 918 p.3",
	  "send the mailbox data, exactly the count announced" },
	{ "RCVD", POP1_SENT, 0, 0, 0, pop1_cmd_rcvd, "", "+OK / -ERR",
	  "RFC 918 p.3",
	  "end the transaction; RDEL deletes now (-ERR: nothing deleted)" },
	{ "RSET", TRANSACTION, 0, 0, 0, pop1_cmd_rset, "", "+OK", "RFC 918 p.4",
	  "abort the transaction, unlock, delete nothing" },
	{ "NOOP", ANY, 0, 0, 0, pop1_cmd_noop, "", "+OK", "RFC 918 p.4",
	  "do nothing" },
	{ "QUIT", ANY, 0, 0, 0, pop1_cmd_quit, "", "+OK and close", "RFC 918 p.4",
	  "end the session; an open transaction deletes nothing" },
};

const struct dispatch_table pop1_table = {
	.name = "pop1",
	.rows = pop1_rows,
	.nrows = sizeof(pop1_rows) / sizeof(pop1_rows[0]),
	.flags = 0,
	.state_names = pop1_state_names,
};

static const struct port109_front pop1_front = {
	.table = &pop1_table,
	.err = "-ERR",
	.line_max = LINE_MAX_OCTETS - 1, /* RFC 918 sets no limit */
	.errors_fatal = false,
};

/* "+OK" and "#xxx" go out bare: RFC 918 shows no text after them, so a
 * naive parser cannot trip (PROTOCOLS.md §1.2). */
static int
ok(struct pop1 *p)
{
	netio_puts(p->s.io, "+OK\r\n");
	return PORT109_CONTINUE;
}

static int
err(struct pop1 *p, const char *text)
{
	port109_err(&p->s, "%s", text);
	return PORT109_CONTINUE;
}

/* RFC 918 p.3 USER name.  Accepted for any plausible name, so it never
 * tells which names exist; a second USER before PASS replaces the first. */
static int
pop1_cmd_user(void *sess, int argc, char **argv)
{
	struct pop1 *p = sess;
	(void)argc;
	if (strlen(argv[1]) > USER_MAX) {
		port109_set_state(&p->s, POP1_WAIT_USER);
		return err(p, "Invalid user name");
	}
	snprintf(p->user, sizeof(p->user), "%s", argv[1]);
	port109_set_state(&p->s, POP1_WAIT_PASS);
	return ok(p);
}

/* RFC 918 p.3 PASS password; a failure returns to the start (p.5). */
static int
pop1_cmd_pass(void *sess, int argc, char **argv)
{
	struct pop1 *p = sess;
	(void)argc;
	enum auth_result r = port109_login(&p->s, p->user, argv[1]);
	if (r == AUTH_OK) {
		port109_set_state(&p->s, POP1_IDLE);
		return ok(p);
	}
	port109_set_state(&p->s, POP1_WAIT_USER);
	err(p, r == AUTH_TEMPFAIL ? "Authentication is temporarily unavailable"
	                          : "Authentication failed");
	if (++p->auth_failures >= MAX_AUTH_FAILURES) {
		err(p, "Too many failed logins; closing");
		p->s.env->stats.end = "too many failed logins";
		return PORT109_CLOSE;
	}
	return PORT109_CONTINUE;
}

/*
 * Message IDX in POP1's form, written to IO (or only counted, IO NULL),
 * its octets added to *octets_r.  Read in pieces (spool_stream), so a
 * large message never needs a buffer of its size; the spool checks its
 * size, and a message that changed counts as unreadable.
 */
static bool
message_data(struct pop1 *p, struct netio *io, size_t idx, uint64_t *octets_r)
{
	struct spool *sp = p->s.spool;
	bool more = true;
	struct wire_out w;
	enum spool_err e = spool_stream_begin(sp, idx);
	while (e == SPOOL_OK && more
	       && (e = spool_stream_wire(sp, &w, WIRE_QUOTE_FROM, UINT64_MAX, &more))
	          == SPOOL_OK)
		*octets_r += port109_send_quoted(io, &w);
	/* port109_send_quoted counts what it could not send: the count is
	 * whole either way. */
	if (e == SPOOL_OK)
		e = spool_stream_check(sp, wire_out_octets(&w));
	spool_stream_end(sp);
	if (e != SPOOL_OK)
		log_warn("reading message %zu: %s", idx + 1, spool_strerror(e));
	return e == SPOOL_OK;
}

/*
 * Writes the mailbox data to IO (or only counts it, IO NULL) into
 * *octets_r.  False if a message could not be read.
 */
static bool
mailbox_data(struct pop1 *p, struct netio *io, uint64_t *octets_r)
{
	struct spool *sp = p->s.spool;
	uint64_t octets = 0;

	for (size_t idx = 0; idx < spool_count(sp); idx++) {
		const char *from = spool_envelope(sp, idx);
		if (io)
			netio_printf(io, "%s\r\n", from);
		octets += strlen(from) + 2;
		if (!message_data(p, io, idx, &octets))
			return false;
		if (io)
			netio_write(io, "\r\n", 2);
		octets += 2;
	}
	*octets_r = octets;
	return true;
}

/* RFC 918 p.3 RETR/RDEL mailbox: open and lock it, count what RCEV will
 * send.  The spool's snapshot fixes the messages of this transaction, so
 * mail that arrives later is neither sent nor deleted. */
static int
begin(struct pop1 *p, const char *name, bool rdel)
{
	switch (port109_open(&p->s, name)) {
	case SPOOL_OK:
		break;
	case SPOOL_ENOENT:
	case SPOOL_EBADNAME:
		return err(p, "No such mailbox");
	case SPOOL_EINUSE:
		return err(p, "Mailbox is in use by another session");
	case SPOOL_EPERM:
		return err(p, "Mailbox cannot be read; please tell the administrator");
	default:
		return err(p, "Mailbox is temporarily unavailable");
	}
	if (!mailbox_data(p, NULL, &p->total)) {
		spool_close(p->s.spool);
		p->s.spool = NULL;
		return err(p, "Mailbox cannot be read now");
	}
	p->rdel = rdel;
	port109_set_state(&p->s, POP1_OPENED);
	netio_printf(p->s.io, "#%llu\r\n", (unsigned long long)p->total);
	return PORT109_CONTINUE;
}

static int
pop1_cmd_retr(void *sess, int argc, char **argv)
{
	(void)argc;
	return begin(sess, argv[1], false);
}

static int
pop1_cmd_rdel(void *sess, int argc, char **argv)
{
	(void)argc;
	return begin(sess, argv[1], true);
}

/* RFC 918 p.3 RCEV: the data only; the one failure signal is to abort the
 * connection, since any line would be taken for data. */
static int
pop1_cmd_rcev(void *sess, int argc, char **argv)
{
	struct pop1 *p = sess;
	uint64_t sent;
	(void)argc;
	(void)argv;
	trace_body_begin(p->s.io->trace, "mailbox data, %zu messages",
	                 spool_count(p->s.spool));
	bool whole = mailbox_data(p, p->s.io, &sent);
	trace_body_end(p->s.io->trace);
	if (!whole || sent != p->total) {
		log_warn("mailbox data could not be sent as counted; aborting");
		p->s.env->stats.end = "read error";
		return PORT109_CLOSE;
	}
	p->s.env->stats.retrieved += (unsigned)spool_count(p->s.spool);
	p->s.env->stats.octets += sent;
	port109_set_state(&p->s, POP1_SENT);
	return PORT109_CONTINUE;
}

/* RFC 918 p.3 RCVD: ends the transaction; after RDEL every message that
 * was sent is deleted now, or "-ERR" says none was. */
static int
pop1_cmd_rcvd(void *sess, int argc, char **argv)
{
	struct pop1 *p = sess;
	(void)argc;
	(void)argv;
	if (p->rdel)
		for (size_t idx = 0; idx < spool_count(p->s.spool); idx++)
			spool_set_deleted(p->s.spool, idx, true);
	enum spool_err e = port109_release(&p->s);
	port109_set_state(&p->s, POP1_IDLE);
	if (e != SPOOL_OK)
		return err(p, "Mail not deleted");
	return ok(p);
}

/* RFC 918 p.4 RSET: abort, close and unlock, delete nothing. */
static int
pop1_cmd_rset(void *sess, int argc, char **argv)
{
	struct pop1 *p = sess;
	(void)argc;
	(void)argv;
	if (p->s.spool) {
		spool_close(p->s.spool);
		p->s.spool = NULL;
	}
	port109_set_state(&p->s, POP1_IDLE);
	return ok(p);
}

static int
pop1_cmd_noop(void *sess, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return ok(sess);
}

/* RFC 918 p.4 QUIT: "+OK" and close; accepted in every state
 * (PROTOCOLS.md §1.4), and an open transaction deletes nothing (the loop
 * closes the spool without committing). */
static int
pop1_cmd_quit(void *sess, int argc, char **argv)
{
	struct pop1 *p = sess;
	(void)argc;
	(void)argv;
	ok(p);
	p->s.env->stats.end = "quit";
	return PORT109_CLOSE;
}

void
pop1_serve(struct netio *io, struct session_env *env, char *line, size_t cap,
           size_t len)
{
	struct pop1 p = {
		.s = { .io = io, .env = env, .front = &pop1_front,
		       .state = POP1_WAIT_USER },
	};
	char tag[128];
	snprintf(tag, sizeof(tag), "pop1 %s", env->peer);
	log_set_tag(tag);
	trace_set_table(io->trace, &pop1_table, POP1_WAIT_USER);
	port109_run(&p.s, line, cap, len, NETIO_LINE);
}
