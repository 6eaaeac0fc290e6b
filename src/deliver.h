/* "postoffice deliver": local delivery for an MTA, with sysexits codes. */
#ifndef DELIVER_H
#define DELIVER_H

#include "config.h"

/* sysexits.h values, spelled out: that header is BSD, not POSIX. */
enum {
	EXIT_DELIVERED = 0,
	EXIT_USAGE = 64,      /* EX_USAGE */
	EXIT_DATAERR = 65,    /* EX_DATAERR: malformed message */
	EXIT_NOUSER = 67,     /* EX_NOUSER */
	EXIT_TEMPFAIL = 75,   /* EX_TEMPFAIL: the MTA retries later */
	EXIT_CONFIG = 78,     /* EX_CONFIG */
};

/* Reads one message from FD and appends it to USER's maildrop. */
int deliver_run(const struct config *cfg, const char *user, const char *sender,
                int fd);

#endif
