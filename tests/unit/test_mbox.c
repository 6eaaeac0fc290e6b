/*
 * The mbox backend through the spool API: parsing, sizes, uids, commit,
 * locks, and failures injected at the write/fsync/rename seam (a kill at
 * every step of a commit must leave the old or the new file, whole).
 */
#include "test_spool_util.h"

#include <signal.h>
#include <time.h>

#include "lock.h"
#include "mbox.h"
#include "md5.h"
#include "wire.h"

/* ---- the seam: every write, fsync and rename of the library ---- */

ssize_t __real_write(int fd, const void *buf, size_t n);
int __real_fsync(int fd);
int __real_rename(const char *from, const char *to);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
int __wrap_fsync(int fd);
int __wrap_rename(const char *from, const char *to);

static int seam_calls;   /* calls seen since the counter was reset */
static int seam_fail_at; /* fail this call with seam_errno (0: never) */
static int seam_errno;
static int seam_kill_at; /* SIGKILL ourselves at this call (0: never) */
static bool seam_kill_half; /* ... after writing half of that write */

static void
seam_reset(int fail_at, int err, int kill_at)
{
	seam_calls = 0;
	seam_fail_at = fail_at;
	seam_errno = err;
	seam_kill_at = kill_at;
	seam_kill_half = false;
}

/* True if this call must fail. */
static bool
seam_step(void)
{
	seam_calls++;
	if (seam_kill_at && seam_calls == seam_kill_at)
		raise(SIGKILL);
	if (seam_fail_at && seam_calls == seam_fail_at) {
		errno = seam_errno;
		return true;
	}
	return false;
}

ssize_t
__wrap_write(int fd, const void *buf, size_t n)
{
	if (seam_kill_half && seam_calls + 1 == seam_kill_at) {
		if (n / 2 > 0)
			__real_write(fd, buf, n / 2); /* a write cut short by death */
		raise(SIGKILL);
	}
	return seam_step() ? -1 : __real_write(fd, buf, n);
}

int
__wrap_fsync(int fd)
{
	return seam_step() ? -1 : __real_fsync(fd);
}

int
__wrap_rename(const char *from, const char *to)
{
	return seam_step() ? -1 : __real_rename(from, to);
}

/* ---- fixtures ---- */

#define M1 "From a@example.org Mon Jan  1 00:00:00 2024\n"
#define B1 "Subject: one\n\nbody\n"
#define M2 "From c@example.org Mon Jan  1 00:00:01 2024\n"
#define B2 "Subject: two\n\nline\nFrom inside a paragraph\n>From quoted\n"
#define M3 "From e@example.org Mon Jan  1 00:00:02 2024\n"
#define B3 "Subject: three\n\nlast\n"
#define THREE M1 B1 "\n" M2 B2 "\n" M3 B3

static size_t
lf_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
test_parse_three(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, THREE);
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 3);
	tfx_assert_msg(sp, 0, B1);
	tfx_assert_msg(sp, 1, B2); /* From after a non-blank line, >From: content */
	tfx_assert_msg(sp, 2, B3);
	assert_int_equal(spool_size(sp, 0), strlen(B1) + lf_lines(B1));
	assert_int_equal(spool_size(sp, 1), strlen(B2) + lf_lines(B2));
	assert_int_equal(spool_size(sp, 2), strlen(B3) + lf_lines(B3));
	assert_int_equal(spool_live_size(sp), spool_size(sp, 0) +
	                 spool_size(sp, 1) + spool_size(sp, 2));
	assert_string_equal(spool_envelope(sp, 1), "From c@example.org Mon Jan  1 00:00:01 2024");
	tfx_assert_sizes(sp);
	spool_close(sp);
}

static void
test_parse_crlf(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, "From a\r\nSubject: x\r\n\r\nbody\r\n\r\n"
	                    "From b\r\nSubject: y\r\n\r\nz\r\n");
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 2);
	tfx_assert_msg(sp, 0, "Subject: x\r\n\r\nbody\r\n");
	tfx_assert_msg(sp, 1, "Subject: y\r\n\r\nz\r\n");
	assert_int_equal(spool_size(sp, 0), strlen("Subject: x\r\n\r\nbody\r\n"));
	assert_string_equal(spool_envelope(sp, 0), "From a");
	tfx_assert_sizes(sp);
	spool_close(sp);
}

static void
test_parse_edges(void **state)
{
	struct tfx *f = *state;
	/* no final newline; a trailing empty line at EOF is a separator */
	tfx_writes(f->path, "From a\nSubject: x\n\nno newline");
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 1);
	tfx_assert_msg(sp, 0, "Subject: x\n\nno newline");
	assert_int_equal(spool_size(sp, 0), strlen("Subject: x\n\nno newline") + 2 + 2);
	spool_close(sp);

	/* empty bodies, a From line without line end, a trailing blank */
	tfx_writes(f->path, "From a\n\nFrom b\nX: y\n\n\nFrom c");
	sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 3);
	tfx_assert_msg(sp, 0, "");
	assert_int_equal(spool_size(sp, 0), 2); /* never 0 octets */
	tfx_assert_msg(sp, 1, "X: y\n\n");
	tfx_assert_msg(sp, 2, "");
	assert_string_equal(spool_envelope(sp, 2), "From c");
	tfx_assert_sizes(sp);
	spool_close(sp);

	/* an empty file is an empty maildrop */
	tfx_writes(f->path, "");
	sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 0);
	spool_close(sp);
}

