/*
 * The format-independent part of the mailbox layer: folder names, path
 * templates, format detection, the message array, and dispatch to the
 * backend (mbox.c, maildir.c) through struct spool_backend.
 */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "bigmem.h"
#include "lock.h"
#include "md5.h"
#include "remote.h"
#include "wire.h"

/* The process-wide mode of remote.h: -1 (the default) opens maildrops
 * here; set once in a privilege-separated protocol process. */
static int remote_channel = -1;

void
spool_use_remote(int channel)
{
	remote_channel = channel;
}

/* Longest maildrop path we build; longer templates are a config error. */
#define SPOOL_PATH_MAX 4096
/* Longest folder name: NAME_MAX of every common file system. */
#define SPOOL_NAME_MAX 255
/* Longest envelope sender we copy into a synthesized "From " line. */
#define SPOOL_SENDER_MAX 512

const char *
spool_strerror(enum spool_err e)
{
	switch (e) {
	case SPOOL_OK:       return "success";
	case SPOOL_ENOENT:   return "no such folder";
	case SPOOL_EBADNAME: return "folder name refused";
	case SPOOL_EINUSE:   return "maildrop in use by another session";
	case SPOOL_ETEMP:    return "temporary failure (lock busy or I/O error)";
	case SPOOL_EPERM:    return "not a usable mailbox (permissions or format)";
	case SPOOL_ECHANGED: return "maildrop changed by another program";
	case SPOOL_EINVAL:   return "malformed input";
	}
	return "unknown error";
}

enum spool_err
spool_from_errno(int err)
{
	switch (err) {
	case EACCES: case EPERM: case ELOOP: case ENOTDIR: case EISDIR:
	case EROFS: case ENAMETOOLONG: case ENOENT:
		return SPOOL_EPERM; /* the administrator must fix the tree */
	default:
		return SPOOL_ETEMP; /* ENOSPC, EDQUOT, EIO, EFBIG, ENOMEM, ... */
	}
}

bool
spool_expand(const char *template, const char *user, char *buf, size_t bufsz)
{
	/* A user name is one path component: it must not climb or descend. */
	if (!user || !*user || strchr(user, '/') || strcmp(user, ".") == 0 ||
	    strcmp(user, "..") == 0 || bufsz == 0)
		return false;
	size_t ulen = strlen(user), n = 0;
	for (const char *t = template; *t; t++) {
		const char *piece = t;
		size_t plen = 1;
		if (t[0] == '%' && t[1] == 'u') {
			piece = user;
			plen = ulen;
			t++;
		}
		if (plen >= bufsz - n)
			return false;
		memcpy(buf + n, piece, plen);
		n += plen;
	}
	buf[n] = '\0';
	return true;
}

/* A client's folder name is one entry of the folders directory, never a
 * path; names of our own lock and temp files are refused too, since they
 * live next to the folders. */
static bool
spool_name_ok(const char *name)
{
	static const char *const ours[] = { ".lock", ".pop-lock", ".pop-new",
	                                    ".pop-uidl", ".pop-uidl-new",
	                                    ".pop-cache", ".pop-cache-new" };
	size_t len = strlen(name);

	if (len == 0 || len > SPOOL_NAME_MAX || name[0] == '.')
		return false; /* also ".", ".." and hidden files */
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p == '/' || *p < 0x20 || *p == 0x7F)
			return false;
	for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++) {
		size_t sl = strlen(ours[i]);
		if (len >= sl && strcmp(name + len - sl, ours[i]) == 0)
			return false;
	}
	return true;
}

static bool
spool_is_dir(const char *dir, const char *sub)
{
	struct stat st;
	char *p = spool_strcat3(dir, "/", sub);
	bool ok = p && lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
	free(p);
	return ok;
}

/* The format of PATH (CONTRACT.md): regular file -> mbox, directory with
 * cur/ new/ tmp/ -> Maildir.  Symlinks are refused so that a link planted
 * in a folders directory cannot expose or rewrite a file elsewhere. */
static enum spool_err
spool_detect(const char *path, const struct spool_backend **be_r)
{
	struct stat st;

	*be_r = NULL;
	if (lstat(path, &st) == -1)
		return errno == ENOENT ? SPOOL_ENOENT : spool_from_errno(errno);
	if (S_ISREG(st.st_mode)) {
		*be_r = &mbox_backend;
		return SPOOL_OK;
	}
	if (S_ISDIR(st.st_mode) && spool_is_dir(path, "cur") &&
	    spool_is_dir(path, "new") && spool_is_dir(path, "tmp")) {
		*be_r = &maildir_backend;
		return SPOOL_OK;
	}
	return SPOOL_EPERM;
}

