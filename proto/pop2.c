/*
 * POP2 (RFC 937): the command table and its handlers.
 *
 * The server decision table (p.22-23) is the dispatcher's state mask: a
 * command outside its column is "garbage" (action 1), answered "- ..."
 * and followed by a close, as is every other error: RFC 937's rule "if
 * anything goes wrong close the connection" (p.2).  Lengths are the
 * framing: "=ccc" is exactly the octet count RETR then sends (p.5 Message
 * Length), the transmitted form of spool/wire.h, never dot-stuffed.
 */
#include "pop2.h"

#include <stdio.h>

#include "log.h"
#include "trace.h"
#include "msgnum.h"
#include "wire.h"

static const char *const pop2_state_names[] = {
	"AUTH", "MBOX", "ITEM", "NEXT", "DONE", NULL,
};

static int pop2_cmd_helo(void *sess, int argc, char **argv);
static int pop2_cmd_fold(void *sess, int argc, char **argv);
static int pop2_cmd_read(void *sess, int argc, char **argv);
static int pop2_cmd_retr(void *sess, int argc, char **argv);
static int pop2_cmd_acks(void *sess, int argc, char **argv);
static int pop2_cmd_ackd(void *sess, int argc, char **argv);
static int pop2_cmd_nack(void *sess, int argc, char **argv);
static int pop2_cmd_quit(void *sess, int argc, char **argv);

#define AUTH POP2_AUTH
#define MBOX POP2_MBOX
#define ITEM POP2_ITEM
#define NEXT POP2_NEXT

static const struct dispatch_row pop2_rows[] = {
	{ "HELO", AUTH, 2, 2, DISPATCH_SECRET, pop2_cmd_helo, "user password",
	  "#nnn / - and close", "RFC 937 p.7",
	  "log in; nnn messages in the default mailbox" },
	{ "FOLD", MBOX | ITEM, 1, 1, DISPATCH_REST, pop2_cmd_fold, "mailbox",
	  "#nnn", "RFC 937 p.7",
	  "release the mailbox (applying ACKD) and select another; #0 if none" },
	{ "READ", MBOX | ITEM, 0, 1, 0, pop2_cmd_read, "[n]", "=ccc",
	  "RFC 937 p.7", "length of message n (or the current one); =0 if none" },
	{ "RETR", ITEM, 0, 0, 0, pop2_cmd_retr, "", "ccc octets / close",
	  "RFC 937 p.8", "send the message just sized; close if its length is 0" },
	{ "ACKS", NEXT, 0, 0, 0, pop2_cmd_acks, "", "=ccc", "RFC 937 p.8",
	  "received, keep it; length of the next message" },
	{ "ACKD", NEXT, 0, 0, 0, pop2_cmd_ackd, "", "=ccc", "RFC 937 p.9",
	  "received, mark it deleted; length of the next message" },
	{ "NACK", NEXT, 0, 0, 0, pop2_cmd_nack, "", "=ccc", "RFC 937 p.9",
	  "not received, keep it; length of the same message" },
	{ "QUIT", AUTH | MBOX | ITEM, 0, 0, 0, pop2_cmd_quit, "",
	  "+ OK and close", "RFC 937 p.10",
	  "apply ACKD deletions and end the session" },
};

const struct dispatch_table pop2_table = {
	.name = "pop2",
	.rows = pop2_rows,
	.nrows = sizeof(pop2_rows) / sizeof(pop2_rows[0]),
	.flags = DISPATCH_BACKSLASH, /* RFC 937 p.6 Quoting */
	.state_names = pop2_state_names,
};

static const struct port109_front pop2_front = {
	.table = &pop2_table,
	.err = "-",
	.line_max = 510,      /* RFC 937 p.12 Sizes: 512 with the CRLF */
	.errors_fatal = true,
};

/* "- text" and close: RFC 937 p.2, p.23 action 1. */
static int
fail(struct pop2 *p, const char *end, const char *text)
{
	port109_err(&p->s, "%s", text);
	p->s.env->stats.end = end;
	return PORT109_CLOSE;
}

