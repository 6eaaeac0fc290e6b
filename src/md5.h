/* MD5 (RFC 1321), for APOP (RFC 1939 §7) and CRAM-MD5 (RFC 2195). */
#ifndef MD5_H
#define MD5_H

#include <stddef.h>
#include <stdint.h>

struct md5 {
	uint32_t state[4];
	uint64_t count;          /* octets processed */
	unsigned char buf[64];
};

void md5_init(struct md5 *m);
void md5_update(struct md5 *m, const void *data, size_t len);
void md5_final(struct md5 *m, unsigned char digest[16]);

/* One-shot digest as 32 lower-case hex characters plus NUL. */
void md5_hex(const void *data, size_t len, char hex[33]);

/* HMAC-MD5 (RFC 2104), for CRAM-MD5. */
void md5_hmac(const void *key, size_t keylen, const void *data, size_t len,
              unsigned char digest[16]);

#endif
