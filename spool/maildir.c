/*
 * The Maildir backend.  Messages are the regular files of new/ and cur/;
 * dot-files, subdirectories, symlinks and whatever cannot be opened are
 * skipped silently (there is no logger in spool/).  Order: the numeric
 * time prefix of the name, then the name.  uid: the unique part of the
 * name (before ':'), or its MD5 if that is not a valid uid.  No MTA lock
 * exists or is needed: deliveries appear by rename into new/, and a mail
 * reader may rename a file between new/ and cur/ or change its flags at
 * any time, so a file is always looked up again by its unique part when
 * its name no longer works.  The session lock is <maildir>/postoffice.lock
 * (spool.c, lock.h).
 */
#include "backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

static const char *const maildir_sub[2] = { "new", "cur" };

/* Length of the unique part of a file name: everything before ':'. */
static size_t
maildir_base_len(const char *name)
{
	return strcspn(name, ":");
}

static char *
maildir_msg_path(const struct spool *sp, const struct spool_msg *m)
{
	size_t n = strlen(sp->path) + strlen(m->name) + 6;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s/%s", sp->path, maildir_sub[m->sub], m->name);
	return p;
}

/* Reads all of FD into sp->buf. */
static enum spool_err
maildir_slurp(struct spool *sp, int fd, size_t *len_r)
{
	size_t len = 0;
	for (;;) {
		if (len == sp->bufcap &&
		    (sp->bufcap > SIZE_MAX / 2 ||
		     !spool_buf_reserve(sp, sp->bufcap ? sp->bufcap * 2 : 65536)))
			return SPOOL_ETEMP;
		ssize_t n = read(fd, sp->buf + len, sp->bufcap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return SPOOL_ETEMP;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*len_r = len;
	return SPOOL_OK;
}

/* Adds NAME of new/ or cur/ (open as DFD) if it is a regular file. */
static enum spool_err
maildir_add(struct spool *sp, int dfd, int sub, const char *name)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode))
		return SPOOL_OK;
	/* O_NONBLOCK: should it have become a FIFO since, open must not hang. */
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return SPOOL_OK;
	size_t len;
	enum spool_err e = SPOOL_OK;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    maildir_slurp(sp, fd, &len) != SPOOL_OK) {
		close(fd);
		return SPOOL_OK;
	}
	close(fd);

	struct spool_msg *m = spool_msg_add(sp);
	if (!m)
		return SPOOL_ETEMP;
	m->sub = sub;
	m->size = wire_size(sp->buf, len);
	m->name = strdup(name);
	m->envelope = spool_envelope_make(NULL, st.st_mtime);
	if (!m->name || !m->envelope)
		e = SPOOL_ETEMP;
	size_t bl = maildir_base_len(name);
	if (spool_uid_valid((const unsigned char *)name, bl)) {
		memcpy(m->uid, name, bl);
		m->uid[bl] = '\0';
	} else {
		spool_md5_hex_uid(name, bl, m->uid);
	}
	return e;
}

static enum spool_err
maildir_scan(struct spool *sp, int sub)
{
	char *dir = spool_strcat3(sp->path, "/", maildir_sub[sub]);
	if (!dir)
		return SPOOL_ETEMP;
	DIR *d = opendir(dir);
	free(dir);
	if (!d)
		return spool_from_errno(errno);
	enum spool_err e = SPOOL_OK;
	struct dirent *de;
	while (e == SPOOL_OK && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			e = maildir_add(sp, dirfd(d), sub, de->d_name);
	closedir(d);
	return e;
}

static int
maildir_cmp(const void *a, const void *b)
{
	const struct spool_msg *x = a, *y = b;
	unsigned long long tx = strtoull(x->name, NULL, 10);
	unsigned long long ty = strtoull(y->name, NULL, 10);
	if (tx != ty)
		return tx < ty ? -1 : 1;
	int c = strcmp(x->name, y->name);
	return c ? c : x->sub - y->sub;
}

static enum spool_err
maildir_open(struct spool *sp)
{
	for (int sub = 0; sub < 2; sub++) {
		enum spool_err e = maildir_scan(sp, sub);
		if (e != SPOOL_OK)
			return e;
	}
	if (sp->count > 1)
		qsort(sp->msgs, sp->count, sizeof *sp->msgs, maildir_cmp);
	return spool_uids_unique(sp) ? SPOOL_OK : SPOOL_ETEMP;
}

/* Finds M again after a mail reader renamed it (new/ -> cur/, flags):
 * the unique part of the name stays. */
static bool
maildir_find(struct spool *sp, struct spool_msg *m)
{
	size_t bl = maildir_base_len(m->name);
	for (int sub = 0; sub < 2; sub++) {
		char *dir = spool_strcat3(sp->path, "/", maildir_sub[sub]);
		DIR *d = dir ? opendir(dir) : NULL;
		free(dir);
		if (!d)
			continue;
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (maildir_base_len(de->d_name) != bl ||
			    strncmp(de->d_name, m->name, bl) != 0)
				continue;
			char *name = strdup(de->d_name);
			closedir(d);
			if (!name)
				return false;
			free(m->name);
			m->name = name;
			m->sub = sub;
			return true;
		}
		closedir(d);
	}
	return false;
}

/* Opens M, looking it up again if it was renamed; -1 and *err_r if not. */
static int
maildir_open_msg(struct spool *sp, struct spool_msg *m, int *err_r)
{
	*err_r = ENOENT;
	for (int again = 0; again < 2; again++) {
		char *p = maildir_msg_path(sp, m);
		if (!p) {
			*err_r = ENOMEM;
			return -1;
		}
		int fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		*err_r = errno;
		free(p);
		if (fd >= 0 || *err_r != ENOENT || !maildir_find(sp, m))
			return fd;
	}
	return -1;
}

