/*
 * The monitor (privsep.h): one request, one reply, until the protocol
 * process closes the channel.  Everything a request carries is untrusted:
 * lengths are bounded by ipc.c, strings by USER_MAX and the like, message
 * indexes by the open maildrop, and a maildrop is opened only for the
 * user whose credentials this monitor itself checked.
 */
#include "privsep.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "auth.h"
#include "ipc.h"
#include "log.h"
#include "netio.h"
#include "params.h"
#include "spool.h"
#include "utf8.h"

/* How long a protocol process told of a stop may take to end the
 * session: less than the daemon waits for its sessions at shutdown. */
#define STOP_GRACE_SECONDS 2

/* The account a login's mail is served as, looked up by the child that
 * checked the credentials (check_in_child): one fork a login, not two.
 * UNKNOWN sends the open to privsep_ident_resolve_apart. */
struct account {
	enum { ACCOUNT_UNKNOWN, ACCOUNT_FOUND, ACCOUNT_NONE } state;
	struct privsep_id id;
};

struct monitor {
	const struct config *cfg;
	const struct privsep_ids *ids;
	int ch;
	const struct sockaddr_storage *peer;
	struct spool_where where;
	char authed[USER_MAX + 1];   /* last user whose login this monitor passed */
	bool switched;               /* runs as that user's account for good */
	unsigned failures;
	struct spool *sp;            /* the open maildrop, or NULL */
	bool broken;                 /* a reply could not be sent whole */
	struct privsep_takeover *t;  /* filled by an accepted PS_TAKEOVER */
	bool taken;                  /* and then the loop ends */
	struct account account;      /* AUTHED's, set with it (auth_reply) */
};

static bool
reply_code(struct monitor *m, unsigned type, uint64_t code)
{
	struct ipc_out o;
	ipc_out_init(&o);
	ipc_put_u64(&o, code);
	bool ok = ipc_send(m->ch, type, &o, NULL, 0);
	ipc_out_free(&o);
	return ok;
}

/* Records the outcome of a credential check for USER, with the account
 * it found, and answers it.  After a maildrop was opened this process is
 * no longer root and no second login exists in any of the protocols, so
 * none is accepted. */
static bool
auth_reply(struct monitor *m, const char *user, enum auth_result r,
           const struct account *a)
{
	if (r == AUTH_OK) {
		snprintf(m->authed, sizeof(m->authed), "%s", user);
		m->account = *a;
	} else if (r == AUTH_FAIL) {
		m->failures++;
	}
	return reply_code(m, PS_RESULT, r);
}

/* Whether another check may be made: the protocol process stops at
 * MAX_AUTH_FAILURES, so one that goes on is not to be believed. */
static bool
may_check(const struct monitor *m)
{
	return !m->switched && m->failures < MAX_AUTH_FAILURES;
}

/* RPOP trusts the client's host: this process checks it itself, from
 * the address the connection was accepted from (privsep.h). */
static bool
rpop_trusted(const struct monitor *m)
{
	const struct sockaddr_storage *ss = m->peer;
	const unsigned char *addr;
	unsigned port;
	if (!ss)
		return false;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const void *)ss;
		addr = (const unsigned char *)&v4->sin_addr;
		port = ntohs(v4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const void *)ss;
		addr = (const unsigned char *)&v6->sin6_addr;
		port = ntohs(v6->sin6_port);
	} else {
		return false;
	}
	if (port >= 1024)
		return false;
	for (size_t i = 0; i < m->cfg->nrpop_trusted; i++)
		if (config_prefix_contains(&m->cfg->rpop_trusted[i], ss->ss_family, addr))
			return true;
	return false;
}

/* One credential check of a parsed request. */
struct check {
	unsigned type;
	const char *user, *text, *digest;
	bool mapped;
};

static enum auth_result
run_check(const struct monitor *m, const struct check *c)
{
	const char *passwd = m->cfg->passwd;
	switch (c->type) {
	case PS_AUTH_PASS:
		return auth_check_password(passwd, c->user, c->text);
	case PS_AUTH_APOP:
		return auth_check_apop_mapped(passwd, c->user, c->text, c->digest,
		                              c->mapped ? utf8_saslprep : NULL);
	case PS_AUTH_CRAM:
		return auth_check_cram_md5(passwd, c->user, c->text, c->digest);
	default: /* PS_AUTH_RPOP, PS_USER_EXISTS */
		return auth_user_exists(passwd, c->user);
	}
}

