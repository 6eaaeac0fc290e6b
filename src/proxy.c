/* PROXY protocol v1 and v2 headers; see proxy.h. */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "netio.h"
#include "params.h"

static const unsigned char v2_sig[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

/* Strict port: 0-65535, digits only, no leading zero (spec §2.1). */
static bool
parse_port(const char *s, unsigned *port_r)
{
	unsigned v = 0;
	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 6553)
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > 65535)
		return false;
	*port_r = v;
	return true;
}

/* The next single-space-separated word of *P into W (size WSZ). */
static bool
next_word(const char **p, char *w, size_t wsz)
{
	const char *s = *p, *e = strchr(s, ' ');
	size_t n = e ? (size_t)(e - s) : strlen(s);
	if (n == 0 || n >= wsz)
		return false;
	memcpy(w, s, n);
	w[n] = '\0';
	*p = e ? e + 1 : s + n;
	return true;
}

bool
proxy_parse_v1(const char *line, size_t len, struct sockaddr_storage *src_r,
               const char **why_r)
{
	char buf[PROXY_V1_MAX + 1], proto[8], src[64], dst[64], sport[8], dport[8];
	memset(src_r, 0, sizeof(*src_r));
	*why_r = "malformed v1 header";
	if (len < 8 || len > PROXY_V1_MAX || line[len - 2] != '\r' || line[len - 1] != '\n'
	    || memcmp(line, "PROXY ", 6) != 0)
		return false;
	memcpy(buf, line, len - 2);
	buf[len - 2] = '\0';
	if (strlen(buf) != len - 2)
		return false; /* a NUL inside */
	const char *p = buf + 6;
	if (!next_word(&p, proto, sizeof(proto)))
		return false;
	if (!strcmp(proto, "UNKNOWN")) {
		src_r->ss_family = AF_UNSPEC; /* the rest is ignored (spec §2.1) */
		return true;
	}
	int af = !strcmp(proto, "TCP4") ? AF_INET : !strcmp(proto, "TCP6") ? AF_INET6 : -1;
	unsigned sp, dp;
	if (af < 0 || !next_word(&p, src, sizeof(src)) || !next_word(&p, dst, sizeof(dst))
	    || !next_word(&p, sport, sizeof(sport)) || !next_word(&p, dport, sizeof(dport))
	    || *p || p[-1] == ' ' || !parse_port(sport, &sp) || !parse_port(dport, &dp))
		return false;
	unsigned char a[16];
	if (inet_pton(af, dst, a) != 1)
		return false;
	if (af == AF_INET) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)src_r;
		if (inet_pton(AF_INET, src, &v4->sin_addr) != 1)
			return false;
		v4->sin_family = AF_INET;
		v4->sin_port = htons((unsigned short)sp);
	} else {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)src_r;
		if (inet_pton(AF_INET6, src, &v6->sin6_addr) != 1)
			return false;
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((unsigned short)sp);
	}
	return true;
}

bool
proxy_v2_fixed(const unsigned char *hdr, size_t *rest_r, const char **why_r)
{
	if (memcmp(hdr, v2_sig, sizeof(v2_sig)) != 0) {
		*why_r = "bad v2 signature";
		return false;
	}
	if ((hdr[12] >> 4) != 2 || (hdr[12] & 0x0f) > 1) {
		*why_r = "unknown v2 version or command";
		return false;
	}
	*rest_r = (size_t)hdr[14] << 8 | hdr[15];
	if (*rest_r > PROXY_V2_REST_MAX) {
		*why_r = "v2 header too long";
		return false;
	}
	return true;
}

bool
proxy_parse_v2(const unsigned char *hdr, size_t len, struct sockaddr_storage *src_r,
               const char **why_r)
{
	size_t rest;
	memset(src_r, 0, sizeof(*src_r));
	if (len < PROXY_V2_FIXED) {
		*why_r = "v2 header shorter than its fixed part";
		return false;
	}
	if (!proxy_v2_fixed(hdr, &rest, why_r))
		return false;
	if (len != PROXY_V2_FIXED + rest) {
		*why_r = "v2 length does not match";
		return false;
	}
	const unsigned char *a = hdr + PROXY_V2_FIXED;
	if ((hdr[12] & 0x0f) == 0) {
		src_r->ss_family = AF_UNSPEC; /* LOCAL: the balancer's own check */
		return true;
	}
	switch (hdr[13]) {
	case 0x11: { /* TCP over IPv4: src, dst, sport, dport */
		struct sockaddr_in *v4 = (struct sockaddr_in *)src_r;
		if (rest < 12)
			break;
		v4->sin_family = AF_INET;
		memcpy(&v4->sin_addr, a, 4);
		memcpy(&v4->sin_port, a + 8, 2);
		return true;
	}
	case 0x21: { /* TCP over IPv6 */
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)src_r;
		if (rest < 36)
			break;
		v6->sin6_family = AF_INET6;
		memcpy(&v6->sin6_addr, a, 16);
		memcpy(&v6->sin6_port, a + 32, 2);
		return true;
	}
	case 0x00: /* UNSPEC */
	case 0x31: /* AF_UNIX stream */
		src_r->ss_family = AF_UNSPEC;
		return true;
	default:
		*why_r = "v2 family or transport not served (only TCP)";
		return false;
	}
	*why_r = "v2 addresses shorter than the family needs";
	return false;
}

static long
ms_left(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000L
	       + (deadline->tv_nsec - now.tv_nsec) / 1000000L;
}

/* Exactly N octets into BUF before DEADLINE. */
static bool
read_exact(int fd, void *buf, size_t n, const struct timespec *deadline, const char **why_r)
{
	size_t got = 0;
	while (got < n) {
		long left = ms_left(deadline);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (netio_stop_requested) {
			*why_r = "stopped";
			return false;
		}
		if (left <= 0) {
			*why_r = "no header in time";
			return false;
		}
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		ssize_t k = read(fd, (char *)buf + got, n - got);
		if (k == 0) {
			*why_r = "closed before the header ended";
			return false;
		}
		if (k < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			*why_r = "read error";
			return false;
		}
		got += (size_t)k;
	}
	return true;
}

bool
proxy_read(int fd, int timeout_ms, struct sockaddr_storage *src_r, const char **why_r)
{
	unsigned char buf[PROXY_V2_FIXED + PROXY_V2_REST_MAX];
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	memset(src_r, 0, sizeof(*src_r));
	/* Five octets tell the versions apart: "PROXY" or "\r\n\r\n\0". */
	if (!read_exact(fd, buf, 5, &deadline, why_r))
		return false;
	if (memcmp(buf, "PROXY", 5) == 0) {
		/* One octet at a time, so nothing past the CRLF is consumed. */
		size_t n = 5;
		while (buf[n - 1] != '\n') {
			if (n == PROXY_V1_MAX) {
				*why_r = "v1 header too long";
				return false;
			}
			if (!read_exact(fd, buf + n, 1, &deadline, why_r))
				return false;
			n++;
		}
		return proxy_parse_v1((const char *)buf, n, src_r, why_r);
	}
	if (memcmp(buf, v2_sig, 5) != 0) {
		*why_r = "no PROXY header";
		return false;
	}
	size_t rest;
	if (!read_exact(fd, buf + 5, PROXY_V2_FIXED - 5, &deadline, why_r)
	    || !proxy_v2_fixed(buf, &rest, why_r)
	    || !read_exact(fd, buf + PROXY_V2_FIXED, rest, &deadline, why_r))
		return false;
	return proxy_parse_v2(buf, PROXY_V2_FIXED + rest, src_r, why_r);
}
