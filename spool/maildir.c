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
 * (spool.c, lock.h); it also makes the session the only writer of the
 * size cache <maildir>/postoffice.sizes (maildir_cache.c), which spares
 * reading every file at open to learn its size.
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

#include "bigmem.h"
#include "maildir_cache.h"
#include "wire.h"

static const char *const maildir_sub[2] = { "new", "cur" };

/* Length of the unique part of a file name: everything before ':'.
 * strchr, not strcspn: it is called for every file of the Maildir, and
 * glibc's strcspn is several times slower for one octet. */
static size_t
maildir_base_len(const char *name)
{
	const char *colon = strchr(name, ':');
	return colon ? (size_t)(colon - name) : strlen(name);
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

/* A message file found by the scan.  The messages are made only once
 * all are found, in maildrop order (maildir_messages). */
struct maildir_found {
	size_t at;               /* where the name is in the scan's names */
	char *name;              /* the same once the scan is over */
	uint64_t size;
	time_t mtime;
	int sub;
};

/* What the files are sorted by: STAMP, the name's numeric time prefix,
 * parsed once per name (parsing it at every comparison cost millions of
 * strtoull calls on a large Maildir), then the name and the sub.  Keys
 * of 16 octets sort faster than the records themselves. */
struct maildir_key {
	unsigned long long stamp;
	const struct maildir_found *f;
};

/* What maildir_open carries through the scan of new/ and cur/.  The
 * file names go one after the other into NAMES, which becomes
 * sp->names: one allocation instead of one per message. */
struct maildir_scan {
	struct maildir_cache *cache;
	struct maildir_found *f;
	size_t n, cap;
	char *names;
	size_t names_len, names_cap;
};

/* Appends NAME and its NUL to sc->names; its offset in *AT_R. */
static bool
maildir_name_add(struct maildir_scan *sc, const char *name, size_t *at_r)
{
	size_t len = strlen(name) + 1;
	if (len > sc->names_cap - sc->names_len) {
		/* At first room for as many names as the cache knows (and
		 * a few), of 64 octets each, which the usual names are not
		 * longer than (time.MusecPpid.host:2,flags): one allocation
		 * on a large Maildir, little on a small one. */
		size_t cap = sc->names_cap
		           ? sc->names_cap
		           : 64 * (maildir_cache_entries(sc->cache) + 16);
		while (cap - sc->names_len < len) {
			if (cap > SIZE_MAX / 2)
				return false;
			cap *= 2;
		}
		char *p = bigmem_realloc(sc->names, sc->names_len, cap);
		if (!p)
			return false;
		sc->names = p;
		sc->names_cap = cap;
	}
	memcpy(sc->names + sc->names_len, name, len);
	*at_r = sc->names_len;
	sc->names_len += len;
	return true;
}

/* The wire size of NAME (open in DFD), read whole; false if it cannot be
 * read.  ST is its lstat, replaced by the fstat of what was read. */
static bool
maildir_read_size(struct spool *sp, int dfd, const char *name,
                  struct stat *st, uint64_t *wire_r, bool *whole_r)
{
	/* O_NONBLOCK: should it have become a FIFO since, open must not hang. */
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	size_t len;
	bool ok = fstat(fd, st) == 0 && S_ISREG(st->st_mode) &&
	          maildir_slurp(sp, fd, &len) == SPOOL_OK;
	close(fd);
	if (ok) {
		*wire_r = wire_size(sp->buf, len);
		*whole_r = (uint64_t)st->st_size == len;
	}
	return ok;
}

/* Notes NAME of new/ or cur/ (open as DFD) if it is a regular file, its
 * size from the cache if the cache knows the file as it is, else read. */
static enum spool_err
maildir_add(struct spool *sp, int dfd, int sub, const char *name,
            struct maildir_scan *sc)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode))
		return SPOOL_OK;
	uint64_t size;
	if (!maildir_cache_size(sc->cache, sub, name, &st, &size)) {
		bool whole;
		if (!maildir_read_size(sp, dfd, name, &st, &size, &whole))
			return SPOOL_OK;
		if (whole)
			maildir_cache_note(sc->cache, sub, name, &st, size);
	}
	if (sc->n == sc->cap) {
		/* First as many as the cache knows: growing copies. */
		size_t cap = sc->cap ? 2 * sc->cap
		                     : maildir_cache_entries(sc->cache) + 256;
		struct maildir_found *f = cap < SIZE_MAX / sizeof *f
		                        ? bigmem_realloc(sc->f, sc->n * sizeof *f,
		                                         cap * sizeof *f)
		                        : NULL;
		if (!f)
			return SPOOL_ETEMP;
		sc->f = f;
		sc->cap = cap;
	}
	size_t at;
	if (!maildir_name_add(sc, name, &at))
		return SPOOL_ETEMP;
	sc->f[sc->n++] = (struct maildir_found){ at, NULL, size, st.st_mtime, sub };
	return SPOOL_OK;
}

