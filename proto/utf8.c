/*
 * UTF-8 checks for credentials.  SASLprep proper (RFC 4013) is a
 * stringprep profile (RFC 3454) whose NFKC step needs the Unicode
 * decomposition tables; without them we do the mapping and prohibition
 * steps, whose tables are short enough to list here.
 */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

/* Decodes one character at S (N octets left); its length, or 0 if the
 * octets there are not well-formed UTF-8 (RFC 3629 §4 table). */
static size_t
decode(const unsigned char *s, size_t n, uint32_t *cp_r)
{
	size_t len;
	uint32_t cp, min;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, cp = s[0] & 0x1fu, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3, cp = s[0] & 0x0fu, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, cp = s[0] & 0x07u, min = 0x10000;
	} else {
		return 0;  /* a continuation octet, C0/C1 (overlong) or F5..FF */
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return len;
}

bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t cp;

	for (size_t i = 0; i < len;) {
		size_t n = decode(u + i, len - i, &cp);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

struct range {
	uint32_t lo, hi;
};

static bool
in(const struct range *r, size_t n, uint32_t cp)
{
	for (size_t i = 0; i < n; i++)
		if (cp >= r[i].lo && cp <= r[i].hi)
			return true;
	return false;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 3454 C.1.2: non-ASCII space characters, mapped to SPACE (RFC 4013
 * §2.1).  U+200B is also in B.1; RFC 4013 lists this mapping first. */
static const struct range spaces[] = {
	{ 0x00a0, 0x00a0 }, { 0x1680, 0x1680 }, { 0x2000, 0x200b },
	{ 0x202f, 0x202f }, { 0x205f, 0x205f }, { 0x3000, 0x3000 },
};

/* RFC 3454 B.1: commonly mapped to nothing (RFC 4013 §2.1). */
static const struct range nothing[] = {
	{ 0x00ad, 0x00ad }, { 0x034f, 0x034f }, { 0x1806, 0x1806 },
	{ 0x180b, 0x180d }, { 0x200b, 0x200d }, { 0x2060, 0x2060 },
	{ 0xfe00, 0xfe0f }, { 0xfeff, 0xfeff },
};

/* RFC 4013 §2.3: RFC 3454 C.2.1 to C.9.  C.1.2 is mapped away above;
 * C.4's non-characters U+nFFFE/U+nFFFF and C.5's surrogates are tested
 * in prohibited(). */
static const struct range banned[] = {
	{ 0x0000, 0x001f }, { 0x007f, 0x009f },                 /* C.2.1, C.2.2 */
	{ 0x0340, 0x0341 },                                     /* C.8 */
	{ 0x06dd, 0x06dd }, { 0x070f, 0x070f }, { 0x180e, 0x180e },
	{ 0x200c, 0x200f },                                     /* C.2.2, C.8 */
	{ 0x2028, 0x202e },                                     /* C.2.2, C.8 */
	{ 0x2060, 0x2063 }, { 0x206a, 0x206f },                 /* C.2.2, C.8 */
	{ 0x2ff0, 0x2ffb },                                     /* C.7 */
	{ 0xe000, 0xf8ff },                                     /* C.3 */
	{ 0xfdd0, 0xfdef },                                     /* C.4 */
	{ 0xfeff, 0xfeff }, { 0xfff9, 0xfffd },                 /* C.2.2, C.6 */
	{ 0x1d173, 0x1d17a },                                   /* C.2.2 */
	{ 0xe0001, 0xe0001 }, { 0xe0020, 0xe007f },             /* C.9 */
	{ 0xf0000, 0xffffd }, { 0x100000, 0x10fffd },           /* C.3 */
};

static bool
prohibited(uint32_t cp)
{
	if ((cp & 0xfffe) == 0xfffe)                            /* C.4 */
		return true;
	if (cp >= 0xd800 && cp <= 0xdfff)                       /* C.5 */
		return true;
	return in(banned, N(banned), cp);
}

bool
utf8_saslprep(const char *in_s, char *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)in_s;
	size_t len = strlen(in_s), o = 0;
	uint32_t cp;

	for (size_t i = 0; i < len;) {
		size_t n = decode(s + i, len - i, &cp);
		if (n == 0)
			return false;
		if (in(spaces, N(spaces), cp)) {
			/* Never longer: SPACE is 1 octet, the source 2 or 3. */
			if (o + 1 >= outsz)
				return false;
			out[o++] = ' ';
		} else if (!in(nothing, N(nothing), cp)) {
			if (prohibited(cp) || o + n >= outsz)
				return false;
			memmove(out + o, s + i, n);
			o += n;
		}
		i += n;
	}
	if (o >= outsz)
		return false;
	out[o] = '\0';
	return true;
}

bool
utf8_prep_credential(char *s)
{
	size_t len = strlen(s);
	if (!utf8_valid(s, len))
		return true;
	return utf8_saslprep(s, s, len + 1);
}
