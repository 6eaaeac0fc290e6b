/*
 * The mailbox layer: the only code that touches mail files.
 *
 * A front-end opens a user's maildrop (the default one or a named folder),
 * reads message sizes, unique ids and bytes, marks messages deleted, and
 * finally commits (applies the deletions) or closes (deletes nothing).  It
 * never sees a path, a file descriptor or a lock.
 *
 * Ownership and locking rules, enforced in spool.c, mbox.c and maildir.c:
 *  - an open spool belongs to one session (one process); it is not shared;
 *  - while it is open the session holds an exclusive session lock on the
 *    maildrop, so a second session on the same maildrop gets SPOOL_EINUSE;
 *    the lock is an fcntl lock and dies with the process, so it cannot
 *    outlive its session;
 *  - mbox: the mail-transfer locks (dotlock + fcntl on the mbox, the ones
 *    Postfix local, procmail and mutt use) are held only while the file is
 *    scanned at open and while a commit rewrites it, so deliveries keep
 *    working during a session and are never lost by the commit;
 *  - in a privilege-separated protocol process (src/privsep.h) spool_open
 *    asks the monitor, which holds the maildrop, its lock and its files;
 *    this process keeps only the listing and the marks (remote.h);
 *  - messages are numbered when the spool is opened and never renumbered
 *    until it is closed; mail that arrives later is not shown (RFC 1939 §4).
 *
 * Indexes here are 0-based (idx); the 1-based message numbers of the
 * protocols (msn) are the front-ends' business.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Typed errors; front-ends map them to replies (RFC 3206 codes for POP3). */
enum spool_err {
	SPOOL_OK = 0,
	SPOOL_ENOENT,   /* the named folder does not exist */
	SPOOL_EBADNAME, /* the folder name is refused (path-like, control chars) */
	SPOOL_EINUSE,   /* another session holds this maildrop */
	SPOOL_ETEMP,    /* may succeed later: lock busy, I/O error, disk full */
	SPOOL_EPERM,    /* needs an administrator: not a mailbox, permissions */
	SPOOL_ECHANGED, /* another program rewrote the maildrop during the session */
	SPOOL_EINVAL,   /* bad input (deliver: malformed message) */
};

const char *spool_strerror(enum spool_err e);

/* Where a user's mail lives: the config's templates, %u = the user name. */
struct spool_where {
	const char *mailbox; /* default maildrop: mbox file or Maildir */
	const char *folders; /* directory of named folders, or NULL */
	bool reuse_xuidl;    /* mbox: take an X-UIDL: header as the unique id */
	size_t max_messages; /* messages a session sees at most; 0: no limit */
	uint64_t max_octets; /* octets a session sees at most; 0: no limit */
};

struct spool;

/*
 * Opens USER's maildrop: FOLDER NULL (or "INBOX" in any case, or the user's
 * own name) is the default maildrop, any other name an entry of the folders
 * directory.  Folder names are never paths: "/", "..", NUL and control
 * characters give SPOOL_EBADNAME; a symlink is refused.  A default maildrop
 * that does not exist yet is an empty one.  Takes the session lock.
 */
enum spool_err spool_open(const struct spool_where *w, const char *user,
                          const char *folder, struct spool **sp_r);

/* Messages as numbered at open, deleted ones included: the oldest ones
 * within the spool_where limits. */
size_t spool_count(const struct spool *sp);

/* Messages the limits keep from this session, and the same as text for
 * a log line: "" when none, else " (N more beyond max_messages or
 * max_maildrop_octets, shown once these are gone)"; valid until the
 * next call. */
size_t spool_hidden(const struct spool *sp);
const char *spool_hidden_note(const struct spool *sp);

/* Octets the message takes on the wire: CRLF line ends, before any
 * dot-stuffing (see wire.h); the same figure for POP1, POP2 and POP3. */
uint64_t spool_size(const struct spool *sp, size_t idx);

/* Unique id: 1..UID_MAX octets in 0x21..0x7E, stable across sessions,
 * unique within the maildrop (RFC 1939 §7 UIDL). */
const char *spool_uid(const struct spool *sp, size_t idx);

/* The Unix "From " separator line of the message without its line end:
 * the stored one for mbox, a synthesized one for Maildir (POP1 needs it). */
const char *spool_envelope(const struct spool *sp, size_t idx);

bool spool_is_deleted(const struct spool *sp, size_t idx);
void spool_set_deleted(struct spool *sp, size_t idx, bool deleted);
void spool_undelete_all(struct spool *sp);

/* Count and wire octets of the messages not marked deleted (STAT). */
size_t spool_live_count(const struct spool *sp);
uint64_t spool_live_size(const struct spool *sp);

