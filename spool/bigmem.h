/*
 * The large arrays of one open maildrop: its messages, the file names
 * and sizes of a Maildir scan, the size cache's entries, the listing a
 * protocol process keeps.  On a 100,000-message maildrop they are tens
 * of megabytes that a session touches once, and on a virtual machine
 * each fresh 4 KiB page can cost tens of microseconds (a fault, and a
 * TLB miss on later random access): a tenth of such a session.
 *
 * A block of at least BIGMEM_MIN is therefore allocated aligned to a
 * huge page, in whole huge pages, and the kernel is asked to back it
 * with transparent huge pages: one fault instead of 512.  Only a hint:
 * Linux honours it when transparent huge pages are "always" or
 * "madvise"; with "never", and on other systems, the block is just
 * aligned.
 * Smaller blocks (an idle session's) are plain malloc'ed, so this costs
 * no memory there; a large block may take up to one huge page more
 * than it uses.  Every block is released with free().
 */
#ifndef BIGMEM_H
#define BIGMEM_H

#include <stddef.h>

/* 1 MiB: from here on a block is worth a huge page of its own. */
#define BIGMEM_MIN ((size_t)1 << 20)

/* malloc, calloc and realloc for blocks that may be large; NULL when out
 * of memory.  bigmem_realloc needs OLD, the octets of P to keep (it
 * copies them: an aligned block cannot grow in place). */
void *bigmem_alloc(size_t size);
void *bigmem_calloc(size_t n, size_t size);
void *bigmem_realloc(void *p, size_t old, size_t size);

#endif
