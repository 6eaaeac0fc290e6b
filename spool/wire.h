/*
 * The transmitted form of a message, shared by every protocol so that one
 * size is true for all of them (RFC 1939 §11, RFC 937 p.5 Message Length,
 * PROTOCOLS.md §6):
 *
 *  - the stored bytes are split into lines at LF; a CR right before the LF
 *    belongs to the line end; any other CR is data;
 *  - every line is sent as its content followed by CRLF, so a last line
 *    without a line end gets one;
 *  - a message with no bytes at all is sent as one empty line (CRLF): POP2
 *    must never announce an existing message as =0 (PROTOCOLS.md §2.6).
 *
 * The size is the octet count of that form; POP3 dot-stuffing is added on
 * the wire and never counted.  Pure functions: no I/O.
 */
#ifndef WIRE_H
#define WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wire_line {
	const unsigned char *p; /* content, without its line end */
	size_t len;
};

/* Octets of the transmitted form of DATA. */
uint64_t wire_size(const unsigned char *data, size_t len);

/* Octets up to and including the last LF of DATA, or 0: its whole
 * lines.  Scans from the end, so it is quick when DATA ends with one. */
size_t wire_whole_lines(const unsigned char *data, size_t len);

/*
 * Iterates over the lines of the transmitted form.  Start with *pos = 0;
 * each call stores the next line in *line_r and returns true, or returns
 * false when there are no more.  Empty data yields exactly one empty line.
 */
bool wire_next_line(const unsigned char *data, size_t len, size_t *pos,
                    struct wire_line *line_r);

/*
 * Producing the transmitted form, with what a protocol adds on the wire,
 * in pieces of any size: straight into an output buffer, with no call per
 * line, so a large RETR costs little more than copying it.
 */
enum wire_flags {
	WIRE_DOT_STUFF  = 1 << 0, /* a line whose first octet sent is "."
	                           * gets one more (RFC 1939 §3) */
	WIRE_STRIP_NUL  = 1 << 1, /* NUL octets are left out */
	WIRE_QUOTE_FROM = 1 << 2, /* a line matching ">*From " gets one more
	                           * ">" in front (mboxrd) */
};

struct wire_out {
	const unsigned char *data;
	size_t len;
	size_t pos;          /* the next stored octet to send */
	unsigned flags;
	uint64_t body_left;  /* body lines still allowed (TOP n) */
	bool in_body;        /* past the empty line that ends the header */
	bool empty_pending;  /* empty data: its one empty line is not sent */
	/* The line being sent, if in_line: */
	bool in_line;
	unsigned char prefix; /* 0, or the "." or ">" still to send */
	unsigned crlf_left;  /* octets of its CRLF still to send */
	size_t content_end;  /* its content is data[pos, content_end) */
	size_t next;         /* where the next line starts */
	size_t whole_end;    /* just past the last LF of data (0: none) */
	uint64_t octets;     /* wire_out_octets */
};

/*
 * Prepares to send DATA with FLAGS (enum wire_flags), the header whole and
 * at most MAX_BODY_LINES lines after it (UINT64_MAX: all of it).
 */
void wire_out_init(struct wire_out *w, const unsigned char *data, size_t len,
                   unsigned flags, uint64_t max_body_lines);

/*
 * Puts the next octets of the sent form into OUT, at most CAP of them, and
 * returns how many; a line may be cut anywhere and goes on in the next
 * call.  Returns 0 only when everything has been produced (or CAP is 0).
 */
size_t wire_out_fill(struct wire_out *w, unsigned char *out, size_t cap);

/*
 * Goes on with the next piece of the same message (spool_stream_next):
 * DATA must start a line and every piece but the last must end with a LF,
 * so that no line is split between pieces.  Whether the header is over
 * and how many body lines TOP still allows carry over.
 */
void wire_out_next_piece(struct wire_out *w, const unsigned char *data,
                         size_t len);

/* True once TOP's body lines are all produced: later pieces of the
 * message would add nothing, so they need not be read. */
bool wire_out_limit_reached(const struct wire_out *w);

/*
 * Octets of the transmitted form (wire_size's measure: no "." or ">"
 * added, NULs counted even when left out) of the lines produced so far,
 * across pieces.  Once a message is produced whole it is wire_size of
 * its bytes, counted while converting them instead of in a pass of its
 * own (spool_stream_check).
 */
uint64_t wire_out_octets(const struct wire_out *w);

#endif