static enum spool_err
maildir_scan(struct spool *sp, int sub, struct maildir_scan *sc)
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
			e = maildir_add(sp, dirfd(d), sub, de->d_name, sc);
	closedir(d);
	return e;
}

/* Time prefix, then name, then new/ before cur/. */
static int
maildir_cmp(const void *a, const void *b)
{
	const struct maildir_key *x = a, *y = b;
	if (x->stamp != y->stamp)
		return x->stamp < y->stamp ? -1 : 1;
	int c = strcmp(x->f->name, y->f->name);
	return c ? c : x->f->sub - y->f->sub;
}

/* Makes the messages from the files found, in maildrop order.  Their
 * names stay in the scan's block, which SP takes (sp->names); their
 * envelopes are made only if asked for (maildir_envelopes). */
static enum spool_err
maildir_messages(struct spool *sp, struct maildir_scan *sc)
{
	sp->names = sc->names;
	sc->names = NULL;
	struct maildir_key *k = bigmem_alloc(sc->n * sizeof *k + 1);
	if (!k)
		return SPOOL_ETEMP;
	for (size_t i = 0; i < sc->n; i++) {
		sc->f[i].name = sp->names + sc->f[i].at;
		k[i] = (struct maildir_key){ strtoull(sc->f[i].name, NULL, 10),
		                             &sc->f[i] };
	}
	qsort(k, sc->n, sizeof *k, maildir_cmp);
	enum spool_err e = spool_msg_reserve(sp, sc->n) ? SPOOL_OK : SPOOL_ETEMP;
	for (size_t i = 0; i < sc->n && e == SPOOL_OK; i++) {
		const struct maildir_found *f = k[i].f;
		struct spool_msg *m = spool_msg_add(sp);
		if (!m) {
			e = SPOOL_ETEMP;
			break;
		}
		/* Not the message's own: maildir_close lets go of it. */
		m->name = f->name;
		m->sub = f->sub;
		m->mtime = f->mtime;
		m->size = f->size;
		size_t bl = maildir_base_len(m->name);
		if (spool_uid_valid((const unsigned char *)m->name, bl)) {
			memcpy(m->uid, m->name, bl);
			m->uid[bl] = '\0';
		} else {
			spool_md5_hex_uid(m->name, bl, m->uid);
		}
	}
	free(k);
	return e;
}

static enum spool_err
maildir_open(struct spool *sp)
{
	/* The size cache belongs to the Maildir's owner (maildir_cache.c);
	 * we hold the session lock, so no other session writes it. */
	struct stat dst;
	struct maildir_scan sc = { 0 };
	if (stat(sp->path, &dst) == 0)
		sc.cache = maildir_cache_load(sp->path, dst.st_uid);
	enum spool_err e = SPOOL_OK;
	for (int sub = 0; sub < 2 && e == SPOOL_OK; sub++)
		e = maildir_scan(sp, sub, &sc);
	if (e == SPOOL_OK)
		maildir_cache_save(sc.cache, &dst);
	maildir_cache_free(sc.cache);
	if (e == SPOOL_OK)
		e = maildir_messages(sp, &sc);
	free(sc.names); /* if maildir_messages did not take it */
	free(sc.f);
	if (e == SPOOL_OK && !spool_uids_unique(sp))
		e = SPOOL_ETEMP;
	return e;
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
			if (m->own_name)
				free(m->name);
			m->name = name;
			m->own_name = true;
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

/* No descriptor is kept between calls; the names in sp->names are let
 * go here, so that spool_close frees only the names messages own. */
static void
maildir_close(struct spool *sp)
{
	for (size_t i = 0; i < sp->count; i++)
		if (!sp->msgs[i].own_name)
			sp->msgs[i].name = NULL;
	free(sp->names);
	sp->names = NULL;
}

/* The envelopes POP1 shows, made from each file's mtime when first
 * asked for: most sessions never do, and making 100,000 of them at
 * open was a twentieth of a large Maildir's open. */
static void
maildir_envelopes(struct spool *sp)
{
	for (size_t i = 0; i < sp->count; i++)
		if (!sp->msgs[i].envelope)
			sp->msgs[i].envelope = spool_envelope_make(NULL, sp->msgs[i].mtime);
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
		/* Microseconds padded: maildir_cmp orders names of one second
		 * by strcmp, and M98765 must come before M123456. */
		snprintf(name, sizeof name, "%lld.M%06ldP%ldQ%d.%s",
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
	.locate = maildir_locate,
	.commit = maildir_commit,
	.close = maildir_close,
	.envelopes = maildir_envelopes,
	.deliver = maildir_deliver,
};
