/*
 * The Maildir size cache (maildir_cache.h).  A Maildir message's size on
 * the wire (CRLF line ends) can only be learnt by reading the file: a
 * ",W=" in its name is a claim by whoever named it, not a fact.  Reading
 * 100,000 files took most of a session; this file remembers the answers.
 *
 *   postoffice-sizes 1\n
 *   SUB NAME\tDEV INO SIZE MSEC MNSEC CSEC CNSEC WIRE\n    one per file
 *   end HASH\n                     the trailer (cache_file.h)
 *
 * SUB is 0 for new/, 1 for cur/; the numbers are the file's lstat when it
 * was read (device, inode, size in octets, mtime and ctime in seconds and
 * nanoseconds) and its wire size.
 *
 * Why an entry can be trusted: Maildir files are written once, in tmp/,
 * and never changed in place.  An entry is used only if the file now
 * under that name has the same device, inode, size, mtime and ctime.  A
 * file replaced under the same name (a new inode, or an inode reused with
 * a new ctime) or edited in place (a new ctime: nobody can set ctime)
 * misses and is read again.  The one gap is a change within the
 * timestamp granularity of the read, so a file whose ctime is less than
 * MAILDIR_CACHE_RACY seconds before the session began is not cached at
 * all (the rule git uses for its index); it is read again next time.  A
 * wrong size could still come only from a forged cache, which only the
 * Maildir's owner (or root) can plant; and spool_read checks every size
 * against the bytes it sends, so even then RETR does not send a message
 * whose size was announced wrongly.
 *
 * Writers: only a session, under the session lock, so one at a time; the
 * file goes through a temporary name and rename, not fsync'ed (a torn
 * file fails its trailer and is rebuilt).  Deliveries never touch it:
 * new files are simply not in it yet.  Nothing needs it: an unreadable,
 * corrupt or unwritable cache means the files are read, as before.
 */
#include "maildir_cache.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "bigmem.h"
#include "cache_file.h"
#include "hash64.h"

static const char maildir_cache_magic[] = "postoffice-sizes 1";

/* Seconds within which a file changed before the session began is not
 * cached: coarser than the timestamp granularity of any file system a
 * Maildir can live on (1 s on the oldest; FAT's 2 s cannot hold ":"). */
#define MAILDIR_CACHE_RACY 2

/* Largest cache read: some 10 million entries. */
#define MAILDIR_CACHE_MAX ((uint64_t)1 << 30)

#define MAILDIR_CACHE_NAME "/postoffice.sizes"

/* An entry as kept in memory: hashes instead of the name and the
 * numbers, a third of the line's size.  Two names with the same 64-bit
 * hash could at worst be taken for each other if their files also had
 * the same device, inode, size and times, that is if they were links to
 * one file, whose size is then right for both. */
struct maildir_entry {
	uint64_t name;          /* maildir_cache_key of sub and name; 0: bad */
	uint64_t stat;          /* maildir_cache_stat of the numbers */
	uint64_t wire;
};

struct maildir_cache {
	char *path;             /* of the cache file */
	uid_t owner;
	struct maildir_entry *e; /* one per line of the file, in order */
	size_t n, cap;
	uint32_t *slot;         /* entry index + 1 by name; 0: free */
	size_t mask;
	unsigned char *used;    /* a bit per entry: its file was found */
	size_t hits;
	size_t next;            /* the entry after the last hit */
	struct cache_writer w;  /* the next cache, from the first file read */
	bool started;           /* w was opened (or failed to) */
	size_t fresh;
	time_t began;
};

static uint64_t
maildir_cache_key(int sub, const char *name, size_t len)
{
	uint64_t k = hash64(name, len) + (uint64_t)sub;
	return k ? k : 1;
}

/* The hash of what identifies a file's contents: device, inode, size,
 * mtime and ctime (7 numbers, as 8 octets each, low first). */
static uint64_t
maildir_cache_stat(const uint64_t v[7])
{
	unsigned char b[56];
	for (int i = 0; i < 7; i++)
		for (int j = 0; j < 8; j++)
			b[8 * i + j] = (unsigned char)(v[i] >> (8 * j));
	return hash64(b, sizeof b);
}

