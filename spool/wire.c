/* The transmitted form of a message; the rules are in wire.h. */
#include "wire.h"

#include <string.h>

/*
 * RETR's copy (put_plain_lines) looks for the LF while it copies, 16
 * octets at a time: with SSE2, which every x86-64 has, one compare finds
 * a LF among sixteen; elsewhere, and with WIRE_PORTABLE (the unit tests
 * build that way too, so both are tested), a 64-bit word tells whether
 * any of its eight octets is a LF.  Compiler headers, not a library.
 */
#if defined(__SSE2__) && !defined(WIRE_PORTABLE)
#include <emmintrin.h>
#define WIRE_SSE2 1
#endif

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

size_t
wire_whole_lines(const unsigned char *data, size_t len)
{
	while (len > 0 && data[len - 1] != '\n')
		len--;
	return len;
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
		.whole_end = wire_whole_lines(data, len),
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
	w->whole_end = wire_whole_lines(data, len);
}

bool
wire_out_limit_reached(const struct wire_out *w)
{
	return w->in_body && w->body_left == 0 && !w->in_line;
}

uint64_t
wire_out_octets(const struct wire_out *w)
{
	return w->octets;
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
	w->octets += clen + 2;
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

/* Where the LF among the 16 octets at P is (they have been copied to
 * OUT), or 16 if there is none. */
static unsigned
copy16_find_lf(const unsigned char *p, unsigned char *out)
{
#ifdef WIRE_SSE2
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	_mm_storeu_si128((__m128i *)(void *)out, v);
	unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
	if (m == 0)
		return 16;
#if defined(__GNUC__)
	return (unsigned)__builtin_ctz(m);
#else
	unsigned k = 0;
	while (!(m & 1u)) {
		m >>= 1;
		k++;
	}
	return k;
#endif
#else
	const uint64_t ones = 0x0101010101010101u, lfs = ones * '\n';
	memcpy(out, p, 16);
	for (unsigned half = 0; half < 16; half += 8) {
		uint64_t x;
		memcpy(&x, p + half, 8);
		x ^= lfs; /* a LF is now a zero octet */
		if ((x - ones) & ~x & (ones << 7))
			return half + (unsigned)((const unsigned char *)
			                         memchr(p + half, '\n', 8) - (p + half));
	}
	return 16;
#endif
}

/*
 * Copies the line at P, up to its LF (END is just past a LF), to OUT and
 * returns how many octets come before the LF; SIZE_MAX, with OUT's
 * contents undefined, when they and a CRLF do not fit in ROOM.
 */
static size_t
copy_to_lf(const unsigned char *p, const unsigned char *end, unsigned char *out,
           size_t room)
{
	size_t k = 0;
	while ((size_t)(end - p) - k >= 16 && room - k >= 18) {
		unsigned at = copy16_find_lf(p + k, out + k);
		if (at < 16)
			return k + at;
		k += 16;
	}
	const unsigned char *lf = memchr(p + k, '\n', (size_t)(end - p) - k);
	size_t total = (size_t)(lf - p);
	if (room < 2 || total > room - 2)
		return SIZE_MAX;
	memcpy(out + k, p + k, total - k);
	return total;
}

/*
 * The common case of RETR in a tight loop: whole lines that end with a
 * LF and fit in OUT, only dot-stuffing asked, no line count to keep.
 * Each line is copied 16 octets at a time while its LF is looked for,
 * and counted for wire_out_octets on the way.  Stops at anything else
 * (the last line without LF, a line that does not fit, TOP, the other
 * flags) and leaves it to begin_line and put_line.
 */
static size_t
put_plain_lines(struct wire_out *w, unsigned char *out, size_t cap)
{
	if (w->in_line || w->empty_pending || (w->flags & ~WIRE_DOT_STUFF)
	    || w->body_left != UINT64_MAX)
		return 0;
	const unsigned char *d = w->data, *end = d + w->whole_end;
	const unsigned char *p = d + w->pos;
	bool stuff = w->flags & WIRE_DOT_STUFF;
	size_t n = 0, dots = 0;
	while (p < end && cap - n >= 3) {
		size_t dot = stuff && *p == '.';
		out[n] = '.'; /* overwritten by the line when there is no dot */
		size_t k = copy_to_lf(p, end, out + n + dot, cap - n - dot);
		if (k == SIZE_MAX)
			break;
		/* A CR before the LF is the line end: CRLF goes over it. */
		size_t clen = k > 0 && p[k - 1] == '\r' ? k - 1 : k;
		unsigned char *e = out + n + dot + clen;
		e[0] = '\r';
		e[1] = '\n';
		n += dot + clen + 2;
		dots += dot;
		p += k + 1;
	}
	w->pos = (size_t)(p - d);
	w->octets += n - dots;
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
