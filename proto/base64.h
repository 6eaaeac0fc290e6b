/*
 * Base64 (RFC 4648 §4) as SASL uses it on the POP3 wire (RFC 5034 §4):
 * the standard alphabet, '=' padding, no line breaks.  Decoding is strict:
 * any character outside the alphabet, a length that is not a multiple of
 * four, or a '=' anywhere but the last one or two places is refused, so a
 * malformed client line gets -ERR instead of a guess.
 */
#ifndef BASE64_H
#define BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Octets needed to encode LEN octets, NUL included. */
#define BASE64_ENCODED_SIZE(len) ((((len) + 2) / 3) * 4 + 1)

/* Encodes LEN octets of DATA into OUT (BASE64_ENCODED_SIZE(len) octets),
 * NUL-terminated; returns the encoded length. */
size_t base64_encode(const void *data, size_t len, char *out);

/*
 * Decodes the NUL-terminated TEXT into OUT (at most CAP octets; the
 * decoded form is never longer than 3/4 of TEXT).  Returns false if TEXT
 * is not strict base64 or does not fit; *len_r gets the decoded length.
 * The empty string decodes to zero octets.
 */
bool base64_decode(const char *text, unsigned char *out, size_t cap,
                   size_t *len_r);

#endif
