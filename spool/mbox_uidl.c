/*
 * The mbox id sidecar, <mbox>.pop-uidl: the ids that identical messages
 * (same From line and header, told apart only by a "-K" suffix given in
 * maildrop order) had when a commit rewrote the mbox, so that deleting
 * one twin does not rename the others.  No stateless scheme can tell
 * twins apart; this file remembers which is which.
 *
 * It is only a hint.  Written at commit under the MTA locks, read at open
 * under them, and applied only when everything checks:
 *
 *   postoffice-uidl 1\n
 *   mbox SIZE MD5\n             a section: a file's length and its MD5
 *   OFFSET BASE ID\n            one per message whose id is not the one
 *   ...                         it would be given first (a suffixed twin)
 *   mbox SIZE MD5\n             at most one more section
 *   ...
 *
 * The first section describes the new mbox, the second the old one as
 * the session saw it, so the ids survive whichever of the two a crash
 * leaves.  OFFSET is where the message's From line starts, BASE the hex
 * MD5 of its From line and header (its computed id before any suffix),
 * ID its id.  A section applies only if the mbox's first SIZE octets
 * still have that MD5 (mail appended since is fine, a file another
 * program rewrote is not); of those, the longest wins, and in it an entry
 * applies only if the message at OFFSET still has that BASE.  Every
 * message in that prefix then gets the id it had (those without an entry
 * had their first choice, which is still free).  A missing, unreadable,
 * foreign, oversized or malformed file, or one that matches nothing,
 * gives computed ids; spool_uids_unique keeps every id unique whatever
 * the pins say.
 */
#include "mbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_file.h"

static const char mbox_uidl_magic[] = "postoffice-uidl 1\n";

/* Longest decimal offset or size we write or accept: 2^64 - 1. */
#define MBOX_UIDL_NUM_MAX 20

static char *
mbox_uidl_name(const char *mbox, bool tmp)
{
	return spool_strcat3(mbox, ".pop-uidl", tmp ? "-new" : NULL);
}

/* ---- reading ---- */

/* A decimal number without sign or leading zero, ending at STOP. */
static bool
mbox_uidl_num(char **p, const char *end, char stop, uint64_t *v_r)
{
	const char *s = *p;
	if (!cache_parse_num(&s, end, stop, v_r))
		return false;
	*p += s - *p;
	return true;
}

