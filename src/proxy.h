/*
 * The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): a
 * load balancer in front of postoffice sends one header naming the real
 * client before the client's own bytes.  Only listeners marked "proxy"
 * read it (docs/operators.md).
 */
#ifndef PROXY_H
#define PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* v1: "PROXY" and at most 107 octets in all, CRLF included (spec §2.1). */
#define PROXY_V1_MAX 107
/* v2: the 16-octet fixed part, then addresses and TLVs (spec §2.2). */
#define PROXY_V2_FIXED 16

/*
 * Parses a whole v1 line LINE of LEN octets (through its CRLF).  True with
 * the client address in *SRC_R, or ss_family AF_UNSPEC for "UNKNOWN" (the
 * connection's own peer stands); false with a reason in *WHY_R.
 */
bool proxy_parse_v1(const char *line, size_t len, struct sockaddr_storage *src_r,
                    const char **why_r);

/* The v2 fixed part HDR: true if it is valid, with the length of what
 * follows in *REST_R. */
bool proxy_v2_fixed(const unsigned char *hdr, size_t *rest_r, const char **why_r);

/* HDR is the fixed part and REST octets after it: the client address as
 * for v1 (AF_UNSPEC for LOCAL, UNSPEC and AF_UNIX). */
bool proxy_parse_v2(const unsigned char *hdr, size_t len, struct sockaddr_storage *src_r,
                    const char **why_r);

/*
 * Reads exactly one header, v1 or v2, from the socket FD and not one octet
 * more, within TIMEOUT_MS; then parses it as above.
 */
bool proxy_read(int fd, int timeout_ms, struct sockaddr_storage *src_r, const char **why_r);

#endif
