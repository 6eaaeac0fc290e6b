/* The transmitted form of a message; the rules are in wire.h. */
#include "wire.h"

#include <string.h>

/*
 * Both scans below run over whole messages of megabytes with lines of
 * about 80 octets, where a memchr() call per line costs more than the
 * bytes.  They work on fixed blocks in plain loops without early exits,
 * which compilers turn into vector code at -O2; the block sizes were
 * the fastest measured (docs/performance.md).
 */
enum {
	SCAN_BLOCK = 32,  /* find_lf: a block is skipped or searched */
	COUNT_BLOCK = 128 /* wire_size: counters of one octet suffice */
};

static bool
block_has_lf(const unsigned char *p)
{
	unsigned char seen = 0;
	for (size_t i = 0; i < SCAN_BLOCK; i++)
		seen |= p[i] == '\n';
	return seen != 0;
}

/* The first LF in [p, end), or end. */
static const unsigned char *
find_lf(const unsigned char *p, const unsigned char *end)
{
	while ((size_t)(end - p) >= SCAN_BLOCK && !block_has_lf(p))
		p += SCAN_BLOCK;
	const unsigned char *lf = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
	return lf ? lf : end;
}

bool
wire_next_line(const unsigned char *data, size_t len, size_t *pos,
               struct wire_line *line_r)
{
	size_t at = *pos;

	if (len == 0) {
		/* An empty message is one empty line; *pos = 1 marks it sent. */
		if (at != 0)
			return false;
		line_r->p = data;
		line_r->len = 0;
		*pos = 1;
		return true;
	}
	if (at >= len)
		return false;

	const unsigned char *start = data + at, *end = data + len;
	const unsigned char *lf = find_lf(start, end);
	size_t n = (size_t)(lf - start);
	line_r->p = start;
	if (lf == end) {
		line_r->len = n;
		*pos = len;
		return true;
	}
	line_r->len = (n > 0 && start[n - 1] == '\r') ? n - 1 : n;
	*pos = at + n + 1;
	return true;
}

/* LFs among the COUNT_BLOCK octets at P, and CRLFs whose CR is among
 * them; P[COUNT_BLOCK] must be readable. */
static void
count_block(const unsigned char *p, uint64_t *lf_r, uint64_t *crlf_r)
{
	unsigned char lf = 0, crlf = 0;
	for (size_t i = 0; i < COUNT_BLOCK; i++) {
		lf += p[i] == '\n';
		crlf += (p[i] == '\r') & (p[i + 1] == '\n');
	}
	*lf_r += lf;
	*crlf_r += crlf;
}

uint64_t
wire_size(const unsigned char *data, size_t len)
{
	if (len == 0)
		return 2;

	/* Every LF becomes CRLF unless a CR already precedes it, and a last
	 * line without LF gains a CRLF: count LFs and CRLFs in one pass. */
	uint64_t lf = 0, crlf = 0;
	size_t i = 0;
	for (; len - i > COUNT_BLOCK; i += COUNT_BLOCK)
		count_block(data + i, &lf, &crlf);
	for (; i < len; i++) {
		lf += data[i] == '\n';
		crlf += data[i] == '\r' && i + 1 < len && data[i + 1] == '\n';
	}
	return len + lf - crlf + (data[len - 1] == '\n' ? 0 : 2);
}

void
wire_out_init(struct wire_out *w, const unsigned char *data, size_t len,
              unsigned flags, uint64_t max_body_lines)
{
	*w = (struct wire_out){
		.data = data,
		.len = len,
		.flags = flags,
		.body_left = max_body_lines,
		.empty_pending = len == 0,
	};
}

void
wire_out_next_piece(struct wire_out *w, const unsigned char *data, size_t len)
{
	w->data = data;
	w->len = len;
	w->pos = 0;
	w->in_line = false;
	w->empty_pending = false; /* only a whole message can be empty */
}

bool
wire_out_limit_reached(const struct wire_out *w)
{
	return w->in_body && w->body_left == 0 && !w->in_line;
}

/* mboxrd: ">*From " is quoted with one more ">", so the quoting can be
 * undone exactly and no line of a message looks like a separator. */
static bool
needs_quote(const unsigned char *p, size_t len)
{
	size_t i = 0;
	while (i < len && p[i] == '>')
		i++;
	return len - i >= 5 && memcmp(p + i, "From ", 5) == 0;
}

/* The octet put before the current line, if any: dot-stuffing looks at
 * the first octet actually sent, so leading NULs do not count when they
 * are left out. */
