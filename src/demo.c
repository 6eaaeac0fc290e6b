/*
 * The demo runtime folder: $POSTOFFICE_DEMO_DIR, or
 * ${TMPDIR:-/tmp}/postoffice-demo-UID.  Existing mail there is kept, so a
 * demo maildrop emptied by a client stays empty until the folder is
 * removed; a missing one is created afresh.
 */
#include "demo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEMO_USER "demo"
#define DEMO_PASS "demo"

static const char demo_inbox[] =
	"From postmaster@localhost Mon Nov 23 09:00:00 2026\n"
	"From: Postmaster <postmaster@localhost>\n"
	"To: demo@localhost\n"
	"Subject: Welcome to postoffice\n"
	"Date: Mon, 23 Nov 2026 09:00:00 +0000\n"
	"Message-ID: <welcome@postoffice.demo>\n"
	"\n"
	"This maildrop speaks POP3 on port 1110 and POP1/POP2 on port 1109.\n"
	"Try: STAT, LIST, UIDL, TOP 1 0, RETR 1, DELE 1, RSET, QUIT.\n"
	"\n"
	"From grace@localhost Mon Nov 23 09:05:00 2026\n"
	"From: Grace <grace@localhost>\n"
	"To: demo@localhost\n"
	"Subject: Dots and From lines\n"
	"Date: Mon, 23 Nov 2026 09:05:00 +0000\n"
	"Message-ID: <dots@postoffice.demo>\n"
	"\n"
	"The next line starts with a dot, so POP3 sends it dot-stuffed:\n"
	".hidden\n"
	">From here on, mbox quoting is part of the text.\n"
	"\n"
	"From ada@localhost Mon Nov 23 09:10:00 2026\n"
	"From: Ada <ada@localhost>\n"
	"To: demo@localhost\n"
	"Subject: A short one\n"
	"Date: Mon, 23 Nov 2026 09:10:00 +0000\n"
	"Message-ID: <short@postoffice.demo>\n"
	"\n"
	"Hello.\n"
	"\n"
	"From ken@localhost Mon Nov 23 09:15:00 2026\n"
	"From: Ken <ken@localhost>\n"
	"To: demo@localhost\n"
	"Subject: Three generations\n"
	"Date: Mon, 23 Nov 2026 09:15:00 +0000\n"
	"Message-ID: <generations@postoffice.demo>\n"
	"\n"
	"POP1 (RFC 918) moves a whole mailbox, POP2 (RFC 937) one message at a\n"
	"time with counted transfers, POP3 (RFC 1939) numbered messages with\n"
	"dot-terminated listings.\n"
	"\n";

static const char demo_archive[] =
	"From archive@localhost Sun Nov 22 18:00:00 2026\n"
	"From: Archive <archive@localhost>\n"
	"To: demo@localhost\n"
	"Subject: An archived message\n"
	"Date: Sun, 22 Nov 2026 18:00:00 +0000\n"
	"Message-ID: <archived@postoffice.demo>\n"
	"\n"
	"This one lives in the folder \"archive\": POP2 FOLD archive, or\n"
	"POP1 RETR archive.\n"
	"\n";

/* Creates PATH with CONTENT unless it exists already. */
static bool
write_new(const char *path, const char *content, char *err, size_t errsz)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return true;
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return false;
	}
	size_t len = strlen(content);
	bool ok = write(fd, content, len) == (ssize_t)len;
	if (close(fd) != 0)
		ok = false;
	if (!ok)
		snprintf(err, errsz, "%s: cannot write", path);
	return ok;
}

static bool
make_dir(const char *path, char *err, size_t errsz)
{
	struct stat st;
	if (mkdir(path, 0700) == 0)
		return true;
	/* An existing folder must be ours and a real directory, so another
	 * local user cannot plant one for us in /tmp. */
	if (errno == EEXIST && lstat(path, &st) == 0 && S_ISDIR(st.st_mode)
	    && st.st_uid == getuid())
		return true;
	snprintf(err, errsz, "%s: cannot use as the demo folder (%s)", path,
	         errno == EEXIST ? "not a directory of ours" : strerror(errno));
	return false;
}

bool
demo_prepare(struct config *c, char *err, size_t errsz)
{
	char base[PATH_MAX - 64], path[PATH_MAX];
	const char *dir = getenv("POSTOFFICE_DEMO_DIR");
	const char *tmp = getenv("TMPDIR");

	if (dir && *dir)
		snprintf(base, sizeof(base), "%s", dir);
	else
		snprintf(base, sizeof(base), "%s/postoffice-demo-%ld",
		         tmp && *tmp ? tmp : "/tmp", (long)getuid());
	if (base[0] != '/') {
		snprintf(err, errsz, "demo folder must be an absolute path: %s", base);
		return false;
	}

	snprintf(path, sizeof(path), "%s/mail", base);
	if (!make_dir(base, err, errsz) || !make_dir(path, err, errsz))
		return false;
	snprintf(path, sizeof(path), "%s/folders", base);
	if (!make_dir(path, err, errsz))
		return false;
	snprintf(path, sizeof(path), "%s/folders/" DEMO_USER, base);
	if (!make_dir(path, err, errsz))
		return false;
	snprintf(path, sizeof(path), "%s/folders/" DEMO_USER "/archive", base);
	if (!write_new(path, demo_archive, err, errsz))
		return false;
	snprintf(path, sizeof(path), "%s/mail/" DEMO_USER, base);
	if (!write_new(path, demo_inbox, err, errsz))
		return false;
	snprintf(path, sizeof(path), "%s/passwd", base);
	if (!write_new(path, DEMO_USER ":{PLAIN}" DEMO_PASS "\n", err, errsz))
		return false;

	config_defaults(c);
	snprintf(c->path, sizeof(c->path), "(demo %s)", base);
	snprintf(c->passwd, sizeof(c->passwd), "%s/passwd", base);
	snprintf(c->mailbox, sizeof(c->mailbox), "%s/mail/%%u", base);
	snprintf(c->folders, sizeof(c->folders), "%s/folders/%%u", base);
	snprintf(c->hostname, sizeof(c->hostname), "localhost");
	c->nlisten = 0;
	if (!config_parse_addr("127.0.0.1:1110", &c->listen[c->nlisten]))
		return false;
	c->listen[c->nlisten++].proto = PROTO_POP3;
	if (!config_parse_addr("127.0.0.1:1109", &c->listen[c->nlisten]))
		return false;
	c->listen[c->nlisten++].proto = PROTO_POP2;
	fprintf(stderr,
	        "postoffice demo: mail in %s\n"
	        "  user \"" DEMO_USER "\", password \"" DEMO_PASS "\"\n"
	        "  POP3:      telnet localhost 1110\n"
	        "  POP1/POP2: telnet localhost 1109\n", base);
	return true;
}
