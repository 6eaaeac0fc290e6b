/*
 * POP3 AUTHORIZATION state (RFC 1939 §4, §7): USER/PASS, APOP, QUIT, and
 * CAPA (RFC 2449 §5), which is valid in both states.
 *
 * Every credential failure gets the same reply after the same delay, so
 * an unknown user cannot be told from a wrong password (RFC 1939 §13);
 * the reply never says "lock" or "wait", which fetchmail reads as "try
 * again later".  Failures that are not the client's fault carry RFC 3206
 * and RFC 2449 response codes.
 */
#include "pop3.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "log.h"

static bool
valid_user(const char *name)
{
	size_t n = strlen(name);
	return n > 0 && n <= USER_MAX;
}

/* Answers a failed credential check; CLOSE once too many have failed. */
static int
auth_failed(struct pop3 *p, enum auth_result r, const char *user)
{
	session_fail_delay(p->env);
	if (r == AUTH_TEMPFAIL) {
		log_warn("user database unreadable");
		pop3_err(p, "[SYS/TEMP] Authentication is temporarily unavailable");
	} else {
		log_info("login failed for user %s", user);
		pop3_err(p, "[AUTH] Authentication failed");
	}
	p->have_user = false;
	if (++p->auth_failures >= MAX_AUTH_FAILURES) {
		pop3_err(p, "Too many failed logins; closing");
		p->env->stats.end = "too many failed logins";
		return POP3_CLOSE;
	}
	return POP3_CONTINUE;
}

/* Credentials are good: open the maildrop and enter TRANSACTION. */
static int
open_maildrop(struct pop3 *p, const char *user)
{
	enum spool_err e = spool_open(&p->env->where, user, NULL, &p->spool);
	p->have_user = false;
	switch (e) {
	case SPOOL_OK:
		break;
	case SPOOL_EINUSE:
		/* RFC 2449 §8.1.2 */
		log_info("maildrop of %s is in use", user);
		pop3_err(p, "[IN-USE] Maildrop is in use by another session");
		return POP3_CONTINUE;
	case SPOOL_ETEMP:
	case SPOOL_ECHANGED:
		log_warn("maildrop of %s: %s", user, spool_strerror(e));
		pop3_err(p, "[SYS/TEMP] Maildrop is temporarily unavailable");
		return POP3_CONTINUE;
	default:
		log_warn("maildrop of %s: %s", user, spool_strerror(e));
		pop3_err(p, "[SYS/PERM] Maildrop cannot be opened; "
		            "please tell the administrator");
		return POP3_CONTINUE;
	}
	snprintf(p->env->stats.user, sizeof(p->env->stats.user), "%s", user);
	log_info("login %s, %zu messages", user, spool_live_count(p->spool));
	pop3_set_state(p, POP3_TRANSACTION);
	pop3_ok(p, "%zu messages (%llu octets)", spool_live_count(p->spool),
	        (unsigned long long)spool_live_size(p->spool));
	return POP3_CONTINUE;
}

/* RFC 1939 §7 USER.  The reply is +OK for any plausible name, so USER
 * never reveals which names exist. */
int
pop3_cmd_user(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	(void)argc;
	if (p->have_user) {
		/* PROTOCOLS.md 3.6: a second USER is out of order; forget the
		 * first so the client can start over. */
		p->have_user = false;
		pop3_err(p, "USER already given; start again");
		return POP3_CONTINUE;
	}
	if (!valid_user(argv[1])) {
		pop3_err(p, "[AUTH] Invalid user name");
		return POP3_CONTINUE;
	}
	snprintf(p->user, sizeof(p->user), "%s", argv[1]);
	p->have_user = true;
	pop3_ok(p, "Send your password");
	return POP3_CONTINUE;
}

/* RFC 1939 §7 PASS: only straight after a successful USER. */
int
pop3_cmd_pass(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	(void)argc;
	if (!p->have_user) {
		pop3_err(p, "Send USER first");
		return POP3_CONTINUE;
	}
	enum auth_result r = auth_check_password(p->env->cfg->passwd, p->user,
	                                         argv[1]);
	auth_wipe(argv[1], strlen(argv[1]));
	if (r != AUTH_OK)
		return auth_failed(p, r, p->user);
	return open_maildrop(p, p->user);
}

/* RFC 1939 §7 APOP name digest. */
int
pop3_cmd_apop(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	(void)argc;
	p->have_user = false;
	if (!valid_user(argv[1]))
		return auth_failed(p, AUTH_FAIL, "(invalid)");
	enum auth_result r = auth_check_apop(p->env->cfg->passwd, argv[1],
	                                     p->timestamp, argv[2]);
	if (r != AUTH_OK)
		return auth_failed(p, r, argv[1]);
	return open_maildrop(p, argv[1]);
}

/* RFC 1939 §4: QUIT before login ends the session, deleting nothing. */
int
pop3_cmd_quit_auth(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	(void)argc;
	(void)argv;
	pop3_ok(p, "postoffice signing off");
	p->env->stats.end = "quit";
	return POP3_CLOSE;
}

/* RFC 2449 §5, §6: what this server offers, in both states. */
int
pop3_cmd_capa(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	(void)argc;
	(void)argv;
	pop3_ok(p, "Capability list follows");
	netio_puts(p->io,
	           "TOP\r\n"
	           "UIDL\r\n"
	           "USER\r\n"
	           "RESP-CODES\r\n"
	           "AUTH-RESP-CODE\r\n"
	           "PIPELINING\r\n"
	           "EXPIRE NEVER\r\n"
	           "IMPLEMENTATION postoffice\r\n"
	           ".\r\n");
	return POP3_CONTINUE;
}
