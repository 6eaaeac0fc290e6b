/* The Maildir backend through the spool API. */
#include "test_spool_util.h"

#include "wire.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, md_setup, tfx_teardown)
		T(test_order_sizes_uids),
		T(test_uid_hashed_when_unusable),
		T(test_foreign_files_skipped),
		T(test_commit_unlinks),
		T(test_renamed_message_still_found),
		T(test_deliver_into_new),
		T(test_session_lock),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
