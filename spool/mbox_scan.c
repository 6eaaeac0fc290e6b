/*
 * One pass over an mbox: message boundaries, wire sizes, unique ids and a
 * digest of everything scanned.  The file is read in fixed pieces, never
 * whole, so a mailbox of any size and lines of any length (binary junk,
 * NUL bytes, no line ends at all) cost bounded memory.  Format: mbox.h.
 */
#include "mbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "md5.h"

/* Bytes read at a time.  A line longer than this is handled in pieces;
 * only its first piece is looked at to classify it, which suffices since
 * every test is on the first few octets of a line. */
#define MBOX_SCAN_BUF 65536

struct mbox_reader {
	int fd;
	uint64_t end;  /* scan [0, end) */
	uint64_t base; /* file offset of buf[0] */
	size_t len, at;
	bool bol;      /* the next piece starts a line */
	unsigned char buf[MBOX_SCAN_BUF];
};

struct mbox_piece {
	const unsigned char *p;
	size_t len;
	uint64_t off;
	bool bol, eol; /* starts a line / ends with its LF */
};

/* Next piece: a whole line with its LF, or as much of one as the buffer
 * holds.  1 = got one, 0 = end, -1 = read error or file shrank. */
static int
mbox_reader_next(struct mbox_reader *r, struct mbox_piece *pc)
{
	for (;;) {
		unsigned char *lf = r->at < r->len
		    ? memchr(r->buf + r->at, '\n', r->len - r->at) : NULL;
		uint64_t filled = r->base + r->len;
		if (!lf && filled < r->end && (r->at > 0 || r->len < MBOX_SCAN_BUF)) {
			memmove(r->buf, r->buf + r->at, r->len - r->at);
			r->base += r->at;
			r->len -= r->at;
			r->at = 0;
			size_t want = MBOX_SCAN_BUF - r->len;
			if (want > r->end - filled)
				want = (size_t)(r->end - filled);
			ssize_t n = pread(r->fd, r->buf + r->len, want, (off_t)filled);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return -1;
			r->len += (size_t)n;
			continue;
		}
		if (r->at == r->len)
			return 0;
		size_t n = lf ? (size_t)(lf - (r->buf + r->at)) + 1 : r->len - r->at;
		*pc = (struct mbox_piece){ r->buf + r->at, n, r->base + r->at,
		                           r->bol, lf != NULL };
		r->bol = pc->eol;
		r->at += n;
		return 1;
	}
}

enum mbox_where { MBOX_IN_FROM, MBOX_IN_HEAD, MBOX_IN_BODY };

struct mbox_parser {
	struct spool *sp;
	struct md5 whole;      /* all of [0, N): commit compares it */
	struct mbox_mark *marks; /* prefixes whose MD5 is wanted too */
	size_t nmarks;
	struct md5 head;       /* the current message's uid digest */
	bool have;             /* a message is open (sp->msgs[count-1]) */
	enum mbox_where where;
	bool skip_field;       /* the current header field is left out of head */
	/* the line being read */
	uint64_t line_off, line_len;
	bool line_blank;
	unsigned char last, last2; /* its last two octets so far */
	/* the last complete content line, which may turn out a separator */
	bool prev_blank;
	uint64_t prev_len, prev_wire;
};

/* Header fields that mail readers add or rewrite in place: left out of
 * the uid digest so that mutt or pine marking a message read does not
 * change its uid. */
static const char *const mbox_rewritten[] = {
	"Status", "X-Status", "X-Keywords", "X-UID", "X-IMAP", "X-IMAPbase",
	"Content-Length", "Lines", "X-UIDL",
};

static bool
mbox_field_is(const unsigned char *p, size_t len, const char *name)
{
	size_t n = strlen(name);
	return len > n && p[n] == ':' &&
	       strncasecmp((const char *)p, name, n) == 0;
}

/* Keeps an X-UIDL value that is a valid uid as the message's proposal;
 * spool_uids_unique takes it if reuse is on and no earlier message has
 * the same one. */
static enum spool_err
mbox_take_xuidl(struct spool_msg *m, const struct mbox_piece *pc)
{
	if (m->given_uid || !pc->eol)
		return SPOOL_OK;
	const unsigned char *v = pc->p + 7, *e = pc->p + pc->len;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' ||
	                 e[-1] == '\t'))
		e--;
	if (!spool_uid_valid(v, (size_t)(e - v)))
		return SPOOL_OK;
	if (!(m->given_uid = strndup((const char *)v, (size_t)(e - v))))
		return SPOOL_ETEMP;
	return SPOOL_OK;
}

