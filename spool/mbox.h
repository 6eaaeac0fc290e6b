/*
 * Berkeley mbox, shared between the backend (mbox.c) and its scanner
 * (mbox_scan.c).  The format, as we read it:
 *
 *  - a message starts with a line beginning "From " at offset 0 or right
 *    after an empty line ("\n" or "\r\n"); that line is its envelope;
 *  - its content runs to the empty line before the next "From " line (or
 *    to the end of the scanned part); that one empty line is the
 *    separator and not content, and neither is one empty last line;
 *  - ">From " lines are content and passed through unchanged: mboxo and
 *    mboxrd cannot be told apart, so we never unquote;
 *  - a file whose first line is not a "From " line is not an mbox we can
 *    number reliably: SPOOL_EPERM.  An empty file has no messages.
 */
#ifndef MBOX_H
#define MBOX_H

#include "backend.h"

/*
 * Fills sp->msgs from the first sp->scanned octets of FD and stores the
 * MD5 of those octets in sp->digest.  The caller holds the MTA locks.
 */
enum spool_err mbox_scan(struct spool *sp, int fd);

/* MD5 of the first LEN octets of FD. */
enum spool_err mbox_digest(int fd, uint64_t len, unsigned char digest[16]);

/* The backend's deliver (mbox_deliver.c): appends under the MTA locks. */
enum spool_err mbox_deliver(const char *path, const char *envelope,
                            const char *sender, const unsigned char *msg,
                            size_t len);

#endif
