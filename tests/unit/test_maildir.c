/*
 * The Maildir backend through the spool API, and its size cache
 * (maildir_cache.c): used when a file is as it was, never when it is
 * not (replaced, rewritten, too recent to be sure), ignored when damaged
 * or foreign, rebuilt, and never needed.
 */
#include "test_spool_util.h"

#include <stdarg.h>
#include <time.h>

#include "wire.h"

/* ---- the seam: the clock the cache reads, the files the scan reads ---- */

time_t __real_time(time_t *t);
time_t __wrap_time(time_t *t);
int __real_openat(int dfd, const char *path, int flags, ...);
int __wrap_openat(int dfd, const char *path, int flags, ...);

static time_t clock_ahead; /* seconds added to the real time */
static int reads;          /* message files opened by the scan */

time_t
__wrap_time(time_t *t)
{
	time_t now = __real_time(NULL) + clock_ahead;
	if (t)
		*t = now;
	return now;
}

int
__wrap_openat(int dfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (flags & O_CREAT) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	reads++;
	return __real_openat(dfd, path, flags, mode);
}

static void
md_make(const struct tfx *f)
{
	static const char *const subs[] = { "", "/cur", "/new", "/tmp" };
	char p[200];
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s%s", f->path, subs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
	}
}

/* Writes SUB/NAME in alice's Maildir. */
static void
md_put(const struct tfx *f, const char *sub, const char *name, const char *text)
{
	char p[300];
	snprintf(p, sizeof p, "%s/%s/%s", f->path, sub, name);
	tfx_writes(p, text);
}

static void
md_path(const struct tfx *f, const char *sub, const char *name, char *p, size_t sz)
{
	snprintf(p, sz, "%s/%s/%s", f->path, sub, name);
}

static int
md_setup(void **state)
{
	clock_ahead = 0;
	if (tfx_setup(state) != 0)
		return -1;
	struct tfx *f = *state;
	md_make(f);
	md_put(f, "cur", "1000000002.M2P2.host:2,S", "Subject: two\n\nb\r\n");
	md_put(f, "new", "1000000001.M1P1.host", "Subject: one\n\na\n");
	md_put(f, "new", "999999999.M9P9.host", "Subject: zero\n\nno newline");
	return 0;
}

static void
test_order_sizes_uids(void **state)
{
	struct tfx *f = *state;
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 3);
	/* numeric time order, not string order (999999999 < 1000000001) */
	assert_string_equal(spool_uid(sp, 0), "999999999.M9P9.host");
	assert_string_equal(spool_uid(sp, 1), "1000000001.M1P1.host");
	assert_string_equal(spool_uid(sp, 2), "1000000002.M2P2.host");
	tfx_assert_msg(sp, 0, "Subject: zero\n\nno newline");
	tfx_assert_msg(sp, 2, "Subject: two\n\nb\r\n");
	assert_int_equal(spool_size(sp, 0), strlen("Subject: zero\n\nno newline") + 2 + 2);
	assert_int_equal(spool_size(sp, 1), strlen("Subject: one\n\na\n") + 3);
	assert_int_equal(spool_size(sp, 2), strlen("Subject: two\n\nb\r\n") + 2);
	assert_memory_equal(spool_envelope(sp, 0), "From MAILER-DAEMON ", 19);
	spool_close(sp);
}

/* A Maildir has no envelope: POP1's is made, when first asked for, from
 * the file's mtime, for every message at once. */
static void
test_envelope_from_mtime(void **state)
{
	struct tfx *f = *state;
	char p[300];
	md_path(f, "cur", "1000000002.M2P2.host:2,S", p, sizeof p);
	struct timespec t[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, p, t, 0), 0);
	setenv("TZ", "UTC0", 1);
	tzset();
	struct spool *sp = tfx_open(f);
	assert_string_equal(spool_envelope(sp, 2), "From MAILER-DAEMON Sun Sep  9 01:46:40 2001");
	assert_memory_equal(spool_envelope(sp, 0), "From MAILER-DAEMON ", 19);
	assert_string_equal(spool_envelope(sp, 3), "");
	spool_close(sp);
}

static void
test_uid_hashed_when_unusable(void **state)
{
	struct tfx *f = *state;
	char name[100];
	memset(name, 'a', 80); /* longer than UID_MAX */
	strcpy(name + 80, ":2,");
	md_put(f, "cur", name, "X: y\n\n");
	md_put(f, "new", "1.bad\001name", "X: y\n\n");
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 5);
	for (size_t i = 0; i < 5; i++) {
		const char *u = spool_uid(sp, i);
		assert_true(strlen(u) >= 1 && strlen(u) <= UID_MAX);
		for (const char *c = u; *c; c++)
			assert_true(*c >= 0x21 && *c <= 0x7E);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(u, spool_uid(sp, j));
	}
	spool_close(sp);
}

