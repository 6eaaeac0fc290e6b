/*
 * Privilege separation (docs/privileges.md).  When the daemon runs as
 * root, each connection starts as two processes:
 *
 *  - the monitor is the process the daemon (or inetd) started for the
 *    connection: the one counted for max_sessions, signalled at shutdown
 *    and whose exit ends the session.  It holds the client's descriptors
 *    from the fork but never reads them while the protocol process lives.
 *    Until a login succeeds it is root and answers credential checks from
 *    the user database (each in a throwaway child).
 *  - the protocol process is the monitor's child.  Before the first byte
 *    it is confined (optional chroot) and becomes the unprivileged `user`
 *    of the config, for good.  It reads and parses everything the client
 *    sends before login and reaches users and mail only through requests
 *    to its monitor: auth.h and spool.h are in remote mode
 *    (auth_use_remote, spool_use_remote).
 *
 * At a POP3 login the protocol process hands the connection over
 * (PS_TAKEOVER): the monitor becomes the mail's owner for good, opens the
 * maildrop itself, the protocol process exits without another word and
 * the monitor serves the rest of the session alone, as that account: one
 * unprivileged process per logged-in POP3 session.  POP2 and POP1 keep
 * the split to the end: their first maildrop open (PS_OPEN) switches the
 * monitor to the mail's owner, and from then on it opens, reads and
 * commits the maildrop for the protocol process, checking every request.
 * A maildrop served as uid 0 (privsep_ident.c) is never taken over: the
 * monitor answers PRIVSEP_STAY_SPLIT and the login goes on as in POP2.
 *
 * Started as an ordinary user nothing is split: one process serves the
 * connection as before, since there is no privilege to protect.
 *
 * Ownership: while split, the monitor owns the spool (and so the
 * maildrop's session lock) and the protocol process owns the connection
 * and the session log line.  The socket pair between them is their only
 * link: when the protocol process ends the monitor sees end of file,
 * closes the maildrop without deleting anything and ends; when the
 * monitor is told to stop (SIGTERM) it tells the protocol process, by
 * the signal when it may send one and by closing its end of the channel
 * in any case, and when it ends for any other reason it kills it first.  After a takeover
 * the monitor owns everything, the log line included.
 */
#ifndef PRIVSEP_H
#define PRIVSEP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "config.h"
#include "params.h"

struct spool;
struct ipc_in;
struct ipc_out;

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
	PS_TAKEOVER,       /* user, has folder, folder, then the POP3 state
	                    * (privsep_takeover.c)         -> PS_RESULT */
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

/* Folder names longer than this are refused before the mailbox layer
 * looks (it refuses anything over NAME_MAX anyway). */
#define PRIVSEP_FOLDER_MAX 1024

/* PS_TAKEOVER's PS_RESULT when the mail would be served as uid 0: the
 * protocol process opens the maildrop with PS_OPEN instead and the
 * session stays split (a spool_err is never this large). */
#define PRIVSEP_STAY_SPLIT 1000

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
 * What a POP3 session in AUTHORIZATION hands over with PS_TAKEOVER: what
 * the TRANSACTION state still needs.  The protocol process fills it from
 * its own state; the monitor fills it from a request it checked
 * (privsep_takeover.c), opens SPOOL and serves on from it.  It holds no
 * buffer of its own: the monitor keeps it for the whole session, and
 * every page of it written would be memory an idle session pays for
 * (docs/performance.md).
 */
struct privsep_takeover {
	char user[USER_MAX + 1];      /* the login: the one the monitor verified */
	bool has_folder;              /* POP3 has none; kept in PS_OPEN's form */
	const char *folder;           /* the monitor's points into the request,
	                               * so it is gone once the request is handled */
	char peer[80];                /* the client for logs (a PROXY header's) */
	bool utf8;                    /* struct pop3's plain fields */
	unsigned auth_failures, bad_commands;
	uint64_t octets_in, octets_out; /* netio's counters, for the end: line */
	bool skip_lf;                 /* the last line read ended with a bare CR */
	size_t in_len;                /* client input read but not yet parsed */
	const unsigned char *in;      /* at most NETIO_INBUF octets of it: in the
	                               * protocol process netio's own, in the
	                               * monitor IN_ROOM */
	unsigned char *in_room;       /* the monitor's side only: NETIO_INBUF octets
	                               * the input is decoded into, set by the
	                               * caller (session.c: netio's input buffer,
	                               * which the input ends up in anyway) */
	struct spool *spool;          /* the monitor's side only: the open maildrop */
};

/* Which side of a split privsep_begin returns in. */
enum privsep_role {
	PRIVSEP_FAILED,   /* the split failed: end the session */
	PRIVSEP_SERVE,    /* the protocol process, or no split: serve */
	PRIVSEP_RESUME,   /* the monitor after a takeover: serve on as the
	                   * mail's owner from the takeover's state */
};

/*
 * Splits the connection when CFG->ids.active; RFD names it (under inetd
 * stdout is the same socket) for the monitor to shut if its protocol
 * process must be ended and cannot be signalled.  Returns
 * PRIVSEP_SERVE in the protocol process, confined and unprivileged, with
 * auth and spool in remote mode.  The monitor returns only after a POP3
 * takeover (PRIVSEP_RESUME, *T filled, the protocol process gone);
 * otherwise it ends with the protocol process.  PEER is the client's
 * address as accepted (NULL when unknown, or when a PROXY header will
 * name the client: RPOP is then refused).  Without privilege separation
 * it returns PRIVSEP_SERVE at once.
 */
enum privsep_role privsep_begin(const struct config *cfg, int rfd,
                                const struct sockaddr_storage *peer,
                                struct privsep_takeover *t);

/* In a split protocol process, the channel to its monitor (a takeover
 * is possible); -1 anywhere else. */
int privsep_channel(void);

/* In the protocol process: hands the session to the monitor (the reply
 * to the login must not have been written; everything before it must
 * have been flushed).  Returns the monitor's refusal (a spool_err, or
 * PRIVSEP_STAY_SPLIT); on success it does not return: the process exits
 * without writing to the client.  A broken channel ends the process. */
unsigned privsep_takeover(const struct privsep_takeover *t);

/* At the end of a protocol process's session: closes the channel and
 * waits until the monitor has let go of the maildrop.  Nothing when not
 * split. */
void privsep_end(void);

/* How the monitor's loop ended. */
enum privsep_monitor_end {
	PRIVSEP_MONITOR_EOF,      /* the protocol process closed the channel */
	PRIVSEP_MONITOR_BROKEN,   /* it misbehaved, or a reply could not go */
	PRIVSEP_MONITOR_TAKEOVER, /* a takeover was accepted: *T filled,
	                           * the maildrop open, the reply sent */
};

/* The monitor's loop on CHANNEL (privsep_monitor.c); returns at its end. */
enum privsep_monitor_end privsep_monitor(const struct config *cfg, const struct privsep_ids *ids,
                     int channel, const struct sockaddr_storage *peer,
                     struct privsep_takeover *t);

/* PS_TAKEOVER's payload (privsep_takeover.c).  Decoding treats it as
 * hostile: false for anything a well-behaved protocol process would not
 * send (lengths, flags, counters, input larger than netio's buffer). */
void privsep_takeover_encode(struct ipc_out *o, const struct privsep_takeover *t);
bool privsep_takeover_decode(struct ipc_in *in, struct privsep_takeover *t);

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
/* The same, looked up in a throwaway child (for the monitor). */
bool privsep_ident_resolve_apart(const struct config *cfg,
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
