/*
 * The mbox scan cache (mbox_cache.c) through the spool API: a second
 * session scans only the last message and lists exactly what a full scan
 * lists; a changed prefix, a file that no longer has a From line where
 * the cache ends, a message that grew, a damaged, forged or foreign
 * cache all fall back to a full scan; an unwritable cache changes
 * nothing; a rewrite between open and commit is still refused.
 */
#include "test_spool_util.h"

#include "md5.h"

/* ---- the seam: one md5_final per message the scan reads ---- */

void __real_md5_final(struct md5 *m, unsigned char digest[16]);
void __wrap_md5_final(struct md5 *m, unsigned char digest[16]);

static int scanned;

void
__wrap_md5_final(struct md5 *m, unsigned char digest[16])
{
	scanned++;
	__real_md5_final(m, digest);
}

/* ---- fixtures ---- */

#define F1 "From ann@example.org Tue Feb  6 10:00:00 2024\n"
#define F2 "From bob@example.org Tue Feb  6 10:00:01 2024\r\n"
#define F3 "From cyd@example.org Tue Feb  6 10:00:02 2024\n"
#define H1 "Subject: first\nX-UIDL: kept-1\n\nbody one\n"
#define H2 "Subject: second\r\n\r\ntwo\r\nFrom in the body\r\n>From quoted\r\n"
#define H3 "Subject: third\n\nlast\n"
#define MBOX F1 H1 "\n" F2 H2 "\r\n" F3 H3

static char *
cache_name(const struct tfx *f)
{
	char *p = malloc(200);
	assert_non_null(p);
	snprintf(p, 200, "%s.pop-cache", f->path);
	return p;
}

/* Every message as "uid size envelope|", and the messages scanned. */
static char *
listing(struct tfx *f, int *scanned_r)
{
	scanned = 0;
	struct spool *sp = tfx_open(f);
	*scanned_r = scanned;
	tfx_assert_sizes(sp);
	size_t cap = 1024, len = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	out[0] = '\0';
	for (size_t i = 0; i < spool_count(sp); i++) {
		char line[512];
		int n = snprintf(line, sizeof line, "%s %llu %s|", spool_uid(sp, i),
		                 (unsigned long long)spool_size(sp, i),
		                 spool_envelope(sp, i));
		if (len + (size_t)n + 1 > cap)
			assert_non_null(out = realloc(out, cap *= 4));
		memcpy(out + len, line, (size_t)n + 1);
		len += (size_t)n;
	}
	spool_close(sp);
	return out;
}

/* What a session lists with no cache at all (leaves a new cache). */
static char *
fresh_listing(struct tfx *f)
{
	char *p = cache_name(f);
	unlink(p);
	free(p);
	int n;
	return listing(f, &n);
}

/* The cached listing equals the fresh one; N messages were scanned. */
static void
assert_cached_right(struct tfx *f, int want_scanned)
{
	int n;
	char *cached = listing(f, &n);
	assert_int_equal(n, want_scanned);
	char *fresh = fresh_listing(f);
	assert_string_equal(cached, fresh);
	free(cached);
	free(fresh);
}

