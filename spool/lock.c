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
 * What a dead deliverer's dotlock says it was appending: the second line
 * that lock_mta_note_append() writes, "append DEV INO FROM TO".
 */
static void
lock_parse_append(const char *text, struct lock_append *a_r)
{
	unsigned long long dev, ino, from, to;
	const char *nl = strchr(text, '\n');
	char end;
	if (nl && sscanf(nl + 1, "append %llu %llu %llu %llu%c", &dev, &ino,
	                 &from, &to, &end) == 5 && end == '\n' && from < to)
		*a_r = (struct lock_append){ true, (dev_t)dev, (ino_t)ino,
		                             (off_t)from, (off_t)to };
}

/*
 * A dotlock is stale when its owner is provably dead (pid in it, ESRCH) or
 * it is older than DOTLOCK_STALE_SECONDS (an empty lock from Postfix or
 * procmail, a pid on another NFS client, or a hung owner).  Breaking it
 * re-checks the inode first so we do not remove a fresh lock that someone
 * else created after breaking the same stale one; a tiny window remains
 * between that check and unlink(), as in every dotlocking program.  When
 * the owner is provably dead and its lock records an append, *DEAD_R gets
 * it (lock_mta_take undoes a partial one).
 * Returns true when the caller should try to create it again at once.
 */
static bool
lock_dotlock_break_stale(const char *lockpath, struct lock_append *dead_r)
{
	int fd = open(lockpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	struct stat st;
	char text[LOCK_TEXT_MAX];
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
	    now.st_ino == st.st_ino && unlink(lockpath) == 0 && dead)
		lock_parse_append(text, dead_r);
	return true;
}

/*
 * Creates LOCKPATH holding our pid, the NFS-safe way: write a unique
 * temporary file, then link() it to the lock name, so the lock never
 * exists without its pid (a deliverer killed half-way leaves a lock that
 * can be proven stale) and link's atomicity decides who wins.
 */
static enum spool_err
lock_dotlock_create(const char *lockpath, struct lock_append *dead_r)
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
		else if (lock_dotlock_break_stale(lockpath, dead_r))
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

/*
 * Cuts off the partial message of a deliverer that died appending to the
 * inode FD (see lock.h).  Only when the file is that inode and ends inside
 * the recorded range: at FROM nothing was written, at TO or beyond the
 * message is whole (perhaps with mail after it), and either way there is
 * nothing we may cut.  Both MTA locks are held, so nobody appends now.
 */
static enum spool_err
lock_undo_dead_append(int fd, const struct lock_append *a)
{
	struct stat st;
	if (!a->valid)
		return SPOOL_OK;
	if (fstat(fd, &st) == -1)
		return SPOOL_ETEMP;
	if (st.st_dev != a->dev || st.st_ino != a->ino ||
	    st.st_size <= a->from || st.st_size >= a->to)
		return SPOOL_OK;
	if (ftruncate(fd, a->from) == -1 || fsync(fd) == -1)
		return SPOOL_ETEMP;
	return SPOOL_OK;
}

enum spool_err
lock_mta_take(const char *path, bool create, struct lock_mta *l_r)
{
	struct lock_append dead = { .valid = false };
	l_r->fd = -1;
	l_r->dotlock = spool_strcat3(path, ".lock", NULL);
	if (!l_r->dotlock)
		return SPOOL_ETEMP;

	enum spool_err e = lock_dotlock_create(l_r->dotlock, &dead);
	if (e == SPOOL_OK) {
		e = lock_open_locked(path, create, &l_r->fd);
		if (e == SPOOL_OK) {
			e = lock_undo_dead_append(l_r->fd, &dead);
			if (e != SPOOL_OK) {
				close(l_r->fd);
				l_r->fd = -1;
			}
		}
		if (e != SPOOL_OK)
			unlink(l_r->dotlock);
	}
	if (e != SPOOL_OK) {
		free(l_r->dotlock);
		l_r->dotlock = NULL;
	}
	return e;
}

enum spool_err
lock_mta_note_append(const struct lock_mta *l, uint64_t from, uint64_t to)
{
	struct stat st;
	char text[LOCK_TEXT_MAX];
	if (fstat(l->fd, &st) == -1)
		return SPOOL_ETEMP;
	int n = snprintf(text, sizeof text, "%ld\nappend %llu %llu %llu %llu\n",
	                 (long)getpid(), (unsigned long long)st.st_dev,
	                 (unsigned long long)st.st_ino, (unsigned long long)from,
	                 (unsigned long long)to);
	if (n < 0 || (size_t)n >= sizeof text)
		return SPOOL_ETEMP;
	/* Our own lock: written in one pwrite, longer than the pid alone, so
	 * it replaces that text whole. */
	int fd = open(l->dotlock, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return spool_from_errno(errno);
	ssize_t w = pwrite(fd, text, (size_t)n, 0);
	int err = errno;
	close(fd);
	if (w != n)
		return w < 0 ? spool_from_errno(err) : SPOOL_ETEMP;
	return SPOOL_OK;
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
