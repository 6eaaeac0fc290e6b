/*
 * The message as this POP3 session sends it: the transmitted form of
 * spool/wire.h, dot-stuffed (RFC 1939 §3), changed only by the client
 * workarounds the operator turned on:
 *
 *  - status_header FLAGS: a "Status: FLAGS" line is put before the header
 *    of every message that has no Status: field of its own, for clients
 *    that keep read state in that mbox field;
 *  - strip_nul: NUL octets are left out, for clients that cut a line or a
 *    message at the first NUL.
 *
 * Sizes must stay the octets actually sent (RFC 1939 §11, CONTRACT.md),
 * so with either option on, each message's size is computed from its
 * bytes the first time it is needed and kept for the session.
 */
#include "pop3.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "trace.h"
#include "wire.h"

#define UNKNOWN UINT64_MAX

static bool
changes_sizes(const struct pop3 *p)
{
	return p->env->cfg->status_header[0] || p->env->cfg->strip_nul;
}

/* Whether the header of DATA already has a Status: field. */
static bool
has_status(const unsigned char *data, size_t len)
{
	struct wire_line line;
	size_t pos = 0;
	while (wire_next_line(data, len, &pos, &line) && line.len > 0)
		if (line.len >= 7 && strncasecmp((const char *)line.p, "Status:", 7) == 0)
			return true;
	return false;
}

/* Octets of the synthesized Status: line DATA gets (0 for none). */
static size_t
status_len(const struct pop3 *p, const unsigned char *data, size_t len)
{
	const char *flags = p->env->cfg->status_header;
	if (!flags[0] || has_status(data, len))
		return 0;
	return strlen("Status: ") + strlen(flags) + 2;
}

static uint64_t
count_nul(const unsigned char *data, size_t len)
{
	uint64_t n = 0;
	for (const unsigned char *q = data; (q = memchr(q, '\0', len - (size_t)(q - data)));
	     q++)
		n++;
	return n;
}

/* pop3_view_size; QUIET leaves the -ERR to the caller. */
static bool
size_of(struct pop3 *p, size_t idx, uint64_t *size_r, bool quiet)
{
	if (!changes_sizes(p)) {
		*size_r = spool_size(p->spool, idx);
		return true;
	}
	if (!p->view_sizes) {
		size_t n = spool_count(p->spool);
		p->view_sizes = malloc((n ? n : 1) * sizeof(*p->view_sizes));
		if (!p->view_sizes) {
			if (!quiet)
				pop3_err(p, "[SYS/TEMP] Out of memory");
			return false;
		}
		for (size_t i = 0; i < n; i++)
			p->view_sizes[i] = UNKNOWN;
	}
	if (p->view_sizes[idx] == UNKNOWN) {
		const unsigned char *data;
		size_t len;
		enum spool_err e = spool_read(p->spool, idx, &data, &len);
		if (e != SPOOL_OK) {
			log_warn("reading message %zu: %s", idx + 1, spool_strerror(e));
			if (!quiet)
				pop3_err(p, "[SYS/TEMP] Message %zu cannot be read now",
				         idx + 1);
			return false;
		}
		uint64_t size = wire_size(data, len) + status_len(p, data, len);
		if (p->env->cfg->strip_nul)
			size -= count_nul(data, len);
		p->view_sizes[idx] = size;
	}
	*size_r = p->view_sizes[idx];
	return true;
}

bool
pop3_view_size(struct pop3 *p, size_t idx, uint64_t *size_r)
{
	return size_of(p, idx, size_r, false);
}

bool
pop3_view_live_quiet(struct pop3 *p, bool quiet, size_t *count_r,
                     uint64_t *size_r)
{
	*count_r = spool_live_count(p->spool);
	if (!changes_sizes(p)) {
		*size_r = spool_live_size(p->spool);
		return true;
	}
	uint64_t total = 0, size;
	for (size_t idx = 0; idx < spool_count(p->spool); idx++) {
		if (spool_is_deleted(p->spool, idx))
			continue;
		if (!size_of(p, idx, &size, quiet))
			return false;
		total += size;
	}
	*size_r = total;
	return true;
}

bool
pop3_view_live(struct pop3 *p, size_t *count_r, uint64_t *size_r)
{
	return pop3_view_live_quiet(p, false, count_r, size_r);
}

/* RFC 6856 §2.1, §5: with utf8_strict, a session not in UTF-8 mode does
 * not get a message whose header needs it (non-ASCII octets there). */
