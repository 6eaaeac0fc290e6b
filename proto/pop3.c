/*
 * POP3 (RFC 1939 and extensions): the command table and the session loop.
 * The handlers live in pop3_auth.c, pop3_sasl.c, pop3_trans.c,
 * pop3_legacy.c and pop3_xmit.c.
 */
#include "pop3.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"
#include "trace.h"

#define AUTH POP3_AUTHORIZATION
#define TRANS POP3_TRANSACTION

static const char *const pop3_state_names[] = {
	"AUTHORIZATION", "TRANSACTION", "UPDATE", NULL,
};

static const struct dispatch_row pop3_rows[] = {
	{ "USER", AUTH, 1, 1, 0, pop3_cmd_user, "name", "+OK / -ERR",
	  "RFC 1939 §7", "name the mailbox owner; PASS must follow" },
	{ "PASS", AUTH, 1, 1, DISPATCH_REST | DISPATCH_SECRET, pop3_cmd_pass, "string",
	  "+OK / -ERR [AUTH] / -ERR [IN-USE] / -ERR [SYS/TEMP]",
	  "RFC 1939 §7", "password for the name given by USER; may hold spaces" },
	{ "APOP", AUTH, 2, 2, DISPATCH_SECRET, pop3_cmd_apop, "name digest",
	  "+OK / -ERR [AUTH] / -ERR [IN-USE]", "RFC 1939 §7",
	  "MD5 of the greeting's timestamp and the shared secret" },
	{ "AUTH", AUTH, 0, 2, DISPATCH_SECRET, pop3_cmd_auth, "[mechanism [initial-response]]",
	  "+OK / + challenge / -ERR [AUTH] / -ERR [IN-USE]", "RFC 5034 §4",
	  "SASL login: PLAIN, LOGIN, CRAM-MD5; without arguments, list them" },
	{ "RPOP", AUTH, 1, 1, DISPATCH_REST, pop3_cmd_rpop, "user", "+OK / -ERR / -ERR [AUTH]",
	  "RFC 1081", "password-free login after USER; refused unless rpop_trusted" },
	{ "UTF8", AUTH, 0, 0, 0, pop3_cmd_utf8, "", "+OK / -ERR",
	  "RFC 6856 §2", "switch the session to UTF-8 mode" },
	{ "CAPA", AUTH | TRANS, 0, 0, 0, pop3_cmd_capa, "", "+OK, capability lines, .",
	  "RFC 2449 §5", "list the capabilities in force" },
	{ "STAT", TRANS, 0, 0, 0, pop3_cmd_stat, "", "+OK count octets",
	  "RFC 1939 §5", "count and size of the messages not deleted" },
	{ "LIST", TRANS, 0, 1, 0, pop3_cmd_list, "[msg]", "+OK msg octets / scan listing",
	  "RFC 1939 §5", "size of one message or of each" },
	{ "RETR", TRANS, 1, 1, 0, pop3_cmd_retr, "msg", "+OK octets, message, .",
	  "RFC 1939 §5", "send a message, dot-stuffed" },
	{ "DELE", TRANS, 1, 1, 0, pop3_cmd_dele, "msg", "+OK / -ERR",
	  "RFC 1939 §5", "mark a message deleted; removed at QUIT" },
	{ "NOOP", TRANS, 0, 0, 0, pop3_cmd_noop, "", "+OK",
	  "RFC 1939 §5", "do nothing" },
	{ "RSET", TRANS, 0, 0, 0, pop3_cmd_rset, "", "+OK",
	  "RFC 1939 §5", "unmark every deleted message" },
	{ "TOP", TRANS, 2, 2, 0, pop3_cmd_top, "msg n", "+OK, header and n body lines, .",
	  "RFC 1939 §7", "send the header and the first n lines of the body" },
	{ "UIDL", TRANS, 0, 1, 0, pop3_cmd_uidl, "[msg]", "+OK msg uid / listing",
	  "RFC 1939 §7", "unique, persistent id of one message or of each" },
	{ "LAST", TRANS, 0, 0, 0, pop3_cmd_last, "", "+OK msg",
	  "RFC 1081", "highest message number retrieved or deleted" },
	{ "XTND", TRANS, 1, 2, 0, pop3_cmd_xtnd, "XMIT", "+OK, message, . / -ERR",
	  "Qpopper", "XMIT: send a message through the configured mail command" },
	{ "EUIDL", TRANS, 0, 1, 0, pop3_cmd_euidl, "[msg]", "-ERR",
	  "Qpopper", "extended unique-id listing; refused, use UIDL" },
	{ "QUIT", AUTH, 0, 0, 0, pop3_cmd_quit_auth, "", "+OK",
	  "RFC 1939 §4", "end the session; nothing is deleted" },
	{ "QUIT", TRANS, 0, 0, 0, pop3_cmd_quit, "", "+OK / -ERR [SYS/TEMP]",
	  "RFC 1939 §6", "enter UPDATE: remove deleted messages, end the session" },
};

