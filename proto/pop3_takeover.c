/*
 * The POP3 takeover at login (src/privsep.h): both halves of handing a
 * session in AUTHORIZATION from the protocol process to its monitor.
 * What goes across is what TRANSACTION still needs: the login, the
 * session's counters and flags, the client's input already read (a
 * pipelined STAT behind PASS) and where the trace stands.  The reply to
 * the login is written by the monitor, through the same path as without
 * a split (pop3_auth_opened).
 */
#include "pop3.h"

#include <stdio.h>
#include <string.h>

#include "privsep.h"
#include "trace.h"

unsigned
pop3_takeover(struct pop3 *p, const char *user)
{
	struct privsep_takeover t;
	struct netio *io = p->io;

	/* Everything said so far goes out first: the monitor's replies come
	 * after it, on the same connection. */
	if (!netio_flush(io))
		return SPOOL_ETEMP;
	trace_flush(io->trace);
	memset(&t, 0, sizeof(t));
	snprintf(t.user, sizeof(t.user), "%s", user);
	snprintf(t.peer, sizeof(t.peer), "%s", p->env->peer);
	t.utf8 = p->utf8;
	t.auth_failures = p->auth_failures;
	t.bad_commands = p->bad_commands;
	t.octets_in = io->octets_in;
	t.octets_out = io->octets_out;
	netio_pending_input(io, &t.in, &t.in_len, &t.skip_lf);
	return privsep_takeover(&t);
}

void
pop3_resume(struct netio *io, struct session_env *env,
            const struct privsep_takeover *t)
{
	struct pop3 p = {
		.io = io, .env = env, .state = POP3_AUTHORIZATION,
		.utf8 = t->utf8, .auth_failures = t->auth_failures,
		.bad_commands = t->bad_commands, .spool = t->spool,
	};
	netio_resume(io, t->octets_in, t->octets_out, t->in, t->in_len,
	             t->skip_lf);
	trace_resume(io->trace, &pop3_table, POP3_AUTHORIZATION);
	pop3_auth_opened(&p, t->user);
	pop3_run(&p);
}