static bool
allowed(struct pop3 *p, size_t idx, const unsigned char *data, size_t len)
{
	struct wire_line line;
	size_t pos = 0;
	while (wire_next_line(data, len, &pos, &line) && line.len > 0)
		for (size_t i = 0; i < line.len; i++)
			if (line.p[i] >= 0x80) {
				pop3_err(p, "[UTF8] Message %zu needs UTF8 mode", idx + 1);
				return false;
			}
	return true;
}

/* Whether this session must see a message's header before sending any
 * of it: to add a Status: line or to refuse it for UTF-8. */
static bool
needs_header_first(const struct pop3 *p)
{
	return p->env->cfg->status_header[0]
	    || (p->env->cfg->utf8_strict && !p->utf8);
}

static unsigned
wire_flags(const struct pop3 *p)
{
	return WIRE_DOT_STUFF | (p->env->cfg->strip_nul ? WIRE_STRIP_NUL : 0);
}

static enum pop3_view_result
cannot_read(struct pop3 *p, size_t idx, enum spool_err e)
{
	log_warn("reading message %zu: %s", idx + 1, spool_strerror(e));
	pop3_err(p, "[SYS/TEMP] Message %zu cannot be read now", idx + 1);
	return POP3_VIEW_REFUSED;
}

/* The whole message at once, for needs_header_first. */
static enum pop3_view_result
send_whole(struct pop3 *p, size_t idx, uint64_t max_body_lines, const char *ok)
{
	const unsigned char *data;
	size_t len;
	struct wire_out w;
	enum spool_err e = spool_read(p->spool, idx, &data, &len);
	if (e != SPOOL_OK)
		return cannot_read(p, idx, e);
	if (p->env->cfg->utf8_strict && !p->utf8 && !allowed(p, idx, data, len))
		return POP3_VIEW_REFUSED;
	pop3_ok(p, "%s", ok);
	trace_body_begin(p->io->trace, "message %zu", idx + 1);
	if (status_len(p, data, len))
		netio_printf(p->io, "Status: %s\r\n", p->env->cfg->status_header);
	wire_out_init(&w, data, len, wire_flags(p), max_body_lines);
	netio_write_wire(p->io, &w);
	trace_body_end(p->io->trace);
	netio_puts(p->io, ".\r\n");
	return POP3_VIEW_SENT;
}

/* The reply cannot be finished honestly: the message changed on disk
 * while it was sent (another program ignored the lock). */
static enum pop3_view_result
abandon(struct pop3 *p, size_t idx, enum spool_err e)
{
	trace_body_end(p->io->trace);
	log_warn("message %zu changed while it was sent (%s): "
	         "closing without the end of the reply",
	         idx + 1, spool_strerror(e));
	return POP3_VIEW_ABANDONED;
}

/*
 * In pieces (spool_stream): the +OK goes out once the first piece is
 * read, so an unreadable message still gets a plain -ERR, and a message
 * of one piece is checked whole first.  A longer one is checked once its
 * last piece is converted, before the terminating line.  TOP stops
 * reading once its lines are out.
 */
enum pop3_view_result
pop3_view_message(struct pop3 *p, size_t idx, uint64_t max_body_lines,
                  const char *ok)
{
	bool more;
	struct wire_out w;

	if (needs_header_first(p))
		return send_whole(p, idx, max_body_lines, ok);
	enum spool_err e = spool_stream_begin(p->spool, idx);
	if (e == SPOOL_OK)
		e = spool_stream_wire(p->spool, &w, wire_flags(p), max_body_lines, &more);
	if (e != SPOOL_OK)
		return cannot_read(p, idx, e);
	pop3_ok(p, "%s", ok);
	trace_body_begin(p->io->trace, "message %zu", idx + 1);
	netio_write_wire(p->io, &w);
	while (more && !wire_out_limit_reached(&w)) {
		e = spool_stream_wire(p->spool, &w, 0, 0, &more);
		if (e != SPOOL_OK)
			return abandon(p, idx, e);
		netio_write_wire(p->io, &w);
	}
	/* Everything produced (and the client still there): its count must
	 * be the size LIST gave. */
	if (!more && !wire_out_limit_reached(&w) && !p->io->failed) {
		e = spool_stream_check(p->spool, wire_out_octets(&w));
		if (e != SPOOL_OK)
			return abandon(p, idx, e);
	}
	spool_stream_end(p->spool);
	trace_body_end(p->io->trace);
	netio_puts(p->io, ".\r\n");
	return POP3_VIEW_SENT;
}

void
pop3_view_free(struct pop3 *p)
{
	free(p->view_sizes);
	p->view_sizes = NULL;
}
