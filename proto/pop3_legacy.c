/*
 * Commands older clients send that RFC 1939 dropped or never had:
 * LAST and RPOP from RFC 1081/1225, and the Qpopper extensions XTND and
 * EUIDL.  Which are served and which refused is in RFC/rfc1081.md.
 */
#include "pop3.h"

#include <strings.h>

#include "log.h"

/* RFC 1081 RPOP: trust by privileged source port and .rhosts, which the
 * RFC itself calls a break-in risk.  Always refused, with an ordinary
 * -ERR that no client reads as "try again later"; the pending USER is
 * forgotten, as after a failed PASS. */
int
pop3_cmd_rpop(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	(void)argc;
	(void)argv;
	p->have_user = false;
	log_info("RPOP refused");
	pop3_err(p, "RPOP is not supported; use PASS, APOP or AUTH");
	return POP3_CONTINUE;
}

void
pop3_legacy_touch(struct pop3 *p, size_t idx)
{
	if (idx + 1 > p->last)
		p->last = idx + 1;
}

/* RFC 1081 LAST: the highest message number RETR or DELE has touched.
 * fetchmail and UW-era clients use it to skip old mail. */
int
pop3_cmd_last(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	(void)argc;
	(void)argv;
	if (!p->env->cfg->last_command) {
		pop3_err(p, "LAST is disabled on this server; use UIDL");
		return POP3_CONTINUE;
	}
	pop3_ok(p, "%zu", p->last);
	return POP3_CONTINUE;
}

/* Qpopper XTND: XMIT (send a message through the server, Eudora) is
 * served when configured; XLST and the rest are refused by name. */
int
pop3_cmd_xtnd(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	(void)argc;
	if (strcasecmp(argv[1], "XMIT") == 0) {
		if (argc != 2) {
			pop3_err(p, "Usage: XTND XMIT");
			return POP3_CONTINUE;
		}
		return pop3_xmit(p);
	}
	if (strcasecmp(argv[1], "XLST") == 0) {
		pop3_err(p, "XTND XLST is not supported; use TOP");
		return POP3_CONTINUE;
	}
	pop3_err(p, "Unknown XTND subcommand; only XMIT is supported");
	return POP3_CONTINUE;
}

/* Qpopper EUIDL (uid plus size and sender): refused; UIDL and LIST give
 * the same facts, and Netscape falls back to them. */
int
pop3_cmd_euidl(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	(void)argc;
	(void)argv;
	pop3_err(p, "EUIDL is not supported; use UIDL and LIST");
	return POP3_CONTINUE;
}
