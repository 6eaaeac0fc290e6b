/*
 * The daemon.  Process model: the parent only accepts and reaps; each
 * session runs in its own forked child, so a crash or a hang in one session
 * never touches another, and per-session state needs no locking.  Signals
 * reach the parent's poll loop through a self-pipe.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "netio.h"
#include "session.h"
#include "socketact.h"

static int sig_pipe[2] = { -1, -1 };

/* The live session processes, so a stop can signal exactly them (never
 * the process group: a test harness or a shell may share it). */
struct child {
	pid_t pid;
	char host[INET6_ADDRSTRLEN]; /* client address, for the per-host limit */
};

struct children {
	struct child *c;
	size_t n, cap;
};
static volatile sig_atomic_t stop_flag;

static void
on_parent_signal(int sig)
{
	int saved = errno;
	if (sig == SIGTERM || sig == SIGINT)
		stop_flag = 1;
	if (sig_pipe[1] >= 0)
		(void)!write(sig_pipe[1], "x", 1);
	errno = saved;
}

static void
on_child_term(int sig)
{
	(void)sig;
	netio_stop_requested = 1;
}

static void
set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked poll() must see the signal. */
	sigaction(sig, &sa, NULL);
}

/* Say where we really listen: port 0 in the config picks a free port,
 * which the tests read from this line. */
static void
log_listening(const struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char where[80];
	memset(&ss, 0, sizeof(ss));
	getsockname(l->fd, (struct sockaddr *)&ss, &sl);
	addr_format((struct sockaddr *)&ss, where, sizeof(where));
	log_info("listening %s %s%s", l->proto == PROTO_POP3 ? "pop3" : "pop2", where,
	         l->proxy ? " proxy" : "");
}

static int
open_listener(const struct listen_addr *a)
{
	int fd = socket(a->addr.ss_family, SOCK_STREAM, 0);
	if (fd < 0) {
		log_errno("socket for %s", a->text);
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->addr, a->addrlen) != 0) {
		log_errno("cannot listen on %s", a->text);
		close(fd);
		return -1;
	}
	if (listen(fd, 128) != 0) {
		log_errno("listen on %s", a->text);
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* Child side of an accepted connection; never returns. */
static void
run_child(const struct config *cfg, const struct listener *ls, size_t nls, int conn,
          const struct listener *l, const struct sockaddr_storage *peer)
{
	struct session_conn c = { .rfd = conn, .wfd = conn, .addr = *peer,
	                          .proxy = l->proxy };
	for (size_t i = 0; i < nls; i++)
		close(ls[i].fd);
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	sig_pipe[0] = sig_pipe[1] = -1;
	set_handler(SIGTERM, on_child_term);
	set_handler(SIGINT, on_child_term);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	addr_format((const struct sockaddr *)peer, c.peer, sizeof(c.peer));
	session_run(cfg, l->proto, &c);
	close(conn);
	_exit(0);
}

/*
 * Whether one more session may start for HOST.  A refused client gets one
 * line it can show its user, in its protocol's error form, and is closed:
 * POP3 with RFC 3206 [SYS/TEMP] so it retries later; port 109 with a bare
 * "-", the error indicator of RFC 937 that RFC 918's "-ERR" also starts
 * with.
 */
static bool
admit(const struct config *cfg, struct children *ch, const char *host,
      const struct listener *l, int conn)
{
	enum proto_kind proto = l->proto;
	size_t same = 0;
	for (size_t k = 0; k < ch->n; k++)
		if (strcmp(ch->c[k].host, host) == 0)
			same++;
	const char *why = NULL;
	if (ch->n >= (size_t)cfg->max_sessions)
		why = "Too many sessions on this server; try again later";
	else if (!l->proxy && same >= (size_t)cfg->max_per_host)
		why = "Too many sessions from your address; try again later";
	if (!why && ch->n == ch->cap) {
		size_t cap = ch->cap ? ch->cap * 2 : 64;
		struct child *grown = realloc(ch->c, cap * sizeof(*grown));
		if (!grown)
			why = "Server busy; try again later";
		else {
			ch->c = grown;
			ch->cap = cap;
		}
	}
	if (!why)
		return true;
	char line[128];
	int n = snprintf(line, sizeof(line), "%s %s\r\n",
	                 proto == PROTO_POP3 ? "-ERR [SYS/TEMP]" : "-", why);
	(void)!write(conn, line, (size_t)n);
	log_warn("refused %s: %s", host, why);
	return false;
}

/*
 * On a proxy listener every connection comes from the balancer, so the
 * per-host limit is not applied there (the real client is known only
 * after the child has read the header); the total limit still is.
 */
static void
accept_one(const struct config *cfg, const struct listener *ls, size_t nls, size_t i,
           struct children *ch)
{
	struct sockaddr_storage peer;
	socklen_t pl = sizeof(peer);
	memset(&peer, 0, sizeof(peer));
	int conn = accept(ls[i].fd, (struct sockaddr *)&peer, &pl);
	if (conn < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
		    && errno != ECONNABORTED)
			log_errno("accept");
		return;
	}
	char host[INET6_ADDRSTRLEN];
	addr_format_host((struct sockaddr *)&peer, host, sizeof(host));
	if (!admit(cfg, ch, host, &ls[i], conn)) {
		close(conn);
		return;
	}
	pid_t pid = fork();
	if (pid == 0)
		run_child(cfg, ls, nls, conn, &ls[i], &peer);
	if (pid < 0) {
		log_errno("fork");
	} else {
		ch->c[ch->n].pid = pid;
		/* A proxied session's address is the balancer's: it does not
		 * count against that host on the plain listeners either. */
		snprintf(ch->c[ch->n].host, sizeof(ch->c[ch->n].host), "%s",
		         ls[i].proxy ? "" : host);
		ch->n++;
	}
	close(conn);
}

