/*
 * cache_file: the files kept beside a maildrop.  A cache written whole
 * reads back line by line with its trailer checked; a flipped octet, a
 * cut, an overlong line, a foreign owner, a symlink, a FIFO or an
 * oversized file are refused; a writer that fails (ENOSPC at any write,
 * a directory in the way) leaves neither the file nor its temporary.
 */
#include "test_spool_util.h"

#include "cache_file.h"

/* ---- the seam: write() fails with ENOSPC at call seam_fail_at ---- */

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);

static int seam_calls, seam_fail_at;

ssize_t
__wrap_write(int fd, const void *buf, size_t n)
{
	if (seam_fail_at && ++seam_calls == seam_fail_at) {
		errno = ENOSPC;
		return -1;
	}
	return __real_write(fd, buf, n);
}

/* ---- helpers ---- */

static void
cache_path(const struct tfx *f, char *p, size_t sz)
{
	snprintf(p, sz, "%s/mail/cache", f->dir);
}

/* A stat whose mode and owner a cache takes: the caller's own file. */
static struct stat
owner_stat(const struct tfx *f, mode_t mode)
{
	struct stat st;
	char p[160];
	snprintf(p, sizeof p, "%s/mail", f->dir);
	assert_int_equal(stat(p, &st), 0);
	st.st_mode = mode;
	return st;
}

/* Writes N lines "line K ..." (K from 0), committed. */
static void
write_lines(const char *path, size_t n, const struct stat *st)
{
	struct cache_writer w;
	assert_true(cache_writer_open(&w, path));
	for (size_t k = 0; k < n; k++) {
		cache_writer_str(&w, "line ");
		cache_writer_num(&w, k, ' ');
		cache_writer_hex64(&w, 0x0123456789abcdefu + k, '\n');
	}
	cache_writer_close(&w, true, st);
}

/* Reads PATH back: the lines seen (checked to be write_lines' if the
 * file is whole), and whether it ended well. */
static size_t
read_lines(const char *path, bool *done_r)
{
	struct cache_reader r;
	size_t n = 0, len;
	char *line;
	*done_r = false;
	if (!cache_reader_open(&r, path, geteuid(), 1 << 20))
		return (size_t)-1;
	bool same = true;
	while ((line = cache_reader_line(&r, &len))) {
		char want[64];
		snprintf(want, sizeof want, "line %zu %016llx", n,
		         0x0123456789abcdefull + n);
		assert_int_equal(strlen(line), len);
		same = same && strcmp(line, want) == 0;
		n++;
	}
	*done_r = r.done;
	if (r.done)
		assert_true(same);
	cache_reader_close(&r);
	return n;
}

/* ---- tests ---- */

static void
test_round_trip(void **state)
{
	struct tfx *f = *state;
	char p[160], tmp[170];
	bool done;
	cache_path(f, p, sizeof p);
	struct stat st = owner_stat(f, S_IFREG | 0640);
	write_lines(p, 5000, &st); /* several buffers' worth */
	assert_int_equal(read_lines(p, &done), 5000);
	assert_true(done);
	struct stat now;
	assert_int_equal(stat(p, &now), 0);
	assert_int_equal(now.st_mode & 07777, 0640);
	snprintf(tmp, sizeof tmp, "%s-new", p);
	assert_false(tfx_exists(tmp));

	write_lines(p, 0, &st); /* an empty one is still whole */
	assert_int_equal(read_lines(p, &done), 0);
	assert_true(done);
	char *text = tfx_read(p, NULL);
	assert_int_equal(strncmp(text, "end ", 4), 0);
	free(text);
}

/* Anything but the bytes written: the reader may hand out lines, but
 * never reports the file whole. */
static void
test_damage_is_seen(void **state)
{
	struct tfx *f = *state;
	char p[160];
	bool done;
	size_t len;
	cache_path(f, p, sizeof p);
	struct stat st = owner_stat(f, S_IFREG | 0600);
	write_lines(p, 100, &st);
	char *good = tfx_read(p, &len);

	char *bad = strdup(good); /* one digit of one line */
	bad[len / 2] = bad[len / 2] == '1' ? '2' : '1';
	tfx_write(p, bad, len);
	read_lines(p, &done);
	assert_false(done);

	for (size_t cut = 0; cut < len; cut += len / 7 + 1) {
		tfx_write(p, good, cut); /* truncated */
		read_lines(p, &done);
		assert_false(done);
	}
	tfx_write(p, good, len - 1); /* the trailer's LF */
	read_lines(p, &done);
	assert_false(done);

	memcpy(bad, good, len); /* a trailer that is not last */
	tfx_write(p, bad, len);
	FILE *fp = fopen(p, "ab");
	fputs("line 100 0123456789abce53\n", fp);
	fclose(fp);
	read_lines(p, &done);
	assert_false(done);

	tfx_writes(p, "garbage\n");
	read_lines(p, &done);
	assert_false(done);
	free(bad);
	free(good);
}

