/*
 * The sent form of spool/wire.h made the plain way, one line at a time
 * with wire_next_line: what wire_out must produce, for the unit tests
 * (tests/unit/test_wire.c) and the fuzzer (tests/fuzz/fuzz_wire.c).
 * OUT must hold 3 * LEN + 8 octets.
 */
#ifndef WIRE_REFERENCE_H
#define WIRE_REFERENCE_H

#include <stdbool.h>
#include <string.h>

#include "wire.h"

static size_t
reference(const unsigned char *d, size_t len, unsigned flags,
          uint64_t max_body, unsigned char *out)
{
	struct wire_line l;
	size_t pos = 0, n = 0;
	bool in_body = false;
	uint64_t body = 0;
	while (wire_next_line(d, len, &pos, &l)) {
		if (in_body && body++ >= max_body)
			break;
		size_t i = 0, k = 0;
		while (i < l.len && l.p[i] == '>')
			i++;
		if ((flags & WIRE_QUOTE_FROM) && l.len - i >= 5 &&
		    memcmp(l.p + i, "From ", 5) == 0)
			out[n++] = '>';
		while ((flags & WIRE_STRIP_NUL) && k < l.len && l.p[k] == '\0')
			k++;
		if ((flags & WIRE_DOT_STUFF) && k < l.len && l.p[k] == '.')
			out[n++] = '.';
		for (i = 0; i < l.len; i++)
			if (!(flags & WIRE_STRIP_NUL) || l.p[i] != '\0')
				out[n++] = l.p[i];
		out[n++] = '\r';
		out[n++] = '\n';
		if (l.len == 0)
			in_body = true;
	}
	return n;
}

#endif
