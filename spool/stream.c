/*
 * spool_stream (spool.h): a message read in pieces of whole lines.
 *
 * The pieces come from the range a backend's locate (or source) names,
 * read with pread into sp->buf, which stays about SPOOL_PIECE octets: a
 * session that sends 100 MB touches a quarter of a megabyte of fresh
 * memory instead of the largest message's size, and the first piece is
 * on the wire while the rest is still in the page cache.  Each piece is
 * cut after its last LF and the next one starts there, so a line is never
 * split and the wire size of the pieces adds up to the message's.
 *
 * That size is checked against the one announced at open, the cheap
 * guard against an edit by a program that ignores locks: a message of
 * one piece here, before it is returned, so nothing of it need be sent;
 * a longer one by spool_stream_check once the caller has converted
 * every piece, with the octets wire_out counted on the way, so that
 * 100 MB are not scanned a second time just to be counted.
 *
 * Ownership: the descriptor belongs to the stream and is closed by
 * spool_stream_end, which spool_close and every begin call first.
 */
#include <errno.h>
#include <unistd.h>

#include "backend.h"
#include "wire.h"

void
spool_stream_end(struct spool *sp)
{
	if (sp->stream.active && sp->stream.fd >= 0)
		close(sp->stream.fd);
	sp->stream.active = false;
	sp->stream.fd = -1;
}

enum spool_err
spool_stream_begin(struct spool *sp, size_t idx)
{
	int fd = -1;
	uint64_t off = 0, len = 0;
	enum spool_err e;

	spool_stream_end(sp);
	e = spool_source(sp, idx, &fd, &off, &len);
	if (e != SPOOL_OK)
		return e;
	if (off > UINT64_MAX - len) {
		if (fd >= 0)
			close(fd);
		return SPOOL_ETEMP;
	}
	sp->stream.active = true;
	sp->stream.fd = fd;
	sp->stream.mem = fd < 0 ? sp->buf : NULL;
	sp->stream.off = off;
	sp->stream.end = off + len;
	sp->stream.start = off;
	sp->stream.idx = idx;
	return SPOOL_OK;
}

/* Reads exactly LEN octets at OFF into sp->buf. */
static enum spool_err
read_at(struct spool *sp, uint64_t off, size_t len)
{
	if (!spool_buf_reserve(sp, len))
		return SPOOL_ETEMP;
	return spool_pread_full(sp->stream.fd, sp->buf, len, off);
}

/* The next piece from the descriptor; *LEN_R octets at sp->buf. */
static enum spool_err
next_from_fd(struct spool *sp, size_t *len_r)
{
	uint64_t left = sp->stream.end - sp->stream.off;
	if (left > SIZE_MAX / 2)
		return SPOOL_ETEMP;
	size_t want = left < SPOOL_PIECE ? (size_t)left : SPOOL_PIECE;
	for (;;) {
		enum spool_err e = read_at(sp, sp->stream.off, want);
		if (e != SPOOL_OK)
			return e;
		if (want == left) {
			*len_r = want;
			return SPOOL_OK;
		}
		size_t cut = wire_whole_lines(sp->buf, want);
		if (cut > 0) {
			*len_r = cut;
			return SPOOL_OK;
		}
		/* One line fills the buffer: read it whole, however long. */
		want = left - want < want ? (size_t)left : want * 2;
	}
}

enum spool_err
spool_stream_next(struct spool *sp, const unsigned char **data_r,
                  size_t *len_r, bool *more_r)
{
	size_t len;
	enum spool_err e = SPOOL_OK;

	if (!sp->stream.active)
		return SPOOL_EINVAL;
	if (sp->stream.fd < 0) {
		len = (size_t)(sp->stream.end - sp->stream.off);
		*data_r = sp->stream.mem + sp->stream.off;
	} else {
		e = next_from_fd(sp, &len);
		*data_r = sp->buf;
	}
	if (e == SPOOL_OK) {
		bool whole = sp->stream.off == sp->stream.start;
		sp->stream.off += len;
		*more_r = sp->stream.off < sp->stream.end;
		if (whole && !*more_r
		    && wire_size(*data_r, len) != spool_size(sp, sp->stream.idx))
			e = SPOOL_ECHANGED;
	}
	if (e != SPOOL_OK) {
		spool_stream_end(sp);
		return e;
	}
	*len_r = len;
	return SPOOL_OK;
}

enum spool_err
spool_stream_wire(struct spool *sp, struct wire_out *w, unsigned flags,
                  uint64_t max_body_lines, bool *more_r)
{
	bool first = sp->stream.active && sp->stream.off == sp->stream.start;
	const unsigned char *data;
	size_t len;
	enum spool_err e = spool_stream_next(sp, &data, &len, more_r);
	if (e != SPOOL_OK)
		return e;
	if (first)
		wire_out_init(w, data, len, flags, max_body_lines);
	else
		wire_out_next_piece(w, data, len);
	return SPOOL_OK;
}

enum spool_err
spool_stream_check(struct spool *sp, uint64_t wire)
{
	if (!sp->stream.active)
		return SPOOL_EINVAL;
	if (sp->stream.off < sp->stream.end)
		return SPOOL_EINVAL; /* not every piece was read */
	enum spool_err e = wire == spool_size(sp, sp->stream.idx) ? SPOOL_OK
	                                                           : SPOOL_ECHANGED;
	spool_stream_end(sp);
	return e;
}
