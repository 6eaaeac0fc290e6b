/* The session lock and the MTA locks; the rules and the order are in lock.h. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "params.h"

struct lock_session {
	int fd;
	dev_t dev;
	ino_t ino;
	struct lock_session *next;
};

/* Sidecars this process holds (see lock.h: why a registry is needed). */
static struct lock_session *lock_held;

static void
lock_sleep(void)
{
	struct timespec ts = {
		.tv_sec = LOCK_RETRY_MS / 1000,
		.tv_nsec = (long)(LOCK_RETRY_MS % 1000) * 1000000L,
	};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static bool
lock_is_held(dev_t dev, ino_t ino)
{
	for (const struct lock_session *l = lock_held; l; l = l->next)
		if (l->dev == dev && l->ino == ino)
			return true;
	return false;
}

enum spool_err
lock_session_take(const char *sidecar, struct lock_session **ls_r)
{
	struct stat st;

	/* Checked before opening: closing a descriptor of a sidecar we hold
	 * would silently drop that session's lock. */
	if (lstat(sidecar, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			return SPOOL_EPERM;
		if (lock_is_held(st.st_dev, st.st_ino))
			return SPOOL_EINUSE;
	} else if (errno != ENOENT) {
		return spool_from_errno(errno);
	}

	int fd = open(sidecar, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return spool_from_errno(errno);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return SPOOL_EPERM;
	}
	if (lock_is_held(st.st_dev, st.st_ino))
		return SPOOL_EINUSE; /* renamed under us: leak fd, keep the lock */

	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	while (fcntl(fd, F_SETLK, &fl) == -1) {
		int err = errno;
		if (err == EINTR)
			continue;
		close(fd);
		return (err == EAGAIN || err == EACCES) ? SPOOL_EINUSE : SPOOL_ETEMP;
	}

	struct lock_session *ls = malloc(sizeof *ls);
	if (!ls) {
		close(fd);
		return SPOOL_ETEMP;
	}
	*ls = (struct lock_session){ fd, st.st_dev, st.st_ino, lock_held };
	lock_held = ls;
	*ls_r = ls;
	return SPOOL_OK;
}

void
lock_session_release(struct lock_session *ls)
{
	if (!ls)
		return;
	for (struct lock_session **pp = &lock_held; *pp; pp = &(*pp)->next)
		if (*pp == ls) {
			*pp = ls->next;
			break;
		}
	close(ls->fd); /* drops the fcntl lock; the sidecar stays (lock.h) */
	free(ls);
}

/*
 * A dotlock is stale when its owner is provably dead (pid in it, ESRCH) or
 * it is older than DOTLOCK_STALE_SECONDS (an empty lock from Postfix or
 * procmail, a pid on another NFS client, or a hung owner).  Breaking it
 * re-checks the inode first so we do not remove a fresh lock that someone
 * else created after breaking the same stale one; a tiny window remains
 * between that check and unlink(), as in every dotlocking program.
 * Returns true when the caller should try to create it again at once.
 */
static bool
lock_dotlock_break_stale(const char *lockpath)
{
	int fd = open(lockpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	struct stat st;
	char text[32];
	ssize_t n = -1;
	if (fstat(fd, &st) == 0)
		n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n < 0)
		return false;
	text[n] = '\0';

	long pid = strtol(text, NULL, 10);
	bool dead = pid > 0 && kill((pid_t)pid, 0) == -1 && errno == ESRCH;
	bool old = time(NULL) - st.st_mtime > DOTLOCK_STALE_SECONDS;
	if (!dead && !old)
		return false;

	struct stat now;
	if (lstat(lockpath, &now) == 0 && now.st_dev == st.st_dev &&
	    now.st_ino == st.st_ino)
		unlink(lockpath);
	return true;
}

/*
 * Creates LOCKPATH holding our pid, the NFS-safe way: write a unique
 * temporary file, then link() it to the lock name, so the lock never
 * exists without its pid (a deliverer killed half-way leaves a lock that
 * can be proven stale) and link's atomicity decides who wins.
 */
static enum spool_err
lock_dotlock_create(const char *lockpath)
{
	size_t tmplen = strlen(lockpath) + 32;
	char *tmp = malloc(tmplen);
	if (!tmp)
		return SPOOL_ETEMP;
	snprintf(tmp, tmplen, "%s.%ld", lockpath, (long)getpid());
	unlink(tmp); /* our own name: a leftover from a killed predecessor */

	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	              0644);
	if (fd < 0) {
		int err = errno;
		free(tmp);
		return spool_from_errno(err);
	}
	char pid[24];
	int plen = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	enum spool_err e = spool_write_all(fd, (unsigned char *)pid, (size_t)plen);
	struct stat st;
	for (int tries = 0; e == SPOOL_OK; tries++) {
		if (link(tmp, lockpath) == 0)
			break;
		int err = errno;
		/* NFS may report a link that happened as failed: trust nlink. */
		if (fstat(fd, &st) == 0 && st.st_nlink == 2)
			break;
		if (err != EEXIST)
			e = spool_from_errno(err);
		else if (lock_dotlock_break_stale(lockpath))
			continue;
		else if (tries + 1 >= LOCK_TRIES)
			e = SPOOL_ETEMP;
		else
			lock_sleep();
	}
	close(fd);
	unlink(tmp);
	free(tmp);
	return e;
}

/* fcntl write lock on the whole file, bounded retries. */
static enum spool_err
lock_fcntl(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	for (int tries = 0;;) {
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return SPOOL_OK;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EACCES)
			return SPOOL_ETEMP;
		if (++tries >= LOCK_TRIES)
			return SPOOL_ETEMP;
		lock_sleep();
	}
}

