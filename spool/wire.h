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

/*
 * Iterates over the lines of the transmitted form.  Start with *pos = 0;
 * each call stores the next line in *line_r and returns true, or returns
 * false when there are no more.  Empty data yields exactly one empty line.
 */
bool wire_next_line(const unsigned char *data, size_t len, size_t *pos,
                    struct wire_line *line_r);

#endif
