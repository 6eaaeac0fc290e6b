/* The format-independent part: names, templates, detection, deliver. */
#include "test_spool_util.h"

static const char *const MSG = "Subject: hello\n\nbody\n";

static void
folder_path(const struct tfx *f, const char *name, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s/folders/alice/%s", f->dir, name);
}

static void
test_expand(void **state)
{
	(void)state;
	char buf[64];
	assert_true(spool_expand("/var/mail/%u", "alice", buf, sizeof buf));
	assert_string_equal(buf, "/var/mail/alice");
	assert_true(spool_expand("/h/%u/Maildir/%u", "bob", buf, sizeof buf));
	assert_string_equal(buf, "/h/bob/Maildir/bob");
	assert_true(spool_expand("/fixed%", "bob", buf, sizeof buf));
	assert_string_equal(buf, "/fixed%");
	assert_false(spool_expand("/var/mail/%u", "a/b", buf, sizeof buf));
	assert_false(spool_expand("/var/mail/%u", "..", buf, sizeof buf));
	assert_false(spool_expand("/var/mail/%u", ".", buf, sizeof buf));
	assert_false(spool_expand("/var/mail/%u", "", buf, sizeof buf));
	assert_false(spool_expand("/var/mail/%u", "alice", buf, 15)); /* no room for NUL */
	assert_true(spool_expand("/var/mail/%u", "alice", buf, 16));
}

static void
test_default_names(void **state)
{
	struct tfx *f = *state;
	tfx_writes(f->path, "From x\nSubject: a\n\nb\n");
	static const char *const names[] = { "INBOX", "inbox", "InBoX", "alice" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		struct spool *sp = NULL;
		assert_int_equal(spool_open(&f->where, "alice", names[i], &sp), SPOOL_OK);
		assert_int_equal(spool_count(sp), 1);
		spool_close(sp);
	}
}

static void
test_bad_names(void **state)
{
	struct tfx *f = *state;
	static const char *const bad[] = {
		"a/b", "..", ".", "", "x\001", "x\177", "/etc/passwd", "../alice",
		".hidden", "work.lock", "work.pop-lock", "work.pop-new",
		"work.pop-uidl", "work.pop-uidl-new", "work.pop-cache",
		"work.pop-cache-new",
	};
	char side[200];
	folder_path(f, "work", side, sizeof side);
	tfx_writes(side, "From x\n\n");
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct spool *sp = NULL;
		assert_int_equal(spool_open(&f->where, "alice", bad[i], &sp),
		                 SPOOL_EBADNAME);
		assert_null(sp);
	}
}

static void
test_folders(void **state)
{
	struct tfx *f = *state;
	char p[200];
	struct spool *sp = NULL;

	assert_int_equal(spool_open(&f->where, "alice", "missing", &sp), SPOOL_ENOENT);
	folder_path(f, "work", p, sizeof p);
	tfx_writes(p, "From x\nSubject: w\n\nw\n\nFrom y\n\nz\n");
	assert_int_equal(spool_open(&f->where, "alice", "work", &sp), SPOOL_OK);
	assert_int_equal(spool_count(sp), 2);
	spool_close(sp);

	/* a symlink in the folders directory is refused, even to an mbox */
	char link_p[200];
	folder_path(f, "link", link_p, sizeof link_p);
	assert_int_equal(symlink(p, link_p), 0);
	sp = NULL;
	assert_int_equal(spool_open(&f->where, "alice", "link", &sp), SPOOL_EPERM);
	assert_null(sp);

	/* a directory that is not a Maildir is not a mailbox */
	folder_path(f, "dir", p, sizeof p);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(spool_open(&f->where, "alice", "dir", &sp), SPOOL_EPERM);

	/* no folders configured: every named folder is missing */
	f->where.folders = NULL;
	assert_int_equal(spool_open(&f->where, "alice", "work", &sp), SPOOL_ENOENT);
}

static void
test_default_symlink_refused(void **state)
{
	struct tfx *f = *state;
	char target[160];
	snprintf(target, sizeof target, "%s/elsewhere", f->dir);
	tfx_writes(target, "From x\n\n");
	assert_int_equal(symlink(target, f->path), 0);
	struct spool *sp = NULL;
	assert_int_equal(spool_open(&f->where, "alice", NULL, &sp), SPOOL_EPERM);
	assert_int_equal(spool_deliver(&f->where, "alice", NULL,
	                 (const unsigned char *)MSG, strlen(MSG)), SPOOL_EPERM);
	char *t = tfx_read(target, NULL);
	assert_string_equal(t, "From x\n\n"); /* untouched */
	free(t);
}

static void
test_missing_default_is_empty(void **state)
{
	struct tfx *f = *state;
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 0);
	assert_int_equal(spool_live_size(sp), 0);
	const unsigned char *d;
	size_t len;
	assert_int_equal(spool_read(sp, 0, &d, &len), SPOOL_EINVAL);
	assert_int_equal(spool_commit(sp), SPOOL_OK);
	assert_false(tfx_exists(f->path)); /* nothing created */
	char side[160];
	snprintf(side, sizeof side, "%s.pop-lock", f->path);
	assert_false(tfx_exists(side));
}