static void
test_foreign_files_skipped(void **state)
{
	struct tfx *f = *state;
	char p[300], outside[200];
	md_put(f, "new", ".hidden", "X: y\n\n");
	md_path(f, "cur", "1.subdir", p, sizeof p);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(outside, sizeof outside, "%s/secret", f->dir);
	tfx_writes(outside, "secret\n");
	md_path(f, "new", "1.link", p, sizeof p);
	assert_int_equal(symlink(outside, p), 0);
	md_path(f, "new", "1.fifo", p, sizeof p);
	assert_int_equal(mkfifo(p, 0600), 0);
	md_put(f, "tmp", "1.partial", "X: y\n\n"); /* tmp/ is never read */

	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(strncmp(spool_uid(sp, i), "1.", 2) != 0, true);
	spool_close(sp);
}

static void
test_commit_unlinks(void **state)
{
	struct tfx *f = *state;
	struct spool *sp = tfx_open(f);
	spool_set_deleted(sp, 0, true);
	spool_set_deleted(sp, 2, true);
	assert_int_equal(spool_commit(sp), SPOOL_OK);
	char p[300];
	md_path(f, "new", "999999999.M9P9.host", p, sizeof p);
	assert_false(tfx_exists(p));
	md_path(f, "cur", "1000000002.M2P2.host:2,S", p, sizeof p);
	assert_false(tfx_exists(p));
	md_path(f, "new", "1000000001.M1P1.host", p, sizeof p);
	assert_true(tfx_exists(p));

	sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 1);
	spool_set_deleted(sp, 0, true);
	spool_close(sp); /* no commit: kept */
	sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 1);
	spool_close(sp);
}

/* A mail reader moves a message new/ -> cur/ and sets flags mid-session. */
static void
test_renamed_message_still_found(void **state)
{
	struct tfx *f = *state;
	struct spool *sp = tfx_open(f);
	char from[300], to[300];
	md_path(f, "new", "1000000001.M1P1.host", from, sizeof from);
	md_path(f, "cur", "1000000001.M1P1.host:2,RS", to, sizeof to);
	assert_int_equal(rename(from, to), 0);
	tfx_assert_msg(sp, 1, "Subject: one\n\na\n");

	md_path(f, "cur", "1000000001.M1P1.host:2,T", from, sizeof from);
	assert_int_equal(rename(to, from), 0);
	spool_set_deleted(sp, 1, true);
	assert_int_equal(spool_commit(sp), SPOOL_OK);
	assert_false(tfx_exists(from));

	/* gone altogether: reading it says the maildrop changed */
	sp = tfx_open(f);
	md_path(f, "new", "999999999.M9P9.host", from, sizeof from);
	assert_int_equal(unlink(from), 0);
	const unsigned char *d;
	size_t len;
	assert_int_equal(spool_read(sp, 0, &d, &len), SPOOL_ECHANGED);
	spool_set_deleted(sp, 0, true); /* already gone counts as deleted */
	assert_int_equal(spool_commit(sp), SPOOL_OK);
}

static void
test_deliver_into_new(void **state)
{
	struct tfx *f = *state;
	const char *msg = "From sender Mon Jan  1 00:00:00 2024\nSubject: d\n\nFrom x\n";
	for (int i = 0; i < 3; i++)
		assert_int_equal(spool_deliver(&f->where, "alice", "s@example.org",
		                 (const unsigned char *)msg, strlen(msg)), SPOOL_OK);
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 6);
	for (size_t i = 3; i < 6; i++) {
		tfx_assert_msg(sp, i, "Subject: d\n\nFrom x\n"); /* stored as is */
		assert_non_null(strstr(spool_uid(sp, i), ".M"));
	}
	assert_string_not_equal(spool_uid(sp, 3), spool_uid(sp, 4));
	spool_close(sp);
	char tmpdir[200];
	snprintf(tmpdir, sizeof tmpdir, "%s/tmp", f->path);
	assert_int_equal(rmdir(tmpdir), 0); /* tmp/ left empty */
}

