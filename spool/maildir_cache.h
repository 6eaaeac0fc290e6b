/*
 * The Maildir size cache, <maildir>/postoffice.sizes (maildir_cache.c):
 * the wire size of each message file, so that a session need not read
 * every file to learn its size.  Only a memo: an entry is used only while
 * the file under its name has the same device, inode, size, mtime and
 * ctime as when it was read.
 *
 * Used by maildir_open only, under the session lock: load at the start,
 * ask for each file found, note each file read, save at the end.
 */
#ifndef MAILDIR_CACHE_H
#define MAILDIR_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct maildir_cache;

/* The cache of the Maildir DIR, written by us or by OWNER; an empty one
 * if there is none or it fails its checks; NULL only when out of memory
 * (then the session goes on without). */
struct maildir_cache *maildir_cache_load(const char *dir, uid_t owner);

/* How many files the cache knows: what the scan will likely find. */
size_t maildir_cache_entries(const struct maildir_cache *c);

/* The wire size of SUB/NAME (0 new/, 1 cur/) if the cache has an entry
 * for it that matches ST, the file's lstat now. */
bool maildir_cache_size(struct maildir_cache *c, int sub, const char *name,
                        const struct stat *st, uint64_t *wire_r);

/* SUB/NAME was read: ST (fstat of the descriptor it was read from, as
 * many octets as were read) and its wire size WIRE, for the next cache. */
void maildir_cache_note(struct maildir_cache *c, int sub, const char *name,
                        const struct stat *st, uint64_t wire);

/* Writes the cache again if it changed (files read, files gone), with
 * the mode and owner of the Maildir, DIRST.  Failures are ignored. */
void maildir_cache_save(struct maildir_cache *c, const struct stat *dirst);

void maildir_cache_free(struct maildir_cache *c);

#endif
