/* libFuzzer: any bytes as a stored message, sent in pieces the way RETR,
 * TOP, POP2 RETR and POP1 RCEV send it (spool/wire.h).  What wire_out
 * produces, at any output size and cut into stored pieces at any LF, must
 * be what a plain line-by-line reference makes, and its count of wire
 * octets must be wire_size. */
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "../unit/wire_reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The end of the next stored piece from AT: after a LF at least STEP
 * octets on, or the end. */
static size_t
piece_end(const unsigned char *d, size_t len, size_t at, size_t step)
{
	size_t e = at + step < len ? at + step : len;
	while (e < len && d[e - 1] != '\n')
		e++;
	return e;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	unsigned flags = data[0] & 7;
	size_t cap = (size_t)data[1] % 64 + 1;
	if (data[1] & 0x80)
		cap = 4096;
	uint64_t max_body = (data[2] & 0x80) ? UINT64_MAX : (uint64_t)(data[2] & 7);
	size_t step = (size_t)(data[2] & 0x78) + 1;
	const unsigned char *d = data + 3;
	size_t len = size - 3;

	unsigned char *want = malloc(3 * len + 8), *got = malloc(3 * len + 8 + 4096);
	if (!want || !got)
		abort();
	size_t n = reference(d, len, flags, max_body, want), m = 0, k;
	struct wire_out w;
	size_t at = 0, end = piece_end(d, len, 0, step);
	wire_out_init(&w, d, end, flags, max_body);
	for (;;) {
		while ((k = wire_out_fill(&w, got + m, cap)) > 0) {
			if (k > cap)
				abort();
			m += k;
		}
		if (end == len || wire_out_limit_reached(&w))
			break;
		at = end;
		end = piece_end(d, len, at, step);
		wire_out_next_piece(&w, d + at, end - at);
	}
	if (m != n || memcmp(got, want, n) != 0)
		abort();
	if (max_body == UINT64_MAX && wire_out_octets(&w) != wire_size(d, len))
		abort();
	free(want);
	free(got);
	return 0;
}
