/*
 * Strict parsing of the numbers clients send (message numbers, line
 * counts): decimal digits only, no sign, no blanks, no overflow, so
 * "LIST 4294967297" can never mean LIST 1 and "RETR -1" is refused.
 */
#ifndef MSGNUM_H
#define MSGNUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses S; values past UINT64_MAX saturate to UINT64_MAX ("as many as
 * there are", for TOP's line count).  False if S is not all digits. */
bool msgnum_parse(const char *s, uint64_t *v_r);

/* A 1-based message number in 1..COUNT turned into a 0-based index. */
bool msgnum_index(const char *s, size_t count, size_t *idx_r);

#endif
