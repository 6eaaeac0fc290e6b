/*
 * MD5 as RFC 1321 §3 describes it, and HMAC-MD5 (RFC 2104).
 *
 * Words are read from and written to octets explicitly as little-endian
 * (RFC 1321 §2), so the code does not depend on the host's byte order or
 * alignment.
 */
#include <string.h>

#include "md5.h"

#define MD5_BLOCK 64

/* RFC 1321 §3.4: T[i] = floor(2^32 * |sin(i)|), i = 1..64. */
static const uint32_t md5_t[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee,
	0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa,
	0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
	0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05,
	0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039,
	0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* RFC 1321 §3.4: the left-rotation amounts, four per round. */
static const unsigned char md5_shift[4][4] = {
	{ 7, 12, 17, 22 },
	{ 5, 9, 14, 20 },
	{ 4, 11, 16, 23 },
	{ 6, 10, 15, 21 },
};

/*
 * Intermediate state derived from a secret (an HMAC key, an APOP shared
 * secret) is cleared through a volatile pointer, so the stores are not
 * dropped as dead.  auth_wipe does the same; md5 stays free of auth.
 */
static void
md5_wipe(void *buf, size_t len)
{
	volatile unsigned char *p = buf;

	while (len-- > 0)
		*p++ = 0;
}

static uint32_t
rotl(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static uint32_t
get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/*
 * RFC 1321 §3.4: one 16-word block.  Step i of 64 belongs to round i/16,
 * which picks the auxiliary function (F, G, H, I) and the order in which
 * the block's words are taken.
 */
static void
md5_block(uint32_t state[4], const unsigned char block[MD5_BLOCK])
{
	uint32_t x[16], a, b, c, d, f, tmp;
	unsigned i, k, round;

	for (i = 0; i < 16; i++)
		x[i] = get_le32(block + 4 * i);
	a = state[0];
	b = state[1];
	c = state[2];
	d = state[3];
	for (i = 0; i < 64; i++) {
		round = i / 16;
		switch (round) {
		case 0:
			f = (b & c) | (~b & d);
			k = i;
			break;
		case 1:
			f = (b & d) | (c & ~d);
			k = (1 + 5 * i) % 16;
			break;
		case 2:
			f = b ^ c ^ d;
			k = (5 + 3 * i) % 16;
			break;
		default:
			f = c ^ (b | ~d);
			k = (7 * i) % 16;
			break;
		}
		tmp = d;
		d = c;
		c = b;
		b = b + rotl(a + f + x[k] + md5_t[i], md5_shift[round][i % 4]);
		a = tmp;
	}
	state[0] += a;
	state[1] += b;
	state[2] += c;
	state[3] += d;
	md5_wipe(x, sizeof x);
}

void
md5_init(struct md5 *m)
{
	/* RFC 1321 §3.3: words A, B, C, D, low-order octet first. */
	m->state[0] = 0x67452301;
	m->state[1] = 0xefcdab89;
	m->state[2] = 0x98badcfe;
	m->state[3] = 0x10325476;
	m->count = 0;
	memset(m->buf, 0, sizeof m->buf);
}

void
md5_update(struct md5 *m, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t used = (size_t)(m->count % MD5_BLOCK);
	size_t take;

	if (len == 0)
		return;
	m->count += len;
	if (used > 0) {
		take = MD5_BLOCK - used;
		if (take > len)
			take = len;
		memcpy(m->buf + used, p, take);
		p += take;
		len -= take;
		if (used + take < MD5_BLOCK)
			return;
		md5_block(m->state, m->buf);
	}
	for (; len >= MD5_BLOCK; p += MD5_BLOCK, len -= MD5_BLOCK)
		md5_block(m->state, p);
	if (len > 0)
		memcpy(m->buf, p, len);
}

void
md5_final(struct md5 *m, unsigned char digest[16])
{
	/* RFC 1321 §3.1-3.2: a 1 bit, zeros to 56 mod 64 octets, then the
	 * message length in bits as a 64-bit little-endian number. */
	unsigned char pad[MD5_BLOCK + 8] = { 0x80 };
	uint64_t bits = m->count * 8;
	size_t used = (size_t)(m->count % MD5_BLOCK);
	size_t padlen = (used < 56 ? 56 : 56 + MD5_BLOCK) - used;
	int i;

	put_le32(pad + padlen, (uint32_t)bits);
	put_le32(pad + padlen + 4, (uint32_t)(bits >> 32));
	md5_update(m, pad, padlen + 8);
	for (i = 0; i < 4; i++)
		put_le32(digest + 4 * i, m->state[i]);
	md5_wipe(m, sizeof *m);
}

void
md5_hex(const void *data, size_t len, char hex[33])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char digest[16];
	struct md5 m;
	int i;

	md5_init(&m);
	md5_update(&m, data, len);
	md5_final(&m, digest);
	for (i = 0; i < 16; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 0x0f];
	}
	hex[32] = '\0';
}

/*
 * RFC 2104 §2: H(K ^ opad, H(K ^ ipad, text)), with K zero-padded to the
 * 64-octet block; a key longer than the block is replaced by its digest.
 * The key is a shared secret, so every copy of it is cleared.
 */
void
md5_hmac(const void *key, size_t keylen, const void *data, size_t len,
         unsigned char digest[16])
{
	unsigned char k[MD5_BLOCK], pad[MD5_BLOCK], inner[16];
	struct md5 m;
	int i;

	memset(k, 0, sizeof k);
	if (keylen > MD5_BLOCK) {
		md5_init(&m);
		md5_update(&m, key, keylen);
		md5_final(&m, k);
	} else if (keylen > 0) {
		memcpy(k, key, keylen);
	}

	for (i = 0; i < MD5_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	md5_init(&m);
	md5_update(&m, pad, sizeof pad);
	md5_update(&m, data, len);
	md5_final(&m, inner);

	for (i = 0; i < MD5_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	md5_init(&m);
	md5_update(&m, pad, sizeof pad);
	md5_update(&m, inner, sizeof inner);
	md5_final(&m, digest);

	md5_wipe(k, sizeof k);
	md5_wipe(pad, sizeof pad);
	md5_wipe(inner, sizeof inner);
}