/* Resolves USER's maildrop FOLDER to a path; *deflt_r tells whether it is
 * the default one (which may be missing). */
static enum spool_err
spool_resolve(const struct spool_where *w, const char *user,
              const char *folder, char *path, bool *deflt_r)
{
	if (!spool_expand(w->mailbox, user, path, SPOOL_PATH_MAX))
		return SPOOL_EPERM;
	*deflt_r = !folder || strcasecmp(folder, "INBOX") == 0 ||
	           strcmp(folder, user) == 0;
	if (*deflt_r)
		return SPOOL_OK;
	if (!spool_name_ok(folder))
		return SPOOL_EBADNAME;
	char dir[SPOOL_PATH_MAX];
	if (!w->folders)
		return SPOOL_ENOENT;
	if (!spool_expand(w->folders, user, dir, sizeof dir))
		return SPOOL_EPERM;
	int n = snprintf(path, SPOOL_PATH_MAX, "%s/%s", dir, folder);
	if (n < 0 || n >= SPOOL_PATH_MAX)
		return SPOOL_EBADNAME;
	return SPOOL_OK;
}

/*
 * The maildrop limits (spool_where): a session sees the oldest messages
 * up to max_messages and max_octets, and at least one, so a single huge
 * message can still be fetched.  The rest stays untouched: nothing beyond
 * the shown messages can be marked, so no commit removes it, and it is
 * shown once the earlier mail is gone.
 */
static void
spool_limit(struct spool *sp, const struct spool_where *w)
{
	uint64_t octets = 0;
	size_t n = 0;
	while (n < sp->count && (!w->max_messages || n < w->max_messages)) {
		octets += sp->msgs[n].size;
		if (w->max_octets && octets > w->max_octets && n > 0)
			break;
		n++;
	}
	sp->shown = n;
}

size_t
spool_hidden(const struct spool *sp)
{
	return sp->count - sp->shown + sp->hidden_remote;
}

const char *
spool_hidden_note(const struct spool *sp)
{
	static char note[128];
	size_t n = spool_hidden(sp);
	if (n == 0)
		return "";
	snprintf(note, sizeof(note), " (%zu more beyond max_messages or "
	         "max_maildrop_octets, shown once these are gone)", n);
	return note;
}

enum spool_err
spool_open(const struct spool_where *w, const char *user, const char *folder,
           struct spool **sp_r)
{
	char path[SPOOL_PATH_MAX];
	bool deflt;
	const struct spool_backend *be;

	if (remote_channel >= 0)
		return spool_remote_open(remote_channel, user, folder, sp_r);
	*sp_r = NULL;
	enum spool_err e = spool_resolve(w, user, folder, path, &deflt);
	if (e == SPOOL_OK)
		e = spool_detect(path, &be);
	if (e == SPOOL_ENOENT && deflt)
		e = SPOOL_OK; /* no mail yet: an empty maildrop, nothing created */
	if (e != SPOOL_OK)
		return e;

	struct spool *sp = calloc(1, sizeof *sp);
	if (!sp || !(sp->path = strdup(path))) {
		free(sp);
		return SPOOL_ETEMP;
	}
	sp->fd = -1;
	sp->reuse_xuidl = w->reuse_xuidl;
	if (be) {
		/* The session lock is held from here until spool_close. */
		char *side = be == &mbox_backend
		           ? spool_strcat3(path, ".pop-lock", NULL)
		           : spool_strcat3(path, "/postoffice.lock", NULL);
		e = side ? lock_session_take(side, &sp->session) : SPOOL_ETEMP;
		free(side);
		if (e == SPOOL_OK) {
			sp->be = be;
			e = be->open(sp);
		}
	}
	if (e != SPOOL_OK) {
		spool_close(sp);
		return e;
	}
	spool_limit(sp, w);
	*sp_r = sp;
	return SPOOL_OK;
}

size_t
spool_count(const struct spool *sp)
{
	return sp->shown;
}

/* Every accessor below reads either the full messages of a backend or
 * the compact listing of remote.c (backend.h, struct spool_list). */