/* Length of the current message as transmitted; 0 if it does not exist or
 * is marked deleted (p.7 READ, p.8 ACKS).  An existing message is never
 * 0: an empty one is sent as one CRLF (spool/wire.h). */
static uint64_t
current_length(const struct pop2 *p)
{
	const struct spool *sp = p->s.spool;
	if (!sp || p->current == 0 || p->current > spool_count(sp))
		return 0;
	size_t idx = (size_t)(p->current - 1);
	return spool_is_deleted(sp, idx) ? 0 : spool_size(sp, idx);
}

/* "=ccc" for the current message; enters ITEM (p.23 actions 6, 8). */
static int
send_length(struct pop2 *p)
{
	uint64_t n = current_length(p);
	port109_set_state(&p->s, POP2_ITEM);
	if (n)
		netio_printf(p->s.io, "=%llu characters in message %llu\r\n",
		             (unsigned long long)n, (unsigned long long)p->current);
	else
		netio_puts(p->s.io, "=0 no message\r\n");
	return PORT109_CONTINUE;
}

/* "#nnn" for the mailbox just selected; enters MBOX (actions 3, 5). */
static int
send_count(struct pop2 *p)
{
	p->current = 1;
	port109_set_state(&p->s, POP2_MBOX);
	netio_printf(p->s.io, "#%zu messages\r\n",
	             p->s.spool ? spool_count(p->s.spool) : 0);
	return PORT109_CONTINUE;
}

/* RFC 937 p.7 HELO user password: log in and select the default mailbox. */
static int
pop2_cmd_helo(void *sess, int argc, char **argv)
{
	struct pop2 *p = sess;
	(void)argc;
	enum auth_result r = port109_login(&p->s, argv[1], argv[2]);
	if (r == AUTH_TEMPFAIL)
		return fail(p, "login failed",
		            "Authentication is temporarily unavailable");
	if (r != AUTH_OK)
		return fail(p, "login failed", "Authentication failed");
	enum spool_err e = port109_open(&p->s, NULL);
	if (e == SPOOL_EINUSE)
		return fail(p, "maildrop in use",
		            "Maildrop is in use by another session");
	if (e != SPOOL_OK)
		return fail(p, "maildrop unavailable",
		            "Maildrop cannot be opened now");
	return send_count(p);
}

/*
 * RFC 937 p.7 FOLD mailbox.  The previous mailbox is released first, which
 * applies its ACKD marks (p.9).  A mailbox that does not exist, or that
 * the user may not read, counts zero (p.7); so does a name that can never
 * be a folder (a path, ".."): it names nothing and reaches no file.  A
 * mailbox held by another session, or one that cannot be opened now, is
 * "something going wrong" (p.2): "-" and close.
 */
static int
pop2_cmd_fold(void *sess, int argc, char **argv)
{
	struct pop2 *p = sess;
	(void)argc;
	if (port109_release(&p->s) != SPOOL_OK)
		return fail(p, "commit failed",
		            "Deletions could not be applied; closing");
	switch (port109_open(&p->s, argv[1])) {
	case SPOOL_OK:
	case SPOOL_ENOENT:
	case SPOOL_EBADNAME:
	case SPOOL_EPERM:
		return send_count(p);
	case SPOOL_EINUSE:
		return fail(p, "mailbox in use",
		            "Mailbox is in use by another session");
	default:
		return fail(p, "mailbox unavailable", "Mailbox cannot be opened now");
	}
}

/* RFC 937 p.7 READ [n]: n becomes the current message, even past the end. */
static int
pop2_cmd_read(void *sess, int argc, char **argv)
{
	struct pop2 *p = sess;
	if (argc == 2 && !msgnum_parse(argv[1], &p->current))
		return fail(p, "protocol error", "READ takes a message number");
	return send_length(p);
}

