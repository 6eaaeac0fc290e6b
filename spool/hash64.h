/*
 * A fast 64-bit non-cryptographic hash (XXH64, as its public
 * specification describes it), for telling whether bytes changed: an
 * mbox between open and commit (mbox.c), the prefix a cache describes
 * (mbox_cache.c), a cache file's own contents (cache_file.c).
 *
 * Why not MD5: it ran at about 0.4 GB/s here and was 70% of opening a
 * 333 MB mbox; this runs at memory speed (several GB/s, 8-octet words).
 * What it is not: a defence against someone crafting a collision.  It is
 * used only to notice changes made by other programs (a mail reader
 * rewriting the mbox) or by damage (a torn cache file), where a change
 * goes unnoticed with probability 2^-64.  Nobody who could craft
 * colliding bytes controls both the old and the new contents of a
 * maildrop's prefix; unique ids keep their MD5 (RFC 1939 §7 needs no
 * more, and existing ids must not change).
 *
 * Words are read explicitly as little-endian octets, so the value is the
 * same on every host: a cache written on one machine of an NFS-shared
 * maildrop can be checked on another.
 */
#ifndef HASH64_H
#define HASH64_H

#include <stddef.h>
#include <stdint.h>

#define HASH64_STRIPE 32

struct hash64 {
	uint64_t acc[4];
	uint64_t total;                     /* octets hashed */
	unsigned char buf[HASH64_STRIPE];   /* a stripe not yet complete */
	size_t used;
};

void hash64_init(struct hash64 *h);
void hash64_update(struct hash64 *h, const void *data, size_t len);
/* The hash of everything so far; H is left as it was, so hashing can go
 * on and give the digest of a longer prefix later. */
uint64_t hash64_final(const struct hash64 *h);
/* One-shot. */
uint64_t hash64(const void *data, size_t len);

#endif
