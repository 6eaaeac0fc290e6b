/*
 * Port 109 (RFC 923 assigns it to POP; RFC 937 p.1 puts POP2 there): the
 * greeting, the choice between POP1 and POP2 by the first command, and the
 * pieces both front-ends share.
 *
 * The greeting is RFC 937's form, "+ POP2 host text" (p.10 Greeting, p.16
 * <greet>), with exactly one space between "+" and "POP2": POP2 clients
 * parse it strictly, and RFC 918 only shows a positive line ("+") and
 * never defines its text, so this one line is the greeting both accept
 * (RFC/rfc918.md and RFC/rfc937.md say why in full).
 */
#include "port109.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "trace.h"
#include "pop1.h"
#include "pop2.h"
#include "wire.h"

static const char *
state_name(const struct port109_session *s, unsigned state)
{
	const char *const *names = s->front->table->state_names;
	for (unsigned i = 0; names[i]; i++)
		if (state == 1u << i)
			return names[i];
	return "START";
}

void
port109_set_state(struct port109_session *s, unsigned state)
{
	if (s->state == state)
		return;
	log_info("%s -> %s", state_name(s, s->state), state_name(s, state));
	trace_state(s->io->trace, state);
	s->state = state;
	/* RFC 937 p.11 Timeouts: T2 is the server's wait for a command. */
	s->io->idle_timeout = s->env->stats.user[0] ? s->env->cfg->timeout_idle
	                                            : s->env->cfg->timeout_login;
}

void
port109_err(struct port109_session *s, const char *fmt, ...)
{
	char text[480]; /* RFC 937 p.12 Sizes: a reply line is at most 512 */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	netio_printf(s->io, "%s %s\r\n", s->front->err, text);
}

/* Answers a command that was refused; CLOSE if the session ends here:
 * always for POP2, after too many for POP1. */
static int
refuse(struct port109_session *s, const char *text)
{
	port109_err(s, "%s", text);
	if (s->front->errors_fatal) {
		s->env->stats.end = "protocol error";
		return PORT109_CLOSE;
	}
	if (++s->bad_commands >= MAX_BAD_COMMANDS) {
		port109_err(s, "Too many bad commands; closing");
		s->env->stats.end = "too many bad commands";
		return PORT109_CLOSE;
	}
	return PORT109_CONTINUE;
}

static int
refuse_dispatch(struct port109_session *s, enum dispatch_result r,
                const struct dispatch_row *row)
{
	char text[160];
	switch (r) {
	case DISPATCH_EMPTY:
		return refuse(s, "Empty command");
	case DISPATCH_BADCHAR:
		return refuse(s, "Control characters are not allowed in commands");
	case DISPATCH_STATE:
		snprintf(text, sizeof(text), "%s is not valid in the %s state",
		         row->verb, state_name(s, s->state));
		return refuse(s, text);
	case DISPATCH_ARGS:
		snprintf(text, sizeof(text), "Usage: %s%s%s", row->verb,
		         row->syntax[0] ? " " : "", row->syntax);
		return refuse(s, text);
	case DISPATCH_UNKNOWN:
	case DISPATCH_HANDLED:
		break;
	}
	return refuse(s, "Unknown command");
}

/* The input ended without a command: a drop, a timeout or a stop.  A
 * timeout is answered before the close (RFC 937 p.23: a POP2 timeout is
 * "garbage", action 1); nothing is committed on any of them. */
static void
input_ended(struct port109_session *s, enum netio_status st)
{
	switch (st) {
	case NETIO_TIMEOUT:
		port109_err(s, "Idle timeout; closing");
		s->env->stats.end = "timeout";
		break;
	case NETIO_STOPPED:
		port109_err(s, "Server shutting down");
		s->env->stats.end = "stopped";
		break;
	case NETIO_EOF:
		s->env->stats.end = "disconnected";
		break;
	default:
		s->env->stats.end = "i/o error";
		break;
	}
}