static void
test_parse_leading_junk_refused(void **state)
{
	struct tfx *f = *state;
	struct spool *sp = NULL;
	tfx_writes(f->path, "junk\n" M1 B1);
	assert_int_equal(spool_open(&f->where, "alice", NULL, &sp), SPOOL_EPERM);
	assert_null(sp);
	/* nothing stays locked after the refusal */
	tfx_writes(f->path, M1 B1);
	sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 1);
	spool_close(sp);
}

static void
test_parse_binary(void **state)
{
	struct tfx *f = *state;
	size_t big = 200000, len = 0;
	unsigned char *d = malloc(big + 256);
	assert_non_null(d);
	const char *hdr = "From x\nSubject: bin\n\n";
	memcpy(d, hdr, strlen(hdr));
	len = strlen(hdr);
	const unsigned char junk[] = { 0, 0xff, 0x80, '\r', 'a', '\r', '\n', 0, '\n' };
	memcpy(d + len, junk, sizeof junk);
	len += sizeof junk;
	memset(d + len, 'x', big); /* a line longer than any buffer */
	len += big;
	memcpy(d + len, "\n\nFrom y\n\x01\x02", 11);
	len += 11;
	tfx_write(f->path, d, len);

	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 2);
	size_t got;
	char *m = tfx_msg(sp, 0, &got);
	size_t want = len - strlen("From x\n") - 11 + 1; /* up to the body's LF */
	assert_int_equal(got, want);
	assert_memory_equal(m, d + strlen("From x\n"), want);
	free(m);
	tfx_assert_msg(sp, 1, "\x01\x02");
	tfx_assert_sizes(sp);
	spool_close(sp);
	free(d);
}

static void
test_uids_identical_messages(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, M1 B1 "\n" M1 B1 "\n" M1 B1);
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 3);
	char u0[UID_MAX + 1], u1[UID_MAX + 1], u2[UID_MAX + 1];
	strcpy(u0, spool_uid(sp, 0));
	strcpy(u1, spool_uid(sp, 1));
	strcpy(u2, spool_uid(sp, 2));
	assert_int_equal(strlen(u0), 32);
	assert_string_not_equal(u0, u1);
	assert_string_not_equal(u1, u2);
	char want[UID_MAX + 1];
	snprintf(want, sizeof want, "%s-2", u0);
	assert_string_equal(u1, want);
	spool_close(sp);

	sp = tfx_open(f); /* stable across sessions */
	assert_string_equal(spool_uid(sp, 0), u0);
	assert_string_equal(spool_uid(sp, 1), u1);
	assert_string_equal(spool_uid(sp, 2), u2);
	spool_close(sp);
}

/* N copies of one small message (same From line too) as alice's mbox. */
static void
write_many_identical(struct tfx *f, size_t n)
{
	const char *one = "From x\nSubject: same\n\n\n";
	size_t ol = strlen(one);
	char *all = malloc(n * ol);
	assert_non_null(all);
	for (size_t i = 0; i < n; i++)
		memcpy(all + i * ol, one, ol);
	tfx_write(f->path, all, n * ol);
	free(all);
}

/* Many identical messages: the array grows, every uid stays unique. */
static void
test_many_identical_messages(void **state)
{
	struct tfx *f = *state;
	size_t n = 3000;
	write_many_identical(f, n);
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), n);
	char want[UID_MAX + 1];
	snprintf(want, sizeof want, "%s-%zu", spool_uid(sp, 0), n);
	assert_string_equal(spool_uid(sp, n - 1), want);
	assert_int_equal(spool_live_size(sp), n * strlen("Subject: same\r\n\r\n"));
	spool_close(sp);
}

static void
test_uid_ignores_rewritten_headers(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, M1 "Subject: s\n\nbody\n");
	struct spool *sp = tfx_open(f);
	char u[UID_MAX + 1];
	strcpy(u, spool_uid(sp, 0));
	spool_close(sp);

	/* a mail reader marked it read: the uid must not change */
	tfx_writes(f->path, M1 "Subject: s\nStatus: RO\nX-Status: A\n"
	                    "X-UID: 7\n\tfolded\n\nbody\n");
	sp = tfx_open(f);
	assert_string_equal(spool_uid(sp, 0), u);
	spool_close(sp);

	tfx_writes(f->path, M1 "Subject: other\n\nbody\n");
	sp = tfx_open(f);
	assert_string_not_equal(spool_uid(sp, 0), u);
	spool_close(sp);
}

static void
test_uid_xuidl(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, M1 "X-UIDL: dup\n\na\n\n" M2 "X-UIDL: dup\n\nb\n\n"
	                    M3 "X-UIDL:  mine-1 \n\nc\n\n" M3 "X-UIDL: bad uid\n\nd\n");
	f->where.reuse_xuidl = true;
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 4);
	/* the first carrier keeps the value; a later copy (a forwarded or
	 * re-sent message) falls back to its digest */
	assert_string_equal(spool_uid(sp, 0), "dup");
	assert_int_equal(strlen(spool_uid(sp, 1)), 32);
	assert_string_equal(spool_uid(sp, 2), "mine-1");
	assert_int_equal(strlen(spool_uid(sp, 3)), 32); /* invalid: digest */
	spool_close(sp);

	/* a copy of message 3 arrives: message 3 keeps its id */
	const char *copy = M3 "X-UIDL: mine-1\n\nc\n";
	assert_int_equal(spool_deliver(&f->where, "alice", NULL,
	                 (const unsigned char *)copy, strlen(copy)), SPOOL_OK);
	sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 5);
	assert_string_equal(spool_uid(sp, 0), "dup");
	assert_string_equal(spool_uid(sp, 2), "mine-1");
	assert_string_not_equal(spool_uid(sp, 4), "mine-1");
	spool_close(sp);

	f->where.reuse_xuidl = false;
	sp = tfx_open(f);
	assert_int_equal(strlen(spool_uid(sp, 2)), 32);
	spool_close(sp);
}