/*
 * Runs the check in a child that exits with the result.  The passwd
 * file's lines and crypt(3)'s 32 KiB of state then never touch this
 * process, which lives as long as the session: an idle session costs
 * less (docs/performance.md) and no secret outlives the check.  A login
 * that passes also has its account looked up there (privsep_ident_resolve,
 * which may load name-service modules, kept out of this process for the
 * same reason) and returned in *A_R (UNKNOWN if it could not be).
 */
static enum auth_result
check_in_child(const struct monitor *m, const struct check *c, struct account *a_r)
{
	int status, fds[2] = { -1, -1 };
	if (c->type != PS_USER_EXISTS && pipe(fds) != 0)
		fds[0] = fds[1] = -1;
	a_r->state = ACCOUNT_UNKNOWN;
	pid_t pid = fork();
	if (pid == 0) {
		enum auth_result r = run_check(m, c);
		if (r == AUTH_OK && fds[1] >= 0) {
			struct account a = { 0 };
			a.state = privsep_ident_resolve(m->cfg, m->ids, c->user, &a.id)
			        ? ACCOUNT_FOUND : ACCOUNT_NONE;
			if (write(fds[1], &a, sizeof(a)) != (ssize_t)sizeof(a))
				_exit(AUTH_TEMPFAIL);
		}
		_exit((int)r);
	}
	if (fds[1] >= 0)
		close(fds[1]);
	if (pid < 0) {
		if (fds[0] >= 0)
			close(fds[0]);
		return run_check(m, c);
	}
	if (fds[0] >= 0) {
		struct account a;
		ssize_t n;
		do
			n = read(fds[0], &a, sizeof(a));
		while (n < 0 && errno == EINTR);
		close(fds[0]);
		if (n == (ssize_t)sizeof(a))
			*a_r = a;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return AUTH_TEMPFAIL;
	if (!WIFEXITED(status))
		return AUTH_TEMPFAIL;
	switch (WEXITSTATUS(status)) {
	case AUTH_OK:
		return AUTH_OK;
	case AUTH_FAIL:
		return AUTH_FAIL;
	default:
		return AUTH_TEMPFAIL;
	}
}

/* The account the logged-in USER's mail is served as: the one the
 * credential check found, else looked up now; false (logged) if none. */
static bool
login_account(const struct monitor *m, const char *user, struct privsep_id *id_r)
{
	if (m->account.state == ACCOUNT_UNKNOWN || strcmp(user, m->authed) != 0)
		return privsep_ident_resolve_apart(m->cfg, m->ids, user, id_r);
	*id_r = m->account.id;
	return m->account.state == ACCOUNT_FOUND;
}

static bool
on_auth(struct monitor *m, unsigned type, struct ipc_in *in)
{
	struct check c = { .type = type, .user = ipc_get_str(in, USER_MAX) };
	enum auth_result r = AUTH_FAIL;
	struct account a = { .state = ACCOUNT_UNKNOWN };
	if (type == PS_AUTH_PASS) {
		c.text = ipc_get_str(in, in->len);
	} else if (type == PS_AUTH_APOP || type == PS_AUTH_CRAM) {
		c.text = ipc_get_str(in, in->len);
		c.digest = ipc_get_str(in, 64);
		c.mapped = type == PS_AUTH_APOP && ipc_get_u64(in) != 0;
	}
	if (in->bad) {
		/* counted as a failure below */
	} else if (type == PS_USER_EXISTS) {
		return reply_code(m, PS_RESULT, check_in_child(m, &c, &a)); /* no login */
	} else if (type == PS_AUTH_RPOP && !rpop_trusted(m)) {
		log_warn("RPOP for %s refused: the client's host is not trusted", c.user);
	} else if (may_check(m)) {
		r = check_in_child(m, &c, &a);
	}
	bool ok = auth_reply(m, c.user, r, &a);
	auth_wipe((void *)(uintptr_t)in->p, in->len); /* the password */
	return ok;
}

/*
 * The heap while the login's maildrop is opened.  The open allocates and
 * frees large buffers (a directory stream's 32 KiB, the size cache's
 * 64 KiB reader) among small allocations that last the session.  Carved
 * from the large free top of heap the daemon leaves, the large ones push
 * the small ones pages apart, and every page written stays with the
 * session (docs/performance.md).  So the top is cut back first and grows
 * 16 KiB at a time, and anything of 8 KiB or more that it cannot hold is
 * mapped on its own and unmapped when freed: the small allocations then
 * sit together.  malloc_trim and mallopt are glibc's, hence the #ifdef;
 * elsewhere nothing changes.  After the open glibc's defaults are set
 * again (128 KiB for both), all but its dynamic mmap threshold, which no
 * call turns back on.
 */
static void
heap_tight(bool on)
{
#ifdef __GLIBC__
	mallopt(M_MMAP_THRESHOLD, on ? 8 * 1024 : 128 * 1024);
	mallopt(M_TOP_PAD, on ? 16 * 1024 : 128 * 1024);
	if (on)
		malloc_trim(0);
#else
	(void)on;
#endif
}

/* Opens the maildrop as ID, the login's account; the first success
 * makes that account this process's own for good. */
static enum spool_err
open_as(struct monitor *m, const struct privsep_id *idp, const char *user,
        const char *folder)
{
	struct privsep_id id = *idp;
	if (!privsep_ident_try(&id))
		return SPOOL_ETEMP;
	heap_tight(true);
	enum spool_err e = spool_open(&m->where, user, folder, &m->sp);
	heap_tight(false);
	if (e != SPOOL_OK) {
		if (!privsep_ident_undo()) {
			log_warn("monitor cannot return to root; ending the session");
			exit(1);
		}
		return e;
	}
	if (!privsep_ident_become(&id)) {
		spool_close(m->sp);
		m->sp = NULL;
		exit(1); /* half-switched: no safe way on */
	}
	m->switched = true;
	log_info("mail of %s served as uid %ld (%s)%s", user, (long)id.uid, id.source,
	         id.uid == 0 ? "; set mail_user or chown it to drop root" : "");
	return SPOOL_OK;
}

/* Octets of the listing sent in one piece: the listing of a large
 * maildrop is megabytes, which as one buffer would be that much fresh
 * memory for this process to touch. */
#define LISTING_PIECE (64 * 1024)

static enum spool_err
open_as_user(struct monitor *m, const char *user, const char *folder)
{
	struct privsep_id id;
	if (m->switched)
		return spool_open(&m->where, user, folder, &m->sp);
	if (!login_account(m, user, &id))
		return SPOOL_EPERM;
	return open_as(m, &id, user, folder);
}

/* Sizes and ids only: envelopes are asked for separately (POP1 alone
 * shows them), which keeps a 100,000-message listing a third smaller.
 * Sent in pieces: its length is counted first, from the same ids. */
static bool
send_listing(struct monitor *m)
{
	size_t n = spool_count(m->sp);
	size_t len = 3 * 8, sent = 0;
	for (size_t i = 0; i < n; i++)
		len += 8 + strlen(spool_uid(m->sp, i)) + 1;
	struct ipc_out o;
	ipc_out_init(&o);
	bool ok = ipc_send_head(m->ch, PS_LISTING, len);
	ipc_put_u64(&o, SPOOL_OK);
	ipc_put_u64(&o, n);
	ipc_put_u64(&o, spool_hidden(m->sp));
	for (size_t i = 0; ok && i < n; i++) {
		ipc_put_u64(&o, spool_size(m->sp, i));
		ipc_put_str(&o, spool_uid(m->sp, i));
		if (o.len >= LISTING_PIECE) {
			sent += o.len;
			ok = ipc_send_part(m->ch, &o);
		}
	}
	sent += o.len;
	ok = ok && ipc_send_part(m->ch, &o) && sent == len;
	ipc_out_free(&o);
	return ok; /* false: out of step, the session ends */
}

static bool
on_envelopes(struct monitor *m)
{
	if (!m->sp)
		return reply_code(m, PS_ENVELOPE_LIST, SPOOL_EINVAL);
	struct ipc_out o;
	size_t n = spool_count(m->sp);
	ipc_out_init(&o);
	ipc_put_u64(&o, SPOOL_OK);
	ipc_put_u64(&o, n);
	for (size_t i = 0; i < n; i++)
		ipc_put_str(&o, spool_envelope(m->sp, i));
	bool ok = ipc_send(m->ch, PS_ENVELOPE_LIST, &o, NULL, 0);
	ipc_out_free(&o);
	return ok;
}

static bool
on_open(struct monitor *m, struct ipc_in *in)
{
	const char *user = ipc_get_str(in, USER_MAX);
	bool has_folder = ipc_get_u64(in) != 0;
	const char *folder = ipc_get_str(in, PRIVSEP_FOLDER_MAX);
	enum spool_err e = SPOOL_EPERM;
	if (in->bad || !m->authed[0] || strcmp(user, m->authed) != 0 || m->sp)
		log_warn("maildrop open refused: not the logged-in user");
	else
		e = open_as_user(m, user, has_folder ? folder : NULL);
	if (e != SPOOL_OK)
		return reply_code(m, PS_LISTING, e);
	return send_listing(m);
}

/*
 * PS_TAKEOVER (privsep.h): the POP3 login's maildrop is opened here, as
 * its owner for good, and this process serves the rest of the session.
 * Only at the first open, only for the user this monitor verified, and
 * never as root: a maildrop served as uid 0 stays split.  A request that
 * fails any of that ends the session; an open that fails is answered
 * (the client may log in again).
 */
static bool
on_takeover(struct monitor *m, struct ipc_in *in)
{
	struct privsep_takeover *t = m->t;
	struct privsep_id id;
	if (!privsep_takeover_decode(in, t) || !m->authed[0]
	    || strcmp(t->user, m->authed) != 0 || m->sp || m->switched) {
		log_warn("takeover refused: malformed, or not the logged-in user");
		return false;
	}
	if (!login_account(m, t->user, &id))
		return reply_code(m, PS_RESULT, SPOOL_EPERM);
	if (id.uid == 0)
		return reply_code(m, PS_RESULT, PRIVSEP_STAY_SPLIT);
	enum spool_err e = open_as(m, &id, t->user, t->has_folder ? t->folder : NULL);
	if (e != SPOOL_OK)
		return reply_code(m, PS_RESULT, e);
	/* privsep_ident_become proved root cannot be had back. */
	if (getuid() == 0 || geteuid() == 0 || !reply_code(m, PS_RESULT, SPOOL_OK)) {
		spool_close(m->sp);
		m->sp = NULL;
		return false;
	}
	t->spool = m->sp;
	t->folder = NULL; /* it pointed into the request */
	m->sp = NULL;
	m->taken = true;
	return true;
}

/* The file and range of a message go across when the storage can name
 * them: the protocol process then reads it straight from the page cache,
 * and a large RETR costs no more copies than without the split. */
static bool
send_located(struct monitor *m, size_t idx)
{
	int fd;
	uint64_t off, len;
	if (spool_locate(m->sp, idx, &fd, &off, &len) != SPOOL_OK)
		return false;
	struct ipc_out o;
	ipc_out_init(&o);
	ipc_put_u64(&o, off);
	ipc_put_u64(&o, len);
	bool ok = ipc_send(m->ch, PS_DATA_AT, &o, NULL, 0) && ipc_send_fd(m->ch, fd);
	ipc_out_free(&o);
	close(fd);
	if (!ok)
		m->broken = true;
	return true;
}

static bool
on_read(struct monitor *m, struct ipc_in *in)
{
	uint64_t idx = ipc_get_u64(in);
	const unsigned char *data = NULL;
	size_t len = 0;
	enum spool_err e = SPOOL_EINVAL;
	bool valid = !in->bad && m->sp && idx < spool_count(m->sp);
	if (valid && send_located(m, (size_t)idx))
		return !m->broken;
	if (valid)
		e = spool_read(m->sp, (size_t)idx, &data, &len);
	struct ipc_out o;
	ipc_out_init(&o);
	ipc_put_u64(&o, e);
	bool ok = ipc_send(m->ch, PS_DATA, &o, e == SPOOL_OK ? data : NULL,
	                   e == SPOOL_OK ? len : 0);
	ipc_out_free(&o);
	return ok;
}

static bool
on_commit(struct monitor *m, struct ipc_in *in)
{
	if (!m->sp || in->len != spool_count(m->sp))
		return reply_code(m, PS_RESULT, SPOOL_EINVAL);
	for (size_t i = 0; i < in->len; i++)
		spool_set_deleted(m->sp, i, in->p[i] != 0);
	enum spool_err e = spool_commit(m->sp);
	m->sp = NULL;
	return reply_code(m, PS_RESULT, e);
}

static bool
handle(struct monitor *m, unsigned type, struct ipc_in *in)
{
	switch (type) {
	case PS_AUTH_PASS:
	case PS_AUTH_APOP:
	case PS_AUTH_CRAM:
	case PS_AUTH_RPOP:
	case PS_USER_EXISTS:
		return on_auth(m, type, in);
	case PS_OPEN:
		return on_open(m, in);
	case PS_READ:
		return on_read(m, in);
	case PS_COMMIT:
		return on_commit(m, in);
	case PS_ENVELOPES:
		return on_envelopes(m);
	case PS_TAKEOVER:
		return on_takeover(m, in);
	case PS_CLOSE:
		spool_close(m->sp);
		m->sp = NULL;
		return reply_code(m, PS_RESULT, SPOOL_OK);
	default:
		log_warn("protocol process sent an unknown request %u", type);
		return false;
	}
}

/*
 * Waits for the next request with SIGTERM and SIGINT let through (OPEN:
 * the mask outside the loop), so a stop is taken between requests and
 * never cuts a reply short.  A stop closes the monitor's sending end of
 * the channel: the protocol process, which watches it while it waits for
 * the client (netio.h), ends the session as stopped, in its own words,
 * even when it runs as an account this monitor may not signal (POP2 and
 * POP1 after their login).  False once it has had STOP_GRACE_SECONDS to
 * do so and has not (blocked writing to a client that does not read):
 * the caller then ends it by force.
 */
static bool
wait_request(int channel, const sigset_t *open, bool *told)
{
	struct timespec grace = { STOP_GRACE_SECONDS, 0 };
	if (channel >= FD_SETSIZE)
		return true; /* see privsep_monitor */
	for (;;) {
		if (netio_stop_requested && !*told) {
			shutdown(channel, SHUT_WR);
			*told = true;
		}
		fd_set rd;
		FD_ZERO(&rd);
		FD_SET(channel, &rd);
		int n = pselect(channel + 1, &rd, NULL, NULL, *told ? &grace : NULL, open);
		if (n > 0)
			return true;
		if (n == 0)
			return false;
		if (errno != EINTR)
			return true; /* the read will say what is wrong */
	}
}

enum privsep_monitor_end
privsep_monitor(const struct config *cfg, const struct privsep_ids *ids,
                int channel, const struct sockaddr_storage *peer,
                struct privsep_takeover *t)
{
	struct monitor m = { .cfg = cfg, .ids = ids, .ch = channel, .peer = peer,
	                     .t = t };
	enum privsep_monitor_end end = PRIVSEP_MONITOR_BROKEN;
	sigset_t stops, open;
	bool told = false;
	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	/* A descriptor select() cannot watch (never one of a new process's
	 * first few) is read with stops let through at any time: a stop
	 * then reaches the protocol process only as a signal. */
	sigprocmask(channel < FD_SETSIZE ? SIG_BLOCK : SIG_UNBLOCK, &stops, &open);
	m.where = config_where(cfg);
	for (;;) {
		unsigned type;
		size_t len;
		if (!wait_request(channel, &open, &told)) {
			log_warn("protocol process did not end at the stop; closing the connection");
			break;
		}
		int r = ipc_recv_head(channel, &type, &len, PRIVSEP_REQUEST_MAX);
		if (r == 0) {
			end = PRIVSEP_MONITOR_EOF;
			break;
		}
		unsigned char *buf = r > 0 ? malloc(len ? len : 1) : NULL;
		if (!buf || !ipc_recv_body(channel, buf, len)) {
			if (r < 0)
				log_warn("protocol process sent a malformed request");
			free(buf);
			break;
		}
		if (told) {
			/* No reply can go any more: a request that crossed the
			 * stop (a POP2 session's closing PS_CLOSE) is dropped,
			 * and the session is not cut short for it. */
			free(buf);
			continue;
		}
		struct ipc_in in;
		ipc_in_init(&in, buf, len);
		bool ok = handle(&m, type, &in);
		free(buf);
		if (m.taken) {
			end = PRIVSEP_MONITOR_TAKEOVER;
			break;
		}
		if (!ok)
			break;
	}
	sigprocmask(SIG_SETMASK, &open, NULL);
	if (end == PRIVSEP_MONITOR_TAKEOVER)
		return end;
	/* The protocol process is gone (or misbehaved): nothing it marked is
	 * deleted without its explicit commit. */
	spool_close(m.sp);
	return end;
}
