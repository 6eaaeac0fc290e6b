/*
 * Port 109: POP1 (RFC 918) and POP2 (RFC 937) share one port and one
 * greeting; the client's first command picks the front-end (PROTOCOLS.md
 * §0).  port109.c holds the greeting, that choice, and what both
 * front-ends share: the session loop over the dispatcher, error replies,
 * state changes, the login, and the counted (never dot-stuffed) transfer
 * of a message's transmitted form.
 */
#ifndef PORT109_H
#define PORT109_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "dispatch.h"
#include "netio.h"
#include "session.h"
#include "spool.h"

/* What a handler tells the session loop. */
enum {
	PORT109_CONTINUE = 0,
	PORT109_CLOSE,        /* reply (if any) written; end the session */
};

/* How one front-end differs in the shared loop. */
struct port109_front {
	const struct dispatch_table *table;
	const char *err;      /* error reply status: "-" (POP2) or "-ERR" (POP1) */
	size_t line_max;      /* command octets allowed, line end excluded */
	bool errors_fatal;    /* POP2: every error closes (RFC 937 p.2, p.23) */
};

/* The part of a session both front-ends share; first member of theirs. */
struct port109_session {
	struct netio *io;
	struct session_env *env;
	const struct port109_front *front;
	unsigned state;       /* one bit of front->table's state mask */
	unsigned bad_commands;
	struct spool *spool;  /* the open mailbox, or NULL */
};

/* Runs the session, starting with the FIRST line already read (status ST,
 * LEN octets in LINE, a buffer of CAP octets); returns at its end with
 * the spool, if still open, closed without deleting anything. */
void port109_run(struct port109_session *s, char *line, size_t cap,
                 size_t len, enum netio_status st);

/* Changes state through one place that logs "OLD -> NEW" and picks the
 * idle timer (login or idle) that applies. */
void port109_set_state(struct port109_session *s, unsigned state);

/* "-" / "-ERR" followed by a space and the text. */
void port109_err(struct port109_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Checks USER and PASSWORD (wiped here afterwards).  On failure sleeps the
 * failed-login delay and logs without the password; on success records the
 * user in the session statistics.
 */
enum auth_result port109_login(struct port109_session *s, const char *user,
                               char *password);

/* Opens mailbox NAME of the logged-in user (NULL: the default maildrop),
 * replacing nothing: the caller has released the previous one. */
enum spool_err port109_open(struct port109_session *s, const char *name);

/* Releases the open mailbox, applying its deletion marks; counts them in
 * the session statistics when that worked.  SPOOL_OK with nothing open. */
enum spool_err port109_release(struct port109_session *s);

/*
 * POP1's form of a message in the mailbox data (RFC 918): the transmitted
 * form (spool/wire.h), CRLF line ends, never dot-stuffed, and a line
 * matching ">*From " gets one more ">" in front (mboxrd), so that no line
 * looks like a separator.  W is set up with WIRE_QUOTE_FROM for the
 * current piece of the message; writes what it produces to IO unless IO
 * is NULL, and returns the octets it takes either way.
 */
struct wire_out;
uint64_t port109_send_quoted(struct netio *io, struct wire_out *w);

#endif
