/* The daemon: listeners, one child process per session, clean stop. */
#ifndef SERVER_H
#define SERVER_H

#include "config.h"

/*
 * Standalone: listens on every configured address, forks a child for each
 * connection, reaps children, and on SIGTERM or SIGINT stops listening,
 * asks the sessions to end (they delete nothing uncommitted) and returns
 * 0.  Returns non-zero if it could not start.
 */
int server_run(const struct config *cfg);

/* inetd/xinetd/tcpserver: one session on stdin/stdout. */
int server_inetd(const struct config *cfg, enum proto_kind proto);

#endif