/* ---- ids of identical messages across commits (the sidecar) ---- */

#define TWIN M1 B1

/* All ids of alice's maildrop, space-separated, checked unique and
 * well-formed; the caller frees it. */
static char *
uids_now(struct tfx *f)
{
	struct spool *sp = tfx_open(f);
	size_t n = spool_count(sp);
	char *all = calloc(n + 1, UID_MAX + 1);
	assert_non_null(all);
	for (size_t i = 0; i < n; i++) {
		const char *u = spool_uid(sp, i);
		assert_true(strlen(u) >= 1 && strlen(u) <= UID_MAX);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(u, spool_uid(sp, j));
		if (i > 0)
			strcat(all, " ");
		strcat(all, u);
	}
	spool_close(sp);
	return all;
}

static void
assert_uids(struct tfx *f, const char *want)
{
	char *got = uids_now(f);
	assert_string_equal(got, want);
	free(got);
}

/* Opens alice's maildrop, marks the messages whose bit is set in MASK
 * deleted, commits. */
static void
commit_deleting(struct tfx *f, unsigned mask)
{
	struct spool *sp = tfx_open(f);
	for (size_t i = 0; i < spool_count(sp); i++)
		if (i < 32 && (mask >> i & 1))
			spool_set_deleted(sp, i, true);
	assert_int_equal(spool_commit(sp), SPOOL_OK);
}

/* The computed ids of the twin and of M2 B2: the MD5 of the From line
 * and the header (docs/mailbox.md). */
static void
twin_ids(char d[33], char x[33])
{
	md5_hex(M1 "Subject: one\n", strlen(M1 "Subject: one\n"), d);
	md5_hex(M2 "Subject: two\n", strlen(M2 "Subject: two\n"), x);
}

static void
test_twin_keeps_id_when_the_other_is_deleted(void **state)
{
	struct tfx *f = *state;
	char d[33], x[33], want[256], side[160];
	twin_ids(d, x);
	snprintf(side, sizeof side, "%s.pop-uidl", f->path);
	tfx_writes(f->path, TWIN "\n" TWIN "\n" M2 B2);
	snprintf(want, sizeof want, "%s %s-2 %s", d, d, x);
	assert_uids(f, want);
	assert_false(tfx_exists(side)); /* nothing to remember yet */

	commit_deleting(f, 1);
	assert_true(tfx_exists(side));
	snprintf(want, sizeof want, "%s-2 %s", d, x);
	assert_uids(f, want);
	assert_uids(f, want); /* the next session too: read-only */

	/* appended mail does not move the offsets the sidecar names */
	const char *late = "Subject: late\n\nz\n";
	assert_int_equal(spool_deliver(&f->where, "alice", NULL,
	                 (const unsigned char *)late, strlen(late)), SPOOL_OK);
	char *now = uids_now(f);
	assert_memory_equal(now, want, strlen(want));
	free(now);

	/* a commit that moves the twin carries its id to the new offset */
	tfx_writes(f->path, M2 B2 "\n" TWIN "\n" TWIN);
	snprintf(want, sizeof want, "%s %s %s-2", x, d, d);
	assert_uids(f, want);
	commit_deleting(f, 1 << 1);
	snprintf(want, sizeof want, "%s %s-2", x, d);
	assert_uids(f, want);
	commit_deleting(f, 1 << 0);
	snprintf(want, sizeof want, "%s-2", d);
	assert_uids(f, want);

	/* once no id is suffixed, the next commit removes the sidecar */
	commit_deleting(f, 1 << 0);
	assert_uids(f, "");
	const char *other = "Subject: other\n\ny\n";
	assert_int_equal(spool_deliver(&f->where, "alice", NULL,
	                 (const unsigned char *)late, strlen(late)), SPOOL_OK);
	assert_int_equal(spool_deliver(&f->where, "alice", NULL,
	                 (const unsigned char *)other, strlen(other)), SPOOL_OK);
	commit_deleting(f, 1 << 1);
	assert_false(tfx_exists(side));
}

static void
test_three_twins_delete_the_middle(void **state)
{
	struct tfx *f = *state;
	char d[33], x[33], want[256];
	twin_ids(d, x);
	tfx_writes(f->path, TWIN "\n" TWIN "\n" TWIN);
	snprintf(want, sizeof want, "%s %s-2 %s-3", d, d, d);
	assert_uids(f, want);
	commit_deleting(f, 1 << 1);
	snprintf(want, sizeof want, "%s %s-3", d, d);
	assert_uids(f, want);
	commit_deleting(f, 1 << 0);
	snprintf(want, sizeof want, "%s-3", d);
	assert_uids(f, want);
}

/* Many twins, the first deleted: every other one keeps its id. */
static void
test_many_twins_keep_their_ids(void **state)
{
	struct tfx *f = *state;
	write_many_identical(f, 3000);
	char *before = uids_now(f);
	commit_deleting(f, 1);
	char *after = uids_now(f);
	assert_string_equal(after, strchr(before, ' ') + 1);
	free(before);
	free(after);
}

/* Writes TEXT as alice's sidecar (replacing whatever is there). */
static void
put_sidecar(struct tfx *f, const char *text)
{
	char side[160];
	snprintf(side, sizeof side, "%s.pop-uidl", f->path);
	unlink(side);
	rmdir(side);
	tfx_writes(side, text);
}

/* A + B in fresh memory. */
static char *
cat2(const char *a, const char *b)
{
	char *s = malloc(strlen(a) + strlen(b) + 1);
	assert_non_null(s);
	strcpy(s, a);
	strcat(s, b);
	return s;
}