static void
append(const struct tfx *f, const char *text)
{
	FILE *fp = fopen(f->path, "ab");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int
cache_setup(void **state)
{
	if (tfx_setup(state) != 0)
		return -1;
	struct tfx *f = *state;
	f->where.reuse_xuidl = true;
	tfx_writes(f->path, MBOX);
	return 0;
}

/* ---- tests ---- */

static void
test_second_session_scans_the_last_message(void **state)
{
	struct tfx *f = *state;
	int n;
	char *first = listing(f, &n);
	assert_int_equal(n, 3);
	char *p = cache_name(f);
	assert_true(tfx_exists(p));
	char *second = listing(f, &n);
	assert_int_equal(n, 1);
	assert_string_equal(second, first);
	assert_non_null(strstr(first, "kept-1 ")); /* X-UIDL kept */
	free(first);
	free(second);
	free(p);
	assert_cached_right(f, 1);
}

/* New mail: the cache covers the old prefix, the rest is scanned. */
static void
test_appended_mail(void **state)
{
	struct tfx *f = *state;
	int n;
	free(listing(f, &n));
	const char *msg = "Subject: fourth\n\nfour\n";
	assert_int_equal(spool_deliver(&f->where, "alice", "d@example.org",
	                 (const unsigned char *)msg, strlen(msg)), SPOOL_OK);
	assert_cached_right(f, 2);
	assert_int_equal(spool_deliver(&f->where, "alice", NULL,
	                 (const unsigned char *)msg, strlen(msg)), SPOOL_OK);
	assert_cached_right(f, 2); /* twins: the second gets "-2" either way */
}

/* The last message had no final empty line, and text was added to it:
 * the cache never holds the last message, so it grows right. */
static void
test_last_message_grows(void **state)
{
	struct tfx *f = *state;
	int n;
	tfx_writes(f->path, F1 H1 "\n" F2 "Subject: cut\r\n\r\nno end");
	free(listing(f, &n));
	append(f, "ing after all\nand more\n");
	assert_cached_right(f, 1);
}

/* Another program rewrote the prefix, or replaced what follows it with
 * something that is no From line: a full scan. */
static void
test_changed_file_scanned_again(void **state)
{
	struct tfx *f = *state;
	int n;
	free(listing(f, &n));
	char *text = tfx_read(f->path, NULL);
	strstr(text, "body one")[0] = 'B'; /* same size, same inode */
	tfx_writes(f->path, text);
	assert_cached_right(f, 3);

	free(listing(f, &n)); /* a good cache again */
	char *from3 = strstr(text, F3);
	strcpy(from3, "junk, not a From line\n");
	tfx_writes(f->path, text);
	assert_cached_right(f, 2);

	tfx_writes(f->path, MBOX); /* cut right where its cache ends */
	free(listing(f, &n));
	tfx_write(f->path, MBOX, strlen(MBOX) - strlen(F3 H3));
	char *cached = listing(f, &n);
	assert_int_equal(n, 0); /* all cached, nothing left to scan */
	char *fresh = fresh_listing(f);
	assert_string_equal(cached, fresh);
	free(cached);
	free(fresh);

	tfx_writes(f->path, F1); /* shorter than the cache's prefix */
	assert_cached_right(f, 1);
	free(text);
}

/* Garbage, a cut, a count that does not add up, a foreign owner: a full
 * scan, and a good cache again afterwards. */
static void
test_damaged_cache_ignored(void **state)
{
	struct tfx *f = *state;
	int n;
	free(listing(f, &n));
	char *p = cache_name(f);
	size_t len;
	char *good = tfx_read(p, &len);

	tfx_writes(p, "garbage\n");
	assert_cached_right(f, 3);
	tfx_write(p, good, len - 10);
	assert_cached_right(f, 3);
	tfx_write(p, good, 40);
	assert_cached_right(f, 3);

	/* one entry less, trailer recomputed: no longer adds up */
	char *nl = strchr(strchr(good, '\n') + 1, '\n') + 1;
	char *cut = strchr(nl, '\n') + 1;
	char *bad = malloc(len);
	memcpy(bad, good, (size_t)(nl - good));
	strcpy(bad + (nl - good), cut);
	tfx_writes(p, bad);
	assert_cached_right(f, 3);
	free(bad);

	if (geteuid() == 0) {
		tfx_write(p, good, len);
		assert_int_equal(chown(p, 4242, 4242), 0);
		assert_cached_right(f, 3);
	}
	tfx_write(p, good, len); /* and the good one is used */
	assert_cached_right(f, 1);
	free(good);
	free(p);
}

/* A cache that cannot be written changes nothing. */
static void
test_cache_never_required(void **state)
{
	struct tfx *f = *state;
	int n;
	char *p = cache_name(f), tmp[220];
	snprintf(tmp, sizeof tmp, "%s-new", p);
	assert_int_equal(mkdir(tmp, 0700), 0);
	char *first = listing(f, &n);
	char *second = listing(f, &n);
	assert_int_equal(n, 3);
	assert_string_equal(first, second);
	assert_false(tfx_exists(p));
	rmdir(tmp);
	free(first);
	free(second);
	free(p);
}

/* With the cache in use, another program edits the prefix in place
 * during the session: the commit deletes nothing. */
static void
test_rewrite_during_cached_session_refused(void **state)
{
	struct tfx *f = *state;
	int n;
	free(listing(f, &n));
	scanned = 0;
	struct spool *sp = tfx_open(f);
	assert_int_equal(scanned, 1);
	char *text = tfx_read(f->path, NULL);
	strstr(text, "first")[0] = 'F';
	tfx_writes(f->path, text);
	spool_set_deleted(sp, 1, true);
	assert_int_equal(spool_commit(sp), SPOOL_ECHANGED);
	char *now = tfx_read(f->path, NULL);
	assert_string_equal(now, text);
	free(now);
	free(text);
}

/* A commit rewrites the mbox: the next session scans it afresh. */
static void
test_after_commit(void **state)
{
	struct tfx *f = *state;
	int n;
	free(listing(f, &n));
	struct spool *sp = tfx_open(f);
	spool_set_deleted(sp, 0, true);
	assert_int_equal(spool_commit(sp), SPOOL_OK);
	char *after = listing(f, &n);
	assert_int_equal(n, 2);
	assert_null(strstr(after, "kept-1"));
	free(after);
	assert_cached_right(f, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, cache_setup, tfx_teardown)
		T(test_second_session_scans_the_last_message),
		T(test_appended_mail),
		T(test_last_message_grows),
		T(test_changed_file_scanned_again),
		T(test_damaged_cache_ignored),
		T(test_cache_never_required),
		T(test_rewrite_during_cached_session_refused),
		T(test_after_commit),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