static void
test_long_line_refused(void **state)
{
	struct tfx *f = *state;
	char p[160];
	cache_path(f, p, sizeof p);
	struct stat st = owner_stat(f, S_IFREG | 0600);
	char *big = malloc(CACHE_LINE_MAX + 10);
	memset(big, 'x', CACHE_LINE_MAX + 9);
	big[CACHE_LINE_MAX + 9] = '\0';
	struct cache_writer w;
	assert_true(cache_writer_open(&w, p));
	cache_writer_str(&w, big);
	cache_writer_str(&w, "\n");
	cache_writer_close(&w, true, &st);
	free(big);
	struct cache_reader r;
	size_t len;
	assert_true(cache_reader_open(&r, p, geteuid(), 1 << 20));
	assert_null(cache_reader_line(&r, &len));
	assert_false(r.done);
	cache_reader_close(&r);
}

/* Only a regular file of the owner or ours, within the bound. */
static void
test_untrusted_files_refused(void **state)
{
	struct tfx *f = *state;
	char p[160], other[170];
	cache_path(f, p, sizeof p);
	struct stat st = owner_stat(f, S_IFREG | 0600);
	write_lines(p, 3, &st);
	struct cache_reader r;
	assert_false(cache_reader_open(&r, p, geteuid(), 10)); /* too big */
	if (geteuid() == 0) {
		assert_int_equal(chown(p, 4242, 4242), 0);
		assert_false(cache_reader_open(&r, p, 4343, 1 << 20));
		assert_true(cache_reader_open(&r, p, 4242, 1 << 20)); /* the owner's */
		cache_reader_close(&r);
	}
	snprintf(other, sizeof other, "%s.real", p);
	assert_int_equal(rename(p, other), 0);
	assert_int_equal(symlink(other, p), 0);
	assert_false(cache_reader_open(&r, p, geteuid(), 1 << 20));
	unlink(p);
	assert_int_equal(mkfifo(p, 0600), 0); /* and no hang */
	assert_false(cache_reader_open(&r, p, geteuid(), 1 << 20));
	unlink(p);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_false(cache_reader_open(&r, p, geteuid(), 1 << 20));
	assert_null(cache_file_slurp(p, geteuid(), 1 << 20, &(size_t){ 0 }));
	rmdir(p);
	assert_false(cache_reader_open(&r, p, geteuid(), 1 << 20)); /* none */
}

/* ENOSPC at each write in turn, a directory where the temporary file
 * goes, an uncommitted writer: no cache, no temporary, no crash. */
static void
test_failed_writer_leaves_nothing(void **state)
{
	struct tfx *f = *state;
	char p[160], tmp[170];
	bool done;
	cache_path(f, p, sizeof p);
	snprintf(tmp, sizeof tmp, "%s-new", p);
	struct stat st = owner_stat(f, S_IFREG | 0600);
	int k;
	for (k = 1; k < 100; k++) {
		seam_calls = 0;
		seam_fail_at = k;
		write_lines(p, 9000, &st);
		seam_fail_at = 0;
		assert_false(tfx_exists(tmp));
		if (tfx_exists(p))
			break; /* past the last write */
	}
	assert_true(k > 2 && k < 100);
	assert_int_equal(read_lines(p, &done), 9000);
	assert_true(done);

	unlink(p);
	tfx_writes(tmp, "a crashed writer's leftover");
	write_lines(p, 2, &st);
	assert_int_equal(read_lines(p, &done), 2);
	assert_false(tfx_exists(tmp));

	unlink(p);
	assert_int_equal(mkdir(tmp, 0700), 0);
	struct cache_writer w;
	assert_false(cache_writer_open(&w, p));
	cache_writer_str(&w, "x\n");
	cache_writer_close(&w, true, &st);
	assert_false(tfx_exists(p));
	rmdir(tmp);

	assert_true(cache_writer_open(&w, p));
	cache_writer_str(&w, "x\n");
	cache_writer_close(&w, false, &st);
	assert_false(tfx_exists(p));
	assert_false(tfx_exists(tmp));
}

static void
test_numbers(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		bool ok;
		uint64_t v;
	} cases[] = {
		{ "0 ", true, 0 },
		{ "7 ", true, 7 },
		{ "18446744073709551615 ", true, UINT64_MAX },
		{ "18446744073709551616 ", false, 0 },
		{ "00 ", false, 0 },
		{ "01 ", false, 0 },
		{ "+1 ", false, 0 },
		{ "-1 ", false, 0 },
		{ " 1 ", false, 0 },
		{ "1", false, 0 },
		{ "1x ", false, 0 },
		{ " ", false, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const char *p = cases[i].text;
		uint64_t v = 99;
		bool ok = cache_parse_num(&p, cases[i].text + strlen(cases[i].text),
		                          ' ', &v);
		assert_int_equal(ok, cases[i].ok);
		if (ok) {
			assert_true(v == cases[i].v);
			assert_ptr_equal(p, cases[i].text + strlen(cases[i].text));
		}
	}
	const char *h = "00ff00ff00ff00fF\n", *g = "00ff00ff00ff00ff\n";
	uint64_t v;
	assert_false(cache_parse_hex64(&h, h + 17, '\n', &v)); /* upper case */
	assert_true(cache_parse_hex64(&g, g + 17, '\n', &v));
	assert_true(v == 0x00ff00ff00ff00ffu);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tfx_setup, tfx_teardown)
		T(test_round_trip),
		T(test_damage_is_seen),
		T(test_long_line_refused),
		T(test_untrusted_files_refused),
		T(test_failed_writer_leaves_nothing),
		T(test_numbers),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