uint64_t
spool_size(const struct spool *sp, size_t idx)
{
	if (idx >= sp->shown)
		return 0;
	return sp->list ? sp->list->e[idx].size : sp->msgs[idx].size;
}

const char *
spool_uid(const struct spool *sp, size_t idx)
{
	if (idx >= sp->shown)
		return "";
	if (sp->list)
		return (const char *)sp->list->buf + sp->list->e[idx].uid;
	return sp->msgs[idx].uid;
}

/* Where IDX's envelope is kept, NULL while there is no room for it. */
static char *const *
spool_envelope_at(const struct spool *sp, size_t idx)
{
	if (!sp->list)
		return &sp->msgs[idx].envelope;
	return sp->list->envelopes ? &sp->list->envelopes[idx] : NULL;
}

const char *
spool_envelope(const struct spool *sp, size_t idx)
{
	if (idx >= sp->shown)
		return "";
	/* Fetched on first use: only POP1 shows envelopes.  SP is never
	 * defined const; the accessor is const for its callers' sake. */
	char *const *env = spool_envelope_at(sp, idx);
	if ((!env || !*env) && sp->be && sp->be->envelopes) {
		sp->be->envelopes((struct spool *)(uintptr_t)sp);
		env = spool_envelope_at(sp, idx);
	}
	return env && *env ? *env : "";
}

bool
spool_is_deleted(const struct spool *sp, size_t idx)
{
	if (idx >= sp->shown)
		return false;
	return sp->list ? sp->list->e[idx].deleted : sp->msgs[idx].deleted;
}

void
spool_set_deleted(struct spool *sp, size_t idx, bool deleted)
{
	if (idx >= sp->shown)
		return;
	if (sp->list)
		sp->list->e[idx].deleted = deleted;
	else
		sp->msgs[idx].deleted = deleted;
}

void
spool_undelete_all(struct spool *sp)
{
	for (size_t i = 0; i < sp->shown; i++)
		spool_set_deleted(sp, i, false);
}

size_t
spool_live_count(const struct spool *sp)
{
	size_t n = 0;
	for (size_t i = 0; i < sp->shown; i++)
		n += !spool_is_deleted(sp, i);
	return n;
}

uint64_t
spool_live_size(const struct spool *sp)
{
	uint64_t n = 0;
	for (size_t i = 0; i < sp->shown; i++)
		if (!spool_is_deleted(sp, i))
			n += spool_size(sp, i);
	return n;
}

enum spool_err
spool_pread_full(int fd, unsigned char *buf, size_t len, uint64_t off)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) /* shorter than at open: truncated behind our back */
			return n == 0 ? SPOOL_ECHANGED : SPOOL_ETEMP;
		got += (size_t)n;
	}
	return SPOOL_OK;
}

enum spool_err
spool_source(struct spool *sp, size_t idx, int *fd_r, uint64_t *off_r,
             uint64_t *len_r)
{
	*fd_r = -1;
	if (idx >= sp->shown || !sp->be)
		return SPOOL_EINVAL;
	if (sp->be->source)
		return sp->be->source(sp, idx, fd_r, off_r, len_r);
	return sp->be->locate(sp, idx, fd_r, off_r, len_r);
}

/* Every backend's messages are read here, from the range its locate (or
 * source) names, and checked the same way: the size announced at open
 * must still be true, the cheap guard against an edit by a program that
 * ignores locks (a Maildir file edited in place, an mbox rewritten). */
enum spool_err
spool_read(struct spool *sp, size_t idx, const unsigned char **data_r,
           size_t *len_r)
{
	int fd;
	uint64_t off, len;
	enum spool_err e = spool_source(sp, idx, &fd, &off, &len);
	if (e != SPOOL_OK)
		return e;
	if (fd >= 0) {
		e = len < SIZE_MAX && spool_buf_reserve(sp, (size_t)len)
		  ? spool_pread_full(fd, sp->buf, (size_t)len, off) : SPOOL_ETEMP;
		close(fd);
	}
	if (e == SPOOL_OK && wire_size(sp->buf, (size_t)len) != spool_size(sp, idx))
		e = SPOOL_ECHANGED;
	*data_r = sp->buf;
	*len_r = (size_t)len;
	return e;
}

enum spool_err
spool_locate(struct spool *sp, size_t idx, int *fd_r, uint64_t *off_r,
             uint64_t *len_r)
{
	if (idx >= sp->shown || !sp->be || !sp->be->locate)
		return SPOOL_EINVAL;
	return sp->be->locate(sp, idx, fd_r, off_r, len_r);
}