static unsigned char
line_prefix(const struct wire_out *w)
{
	if (w->content_end == w->pos)
		return 0; /* also keeps the data of an empty message untouched */
	const unsigned char *p = w->data + w->pos, *end = w->data + w->content_end;
	if ((w->flags & WIRE_QUOTE_FROM) && needs_quote(p, (size_t)(end - p)))
		return '>';
	if (!(w->flags & WIRE_DOT_STUFF))
		return 0;
	if (w->flags & WIRE_STRIP_NUL)
		while (p < end && *p == '\0')
			p++;
	return p < end && *p == '.' ? '.' : 0;
}

/* Starts the next line; false when none is left to send (the end of the
 * data, or of the body lines TOP asked for). */
static bool
begin_line(struct wire_out *w)
{
	if (w->pos >= w->len && !w->empty_pending)
		return false;
	if (w->in_body) {
		if (w->body_left == 0)
			return false;
		if (w->body_left != UINT64_MAX) /* UINT64_MAX: no limit */
			w->body_left--;
	}
	size_t clen = 0;
	w->next = w->len;
	if (w->empty_pending) {
		w->empty_pending = false;
	} else {
		const unsigned char *start = w->data + w->pos, *end = w->data + w->len;
		const unsigned char *lf = find_lf(start, end);
		clen = (size_t)(lf - start);
		if (lf < end) {
			w->next = w->pos + clen + 1;
			if (clen > 0 && lf[-1] == '\r')
				clen--;
		}
	}
	w->content_end = w->pos + clen;
	if (clen == 0)
		w->in_body = true;
	w->prefix = line_prefix(w);
	w->crlf_left = 2;
	w->in_line = true;
	return true;
}

/* Copies what fits of the current line's content, NULs left out if so
 * asked. */
static size_t
put_content(struct wire_out *w, unsigned char *out, size_t cap)
{
	size_t left = w->content_end - w->pos, used = 0, n = 0;
	if (left == 0)
		return 0;
	const unsigned char *p = w->data + w->pos;
	while (used < left && n < cap) {
		size_t run = left - used;
		if (w->flags & WIRE_STRIP_NUL) {
			if (p[used] == '\0') {
				used++;
				continue;
			}
			const unsigned char *nul = memchr(p + used, '\0', run);
			if (nul)
				run = (size_t)(nul - (p + used));
		}
		if (run > cap - n)
			run = cap - n;
		memcpy(out + n, p + used, run);
		n += run;
		used += run;
	}
	w->pos += used;
	return n;
}

/* Puts what fits of the current line: prefix, content, CRLF. */
static size_t
put_line(struct wire_out *w, unsigned char *out, size_t cap)
{
	size_t n = 0;
	if (w->prefix) {
		out[n++] = w->prefix;
		w->prefix = 0;
	}
	n += put_content(w, out + n, cap - n);
	if (w->pos < w->content_end)
		return n;
	for (; w->crlf_left > 0 && n < cap; w->crlf_left--)
		out[n++] = w->crlf_left == 2 ? '\r' : '\n';
	if (w->crlf_left == 0) {
		w->pos = w->next;
		w->in_line = false;
	}
	return n;
}

/*
 * The common case of RETR in a tight loop: whole lines that end with a
 * LF and fit in OUT, only dot-stuffing asked, no line count to keep.
 * Stops at anything else (the last line, a line that does not fit, TOP,
 * the other flags) and leaves it to begin_line and put_line.
 */
static size_t
put_plain_lines(struct wire_out *w, unsigned char *out, size_t cap)
{
	if (w->in_line || w->empty_pending || (w->flags & ~WIRE_DOT_STUFF)
	    || w->body_left != UINT64_MAX)
		return 0;
	const unsigned char *d = w->data, *end = d + w->len;
	const unsigned char *p = d + w->pos;
	bool stuff = w->flags & WIRE_DOT_STUFF;
	size_t n = 0;
	while (p < end) {
		const unsigned char *lf = memchr(p, '\n', (size_t)(end - p));
		if (!lf)
			break;
		size_t clen = (size_t)(lf - p);
		if (clen > 0 && lf[-1] == '\r')
			clen--;
		size_t dot = stuff && clen > 0 && *p == '.';
		if (clen + dot + 2 > cap - n)
			break;
		if (clen == 0)
			w->in_body = true;
		out[n] = '.';
		n += dot;
		memcpy(out + n, p, clen);
		n += clen;
		out[n++] = '\r';
		out[n++] = '\n';
		p = lf + 1;
	}
	w->pos = (size_t)(p - d);
	return n;
}

size_t
wire_out_fill(struct wire_out *w, unsigned char *out, size_t cap)
{
	size_t n = put_plain_lines(w, out, cap);
	while (n < cap && (w->in_line || begin_line(w))) {
		n += put_line(w, out + n, cap - n);
		n += put_plain_lines(w, out + n, cap - n);
	}
	return n;
}
