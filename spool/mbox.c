/*
 * The Berkeley mbox backend: open (scan a snapshot), read, commit
 * (rewrite without the deleted messages).  Format: mbox.h; delivery:
 * mbox_deliver.c; locks: lock.h.
 *
 * Ownership: sp->fd is the mbox as opened at scan time, kept open and
 * unlocked for the whole session; the MTA locks are taken again, on a
 * fresh descriptor, only inside mbox_commit.
 */
#include "mbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash64.h"
#include "lock.h"
#include "md5.h"
#include "wire.h"

/* Copy buffer of the commit. */
#define MBOX_COPY_BUF 65536

/*
 * The id sidecar's pins (mbox_uidl.c), read under the MTA locks its
 * writer holds.  Its sections are checked against the MD5 of the
 * prefixes they describe, which costs a second pass over the file; only
 * a maildrop that has a sidecar pays it (one whose commit left identical
 * twins with suffixed ids), and the format stays what it was, so the
 * sidecars already on disk keep their ids.
 */
static enum spool_err
mbox_pins(struct spool *sp, int fd, uid_t owner)
{
	struct mbox_uidl *u = mbox_uidl_read(sp->path, owner);
	if (!u)
		return SPOOL_OK;
	struct mbox_mark marks[MBOX_UIDL_SECTIONS] = { { 0 } };
	for (size_t i = 0; i < u->nsec; i++)
		marks[i].at = u->sec[i].size;
	enum spool_err e = mbox_digest(fd, sp->scanned, NULL, marks, u->nsec);
	if (e == SPOOL_OK)
		e = mbox_uidl_apply(sp, u, marks);
	mbox_uidl_free(u);
	return e;
}

static enum spool_err
mbox_open(struct spool *sp)
{
	struct lock_mta l;
	enum spool_err e = lock_mta_take(sp->path, false, &l);
	if (e == SPOOL_ENOENT)
		return SPOOL_OK; /* removed since spool_open looked: empty */
	if (e != SPOOL_OK)
		return e;

	/* Under the MTA locks nobody appends: [0, N) is a consistent
	 * snapshot.  Mail appended later stays beyond N, unseen. */
	struct stat st;
	struct mbox_snap snap = { 0 };
	if (fstat(l.fd, &st) == -1) {
		e = SPOOL_ETEMP;
	} else {
		sp->dev = st.st_dev;
		sp->ino = st.st_ino;
		sp->scanned = (uint64_t)st.st_size;
		e = mbox_load(sp, l.fd, st.st_uid, &snap);
		if (e == SPOOL_OK)
			e = mbox_pins(sp, l.fd, st.st_uid);
		if (e == SPOOL_OK && !spool_uids_unique(sp))
			e = SPOOL_ETEMP;
	}
	lock_mta_release(&l);
	if (e != SPOOL_OK) {
		close(l.fd);
		return e;
	}
	sp->fd = l.fd;
	/* Outside the MTA locks, so deliveries wait for the scan only. */
	if (snap.save)
		mbox_cache_save(sp, &snap, &st);
	return SPOOL_OK;
}

/* The path must still name the file we scanned, at least N octets long. */
static bool
mbox_unchanged(const struct spool *sp)
{
	struct stat st;
	return lstat(sp->path, &st) == 0 && st.st_dev == sp->dev &&
	       st.st_ino == sp->ino && (uint64_t)st.st_size >= sp->scanned;
}

static enum spool_err
mbox_locate(struct spool *sp, size_t idx, int *fd_r, uint64_t *off_r,
            uint64_t *len_r)
{
	if (!mbox_unchanged(sp))
		return SPOOL_ECHANGED;
	int fd = dup(sp->fd);
	if (fd < 0)
		return spool_from_errno(errno);
	*fd_r = fd;
	*off_r = sp->msgs[idx].off;
	*len_r = sp->msgs[idx].len;
	return SPOOL_OK;
}

/* The new mbox being written: its descriptor, and the length and MD5 of
 * what went into it (for the id sidecar). */
struct mbox_out {
	int fd;
	uint64_t size;
	struct md5 md5;
};

/* Copies [from, to) of IN to OUT. */
static enum spool_err
mbox_copy(int in, struct mbox_out *out, uint64_t from, uint64_t to,
          unsigned char *buf)
{
	while (from < to) {
		size_t want = to - from < MBOX_COPY_BUF ? (size_t)(to - from)
		                                        : MBOX_COPY_BUF;
		ssize_t n = pread(in, buf, want, (off_t)from);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return SPOOL_ETEMP;
		enum spool_err e = spool_write_all(out->fd, buf, (size_t)n);
		if (e != SPOOL_OK)
			return e;
		md5_update(&out->md5, buf, (size_t)n);
		out->size += (uint64_t)n;
		from += (uint64_t)n;
	}
	return SPOOL_OK;
}

/* Writes the kept messages of [0, N) and all of [N, EOF) to OUT, each
 * message exactly as stored (From line, content, separator). */