static void
maildir_cache_numbers(const struct stat *st, uint64_t v[7])
{
	v[0] = (uint64_t)st->st_dev;
	v[1] = (uint64_t)st->st_ino;
	v[2] = (uint64_t)st->st_size;
	v[3] = (uint64_t)st->st_mtim.tv_sec;
	v[4] = (uint64_t)st->st_mtim.tv_nsec;
	v[5] = (uint64_t)st->st_ctim.tv_sec;
	v[6] = (uint64_t)st->st_ctim.tv_nsec;
}

/* "S NAME": the sub and the name's length up to the tab, or false. */
static bool
maildir_cache_head(const char *line, size_t n, int *sub_r, size_t *len_r)
{
	const char *tab = n > 3 ? memchr(line + 2, '\t', n - 2) : NULL;
	if (!tab || (line[0] != '0' && line[0] != '1') || line[1] != ' ' ||
	    tab == line + 2)
		return false;
	*sub_r = line[0] - '0';
	*len_r = (size_t)(tab - line - 2);
	return true;
}

/* One line into E (E->name stays 0 if it does not parse). */
static void
maildir_cache_parse(const char *line, size_t n, struct maildir_entry *e)
{
	int sub;
	size_t len;
	uint64_t v[7];
	*e = (struct maildir_entry){ 0 };
	if (!maildir_cache_head(line, n, &sub, &len))
		return;
	const char *p = line + 3 + len, *end = line + n + 1;
	for (int i = 0; i < 7; i++)
		if (!cache_parse_num(&p, end, ' ', &v[i]))
			return;
	if (!cache_parse_num(&p, end, '\0', &e->wire) || p != end)
		return;
	e->stat = maildir_cache_stat(v);
	e->name = maildir_cache_key(sub, line + 2, len);
}

/* Room for the entries of a file of SIZE octets: a line takes at least
 * MAILDIR_CACHE_LINE_MIN.  Mostly address space: only the pages the
 * entries fill are ever touched, and nothing is copied as it grows. */
#define MAILDIR_CACHE_LINE_MIN 20

static bool
maildir_cache_room(struct maildir_cache *c, uint64_t size)
{
	c->cap = (size_t)(size / MAILDIR_CACHE_LINE_MIN) + 1;
	return (c->e = bigmem_alloc(c->cap * sizeof *c->e)) != NULL;
}

/* Reads the whole file into C->e, then indexes it; false (and nothing
 * kept) if any of it is not right. */
static bool
maildir_cache_read(struct maildir_cache *c)
{
	struct cache_reader r;
	size_t n;
	const char *line;
	if (!cache_reader_open(&r, c->path, c->owner, MAILDIR_CACHE_MAX))
		return false;
	bool ok = maildir_cache_room(c, r.size) &&
	          (line = cache_reader_line(&r, &n)) &&
	          strcmp(line, maildir_cache_magic) == 0;
	while (ok && (line = cache_reader_line(&r, &n)))
		if ((ok = c->n < c->cap))
			maildir_cache_parse(line, n, &c->e[c->n++]);
	ok = ok && r.done && c->n < UINT32_MAX / 4;
	cache_reader_close(&r);
	size_t cap = 16;
	while (ok && cap < 2 * c->n)
		cap *= 2;
	if (ok && (c->slot = bigmem_calloc(cap, sizeof *c->slot)) &&
	    (c->used = calloc(c->n / 8 + 1, 1))) {
		c->mask = cap - 1;
		for (size_t i = 0; i < c->n; i++) {
			size_t k = (size_t)c->e[i].name & c->mask;
			while (c->e[i].name && c->slot[k])
				k = (k + 1) & c->mask;
			if (c->e[i].name)
				c->slot[k] = (uint32_t)i + 1;
		}
		return true;
	}
	free(c->slot);
	c->slot = NULL;
	c->n = 0;
	return false;
}

struct maildir_cache *
maildir_cache_load(const char *dir, uid_t owner)
{
	struct maildir_cache *c = calloc(1, sizeof *c);
	if (!c || !(c->path = spool_strcat3(dir, MAILDIR_CACHE_NAME, NULL))) {
		free(c);
		return NULL;
	}
	c->owner = owner;
	c->began = time(NULL);
	maildir_cache_read(c);
	return c;
}

size_t
maildir_cache_entries(const struct maildir_cache *c)
{
	return c ? c->n : 0;
}

