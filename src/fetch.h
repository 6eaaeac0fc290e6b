/*
 * postoffice fetch: a small client that retrieves a maildrop over POP1
 * (RFC 918), POP2 (RFC 937) or POP3 (RFC 1939) into an mbox or a Maildir,
 * so the old protocols can be tried from a modern machine (docs/postoffice.8).
 *
 * fetch.c owns the command line, the URL, the connection, the trace and
 * the local store; fetch_pop1.c, fetch_pop2.c and fetch_pop3.c each speak
 * one protocol through the helpers below and decide when the server may
 * delete: never before the message is stored and fsync'ed.
 *
 * Messages are stored in the form every POP sends them (spool/wire.h)
 * with each CRLF line end turned into LF; an mbox adds its "From " line,
 * quotes body lines starting with "From " as ">From " and ends each
 * message with an empty line, as `postoffice deliver` does.
 */
#ifndef FETCH_H
#define FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netio.h"
#include "params.h"

/* Every read waits at most this long: a server that stops answering is
 * given up on (RFC 937 p.11 asks clients for a short T1). */
#define FETCH_TIMEOUT 60

/* The largest message (POP2, POP3) or whole mailbox (POP1) held in
 * memory for storing; a larger announced count is refused up front. */
#define FETCH_DATA_MAX ((uint64_t)1 << 30)

/* Exit statuses (sysexits.h values, documented in postoffice(8)). */
enum {
	FETCH_EXIT_USAGE = 64,    /* EX_USAGE: bad option, URL or password source */
	FETCH_EXIT_NOHOST = 68,   /* EX_NOHOST: the host name does not resolve */
	FETCH_EXIT_CONNECT = 69,  /* EX_UNAVAILABLE: no connection, or lost */
	FETCH_EXIT_STORE = 74,    /* EX_IOERR: a message could not be stored */
	FETCH_EXIT_PROTOCOL = 76, /* EX_PROTOCOL: an unexpected reply */
	FETCH_EXIT_AUTH = 77,     /* EX_NOPERM: the login was refused */
};

enum fetch_proto { FETCH_POP1, FETCH_POP2, FETCH_POP3 };

struct fetch {
	enum fetch_proto proto;
	char user[USER_MAX + 1];
	char host[256];
	char port[8];
	char mailbox[256];        /* POP1 RETR/RDEL name, POP2 FOLD; "" = none */
	char password[SECRET_MAX + 1];
	bool keep, apop, trace;
	bool maildir;             /* the target is a Maildir, else an mbox */
	bool dead;                /* the connection failed or timed out */
	const char *target;
	unsigned long messages;   /* stored so far */
	uint64_t octets;          /* wire octets of those */
	struct netio io;
};

/* A growing byte buffer for one message or one POP1 mailbox. */
struct fetch_buf {
	unsigned char *p;
	size_t len, cap;
};

/* Runs one protocol's session on F's open connection; returns 0 or a
 * FETCH_EXIT_ status, having printed what went wrong. */
int fetch_pop1(struct fetch *f);
int fetch_pop2(struct fetch *f);
int fetch_pop3(struct fetch *f);

/* Prints "postoffice fetch: MESSAGE" on stderr; returns STATUS. */
int fetch_fail(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sends one command line (CRLF added); the trace shows it, with
 * everything from the SECRET'th word on masked (0: nothing secret).
 * False if the connection is gone. */
bool fetch_send(struct fetch *f, unsigned secret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reads one reply line (CRLF or LF removed) into BUF; 0 or an exit
 * status, the failure already printed. */
int fetch_reply(struct fetch *f, char *buf, size_t cap);

/* Sends VERB (POP1 RCEV, POP2 RETR) and reads the exactly N octets of
 * counted data it brings into B, traced as one summary line labelled
 * LABEL.  A count over FETCH_DATA_MAX is refused before VERB is sent, so
 * the session can still be ended cleanly. */
int fetch_counted(struct fetch *f, const char *verb, uint64_t n,
                  struct fetch_buf *b, const char *label);

/* Reads one line of a POP3 multi-line block (RFC 1939 §3), split at LF
 * only so a bare CR stays data, and appends it to B unstuffed, with LF
 * for its line end; *wire_r grows by its wire octets.  At the
 * terminating "." nothing is appended and *end_r is set. */
int fetch_data_line(struct fetch *f, struct fetch_buf *b, uint64_t *wire_r,
                    bool *end_r);

/* Appends LEN octets to B; false when out of memory or over the limit. */
bool fetch_buf_add(struct fetch_buf *b, const void *p, size_t len);
void fetch_buf_free(struct fetch_buf *b);

/* Stores one message MSG, already in stored form (LF line ends), that
 * took WIRE octets on the wire, with the mbox envelope ENVELOPE (NULL:
 * made up); 0 or FETCH_EXIT_STORE, printed.  Returns only once the
 * message is on disk (fsync'ed). */
int fetch_store(struct fetch *f, const char *envelope,
                const unsigned char *msg, size_t len, uint64_t wire);

/* Turns wire form (CRLF line ends) into stored form (LF) in place;
 * returns the new length. */
size_t fetch_lf_form(unsigned char *p, size_t len);

/* Parses a "#nnn ..." or "=ccc ..." reply (POP1, POP2): INDICATOR, then
 * decimal digits, then nothing or a space.  False if it is not one. */
bool fetch_number(const char *reply, char indicator, uint64_t *n_r);

/* Writes one line of our own making to the trace (when tracing): a
 * data summary "S: <...>" or a note "-- ...". */
void fetch_trace_line(struct fetch *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Whether a status line is positive: "+OK" for POP3 (RFC 1939 §3), a
 * leading "+" for POP1 and POP2 (our POP1 greeting is RFC 937's). */
bool fetch_positive(const struct fetch *f, const char *line);

/* USER, then PASS (masked in the trace): POP3 §7 and POP1 alike.  A
 * refusal is FETCH_EXIT_AUTH, after a QUIT. */
int fetch_login(struct fetch *f);

/* The QUIT that ends a successful session, at which POP2 and POP3
 * servers remove what was deleted; 0 or an exit status, printed. */
int fetch_goodbye(struct fetch *f);

/* Sends QUIT and reads its answer, whatever happened before: the way out
 * after a failure, when the server may apply what was acknowledged. */
void fetch_quit(struct fetch *f);

/* `postoffice fetch ARGS...`: the whole subcommand; the exit status. */
int fetch_main(int argc, char **argv);

#endif