/* A well-formed sidecar for alice's mbox as it is: one section, entries
 * pinning message IDX[i] (at offset OFFS[i], computed id 32 hex digits)
 * to IDS[i]. */
static char *
make_sidecar(struct tfx *f, size_t n, const size_t *idx,
             const uint64_t *offs, const char *const *ids)
{
	size_t len;
	char *mbox = tfx_read(f->path, &len), hex[33], side[160];
	md5_hex(mbox, len, hex);
	free(mbox);
	char *text = malloc(4096);
	assert_non_null(text);
	int k = snprintf(text, 4096, "postoffice-uidl 1\nmbox %zu %s\n", len, hex);
	snprintf(side, sizeof side, "%s.pop-uidl", f->path);
	unlink(side); /* the computed ids are the bases */
	struct spool *sp = tfx_open(f);
	for (size_t i = 0; i < n; i++) {
		const char *base = spool_uid(sp, idx[i]);
		assert_int_equal(strlen(base), 32);
		k += snprintf(text + k, 4096 - (size_t)k, "%llu %s %s\n",
		              (unsigned long long)offs[i], base, ids[i]);
	}
	spool_close(sp);
	return text;
}

/* Replaces the first occurrence of WHAT in S (which must be there) with
 * WITH; returns fresh memory. */
static char *
replaced(const char *s, const char *what, const char *with)
{
	const char *at = strstr(s, what);
	assert_non_null(at);
	char *r = malloc(strlen(s) + strlen(with) + 1);
	assert_non_null(r);
	memcpy(r, s, (size_t)(at - s));
	strcpy(r + (at - s), with);
	strcat(r, at + strlen(what));
	return r;
}

static void
test_sidecar_is_only_a_hint(void **state)
{
	struct tfx *f = *state;
	char d[33], x[33], pinned[256], want[256], side[160], copy[160];
	twin_ids(d, x);
	snprintf(side, sizeof side, "%s.pop-uidl", f->path);
	snprintf(pinned, sizeof pinned, "%s-2", d);

	tfx_writes(f->path, TWIN "\n" TWIN);
	commit_deleting(f, 1);
	assert_uids(f, pinned);
	size_t vlen;
	char *valid = tfx_read(side, &vlen);
	char size[32], dsz[64];
	snprintf(size, sizeof size, "mbox %zu ", strlen(TWIN));
	snprintf(dsz, sizeof dsz, "\n0 %s ", d);

	/* garbage, truncated, padded, bad numbers and digits, a third
	 * section, a bad id: the whole file is ignored */
	char *bad[] = {
		strdup(""),
		strdup("garbage\n"),
		strndup(valid, vlen - 1),
		cat2(valid, "junk\n"),
		cat2(valid, "mbox 1 00000000000000000000000000000000\n"),
		replaced(valid, "postoffice-uidl 1", "postoffice-uidl 2"),
		replaced(valid, dsz, "\n00 "),
		replaced(valid, size, "mbox 99999999999999999999999 "),
		replaced(valid, size, "mbox +1 "),
		replaced(valid, "-2\n", " 2\n"),
		replaced(valid, "\n0 ", "\n0  "),
	};
	char *upper = strdup(valid);
	for (char *c = strstr(upper, size) + strlen(size); *c != '\n'; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		put_sidecar(f, bad[i]);
		assert_uids(f, d);
		free(bad[i]);
	}
	put_sidecar(f, upper);
	assert_uids(f, d);
	free(upper);
	put_sidecar(f, valid);
	assert_uids(f, pinned);

	/* too big, a directory, a symlink, a FIFO */
	assert_int_equal(truncate(side, MBOX_UIDL_MAX + 1), 0);
	assert_uids(f, d);
	unlink(side);
	assert_int_equal(mkdir(side, 0700), 0);
	assert_uids(f, d);
	rmdir(side);
	snprintf(copy, sizeof copy, "%s.copy", f->path);
	tfx_write(copy, valid, vlen);
	assert_int_equal(symlink(copy, side), 0);
	assert_uids(f, d);
	unlink(side);
	assert_int_equal(mkfifo(side, 0600), 0);
	assert_uids(f, d);
	unlink(side);

	/* stale: the body edited in place (header and offsets unchanged) */
	put_sidecar(f, valid);
	char *mbox = tfx_read(f->path, NULL);
	char *body = strstr(mbox, "body");
	body[0] = 'B';
	tfx_writes(f->path, mbox);
	assert_uids(f, d);
	body[0] = 'b';
	tfx_writes(f->path, mbox);
	assert_uids(f, pinned);
	free(mbox);
	/* stale: another program put a message in front */
	tfx_writes(f->path, M2 B2 "\n" TWIN);
	snprintf(want, sizeof want, "%s %s", x, d);
	assert_uids(f, want);

	/* foreign: bob's sidecar next to alice's mbox */
	char bob[160];
	snprintf(bob, sizeof bob, "%s/mail/bob", f->dir);
	tfx_writes(bob, M2 B2 "\n" M2 B2 "\n" M2 B2);
	struct spool *sp = NULL;
	assert_int_equal(spool_open(&f->where, "bob", NULL, &sp), SPOOL_OK);
	spool_set_deleted(sp, 0, true);
	assert_int_equal(spool_commit(sp), SPOOL_OK);
	snprintf(bob, sizeof bob, "%s/mail/bob.pop-uidl", f->dir);
	char *foreign = tfx_read(bob, NULL);
	tfx_writes(f->path, TWIN "\n" TWIN "\n" TWIN);
	put_sidecar(f, foreign);
	free(foreign);
	snprintf(want, sizeof want, "%s %s-2 %s-3", d, d, d);
	assert_uids(f, want);

	/* well-formed pins that collide with computed ids, or with each
	 * other: every id stays unique */
	tfx_writes(f->path, M2 B2 "\n" TWIN "\n" TWIN);
	size_t idx[2] = { 0, 1 };
	uint64_t offs[2] = { 0, strlen(M2 B2 "\n") };
	const char *ids[2] = { d, "same" };
	char *t = make_sidecar(f, 1, idx, offs, ids);
	put_sidecar(f, t);
	free(t);
	snprintf(want, sizeof want, "%s %s-2 %s-3", d, d, d);
	assert_uids(f, want);
	const char *ids2[2] = { "same", "same" };
	t = make_sidecar(f, 2, idx, offs, ids2);
	put_sidecar(f, t);
	free(t);
	snprintf(want, sizeof want, "same %s %s-2", d, d);
	assert_uids(f, want);
	/* a pin whose base does not match its message is not applied */
	t = make_sidecar(f, 1, idx, offs + 1, ids2);
	put_sidecar(f, t);
	free(t);
	snprintf(want, sizeof want, "%s %s %s-2", x, d, d);
	assert_uids(f, want);

	/* a commit replaces a bad sidecar with a good one */
	put_sidecar(f, "garbage");
	tfx_writes(f->path, TWIN "\n" TWIN "\n" TWIN);
	commit_deleting(f, 1);
	snprintf(want, sizeof want, "%s-2 %s-3", d, d);
	assert_uids(f, want);
	free(valid);
}