static void
test_session_lock(void **state)
{
	struct tfx *f = *state;
	int release;
	pid_t pid = tfx_child_holds(f, &release);
	struct spool *sp = NULL;
	assert_int_equal(spool_open(&f->where, "alice", NULL, &sp), SPOOL_EINUSE);
	tfx_child_done(pid, release);
	sp = tfx_open(f);
	struct spool *sp2 = NULL; /* same process: refused too */
	assert_int_equal(spool_open(&f->where, "alice", "INBOX", &sp2), SPOOL_EINUSE);
	spool_close(sp);
	char side[200];
	snprintf(side, sizeof side, "%s/postoffice.lock", f->path);
	assert_true(tfx_exists(side)); /* never unlinked */
}

/* ---- the size cache ---- */

/* The sizes and ids of alice's Maildir, one line, and the files read. */
static char *
md_listing(struct tfx *f, int *reads_r)
{
	reads = 0;
	struct spool *sp = tfx_open(f);
	*reads_r = reads;
	char *out = calloc(spool_count(sp) + 1, UID_MAX + 32);
	assert_non_null(out);
	for (size_t i = 0; i < spool_count(sp); i++)
		sprintf(out + strlen(out), "%s=%llu ", spool_uid(sp, i),
		        (unsigned long long)spool_size(sp, i));
	spool_close(sp);
	return out;
}

static void
md_cache_path(const struct tfx *f, char *p, size_t sz)
{
	snprintf(p, sz, "%s/postoffice.sizes", f->path);
}

/* Entries in the cache file (lines but the first and the trailer). */
static int
md_cache_entries(const struct tfx *f)
{
	char p[200];
	md_cache_path(f, p, sizeof p);
	char *text = tfx_read(p, NULL);
	int n = -2;
	for (char *c = text; *c; c++)
		n += *c == '\n';
	free(text);
	return n;
}

static const char *const md_want =
	"999999999.M9P9.host=29 1000000001.M1P1.host=19 1000000002.M2P2.host=19 ";

/* Files older than the racy window: the second session reads none, and
 * an unchanged Maildir leaves the cache file alone. */
static void
test_cache_spares_reading(void **state)
{
	struct tfx *f = *state;
	int n;
	clock_ahead = 10;
	char *first = md_listing(f, &n);
	assert_string_equal(first, md_want);
	assert_int_equal(n, 3);
	assert_int_equal(md_cache_entries(f), 3);
	char p[200];
	struct stat before, after;
	md_cache_path(f, p, sizeof p);
	assert_int_equal(stat(p, &before), 0);
	char *second = md_listing(f, &n);
	assert_string_equal(second, first);
	assert_int_equal(n, 0);
	assert_int_equal(stat(p, &after), 0);
	assert_true(before.st_ino == after.st_ino); /* not rewritten */
	free(first);
	free(second);
}

/* A file changed less than two seconds before the session could change
 * again without its times showing it: it is never cached. */
static void
test_recent_files_not_cached(void **state)
{
	struct tfx *f = *state;
	int n;
	char *first = md_listing(f, &n);
	assert_int_equal(n, 3);
	char p[300];
	md_path(f, "new", "1000000001.M1P1.host", p, sizeof p);
	tfx_writes(p, "Subject: one\r\n\r\nA\r\n"); /* same size, in place */
	char *second = md_listing(f, &n);
	assert_int_equal(n, 3);
	assert_non_null(strstr(second, "1000000001.M1P1.host=19 "));
	free(first);
	free(second);
}

/* A file replaced under its name, or rewritten in place, with another
 * size: read again, its new size listed. */
static void
test_cache_stale_entry(void **state)
{
	struct tfx *f = *state;
	int n;
	clock_ahead = 10;
	free(md_listing(f, &n));
	char p[300], tmp[300];
	md_path(f, "cur", "1000000002.M2P2.host:2,S", p, sizeof p);
	snprintf(tmp, sizeof tmp, "%s/tmp/x", f->path);
	tfx_writes(tmp, "Subject: two, longer now\n\nb\n");
	assert_int_equal(rename(tmp, p), 0);
	md_path(f, "new", "999999999.M9P9.host", p, sizeof p);
	tfx_writes(p, "Subject: zero\n\nnow with a newline\n");
	char *out = md_listing(f, &n);
	assert_int_equal(n, 2);
	assert_string_equal(out, "999999999.M9P9.host=37 1000000001.M1P1.host=19 "
	                         "1000000002.M2P2.host=31 ");
	free(out);
	struct spool *sp = tfx_open(f);
	tfx_assert_sizes(sp);
	spool_close(sp);
}

/* Garbage, a cut, a forged entry, a foreign owner, a symlink, a
 * directory: ignored (the files are read) and, where it can be, replaced
 * by a good cache. */