static void
test_deliver_creates_mbox(void **state)
{
	struct tfx *f = *state;
	assert_int_equal(spool_deliver(&f->where, "alice", "bob@example.org",
	                 (const unsigned char *)MSG, strlen(MSG)), SPOOL_OK);
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0077, 0); /* private */
	const char *with_from = "From carol@example.org Tue Feb  2 10:00:00 2021\r\n"
	                        "Subject: crlf\r\n\r\nFrom x\r\nend";
	assert_int_equal(spool_deliver(&f->where, "alice", "ignored",
	                 (const unsigned char *)with_from, strlen(with_from)),
	                 SPOOL_OK);

	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 2);
	tfx_assert_msg(sp, 0, MSG);
	assert_memory_equal(spool_envelope(sp, 0), "From bob@example.org ", 21);
	tfx_assert_msg(sp, 1, "Subject: crlf\r\n\r\n>From x\r\nend\r\n");
	assert_string_equal(spool_envelope(sp, 1),
	                    "From carol@example.org Tue Feb  2 10:00:00 2021");
	spool_close(sp);
}

static void
test_deliver_sender_sanitized(void **state)
{
	struct tfx *f = *state;
	assert_int_equal(spool_deliver(&f->where, "alice", "a b\nc",
	                 (const unsigned char *)MSG, strlen(MSG)), SPOOL_OK);
	assert_int_equal(spool_deliver(&f->where, "alice", "",
	                 (const unsigned char *)MSG, strlen(MSG)), SPOOL_OK);
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 2);
	assert_memory_equal(spool_envelope(sp, 0), "From a_b_c ", 11);
	assert_memory_equal(spool_envelope(sp, 1), "From MAILER-DAEMON ", 19);
	spool_close(sp);
}

static void
test_deliver_einval(void **state)
{
	struct tfx *f = *state;
	static const char *const bad[] = {
		"", "From x\n", "From x\r\n", "not a header\n\nbody\n",
		"\nSubject: x\n", ": no name\n", "From x\nno header\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(spool_deliver(&f->where, "alice", NULL,
		                 (const unsigned char *)bad[i], strlen(bad[i])),
		                 SPOOL_EINVAL);
	assert_int_equal(spool_deliver(&f->where, "../x", NULL,
	                 (const unsigned char *)MSG, strlen(MSG)), SPOOL_EINVAL);
	assert_false(tfx_exists(f->path));
}

/* spool_append takes what spool_deliver refuses (no header, a leading
 * "From " line kept as text), makes a missing Maildir, and refuses an
 * empty message or a path of the other format. */
static void
test_append_any_octets(void **state)
{
	struct tfx *f = *state;
	static const char body[] = "From the first line\nno header\xe9here\n";
	const unsigned char *b = (const unsigned char *)body;
	size_t blen = sizeof body - 1;

	assert_int_equal(spool_append(f->path, false, "From pop1@x Mon Nov 23 10:00:00 2026",
	                              b, blen), SPOOL_OK);
	assert_int_equal(spool_append(f->path, false, NULL, b, blen), SPOOL_OK);
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 2);
	tfx_assert_msg(sp, 0, ">From the first line\nno header\xe9here\n");
	assert_string_equal(spool_envelope(sp, 0), "From pop1@x Mon Nov 23 10:00:00 2026");
	assert_memory_equal(spool_envelope(sp, 1), "From MAILER-DAEMON ", 19);
	spool_close(sp);

	char md[200];
	snprintf(md, sizeof md, "%s/new-maildir", f->dir);
	assert_int_equal(spool_append(md, true, NULL, b, blen), SPOOL_OK);
	f->where.mailbox = md;
	sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 1);
	tfx_assert_msg(sp, 0, body);
	spool_close(sp);

	assert_int_equal(spool_append(md, false, NULL, b, blen), SPOOL_EPERM);
	assert_int_equal(spool_append(f->path, true, NULL, b, blen), SPOOL_EPERM);
	assert_int_equal(spool_append(md, true, NULL, b, 0), SPOOL_EINVAL);
	assert_int_equal(spool_append(f->path, false, "From a\nb", b, blen), SPOOL_EINVAL);
}

/* spool_locate names exactly the bytes spool_read gives, for both
 * formats, and says when the file is gone. */
static void
assert_located_like_read(struct spool *sp)
{
	for (size_t i = 0; i < spool_count(sp); i++) {
		int fd;
		uint64_t off, len;
		size_t want_len;
		char *want = tfx_msg(sp, i, &want_len);
		assert_int_equal(spool_locate(sp, i, &fd, &off, &len), SPOOL_OK);
		assert_int_equal(len, want_len);
		char *got = malloc(want_len + 1);
		assert_non_null(got);
		assert_int_equal(pread(fd, got, want_len, (off_t)off), (ssize_t)want_len);
		assert_memory_equal(got, want, want_len);
		close(fd);
		free(got);
		free(want);
	}
	assert_int_equal(spool_locate(sp, spool_count(sp), &(int){ 0 }, &(uint64_t){ 0 },
	                              &(uint64_t){ 0 }), SPOOL_EINVAL);
}

