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
 */
#ifndef LOCK_H
#define LOCK_H

#include <stdbool.h>

#include "spool.h"

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

/* Drops the fcntl lock and removes the dotlock; l->fd stays open and is
 * the caller's to keep or close. */
void lock_mta_release(struct lock_mta *l);

#endif
