/* The transmitted form of a message; the rules are in wire.h. */
#include "wire.h"

#include <string.h>

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

	const unsigned char *start = data + at;
	const unsigned char *lf = memchr(start, '\n', len - at);
	if (lf == NULL) {
		line_r->p = start;
		line_r->len = len - at;
		*pos = len;
		return true;
	}
	size_t n = (size_t)(lf - start);
	line_r->p = start;
	line_r->len = (n > 0 && start[n - 1] == '\r') ? n - 1 : n;
	*pos = at + n + 1;
	return true;
}

uint64_t
wire_size(const unsigned char *data, size_t len)
{
	if (len == 0)
		return 2;

	/* Every LF becomes CRLF unless a CR already precedes it, and a last
	 * line without LF gains a CRLF: count those additions in one pass. */
	uint64_t size = len;
	const unsigned char *p = data, *end = data + len;
	while (p < end) {
		const unsigned char *lf = memchr(p, '\n', (size_t)(end - p));
		if (lf == NULL) {
			size += 2;
			break;
		}
		if (lf == data || lf[-1] != '\r')
			size += 1;
		p = lf + 1;
	}
	return size;
}
