/*
 * The mbox scan cache, <mbox>.pop-cache: what a scan found in a prefix
 * of the mbox (boundaries, wire sizes, uid digests, X-UIDL values,
 * envelopes), reused while that prefix is unchanged.  A second session
 * then hashes the prefix at memory speed instead of splitting it into
 * lines and taking the MD5 of every header, and scans only what follows.
 *
 *   postoffice-mbox-cache 1\n
 *   prefix COVERED HASH COUNT\n        [0, COVERED) and its hash64 (hex)
 *   FLEN LEN SEP SIZE BASE GIVEN ENVELOPE\n     COUNT times, in order
 *   end HASH\n                         the trailer (cache_file.h)
 *
 * Each message starts where the one before ends, the first at 0: its
 * From line takes FLEN octets, its content LEN, its separator (the empty
 * line before the next From line) SEP.  SIZE is its wire size, BASE the
 * hex MD5 of its From line and header (its computed id), GIVEN "-" or "="
 * and its X-UIDL value, ENVELOPE its From line without the line end.
 * COVERED is where the last message of the scan begins: the cache never
 * holds the last message, whose end is only where the scan stopped (an
 * append may continue a message that lacks its final empty line).
 *
 * Checked, never trusted: the cache is used only if it passes the
 * checks of cache_file.h, [0, COVERED) of the mbox has HASH now, a From
 * line begins at COVERED (or the file ends there), and every entry
 * parses and the entries add up to COVERED exactly; otherwise the whole
 * file is ignored and the mbox scanned from the start.  Since the ids
 * are computed from the same bytes either way, a cache can never make an
 * id or a size differ from a full scan's.
 *
 * Writers: only a session, after its scan, holding the session lock, so
 * one at a time per mbox (cache_file_put's temporary name is safe); it is
 * written outside the MTA locks, since it describes bytes already hashed.
 * Deliveries append beyond COVERED and leave the cache valid; a rewrite
 * of the mbox (our commit, mutt) changes the prefix, and the next session
 * scans afresh and writes a new one.
 */
#include "mbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache_file.h"
#include "hash64.h"

static const char mbox_cache_magic[] = "postoffice-mbox-cache 1";

/* Largest cache read: far more than the entries of any mbox we would
 * scan in reasonable time (about 100 octets a message). */
#define MBOX_CACHE_MAX ((uint64_t)1 << 32)

/* The cache's header: what it covers, and how many entries follow. */
struct mbox_cache {
	struct cache_reader r;
	uint64_t covered, hash, count;
};

static char *
mbox_cache_name(const char *mbox)
{
	return spool_strcat3(mbox, ".pop-cache", NULL);
}

/* Opens the cache and reads its two header lines. */
static bool
mbox_cache_open(const char *mbox, uid_t owner, struct mbox_cache *c)
{
	char *path = mbox_cache_name(mbox);
	bool ok = path && cache_reader_open(&c->r, path, owner, MBOX_CACHE_MAX);
	free(path);
	size_t n;
	const char *line = ok ? cache_reader_line(&c->r, &n) : NULL;
	if (!line || strcmp(line, mbox_cache_magic) != 0 ||
	    !(line = cache_reader_line(&c->r, &n)) || strncmp(line, "prefix ", 7))
		return false;
	const char *p = line + 7, *end = line + n + 1;
	return cache_parse_num(&p, end, ' ', &c->covered) &&
	       cache_parse_hex64(&p, end, ' ', &c->hash) &&
	       cache_parse_num(&p, end, '\0', &c->count) && p == end &&
	       c->covered > 0;
}

/* The base: 32 lower-case hex digits, then a space; they are the
 * message's computed id too. */
static bool
mbox_cache_base(const char **p, const char *end, struct spool_msg *m)
{
	const char *s = *p;
	if (end - s < 33 || s[32] != ' ')
		return false;
	for (int i = 0; i < 32; i++) {
		int v = s[i] >= '0' && s[i] <= '9' ? s[i] - '0'
		      : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 : -1;
		if (v < 0)
			return false;
		m->base[i / 2] = (unsigned char)(i % 2 ? m->base[i / 2] | v : v << 4);
	}
	memcpy(m->uid, s, 32);
	m->uid[32] = '\0';
	*p = s + 33;
	return true;
}

/* "-" or "=" and an X-UIDL value, then a space. */
static bool
mbox_cache_given(const char **p, const char *end, struct spool_msg *m)
{
	const char *s = *p, *gap = memchr(s, ' ', (size_t)(end - s));
	if (!gap)
		return false;
	size_t n = (size_t)(gap - s);
	if (*s == '=') {
		if (!spool_uid_valid((const unsigned char *)s + 1, n - 1) ||
		    !(m->given_uid = strndup(s + 1, n - 1)))
			return false;
	} else if (*s != '-' || n != 1) {
		return false;
	}
	*p = gap + 1;
	return true;
}

/* One entry, LINE of N octets, into M, which starts at AT of a prefix
 * of COVERED octets; false if it does not parse or does not fit. */
