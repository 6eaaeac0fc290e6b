/*
 * Reading and writing the files kept beside a maildrop (cache_file.h).
 * Who may write which file, and under which lock, is said where each is
 * used: the caches under the session lock (maildir_cache.c,
 * mbox_cache.c), the id sidecar under the MTA locks (mbox_uidl.c).
 */
#include "cache_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"

static const char cache_hex[] = "0123456789abcdef";

/* Octets read or written at a time; a line must fit in the read buffer. */
#define CACHE_BUF CACHE_LINE_MAX

/* The trailer: "end ", 16 hex digits, LF. */
#define CACHE_TRAILER 21

/* ---- trust ---- */

/* FD is a regular file of OWNER or ours, at most MAX octets. */
static bool
cache_file_trusted(int fd, struct stat *st, uid_t owner, uint64_t max)
{
	return fstat(fd, st) == 0 && S_ISREG(st->st_mode) &&
	       (st->st_uid == owner || st->st_uid == geteuid()) &&
	       st->st_size >= 0 && (uint64_t)st->st_size <= max;
}

/* O_NONBLOCK: a FIFO planted under this name must not hang us. */
static int
cache_file_open(const char *path, struct stat *st, uid_t owner, uint64_t max)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0 && !cache_file_trusted(fd, st, owner, max)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* ---- reading ---- */

bool
cache_reader_open(struct cache_reader *r, const char *path, uid_t owner,
                  uint64_t max)
{
	struct stat st;
	*r = (struct cache_reader){ .fd = cache_file_open(path, &st, owner, max) };
	if (r->fd < 0)
		return false;
	if (!(r->buf = malloc(CACHE_BUF))) {
		cache_reader_close(r);
		return false;
	}
	r->size = (uint64_t)st.st_size;
	hash64_init(&r->hash);
	return true;
}

/* The trailer is the last line, and must hash what came before it. */
static bool
cache_reader_trailer(struct cache_reader *r, const char *line, size_t n)
{
	const char *p = line + 4;
	uint64_t want;
	return r->base + r->pos == r->size && n + 1 == CACHE_TRAILER &&
	       memcmp(line, "end ", 4) == 0 &&
	       cache_parse_hex64(&p, line + n + 1, '\n', &want) &&
	       want == hash64_final(&r->hash);
}

char *
cache_reader_line(struct cache_reader *r, size_t *len_r)
{
	while (r->fd >= 0 && !r->done) {
		char *line = r->buf + r->pos;
		char *lf = memchr(line, '\n', r->len - r->pos);
		if (lf) {
			size_t n = (size_t)(lf - line);
			r->pos += n + 1;
			if (cache_reader_trailer(r, line, n)) {
				r->done = true;
				break;
			}
			hash64_update(&r->hash, line, n + 1);
			*lf = '\0';
			*len_r = n;
			return line;
		}
		uint64_t filled = r->base + r->len;
		if (filled >= r->size || (r->pos == 0 && r->len == CACHE_BUF))
			break; /* no trailer, or a line longer than we accept */
		memmove(r->buf, line, r->len - r->pos);
		r->base += r->pos;
		r->len -= r->pos;
		r->pos = 0;
		size_t want = CACHE_BUF - r->len;
		if (want > r->size - filled)
			want = (size_t)(r->size - filled);
		ssize_t got = pread(r->fd, r->buf + r->len, want, (off_t)filled);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break; /* shrank under us: not the file we sized */
		r->len += (size_t)got;
	}
	return NULL;
}

void
cache_reader_close(struct cache_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	r->fd = -1;
	r->buf = NULL;
}

char *
cache_file_slurp(const char *path, uid_t owner, size_t max, size_t *len_r)
{
	struct stat st;
	int fd = cache_file_open(path, &st, owner, max);
	char *text = fd >= 0 ? malloc((size_t)st.st_size + 1) : NULL;
	size_t len = text ? (size_t)st.st_size : 0, got = 0;
	while (text && got < len) {
		ssize_t n = pread(fd, text + got, len - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(text); /* shrank under us: not the file we sized */
			text = NULL;
		} else {
			got += (size_t)n;
		}
	}
	if (fd >= 0)
		close(fd);
	if (text) {
		text[len] = '\0';
		*len_r = len;
	}
	return text;
}

/* ---- writing ---- */

/* Gives OUT, written to TMP so far with result E, ST's mode masked to
 * 0660 and (as root) ST's owner, fsyncs it if DURABLE, closes it and
 * renames TMP over PATH; unlinks TMP on any failure. */