enum spool_err
spool_commit(struct spool *sp)
{
	enum spool_err e = SPOOL_OK;
	if (sp->be && spool_live_count(sp) < sp->shown)
		e = sp->be->commit(sp);
	spool_close(sp);
	return e;
}

static void
spool_list_free(struct spool_list *l, size_t count)
{
	if (!l)
		return;
	for (size_t i = 0; l->envelopes && i < count; i++)
		free(l->envelopes[i]);
	free(l->envelopes);
	free(l->e);
	free(l->buf);
	free(l);
}

void
spool_close(struct spool *sp)
{
	if (!sp)
		return;
	spool_stream_end(sp);
	if (sp->be)
		sp->be->close(sp);
	for (size_t i = 0; sp->msgs && i < sp->count; i++) {
		free(sp->msgs[i].envelope);
		free(sp->msgs[i].name);
		free(sp->msgs[i].given_uid);
		free(sp->msgs[i].pin);
	}
	free(sp->msgs);
	spool_list_free(sp->list, sp->count);
	free(sp->buf);
	free(sp->path);
	/* Last: the maildrop is ours until everything above is let go. */
	lock_session_release(sp->session);
	free(sp);
}

/* A header field's first line: a name of printable octets, then ':'
 * (RFC 5322 §2.2). */
static bool
spool_is_header(const unsigned char *p, size_t len)
{
	size_t i = 0;
	while (i < len && p[i] > 0x20 && p[i] < 0x7F && p[i] != ':')
		i++;
	return i > 0 && i < len && p[i] == ':';
}

/* Splits a message for delivery into its optional leading "From " line
 * (returned as the envelope, without line end) and the RFC 5322 rest. */
static enum spool_err
spool_deliver_split(const unsigned char *msg, size_t len, char **env_r,
                    const unsigned char **body_r, size_t *blen_r)
{
	*env_r = NULL;
	if (len >= 5 && memcmp(msg, "From ", 5) == 0) {
		const unsigned char *lf = memchr(msg, '\n', len);
		size_t n = lf ? (size_t)(lf - msg) : len;
		size_t skip = lf ? n + 1 : n;
		if (n > 0 && msg[n - 1] == '\r')
			n--;
		if (memchr(msg, '\0', n))
			return SPOOL_EINVAL;
		if (!(*env_r = malloc(n + 1)))
			return SPOOL_ETEMP;
		memcpy(*env_r, msg, n);
		(*env_r)[n] = '\0';
		msg += skip;
		len -= skip;
	}
	if (len == 0 || !spool_is_header(msg, len)) {
		free(*env_r);
		*env_r = NULL;
		return SPOOL_EINVAL;
	}
	*body_r = msg;
	*blen_r = len;
	return SPOOL_OK;
}

enum spool_err
spool_deliver(const struct spool_where *w, const char *user,
              const char *sender, const unsigned char *msg, size_t len)
{
	char path[SPOOL_PATH_MAX];
	if (!spool_expand(w->mailbox, user, path, sizeof path))
		return SPOOL_EINVAL;

	char *env;
	const unsigned char *body;
	size_t blen;
	enum spool_err e = spool_deliver_split(msg, len, &env, &body, &blen);
	if (e != SPOOL_OK)
		return e;

	const struct spool_backend *be;
	e = spool_detect(path, &be);
	if (e == SPOOL_ENOENT) {
		be = &mbox_backend; /* first mail: an mbox is created */
		e = SPOOL_OK;
	}
	if (e == SPOOL_OK)
		e = be->deliver(path, env, sender, body, blen);
	free(env);
	return e;
}

/* Makes the Maildir PATH (and its three subfolders) where missing. */
static enum spool_err
spool_make_maildir(const char *path)
{
	static const char *const sub[] = { "", "/tmp", "/new", "/cur" };
	char dir[SPOOL_PATH_MAX];
	for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
		if (snprintf(dir, sizeof dir, "%s%s", path, sub[i]) >= (int)sizeof dir)
			return SPOOL_EPERM;
		if (mkdir(dir, 0700) == -1 && errno != EEXIST)
			return spool_from_errno(errno);
	}
	return SPOOL_OK;
}

