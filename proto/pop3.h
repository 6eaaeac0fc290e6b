/*
 * The POP3 front-end (RFC 1939 and the extensions in RFC 2449, 3206):
 * one session's state, shared by the command handlers, which are split by
 * state into pop3_auth.c (AUTHORIZATION) and pop3_trans.c (TRANSACTION,
 * UPDATE).  pop3.c holds the command table and the session loop.
 */
#ifndef POP3_H
#define POP3_H

#include <stdbool.h>
#include <stddef.h>

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
	struct spool *spool;
};

extern const struct dispatch_table pop3_table;

void pop3_set_state(struct pop3 *p, unsigned state);
void pop3_ok(struct pop3 *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pop3_err(struct pop3 *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* AUTHORIZATION (pop3_auth.c) */
int pop3_cmd_user(void *sess, int argc, char **argv);
int pop3_cmd_pass(void *sess, int argc, char **argv);
int pop3_cmd_apop(void *sess, int argc, char **argv);
int pop3_cmd_quit_auth(void *sess, int argc, char **argv);
int pop3_cmd_capa(void *sess, int argc, char **argv);

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