/*
 * The stored bytes of message IDX, storage artefacts removed (no mbox
 * "From " line, no separator blank line), line ends as stored (LF or CRLF).
 * Turn them into the wire form with wire.h.  The bytes stay valid until the
 * next spool_read or spool_close on this spool.
 */
enum spool_err spool_read(struct spool *sp, size_t idx,
                          const unsigned char **data_r, size_t *len_r);

/*
 * The same bytes in pieces, so that a large message goes out while the
 * rest is still being read, through one buffer of about SPOOL_PIECE
 * octets instead of one as large as the message.  Each piece is whole
 * stored lines (a line longer than the buffer makes a larger piece), so
 * one wire_out takes them in turn (wire_out_next_piece).
 *
 * spool_stream_next gives the next piece and says in *MORE_R whether
 * another follows; an empty message is one empty piece.  The wire size
 * must still be the one spool_size announced: a message of one piece is
 * checked before it is returned, so none of a changed one need be sent;
 * a longer one is checked by spool_stream_check, which the caller runs
 * once every piece is converted, with the wire octets its wire_out
 * counted (wire_out_octets), before it ends the reply (for a message of
 * one piece the two agree already).  An error after
 * the first piece means the pieces already given belong to a message
 * that changed: the reply must be abandoned.
 * A piece stays valid until the next call on this spool; one stream at
 * a time, ended by spool_stream_end, spool_stream_check, the next begin,
 * or spool_close.
 */
#define SPOOL_PIECE (256u * 1024u)
enum spool_err spool_stream_begin(struct spool *sp, size_t idx);
enum spool_err spool_stream_next(struct spool *sp, const unsigned char **data_r,
                                 size_t *len_r, bool *more_r);
void spool_stream_end(struct spool *sp);

/*
 * spool_stream_next for a caller that sends the pieces with a wire_out
 * (spool/wire.h): the first piece starts W with FLAGS and
 * MAX_BODY_LINES, every later one goes on in it (FLAGS and
 * MAX_BODY_LINES are then not looked at).
 */
struct wire_out;
enum spool_err spool_stream_wire(struct spool *sp, struct wire_out *w,
                                 unsigned flags, uint64_t max_body_lines,
                                 bool *more_r);

/*
 * After every piece has been read and converted: SPOOL_OK if WIRE, the
 * wire octets of all of them, is the size spool_size announced, else
 * SPOOL_ECHANGED.  Ends the stream either way; SPOOL_EINVAL if pieces
 * are left (TOP, which stops early, has nothing to check).
 */
enum spool_err spool_stream_check(struct spool *sp, uint64_t wire);

/*
 * For the privilege-separation monitor, which hands messages to another
 * process: where spool_read's bytes of IDX lie, as one range of a file.
 * *FD_R is a fresh descriptor (close it); whoever reads the range must
 * check that its wire size is spool_size, as spool_read does.
 * SPOOL_EINVAL when the storage cannot say (then use spool_read).
 */
enum spool_err spool_locate(struct spool *sp, size_t idx, int *fd_r,
                            uint64_t *off_r, uint64_t *len_r);

/*
 * Removes the messages marked deleted, then closes the spool (always, even
 * on error).  Never loses an unmarked message: a crash at any instant
 * leaves the old or the new maildrop.  Returns SPOOL_OK if every marked
 * message is gone.
 */
enum spool_err spool_commit(struct spool *sp);

/* Closes without deleting anything; releases the session lock. */
void spool_close(struct spool *sp);

/*
 * Appends one message to USER's default maildrop under the same locks a
 * session and the MTAs use; a reader never sees it half-written.  MSG is
 * the RFC 5322 message, optionally preceded by an mbox "From " line, which
 * is then used as the envelope; SENDER (may be NULL) names the envelope
 * sender otherwise.  SPOOL_EINVAL for empty or malformed input.
 */
enum spool_err spool_deliver(const struct spool_where *w, const char *user,
                             const char *sender,
                             const unsigned char *msg, size_t len);

/*
 * Appends MSG exactly as given (any octets, LEN > 0, no header check) to
 * the mbox file or Maildir PATH, with spool_deliver's locks, quoting and
 * durability: for postoffice fetch, whose messages come from another
 * server and need not look like RFC 5322.  ENVELOPE is the mbox "From "
 * line without its line end, or NULL for one naming MAILER-DAEMON and
 * the time now; a Maildir has no place for it.  A missing mbox is
 * created, a missing Maildir too (with tmp/, new/ and cur/); a PATH of
 * the other kind is SPOOL_EPERM.
 */
enum spool_err spool_append(const char *path, bool maildir,
                            const char *envelope,
                            const unsigned char *msg, size_t len);

/* Expands TEMPLATE's %u with USER into BUF; false if it does not fit or
 * USER could escape the template (contains "/" or is "." or ".."). */
bool spool_expand(const char *template, const char *user, char *buf,
                  size_t bufsz);

#endif
