/* systemd socket activation without libsystemd; see socketact.h. */
#include "socketact.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static bool
parse_ulong(const char *s, unsigned long max, unsigned long *v_r)
{
	unsigned long v = 0;
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (unsigned long)(*s - '0')) / 10)
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*v_r = v;
	return true;
}

/* The I-th colon-separated name of NAMES into W; "" if there is none. */
static void
name_at(const char *names, size_t i, char *w, size_t wsz)
{
	w[0] = '\0';
	for (const char *p = names; p; i--) {
		const char *e = strchr(p, ':');
		if (i == 0) {
			size_t n = e ? (size_t)(e - p) : strlen(p);
			if (n < wsz) {
				memcpy(w, p, n);
				w[n] = '\0';
			}
			return;
		}
		p = e ? e + 1 : NULL;
	}
}

static bool
setup_one(struct listener *l, int fd, const char *name)
{
	struct stat st;
	int listening = 0;
	socklen_t sl = sizeof(listening);
	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		log_warn("socket activation: fd %d is not a socket", fd);
		return false;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &sl) != 0 || !listening) {
		log_warn("socket activation: fd %d is not listening: Accept=yes is not "
		         "supported; use Accept=no, or --inetd for one session per process", fd);
		return false;
	}
	l->fd = fd;
	l->proto = !strcmp(name, "pop2") || !strcmp(name, "pop2-proxy") ? PROTO_POP2 : PROTO_POP3;
	l->proxy = !strcmp(name, "pop3-proxy") || !strcmp(name, "pop2-proxy");
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return true;
}

int
socketact_listeners(struct listener *l, size_t max)
{
	const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
	const char *names_s = getenv("LISTEN_FDNAMES");
	char names[1024] = "";
	unsigned long pid, n;
	int r = 0;

	if (names_s)
		snprintf(names, sizeof(names), "%s", names_s);
	if (pid_s && fds_s && parse_ulong(pid_s, (unsigned long)-1, &pid)
	    && pid == (unsigned long)getpid() && parse_ulong(fds_s, 1024, &n) && n > 0) {
		if (n > max) {
			log_warn("socket activation: %lu sockets, at most %zu served", n, max);
			r = -1;
		}
		for (size_t i = 0; r == 0 && i < n; i++) {
			char name[64];
			name_at(names_s ? names : NULL, i, name, sizeof(name));
			if (!setup_one(&l[i], SOCKETACT_FD_START + (int)i, name))
				r = -1;
		}
		if (r == 0)
			r = (int)n;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return r;
}