static enum spool_err
cache_file_finish(int out, const char *tmp, const char *path,
                  const struct stat *st, bool durable, enum spool_err e)
{
	if (e == SPOOL_OK && fchmod(out, st->st_mode & 0660) == -1)
		e = SPOOL_ETEMP;
	/* Only root can give the file to the maildrop's owner; anyone else
	 * writing here is that owner, or reads back only what he wrote. */
	if (e == SPOOL_OK && geteuid() == 0 &&
	    fchown(out, st->st_uid, st->st_gid) == -1)
		e = SPOOL_ETEMP;
	if (e == SPOOL_OK && durable && fsync(out) == -1)
		e = SPOOL_ETEMP;
	if (close(out) == -1 && e == SPOOL_OK)
		e = SPOOL_ETEMP;
	if (e == SPOOL_OK && rename(tmp, path) == -1)
		e = spool_from_errno(errno);
	if (e != SPOOL_OK)
		unlink(tmp);
	return e;
}

/* A new file TMP, after removing a crashed writer's leftover. */
static int
cache_file_create(const char *tmp)
{
	unlink(tmp);
	return open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	            0600);
}

enum spool_err
cache_file_put(const char *tmp, const char *path, const void *p, size_t len,
               const struct stat *st, bool durable)
{
	int out = cache_file_create(tmp);
	if (out < 0)
		return spool_from_errno(errno);
	return cache_file_finish(out, tmp, path, st, durable,
	                         spool_write_all(out, p, len));
}

bool
cache_writer_open(struct cache_writer *w, const char *path)
{
	*w = (struct cache_writer){ .fd = -1, .path = strdup(path),
	                            .tmp = spool_strcat3(path, "-new", NULL),
	                            .buf = malloc(CACHE_BUF) };
	hash64_init(&w->hash);
	if (w->path && w->tmp && w->buf)
		w->fd = cache_file_create(w->tmp);
	w->failed = w->fd < 0;
	return !w->failed;
}

static void
cache_writer_flush(struct cache_writer *w)
{
	if (!w->failed && w->len > 0 &&
	    spool_write_all(w->fd, (const unsigned char *)w->buf, w->len) != SPOOL_OK)
		w->failed = true;
	w->len = 0;
}

/* P[0, N) into the buffer, not hashed. */
static void
cache_writer_raw(struct cache_writer *w, const char *p, size_t n)
{
	while (n > 0 && !w->failed) {
		size_t take = CACHE_BUF - w->len < n ? CACHE_BUF - w->len : n;
		memcpy(w->buf + w->len, p, take);
		w->len += take;
		p += take;
		n -= take;
		if (w->len == CACHE_BUF)
			cache_writer_flush(w);
	}
}

void
cache_writer_add(struct cache_writer *w, const void *p, size_t n)
{
	if (w->failed)
		return;
	hash64_update(&w->hash, p, n);
	cache_writer_raw(w, p, n);
}

void
cache_writer_str(struct cache_writer *w, const char *s)
{
	cache_writer_add(w, s, strlen(s));
}

/* Hand-made rather than snprintf: a cache of 100,000 entries formats a
 * million numbers, and snprintf's cost showed in the profile. */
void
cache_writer_num(struct cache_writer *w, uint64_t v, char sep)
{
	char d[21];
	size_t i = sizeof d;
	d[--i] = sep;
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	cache_writer_add(w, d + i, sizeof d - i);
}

static void
cache_hex64(char d[16], uint64_t v)
{
	for (int i = 15; i >= 0; i--, v >>= 4)
		d[i] = cache_hex[v & 15];
}

void
cache_writer_hex64(struct cache_writer *w, uint64_t v, char sep)
{
	char d[17];
	cache_hex64(d, v);
	d[16] = sep;
	cache_writer_add(w, d, sizeof d);
}

void
cache_writer_close(struct cache_writer *w, bool commit, const struct stat *st)
{
	if (w->fd >= 0) {
		if (commit && !w->failed) {
			char t[CACHE_TRAILER] = "end ";
			cache_hex64(t + 4, hash64_final(&w->hash));
			t[CACHE_TRAILER - 1] = '\n';
			cache_writer_raw(w, t, sizeof t);
			cache_writer_flush(w);
		}
		if (commit && !w->failed) {
			cache_file_finish(w->fd, w->tmp, w->path, st, false, SPOOL_OK);
		} else {
			close(w->fd);
			unlink(w->tmp);
		}
	}
	free(w->buf);
	free(w->tmp);
	free(w->path);
	*w = (struct cache_writer){ .fd = -1, .failed = true };
}

/* ---- parsing ---- */

bool
cache_parse_num(const char **p, const char *end, char sep, uint64_t *v_r)
{
	const char *s = *p;
	uint64_t v = 0;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (s == *p || (s - *p > 1 && **p == '0') || s == end || *s != sep)
		return false;
	*p = s + 1;
	*v_r = v;
	return true;
}

bool
cache_parse_hex64(const char **p, const char *end, char sep, uint64_t *v_r)
{
	const char *s = *p;
	uint64_t v = 0;
	if (end - s < 17 || s[16] != sep)
		return false;
	for (int i = 0; i < 16; i++) {
		const char *c = memchr(cache_hex, s[i], 16);
		if (!c)
			return false;
		v = v << 4 | (uint64_t)(c - cache_hex);
	}
	*p = s + 17;
	*v_r = v;
	return true;
}