static enum spool_err
maildir_read(struct spool *sp, size_t idx, const unsigned char **data_r,
             size_t *len_r)
{
	struct spool_msg *m = &sp->msgs[idx];
	int err;
	int fd = maildir_open_msg(sp, m, &err);
	if (fd < 0)
		return err == ENOENT ? SPOOL_ECHANGED : spool_from_errno(err);
	size_t len;
	enum spool_err e = maildir_slurp(sp, fd, &len);
	close(fd);
	if (e != SPOOL_OK)
		return e;
	/* Maildir files are never edited in place; if one was, the size we
	 * announced would be a lie. */
	if (wire_size(sp->buf, len) != m->size)
		return SPOOL_ECHANGED;
	*data_r = sp->buf;
	*len_r = len;
	return SPOOL_OK;
}

static enum spool_err
maildir_locate(struct spool *sp, size_t idx, int *fd_r, uint64_t *off_r,
               uint64_t *len_r)
{
	struct stat st;
	int err;
	int fd = maildir_open_msg(sp, &sp->msgs[idx], &err);
	if (fd < 0)
		return err == ENOENT ? SPOOL_ECHANGED : spool_from_errno(err);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return SPOOL_ECHANGED;
	}
	*fd_r = fd;
	*off_r = 0;
	*len_r = (uint64_t)st.st_size;
	return SPOOL_OK;
}

/* Unlinks every deleted message; a file that is already gone counts as
 * deleted.  Tries them all, then reports the first real failure. */
static enum spool_err
maildir_commit(struct spool *sp)
{
	enum spool_err first = SPOOL_OK;
	for (size_t i = 0; i < sp->count; i++) {
		struct spool_msg *m = &sp->msgs[i];
		if (!m->deleted)
			continue;
		for (int again = 0; again < 2; again++) {
			char *p = maildir_msg_path(sp, m);
			int rc = p ? unlink(p) : -1;
			int err = p ? errno : ENOMEM;
			free(p);
			if (rc == 0 || (err == ENOENT && (again || !maildir_find(sp, m))))
				break;
			if (err != ENOENT) {
				if (first == SPOOL_OK)
					first = SPOOL_ETEMP;
				break;
			}
		}
	}
	return first;
}

static void
maildir_close(struct spool *sp)
{
	(void)sp; /* no descriptor is kept between calls */
}

/* The host part of a unique name, with '/' and ':' escaped as the Maildir
 * convention says (they would break the path or the flags). */
static void
maildir_host(char *out, size_t outsz)
{
	char host[256];
	if (gethostname(host, sizeof host) == -1)
		strcpy(host, "localhost");
	host[sizeof host - 1] = '\0';
	size_t n = 0;
	for (const char *h = host; *h && n + 5 < outsz; h++) {
		if (*h == '/' || *h == ':')
			n += (size_t)snprintf(out + n, outsz - n, "\\%03o",
			                      (unsigned char)*h);
		else
			out[n++] = *h;
	}
	out[n] = '\0';
}

/* Writes tmp/NAME completely and durably. */
static enum spool_err
maildir_write_tmp(const char *tmp, const unsigned char *msg, size_t len)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	              0600);
	if (fd < 0)
		return errno == EEXIST ? SPOOL_EINUSE : spool_from_errno(errno);
	enum spool_err e = spool_write_all(fd, msg, len);
	if (e == SPOOL_OK && fsync(fd) == -1)
		e = SPOOL_ETEMP;
	if (close(fd) == -1 && e == SPOOL_OK)
		e = SPOOL_ETEMP;
	if (e != SPOOL_OK)
		unlink(tmp);
	return e;
}

/*
 * Delivery the Maildir way: write tmp/<unique>, fsync, link it into new/
 * (link, unlike rename, never replaces an existing file), remove the tmp
 * name, fsync new/.  The unique name is time.M<usec>P<pid>Q<n>.<host>; n
 * counts attempts, so a clash (same microsecond, same pid) just moves on.
 * The envelope line has no place in a Maildir and is dropped.
 */
static enum spool_err
maildir_deliver(const char *path, const char *envelope, const char *sender,
                const unsigned char *msg, size_t len)
{
	(void)envelope;
	(void)sender;
	char host[512];
	maildir_host(host, sizeof host);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);

	size_t sz = strlen(path) + strlen(host) + 128;
	char *tmp = malloc(sz), *dst = malloc(sz);
	enum spool_err e = tmp && dst ? SPOOL_EINUSE : SPOOL_ETEMP;
	for (int q = 1; q <= 100 && e == SPOOL_EINUSE; q++) {
		char name[sizeof host + 96];
		snprintf(name, sizeof name, "%lld.M%ldP%ldQ%d.%s",
		         (long long)now.tv_sec, now.tv_nsec / 1000L,
		         (long)getpid(), q, host);
		snprintf(tmp, sz, "%s/tmp/%s", path, name);
		snprintf(dst, sz, "%s/new/%s", path, name);
		e = maildir_write_tmp(tmp, msg, len);
		if (e != SPOOL_OK)
			continue;
		if (link(tmp, dst) == -1)
			e = errno == EEXIST ? SPOOL_EINUSE : spool_from_errno(errno);
		unlink(tmp);
	}
	if (e == SPOOL_OK)
		e = spool_fsync_dir(dst);
	else if (e == SPOOL_EINUSE)
		e = SPOOL_ETEMP;
	free(tmp);
	free(dst);
	return e;
}

const struct spool_backend maildir_backend = {
	.name = "maildir",
	.open = maildir_open,
	.read = maildir_read,
	.locate = maildir_locate,
	.commit = maildir_commit,
	.close = maildir_close,
	.deliver = maildir_deliver,
};
