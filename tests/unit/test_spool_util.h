/*
 * Helpers shared by the mailbox-layer tests (test_spool, test_mbox,
 * test_maildir, test_lock): a temporary directory per test and small
 * file utilities.  static inline so a test that uses only some of them
 * still compiles with -Werror.
 */
#ifndef TEST_SPOOL_UTIL_H
#define TEST_SPOOL_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "params.h"
#include "spool.h"
#include "wire.h"

struct tfx {
	char dir[64];     /* the temporary directory */
	char mbox[128];   /* dir/mail/%u, the mailbox template */
	char folders[128];/* dir/folders/%u */
	char path[128];   /* dir/mail/alice: alice's default maildrop */
	struct spool_where where;
};

static inline int
tfx_setup(void **state)
{
	struct tfx *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/po-spool-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	char sub[128];
	snprintf(sub, sizeof sub, "%s/mail", f->dir);
	mkdir(sub, 0700);
	snprintf(sub, sizeof sub, "%s/folders", f->dir);
	mkdir(sub, 0700);
	snprintf(sub, sizeof sub, "%s/folders/alice", f->dir);
	mkdir(sub, 0700);
	snprintf(f->mbox, sizeof f->mbox, "%s/mail/%%u", f->dir);
	snprintf(f->folders, sizeof f->folders, "%s/folders/%%u", f->dir);
	snprintf(f->path, sizeof f->path, "%s/mail/alice", f->dir);
	f->where.mailbox = f->mbox;
	f->where.folders = f->folders;
	*state = f;
	return 0;
}

static inline int
tfx_rm(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static inline int
tfx_teardown(void **state)
{
	struct tfx *f = *state;
	nftw(f->dir, tfx_rm, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static inline void
tfx_write(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static inline void
tfx_writes(const char *path, const char *text)
{
	tfx_write(path, text, strlen(text));
}

/* The whole file, NUL-terminated for convenience; *len_r its length. */
static inline char *
tfx_read(const char *path, size_t *len_r)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	size_t cap = 1024, len = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	size_t n;
	while ((n = fread(buf + len, 1, cap - len - 1, fp)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	fclose(fp);
	buf[len] = '\0';
	if (len_r)
		*len_r = len;
	return buf;
}

static inline bool
tfx_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Opens alice's default maildrop and asserts success. */
static inline struct spool *
tfx_open(struct tfx *f)
{
	struct spool *sp = NULL;
	assert_int_equal(spool_open(&f->where, "alice", NULL, &sp), SPOOL_OK);
	assert_non_null(sp);
	return sp;
}

/* Message IDX's bytes as a fresh NUL-terminated string. */
static inline char *
tfx_msg(struct spool *sp, size_t idx, size_t *len_r)
{
	const unsigned char *d;
	size_t len;
	assert_int_equal(spool_read(sp, idx, &d, &len), SPOOL_OK);
	char *s = malloc(len + 1);
	assert_non_null(s);
	memcpy(s, d, len);
	s[len] = '\0';
	if (len_r)
		*len_r = len;
	return s;
}

static inline void
tfx_assert_msg(struct spool *sp, size_t idx, const char *want)
{
	size_t len;
	char *got = tfx_msg(sp, idx, &len);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(got, want, len);
	free(got);
}

/* Every announced size is the wire size of the bytes read. */
static inline void
tfx_assert_sizes(struct spool *sp)
{
	for (size_t i = 0; i < spool_count(sp); i++) {
		const unsigned char *d;
		size_t len;
		assert_int_equal(spool_read(sp, i, &d, &len), SPOOL_OK);
		assert_int_equal(spool_size(sp, i), wire_size(d, len));
	}
}

/*
 * Forks a child that opens alice's default maildrop and holds it (the
 * session lock is per process); returns once it has it.  Write a byte to
 * *release_r to let it close; tfx_child_done reaps it.
 */
static inline pid_t
tfx_child_holds(struct tfx *f, int *release_r)
{
	int up[2], down[2];
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct spool *c = NULL;
		char b = spool_open(&f->where, "alice", NULL, &c) == SPOOL_OK ? 'k' : 'e';
		if (write(up[1], &b, 1) != 1 || read(down[0], &b, 1) != 1)
			_exit(2);
		spool_close(c);
		_exit(0);
	}
	char b = 0;
	assert_int_equal(read(up[0], &b, 1), 1);
	assert_int_equal(b, 'k');
	close(up[0]);
	close(up[1]);
	close(down[0]);
	*release_r = down[1];
	return pid;
}

static inline void
tfx_child_done(pid_t pid, int release)
{
	int status;
	assert_int_equal(write(release, "x", 1), 1);
	close(release);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

#endif
