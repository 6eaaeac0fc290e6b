/*
 * The locks of the mailbox layer.
 *
 * Two kinds, with different lifetimes:
 *
 *  - the SESSION lock: an fcntl write lock on a sidecar file
 *    (<mbox>.pop-lock, or <maildir>/postoffice.lock), taken without waiting
 *    at spool_open and held until the spool is closed.  A second session
 *    on the same maildrop gets SPOOL_EINUSE at once.  fcntl locks vanish
 *    with the process, so a crashed session never leaves it behind; for
 *    the same reason the sidecar is never unlinked: a session that opened
 *    the old inode and one that created a new one would both "hold" it.
 *    fcntl locks never conflict within one process, and closing ANY
 *    descriptor of a file drops the process's locks on it, so a
 *    per-process registry of held sidecars (dev/ino) refuses a second
 *    session in the same process before the sidecar is even opened.  The
 *    server runs one session per forked process; a fork inherits the
 *    registry but not the locks, so fork only while holding none.
 *
 *  - the MTA locks of an mbox: the dotlock <mbox>.lock and an fcntl write
 *    lock on the mbox itself, the pair Postfix local, procmail and mutt
 *    use.  Held only while the mbox is scanned at open, rewritten at
 *    commit, or appended to by deliver, so deliveries go on during a
 *    session.  Busy after LOCK_TRIES x LOCK_RETRY_MS -> SPOOL_ETEMP.
 *
 * Lock order: session lock, then dotlock, then open the mbox, then fcntl
 * on it, then check that the path still names the inode we locked (a
 * rewriter may have renamed a new file over it while we waited) and
 * reopen if not.  The session lock comes first because it never waits;
 * the dotlock before the fcntl lock as Postfix local and procmail do.
 * mutt takes fcntl first, then the dotlock; the inversion cannot
 * deadlock because every side gives up after bounded retries.
 *
 * While the fcntl lock on the mbox is held, no other descriptor of the
 * mbox may be opened and closed by this process: the close would drop it.
 *
 * A deliverer that dies in the middle of an append (SIGKILL, a crash)
 * cannot cut its partial message back.  So before its first write it
 * records in its dotlock what it is about to do: "PID\nappend DEV INO
 * FROM TO\n", the mbox inode, its size before the append and after it.
 * The next taker of the MTA locks that breaks that dotlock because the
 * pid is provably dead (not merely old: a hung owner may still write)
 * truncates the mbox back to FROM if it is still that inode and its size
 * lies strictly between FROM and TO.  No program that honours either lock
 * can have written in between: the dead process held the fcntl lock until
 * it died and its dotlock until we broke it.
 */
#ifndef LOCK_H
#define LOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "spool.h"

/* Longest dotlock text we write or read: a pid and the append record. */
#define LOCK_TEXT_MAX 128

/* A dead deliverer's recorded append (see above). */
struct lock_append {
	bool valid;
	dev_t dev;
	ino_t ino;
	off_t from, to;
};

struct lock_session;

/* Takes the session lock on SIDECAR (created 0600 if missing). */
enum spool_err lock_session_take(const char *sidecar,
                                 struct lock_session **ls_r);
void lock_session_release(struct lock_session *ls);

struct lock_mta {
	int fd;        /* the mbox, O_RDWR, fcntl-locked while held */
	char *dotlock; /* our <mbox>.lock, removed at release */
};

/*
 * Takes the MTA locks of the mbox PATH in the order above and opens it;
 * CREATE makes a missing mbox (mode 0600).  SPOOL_ENOENT if it is missing
 * and CREATE is false.
 */
enum spool_err lock_mta_take(const char *path, bool create,
                             struct lock_mta *l_r);

/* Records in our dotlock that we append to l->fd from offset FROM to TO,
 * before the first write of the append. */
enum spool_err lock_mta_note_append(const struct lock_mta *l, uint64_t from,
                                    uint64_t to);

/* Drops the fcntl lock and removes the dotlock; l->fd stays open and is
 * the caller's to keep or close. */
void lock_mta_release(struct lock_mta *l);

#endif