/* 32 lower-case hex digits, ending at STOP (overwritten with NUL). */
static bool
mbox_uidl_hex(char **p, const char *end, char stop, char **hex_r)
{
	char *s = *p;
	if (end - s < 33 || s[32] != stop)
		return false;
	for (int i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	s[32] = '\0';
	*hex_r = s;
	*p = s + 33;
	return true;
}

static int
mbox_uidl_hexval(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* "mbox SIZE MD5\n": a section header. */
static bool
mbox_uidl_sec(struct mbox_uidl *u, char **p, const char *end)
{
	struct mbox_uidl_sec *sec = &u->sec[u->nsec];
	char *hex;
	if (u->nsec == MBOX_UIDL_SECTIONS || end - *p < 5 ||
	    memcmp(*p, "mbox ", 5) != 0)
		return false;
	*p += 5;
	if (!mbox_uidl_num(p, end, ' ', &sec->size) ||
	    !mbox_uidl_hex(p, end, '\n', &hex))
		return false;
	for (int i = 0; i < 16; i++)
		sec->digest[i] = (unsigned char)(mbox_uidl_hexval(hex[2 * i]) << 4 |
		                                 mbox_uidl_hexval(hex[2 * i + 1]));
	sec->first = u->n;
	u->nsec++;
	return true;
}

/* "OFFSET BASE ID\n": an entry of the current section. */
static bool
mbox_uidl_entry(struct mbox_uidl *u, char **p, const char *end)
{
	struct mbox_uidl_sec *sec = &u->sec[u->nsec - 1];
	struct mbox_uidl_entry *e = &u->e[u->n];
	if (!mbox_uidl_num(p, end, ' ', &e->off) || e->off >= sec->size ||
	    (sec->n > 0 && e->off <= e[-1].off) ||
	    !mbox_uidl_hex(p, end, ' ', &e->base))
		return false;
	char *nl = memchr(*p, '\n', (size_t)(end - *p));
	if (!nl || !spool_uid_valid((unsigned char *)*p, (size_t)(nl - *p)))
		return false;
	*nl = '\0';
	e->uid = *p;
	*p = nl + 1;
	sec->n++;
	u->n++;
	return true;
}

/* The file's LEN octets, parsed in place; false if anything in them is
 * not exactly what mbox_uidl_write writes. */
static bool
mbox_uidl_parse(struct mbox_uidl *u, size_t len)
{
	char *p = u->text, *end = u->text + len;
	size_t ml = sizeof mbox_uidl_magic - 1;
	if (len < ml || memcmp(p, mbox_uidl_magic, ml) != 0)
		return false;
	p += ml;
	/* An entry takes at least 37 octets ("0 ", 32 hex digits, " ", a
	 * one-octet id, "\n"): a bound for the array. */
	if (!(u->e = calloc((size_t)(end - p) / 37 + 1, sizeof *u->e)))
		return false;
	if (!mbox_uidl_sec(u, &p, end))
		return false;
	while (p < end)
		if (!(*p == 'm' ? mbox_uidl_sec(u, &p, end)
		                : mbox_uidl_entry(u, &p, end)))
			return false;
	return true;
}

struct mbox_uidl *
mbox_uidl_read(const char *mbox, uid_t owner)
{
	char *side = mbox_uidl_name(mbox, false);
	struct mbox_uidl *u = side ? calloc(1, sizeof *u) : NULL;
	size_t len;
	if (u)
		u->text = cache_file_slurp(side, owner, MBOX_UIDL_MAX, &len);
	free(side);
	if (u && u->text && mbox_uidl_parse(u, len))
		return u;
	mbox_uidl_free(u);
	return NULL;
}

void
mbox_uidl_free(struct mbox_uidl *u)
{
	if (!u)
		return;
	free(u->e);
	free(u->text);
	free(u);
}

enum spool_err
mbox_uidl_apply(struct spool *sp, const struct mbox_uidl *u,
                const struct mbox_mark *marks)
{
	const struct mbox_uidl_sec *sec = NULL;
	for (size_t i = 0; i < u->nsec; i++)
		if (marks[i].done && marks[i].at == u->sec[i].size &&
		    memcmp(marks[i].digest, u->sec[i].digest, 16) == 0 &&
		    (!sec || u->sec[i].size > sec->size))
			sec = &u->sec[i];
	if (!sec)
		return SPOOL_OK; /* rewritten by another program since */
	size_t j = 0;
	for (size_t i = sec->first; i < sec->first + sec->n; i++) {
		while (j < sp->count && sp->msgs[j].from < u->e[i].off)
			j++;
		if (j == sp->count)
			break;
		struct spool_msg *m = &sp->msgs[j];
		char base[33];
		mbox_base_hex(m, base);
		if (m->from != u->e[i].off || strcmp(base, u->e[i].base) != 0)
			continue;
		if (!(m->pin = strdup(u->e[i].uid)))
			return SPOOL_ETEMP;
	}
	return SPOOL_OK;
}

/* ---- writing ---- */

/* M's id is not the one it would be given first: the sidecar keeps it. */
static bool
mbox_uidl_suffixed(const struct spool *sp, const struct spool_msg *m)
{
	char base[33];
	mbox_base_hex(m, base);
	return strcmp(m->uid, sp->reuse_xuidl && m->given_uid ? m->given_uid
	                                                       : base) != 0;
}

/* The text being built, never longer than MBOX_UIDL_MAX. */
struct mbox_uidl_text {
	char *buf;
	size_t len;
	size_t entries;
};

/* Appends a section for the file of SIZE octets and MD5 DIGEST: an entry
 * for each message (the kept ones only if KEPT) whose id is not the one
 * it would be given first; the offsets are those of the new file if KEPT
 * (mbox_copy_kept copies each kept message's [from, end) in order), else
 * the old ones.  Entries that would not fit are left out: those messages
 * fall back to computed ids. */
static void
mbox_uidl_section(struct mbox_uidl_text *t, const struct spool *sp,
                  bool kept, uint64_t size, const unsigned char digest[16])
{
	char line[MBOX_UIDL_NUM_MAX + 34 + UID_MAX + 2];
	char dhex[33], base[33];
	mbox_hex(digest, 16, dhex);
	int n = snprintf(line, sizeof line, "mbox %llu %s\n",
	                 (unsigned long long)size, dhex);
	if (n < 0 || (size_t)n > MBOX_UIDL_MAX - t->len)
		return;
	memcpy(t->buf + t->len, line, (size_t)n);
	t->len += (size_t)n;
	uint64_t off = 0;
	for (size_t i = 0; i < sp->count; i++) {
		const struct spool_msg *m = &sp->msgs[i];
		if (kept && m->deleted)
			continue;
		uint64_t at = kept ? off : m->from;
		off += m->end - m->from;
		if (!mbox_uidl_suffixed(sp, m))
			continue;
		mbox_base_hex(m, base);
		n = snprintf(line, sizeof line, "%llu %s %s\n",
		             (unsigned long long)at, base, m->uid);
		if (n < 0 || (size_t)n >= sizeof line ||
		    (size_t)n > MBOX_UIDL_MAX - t->len)
			return;
		memcpy(t->buf + t->len, line, (size_t)n);
		t->len += (size_t)n;
		t->entries++;
	}
}

bool
mbox_uidl_wanted(const struct spool *sp)
{
	for (size_t i = 0; i < sp->count; i++)
		if (mbox_uidl_suffixed(sp, &sp->msgs[i]))
			return true;
	return false;
}

enum spool_err
mbox_uidl_write(const struct spool *sp, uint64_t size,
                const unsigned char digest[16],
                const unsigned char old_digest[16], const struct stat *st)
{
	char *side = mbox_uidl_name(sp->path, false);
	char *tmp = mbox_uidl_name(sp->path, true);
	struct mbox_uidl_text t = { malloc(MBOX_UIDL_MAX), 0, 0 };
	enum spool_err e = side && tmp && t.buf ? SPOOL_OK : SPOOL_ETEMP;
	if (e == SPOOL_OK) {
		size_t ml = sizeof mbox_uidl_magic - 1;
		memcpy(t.buf, mbox_uidl_magic, ml);
		t.len = ml;
		mbox_uidl_section(&t, sp, true, size, digest);
		mbox_uidl_section(&t, sp, false, sp->scanned, old_digest);
		if (t.entries > 0) {
			/* Only a commit holding the MTA locks writes TMP. */
			e = cache_file_put(tmp, side, t.buf, t.len, st, true);
			/* In place before the mbox it describes. */
			if (e == SPOOL_OK)
				spool_fsync_dir(side);
		} else if (unlink(side) == 0) {
			/* No suffixed id to remember.  Failing to remove the
			 * old file is harmless: it is checked at open. */
			spool_fsync_dir(side);
		}
	}
	free(t.buf);
	free(tmp);
	free(side);
	return e;
}