enum spool_err
spool_append(const char *path, bool maildir, const char *envelope,
             const unsigned char *msg, size_t len)
{
	const struct spool_backend *be;
	if (len == 0 || (envelope && strchr(envelope, '\n')))
		return SPOOL_EINVAL;
	enum spool_err e = maildir ? spool_make_maildir(path) : SPOOL_OK;
	if (e == SPOOL_OK)
		e = spool_detect(path, &be);
	if (e == SPOOL_ENOENT && !maildir) {
		be = &mbox_backend; /* a new mbox: its deliver creates it */
		e = SPOOL_OK;
	}
	if (e != SPOOL_OK)
		return e;
	if (be != (maildir ? &maildir_backend : &mbox_backend))
		return SPOOL_EPERM;
	return be->deliver(path, envelope, NULL, msg, len);
}

/* ---- helpers for the backends (backend.h) ---- */

char *
spool_strcat3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
	char *s = malloc(la + lb + lc + 1);
	if (!s)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	if (c)
		memcpy(s + la + lb, c, lc);
	s[la + lb + lc] = '\0';
	return s;
}

struct spool_msg *
spool_msg_add(struct spool *sp)
{
	if (sp->count == sp->cap) {
		size_t cap = sp->cap ? sp->cap * 2 : 4; /* small: an idle session keeps it */
		if (cap < sp->cap || cap > SIZE_MAX / sizeof *sp->msgs)
			return NULL;
		struct spool_msg *m = realloc(sp->msgs, cap * sizeof *m);
		if (!m)
			return NULL;
		sp->msgs = m;
		sp->cap = cap;
	}
	struct spool_msg *m = &sp->msgs[sp->count++];
	memset(m, 0, sizeof *m);
	return m;
}

bool
spool_msg_reserve(struct spool *sp, size_t n)
{
	if (n <= sp->cap - sp->count)
		return true;
	if (n > SIZE_MAX / sizeof *sp->msgs - sp->count)
		return false;
	struct spool_msg *m = bigmem_realloc(sp->msgs, sp->count * sizeof *m,
	                                     (sp->count + n) * sizeof *m);
	if (!m)
		return false;
	sp->msgs = m;
	sp->cap = sp->count + n;
	return true;
}

bool
spool_buf_reserve(struct spool *sp, size_t len)
{
	if (len < 1)
		len = 1;
	if (len <= sp->bufcap)
		return true;
	unsigned char *b = realloc(sp->buf, len);
	if (!b)
		return false;
	sp->buf = b;
	sp->bufcap = len;
	return true;
}

bool
spool_uid_valid(const unsigned char *s, size_t len)
{
	if (len < 1 || len > UID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7E)
			return false;
	return true;
}

void
spool_md5_hex_uid(const void *data, size_t len, char uid[UID_MAX + 1])
{
	char hex[33];
	md5_hex(data, len, hex);
	memcpy(uid, hex, sizeof hex);
}

/* Appends "-K" to UID, hashing it first if the result would be too long. */
static void
spool_uid_suffix(char uid[UID_MAX + 1], size_t k)
{
	char sfx[24];
	int n = snprintf(sfx, sizeof sfx, "-%zu", k);
	if (strlen(uid) + (size_t)n > UID_MAX)
		spool_md5_hex_uid(uid, strlen(uid), uid);
	strcat(uid, sfx);
}

/* The ids handed out so far: an open-addressed hash set that never grows
 * (at most one id per message, at most half full).  NEXT is where the
 * search for a free "-K" of this id as a base resumes, so N identical
 * messages cost O(N), not O(N^2). */
struct spool_uidslot {
	const char *uid; /* points into the owning message's uid; NULL: free */
	size_t next;
};

struct spool_uidset {
	struct spool_uidslot *slot;
	size_t mask;
};

/* The slot holding UID, or the free slot where it would go. */
static struct spool_uidslot *
spool_uidset_find(const struct spool_uidset *t, const char *uid)
{
	uint64_t h = 14695981039346656037u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)uid; *p; p++)
		h = (h ^ *p) * 1099511628211u;
	size_t i = (size_t)h & t->mask;
	while (t->slot[i].uid && strcmp(t->slot[i].uid, uid) != 0)
		i = (i + 1) & t->mask;
	return &t->slot[i];
}

/* Gives M the id CAND (a free slot S of T). */
static void
spool_uid_take(struct spool_msg *m, const char *cand, struct spool_uidslot *s)
{
	if (m->uid != cand)
		strcpy(m->uid, cand);
	s->uid = m->uid;
	s->next = 2;
}