void
port109_run(struct port109_session *s, char *line, size_t cap, size_t len,
            enum netio_status st)
{
	for (;;) {
		int ret = PORT109_CONTINUE;
		/* RFC 937 p.12 Sizes: 512 octets with the CRLF. */
		if (st == NETIO_LINE && len > s->front->line_max)
			st = NETIO_TOOLONG;
		if (st == NETIO_TOOLONG) {
			ret = refuse(s, "Command line too long");
		} else if (st != NETIO_LINE) {
			input_ended(s, st);
			break;
		} else {
			const struct dispatch_row *row;
			enum dispatch_result r = dispatch_line(s->front->table,
			                                       s->state, line, len,
			                                       s, &ret, &row);
			if (r != DISPATCH_HANDLED)
				ret = refuse_dispatch(s, r, row);
		}
		/* HELO and PASS lines hold passwords: leave none behind. */
		auth_wipe(line, cap);
		if (ret == PORT109_CLOSE)
			break;
		st = netio_read_line(s->io, line, cap, &len);
	}
	if (s->spool) {
		spool_close(s->spool);
		s->spool = NULL;
	}
}

enum auth_result
port109_login(struct port109_session *s, const char *user, char *password)
{
	size_t n = strlen(user);
	enum auth_result r = AUTH_FAIL;

	if (n > 0 && n <= USER_MAX)
		r = auth_check_password(s->env->cfg->passwd, user, password);
	auth_wipe(password, strlen(password));
	if (r == AUTH_OK) {
		snprintf(s->env->stats.user, sizeof(s->env->stats.user), "%s", user);
		log_info("login %s", user);
		return r;
	}
	/* The same delay for unknown users and wrong passwords. */
	session_fail_delay(s->env);
	if (r == AUTH_TEMPFAIL)
		log_warn("user database unreadable");
	else
		log_info("login failed for user %.*s", USER_MAX, user);
	return r;
}

enum spool_err
port109_open(struct port109_session *s, const char *name)
{
	const char *shown = name ? name : "the default maildrop";
	enum spool_err e = spool_open(&s->env->where, s->env->stats.user, name,
	                              &s->spool);
	switch (e) {
	case SPOOL_OK:
		log_info("opened %s: %zu messages%s", shown, spool_count(s->spool),
		         spool_hidden_note(s->spool));
		break;
	case SPOOL_ENOENT:
	case SPOOL_EBADNAME:
	case SPOOL_EINUSE:
		s->spool = NULL;
		log_info("%s: %s", shown, spool_strerror(e));
		break;
	default:
		s->spool = NULL;
		log_warn("%s: %s", shown, spool_strerror(e));
		break;
	}
	return e;
}

enum spool_err
port109_release(struct port109_session *s)
{
	struct spool *sp = s->spool;
	if (!sp)
		return SPOOL_OK;
	s->spool = NULL;
	unsigned marked = (unsigned)(spool_count(sp) - spool_live_count(sp));
	if (marked == 0) {
		/* Nothing to apply: do not rewrite the mailbox. */
		spool_close(sp);
		return SPOOL_OK;
	}
	enum spool_err e = spool_commit(sp);
	if (e == SPOOL_OK) {
		s->env->stats.deleted += marked;
		log_info("%u messages deleted", marked);
	} else {
		log_warn("deletions not applied: %s", spool_strerror(e));
	}
	return e;
}

uint64_t
port109_send_quoted(struct netio *io, struct wire_out *w)
{
	unsigned char scratch[4096];
	size_t n;

	uint64_t octets = io ? netio_write_wire(io, w) : 0;
	/* What was not sent (no IO, or output failed) counts all the same:
	 * the callers compare it with the size they announced. */
	while ((n = wire_out_fill(w, scratch, sizeof(scratch))) > 0)
		octets += n;
	return octets;
}

/* Whether the line's first word is VERB (any case). */
static bool
first_verb_is(const char *line, size_t len, const char *verb)
{
	size_t i = 0, n = strlen(verb);
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return len - i >= n && strncasecmp(line + i, verb, n) == 0 &&
	       (len - i == n || line[i + n] == ' ' || line[i + n] == '\t');
}

/*
 * PROTOCOLS.md §0: USER starts POP1; everything else goes to POP2, whose
 * AUTH state answers HELO, QUIT ("+ OK" and close) and anything else
 * ("-" and close), as the greeting promised a POP2 server.
 */
void
port109_serve(struct netio *io, struct session_env *env)
{
	char line[LINE_MAX_OCTETS];
	size_t len = 0;

	netio_printf(io, "+ POP2 %s postoffice ready for POP2 (HELO) or POP1 (USER)\r\n",
	             env->cfg->hostname);
	enum netio_status st = netio_read_line(io, line, sizeof(line), &len);
	if (st == NETIO_LINE && first_verb_is(line, len, "USER"))
		pop1_serve(io, env, line, sizeof(line), len);
	else
		pop2_serve(io, env, line, sizeof(line), len, st);
	auth_wipe(line, sizeof(line));
}