const struct dispatch_table pop3_table = {
	.name = "pop3",
	.rows = pop3_rows,
	.nrows = sizeof(pop3_rows) / sizeof(pop3_rows[0]),
	.flags = 0,
	.state_names = pop3_state_names,
};

static const char *
state_name(unsigned state)
{
	for (unsigned i = 0; pop3_state_names[i]; i++)
		if (state == 1u << i)
			return pop3_state_names[i];
	return "CONNECTED";
}

void
pop3_set_state(struct pop3 *p, unsigned state)
{
	if (p->state == state)
		return;
	log_info("%s -> %s", state_name(p->state), state_name(state));
	trace_state(p->io->trace, state);
	p->state = state;
	/* RFC 1939 §3 autologout; the pre-login timer may be shorter. */
	p->io->idle_timeout = state == POP3_AUTHORIZATION
	                    ? p->env->cfg->timeout_login : p->env->cfg->timeout_idle;
}

/* RFC 1957: some clients need a space and text after the status, so every
 * status line has both. */
static void
reply(struct pop3 *p, const char *status, const char *fmt, va_list ap)
{
	char text[480];
	vsnprintf(text, sizeof(text), fmt, ap);
	netio_printf(p->io, "%s %s\r\n", status, text);
}

void
pop3_ok(struct pop3 *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply(p, "+OK", fmt, ap);
	va_end(ap);
}

void
pop3_err(struct pop3 *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply(p, "-ERR", fmt, ap);
	va_end(ap);
}

/* RFC 1939 §7: the APOP timestamp must differ on every greeting. */
static void
make_timestamp(struct pop3 *p)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(p->timestamp, sizeof(p->timestamp), "<%ld.%ld.%09ld@%s>",
	         (long)getpid(), (long)ts.tv_sec, ts.tv_nsec, p->env->cfg->hostname);
}

/* Counts a bad line; false (and the session ends) once there were too many. */
static bool
count_bad(struct pop3 *p)
{
	if (++p->bad_commands < MAX_BAD_COMMANDS)
		return true;
	pop3_err(p, "Too many bad commands; closing");
	p->env->stats.end = "too many bad commands";
	return false;
}

/* Answers a line the dispatcher refused; false once too many were bad. */
static bool
refuse(struct pop3 *p, enum dispatch_result r, const struct dispatch_row *row)
{
	switch (r) {
	case DISPATCH_EMPTY:
		pop3_err(p, "Empty command");
		break;
	case DISPATCH_BADCHAR:
		pop3_err(p, "Control characters are not allowed in commands");
		break;
	case DISPATCH_UNKNOWN:
		pop3_err(p, "Unknown command");
		break;
	case DISPATCH_STATE:
		pop3_err(p, "%s is not valid in the %s state", row->verb,
		         state_name(p->state));
		break;
	case DISPATCH_ARGS:
		pop3_err(p, "Usage: %s%s%s", row->verb, row->syntax[0] ? " " : "",
		         row->syntax);
		break;
	case DISPATCH_HANDLED:
		break;
	}
	return count_bad(p);
}

static const char *
end_reason(enum netio_status st)
{
	switch (st) {
	case NETIO_EOF: return "disconnected";
	case NETIO_TIMEOUT: return "timeout";
	case NETIO_STOPPED: return "stopped";
	default: return "i/o error";
	}
}

void
pop3_serve(struct netio *io, struct session_env *env)
{
	struct pop3 p = { .io = io, .env = env, .state = 0 };

	trace_set_table(io->trace, &pop3_table, 0);
	pop3_set_state(&p, POP3_AUTHORIZATION);
	make_timestamp(&p);
	/* The timestamp is the last token: curl looks for it there. */
	pop3_ok(&p, "POP3 postoffice ready %s", p.timestamp);
	pop3_run(&p);
}

void
pop3_run(struct pop3 *p)
{
	struct netio *io = p->io;
	struct session_env *env = p->env;
	char line[LINE_MAX_OCTETS];

	for (;;) {
		size_t len;
		enum netio_status st = netio_read_line(io, line, sizeof(line), &len);
		if (st == NETIO_TOOLONG) {
			pop3_err(p, "Line too long");
			if (!count_bad(p))
				break;
			continue;
		}
		if (st != NETIO_LINE) {
			/* RFC 1939 §3, §6: no UPDATE without QUIT, and a timeout
			 * closes without a reply. */
			env->stats.end = end_reason(st);
			break;
		}
		const struct dispatch_row *row;
		int ret = POP3_CONTINUE;
		enum dispatch_result r = dispatch_line(&pop3_table, p->state, line,
		                                       len, p, &ret, &row);
		/* The line held a password: do not leave it in memory. */
		if (row && (row->handler == pop3_cmd_pass
		            || row->handler == pop3_cmd_auth))
			auth_wipe(line, sizeof(line));
		if (r != DISPATCH_HANDLED && !refuse(p, r, row))
			break;
		if (ret == POP3_CLOSE)
			break;
	}
	netio_flush(io);
	if (p->spool)
		spool_close(p->spool);
	pop3_view_free(p);
}
