/* Socket addresses as text, for logs and limits. */
#ifndef ADDR_H
#define ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* "1.2.3.4:110", "[::1]:110", or "local" for anything else. */
void addr_format(const struct sockaddr *sa, char *buf, size_t bufsz);

/* The address without its port (the unit of the per-host limit); "?"
 * when it is not an IP address. */
void addr_format_host(const struct sockaddr *sa, char *buf, size_t bufsz);

#endif
