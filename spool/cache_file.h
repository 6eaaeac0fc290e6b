/*
 * The small files the mailbox layer keeps beside a maildrop: the size
 * cache of a Maildir (maildir_cache.c), the scan cache of an mbox
 * (mbox_cache.c) and the mbox id sidecar (mbox_uidl.c).
 *
 * Trust: such a file is read only if it is a regular file (never through
 * a symlink), written by us or by the maildrop's owner (mail directories
 * are often writable by others: /var/mail is 1777 or group mail), and not
 * bigger than a bound.  Its contents are then still checked by the
 * caller, entry by entry, against the maildrop.
 *
 * The caches are text, one entry a line, and end with a trailer line
 * "end HASH\n", HASH the hash64 of everything before it in 16 lower-case
 * hex digits, so that a torn or truncated file (caches are not fsync'ed:
 * a crash may leave one half-written) or garbage is recognised and
 * ignored as a whole.  They are read and written through fixed buffers,
 * never held whole in memory: on a large maildrop they are megabytes,
 * and fresh memory is what a session pays most for after the file
 * system calls.
 */
#ifndef CACHE_FILE_H
#define CACHE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "hash64.h"
#include "spool.h"

/* Longest cache line read or written (an mbox envelope is one line). */
#define CACHE_LINE_MAX (64 * 1024)

/* A cache read line by line. */
struct cache_reader {
	int fd;
	uint64_t size;            /* of the file, fixed at open */
	uint64_t base;            /* file offset of buf[0] */
	char *buf;
	size_t len, pos;
	struct hash64 hash;       /* of the lines returned so far */
	bool done;                /* the trailer was read and matched */
};

/* Opens the cache PATH if it passes the trust checks above (written by
 * OWNER or by us, at most MAX octets); false otherwise. */
bool cache_reader_open(struct cache_reader *r, const char *path, uid_t owner,
                       uint64_t max);
/* The next line, its LF replaced by NUL, *LEN_R its length; NULL at the
 * trailer, at the end, or at anything wrong (a line too long, a read
 * error).  The line stays valid until the next call. */
char *cache_reader_line(struct cache_reader *r, size_t *len_r);
void cache_reader_close(struct cache_reader *r);

/* A cache being written: to PATH-new, renamed over PATH when complete.
 * Once anything failed, nothing more is written and nothing renamed. */
struct cache_writer {
	int fd;
	char *tmp, *path;
	char *buf;
	size_t len;
	struct hash64 hash;
	bool failed;
};

/* Starts PATH-new (O_EXCL, after unlinking a leftover of a crashed
 * writer: the caller holds the lock that makes it the only writer).
 * Close W in any case; after a failure here the rest does nothing. */
bool cache_writer_open(struct cache_writer *w, const char *path);
void cache_writer_add(struct cache_writer *w, const void *p, size_t n);
void cache_writer_str(struct cache_writer *w, const char *s);
/* V in decimal, then the octet SEP. */
void cache_writer_num(struct cache_writer *w, uint64_t v, char sep);
/* V in 16 lower-case hex digits, then SEP. */
void cache_writer_hex64(struct cache_writer *w, uint64_t v, char sep);
/* With COMMIT, adds the trailer and puts the file in place with ST's
 * mode (masked to 0660) and, as root, ST's owner, not durably; without,
 * or after a failure, removes it.  A cache is never required: failures
 * are silent. */
void cache_writer_close(struct cache_writer *w, bool commit,
                        const struct stat *st);

/* PATH's contents whole, NUL-terminated, if it passes the trust checks
 * (the id sidecar, a few KiB, has no trailer); NULL otherwise. */
char *cache_file_slurp(const char *path, uid_t owner, size_t max,
                       size_t *len_r);

/* Writes P[0, LEN) to TMP (O_EXCL after unlinking a leftover), with ST's
 * mode and owner as above, fsyncs it if DURABLE, renames it over PATH;
 * nothing of TMP is left behind on failure. */
enum spool_err cache_file_put(const char *tmp, const char *path,
                              const void *p, size_t len,
                              const struct stat *st, bool durable);

/* A decimal number without sign or superfluous leading zero, then SEP;
 * advances *P past SEP. */
bool cache_parse_num(const char **p, const char *end, char sep, uint64_t *v_r);
/* 16 lower-case hex digits, then SEP. */
bool cache_parse_hex64(const char **p, const char *end, char sep,
                       uint64_t *v_r);

#endif