static void
test_commit_deletes_exactly(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, THREE);
	struct spool *sp = tfx_open(f);
	spool_set_deleted(sp, 1, true);
	assert_int_equal(spool_live_count(sp), 2);
	assert_int_equal(spool_commit(sp), SPOOL_OK);
	char *now = tfx_read(f->path, NULL);
	assert_string_equal(now, M1 B1 "\n" M3 B3);
	free(now);

	sp = tfx_open(f);
	spool_set_deleted(sp, 1, true); /* the last one */
	assert_int_equal(spool_commit(sp), SPOOL_OK);
	now = tfx_read(f->path, NULL);
	assert_string_equal(now, M1 B1 "\n");
	free(now);
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.pop-new", f->path);
	assert_false(tfx_exists(tmp));
	snprintf(tmp, sizeof tmp, "%s.lock", f->path);
	assert_false(tfx_exists(tmp));
}

static void
test_close_and_undelete_keep_all(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, THREE);
	struct spool *sp = tfx_open(f);
	spool_set_deleted(sp, 0, true);
	spool_close(sp); /* no commit: nothing deleted */
	sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 3);
	spool_set_deleted(sp, 0, true);
	spool_undelete_all(sp);
	assert_false(spool_is_deleted(sp, 0));
	assert_int_equal(spool_commit(sp), SPOOL_OK);
	char *now = tfx_read(f->path, NULL);
	assert_string_equal(now, THREE);
	free(now);
}

static void
test_delete_all_leaves_empty_file(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, THREE);
	chmod(f->path, 0640);
	struct spool *sp = tfx_open(f);
	for (size_t i = 0; i < 3; i++)
		spool_set_deleted(sp, i, true);
	assert_int_equal(spool_live_count(sp), 0);
	assert_int_equal(spool_commit(sp), SPOOL_OK);
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(st.st_mode & 0777, 0640); /* mode kept */
}

static void
test_delivery_during_session_survives(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, THREE);
	struct spool *sp = tfx_open(f);
	const char *msg = "Subject: late\n\nFrom the body\n";
	assert_int_equal(spool_deliver(&f->where, "alice", "late@example.org",
	                 (const unsigned char *)msg, strlen(msg)), SPOOL_OK);
	assert_int_equal(spool_count(sp), 3); /* not shown in this session */
	tfx_assert_msg(sp, 2, B3);
	spool_set_deleted(sp, 0, true);
	assert_int_equal(spool_commit(sp), SPOOL_OK);

	sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 3);
	tfx_assert_msg(sp, 0, B2);
	tfx_assert_msg(sp, 1, B3);
	tfx_assert_msg(sp, 2, "Subject: late\n\n>From the body\n");
	assert_memory_equal(spool_envelope(sp, 2), "From late@example.org ", 22);
	spool_close(sp);
}

static void
test_commit_after_rewrite_is_refused(void **state)
{
	struct tfx *f = *state;
	char other[160];
	snprintf(other, sizeof other, "%s.other", f->path);

	/* replaced by rename (mutt's way) */
	tfx_writes(f->path, THREE);
	struct spool *sp = tfx_open(f);
	tfx_writes(other, M2 B2);
	assert_int_equal(rename(other, f->path), 0);
	const unsigned char *d;
	size_t len;
	assert_int_equal(spool_read(sp, 0, &d, &len), SPOOL_ECHANGED);
	spool_set_deleted(sp, 0, true);
	assert_int_equal(spool_commit(sp), SPOOL_ECHANGED);
	char *now = tfx_read(f->path, NULL);
	assert_string_equal(now, M2 B2);
	free(now);

	/* edited in place, same inode and size */
	tfx_writes(f->path, THREE);
	sp = tfx_open(f);
	FILE *fp = fopen(f->path, "r+");
	assert_non_null(fp);
	fseek(fp, (long)strlen(M1) + 9, SEEK_SET);
	fputc('X', fp);
	fclose(fp);
	spool_set_deleted(sp, 2, true);
	assert_int_equal(spool_commit(sp), SPOOL_ECHANGED);
	sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 3); /* nothing deleted */
	spool_close(sp);
}

