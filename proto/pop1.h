/*
 * The POP1 front-end (RFC 918): the session state and the command
 * handlers, one table over the shared dispatcher (pop1.c).
 */
#ifndef POP1_H
#define POP1_H

#include <stdbool.h>
#include <stdint.h>

#include "port109.h"

/* RFC 918 has no state names; these follow its diagram (p.5) as read in
 * PROTOCOLS.md §1.4.  The mailbox is open and locked only in OPENED and
 * SENT, from RETR/RDEL to RCVD or RSET (p.1). */
enum {
	POP1_WAIT_USER = 1u << 0, /* greeting sent, or a USER/PASS failed */
	POP1_WAIT_PASS = 1u << 1, /* USER accepted */
	POP1_IDLE      = 1u << 2, /* logged in, no transaction */
	POP1_OPENED    = 1u << 3, /* "#xxx" sent, waiting for RCEV */
	POP1_SENT      = 1u << 4, /* the data sent, waiting for RCVD */
};

struct pop1 {
	struct port109_session s;  /* first: handlers get a struct pop1 * */
	char user[USER_MAX + 1];   /* after a successful USER */
	unsigned auth_failures;
	bool rdel;                 /* the transaction deletes at RCVD */
	uint64_t total;            /* the "#xxx" of this transaction */
};

extern const struct dispatch_table pop1_table;

/* Serves a POP1 session whose first line (a USER command) is read. */
void pop1_serve(struct netio *io, struct session_env *env, char *line,
                size_t cap, size_t len);

#endif
