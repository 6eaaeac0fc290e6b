/* Huge pages for large blocks (bigmem.h).  aligned_alloc is C11;
 * madvise(2) and MADV_HUGEPAGE are not POSIX: glibc declares them with
 * _DEFAULT_SOURCE, and where MADV_HUGEPAGE is not defined the hint is
 * left out. */
#define _DEFAULT_SOURCE 1
#include "bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* A huge page on x86-64 and arm64 with 4 KiB base pages. */
#define BIGMEM_HUGE ((size_t)2 << 20)

void *
bigmem_alloc(size_t size)
{
	if (size < BIGMEM_MIN)
		return malloc(size ? size : 1);
	if (size > SIZE_MAX - BIGMEM_HUGE)
		return NULL;
	size_t whole = (size + BIGMEM_HUGE - 1) / BIGMEM_HUGE * BIGMEM_HUGE;
	void *p = aligned_alloc(BIGMEM_HUGE, whole);
#ifdef MADV_HUGEPAGE
	if (p)
		(void)madvise(p, whole, MADV_HUGEPAGE);
#endif
	return p;
}

void *
bigmem_calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *p = bigmem_alloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *
bigmem_realloc(void *p, size_t old, size_t size)
{
	if (size < BIGMEM_MIN)
		return realloc(p, size ? size : 1);
	void *q = bigmem_alloc(size);
	if (q && p)
		memcpy(q, p, old < size ? old : size);
	if (q)
		free(p);
	return q;
}