static void
test_session_lock_in_process(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, THREE);
	struct spool *sp = tfx_open(f), *sp2 = NULL;
	assert_int_equal(spool_open(&f->where, "alice", "INBOX", &sp2), SPOOL_EINUSE);
	assert_null(sp2);
	/* the refused open must not have dropped the first session's lock */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct spool *c = NULL;
		_exit(spool_open(&f->where, "alice", NULL, &c) == SPOOL_EINUSE ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	spool_close(sp);
	sp = tfx_open(f);
	spool_close(sp);
}

static void
test_session_lock_other_process(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, THREE);
	int release;
	pid_t pid = tfx_child_holds(f, &release);
	struct spool *sp = NULL;
	assert_int_equal(spool_open(&f->where, "alice", NULL, &sp), SPOOL_EINUSE);
	/* deliveries go on while the session holds the maildrop */
	const char *msg = "Subject: during\n\nx\n";
	assert_int_equal(spool_deliver(&f->where, "alice", NULL,
	                 (const unsigned char *)msg, strlen(msg)), SPOOL_OK);
	tfx_child_done(pid, release);
	sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 4);
	spool_close(sp);
}

static void
test_stale_dotlock_broken(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, THREE);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid); /* now surely dead */
	char lock[160], text[32];
	snprintf(lock, sizeof lock, "%s.lock", f->path);
	snprintf(text, sizeof text, "%ld\n", (long)pid);
	tfx_writes(lock, text);
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 3);
	assert_false(tfx_exists(lock)); /* broken, then ours, then released */
	spool_close(sp);
}

static void
test_old_dotlock_broken(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, THREE);
	char lock[160];
	snprintf(lock, sizeof lock, "%s.lock", f->path);
	tfx_writes(lock, ""); /* Postfix and procmail write no pid */
	struct timespec old[2] = { { .tv_sec = time(NULL) - 3600 },
	                           { .tv_sec = time(NULL) - 3600 } };
	assert_int_equal(utimensat(AT_FDCWD, lock, old, 0), 0);
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 3);
	spool_close(sp);
	assert_false(tfx_exists(lock));
}

/* The last message lacks its line end and separator: a delivery must
 * still start after an empty line, and the old message keep its size. */
static void
test_deliver_after_unterminated_message(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, M1 "X: y\n\nno newline");
	struct spool *sp = tfx_open(f);
	uint64_t size = spool_size(sp, 0);
	char uid[UID_MAX + 1];
	strcpy(uid, spool_uid(sp, 0));
	spool_close(sp);
	const char *msg = "Subject: next\n\nz\n";
	assert_int_equal(spool_deliver(&f->where, "alice", NULL,
	                 (const unsigned char *)msg, strlen(msg)), SPOOL_OK);
	sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 2);
	assert_int_equal(spool_size(sp, 0), size);
	assert_string_equal(spool_uid(sp, 0), uid);
	tfx_assert_msg(sp, 1, msg);
	spool_close(sp);
}

static void
test_live_dotlock_is_busy(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, THREE);
	char lock[160];
	snprintf(lock, sizeof lock, "%s.lock", f->path);
	tfx_writes(lock, "1\n"); /* init: alive (kill gives EPERM, not ESRCH) */
	struct spool *sp = NULL;
	assert_int_equal(spool_open(&f->where, "alice", NULL, &sp), SPOOL_ETEMP);
	assert_null(sp);
	assert_true(tfx_exists(lock)); /* not ours to break */
	const char *msg = "Subject: x\n\ny\n";
	assert_int_equal(spool_deliver(&f->where, "alice", NULL,
	                 (const unsigned char *)msg, strlen(msg)), SPOOL_ETEMP);
	unlink(lock);
	char *now = tfx_read(f->path, NULL);
	assert_string_equal(now, THREE); /* the refused delivery left nothing */
	free(now);
}

/* ENOSPC, EFBIG or EIO at every write/fsync/rename of a commit: the
 * original stays byte-identical and no temporary file is left. */
static void
test_commit_io_failures(void **state)
{
	struct tfx *f = *state;
	static const int errs[] = { ENOSPC, EFBIG, EIO };
	char tmp[160], lock[160];
	snprintf(tmp, sizeof tmp, "%s.pop-new", f->path);
	snprintf(lock, sizeof lock, "%s.lock", f->path);
	int k;
	for (k = 1; k < 100; k++) {
		tfx_writes(f->path, THREE);
		struct spool *sp = tfx_open(f);
		spool_set_deleted(sp, 0, true);
		seam_reset(k, errs[k % 3], 0);
		enum spool_err e = spool_commit(sp);
		seam_reset(0, 0, 0);
		assert_false(tfx_exists(tmp));
		assert_false(tfx_exists(lock));
		char *now = tfx_read(f->path, NULL);
		if (e == SPOOL_OK) {
			assert_string_equal(now, M2 B2 "\n" M3 B3);
			free(now);
			break;
		}
		assert_int_equal(e, SPOOL_ETEMP);
		assert_string_equal(now, THREE);
		free(now);
	}
	assert_true(k > 3 && k < 100); /* dotlock, copy, fsync, rename failed */
}

/* A delivery that fails half-way is cut back: the mbox is as before. */
static void
test_deliver_io_failure(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, THREE);
	const char *msg = "Subject: x\n\ny\n";
	for (int k = 2; k <= 3; k++) { /* the append, then its fsync */
		seam_reset(k, ENOSPC, 0);
		assert_int_equal(spool_deliver(&f->where, "alice", NULL,
		                 (const unsigned char *)msg, strlen(msg)), SPOOL_ETEMP);
		seam_reset(0, 0, 0);
		char *now = tfx_read(f->path, NULL);
		assert_string_equal(now, THREE);
		free(now);
	}
}