static void
test_cache_damage_ignored(void **state)
{
	struct tfx *f = *state;
	int n;
	char p[200], copy[200];
	clock_ahead = 10;
	free(md_listing(f, &n));
	md_cache_path(f, p, sizeof p);
	size_t len;
	char *good = tfx_read(p, &len);

	tfx_writes(p, "garbage\n");
	char *out = md_listing(f, &n);
	assert_string_equal(out, md_want);
	assert_int_equal(n, 3);
	free(out);
	assert_int_equal(md_cache_entries(f), 3); /* rebuilt */

	tfx_write(p, good, len / 2);
	out = md_listing(f, &n);
	assert_string_equal(out, md_want);
	assert_int_equal(n, 3);
	free(out);

	/* sizes changed in the text: the trailer no longer matches */
	char *forged = strdup(good);
	char *c = strstr(forged, " 29\n");
	assert_non_null(c);
	c[2] = '8';
	tfx_write(p, forged, len);
	out = md_listing(f, &n);
	assert_string_equal(out, md_want);
	assert_int_equal(n, 3);
	free(out);
	free(forged);

	if (geteuid() == 0) { /* a well-formed cache, but not the owner's */
		tfx_write(p, good, len);
		assert_int_equal(chown(p, 4242, 4242), 0);
		out = md_listing(f, &n);
		assert_int_equal(n, 3);
		free(out);
	}
	unlink(p);
	snprintf(copy, sizeof copy, "%s/elsewhere", f->dir);
	tfx_write(copy, good, len);
	assert_int_equal(symlink(copy, p), 0);
	out = md_listing(f, &n);
	assert_int_equal(n, 3);
	struct stat st;
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode)); /* the link was replaced, */
	free(tfx_read(copy, NULL));        /* not followed */
	free(out);
	free(good);
}

/* A cache that cannot be written (a directory in its way): every open
 * works, reading the files. */
static void
test_cache_never_required(void **state)
{
	struct tfx *f = *state;
	int n;
	char p[200], tmp[210];
	clock_ahead = 10;
	md_cache_path(f, p, sizeof p);
	snprintf(tmp, sizeof tmp, "%s-new", p);
	assert_int_equal(mkdir(tmp, 0700), 0);
	for (int i = 0; i < 2; i++) {
		char *out = md_listing(f, &n);
		assert_string_equal(out, md_want);
		assert_int_equal(n, 3);
		free(out);
	}
	assert_false(tfx_exists(p));
	rmdir(tmp);
	assert_int_equal(mkdir(p, 0700), 0); /* the cache's own name */
	char *out = md_listing(f, &n);
	assert_string_equal(out, md_want);
	free(out);
	rmdir(p);
}

/* Mail added, removed and renamed between sessions. */
static void
test_cache_follows_changes(void **state)
{
	struct tfx *f = *state;
	int n;
	clock_ahead = 10;
	free(md_listing(f, &n));
	const char *msg = "Subject: four\n\nfour\n";
	assert_int_equal(spool_deliver(&f->where, "alice", NULL,
	                 (const unsigned char *)msg, strlen(msg)), SPOOL_OK);
	char *out = md_listing(f, &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(out, "=23 "));
	free(out);
	assert_int_equal(md_cache_entries(f), 4);

	char from[300], to[300];
	md_path(f, "new", "999999999.M9P9.host", from, sizeof from);
	assert_int_equal(unlink(from), 0);
	md_path(f, "new", "1000000001.M1P1.host", from, sizeof from);
	md_path(f, "cur", "1000000001.M1P1.host:2,S", to, sizeof to);
	assert_int_equal(rename(from, to), 0);
	out = md_listing(f, &n);
	assert_int_equal(n, 1); /* the renamed one: a new name */
	assert_int_equal(strncmp(out, "1000000001.M1P1.host=19 "
	                              "1000000002.M2P2.host=19 ", 48), 0);
	free(out);
	assert_int_equal(md_cache_entries(f), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, md_setup, tfx_teardown)
		T(test_order_sizes_uids),
		T(test_envelope_from_mtime),
		T(test_uid_hashed_when_unusable),
		T(test_foreign_files_skipped),
		T(test_commit_unlinks),
		T(test_renamed_message_still_found),
		T(test_deliver_into_new),
		T(test_session_lock),
		T(test_cache_spares_reading),
		T(test_recent_files_not_cached),
		T(test_cache_stale_entry),
		T(test_cache_damage_ignored),
		T(test_cache_never_required),
		T(test_cache_follows_changes),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