/*
 * RFC 937 p.8 RETR: exactly the octets announced, nothing before or after.
 * For a length of 0 the RFC closes the connection (p.5, p.8, p.23 action
 * 7); so does anything that would break the count, since the client
 * cannot tell an error line from message data.
 */
static int
pop2_cmd_retr(void *sess, int argc, char **argv)
{
	struct pop2 *p = sess;
	struct spool *sp = p->s.spool;
	bool more = true, first = true;
	struct wire_out w;
	(void)argc;
	(void)argv;
	uint64_t n = current_length(p);
	if (n == 0) {
		log_info("RETR of message %llu, which has length 0: closing",
		         (unsigned long long)p->current);
		p->s.env->stats.end = "RETR without a message";
		return PORT109_CLOSE;
	}
	/* In pieces (spool_stream): the octets must be the length READ
	 * announced, checked before the first piece if it is the only one,
	 * else once the last is converted, and then the close is the only
	 * honest answer left. */
	enum spool_err e = spool_stream_begin(sp, (size_t)(p->current - 1));
	trace_body_begin(p->s.io->trace, "message %llu", (unsigned long long)p->current);
	while (e == SPOOL_OK && more
	       && (e = spool_stream_wire(sp, &w, 0, UINT64_MAX, &more)) == SPOOL_OK) {
		first = false;
		netio_write_wire(p->s.io, &w);
	}
	if (e == SPOOL_OK && !p->s.io->failed)
		e = spool_stream_check(sp, wire_out_octets(&w));
	trace_body_end(p->s.io->trace);
	if (e != SPOOL_OK) {
		log_warn("message %llu: %s%s", (unsigned long long)p->current,
		         spool_strerror(e), first ? "" : " while it was sent");
		p->s.env->stats.end = e == SPOOL_ECHANGED ? "size mismatch" : "read error";
		return PORT109_CLOSE;
	}
	spool_stream_end(sp);
	p->s.env->stats.retrieved++;
	p->s.env->stats.octets += n;
	port109_set_state(&p->s, POP2_NEXT);
	return PORT109_CONTINUE;
}

/* RFC 937 p.8 ACKS: keep it; the next message becomes current. */
static int
pop2_cmd_acks(void *sess, int argc, char **argv)
{
	struct pop2 *p = sess;
	(void)argc;
	(void)argv;
	if (p->current < UINT64_MAX)
		p->current++;
	return send_length(p);
}

/* RFC 937 p.9 ACKD: only marked now; removed when the mailbox is released
 * (QUIT or FOLD), never renumbered before; a dropped session removes
 * nothing (CONTRACT.md). */
static int
pop2_cmd_ackd(void *sess, int argc, char **argv)
{
	struct pop2 *p = sess;
	spool_set_deleted(p->s.spool, (size_t)(p->current - 1), true);
	return pop2_cmd_acks(sess, argc, argv);
}

/* RFC 937 p.9 NACK: keep it, stay on it; its length again. */
static int
pop2_cmd_nack(void *sess, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return send_length(sess);
}

/* RFC 937 p.10 QUIT: release the mailbox (applying ACKD) and close. */
static int
pop2_cmd_quit(void *sess, int argc, char **argv)
{
	struct pop2 *p = sess;
	(void)argc;
	(void)argv;
	port109_set_state(&p->s, POP2_DONE);
	if (port109_release(&p->s) != SPOOL_OK)
		return fail(p, "commit failed",
		            "Deletions could not be applied");
	netio_puts(p->s.io, "+ OK postoffice signing off\r\n");
	p->s.env->stats.end = "quit";
	return PORT109_CLOSE;
}

void
pop2_serve(struct netio *io, struct session_env *env, char *line, size_t cap,
           size_t len, enum netio_status st)
{
	struct pop2 p = {
		.s = { .io = io, .env = env, .front = &pop2_front, .state = POP2_AUTH },
	};
	trace_set_table(io->trace, &pop2_table, POP2_AUTH);
	port109_run(&p.s, line, cap, len, st);
}