static bool
mbox_cache_entry(const char *line, size_t n, struct spool_msg *m,
                 uint64_t at, uint64_t covered)
{
	const char *p = line, *end = line + n;
	uint64_t flen, sep;
	if (!cache_parse_num(&p, end, ' ', &flen) ||
	    !cache_parse_num(&p, end, ' ', &m->len) ||
	    !cache_parse_num(&p, end, ' ', &sep) ||
	    !cache_parse_num(&p, end, ' ', &m->size) ||
	    flen < 6 || sep < 1 || sep > 2 || m->size < 2 ||
	    flen > covered - at || m->len > covered - at - flen ||
	    sep > covered - at - flen - m->len ||
	    !mbox_cache_base(&p, end, m) ||
	    !mbox_cache_given(&p, end, m))
		return false;
	m->from = at;
	m->off = at + flen;
	m->end = m->off + m->len + sep;
	/* the envelope: the From line without its line end, and no NUL */
	size_t elen = (size_t)(end - p);
	return elen >= 5 && elen < flen && memcmp(p, "From ", 5) == 0 &&
	       !memchr(p, '\0', elen) && (m->envelope = strndup(p, elen));
}

/* Appends the cached messages to SP, if they parse, add up to exactly
 * the prefix and the file's trailer is right; else takes them back. */
static bool
mbox_cache_apply(struct spool *sp, struct mbox_cache *c)
{
	size_t first = sp->count, n;
	uint64_t at = 0;
	const char *line;
	/* Each message takes at least 7 octets of the prefix ("From \n"
	 * and the separator): a bound on a forged count.  One more message,
	 * the last, is scanned. */
	if (c->count > c->covered / 7 ||
	    !spool_msg_reserve(sp, (size_t)c->count + 1))
		return false;
	for (uint64_t i = 0; i < c->count; i++) {
		struct spool_msg *m = spool_msg_add(sp);
		if (!m || !(line = cache_reader_line(&c->r, &n)) ||
		    !mbox_cache_entry(line, n, m, at, c->covered))
			goto bad;
		at = m->end;
	}
	if (at == c->covered && !cache_reader_line(&c->r, &n) && c->r.done)
		return true;
bad:
	for (size_t i = first; i < sp->count; i++) {
		free(sp->msgs[i].envelope);
		free(sp->msgs[i].given_uid);
	}
	sp->count = first;
	return false;
}

/* A From line begins at AT, or the first N octets end there. */
static bool
mbox_from_at(int fd, uint64_t at, uint64_t n)
{
	char five[5];
	if (at == n)
		return true;
	if (n - at < 5)
		return false;
	ssize_t got;
	do
		got = pread(fd, five, 5, (off_t)at);
	while (got < 0 && errno == EINTR);
	return got == 5 && memcmp(five, "From ", 5) == 0;
}

/* Uses the cache if it describes FD as it is: H then covers its prefix
 * and *START_R is where the scan must go on. */
static enum spool_err
mbox_cache_use(struct spool *sp, int fd, uid_t owner, struct hash64 *h,
               uint64_t *start_r)
{
	struct mbox_cache c = { .r = { .fd = -1 } };
	enum spool_err e = SPOOL_OK;
	if (mbox_cache_open(sp->path, owner, &c) && c.covered <= sp->scanned) {
		e = mbox_digest(fd, c.covered, h, NULL, 0);
		if (e == SPOOL_OK && hash64_final(h) == c.hash &&
		    mbox_from_at(fd, c.covered, sp->scanned) &&
		    mbox_cache_apply(sp, &c))
			*start_r = c.covered;
	}
	cache_reader_close(&c.r);
	return e;
}

enum spool_err
mbox_load(struct spool *sp, int fd, uid_t owner, struct mbox_snap *snap)
{
	struct hash64 h;
	uint64_t start = 0, last_hash = 0;
	hash64_init(&h);
	enum spool_err e = mbox_cache_use(sp, fd, owner, &h, &start);
	if (e == SPOOL_OK)
		e = mbox_scan(sp, fd, start, &h, &last_hash);
	if (e != SPOOL_OK)
		return e;
	sp->hash = hash64_final(&h);
	/* A new cache is worth writing if it would cover more. */
	*snap = (struct mbox_snap){ 0 };
	if (sp->count >= 2 && sp->msgs[sp->count - 1].from > start) {
		snap->covered = sp->msgs[sp->count - 1].from;
		snap->hash = last_hash;
		snap->save = true;
	}
	return SPOOL_OK;
}

void
mbox_cache_save(const struct spool *sp, const struct mbox_snap *snap,
                const struct stat *st)
{
	size_t n = 0;
	for (; n < sp->count && sp->msgs[n].from < snap->covered; n++)
		if (strlen(sp->msgs[n].envelope) > CACHE_LINE_MAX - 256)
			return; /* a line too long for a cache: no cache */
	char *path = mbox_cache_name(sp->path);
	struct cache_writer w;
	if (!path)
		return;
	cache_writer_open(&w, path); /* on failure the writes do nothing */
	free(path);
	cache_writer_str(&w, mbox_cache_magic);
	cache_writer_str(&w, "\nprefix ");
	cache_writer_num(&w, snap->covered, ' ');
	cache_writer_hex64(&w, snap->hash, ' ');
	cache_writer_num(&w, n, '\n');
	for (size_t i = 0; i < n && !w.failed; i++) {
		const struct spool_msg *m = &sp->msgs[i];
		cache_writer_num(&w, m->off - m->from, ' ');
		cache_writer_num(&w, m->len, ' ');
		cache_writer_num(&w, m->end - m->off - m->len, ' ');
		cache_writer_num(&w, m->size, ' ');
		char base[33];
		mbox_base_hex(m, base);
		cache_writer_add(&w, base, 32);
		cache_writer_str(&w, m->given_uid ? " =" : " -");
		if (m->given_uid)
			cache_writer_str(&w, m->given_uid);
		cache_writer_str(&w, " ");
		cache_writer_str(&w, m->envelope);
		cache_writer_str(&w, "\n");
	}
	cache_writer_close(&w, true, st);
}
