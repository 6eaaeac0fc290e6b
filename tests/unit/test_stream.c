/*
 * spool_stream: a message read in pieces must be spool_read's bytes, cut
 * only after a LF, and its wire form through wire_out_next_piece must be
 * the one of the whole; a message changed behind the session's back ends
 * the stream with SPOOL_ECHANGED.  Over mbox and Maildir alike.
 */
#include "test_spool_util.h"

#include <dirent.h>

/* Message shapes that cross the piece boundary in every way. */
static unsigned char *
make_lines(size_t total, size_t line, bool dots, bool crlf, size_t *len_r)
{
	unsigned char *m = malloc(total + line + 64);
	assert_non_null(m);
	size_t n = (size_t)sprintf((char *)m, "Subject: big\n\n");
	for (size_t i = 0; n < total; i++) {
		size_t l = line;
		for (size_t k = 0; k < l; k++)
			m[n++] = (unsigned char)((dots && i % 7 == 0 && k == 0) ? '.'
			                         : 'a' + (i + k) % 26);
		if (crlf)
			m[n++] = '\r';
		m[n++] = '\n';
	}
	*len_r = n;
	return m;
}

/* Every piece of message IDX, joined; checks the cut rule on the way. */
static unsigned char *
joined_pieces(struct spool *sp, size_t idx, size_t *len_r, size_t *pieces_r)
{
	size_t cap = 1024, len = 0, pieces = 0;
	unsigned char *out = malloc(cap);
	bool more = true;
	assert_int_equal(spool_stream_begin(sp, idx), SPOOL_OK);
	while (more) {
		const unsigned char *d;
		size_t n;
		assert_int_equal(spool_stream_next(sp, &d, &n, &more), SPOOL_OK);
		if (more)
			assert_true(n > 0 && d[n - 1] == '\n');
		while (len + n + 1 > cap)
			out = realloc(out, cap *= 2);
		memcpy(out + len, d, n);
		len += n;
		pieces++;
	}
	spool_stream_end(sp);
	*len_r = len;
	*pieces_r = pieces;
	return out;
}

/* The wire form of message IDX with FLAGS and TOP's LINES, in pieces. */
static unsigned char *
wire_pieces(struct spool *sp, size_t idx, unsigned flags, uint64_t lines,
            size_t *len_r)
{
	size_t cap = 1024, len = 0;
	unsigned char *out = malloc(cap), chunk[1000];
	bool more = true, first = true;
	struct wire_out w;
	assert_int_equal(spool_stream_begin(sp, idx), SPOOL_OK);
	while (more && (first || !wire_out_limit_reached(&w))) {
		const unsigned char *d;
		size_t n, got;
		assert_int_equal(spool_stream_next(sp, &d, &n, &more), SPOOL_OK);
		if (first)
			wire_out_init(&w, d, n, flags, lines);
		else
			wire_out_next_piece(&w, d, n);
		first = false;
		while ((got = wire_out_fill(&w, chunk, sizeof chunk)) > 0) {
			while (len + got > cap)
				out = realloc(out, cap *= 2);
			memcpy(out + len, chunk, got);
			len += got;
		}
	}
	/* Converted whole: the octets counted on the way are the size. */
	if (!more && !wire_out_limit_reached(&w)) {
		assert_int_equal(wire_out_octets(&w), spool_size(sp, idx));
		assert_int_equal(spool_stream_check(sp, wire_out_octets(&w)), SPOOL_OK);
	}
	spool_stream_end(sp);
	*len_r = len;
	return out;
}

static unsigned char *
wire_whole(const unsigned char *d, size_t n, unsigned flags, uint64_t lines,
           size_t *len_r)
{
	struct wire_out w;
	size_t cap = (size_t)wire_size(d, n) * 2 + 16;
	unsigned char *out = malloc(cap);
	wire_out_init(&w, d, n, flags, lines);
	*len_r = wire_out_fill(&w, out, cap);
	return out;
}

/* Stores MSGS (LENS) as alice's maildrop: an mbox, or a Maildir. */
static void
store(struct tfx *f, bool maildir, unsigned char **msgs, size_t *lens,
      size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(spool_append(f->path, maildir, NULL, msgs[i], lens[i]),
		                 SPOOL_OK);
}

