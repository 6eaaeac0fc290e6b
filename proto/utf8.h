/*
 * UTF-8 credentials (RFC 6856 §2.2): well-formedness (RFC 3629) and the
 * parts of SASLprep (RFC 4013) that need no Unicode tables.  What is left
 * out, and why, is in RFC/rfc6856.md.
 */
#ifndef UTF8_H
#define UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 3629 §4: S[0..LEN) is well-formed UTF-8: shortest form only, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF. */
bool utf8_valid(const char *s, size_t len);

/*
 * Partial SASLprep of the NUL-terminated IN into OUT (OUTSZ octets):
 * non-ASCII spaces (RFC 3454 C.1.2) become SPACE, the characters
 * "commonly mapped to nothing" (B.1) are removed, and a string that is
 * not well-formed UTF-8 or holds a prohibited character (C.2 to C.9) is
 * refused.  NFKC, the bidi rule and unassigned code points are not
 * checked.  The output is never longer than the input, so OUT may be IN
 * and OUTSZ = strlen(IN) + 1 always suffices.  False when refused or when
 * OUT is too small; OUT then holds nothing usable.
 */
bool utf8_saslprep(const char *in, char *out, size_t outsz);

/*
 * Prepares a user name or password in place for comparison: well-formed
 * UTF-8 goes through utf8_saslprep (false if refused); anything else is
 * left as it is, because vintage clients send passwords in their own 8-bit
 * character sets (Mac Roman, Latin-1) and those must keep matching the
 * secrets that were stored the same way.
 */
bool utf8_prep_credential(char *s);

#endif
