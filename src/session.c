/* One connection, start to end: pick the front-end, log the outcome. */
#include "session.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "trace.h"

void
session_fail_delay(const struct session_env *env)
{
	int ms = env->cfg->auth_fail_delay_ms;
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (ms > 0 && nanosleep(&ts, &ts) != 0 && !netio_stop_requested)
		;
}

void
session_run(const struct config *cfg, enum proto_kind proto, int rfd, int wfd,
            const char *peer)
{
	static struct netio io; /* one session per process; too big for a stack frame */
	struct session_env env;
	const char *name = proto == PROTO_POP3 ? "pop3" : "pop2";
	char tag[128];

	memset(&env, 0, sizeof(env));
	env.cfg = cfg;
	env.where = config_where(cfg);
	env.peer = peer;
	env.stats.end = "disconnected";
	snprintf(tag, sizeof(tag), "%s %s", name, peer);
	log_set_tag(tag);
	log_info("connect");

	netio_init(&io, rfd, wfd);
	io.idle_timeout = cfg->timeout_login;
	io.write_timeout = cfg->timeout_write;
	io.trace = trace_open(cfg->trace, cfg->trace_bodies,
	                      proto == PROTO_POP3 ? "pop3" : "port109", peer,
	                      rfd, wfd);
	if (proto == PROTO_POP3)
		pop3_serve(&io, &env);
	else
		port109_serve(&io, &env);
	netio_flush(&io);
	trace_close(io.trace, env.stats.end);
	io.trace = NULL;

	log_info("end: user=%s retrieved=%u octets=%llu deleted=%u in=%llu out=%llu how=%s",
	         env.stats.user[0] ? env.stats.user : "-", env.stats.retrieved,
	         (unsigned long long)env.stats.octets, env.stats.deleted,
	         (unsigned long long)io.octets_in, (unsigned long long)io.octets_out,
	         env.stats.end);
}