static enum spool_err
mbox_copy_kept(const struct spool *sp, int in, struct mbox_out *out,
               uint64_t eof)
{
	unsigned char *buf = malloc(MBOX_COPY_BUF);
	if (!buf)
		return SPOOL_ETEMP;
	enum spool_err e = SPOOL_OK;
	uint64_t run = 0, run_end = 0; /* adjacent kept messages: one copy */
	for (size_t i = 0; i < sp->count && e == SPOOL_OK; i++) {
		const struct spool_msg *m = &sp->msgs[i];
		if (m->deleted)
			continue;
		if (m->from != run_end) {
			e = mbox_copy(in, out, run, run_end, buf);
			run = m->from;
		}
		run_end = m->end;
	}
	/* The last run, and the mail that arrived during the session. */
	if (run_end == sp->scanned) {
		run_end = eof;
	} else if (e == SPOOL_OK) {
		e = mbox_copy(in, out, run, run_end, buf);
		run = sp->scanned;
		run_end = eof;
	}
	if (e == SPOOL_OK)
		e = mbox_copy(in, out, run, run_end, buf);
	free(buf);
	return e;
}

/*
 * Writes the new mbox next to the old one and renames it over.  The
 * crash-safety argument: until rename() the old file is untouched and
 * complete; the new file is fsync'ed before the rename, so after it the
 * name points to complete data; rename is atomic, so no instant shows a
 * truncated or mixed file.  A crash before the rename leaves only a stale
 * <mbox>.pop-new, removed by the next commit.  The id sidecar is put in
 * place just before the rename (mbox_uidl.c); it describes both files,
 * so whichever one a crash leaves keeps its ids.
 */
static enum spool_err
mbox_rewrite(const struct spool *sp, int in, const struct stat *st,
             const unsigned char old_digest[16])
{
	char *tmp = spool_strcat3(sp->path, ".pop-new", NULL);
	if (!tmp)
		return SPOOL_ETEMP;
	/* Only a commit holding the MTA locks writes this name, so an
	 * existing one is a crashed commit's leftover. */
	unlink(tmp);
	struct mbox_out out = {
		.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		           0600),
	};
	md5_init(&out.md5);
	enum spool_err e = out.fd < 0 ? spool_from_errno(errno) : SPOOL_OK;
	if (e == SPOOL_OK)
		e = mbox_copy_kept(sp, in, &out, (uint64_t)st->st_size);
	if (e == SPOOL_OK && fsync(out.fd) == -1)
		e = SPOOL_ETEMP;
	if (e == SPOOL_OK && fchmod(out.fd, st->st_mode & 07777) == -1)
		e = SPOOL_ETEMP;
	/* Only root can give the file back to its owner; anyone else is the
	 * owner already (or the mbox would not be writable). */
	if (e == SPOOL_OK && geteuid() == 0 &&
	    fchown(out.fd, st->st_uid, st->st_gid) == -1)
		e = SPOOL_ETEMP;
	if (out.fd >= 0 && close(out.fd) == -1 && e == SPOOL_OK)
		e = SPOOL_ETEMP;
	if (e == SPOOL_OK) {
		unsigned char digest[16];
		md5_final(&out.md5, digest);
		e = mbox_uidl_write(sp, out.size, digest, old_digest, st);
	}
	if (e == SPOOL_OK && rename(tmp, sp->path) == -1)
		e = spool_from_errno(errno);
	if (e != SPOOL_OK) {
		if (out.fd >= 0)
			unlink(tmp);
		free(tmp);
		return e;
	}
	free(tmp);
	/* The deletions are done; if the directory cannot be synced a crash
	 * could bring the old file back, which loses nothing. */
	spool_fsync_dir(sp->path);
	return SPOOL_OK;
}

static enum spool_err
mbox_commit(struct spool *sp)
{
	struct lock_mta l;
	enum spool_err e = lock_mta_take(sp->path, false, &l);
	if (e == SPOOL_ENOENT)
		return SPOOL_ECHANGED;
	if (e != SPOOL_OK)
		return e;

	/* Still the file we scanned, and its first N octets unchanged (the
	 * same hash64 as at open)?  Otherwise another program rewrote it:
	 * delete nothing.  The same pass takes the MD5 of [0, N) when the
	 * id sidecar will describe the old file. */
	struct stat st;
	struct hash64 h;
	struct mbox_mark old = { .at = sp->scanned };
	hash64_init(&h);
	if (fstat(l.fd, &st) == -1)
		e = SPOOL_ETEMP;
	else if (st.st_dev != sp->dev || st.st_ino != sp->ino ||
	         (uint64_t)st.st_size < sp->scanned)
		e = SPOOL_ECHANGED;
	else if ((e = mbox_digest(l.fd, sp->scanned, &h, &old,
	                          mbox_uidl_wanted(sp) ? 1 : 0)) == SPOOL_OK &&
	         hash64_final(&h) != sp->hash)
		e = SPOOL_ECHANGED;
	if (e == SPOOL_OK)
		e = mbox_rewrite(sp, l.fd, &st, old.digest);
	lock_mta_release(&l);
	close(l.fd);
	return e;
}

static void
mbox_close(struct spool *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
}

const struct spool_backend mbox_backend = {
	.name = "mbox",
	.open = mbox_open,
	.locate = mbox_locate,
	.commit = mbox_commit,
	.close = mbox_close,
	.deliver = mbox_deliver,
};
