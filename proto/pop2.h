/*
 * The POP2 front-end (RFC 937): the session state and the command
 * handlers, one table over the shared dispatcher (pop2.c).
 */
#ifndef POP2_H
#define POP2_H

#include <stdint.h>

#include "port109.h"

/* RFC 937 server states (p.18 diagram, p.22 decision table) as dispatcher
 * bits.  LSTN is the listener's business; DONE lasts only for the QUIT
 * that enters it, so no command is ever dispatched in it. */
enum {
	POP2_AUTH = 1u << 0, /* greeting sent, waiting for HELO */
	POP2_MBOX = 1u << 1, /* a mailbox is selected */
	POP2_ITEM = 1u << 2, /* a length "=ccc" was sent */
	POP2_NEXT = 1u << 3, /* message data sent, waiting for an ack */
	POP2_DONE = 1u << 4, /* QUIT answered */
};

struct pop2 {
	struct port109_session s;  /* first: handlers get a struct pop2 * */
	/* The current message indicator (937 p.3, p.7): 1-based, set to 1 by
	 * HELO and FOLD, to n by READ n, moved by ACKS/ACKD; may lie beyond
	 * the last message (then every length is 0). */
	uint64_t current;
};

extern const struct dispatch_table pop2_table;

/* Serves a POP2 session whose first line (status ST) is already read. */
void pop2_serve(struct netio *io, struct session_env *env, char *line,
                size_t cap, size_t len, enum netio_status st);

#endif