/* An unpinned message: its given id if still free, else its computed id,
 * else the computed id plus the first free suffix. */
static void
spool_uid_assign(const struct spool *sp, struct spool_msg *m,
                 const struct spool_uidset *t)
{
	struct spool_uidslot *s;
	if (sp->reuse_xuidl && m->given_uid &&
	    !(s = spool_uidset_find(t, m->given_uid))->uid) {
		spool_uid_take(m, m->given_uid, s);
		return;
	}
	s = spool_uidset_find(t, m->uid);
	if (!s->uid) {
		spool_uid_take(m, m->uid, s);
		return;
	}
	char cand[UID_MAX + 1];
	for (size_t k = s->next;; k++) {
		strcpy(cand, m->uid);
		spool_uid_suffix(cand, k);
		struct spool_uidslot *c = spool_uidset_find(t, cand);
		if (!c->uid) {
			s->next = k + 1;
			spool_uid_take(m, cand, c);
			return;
		}
	}
}

/*
 * Makes every uid unique (backend.h).  Ids pinned by an earlier session
 * are handed out first; then each message, in maildrop order, takes the
 * first free one of: its X-UIDL (with reuse_xuidl), its computed id, that
 * id plus "-2", "-3", ...  So the first of several identical messages
 * keeps the plain id, the first carrier of an X-UIDL value keeps it, and
 * since a message's choice depends only on the pins and the messages
 * before it, mail appended later never changes an earlier message's id.
 */
bool
spool_uids_unique(struct spool *sp)
{
	if (sp->count == 0)
		return true;
	size_t cap = 16;
	while (cap < 2 * sp->count) {
		if (cap > SIZE_MAX / 2 / sizeof(struct spool_uidslot))
			return false;
		cap *= 2;
	}
	struct spool_uidset t = { bigmem_calloc(cap, sizeof *t.slot), cap - 1 };
	if (!t.slot)
		return false;
	for (size_t i = 0; i < sp->count; i++) {
		struct spool_msg *m = &sp->msgs[i];
		if (!m->pin)
			continue;
		struct spool_uidslot *s = spool_uidset_find(&t, m->pin);
		if (!s->uid) {
			spool_uid_take(m, m->pin, s);
		} else {
			free(m->pin); /* pinned twice: the first keeps it */
			m->pin = NULL;
		}
	}
	for (size_t i = 0; i < sp->count; i++)
		if (!sp->msgs[i].pin)
			spool_uid_assign(sp, &sp->msgs[i], &t);
	free(t.slot);
	return true;
}

char *
spool_envelope_make(const char *sender, time_t when)
{
	char date[64];
	struct tm tm;

	if (!sender || !*sender || strcmp(sender, "<>") == 0)
		sender = "MAILER-DAEMON";
	/* asctime(3) layout, as Postfix and procmail write it. */
	if (!localtime_r(&when, &tm) ||
	    strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm) == 0)
		strcpy(date, "Thu Jan  1 00:00:00 1970");

	size_t slen = strnlen(sender, SPOOL_SENDER_MAX);
	char *env = malloc(5 + slen + 1 + strlen(date) + 1);
	if (!env)
		return NULL;
	memcpy(env, "From ", 5);
	for (size_t i = 0; i < slen; i++) {
		unsigned char c = (unsigned char)sender[i];
		/* The separator line is split at spaces by every reader. */
		env[5 + i] = (c <= 0x20 || c == 0x7F) ? '_' : (char)c;
	}
	env[5 + slen] = ' ';
	strcpy(env + 5 + slen + 1, date);
	return env;
}

enum spool_err
spool_write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? spool_from_errno(errno) : SPOOL_ETEMP;
		p += n;
		len -= (size_t)n;
	}
	return SPOOL_OK;
}

/* fsync(2) of the directory holding FILE, so a rename or link in it is
 * on disk before we report success. */
enum spool_err
spool_fsync_dir(const char *file)
{
	const char *slash = strrchr(file, '/');
	char *dir = slash ? strndup(file, (size_t)(slash - file)) : strdup(".");
	if (!dir)
		return SPOOL_ETEMP;
	int fd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return spool_from_errno(errno);
	enum spool_err e = SPOOL_OK;
	if (fsync(fd) == -1 && errno != EINVAL)
		e = SPOOL_ETEMP;
	close(fd);
	return e;
}
