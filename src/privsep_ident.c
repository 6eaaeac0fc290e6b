/*
 * Which account serves a login's mail, and the switches between accounts
 * (docs/privileges.md).  setgroups() is not in POSIX but every Unix a
 * root daemon runs on has it, and a process that keeps root's
 * supplementary groups has not really dropped anything.
 */
#define _DEFAULT_SOURCE 1
#include "privsep.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"
#include "spool.h"

/* The supplementary groups root had, restored by privsep_ident_undo. */
static gid_t root_groups[64];
static int root_ngroups = -1;

static bool
from_passwd_file(const struct config *cfg, const char *user,
                 struct privsep_id *id)
{
	unsigned long uid, gid;
	if (auth_user_ids(cfg->passwd, user, &uid, &gid) != AUTH_OK)
		return false;
	id->uid = (uid_t)uid;
	id->gid = (gid_t)gid;
	id->source = "the uid and gid fields of the user database";
	return true;
}

static bool
from_system_account(const char *user, struct privsep_id *id)
{
	const struct passwd *pw = getpwnam(user);
	if (!pw)
		return false;
	id->uid = pw->pw_uid;
	id->gid = pw->pw_gid;
	id->source = "the system account of that name";
	return true;
}

/* The owner of the default maildrop, or of the folder it would be
 * created in; mail is served as whoever it belongs to. */
static bool
from_maildrop_owner(const struct config *cfg, const char *user,
                    struct privsep_id *id)
{
	char path[PATH_MAX];
	struct stat st;
	if (!spool_expand(cfg->mailbox, user, path, sizeof(path)))
		return false;
	if (lstat(path, &st) != 0) {
		char *slash = strrchr(path, '/');
		if (!slash || slash == path)
			return false;
		*slash = '\0';
		if (stat(path, &st) != 0)
			return false;
	}
	id->uid = st.st_uid;
	id->gid = st.st_gid;
	id->source = "the owner of the maildrop";
	return true;
}

bool
privsep_ident_resolve(const struct config *cfg, const struct privsep_ids *ids,
                      const char *user, struct privsep_id *id_r)
{
	bool named = true;
	if (from_passwd_file(cfg, user, id_r)) {
		/* listed first: the administrator wrote it for this user */
	} else if (ids->have_mail_user) {
		id_r->uid = ids->mail_uid;
		id_r->gid = ids->mail_gid;
		id_r->source = "mail_user";
	} else if (from_system_account(user, id_r)) {
	} else if (from_maildrop_owner(cfg, user, id_r)) {
		named = false;
	} else {
		log_warn("no account to serve %s's mail as: set mail_user", user);
		return false;
	}
	if (id_r->uid == 0 && named) {
		log_warn("login %s refused: it would run as uid 0 (%s)", user,
		         id_r->source);
		return false;
	}
	/* Left at uid 0: only a maildrop that root owns, of a user with no
	 * account.  The protocol process is unprivileged all the same; the
	 * mailbox process could not drop root without losing that mail.
	 * privsep_monitor.c's log line says so. */
	return true;
}

/*
 * privsep_ident_resolve in a throwaway child, for the monitor: reading
 * the user database and asking the name service (which may load and
 * allocate for a socket to a user-database daemon) then leaves nothing
 * in a process that may serve the session for hours.  The child is a
 * fork of this process, so the source string it names is at the same
 * address here.
 */
bool
privsep_ident_resolve_apart(const struct config *cfg, const struct privsep_ids *ids,
                            const char *user, struct privsep_id *id_r)
{
	int fds[2];
	struct privsep_id got;
	if (pipe(fds) != 0)
		return privsep_ident_resolve(cfg, ids, user, id_r);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		bool ok = privsep_ident_resolve(cfg, ids, user, &got);
		_exit(ok && write(fds[1], &got, sizeof(got)) == (ssize_t)sizeof(got) ? 0 : 1);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return privsep_ident_resolve(cfg, ids, user, id_r);
	}
	ssize_t n;
	do
		n = read(fds[0], &got, sizeof(got));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(got))
		return false;
	*id_r = got;
	return true;
}

static bool
save_root_groups(void)
{
	if (root_ngroups >= 0)
		return true;
	int n = getgroups((int)(sizeof(root_groups) / sizeof(root_groups[0])), root_groups);
	if (n < 0)
		return false;
	root_ngroups = n;
	return true;
}

bool
privsep_ident_try(const struct privsep_id *id)
{
	if (geteuid() != 0)
		return true; /* nothing to switch from: not split */
	if (!save_root_groups() || setgroups(1, &id->gid) != 0
	    || setegid(id->gid) != 0 || seteuid(id->uid) != 0) {
		log_errno("cannot act as uid %ld", (long)id->uid);
		privsep_ident_undo();
		return false;
	}
	return true;
}

bool
privsep_ident_undo(void)
{
	if (getuid() != 0)
		return true;
	if (seteuid(0) != 0 || setegid(0) != 0
	    || (root_ngroups >= 0 && setgroups((size_t)root_ngroups, root_groups) != 0)) {
		log_errno("cannot return to root");
		return false;
	}
	return true;
}

/* Drops to UID and GID for good and proves it: root must be gone. */
static bool
become(uid_t uid, gid_t gid)
{
	if (getuid() != 0 && geteuid() != 0)
		return true;
	if (seteuid(0) != 0 || setgroups(1, &gid) != 0 || setgid(gid) != 0
	    || setuid(uid) != 0) {
		log_errno("cannot become uid %ld gid %ld", (long)uid, (long)gid);
		return false;
	}
	if (getuid() != uid || geteuid() != uid || getgid() != gid
	    || getegid() != gid || (uid != 0 && setuid(0) == 0)) {
		log_warn("privileges were not dropped to uid %ld", (long)uid);
		return false;
	}
	return true;
}

bool
privsep_ident_become(const struct privsep_id *id)
{
	return become(id->uid, id->gid);
}

bool
privsep_ident_confine(const struct config *cfg, const struct privsep_ids *ids)
{
	if (cfg->chroot[0] && (chdir(cfg->chroot) != 0 || chroot(".") != 0
	                       || chdir("/") != 0)) {
		log_errno("chroot %s", cfg->chroot);
		return false;
	}
	return become(ids->user_uid, ids->user_gid);
}
