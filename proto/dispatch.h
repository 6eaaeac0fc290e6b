/*
 * The one command dispatcher under every front-end (POP1, POP2, POP3).
 *
 * A front-end is a table of rows {verb, states, argument counts, handler}.
 * dispatch_line() splits a command line, finds the verb (case-insensitive),
 * checks the state and the argument count, and only then calls the handler,
 * so handlers never re-check those.  What went wrong comes back as a
 * result; each front-end words its own error replies (POP3 "-ERR", POP2
 * "-" and close, POP1 "-ERR").  The same tables print the documentation.
 */
#ifndef DISPATCH_H
#define DISPATCH_H

#include <stddef.h>

#define DISPATCH_MAX_ARGS 8

/* Row flags */
#define DISPATCH_REST   0x1 /* the last argument is the rest of the line, verbatim */
#define DISPATCH_SECRET 0x2 /* argument max_args is a secret: the trace masks it */

/* Table flags */
#define DISPATCH_BACKSLASH 0x1 /* arguments use RFC 937 backslash quoting */

struct dispatch_row {
	const char *verb;
	unsigned states;          /* bit mask of the front-end's states */
	unsigned char min_args;
	unsigned char max_args;
	unsigned flags;
	/* Returns the front-end's own disposition, passed back unchanged. */
	int (*handler)(void *sess, int argc, char **argv);
	/* For the generated documentation. */
	const char *syntax;       /* e.g. "msg [n]" */
	const char *replies;      /* e.g. "+OK / -ERR" */
	const char *rfc;          /* e.g. "RFC 1939 §5" */
	const char *summary;
};

struct dispatch_table {
	const char *name;         /* "pop3", "pop2", "pop1" */
	const struct dispatch_row *rows;
	size_t nrows;
	unsigned flags;
	const char *const *state_names; /* indexed by bit number */
};

enum dispatch_result {
	DISPATCH_HANDLED = 0, /* the handler ran; *ret_r holds what it returned */
	DISPATCH_EMPTY,       /* blank line */
	DISPATCH_BADCHAR,     /* NUL or another control character in the line */
	DISPATCH_UNKNOWN,     /* no such verb */
	DISPATCH_STATE,       /* verb known, not allowed in this state */
	DISPATCH_ARGS,        /* wrong number of arguments (length is bounded by the line) */
};

/*
 * Dispatches one command line (without its line end; modified in place).
 * STATE is a single bit of the table's state mask.  On DISPATCH_HANDLED the
 * handler's return value is stored in *ret_r.  *row_r (may be NULL) gets the
 * matched row whenever the verb was found, for logging and tracing.
 */
enum dispatch_result dispatch_line(const struct dispatch_table *t,
                                   unsigned state, char *line, size_t len,
                                   void *sess, int *ret_r,
                                   const struct dispatch_row **row_r);

/* Finds a row by verb, case-insensitively; NULL if there is none. */
const struct dispatch_row *dispatch_find(const struct dispatch_table *t,
                                         const char *verb);

#endif