static void
check_pieces(struct tfx *f, bool maildir)
{
	size_t lens[6];
	unsigned char *msgs[6];
	msgs[0] = make_lines(3 * SPOOL_PIECE + 1234, 76, true, false, &lens[0]);
	msgs[1] = make_lines(2 * SPOOL_PIECE, 900, true, true, &lens[1]);
	/* One line longer than a piece, between short ones. */
	msgs[2] = make_lines(SPOOL_PIECE / 2, 50, false, false, &lens[2]);
	size_t tl;
	unsigned char *tail = make_lines(1, SPOOL_PIECE + 4000, false, false, &tl);
	const size_t head = strlen("Subject: big\n\n");
	tl -= head;
	msgs[2] = realloc(msgs[2], lens[2] + tl);
	memcpy(msgs[2] + lens[2], tail + head, tl);
	lens[2] += tl;
	free(tail);
	msgs[3] = (unsigned char *)strdup("Subject: small\n\nno final line end");
	lens[3] = strlen((char *)msgs[3]);
	/* Ends exactly at a piece boundary, without a last LF. */
	msgs[4] = make_lines(SPOOL_PIECE + 200, 100, false, false, &lens[4]);
	lens[4] = SPOOL_PIECE + 7;
	msgs[5] = (unsigned char *)strdup("Subject: tiny\n\n.\n");
	lens[5] = strlen((char *)msgs[5]);
	store(f, maildir, msgs, lens, 6);

	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_count(sp), 6);
	for (size_t i = 0; i < 6; i++) {
		size_t len, pieces, wl, ww;
		const unsigned char *d;
		size_t dl;
		unsigned char *got = joined_pieces(sp, i, &len, &pieces);
		assert_int_equal(spool_read(sp, i, &d, &dl), SPOOL_OK);
		assert_int_equal(len, dl);
		assert_memory_equal(got, d, len);
		if (dl > SPOOL_PIECE + SPOOL_PIECE / 2)
			assert_true(pieces > 1);
		/* spool_read's bytes are gone with the next stream: copy. */
		unsigned char *copy = malloc(dl + 1);
		memcpy(copy, d, dl);
		static const struct { unsigned flags; uint64_t lines; } v[] = {
			{ WIRE_DOT_STUFF, UINT64_MAX }, { WIRE_DOT_STUFF, 3 },
			{ WIRE_DOT_STUFF, 0 }, { WIRE_STRIP_NUL | WIRE_DOT_STUFF, 5000 },
			{ 0, UINT64_MAX },
		};
		for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
			unsigned char *a = wire_pieces(sp, i, v[k].flags, v[k].lines, &wl);
			unsigned char *b = wire_whole(copy, dl, v[k].flags, v[k].lines, &ww);
			assert_int_equal(wl, ww);
			assert_memory_equal(a, b, wl);
			free(a);
			free(b);
		}
		free(copy);
		free(got);
	}
	spool_close(sp);
	for (size_t i = 0; i < 6; i++)
		free(msgs[i]);
}

static void
test_pieces_mbox(void **state)
{
	check_pieces(*state, false);
}

static void
test_pieces_maildir(void **state)
{
	check_pieces(*state, true);
}

/* The file named by the only message of a Maildir. */
static void
only_file(struct tfx *f, char *path, size_t sz)
{
	char sub[200];
	snprintf(sub, sizeof sub, "%s/new", f->path);
	DIR *d = opendir(sub);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)) && de->d_name[0] == '.')
		;
	assert_non_null(de);
	snprintf(path, sz, "%s/%s", sub, de->d_name);
	closedir(d);
}

static void
test_empty_message_is_one_empty_piece(void **state)
{
	struct tfx *f = *state;
	char path[700];
	assert_int_equal(spool_append(f->path, true, NULL,
	                              (const unsigned char *)"x", 1), SPOOL_OK);
	/* Empty the one file: delivery refuses empty messages, storage may
	 * still hold one. */
	only_file(f, path, sizeof path);
	assert_int_equal(truncate(path, 0), 0);

	struct spool *sp = tfx_open(f);
	assert_int_equal(spool_size(sp, 0), 2);
	const unsigned char *p;
	size_t n;
	bool more;
	assert_int_equal(spool_stream_begin(sp, 0), SPOOL_OK);
	assert_int_equal(spool_stream_next(sp, &p, &n, &more), SPOOL_OK);
	assert_int_equal(n, 0);
	assert_false(more);
	spool_close(sp);
}

static void
test_changed_small_message_fails_before_any_piece(void **state)
{
	struct tfx *f = *state;
	const char *m = "Subject: s\n\nbody\n";
	assert_int_equal(spool_append(f->path, true, NULL, (const unsigned char *)m,
	                              strlen(m)), SPOOL_OK);
	struct spool *sp = tfx_open(f);
	char path[700];
	only_file(f, path, sizeof path);
	tfx_writes(path, "Subject: s\n\nbody, edited in place\n");
	const unsigned char *p;
	size_t n;
	bool more;
	assert_int_equal(spool_stream_begin(sp, 0), SPOOL_OK);
	assert_int_equal(spool_stream_next(sp, &p, &n, &more), SPOOL_ECHANGED);
	/* The stream is over: no more pieces of that message. */
	assert_int_equal(spool_stream_next(sp, &p, &n, &more), SPOOL_EINVAL);
	spool_close(sp);
}

/* A message of several pieces edited in place, its length kept: every
 * piece reads, and the count of the converted pieces tells. */
