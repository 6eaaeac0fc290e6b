/* Shared set-up for the front-end fuzzers; see fuzz_session.h. */
#include "fuzz_session.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static struct config cfg;
static char mbox_path[PATH_MAX];

static const char fuzz_mbox[] =
	"From a@example.org Mon Nov 23 10:00:00 2026\n"
	"Subject: one\n\nbody\n.dot\n\n"
	"From b@example.org Mon Nov 23 10:00:00 2026\n"
	"Subject: two\n\n\n"
	"From c@example.org Mon Nov 23 10:00:00 2026\n"
	"Subject: three\r\n\r\nno final newline";

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) == EOF || fclose(f) != 0)
		abort();
}

const struct config *
fuzz_config(void)
{
	static char dir[] = "/tmp/postoffice-fuzz-XXXXXX";
	char path[PATH_MAX];

	if (cfg.passwd[0])
		return &cfg;
	if (!mkdtemp(dir))
		abort();
	config_defaults(&cfg);
	cfg.auth_fail_delay_ms = 0;
	snprintf(cfg.hostname, sizeof(cfg.hostname), "fuzz.example");
	snprintf(path, sizeof(path), "%s/passwd", dir);
	write_file(path, "alice:{PLAIN}pw\n");
	snprintf(cfg.passwd, sizeof(cfg.passwd), "%s", path);
	snprintf(cfg.mailbox, sizeof(cfg.mailbox), "%s/%%u", dir);
	snprintf(mbox_path, sizeof(mbox_path), "%s/alice", dir);
	snprintf(path, sizeof(path), "%s/folders", dir);
	if (mkdir(path, 0700) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/folders/alice", dir);
	if (mkdir(path, 0700) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/folders/alice/archive", dir);
	write_file(path, fuzz_mbox);
	snprintf(cfg.folders, sizeof(cfg.folders), "%s/folders/%%u", dir);
	log_init("fuzz", false);
	signal(SIGPIPE, SIG_IGN);
	/* Our log lines would drown the fuzzer's own reports on stderr. */
	FILE *devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	log_to(devnull);
	return &cfg;
}

void
fuzz_session(enum proto_kind proto, const uint8_t *data, size_t size)
{
	int in[2];
	const struct config *c = fuzz_config();

	if (size > FUZZ_MAX_INPUT)
		return;
	write_file(mbox_path, fuzz_mbox);
	if (pipe(in) != 0)
		abort();
	if (size > 0 && write(in[1], data, size) != (ssize_t)size)
		abort();
	close(in[1]);
	int out = open("/dev/null", O_WRONLY);
	if (out < 0)
		abort();
	struct session_conn conn = { .rfd = in[0], .wfd = out, .peer = "fuzz" };
	conn.addr.ss_family = AF_UNSPEC;
	session_run(c, proto, &conn);
	close(in[0]);
	close(out);
}
