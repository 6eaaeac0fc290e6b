/*
 * XXH64 (hash64.h), written from the xxHash specification: four 64-bit
 * accumulators take 32-octet stripes, one 8-octet lane each; the tail
 * and the length are mixed in at the end, then an avalanche.  Checked
 * against the reference values in tests/unit/test_hash64.c.
 */
#include "hash64.h"

#include <string.h>

#define P1 0x9E3779B185EBCA87u
#define P2 0xC2B2AE3D27D4EB4Fu
#define P3 0x165667B19E3779F9u
#define P4 0x85EBCA77C2B2AE63u
#define P5 0x27D4EB2F165667C5u

static uint64_t
rotl64(uint64_t x, unsigned n)
{
	return (x << n) | (x >> (64 - n));
}

/* Compilers turn these into single loads on little-endian hosts, once
 * inlined (without "inline" gcc -O2 left them as calls). */
static inline uint64_t
le64(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	       (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

static inline uint64_t
le32(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24;
}

static inline uint64_t
hash64_round(uint64_t acc, uint64_t lane)
{
	acc += lane * P2;
	return rotl64(acc, 31) * P1;
}

static uint64_t
hash64_merge(uint64_t acc, uint64_t v)
{
	acc ^= hash64_round(0, v);
	return acc * P1 + P4;
}

/* Whole stripes of P[0, LEN); returns the octets consumed. */
static size_t
hash64_stripes(uint64_t acc[4], const unsigned char *p, size_t len)
{
	uint64_t a = acc[0], b = acc[1], c = acc[2], d = acc[3];
	size_t n = len - len % HASH64_STRIPE;
	for (size_t i = 0; i < n; i += HASH64_STRIPE) {
		a = hash64_round(a, le64(p + i));
		b = hash64_round(b, le64(p + i + 8));
		c = hash64_round(c, le64(p + i + 16));
		d = hash64_round(d, le64(p + i + 24));
	}
	acc[0] = a;
	acc[1] = b;
	acc[2] = c;
	acc[3] = d;
	return n;
}

/* The seed is always 0: nothing here needs another. */
void
hash64_init(struct hash64 *h)
{
	memset(h, 0, sizeof *h);
	h->acc[0] = P1 + P2;
	h->acc[1] = P2;
	h->acc[2] = 0;
	h->acc[3] = -P1;
}

void
hash64_update(struct hash64 *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	h->total += len;
	if (h->used > 0) {
		size_t take = HASH64_STRIPE - h->used;
		if (take > len)
			take = len;
		memcpy(h->buf + h->used, p, take);
		h->used += take;
		p += take;
		len -= take;
		if (h->used < HASH64_STRIPE)
			return;
		hash64_stripes(h->acc, h->buf, HASH64_STRIPE);
		h->used = 0;
	}
	size_t done = hash64_stripes(h->acc, p, len);
	memcpy(h->buf, p + done, len - done);
	h->used = len - done;
}

uint64_t
hash64_final(const struct hash64 *h)
{
	uint64_t acc;
	if (h->total >= HASH64_STRIPE) {
		acc = rotl64(h->acc[0], 1) + rotl64(h->acc[1], 7) +
		      rotl64(h->acc[2], 12) + rotl64(h->acc[3], 18);
		for (int i = 0; i < 4; i++)
			acc = hash64_merge(acc, h->acc[i]);
	} else {
		acc = P5;
	}
	acc += h->total;
	const unsigned char *p = h->buf;
	size_t left = h->used;
	for (; left >= 8; p += 8, left -= 8) {
		acc ^= hash64_round(0, le64(p));
		acc = rotl64(acc, 27) * P1 + P4;
	}
	if (left >= 4) {
		acc ^= le32(p) * P1;
		acc = rotl64(acc, 23) * P2 + P3;
		p += 4;
		left -= 4;
	}
	for (; left > 0; p++, left--) {
		acc ^= *p * P5;
		acc = rotl64(acc, 11) * P1;
	}
	acc ^= acc >> 33;
	acc *= P2;
	acc ^= acc >> 29;
	acc *= P3;
	acc ^= acc >> 32;
	return acc;
}

uint64_t
hash64(const void *data, size_t len)
{
	struct hash64 h;
	hash64_init(&h);
	hash64_update(&h, data, len);
	return hash64_final(&h);
}