/* A complete line (or the unterminated last one) has been read. */
static void
mbox_line_end(struct mbox_parser *ps)
{
	struct spool_msg *m = &ps->sp->msgs[ps->sp->count - 1];

	if (ps->where == MBOX_IN_FROM) {
		m->off = ps->line_off + ps->line_len;
		ps->where = MBOX_IN_HEAD;
		ps->prev_blank = false;
		return;
	}
	/* Wire form: the line's content, then CRLF (wire.h). */
	uint64_t eol = 0;
	if (ps->last == '\n')
		eol = ps->line_len >= 2 && ps->last2 == '\r' ? 2 : 1;
	uint64_t wire = ps->line_len - eol + 2;
	m->len += ps->line_len;
	m->size += wire;
	ps->prev_blank = ps->line_blank;
	ps->prev_len = ps->line_len;
	ps->prev_wire = wire;
}

/* Ends the open message at offset END (the next From line or N). */
static void
mbox_msg_close(struct mbox_parser *ps, uint64_t end)
{
	struct spool_msg *m = &ps->sp->msgs[ps->sp->count - 1];
	unsigned char d[16];
	static const char hex[] = "0123456789abcdef";

	if (ps->where == MBOX_IN_FROM)
		m->off = end; /* a From line without line end: no content */
	if (ps->prev_blank) {
		/* The separator line (or one trailing empty line at EOF). */
		m->len -= ps->prev_len;
		m->size -= ps->prev_wire;
	}
	if (m->len == 0)
		m->size = 2; /* wire.h: an empty message is one empty line */
	m->end = end;
	md5_final(&ps->head, d);
	for (int i = 0; i < 16; i++) {
		m->uid[2 * i] = hex[d[i] >> 4];
		m->uid[2 * i + 1] = hex[d[i] & 15];
	}
	m->uid[32] = '\0';
	memcpy(m->base, m->uid, sizeof m->base);
	ps->have = false;
	ps->prev_blank = false;
}

static enum spool_err
mbox_msg_start(struct mbox_parser *ps, const struct mbox_piece *pc)
{
	if (ps->have)
		mbox_msg_close(ps, pc->off);
	struct spool_msg *m = spool_msg_add(ps->sp);
	if (!m)
		return SPOOL_ETEMP;
	size_t n = pc->len;
	if (pc->eol && --n > 0 && pc->p[n - 1] == '\r')
		n--;
	if (!(m->envelope = strndup((const char *)pc->p, n)))
		return SPOOL_ETEMP;
	m->from = pc->off;
	md5_init(&ps->head);
	ps->have = true;
	ps->where = MBOX_IN_FROM;
	ps->skip_field = false;
	return SPOOL_OK;
}

/* Classifies a header line for the uid digest. */
static enum spool_err
mbox_header_line(struct mbox_parser *ps, const struct mbox_piece *pc)
{
	if (ps->line_blank) {
		ps->where = MBOX_IN_BODY;
		return SPOOL_OK;
	}
	if (pc->p[0] == ' ' || pc->p[0] == '\t')
		return SPOOL_OK; /* folded: belongs to the field before */
	ps->skip_field = false;
	for (size_t i = 0; i < sizeof mbox_rewritten / sizeof *mbox_rewritten; i++)
		if (mbox_field_is(pc->p, pc->len, mbox_rewritten[i]))
			ps->skip_field = true;
	if (mbox_field_is(pc->p, pc->len, "X-UIDL"))
		return mbox_take_xuidl(&ps->sp->msgs[ps->sp->count - 1], pc);
	return SPOOL_OK;
}

/* The pending mark nearest to the start, if it is not beyond LIMIT. */
static struct mbox_mark *
mbox_next_mark(const struct mbox_parser *ps, uint64_t limit)
{
	struct mbox_mark *next = NULL;
	for (size_t i = 0; i < ps->nmarks; i++) {
		struct mbox_mark *mk = &ps->marks[i];
		if (!mk->done && mk->at <= limit && (!next || mk->at < next->at))
			next = mk;
	}
	return next;
}