static void
test_locate(void **state)
{
	struct tfx *f = *state;
	static const unsigned char one[] = "Subject: one\n\nfirst\n";
	static const unsigned char two[] = "Subject: two\r\n\r\nsecond\r\n";
	assert_int_equal(spool_append(f->path, false, NULL, one, sizeof one - 1), SPOOL_OK);
	assert_int_equal(spool_append(f->path, false, NULL, two, sizeof two - 1), SPOOL_OK);
	struct spool *sp = tfx_open(f);
	assert_located_like_read(sp);
	spool_close(sp);

	char md[200];
	snprintf(md, sizeof md, "%s/located-maildir", f->dir);
	assert_int_equal(spool_append(md, true, NULL, one, sizeof one - 1), SPOOL_OK);
	assert_int_equal(spool_append(md, true, NULL, two, sizeof two - 1), SPOOL_OK);
	f->where.mailbox = md;
	sp = tfx_open(f);
	assert_located_like_read(sp);
	/* Another program removed the messages: not a range any more. */
	char cmd[450];
	snprintf(cmd, sizeof cmd, "rm -f %s/new/* %s/cur/*", md, md);
	assert_int_equal(system(cmd), 0);
	int fd;
	uint64_t off, len;
	assert_int_equal(spool_locate(sp, 0, &fd, &off, &len), SPOOL_ECHANGED);
	spool_close(sp);
}

static uint64_t spool_size_of_first(struct tfx *f);

/* The maildrop limits show the oldest messages and keep the rest safe
 * until those are gone. */
static void
assert_limits(struct tfx *f)
{
	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 2);
	assert_int_equal(spool_hidden(sp), 1);
	assert_non_null(strstr(spool_hidden_note(sp), "1 more"));
	tfx_assert_msg(sp, 0, "Subject: 1\n\none\n");
	assert_int_equal(spool_read(sp, 2, &(const unsigned char *){ NULL }, &(size_t){ 0 }),
	                 SPOOL_EINVAL);
	spool_set_deleted(sp, 0, true);
	spool_set_deleted(sp, 2, true); /* beyond the limit: no effect */
	assert_int_equal(spool_live_count(sp), 1);
	assert_int_equal(spool_commit(sp), SPOOL_OK);
	sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 2);
	assert_int_equal(spool_hidden(sp), 0);
	assert_string_equal(spool_hidden_note(sp), "");
	tfx_assert_msg(sp, 0, "Subject: 2\n\ntwo\n");
	tfx_assert_msg(sp, 1, "Subject: 3\n\nthree\n");
	spool_close(sp);

	/* Octets: as many as fit, but always the first message. */
	f->where.max_messages = 0;
	f->where.max_octets = 1;
	sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 1);
	spool_close(sp);
	f->where.max_octets = spool_size_of_first(f) + 1;
	sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 1);
	spool_close(sp);
	f->where.max_octets = 0;
}

static uint64_t
spool_size_of_first(struct tfx *f)
{
	struct spool *sp = tfx_open(f);
	uint64_t n = spool_size(sp, 0);
	spool_close(sp);
	return n;
}

static void
test_limits(void **state)
{
	struct tfx *f = *state;
	static const char *msgs[] = { "Subject: 1\n\none\n", "Subject: 2\n\ntwo\n",
	                              "Subject: 3\n\nthree\n" };
	char md[200];
	snprintf(md, sizeof md, "%s/limited-maildir", f->dir);
	for (size_t i = 0; i < 3; i++) {
		const unsigned char *m = (const unsigned char *)msgs[i];
		assert_int_equal(spool_append(f->path, false, NULL, m, strlen(msgs[i])), SPOOL_OK);
		assert_int_equal(spool_append(md, true, NULL, m, strlen(msgs[i])), SPOOL_OK);
	}
	f->where.max_messages = 2;
	assert_limits(f);
	f->where.mailbox = md;
	f->where.max_messages = 2;
	assert_limits(f);
}

static void
test_strerror(void **state)
{
	(void)state;
	for (int e = SPOOL_OK; e <= SPOOL_EINVAL; e++)
		assert_string_not_equal(spool_strerror((enum spool_err)e), "unknown error");
	assert_string_not_equal(spool_strerror(SPOOL_EINUSE), spool_strerror(SPOOL_ETEMP));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tfx_setup, tfx_teardown)
		cmocka_unit_test(test_expand),
		T(test_default_names),
		T(test_bad_names),
		T(test_folders),
		T(test_default_symlink_refused),
		T(test_missing_default_is_empty),
		T(test_deliver_creates_mbox),
		T(test_deliver_sender_sanitized),
		T(test_deliver_einval),
		T(test_append_any_octets),
		T(test_locate),
		T(test_limits),
		cmocka_unit_test(test_strerror),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