/* Entry I is that of KEY with stat hash SH, and not used yet: it is now. */
static bool
maildir_cache_hit(struct maildir_cache *c, size_t i, uint64_t key, uint64_t sh,
                  uint64_t *wire_r)
{
	if (i >= c->n || c->e[i].name != key || c->e[i].stat != sh ||
	    (c->used[i / 8] & (1u << (i % 8))))
		return false;
	c->used[i / 8] |= (unsigned char)(1u << (i % 8));
	c->hits++;
	c->next = i + 1;
	*wire_r = c->e[i].wire;
	return true;
}

bool
maildir_cache_size(struct maildir_cache *c, int sub, const char *name,
                   const struct stat *st, uint64_t *wire_r)
{
	if (!c || !c->slot)
		return false;
	uint64_t key = maildir_cache_key(sub, name, strlen(name)), v[7];
	maildir_cache_numbers(st, v);
	uint64_t sh = maildir_cache_stat(v);
	/* The files come in the order of the last scan as long as the
	 * directory is unchanged, and so does the cache: try the entry
	 * after the last hit before the table, which costs two cache
	 * misses a lookup. */
	if (maildir_cache_hit(c, c->next, key, sh, wire_r))
		return true;
	for (size_t k = (size_t)key & c->mask; c->slot[k]; k = (k + 1) & c->mask)
		if (maildir_cache_hit(c, c->slot[k] - 1, key, sh, wire_r))
			return true;
	return false;
}

/* The next cache, started when the first entry needs it: once, so an
 * unwritable Maildir costs one failed open, not one per file. */
static bool
maildir_cache_writer(struct maildir_cache *c)
{
	if (!c->started) {
		c->started = true;
		cache_writer_open(&c->w, c->path);
		cache_writer_str(&c->w, maildir_cache_magic);
		cache_writer_str(&c->w, "\n");
	}
	return !c->w.failed;
}

void
maildir_cache_note(struct maildir_cache *c, int sub, const char *name,
                   const struct stat *st, uint64_t wire)
{
	/* Not cached: a file changed too recently for a later change to be
	 * sure to show in its times (see above), times before 1970, names
	 * the line format cannot hold. */
	if (!c || st->st_ctim.tv_sec > c->began - MAILDIR_CACHE_RACY ||
	    st->st_ctim.tv_sec < 0 || st->st_mtim.tv_sec < 0 ||
	    strpbrk(name, "\t\n") || strlen(name) > CACHE_LINE_MAX - 256 ||
	    !maildir_cache_writer(c))
		return;
	uint64_t v[7];
	maildir_cache_numbers(st, v);
	cache_writer_num(&c->w, (uint64_t)sub, ' ');
	cache_writer_str(&c->w, name);
	cache_writer_str(&c->w, "\t");
	for (int i = 0; i < 7; i++)
		cache_writer_num(&c->w, v[i], ' ');
	cache_writer_num(&c->w, wire, '\n');
	c->fresh++;
}

/* Copies the lines of the old file whose entries were used. */
static void
maildir_cache_keep(struct maildir_cache *c)
{
	struct cache_reader r;
	size_t n;
	if (!cache_reader_open(&r, c->path, c->owner, MAILDIR_CACHE_MAX))
		return;
	char *line = cache_reader_line(&r, &n); /* the magic line */
	/* The same lines as maildir_cache_read saw, entry I on line I + 1:
	 * we hold the session lock, so nobody has replaced the file. */
	for (size_t i = 0; line && i < c->n; i++) {
		if (!(line = cache_reader_line(&r, &n)))
			break;
		if (c->used[i / 8] & (1u << (i % 8))) {
			line[n] = '\n';
			cache_writer_add(&c->w, line, n + 1);
		}
	}
	cache_reader_close(&r);
}

void
maildir_cache_save(struct maildir_cache *c, const struct stat *dirst)
{
	/* Unchanged: every entry was used and no file was read. */
	if (!c || (c->fresh == 0 && c->hits == c->n) || !maildir_cache_writer(c))
		return;
	if (c->hits > 0)
		maildir_cache_keep(c);
	cache_writer_close(&c->w, true, dirst);
}

void
maildir_cache_free(struct maildir_cache *c)
{
	if (!c)
		return;
	if (c->started) /* not committed: a failed scan, or saved already */
		cache_writer_close(&c->w, false, NULL);
	free(c->path);
	free(c->e);
	free(c->slot);
	free(c->used);
	free(c);
}
