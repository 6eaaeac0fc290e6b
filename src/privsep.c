/*
 * Privilege separation: start-up checks and the split of a connection
 * (privsep.h).  The monitor is the parent, so the process the daemon (or
 * inetd) started, counts and signals is the one that outlives a POP3
 * takeover; the protocol process is its child.
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
#include "ipc.h"
#include "log.h"
#include "netio.h"
#include "remote.h"
#include "spool.h"

/* The channel to this protocol process's monitor; -1 when not split. */
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

/* The protocol process of this monitor while it lives, for the signal
 * handler; -1 once it is gone. */
static volatile pid_t protocol_pid = -1;
static int client_fd = -1;

/*
 * SIGTERM or SIGINT in the monitor: the session is to end, and it is the
 * protocol process that holds it.  As root, or as the same account, the
 * monitor tells it with the same signal.  A monitor that became the
 * mail's owner (POP2, POP1) may not signal `user`'s process; for it the
 * flag is enough: its loop, where this handler runs, then closes its end
 * of the channel, which the protocol process reads as a stop
 * (privsep_monitor.c).  Shutting the connection instead would be read as
 * the client's end, and logged as "disconnected".
 */
static void
on_monitor_stop(int sig)
{
	int saved = errno;
	netio_stop_requested = 1;
	pid_t pid = protocol_pid;
	if (pid > 0)
		(void)kill(pid, sig);
	errno = saved;
}

static void
forward_stops(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_monitor_stop;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: after a takeover a blocked poll() must see it. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* Waits for the protocol process; with KILL it is ended first (it
 * misbehaved, or the monitor cannot go on), by a signal if the monitor
 * may send one and by shutting the connection otherwise. */
static void
reap_protocol(pid_t pid, bool kill_it)
{
	protocol_pid = -1;
	if (kill_it && kill(pid, SIGKILL) != 0 && client_fd >= 0)
		shutdown(client_fd, SHUT_RDWR);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* The monitor's side of a new connection: returns only after a takeover,
 * with the protocol process gone; otherwise it ends with the session. */
static void
run_monitor(const struct config *cfg, int channel, pid_t child, int rfd,
            const struct sockaddr_storage *peer, struct privsep_takeover *t,
            const sigset_t *mask)
{
	client_fd = rfd;
	protocol_pid = child;
	forward_stops();
	sigprocmask(SIG_SETMASK, mask, NULL); /* a stop held meanwhile comes now */
	enum privsep_monitor_end end = privsep_monitor(cfg, &cfg->ids, channel,
	                                               peer, t);
	/* Closed before the wait: the protocol process waits for it
	 * (privsep_end) to know the maildrop is free. */
	close(channel);
	/* A protocol process that ended the session has closed its end and
	 * exits by itself, as it does at the reply to a takeover; one that
	 * is still there after a refused request is ended. */
	reap_protocol(child, end == PRIVSEP_MONITOR_BROKEN);
	if (end != PRIVSEP_MONITOR_TAKEOVER)
		_exit(0);
}

enum privsep_role
privsep_begin(const struct config *cfg, int rfd,
              const struct sockaddr_storage *peer, struct privsep_takeover *t)
{
	int sv[2];
	if (!cfg->ids.active)
		return PRIVSEP_SERVE;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		log_errno("socketpair");
		return PRIVSEP_FAILED;
	}
	fcntl(sv[0], F_SETFD, FD_CLOEXEC);
	fcntl(sv[1], F_SETFD, FD_CLOEXEC);
	/* Local time for log lines must not need files after a chroot. */
	tzset();
	/* A stop that comes during the fork is held until the monitor knows
	 * its child and can pass it on. */
	sigset_t stops, mask;
	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	sigprocmask(SIG_BLOCK, &stops, &mask);
	pid_t pid = fork();
	if (pid < 0) {
		log_errno("fork");
		sigprocmask(SIG_SETMASK, &mask, NULL);
		close(sv[0]);
		close(sv[1]);
		return PRIVSEP_FAILED;
	}
	if (pid > 0) {
		close(sv[0]);
		run_monitor(cfg, sv[1], pid, rfd, peer, t, &mask);
		return PRIVSEP_RESUME;
	}
	sigprocmask(SIG_SETMASK, &mask, NULL);
	close(sv[1]);
	monitor_channel = sv[0];
	/* Unconfined it reads nothing: the session ends, logged, and the
	 * monitor with it (privsep_end). */
	if (!privsep_ident_confine(cfg, &cfg->ids))
		return PRIVSEP_FAILED;
	auth_use_remote(sv[0]);
	spool_use_remote(sv[0]);
	return PRIVSEP_SERVE;
}

int
privsep_channel(void)
{
	return monitor_channel;
}

unsigned
privsep_takeover(const struct privsep_takeover *t)
{
	struct ipc_out o;
	uint64_t code;
	ipc_out_init(&o);
	privsep_takeover_encode(&o, t);
	bool ok = ipc_call_code(monitor_channel, PS_TAKEOVER, &o, PS_RESULT, &code);
	ipc_out_free(&o);
	/* No monitor, no session: it has ended, or is ending, this one. */
	if (!ok)
		_exit(1);
	/* The client is the monitor's now; nothing of this process may
	 * reach it, not even a buffer flushed at exit. */
	if (code == SPOOL_OK)
		_exit(0);
	return code > PRIVSEP_STAY_SPLIT ? SPOOL_ETEMP : (unsigned)code;
}

void
privsep_end(void)
{
	if (monitor_channel < 0)
		return;
	/* The monitor lets go of the maildrop when it sees the end of the
	 * channel, then closes its own end; waiting for that means a client
	 * that reconnects at once finds the maildrop free. */
	shutdown(monitor_channel, SHUT_WR);
	for (;;) {
		char c;
		ssize_t n = read(monitor_channel, &c, 1);
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	close(monitor_channel);
	monitor_channel = -1;
}
