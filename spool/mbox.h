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

#include <sys/stat.h>

#include "backend.h"

/* A point of the file where the scan also takes the MD5 of [0, at). */
struct mbox_mark {
	uint64_t at;
	unsigned char digest[16];
	bool done;                /* set when at <= N */
};

/*
 * Fills sp->msgs from the first sp->scanned octets of FD (each uid the
 * computed one, also kept in base; spool_uids_unique is the caller's) and
 * stores the MD5 of those octets in sp->digest, and that of [0, at) in
 * every mark that is not beyond them.  The caller holds the MTA locks.
 */
enum spool_err mbox_scan(struct spool *sp, int fd, struct mbox_mark *marks,
                         size_t nmarks);

/* MD5 of the first LEN octets of FD. */
enum spool_err mbox_digest(int fd, uint64_t len, unsigned char digest[16]);

/*
 * The id sidecar <mbox>.pop-uidl (mbox_uidl.c): ids of identical messages
 * kept across the commit that rewrites the mbox.  Only a hint, checked
 * entry by entry; the format is described there.
 */
#define MBOX_UIDL_MAX (4 * 1024 * 1024) /* octets read or written at most */
#define MBOX_UIDL_SECTIONS 2            /* the new file's, the old one's */

struct mbox_uidl {
	struct mbox_uidl_sec {
		uint64_t size;            /* the mbox prefix it describes */
		unsigned char digest[16]; /* MD5 of that prefix */
		size_t first, n;          /* its entries */
	} sec[MBOX_UIDL_SECTIONS];
	size_t nsec, n;
	struct mbox_uidl_entry {
		uint64_t off;             /* the From line's offset */
		char *base;               /* hex MD5 of From line and header */
		char *uid;                /* the id the message had */
	} *e;                             /* ascending offsets per section */
	char *text;                       /* the file; base, uid point in it */
};

/* The sidecar of the mbox PATH, if it is a well-formed regular file
 * written by us or by the mbox's OWNER; NULL otherwise (missing,
 * unreadable, foreign, too big, malformed, out of memory). */
struct mbox_uidl *mbox_uidl_read(const char *path, uid_t owner);
void mbox_uidl_free(struct mbox_uidl *u);

/* After the scan, with MARKS[i] taken at u->sec[i].size: of the sections
 * that describe a prefix of the file as it is (same MD5), the longest
 * pins the id of each of its entries whose message (the one whose From
 * line is at the entry's offset) still has the entry's base. */
enum spool_err mbox_uidl_apply(struct spool *sp, const struct mbox_uidl *u,
                               const struct mbox_mark *marks);

/* At commit, before the new mbox (SIZE octets, MD5 DIGEST; ST the old
 * file) is renamed into place: writes the suffixed ids of the kept
 * messages at their new offsets, and those of all messages at their old
 * ones, to a temporary file, fsyncs it and renames it over the sidecar;
 * or removes the sidecar when there is nothing to keep. */
enum spool_err mbox_uidl_write(const struct spool *sp, uint64_t size,
                               const unsigned char digest[16],
                               const struct stat *st);

/* The backend's deliver (mbox_deliver.c): appends under the MTA locks. */
enum spool_err mbox_deliver(const char *path, const char *envelope,
                            const char *sender, const unsigned char *msg,
                            size_t len);

#endif