/* Opens PATH and fcntl-locks the inode the path still names afterwards. */
static enum spool_err
lock_open_locked(const char *path, bool create, int *fd_r)
{
	int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0);

	for (int tries = 0; tries < LOCK_TRIES; tries++) {
		int fd = open(path, flags, 0600);
		if (fd < 0)
			return errno == ENOENT ? SPOOL_ENOENT : spool_from_errno(errno);
		struct stat fst, pst;
		if (fstat(fd, &fst) == -1 || !S_ISREG(fst.st_mode)) {
			close(fd);
			return SPOOL_EPERM;
		}
		enum spool_err e = lock_fcntl(fd);
		if (e != SPOOL_OK) {
			close(fd);
			return e;
		}
		if (lstat(path, &pst) == 0 && pst.st_dev == fst.st_dev &&
		    pst.st_ino == fst.st_ino) {
			*fd_r = fd;
			return SPOOL_OK;
		}
		/* Replaced while we waited for the lock: the old inode is no
		 * longer the mailbox.  Closing drops the lock on it. */
		close(fd);
	}
	return SPOOL_ETEMP;
}

enum spool_err
lock_mta_take(const char *path, bool create, struct lock_mta *l_r)
{
	l_r->fd = -1;
	l_r->dotlock = spool_strcat3(path, ".lock", NULL);
	if (!l_r->dotlock)
		return SPOOL_ETEMP;

	enum spool_err e = lock_dotlock_create(l_r->dotlock);
	if (e == SPOOL_OK) {
		e = lock_open_locked(path, create, &l_r->fd);
		if (e != SPOOL_OK)
			unlink(l_r->dotlock);
	}
	if (e != SPOOL_OK) {
		free(l_r->dotlock);
		l_r->dotlock = NULL;
	}
	return e;
}

void
lock_mta_release(struct lock_mta *l)
{
	if (l->fd >= 0) {
		struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
		fcntl(l->fd, F_SETLK, &fl);
	}
	if (l->dotlock) {
		unlink(l->dotlock);
		free(l->dotlock);
		l->dotlock = NULL;
	}
}
