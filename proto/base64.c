/* Strict base64 for SASL exchanges (RFC 4648 §4, RFC 5034 §4). */
#include "base64.h"

#include <string.h>

static const char base64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encode(const void *data, size_t len, char *out)
{
	const unsigned char *in = data;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = base64_alphabet[(v >> 18) & 63];
		out[o++] = base64_alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? base64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? base64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

/* Value of one alphabet character, or -1. */
static int
value(char c)
{
	const char *hit = c ? strchr(base64_alphabet, c) : NULL;
	return hit ? (int)(hit - base64_alphabet) : -1;
}

bool
base64_decode(const char *text, unsigned char *out, size_t cap, size_t *len_r)
{
	size_t n = strlen(text), o = 0;
	if (n % 4 != 0)
		return false;
	for (size_t i = 0; i < n; i += 4) {
		bool last = i + 4 == n;
		/* Padding only at the very end: "xx==" or "xxx=". */
		int pad = 0;
		if (last && text[i + 3] == '=')
			pad = text[i + 2] == '=' ? 2 : 1;
		unsigned v = 0;
		for (int k = 0; k < 4; k++) {
			int d = k >= 4 - pad ? 0 : value(text[i + k]);
			if (d < 0)
				return false;
			v = v << 6 | (unsigned)d;
		}
		size_t take = 3 - (size_t)pad;
		if (o + take > cap)
			return false;
		out[o++] = (unsigned char)(v >> 16);
		if (take > 1)
			out[o++] = (unsigned char)(v >> 8);
		if (take > 2)
			out[o++] = (unsigned char)v;
	}
	*len_r = o;
	return true;
}
