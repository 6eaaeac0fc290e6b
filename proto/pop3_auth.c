/*
 * POP3 AUTHORIZATION state (RFC 1939 §4, §7): USER/PASS, APOP, QUIT, UTF8
 * (RFC 6856 §2), and CAPA (RFC 2449 §5), which is valid in both states.
 * SASL AUTH is in pop3_sasl.c; both end here, in pop3_auth_failed or
 * pop3_auth_login.
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
#include "privsep.h"
#include "utf8.h"

static bool
valid_user(const char *name)
{
	size_t n = strlen(name);
	return n > 0 && n <= USER_MAX;
}


bool
pop3_plaintext_allowed(const struct pop3 *p)
{
	return p->env->cfg->plaintext_auth;
}

/* Answers a failed credential check; CLOSE once too many have failed. */
int
pop3_auth_failed(struct pop3 *p, enum auth_result r, const char *user)
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

/*
 * Credentials are good: open the maildrop and enter TRANSACTION.  Split
 * (src/privsep.h), the monitor opens it and serves the session on by
 * itself; this process then never comes back here.
 */
int
pop3_auth_login(struct pop3 *p, const char *user)
{
	unsigned code = PRIVSEP_STAY_SPLIT;
	p->have_user = false;
	if (privsep_channel() >= 0)
		code = pop3_takeover(p, user);
	enum spool_err e = code == PRIVSEP_STAY_SPLIT
	                 ? spool_open(&p->env->where, user, NULL, &p->spool)
	                 : (enum spool_err)code;
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
	return pop3_auth_opened(p, user);
}

int
pop3_auth_opened(struct pop3 *p, const char *user)
{
	snprintf(p->env->stats.user, sizeof(p->env->stats.user), "%s", user);
	log_info("login %s, %zu messages%s", user, spool_live_count(p->spool),
	         spool_hidden_note(p->spool));
	/* RFC 1081 LAST starts at 0: no read state persists across sessions
	 * (PROTOCOLS.md §4; RFC/rfc1081.md). */
	p->last = p->last_start = 0;
	pop3_set_state(p, POP3_TRANSACTION);
	size_t count;
	uint64_t size;
	/* One reply to one command: a message that cannot be sized now only
	 * shortens the text; the login itself stands. */
	if (pop3_view_live_quiet(p, true, &count, &size))
		pop3_ok(p, "%zu messages (%llu octets)", count,
		        (unsigned long long)size);
	else
		pop3_ok(p, "%zu messages", spool_live_count(p->spool));
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
	if (!pop3_plaintext_allowed(p)) {
		/* RFC 1939 §7 lets USER refuse plaintext; RFC 3206 §5 keeps
		 * [AUTH] off USER.  Nothing here depends on the name. */
		pop3_err(p, "Plaintext login is disabled here; use APOP or AUTH CRAM-MD5");
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
	char user[USER_MAX + 1];
	size_t plen = strlen(argv[1]);
	snprintf(user, sizeof(user), "%s", p->user);
	bool ok = utf8_prep_credential(user) && valid_user(user) && utf8_prep_credential(argv[1]);
	enum auth_result r = ok ? auth_check_password(p->env->cfg->passwd, user,
	                                              argv[1])
	                        : AUTH_FAIL;
	auth_wipe(argv[1], plen);
	if (r != AUTH_OK)
		return pop3_auth_failed(p, r, ok ? user : "(refused by SASLprep)");
	return pop3_auth_login(p, user);
}

/* RFC 1939 §7 APOP name digest. */
int
pop3_cmd_apop(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	(void)argc;
	p->have_user = false;
	if (!utf8_prep_credential(argv[1]) || !valid_user(argv[1]))
		return pop3_auth_failed(p, AUTH_FAIL, "(invalid)");
	/* RFC 6856 §2.2: the digest is over the SASLprep'd secret. */
	enum auth_result r = auth_check_apop_mapped(p->env->cfg->passwd, argv[1],
	                                            p->timestamp, argv[2],
	                                            utf8_saslprep);
	if (r != AUTH_OK)
		return pop3_auth_failed(p, r, argv[1]);
	return pop3_auth_login(p, argv[1]);
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

/* RFC 2449 §5, §6: what this server offers, in both states and the same
 * in both, as configured.  No LOGIN-DELAY (not enforced), EXPIRE NEVER
 * (nothing is ever expired), SASL as RFC 5034 §3 words it. */
int
pop3_cmd_capa(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	(void)argc;
	(void)argv;
	pop3_ok(p, "Capability list follows");
	netio_puts(p->io, "TOP\r\nUIDL\r\n");
	if (pop3_plaintext_allowed(p))
		netio_puts(p->io, "USER\r\n");
	netio_printf(p->io, "SASL %s\r\n", pop3_sasl_mechanisms(p));
	netio_puts(p->io,
	           "RESP-CODES\r\n"
	           "AUTH-RESP-CODE\r\n"
	           "PIPELINING\r\n"
	           "EXPIRE NEVER\r\n"
	           "UTF8 USER\r\n"
	           "IMPLEMENTATION postoffice\r\n"
	           ".\r\n");
	return POP3_CONTINUE;
}

/* RFC 6856 §2: UTF8 before login switches the session to UTF-8 mode.
 * Messages are sent as stored in either mode (RFC/rfc6856.md says why),
 * so the mode changes nothing on the wire yet; it is logged. */
int
pop3_cmd_utf8(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	(void)argc;
	(void)argv;
	if (p->utf8) {
		pop3_err(p, "UTF8 is already in effect");
		return POP3_CONTINUE;
	}
	p->utf8 = true;
	log_info("UTF8 mode");
	pop3_ok(p, "UTF8 enabled");
	return POP3_CONTINUE;
}