static void
reap(struct children *ch)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t k = 0; k < ch->n; k++)
			if (ch->c[k].pid == pid) {
				ch->c[k] = ch->c[--ch->n];
				break;
			}
		if (WIFSIGNALED(status))
			log_warn("session process %ld killed by signal %d",
			         (long)pid, WTERMSIG(status));
	}
}

/* SIGTERM: ask every session to end, then wait for them briefly. */
static void
stop_children(struct children *ch)
{
	for (size_t k = 0; k < ch->n; k++)
		kill(ch->c[k].pid, SIGTERM);
	for (int i = 0; i < 100 && ch->n > 0; i++) {
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
		reap(ch);
	}
	free(ch->c);
}

/* The sockets systemd passed, or else the config's listen lines. */
static int
open_listeners(const struct config *cfg, struct listener *ls, size_t *n_r)
{
	int act = socketact_listeners(ls, MAX_LISTENERS);
	if (act < 0)
		return -1;
	if (act > 0) {
		log_info("socket activation: %d socket%s from systemd; listen lines not used",
		         act, act == 1 ? "" : "s");
		*n_r = (size_t)act;
		return 0;
	}
	if (cfg->nlisten == 0) {
		log_warn("%s: no 'listen' lines: nothing to serve", cfg->path);
		return -1;
	}
	for (size_t i = 0; i < cfg->nlisten; i++) {
		ls[i].fd = open_listener(&cfg->listen[i]);
		ls[i].proto = cfg->listen[i].proto;
		ls[i].proxy = cfg->listen[i].proxy;
		if (ls[i].fd < 0) {
			while (i-- > 0)
				close(ls[i].fd);
			return -1;
		}
	}
	*n_r = cfg->nlisten;
	return 0;
}

int
server_run(const struct config *cfg)
{
	struct listener ls[MAX_LISTENERS];
	struct pollfd pfd[MAX_LISTENERS + 1];
	size_t n = 0;
	struct children children = { NULL, 0, 0 };

	if (open_listeners(cfg, ls, &n) != 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		log_listening(&ls[i]);
	if (pipe(sig_pipe) != 0) {
		log_errno("pipe");
		return 1;
	}
	for (int k = 0; k < 2; k++) {
		fcntl(sig_pipe[k], F_SETFL, O_NONBLOCK);
		fcntl(sig_pipe[k], F_SETFD, FD_CLOEXEC);
	}
	set_handler(SIGTERM, on_parent_signal);
	set_handler(SIGINT, on_parent_signal);
	set_handler(SIGCHLD, on_parent_signal);
	signal(SIGPIPE, SIG_IGN);
	log_info("postoffice ready (config %s)", cfg->path);
	if (cfg->ids.active)
		log_info("privilege separation: protocol processes run as %s%s%s",
		         cfg->user[0] ? cfg->user : "nobody",
		         cfg->chroot[0] ? " in " : "", cfg->chroot);

	while (!stop_flag) {
		for (size_t i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = ls[i].fd, .events = POLLIN };
		pfd[n] = (struct pollfd){ .fd = sig_pipe[0], .events = POLLIN };
		int r = poll(pfd, n + 1, -1);
		if (r < 0 && errno != EINTR) {
			log_errno("poll");
			break;
		}
		if (r > 0 && (pfd[n].revents & POLLIN)) {
			char drain[64];
			while (read(sig_pipe[0], drain, sizeof(drain)) > 0)
				;
		}
		reap(&children);
		if (stop_flag)
			break;
		for (size_t i = 0; r > 0 && i < n; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(cfg, ls, n, i, &children);
	}
	for (size_t i = 0; i < n; i++)
		close(ls[i].fd);
	stop_children(&children);
	log_info("stopped");
	return 0;
}

int
server_inetd(const struct config *cfg, enum proto_kind proto)
{
	struct session_conn c = { .rfd = 0, .wfd = 1 };
	socklen_t pl = sizeof(c.addr);

	snprintf(c.peer, sizeof(c.peer), "stdin");
	if (getpeername(0, (struct sockaddr *)&c.addr, &pl) == 0)
		addr_format((struct sockaddr *)&c.addr, c.peer, sizeof(c.peer));
	else
		c.addr.ss_family = AF_UNSPEC;
	set_handler(SIGTERM, on_child_term);
	set_handler(SIGINT, on_child_term);
	/* An inetd or supervisor may leave SIGCHLD ignored, and exec keeps
	 * that: children would then be reaped by the kernel and every
	 * waitpid() of the monitor (its protocol process, each credential
	 * check) would fail with ECHILD, refusing every login. */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	session_run(cfg, proto, &c);
	return 0;
}
