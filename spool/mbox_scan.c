/*
 * One pass over an mbox: message boundaries, wire sizes, unique ids and
 * the hash64 of everything scanned.  The file is read in fixed pieces,
 * never whole, so a mailbox of any size and lines of any length (binary
 * junk, NUL bytes, no line ends at all) cost bounded memory.  Format:
 * mbox.h.
 *
 * The hash is fed a buffer at a time, as bytes leave the buffer, not a
 * line at a time: per-line calls cost more than the hashing itself.  It
 * is cut at each From line only to note the hash of the prefix before
 * it, which the scan cache (mbox_cache.c) records.
 */
#include "mbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hash64.h"
#include "md5.h"

/* Bytes read at a time.  A line longer than this is handled in pieces;
 * only its first piece is looked at to classify it, which suffices since
 * every test is on the first few octets of a line. */
#define MBOX_SCAN_BUF 65536
/* Bytes read at a time when only hashing: no line splitting, so bigger
 * reads; small enough to stay in the CPU's cache between the copy out of
 * the page cache and the hash. */
#define MBOX_DIGEST_BUF (256 * 1024)

struct mbox_reader {
	int fd;
	uint64_t end;  /* scan [start, end) */
	uint64_t base; /* file offset of buf[0] */
	size_t len, at;
	bool bol;      /* the next piece starts a line */
	/* Covers [0, hash->total); every byte is added before it leaves
	 * the buffer, so hash->total >= base always. */
	struct hash64 *hash;
	unsigned char buf[MBOX_SCAN_BUF];
};

/* Adds the buffered bytes before file offset TO to the hash. */
static void
mbox_reader_hash(struct mbox_reader *r, uint64_t to)
{
	uint64_t from = r->hash->total;
	if (to > from)
		hash64_update(r->hash, r->buf + (from - r->base), (size_t)(to - from));
}

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
			mbox_reader_hash(r, r->base + r->at);
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
	struct mbox_reader *r;
	uint64_t start;        /* where the scan began: a From line */
	uint64_t last_hash;    /* hash64 of [0, the last From line) */
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

void
mbox_hex(const unsigned char *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void
mbox_base_hex(const struct spool_msg *m, char hex[33])
{
	mbox_hex(m->base, sizeof m->base, hex);
}

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
	md5_final(&ps->head, m->base);
	mbox_base_hex(m, m->uid);
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
	mbox_reader_hash(ps->r, pc->off);
	ps->last_hash = hash64_final(ps->r->hash);
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

static enum spool_err
mbox_piece(struct mbox_parser *ps, const struct mbox_piece *pc)
{
	enum spool_err e = SPOOL_OK;

	if (pc->bol) {
		ps->line_off = pc->off;
		ps->line_len = 0;
		ps->line_blank = pc->eol &&
		    (pc->len == 1 || (pc->len == 2 && pc->p[0] == '\r'));
		bool from = pc->len >= 5 && memcmp(pc->p, "From ", 5) == 0 &&
		            (pc->off == ps->start || ps->prev_blank);
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
mbox_scan(struct spool *sp, int fd, uint64_t start, struct hash64 *h,
          uint64_t *last_hash_r)
{
	struct mbox_reader *r = malloc(sizeof *r);
	if (!r)
		return SPOOL_ETEMP;
	*r = (struct mbox_reader){ .fd = fd, .end = sp->scanned, .base = start,
	                           .bol = true, .hash = h };
	struct mbox_parser ps = { .sp = sp, .r = r, .start = start };

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
	if (e == SPOOL_OK) {
		mbox_reader_hash(r, r->base + r->len);
		*last_hash_r = ps.last_hash;
	}
	free(r);
	return e;
}

enum spool_err
mbox_digest(int fd, uint64_t len, struct hash64 *h, struct mbox_mark *marks,
            size_t nmarks)
{
	/* MD5 is wanted up to the farthest mark within LEN. */
	uint64_t md5_to = 0;
	for (size_t i = 0; i < nmarks; i++) {
		marks[i].done = false;
		if (marks[i].at <= len && marks[i].at > md5_to)
			md5_to = marks[i].at;
	}
	uint64_t hash_from = h ? h->total : len;
	uint64_t to = h ? len : md5_to;
	uint64_t at = nmarks > 0 ? 0 : hash_from;
	struct md5 m;
	md5_init(&m);
	unsigned char *buf = malloc(MBOX_DIGEST_BUF);
	if (!buf)
		return SPOOL_ETEMP;
	enum spool_err e = SPOOL_OK;
	for (;;) {
		/* the marks at AT (the first time, also those at 0) */
		for (size_t i = 0; i < nmarks; i++)
			if (!marks[i].done && marks[i].at == at) {
				struct md5 copy = m;
				md5_final(&copy, marks[i].digest);
				marks[i].done = true;
			}
		if (at >= to)
			break;
		uint64_t stop = to;
		for (size_t i = 0; i < nmarks; i++)
			if (!marks[i].done && marks[i].at > at && marks[i].at < stop)
				stop = marks[i].at; /* end the read at the next mark */
		size_t want = stop - at < MBOX_DIGEST_BUF ? (size_t)(stop - at)
		                                          : MBOX_DIGEST_BUF;
		ssize_t n = pread(fd, buf, want, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n == 0 ? SPOOL_ECHANGED : SPOOL_ETEMP;
			break;
		}
		if (at < md5_to)
			md5_update(&m, buf, (size_t)n);
		if (at + (uint64_t)n > hash_from) {
			uint64_t skip = at < hash_from ? hash_from - at : 0;
			hash64_update(h, buf + skip, (size_t)n - (size_t)skip);
		}
		at += (uint64_t)n;
	}
	free(buf);
	return e;
}
