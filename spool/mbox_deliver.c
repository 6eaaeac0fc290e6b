/*
 * Appending one message to an mbox, as Postfix local does: under the MTA
 * locks (lock.h), "From " lines of the body quoted as ">From " (mboxo),
 * a final line end and one empty separator line added, fsync'ed, and cut
 * back to the old size if anything fails, so a reader never sees half a
 * message and the MTA can retry.  Line ends are stored as received; the
 * lines we add use the message's own convention (CRLF if its first line
 * ends in CRLF), and the reader accepts either.
 *
 * A deliverer killed in the middle of write() cannot cut back itself, so
 * before writing it records the append in its dotlock, and whoever takes
 * the MTA locks next (a session's open or commit, another delivery) cuts
 * the partial message off (lock.h).  The MTA, seeing us die, delivers the
 * message again.
 */
#include "mbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"

/* Number of lines of MSG that begin with "From ". */
static size_t
mbox_count_from(const unsigned char *msg, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i + 5 <= len; i++)
		if ((i == 0 || msg[i - 1] == '\n') && memcmp(msg + i, "From ", 5) == 0)
			n++;
	return n;
}

/* Builds: envelope EOL, quoted message, EOL if missing, empty line. */
static unsigned char *
mbox_format(const char *envelope, const unsigned char *msg, size_t len,
            size_t *out_r)
{
	const unsigned char *lf = memchr(msg, '\n', len);
	bool crlf = lf && lf > msg && lf[-1] == '\r';
	const char *eol = crlf ? "\r\n" : "\n";
	size_t el = strlen(eol), envl = strlen(envelope);
	size_t quotes = mbox_count_from(msg, len);

	if (len > SIZE_MAX - quotes - envl - 3 * el)
		return NULL;
	unsigned char *out = malloc(envl + len + quotes + 3 * el);
	if (!out)
		return NULL;
	size_t n = 0;
	memcpy(out, envelope, envl);
	n += envl;
	memcpy(out + n, eol, el);
	n += el;
	for (size_t i = 0; i < len; i++) {
		if ((i == 0 || msg[i - 1] == '\n') && len - i >= 5 &&
		    memcmp(msg + i, "From ", 5) == 0)
			out[n++] = '>';
		out[n++] = msg[i];
	}
	if (msg[len - 1] != '\n') {
		memcpy(out + n, eol, el);
		n += el;
	}
	memcpy(out + n, eol, el);
	n += el;
	*out_r = n;
	return out;
}

/* Line ends needed before our From line so that it follows an empty line
 * even if the mbox's last message lacks its separator: 0, 1 or 2. */
static enum spool_err
mbox_gap(int fd, uint64_t size, size_t *gap_r)
{
	unsigned char t[3] = { 0, 0, 0 };
	size_t n = size < 3 ? (size_t)size : 3;
	*gap_r = 0;
	if (n == 0)
		return SPOOL_OK;
	if (pread(fd, t + 3 - n, n, (off_t)(size - n)) != (ssize_t)n)
		return SPOOL_ETEMP;
	if (t[2] != '\n')
		*gap_r = 2;
	else if (!(t[1] == '\n' || (t[1] == '\r' && t[0] == '\n')) && size > 1)
		*gap_r = 1;
	return SPOOL_OK;
}

enum spool_err
mbox_deliver(const char *path, const char *envelope, const char *sender,
             const unsigned char *msg, size_t len)
{
	char *made = envelope ? NULL : spool_envelope_make(sender, time(NULL));
	if (!envelope && !made)
		return SPOOL_ETEMP;
	size_t outlen;
	unsigned char *out = mbox_format(envelope ? envelope : made, msg, len,
	                                 &outlen);
	free(made);
	if (!out)
		return SPOOL_ETEMP;

	struct lock_mta l;
	enum spool_err e = lock_mta_take(path, true, &l);
	if (e != SPOOL_OK) {
		free(out);
		return e == SPOOL_ENOENT ? SPOOL_EPERM : e;
	}
	struct stat st;
	size_t gap = 0;
	if (fstat(l.fd, &st) == -1) {
		e = SPOOL_ETEMP;
	} else {
		e = mbox_gap(l.fd, (uint64_t)st.st_size, &gap);
		if (e == SPOOL_OK)
			e = lock_mta_note_append(&l, (uint64_t)st.st_size,
			                         (uint64_t)st.st_size + gap + outlen);
		if (e == SPOOL_OK && lseek(l.fd, 0, SEEK_END) == -1)
			e = SPOOL_ETEMP;
		if (e == SPOOL_OK)
			e = spool_write_all(l.fd, (const unsigned char *)"\n\n", gap);
		if (e == SPOOL_OK)
			e = spool_write_all(l.fd, out, outlen);
		if (e == SPOOL_OK && fsync(l.fd) == -1)
			e = SPOOL_ETEMP;
		if (e != SPOOL_OK) {
			/* Still under the locks: nobody appended after us, so
			 * cutting back removes exactly our partial message. */
			if (ftruncate(l.fd, st.st_size) == -1)
				e = SPOOL_ETEMP; /* nothing more we can do */
			e = SPOOL_ETEMP;
		}
	}
	lock_mta_release(&l);
	close(l.fd);
	free(out);
	return e;
}
