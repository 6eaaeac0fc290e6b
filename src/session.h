/*
 * What a protocol front-end gets to serve one connection: the session I/O
 * and the parts of the configuration it may use.  Front-ends reach mail
 * only through spool.h and users only through auth.h.
 */
#ifndef SESSION_H
#define SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "netio.h"
#include "spool.h"

struct session_stats {
	char user[USER_MAX + 1];
	unsigned retrieved;
	uint64_t octets;
	unsigned deleted;
	const char *end;     /* how it ended: "quit", "eof", "timeout", ... */
};

struct session_env {
	const struct config *cfg;
	struct spool_where where;
	const char *peer;           /* client address, for logs */
	struct session_stats stats;
};

/* One connection as the daemon or inetd hands it over. */
struct session_conn {
	int rfd, wfd;
	struct sockaddr_storage addr; /* the client as accepted; AF_UNSPEC: unknown */
	char peer[80];                /* the client for logs: "192.0.2.7:1234", "stdin" */
	bool proxy;                   /* a PROXY header (src/proxy.h) comes first */
};

/* Serves connection C and logs its end; never exits.  Splits it first
 * when the daemon runs as root (src/privsep.h), so nothing read from the
 * client is ever parsed as root, not even a PROXY header. */
void session_run(const struct config *cfg, enum proto_kind proto,
                 const struct session_conn *c);

/* Front-ends (proto/). */
void pop3_serve(struct netio *io, struct session_env *env);
void port109_serve(struct netio *io, struct session_env *env);
/* A POP3 session taken over at login (src/privsep.h): T's maildrop is
 * open and this process is its owner; serves it from TRANSACTION. */
struct privsep_takeover;
void pop3_resume(struct netio *io, struct session_env *env,
                 const struct privsep_takeover *t);

/* Sleeps the configured failed-login delay (same for every failure). */
void session_fail_delay(const struct session_env *env);

#endif