/* A pid that surely belongs to no process: a child we have reaped. */
static pid_t
dead_pid(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

/* Leaves alice's mbox as a deliverer killed half-way would: THREE, then
 * PARTIAL, and a dotlock of OWNER recording an append from THREE's end to
 * THREE's end plus WHOLE octets, on the inode INO (0: the mbox's own). */
static void
dead_append(struct tfx *f, pid_t owner, const char *partial, size_t whole,
            unsigned long long ino)
{
	struct stat st;
	char lock[160], text[LOCK_TEXT_MAX];
	tfx_writes(f->path, THREE);
	assert_int_equal(stat(f->path, &st), 0);
	snprintf(text, sizeof text, "%ld\nappend %llu %llu %zu %zu\n", (long)owner,
	         (unsigned long long)st.st_dev,
	         ino ? ino : (unsigned long long)st.st_ino, strlen(THREE),
	         strlen(THREE) + whole);
	char *all = malloc(strlen(THREE) + strlen(partial) + 1);
	strcpy(all, THREE);
	strcat(all, partial);
	tfx_writes(f->path, all);
	free(all);
	snprintf(lock, sizeof lock, "%s.lock", f->path);
	tfx_writes(lock, text);
}

#define HALF "\nFrom MAILER-DAEMON Mon Jan  1 00:00:03 2024\nSubject: fo"
#define WHOLE "\nFrom MAILER-DAEMON Mon Jan  1 00:00:03 2024\nSubject: four\n\n4\n\n"

/* The next delivery after a dead deliverer's partial append cuts it off
 * before appending: the mbox parses into the old messages and the new. */
static void
test_dead_deliverer_partial_cut_by_next_delivery(void **state)
{
	struct tfx *f = *state;
	dead_append(f, dead_pid(), HALF, strlen(WHOLE), 0);
	const char *msg = "Subject: next\n\nz\n";
	assert_int_equal(spool_deliver(&f->where, "alice", NULL,
	                 (const unsigned char *)msg, strlen(msg)), SPOOL_OK);
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 4);
	tfx_assert_msg(sp, 2, B3); /* not "last\n" plus the half message */
	tfx_assert_msg(sp, 3, msg);
	spool_close(sp);
	char *now = tfx_read(f->path, NULL);
	assert_null(strstr(now, "Subject: fo\n"));
	free(now);
}

/* What the record does not cover is left alone: a whole message (size at
 * TO), a record of another inode, and the lock of a live owner. */
static void
test_dead_deliverer_record_is_checked(void **state)
{
	struct tfx *f = *state;
	char lock[160];
	snprintf(lock, sizeof lock, "%s.lock", f->path);

	dead_append(f, dead_pid(), WHOLE, strlen(WHOLE), 0);
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 4); /* complete: kept */
	spool_close(sp);

	dead_append(f, dead_pid(), HALF, strlen(WHOLE), 1);
	sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 4); /* another inode: not touched */
	spool_close(sp);
	char *now = tfx_read(f->path, NULL);
	assert_non_null(strstr(now, HALF));
	free(now);

	dead_append(f, 1, HALF, strlen(WHOLE), 0); /* init never dies */
	sp = NULL;
	assert_int_equal(spool_open(&f->where, "alice", NULL, &sp), SPOOL_ETEMP);
	assert_true(tfx_exists(lock));
	unlink(lock);
}

/* A delivery killed at its k-th write or fsync, half-way through that
 * write, for every k until one completes: the next open sees the old
 * messages, byte for byte, or those and the whole new one; never a part. */
static void
test_deliver_killed_at_every_step(void **state)
{
	struct tfx *f = *state;
	const char *msg = "Subject: four\n\nthe fourth message, whole\n";
	char lock[160];
	snprintf(lock, sizeof lock, "%s.lock", f->path);
	tfx_writes(f->path, THREE);
	int k, partials = 0;
	for (k = 1; k < 20; k++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			seam_reset(0, 0, k);
			seam_kill_half = true;
			_exit(spool_deliver(&f->where, "alice", NULL,
			      (const unsigned char *)msg, strlen(msg)) == SPOOL_OK ? 0 : 1);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		size_t len;
		free(tfx_read(f->path, &len));
		struct spool *sp = tfx_open(f); /* breaks the lock, cuts back */
		size_t n = spool_count(sp);
		if (n == 3 && len > strlen(THREE))
			partials++;
		assert_true(n == 3 || n == 4);
		if (n == 4)
			tfx_assert_msg(sp, 3, msg);
		spool_close(sp);
		assert_false(tfx_exists(lock));
		if (n == 3) {
			char *now = tfx_read(f->path, NULL);
			assert_string_equal(now, THREE);
			free(now);
		}
		if (WIFEXITED(status)) {
			assert_int_equal(WEXITSTATUS(status), 0);
			assert_int_equal(n, 4);
			break;
		}
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		if (n == 4)
			tfx_writes(f->path, THREE); /* killed after the last write */
	}
	assert_true(k > 2 && k < 20);
	assert_true(partials >= 1); /* a half-written message was cut off */
}

/* The file after a kill: byte for byte the old one or the new one.
 * True if it is the new one. */
static bool
assert_old_or_new(struct tfx *f, const char *old, const char *new)
{
	char *now = tfx_read(f->path, NULL);
	bool is_new = strcmp(now, new) == 0;
	assert_true(is_new || strcmp(now, old) == 0);
	free(now);
	struct spool *sp = tfx_open(f); /* parses; the dead child's dotlock breaks */
	assert_int_equal(spool_count(sp), is_new ? 2 : 4);
	spool_close(sp);
	return is_new;
}

