/*
 * Privilege separation: start-up checks and the split of a connection
 * (privsep.h).  The protocol process is the parent, so the process the
 * daemon (or inetd) started, counts and signals is the one that talks to
 * the client; the monitor is its child and ends when the channel closes.
 */
#include "privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth_remote.h"
#include "log.h"
#include "remote.h"

/* The monitor of this protocol process, for privsep_end. */
static pid_t monitor_pid = -1;
static int monitor_channel = -1;

static bool
lookup(const char *key, const char *name, uid_t *uid_r, gid_t *gid_r,
       char *err, size_t errsz)
{
	const struct passwd *pw = getpwnam(name);
	if (!pw) {
		snprintf(err, errsz, "%s: no system account '%s'; create it or "
		         "name another (postoffice.conf(5))", key, name);
		return false;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errsz, "%s: '%s' is root; name an unprivileged account",
		         key, name);
		return false;
	}
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	return true;
}

bool
privsep_setup(struct config *cfg, char *err, size_t errsz)
{
	struct privsep_ids *ids = &cfg->ids;
	memset(ids, 0, sizeof(*ids));
	if (geteuid() != 0) {
		if (cfg->user[0] || cfg->mail_user[0] || cfg->chroot[0])
			log_info("not started as root: user, mail_user and chroot "
			         "do not apply; everything runs as uid %ld",
			         (long)geteuid());
		return true;
	}
	const char *user = cfg->user[0] ? cfg->user : "nobody";
	if (!lookup("user", user, &ids->user_uid, &ids->user_gid, err, errsz))
		return false;
	if (cfg->mail_user[0]) {
		if (!lookup("mail_user", cfg->mail_user, &ids->mail_uid,
		            &ids->mail_gid, err, errsz))
			return false;
		ids->have_mail_user = true;
	}
	struct stat st;
	if (cfg->chroot[0] && (stat(cfg->chroot, &st) != 0 || !S_ISDIR(st.st_mode))) {
		snprintf(err, errsz, "chroot: %s is not a directory", cfg->chroot);
		return false;
	}
	/* Every name-service module, loaded here once: a monitor that looks
	 * up a user's account would otherwise load them itself, in memory
	 * that every idle session then pays for (docs/performance.md). */
	(void)getpwnam("postoffice-no-such-account");
	ids->active = true;
	return true;
}

/* The monitor's side of a new connection; never returns. */
static void
run_monitor(const struct config *cfg, int channel, int rfd, int wfd,
            const struct sockaddr_storage *peer)
{
	/* The client's bytes are the protocol process's alone. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, rfd);
		if (wfd != rfd)
			dup2(null, wfd);
		close(null);
	}
	privsep_monitor(cfg, &cfg->ids, channel, peer);
	_exit(0);
}

bool
privsep_begin(const struct config *cfg, int rfd, int wfd,
              const struct sockaddr_storage *peer)
{
	int sv[2];
	if (!cfg->ids.active)
		return true;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		log_errno("socketpair");
		return false;
	}
	fcntl(sv[0], F_SETFD, FD_CLOEXEC);
	fcntl(sv[1], F_SETFD, FD_CLOEXEC);
	pid_t pid = fork();
	if (pid < 0) {
		log_errno("fork");
		close(sv[0]);
		close(sv[1]);
		return false;
	}
	if (pid == 0) {
		close(sv[0]);
		run_monitor(cfg, sv[1], rfd, wfd, peer);
	}
	close(sv[1]);
	monitor_pid = pid;
	monitor_channel = sv[0];
	/* Local time for log lines must not need files after a chroot. */
	tzset();
	if (!privsep_ident_confine(cfg, &cfg->ids)) {
		privsep_end();
		return false;
	}
	auth_use_remote(sv[0]);
	spool_use_remote(sv[0]);
	return true;
}

void
privsep_end(void)
{
	if (monitor_pid < 0)
		return;
	close(monitor_channel);
	/* The monitor lets go of the maildrop when it sees the end of the
	 * channel; waiting for it means a client that reconnects at once
	 * finds the maildrop free. */
	int status;
	while (waitpid(monitor_pid, &status, 0) < 0 && errno == EINTR)
		;
	monitor_pid = -1;
	monitor_channel = -1;
}
