/* One connection, start to end: split off the protocol process, pick the
 * front-end, log the outcome; after a POP3 takeover the monitor serves
 * the rest here (src/privsep.h). */
#include "session.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "log.h"
#include "privsep.h"
#include "proxy.h"
#include "trace.h"

void
session_fail_delay(const struct session_env *env)
{
	int ms = env->cfg->auth_fail_delay_ms;
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (ms > 0 && nanosleep(&ts, &ts) != 0 && !netio_stop_requested)
		;
}

/*
 * On a proxy listener: the real client, from the balancer's PROXY header,
 * replaces PEER (kept for LOCAL and UNKNOWN headers: the balancer's own
 * health checks).  False if the header is missing or malformed: the
 * connection is then closed without a word, as the spec asks.
 */
static bool
proxy_peer(int fd, char *peer, size_t peersz)
{
	struct sockaddr_storage real;
	char client[80];
	const char *why;
	if (!proxy_read(fd, PROXY_TIMEOUT_MS, &real, &why)) {
		log_warn("PROXY header from %s: %s; closed", peer, why);
		return false;
	}
	if (real.ss_family == AF_UNSPEC) {
		log_info("PROXY header from %s names no client: serving it as itself", peer);
		return true;
	}
	addr_format((struct sockaddr *)&real, client, sizeof(client));
	log_info("PROXY: client %s via %s", client, peer);
	snprintf(peer, peersz, "%s", client);
	return true;
}

static void
set_tag(const char *name, const char *peer)
{
	char tag[128];
	snprintf(tag, sizeof(tag), "%s %s", name, peer);
	log_set_tag(tag);
}

/* The monitor after a POP3 takeover: the protocol process is gone and
 * this process, the mail's owner now, serves on from T. */
static void
resume(struct netio *io, struct session_env *env, char *peer, size_t peersz,
       const struct privsep_takeover *t)
{
	/* A PROXY header's client, as the protocol process read it. */
	snprintf(peer, peersz, "%s", t->peer);
	set_tag("pop3", peer);
	pop3_resume(io, env, t);
}

void
session_run(const struct config *cfg, enum proto_kind proto,
            const struct session_conn *c)
{
	static struct netio io; /* one session per process; too big for a stack frame */
	static struct privsep_takeover taken; /* the monitor's */
	struct session_env env;
	const char *name = proto == PROTO_POP3 ? "pop3" : "pop2";
	char peer[sizeof(c->peer)];

	snprintf(peer, sizeof(peer), "%s", c->peer);
	memset(&env, 0, sizeof(env));
	env.cfg = cfg;
	env.where = config_where(cfg);
	env.peer = peer;
	env.stats.end = "disconnected";
	set_tag(name, peer);
	log_info("connect");

	netio_init(&io, c->rfd, c->wfd);
	io.idle_timeout = cfg->timeout_login;
	io.write_timeout = cfg->timeout_write;
	/* Opened before the split: the trace folder need not be open to the
	 * unprivileged account. */
	io.trace = trace_open(cfg->trace, cfg->trace_bodies,
	                      proto == PROTO_POP3 ? "pop3" : "port109", peer,
	                      c->rfd, c->wfd);
	/* RPOP trusts the accepted address only when no balancer stands
	 * between (the monitor cannot check a PROXY header's word). */
	const struct sockaddr_storage *trusted =
		c->proxy || c->addr.ss_family == AF_UNSPEC ? NULL : &c->addr;
	taken.in_room = io.in;
	enum privsep_role role = privsep_begin(cfg, c->rfd, trusted, &taken);
	/* A split protocol process ends with its monitor, even one killed
	 * without a chance to end it (netio.h). */
	io.watch_fd = privsep_channel();
	if (role == PRIVSEP_FAILED) {
		env.stats.end = "internal error";
	} else if (role == PRIVSEP_RESUME) {
		resume(&io, &env, peer, sizeof(peer), &taken);
	} else if (c->proxy && !proxy_peer(c->rfd, peer, sizeof(peer))) {
		env.stats.end = "bad PROXY header";
	} else {
		if (c->proxy)
			set_tag(name, peer);
		if (proto == PROTO_POP3)
			pop3_serve(&io, &env);
		else
			port109_serve(&io, &env);
	}
	netio_flush(&io);
	trace_close(io.trace, env.stats.end);
	io.trace = NULL;
	privsep_end();

	log_info("end: user=%s retrieved=%u octets=%llu deleted=%u in=%llu out=%llu how=%s",
	         env.stats.user[0] ? env.stats.user : "-", env.stats.retrieved,
	         (unsigned long long)env.stats.octets, env.stats.deleted,
	         (unsigned long long)io.octets_in, (unsigned long long)io.octets_out,
	         env.stats.end);
}
