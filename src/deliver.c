/*
 * Local delivery.  Every failure that might pass (a busy lock, a full
 * disk, an unreadable user database) exits 75 so the MTA keeps the message
 * and retries; only a missing user (67) or a malformed message (65) bounce.
 */
#include "deliver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"
#include "spool.h"

/* Reads all of FD; NULL on a read error or when out of memory. */
static unsigned char *
slurp(int fd, size_t *len_r)
{
	size_t len = 0, cap = 65536;
	unsigned char *buf = malloc(cap);
	if (!buf)
		return NULL;
	for (;;) {
		if (len == cap) {
			unsigned char *grown = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
			if (!grown) {
				free(buf);
				return NULL;
			}
			buf = grown;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return NULL;
		}
		len += (size_t)n;
	}
	*len_r = len;
	return buf;
}

int
deliver_run(const struct config *cfg, const char *user, const char *sender,
            int fd)
{
	switch (auth_user_exists(cfg->passwd, user)) {
	case AUTH_OK:
		break;
	case AUTH_FAIL:
		log_warn("deliver: no such user: %s", user);
		return EXIT_NOUSER;
	default:
		log_warn("deliver: user database %s unreadable", cfg->passwd);
		return EXIT_TEMPFAIL;
	}

	size_t len;
	unsigned char *msg = slurp(fd, &len);
	if (!msg) {
		log_errno("deliver: reading the message");
		return EXIT_TEMPFAIL;
	}
	struct spool_where where = config_where(cfg);
	enum spool_err e = spool_deliver(&where, user, sender, msg, len);
	free(msg);
	switch (e) {
	case SPOOL_OK:
		log_info("deliver: %zu octets to %s", len, user);
		return EXIT_DELIVERED;
	case SPOOL_EINVAL:
		log_warn("deliver: malformed message for %s", user);
		return EXIT_DATAERR;
	default:
		log_warn("deliver: to %s failed: %s", user, spool_strerror(e));
		return EXIT_TEMPFAIL;
	}
}
