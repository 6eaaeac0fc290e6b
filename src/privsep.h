/*
 * Privilege separation (docs/privileges.md).  When the daemon runs as
 * root, each connection is two processes:
 *
 *  - the protocol process reads and parses every byte from the network.
 *    Before the first byte it is confined (optional chroot) and becomes
 *    the unprivileged `user` of the config, for good.  It reaches users
 *    and mail only through requests to its monitor: auth.h and spool.h
 *    are switched to remote mode (auth_use_remote, spool_use_remote).
 *  - the monitor never touches the connection.  Until a login succeeds
 *    it is root and answers credential checks from the user database.
 *    The first maildrop open after a good login switches it for good to
 *    the login's own account (privsep_ident.c), and from then on it is
 *    that user's mailbox process: it opens, reads and commits the
 *    maildrop for the protocol process, checking every request.
 *
 * Started as an ordinary user nothing is split: one process serves the
 * connection as before, since there is no privilege to protect.
 *
 * Ownership: the monitor owns the spool (and so the maildrop's session
 * lock); the protocol process owns the connection and the session log
 * line.  The socket pair between them is their only link; when either
 * side ends, the other sees end of file and ends too, and a maildrop
 * whose protocol process vanished is closed without deleting anything.
 */
#ifndef PRIVSEP_H
#define PRIVSEP_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "config.h"

/* Requests from the protocol process; each gets exactly one reply. */
enum privsep_msg {
	PS_AUTH_PASS = 1,  /* user, password               -> PS_RESULT */
	PS_AUTH_APOP,      /* user, timestamp, digest, map -> PS_RESULT */
	PS_AUTH_CRAM,      /* user, challenge, digest      -> PS_RESULT */
	PS_AUTH_RPOP,      /* user                         -> PS_RESULT */
	PS_USER_EXISTS,    /* user                         -> PS_RESULT */
	PS_OPEN,           /* user, has folder, folder     -> PS_LISTING */
	PS_READ,           /* idx                          -> PS_DATA */
	PS_COMMIT,         /* one octet per message, 1 = deleted -> PS_RESULT */
	PS_CLOSE,          /*                              -> PS_RESULT */
	PS_ENVELOPES,      /*                              -> PS_ENVELOPE_LIST */
	/* Replies. */
	PS_RESULT = 64,    /* code (auth_result or spool_err) */
	PS_LISTING,        /* spool_err, then count, hidden (spool_hidden) and
	                    * (size, uid) per message when it is SPOOL_OK */
	PS_DATA,           /* spool_err, then the message octets */
	PS_DATA_AT,        /* offset and length of the message in the file
	                    * whose descriptor follows (ipc_send_fd) */
	PS_ENVELOPE_LIST,  /* spool_err, count, then each message's "From "
	                    * line (asked for only by POP1) */
};

/* Largest request a monitor accepts: a PS_COMMIT is one octet per
 * message, so this allows maildrops of 16 million messages. */
#define PRIVSEP_REQUEST_MAX (16u << 20)
/* Largest reply a protocol process accepts: a listing or one message. */
#define PRIVSEP_REPLY_MAX (UINT32_MAX - 1)

/* Decides whether to split and resolves the accounts into CFG->ids (at
 * start-up, before the config becomes read-only); false (with a message
 * in ERR) when a root daemon could not run safely. */
bool privsep_setup(struct config *cfg, char *err, size_t errsz);

/*
 * Splits the connection (RFD, WFD) when CFG->ids.active.  Returns in the
 * protocol process, confined and unprivileged, with auth and spool in
 * remote mode; the monitor never returns (it serves, then _exits).
 * PEER is the client's address as accepted (NULL when unknown, or when a
 * PROXY header will name the client: RPOP is then refused).  Without
 * privilege separation it returns at once.  False if the split failed:
 * the caller ends the session.
 */
bool privsep_begin(const struct config *cfg, int rfd, int wfd,
                   const struct sockaddr_storage *peer);

/* At the end of a session: closes the channel and waits for the monitor,
 * which then has let go of the maildrop.  Nothing when not split. */
void privsep_end(void);

/* The monitor's loop on CHANNEL (privsep_monitor.c); returns at its end. */
void privsep_monitor(const struct config *cfg, const struct privsep_ids *ids,
                     int channel, const struct sockaddr_storage *peer);

/* Accounts (privsep_ident.c). */
struct privsep_id {
	uid_t uid;
	gid_t gid;
	const char *source;      /* for the log: where the account came from */
};

/* Which account USER's mail is served as; false (logged) to refuse the
 * login, e.g. for uid 0. */
bool privsep_ident_resolve(const struct config *cfg,
                           const struct privsep_ids *ids, const char *user,
                           struct privsep_id *id_r);
/* Acts as ID for file access, reversibly (effective ids only). */
bool privsep_ident_try(const struct privsep_id *id);
/* Back to root after privsep_ident_try. */
bool privsep_ident_undo(void);
/* Becomes ID for good: real, effective and saved ids; verified. */
bool privsep_ident_become(const struct privsep_id *id);
/* The protocol process: optional chroot, then `user` for good. */
bool privsep_ident_confine(const struct config *cfg,
                           const struct privsep_ids *ids);

#endif
