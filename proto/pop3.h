/*
 * The POP3 front-end (RFC 1939 and the extensions in RFC 2449, 3206,
 * 5034, 6856, and the RFC 1081 / Qpopper legacy commands): one session's
 * state, shared by the command handlers, which are split by job:
 * pop3_auth.c (AUTHORIZATION, CAPA), pop3_sasl.c (AUTH), pop3_trans.c
 * (TRANSACTION, UPDATE), pop3_legacy.c (LAST, RPOP, XTND, EUIDL),
 * pop3_xmit.c (XTND XMIT), pop3_takeover.c (the handover of a login
 * to the monitor), pop3_view.c (the message as this session
 * sends it: sizes and client workarounds).  pop3.c holds the command
 * table and the session loop.
 */
#ifndef POP3_H
#define POP3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "dispatch.h"
#include "netio.h"
#include "session.h"
#include "spool.h"

/* RFC 1939 §3 states, as dispatcher bits.  UPDATE lasts only for the
 * QUIT that enters it, so no command is ever dispatched in it. */
enum {
	POP3_AUTHORIZATION = 1u << 0,
	POP3_TRANSACTION   = 1u << 1,
	POP3_UPDATE        = 1u << 2,
};

/* What a handler tells the session loop. */
enum {
	POP3_CONTINUE = 0,
	POP3_CLOSE,        /* reply written; end the session */
};

struct pop3 {
	struct netio *io;
	struct session_env *env;
	unsigned state;
	char timestamp[320];          /* APOP timestamp of our greeting */
	char user[USER_MAX + 1];      /* after a successful USER */
	bool have_user;
	unsigned auth_failures;
	unsigned bad_commands;
	bool utf8;                    /* RFC 6856 §2 UTF8 given */
	struct spool *spool;
	/* RFC 1081 LAST: highest message number accessed, and its value when
	 * TRANSACTION began (RSET restores it, PROTOCOLS.md §4). */
	size_t last, last_start;
	/* pop3_view.c: per-message sizes when a workaround changes them. */
	uint64_t *view_sizes;
};

extern const struct dispatch_table pop3_table;

void pop3_set_state(struct pop3 *p, unsigned state);
void pop3_ok(struct pop3 *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pop3_err(struct pop3 *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The session loop (pop3.c): commands until the session ends, then the
 * maildrop is closed. */
void pop3_run(struct pop3 *p);

/* AUTHORIZATION (pop3_auth.c) */
/* A credential check failed: the one reply and delay for every failure. */
int pop3_auth_failed(struct pop3 *p, enum auth_result r, const char *user);
/* Credentials are good: open USER's maildrop and enter TRANSACTION. */
int pop3_auth_login(struct pop3 *p, const char *user);
/* The maildrop P->spool is open for USER: the one path into TRANSACTION
 * (log line, LAST, state, the +OK), in a process of its own or after a
 * takeover. */
int pop3_auth_opened(struct pop3 *p, const char *user);

/* The takeover at login (pop3_takeover.c, src/privsep.h) */
/* In a split protocol process: hands the session to the monitor, which
 * opens USER's maildrop.  Returns only when it did not: the monitor's
 * refusal, a spool_err or PRIVSEP_STAY_SPLIT. */
unsigned pop3_takeover(struct pop3 *p, const char *user);
/* Plaintext logins (USER/PASS, PLAIN, LOGIN) allowed by the config. */
bool pop3_plaintext_allowed(const struct pop3 *p);
int pop3_cmd_user(void *sess, int argc, char **argv);
int pop3_cmd_pass(void *sess, int argc, char **argv);
int pop3_cmd_apop(void *sess, int argc, char **argv);
int pop3_cmd_quit_auth(void *sess, int argc, char **argv);
int pop3_cmd_capa(void *sess, int argc, char **argv);
int pop3_cmd_utf8(void *sess, int argc, char **argv);

/* SASL AUTH (pop3_sasl.c) */
int pop3_cmd_auth(void *sess, int argc, char **argv);
/* The SASL mechanisms this session offers, space-separated. */
const char *pop3_sasl_mechanisms(const struct pop3 *p);

/* Legacy and vendor commands (pop3_legacy.c, pop3_xmit.c) */
int pop3_cmd_rpop(void *sess, int argc, char **argv);
int pop3_cmd_last(void *sess, int argc, char **argv);
int pop3_cmd_xtnd(void *sess, int argc, char **argv);
int pop3_cmd_euidl(void *sess, int argc, char **argv);
/* RFC 1081: RETR and DELE raise LAST to the message they name. */
void pop3_legacy_touch(struct pop3 *p, size_t idx);
/* XTND XMIT: reads the message that follows and hands it to the
 * configured command. */
int pop3_xmit(struct pop3 *p);

/* The message as sent (pop3_view.c) */
/* Octets RETR sends for message IDX; false (and -ERR sent) on a storage
 * error. */
bool pop3_view_size(struct pop3 *p, size_t idx, uint64_t *size_r);
/* Count and octets of the messages not deleted (STAT). */
bool pop3_view_live(struct pop3 *p, size_t *count_r, uint64_t *size_r);
/* The same; with QUIET no -ERR is sent (for a reply that must be +OK). */
bool pop3_view_live_quiet(struct pop3 *p, bool quiet, size_t *count_r,
                          uint64_t *size_r);
/* What pop3_view_message did. */
enum pop3_view_result {
	POP3_VIEW_SENT,      /* the +OK line, the message and its "." */
	POP3_VIEW_REFUSED,   /* an -ERR, nothing else */
	POP3_VIEW_ABANDONED, /* part of it went out, then the message turned
	                      * out changed: the reply cannot be finished */
};
/* RETR and TOP: "+OK " OK, then message IDX dot-stuffed with at most
 * MAX_BODY_LINES lines of body, then the terminating line. */
enum pop3_view_result pop3_view_message(struct pop3 *p, size_t idx,
                                        uint64_t max_body_lines,
                                        const char *ok);
void pop3_view_free(struct pop3 *p);

/* TRANSACTION and UPDATE (pop3_trans.c) */
int pop3_cmd_stat(void *sess, int argc, char **argv);
int pop3_cmd_list(void *sess, int argc, char **argv);
int pop3_cmd_retr(void *sess, int argc, char **argv);
int pop3_cmd_dele(void *sess, int argc, char **argv);
int pop3_cmd_noop(void *sess, int argc, char **argv);
int pop3_cmd_rset(void *sess, int argc, char **argv);
int pop3_cmd_top(void *sess, int argc, char **argv);
int pop3_cmd_uidl(void *sess, int argc, char **argv);
int pop3_cmd_quit(void *sess, int argc, char **argv);

#endif
