/*
 * POP3 TRANSACTION and UPDATE states (RFC 1939 §5, §6, §7).  Message
 * numbers on the wire (msn) are 1-based; the spool's indexes are 0-based.
 */
#include "pop3.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "msgnum.h"

/* Resolves a message-number argument to an undeleted message. */
static bool
lookup(struct pop3 *p, const char *arg, size_t *idx_r)
{
	uint64_t v;
	if (!msgnum_parse(arg, &v)) {
		pop3_err(p, "Invalid message number");
		return false;
	}
	if (!msgnum_index(arg, spool_count(p->spool), idx_r)) {
		pop3_err(p, "No such message");
		return false;
	}
	if (spool_is_deleted(p->spool, *idx_r)) {
		pop3_err(p, "Message %zu has been deleted", *idx_r + 1);
		return false;
	}
	return true;
}

int
pop3_cmd_stat(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	size_t count;
	uint64_t size;
	(void)argc;
	(void)argv;
	/* RFC 1939 §5: nothing may follow the size. */
	if (pop3_view_live(p, &count, &size))
		pop3_ok(p, "%zu %llu", count, (unsigned long long)size);
	return POP3_CONTINUE;
}

int
pop3_cmd_list(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	size_t idx, count;
	uint64_t size;
	if (argc == 2) {
		if (lookup(p, argv[1], &idx) && pop3_view_size(p, idx, &size))
			pop3_ok(p, "%zu %llu", idx + 1, (unsigned long long)size);
		return POP3_CONTINUE;
	}
	/* Every size first, so a storage error is a clean -ERR. */
	if (!pop3_view_live(p, &count, &size))
		return POP3_CONTINUE;
	pop3_ok(p, "%zu messages (%llu octets)", count, (unsigned long long)size);
	for (idx = 0; idx < spool_count(p->spool); idx++)
		if (!spool_is_deleted(p->spool, idx) && pop3_view_size(p, idx, &size))
			netio_printf(p->io, "%zu %llu\r\n", idx + 1,
			             (unsigned long long)size);
	netio_puts(p->io, ".\r\n");
	return POP3_CONTINUE;
}

int
pop3_cmd_uidl(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	size_t idx;
	if (argc == 2) {
		if (lookup(p, argv[1], &idx))
			pop3_ok(p, "%zu %s", idx + 1, spool_uid(p->spool, idx));
		return POP3_CONTINUE;
	}
	pop3_ok(p, "Unique-id listing follows");
	for (idx = 0; idx < spool_count(p->spool); idx++)
		if (!spool_is_deleted(p->spool, idx))
			netio_printf(p->io, "%zu %s\r\n", idx + 1,
			             spool_uid(p->spool, idx));
	netio_puts(p->io, ".\r\n");
	return POP3_CONTINUE;
}

int
pop3_cmd_retr(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	size_t idx;
	uint64_t size;
	char ok[48];
	(void)argc;
	if (!lookup(p, argv[1], &idx) || !pop3_view_size(p, idx, &size))
		return POP3_CONTINUE;
	/* Netscape reads the size from this line. */
	snprintf(ok, sizeof(ok), "%llu octets", (unsigned long long)size);
	switch (pop3_view_message(p, idx, UINT64_MAX, ok)) {
	case POP3_VIEW_REFUSED:
		return POP3_CONTINUE;
	case POP3_VIEW_ABANDONED:
		p->env->stats.end = "message changed";
		return POP3_CLOSE;
	case POP3_VIEW_SENT:
		break;
	}
	pop3_legacy_touch(p, idx);
	p->env->stats.retrieved++;
	p->env->stats.octets += size;
	return POP3_CONTINUE;
}

/* RFC 1939 §7 TOP msg n: the header, its blank line, n body lines; TOP
 * output is always a prefix of RETR output (PROTOCOLS.md 3.6). */
int
pop3_cmd_top(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	size_t idx;
	uint64_t n;
	char ok[64];
	(void)argc;
	if (!msgnum_parse(argv[2], &n)) {
		pop3_err(p, "Invalid line count");
		return POP3_CONTINUE;
	}
	if (!lookup(p, argv[1], &idx))
		return POP3_CONTINUE;
	/* RFC 1081 raises LAST only for RETR and DELE, not TOP. */
	snprintf(ok, sizeof(ok), "Top of message %zu follows", idx + 1);
	if (pop3_view_message(p, idx, n, ok) == POP3_VIEW_ABANDONED) {
		p->env->stats.end = "message changed";
		return POP3_CLOSE;
	}
	return POP3_CONTINUE;
}

int
pop3_cmd_dele(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	size_t idx;
	(void)argc;
	if (!lookup(p, argv[1], &idx))
		return POP3_CONTINUE;
	spool_set_deleted(p->spool, idx, true);
	pop3_legacy_touch(p, idx);
	pop3_ok(p, "Message %zu deleted", idx + 1);
	return POP3_CONTINUE;
}

int
pop3_cmd_noop(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	(void)argc;
	(void)argv;
	pop3_ok(p, "Still here");
	return POP3_CONTINUE;
}

int
pop3_cmd_rset(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	(void)argc;
	(void)argv;
	size_t count;
	uint64_t size;
	spool_undelete_all(p->spool);
	/* RFC 1081 RSET: LAST goes back to its value at login. */
	p->last = p->last_start;
	if (pop3_view_live_quiet(p, true, &count, &size))
		pop3_ok(p, "Maildrop has %zu messages (%llu octets)", count,
		        (unsigned long long)size);
	else
		pop3_ok(p, "Maildrop has %zu messages", count);
	return POP3_CONTINUE;
}

/* RFC 1939 §6: QUIT in TRANSACTION enters UPDATE; only now is anything
 * removed, and a failure never removes an unmarked message. */
int
pop3_cmd_quit(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	(void)argc;
	(void)argv;
	unsigned marked = (unsigned)(spool_count(p->spool) - spool_live_count(p->spool));
	pop3_set_state(p, POP3_UPDATE);
	enum spool_err e = spool_commit(p->spool);
	p->spool = NULL;
	p->env->stats.end = "quit";
	if (e == SPOOL_OK) {
		p->env->stats.deleted = marked;
		pop3_ok(p, "postoffice signing off (%u messages deleted)", marked);
	} else if (e == SPOOL_ECHANGED) {
		log_warn("commit refused: %s", spool_strerror(e));
		pop3_err(p, "[SYS/TEMP] Maildrop was changed by another program; "
		            "nothing deleted");
	} else {
		log_warn("commit failed: %s", spool_strerror(e));
		pop3_err(p, "[SYS/TEMP] Some deleted messages not removed");
	}
	return POP3_CLOSE;
}