/* Adds a piece to the digest of [0, N), taking those of the marks that
 * fall inside it (or right after it) on the way. */
static void
mbox_whole(struct mbox_parser *ps, const struct mbox_piece *pc)
{
	size_t fed = 0;
	struct mbox_mark *mk;
	while ((mk = mbox_next_mark(ps, pc->off + pc->len))) {
		size_t k = (size_t)(mk->at - pc->off); /* >= fed: in order */
		md5_update(&ps->whole, pc->p + fed, k - fed);
		fed = k;
		struct md5 copy = ps->whole;
		md5_final(&copy, mk->digest);
		mk->done = true;
	}
	md5_update(&ps->whole, pc->p + fed, pc->len - fed);
}

static enum spool_err
mbox_piece(struct mbox_parser *ps, const struct mbox_piece *pc)
{
	enum spool_err e = SPOOL_OK;

	mbox_whole(ps, pc);
	if (pc->bol) {
		ps->line_off = pc->off;
		ps->line_len = 0;
		ps->line_blank = pc->eol &&
		    (pc->len == 1 || (pc->len == 2 && pc->p[0] == '\r'));
		bool from = pc->len >= 5 && memcmp(pc->p, "From ", 5) == 0 &&
		            (pc->off == 0 || ps->prev_blank);
		if (from)
			e = mbox_msg_start(ps, pc);
		else if (!ps->have)
			return SPOOL_EPERM; /* not an mbox: see mbox.h */
		else if (ps->where == MBOX_IN_HEAD)
			e = mbox_header_line(ps, pc);
		if (e != SPOOL_OK)
			return e;
	}
	if (ps->where == MBOX_IN_FROM ||
	    (ps->where == MBOX_IN_HEAD && !ps->skip_field))
		md5_update(&ps->head, pc->p, pc->len);
	ps->line_len += pc->len;
	ps->last2 = pc->len >= 2 ? pc->p[pc->len - 2] : ps->last;
	ps->last = pc->p[pc->len - 1];
	if (pc->eol)
		mbox_line_end(ps);
	return SPOOL_OK;
}

enum spool_err
mbox_scan(struct spool *sp, int fd, struct mbox_mark *marks, size_t nmarks)
{
	struct mbox_reader *r = malloc(sizeof *r);
	if (!r)
		return SPOOL_ETEMP;
	*r = (struct mbox_reader){ .fd = fd, .end = sp->scanned, .bol = true };
	struct mbox_parser ps = { .sp = sp, .marks = marks, .nmarks = nmarks };
	for (size_t i = 0; i < nmarks; i++)
		marks[i].done = false;
	md5_init(&ps.whole);

	struct mbox_piece pc = { 0 };
	enum spool_err e = SPOOL_OK;
	int got = 0;
	while (e == SPOOL_OK && (got = mbox_reader_next(r, &pc)) == 1)
		e = mbox_piece(&ps, &pc);
	if (e == SPOOL_OK && got < 0)
		e = SPOOL_ETEMP;
	if (e == SPOOL_OK && ps.have) {
		if (pc.len > 0 && !pc.eol)
			mbox_line_end(&ps); /* the last line has no LF */
		mbox_msg_close(&ps, sp->scanned);
	}
	struct mbox_mark *mk; /* at == N, or an empty file */
	while (e == SPOOL_OK && (mk = mbox_next_mark(&ps, sp->scanned))) {
		struct md5 copy = ps.whole;
		md5_final(&copy, mk->digest);
		mk->done = true;
	}
	md5_final(&ps.whole, sp->digest);
	free(r);
	return e;
}

enum spool_err
mbox_digest(int fd, uint64_t len, unsigned char digest[16])
{
	struct md5 m;
	unsigned char *buf = malloc(MBOX_SCAN_BUF);
	if (!buf)
		return SPOOL_ETEMP;
	md5_init(&m);
	for (uint64_t at = 0; at < len;) {
		size_t want = len - at < MBOX_SCAN_BUF ? (size_t)(len - at)
		                                       : MBOX_SCAN_BUF;
		ssize_t n = pread(fd, buf, want, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return n == 0 ? SPOOL_ECHANGED : SPOOL_ETEMP;
		}
		md5_update(&m, buf, (size_t)n);
		at += (uint64_t)n;
	}
	md5_final(&m, digest);
	free(buf);
	return SPOOL_OK;
}