static void
check_edited_in_place(struct tfx *f, bool maildir)
{
	size_t len;
	unsigned char *m = make_lines(3 * SPOOL_PIECE, 76, false, false, &len);
	assert_int_equal(spool_append(f->path, maildir, NULL, m, len), SPOOL_OK);
	struct spool *sp = tfx_open(f);
	char path[700];
	if (maildir)
		only_file(f, path, sizeof path);
	else
		snprintf(path, sizeof path, "%s", f->path);
	/* Two lines become one: the same octets, one line end fewer. */
	FILE *fp = fopen(path, "r+b");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, maildir ? 2 * SPOOL_PIECE : 0, SEEK_SET), 0);
	int c;
	while ((c = fgetc(fp)) != '\n' || ftell(fp) < 2 * (long)SPOOL_PIECE)
		assert_int_not_equal(c, EOF);
	assert_int_equal(fseek(fp, -1, SEEK_CUR), 0);
	assert_int_equal(fputc('x', fp), 'x');
	assert_int_equal(fclose(fp), 0);

	const unsigned char *p;
	size_t n;
	bool more = true, first = true;
	struct wire_out w;
	unsigned char out[4096];
	assert_int_equal(spool_stream_begin(sp, 0), SPOOL_OK);
	while (more) {
		assert_int_equal(spool_stream_next(sp, &p, &n, &more), SPOOL_OK);
		if (first)
			wire_out_init(&w, p, n, WIRE_DOT_STUFF, UINT64_MAX);
		else
			wire_out_next_piece(&w, p, n);
		first = false;
		while (wire_out_fill(&w, out, sizeof out) > 0)
			;
	}
	assert_int_equal(wire_out_octets(&w), spool_size(sp, 0) - 1);
	assert_int_equal(spool_stream_check(sp, wire_out_octets(&w)), SPOOL_ECHANGED);
	/* The check ended the stream. */
	assert_int_equal(spool_stream_next(sp, &p, &n, &more), SPOOL_EINVAL);
	spool_close(sp);
	free(m);
}

static void
test_edited_in_place_mbox(void **state)
{
	check_edited_in_place(*state, false);
}

static void
test_edited_in_place_maildir(void **state)
{
	check_edited_in_place(*state, true);
}

/* Only a stream read to its end can be checked. */
static void
test_check_needs_every_piece(void **state)
{
	struct tfx *f = *state;
	size_t len;
	unsigned char *m = make_lines(2 * SPOOL_PIECE, 76, false, false, &len);
	assert_int_equal(spool_append(f->path, true, NULL, m, len), SPOOL_OK);
	free(m);
	struct spool *sp = tfx_open(f);
	const unsigned char *p;
	size_t n;
	bool more;
	assert_int_equal(spool_stream_check(sp, spool_size(sp, 0)), SPOOL_EINVAL);
	assert_int_equal(spool_stream_begin(sp, 0), SPOOL_OK);
	assert_int_equal(spool_stream_next(sp, &p, &n, &more), SPOOL_OK);
	assert_true(more);
	assert_int_equal(spool_stream_check(sp, spool_size(sp, 0)), SPOOL_EINVAL);
	spool_close(sp);
}

static void
check_truncated_midway(struct tfx *f, bool maildir)
{
	size_t len;
	unsigned char *m = make_lines(4 * SPOOL_PIECE, 76, false, false, &len);
	assert_int_equal(spool_append(f->path, maildir, NULL, m, len), SPOOL_OK);
	free(m);
	struct spool *sp = tfx_open(f);
	const unsigned char *p;
	size_t n;
	bool more;
	assert_int_equal(spool_stream_begin(sp, 0), SPOOL_OK);
	assert_int_equal(spool_stream_next(sp, &p, &n, &more), SPOOL_OK);
	assert_true(more);
	char path[700];
	if (maildir)
		only_file(f, path, sizeof path);
	else
		snprintf(path, sizeof path, "%s", f->path);
	assert_int_equal(truncate(path, 2 * SPOOL_PIECE), 0);
	enum spool_err e;
	do
		e = spool_stream_next(sp, &p, &n, &more);
	while (e == SPOOL_OK && more);
	assert_int_equal(e, SPOOL_ECHANGED);
	spool_close(sp);
}

static void
test_truncated_midway_mbox(void **state)
{
	check_truncated_midway(*state, false);
}

static void
test_truncated_midway_maildir(void **state)
{
	check_truncated_midway(*state, true);
}

static void
test_next_without_begin(void **state)
{
	struct tfx *f = *state;
	const char *m = "Subject: s\n\nbody\n";
	assert_int_equal(spool_append(f->path, false, NULL, (const unsigned char *)m,
	                              strlen(m)), SPOOL_OK);
	struct spool *sp = tfx_open(f);
	const unsigned char *p;
	size_t n;
	bool more;
	assert_int_equal(spool_stream_next(sp, &p, &n, &more), SPOOL_EINVAL);
	assert_int_equal(spool_stream_begin(sp, 1), SPOOL_EINVAL);
	assert_int_equal(spool_stream_begin(sp, 0), SPOOL_OK);
	/* Closing mid-stream lets the descriptor go with the spool. */
	spool_close(sp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tfx_setup, tfx_teardown)
		T(test_pieces_mbox),
		T(test_pieces_maildir),
		T(test_empty_message_is_one_empty_piece),
		T(test_changed_small_message_fails_before_any_piece),
		T(test_truncated_midway_mbox),
		T(test_truncated_midway_maildir),
		T(test_next_without_begin),
		T(test_edited_in_place_mbox),
		T(test_edited_in_place_maildir),
		T(test_check_needs_every_piece),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