/* A child opens alice's maildrop, marks the messages of MASK deleted and
 * commits, killed at its K-th write/fsync/rename; its wait status.  It
 * exits 4 without committing if an earlier round left 2 messages. */
static int
commit_killed_at(struct tfx *f, unsigned mask, int k)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct spool *sp = NULL;
		if (spool_open(&f->where, "alice", NULL, &sp) != SPOOL_OK)
			_exit(3);
		if (spool_count(sp) == 2)
			_exit(4); /* an earlier round committed already */
		for (size_t i = 0; i < spool_count(sp); i++)
			if (i < 32 && (mask >> i & 1))
				spool_set_deleted(sp, i, true);
		seam_reset(0, 0, k);
		_exit(spool_commit(sp) == SPOOL_OK ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* A commit killed at its k-th write/fsync/rename, for every k until one
 * completes: every undeleted message survives, once, byte for byte. */
static void
test_commit_killed_at_every_step(void **state)
{
	struct tfx *f = *state;
	const char *old = THREE "\n" M1 "Subject: four\n\n4\n";
	const char *new = M2 B2 "\n" M1 "Subject: four\n\n4\n";
	tfx_writes(f->path, old);
	int k;
	for (k = 1; k < 100; k++) {
		int status = commit_killed_at(f, 1u << 0 | 1u << 2, k);
		bool done = assert_old_or_new(f, old, new);
		if (WIFEXITED(status)) {
			assert_int_equal(WEXITSTATUS(status), 0);
			assert_true(done);
			break;
		}
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		if (done)
			break; /* killed after the rename: committed all the same */
	}
	assert_true(k > 3 && k < 100);
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.pop-new", f->path);
	assert_false(tfx_exists(tmp));
}

/* A commit that writes the id sidecar, killed at each of its writes,
 * fsyncs and renames in turn (the sidecar's come before the mbox's
 * rename): the mbox is the old or the new file, and in both cases every
 * message has the id it had, also when the old file's ids came from the
 * sidecar of an earlier commit. */
static void
test_commit_with_twins_killed_at_every_step(void **state)
{
	struct tfx *f = *state;
	char d[33], x[33], want_old[256], want_new[256];
	twin_ids(d, x);
	tfx_writes(f->path, TWIN "\n" M2 B2 "\n" TWIN "\n" TWIN);
	commit_deleting(f, 1);
	const char *old = M2 B2 "\n" TWIN "\n" TWIN;
	const char *new = TWIN "\n" TWIN;
	snprintf(want_old, sizeof want_old, "%s %s-2 %s-3", x, d, d);
	snprintf(want_new, sizeof want_new, "%s-2 %s-3", d, d);
	assert_uids(f, want_old);
	int k;
	bool saw_old_after_sidecar = false;
	for (k = 1; k < 100; k++) {
		int status = commit_killed_at(f, 1u << 0, k);
		char *now = tfx_read(f->path, NULL);
		bool is_new = strcmp(now, new) == 0;
		assert_true(is_new || strcmp(now, old) == 0);
		free(now);
		assert_uids(f, is_new ? want_new : want_old);
		char side[160];
		snprintf(side, sizeof side, "%s.pop-uidl", f->path);
		char *text = tfx_read(side, NULL);
		/* the new sidecar describes a file of strlen(new) octets */
		char head[64];
		snprintf(head, sizeof head, "\nmbox %zu ", strlen(new));
		if (!is_new && strstr(text, head))
			saw_old_after_sidecar = true;
		free(text);
		if (WIFEXITED(status)) {
			assert_int_equal(WEXITSTATUS(status), 0);
			assert_true(is_new);
			break;
		}
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		if (is_new)
			break;
	}
	assert_true(k > 5 && k < 100);
	assert_true(saw_old_after_sidecar); /* the window was tried */
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.pop-new", f->path);
	assert_false(tfx_exists(tmp));
	snprintf(tmp, sizeof tmp, "%s.pop-uidl-new", f->path);
	assert_false(tfx_exists(tmp));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tfx_setup, tfx_teardown)
		T(test_parse_three),
		T(test_parse_crlf),
		T(test_parse_edges),
		T(test_parse_leading_junk_refused),
		T(test_parse_binary),
		T(test_uids_identical_messages),
		T(test_many_identical_messages),
		T(test_uid_ignores_rewritten_headers),
		T(test_uid_xuidl),
		T(test_twin_keeps_id_when_the_other_is_deleted),
		T(test_three_twins_delete_the_middle),
		T(test_many_twins_keep_their_ids),
		T(test_sidecar_is_only_a_hint),
		T(test_commit_deletes_exactly),
		T(test_close_and_undelete_keep_all),
		T(test_delete_all_leaves_empty_file),
		T(test_delivery_during_session_survives),
		T(test_commit_after_rewrite_is_refused),
		T(test_session_lock_in_process),
		T(test_session_lock_other_process),
		T(test_stale_dotlock_broken),
		T(test_old_dotlock_broken),
		T(test_deliver_after_unterminated_message),
		T(test_live_dotlock_is_busy),
		T(test_commit_io_failures),
		T(test_deliver_io_failure),
		T(test_commit_killed_at_every_step),
		T(test_commit_with_twins_killed_at_every_step),
		T(test_dead_deliverer_partial_cut_by_next_delivery),
		T(test_dead_deliverer_record_is_checked),
		T(test_deliver_killed_at_every_step),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
