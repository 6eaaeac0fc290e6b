/*
 * systemd socket activation (sd_listen_fds(3)), read directly from the
 * environment: LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES.  Only Accept=no
 * (listening sockets) is served; for Accept=yes use --inetd.
 */
#ifndef SOCKETACT_H
#define SOCKETACT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* The first descriptor systemd passes (SD_LISTEN_FDS_START). */
#define SOCKETACT_FD_START 3

struct listener {
	int fd;
	enum proto_kind proto;
	bool proxy;
};

/*
 * If systemd passed sockets to this process, fills L (room for MAX) with
 * them, fds 3..3+n-1 in order, and returns n.  A socket's name
 * (FileDescriptorName=) picks its protocol: "pop3", "pop2", or
 * "pop3-proxy"/"pop2-proxy" for PROXY protocol listeners; any other name
 * serves POP3.  Returns 0 if not activated, -1 (logged) if what was
 * passed cannot be served.  Unsets the LISTEN_ variables either way, so
 * no child mistakes them for its own.
 */
int socketact_listeners(struct listener *l, size_t max);

#endif
