/*
 * Commands older clients send that RFC 1939 dropped or never had:
 * LAST and RPOP from RFC 1081/1225, and the Qpopper extensions XTND and
 * EUIDL.  Which are served and which refused is in RFC/rfc1081.md.
 */
#include "pop3.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "auth.h"
#include "log.h"
#include "utf8.h"

/* The client's address and source port, from the text session.c keeps
 * ("192.0.2.1:5423", "[2001:db8::1]:5423"); false for anything else
 * ("stdin", "local"), which is then never trusted. */
static bool
peer_parse(const char *peer, int *family_r, unsigned char addr[16],
           unsigned long *port_r)
{
	char host[64];
	const char *colon = strrchr(peer, ':'), *end;
	size_t len;

	if (!colon || !colon[1])
		return false;
	if (peer[0] == '[') {
		end = strchr(peer, ']');
		if (end != colon - 1)
			return false;
		len = (size_t)(end - peer - 1);
		peer++;
		*family_r = AF_INET6;
	} else {
		len = (size_t)(colon - peer);
		*family_r = AF_INET;
	}
	if (len >= sizeof(host))
		return false;
	memcpy(host, peer, len);
	host[len] = '\0';
	char *rest;
	*port_r = strtoul(colon + 1, &rest, 10);
	return *rest == '\0' && *port_r <= 65535
	       && inet_pton(*family_r, host, addr) == 1;
}

/* RFC 1081: RPOP only from a privileged source port (the client proves
 * it runs as root on its host) on a network the config trusts. */
static bool
rpop_allowed(const struct pop3 *p)
{
	const struct config *cfg = p->env->cfg;
	unsigned char addr[16];
	unsigned long port;
	int family;

	if (cfg->nrpop_trusted == 0 || !p->env->peer
	    || !peer_parse(p->env->peer, &family, addr, &port) || port >= 1024)
		return false;
	for (size_t i = 0; i < cfg->nrpop_trusted; i++)
		if (config_prefix_contains(&cfg->rpop_trusted[i], family, addr))
			return true;
	return false;
}

/*
 * RFC 1081 RPOP: "USER name" then "RPOP name" logs in without a password
 * when the client connects from a privileged port on a network listed in
 * rpop_trusted.  That trusts whoever is root on every host there, which
 * the RFC itself calls a break-in risk, so it is off unless configured.
 * We keep no .rhosts: the RPOP name must be the USER name, and the user
 * must exist; anything else fails like a wrong password.  Refused RPOP
 * gets an ordinary -ERR that no client reads as "try again later", and
 * the pending USER is forgotten, as after a failed PASS.
 */
int
pop3_cmd_rpop(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	char user[USER_MAX + 1];
	(void)argc;
	bool had_user = p->have_user;
	p->have_user = false;
	if (!rpop_allowed(p)) {
		log_info("RPOP refused");
		pop3_err(p, "RPOP is not supported; use PASS, APOP or AUTH");
		return POP3_CONTINUE;
	}
	if (!had_user) {
		pop3_err(p, "Send USER first");
		return POP3_CONTINUE;
	}
	snprintf(user, sizeof(user), "%s", p->user);
	if (!utf8_saslprep(user, user, sizeof(user)) || !user[0]
	    || strcmp(argv[1], p->user) != 0)
		return pop3_auth_failed(p, AUTH_FAIL, "(RPOP name mismatch)");
	enum auth_result r = auth_check_rpop(p->env->cfg->passwd, user);
	if (r != AUTH_OK)
		return pop3_auth_failed(p, r, user);
	log_info("RPOP login %s from %s without a password (rpop_trusted)",
	         user, p->env->peer);
	return pop3_auth_login(p, user);
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
