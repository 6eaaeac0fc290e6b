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

struct hash64;

/* A point of the file where mbox_digest takes the MD5 of [0, at). */
struct mbox_mark {
	uint64_t at;
	unsigned char digest[16];
	bool done;                /* set when at <= the length digested */
};

/* N octets of D as 2N lower-case hex digits and a NUL, into OUT. */
void mbox_hex(const unsigned char *d, size_t n, char *out);
/* M's base (its computed id) in hex. */
void mbox_base_hex(const struct spool_msg *m, char hex[33]);

/*
 * Appends to sp->msgs the messages of [START, sp->scanned) of FD (each
 * uid the computed one, the hex of base; spool_uids_unique is the
 * caller's).  START is 0 or the offset of a From line that follows an
 * empty line.  H must cover [0, START) or more; it is fed up to N, and
 * *LAST_HASH_R gets its value at the last From line scanned.  The
 * caller holds the MTA locks.
 */
enum spool_err mbox_scan(struct spool *sp, int fd, uint64_t start,
                         struct hash64 *h, uint64_t *last_hash_r);

/* One pass over the first LEN octets of FD: feeds H (if not NULL) the
 * octets it does not cover yet, and takes the MD5 of [0, at) for every
 * mark not beyond LEN.  SPOOL_ECHANGED if the file is shorter. */
enum spool_err mbox_digest(int fd, uint64_t len, struct hash64 *h,
                           struct mbox_mark *marks, size_t nmarks);

/*
 * The scan cache <mbox>.pop-cache (mbox_cache.c): what a scan found in a
 * prefix of the file, reused while that prefix is unchanged.
 * mbox_load fills sp->msgs from FD's first sp->scanned octets, taking
 * the cached messages when the cache's prefix hashes the same and
 * scanning the rest; sp->hash gets the hash64 of [0, N).  SNAP records
 * what mbox_cache_save needs to write a cache that covers more, which
 * it does after the MTA locks are released (the session lock keeps
 * other writers of the cache away).
 */
struct mbox_snap {
	uint64_t covered;         /* prefix of the file the new cache covers */
	uint64_t hash;            /* hash64 of [0, covered) */
	bool save;                /* worth writing */
};

enum spool_err mbox_load(struct spool *sp, int fd, uid_t owner,
                         struct mbox_snap *snap);
void mbox_cache_save(const struct spool *sp, const struct mbox_snap *snap,
                     const struct stat *st);

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

/* After the scan, with MARKS[i] taken at u->sec[i].size by mbox_digest:
 * of the sections that describe a prefix of the file as it is (same
 * MD5), the longest pins the id of each of its entries whose message
 * (the one whose From line is at the entry's offset) still has the
 * entry's base. */
enum spool_err mbox_uidl_apply(struct spool *sp, const struct mbox_uidl *u,
                               const struct mbox_mark *marks);

/* True if some message's id is not its first choice: then a commit must
 * write the sidecar, and needs the MD5 of the old [0, N) for it. */
bool mbox_uidl_wanted(const struct spool *sp);

/* At commit, before the new mbox (SIZE octets, MD5 DIGEST; ST the old
 * file, OLD_DIGEST the MD5 of its first N octets) is renamed into place:
 * writes the suffixed ids of the kept messages at their new offsets, and
 * those of all messages at their old ones, to a temporary file, fsyncs
 * it and renames it over the sidecar; or removes the sidecar when there
 * is nothing to keep. */
enum spool_err mbox_uidl_write(const struct spool *sp, uint64_t size,
                               const unsigned char digest[16],
                               const unsigned char old_digest[16],
                               const struct stat *st);

/* The backend's deliver (mbox_deliver.c): appends under the MTA locks. */
enum spool_err mbox_deliver(const char *path, const char *envelope,
                            const char *sender, const unsigned char *msg,
                            size_t len);

#endif
