/* The command line: serve, deliver, commands, fetch, --version, --help
 * (CONTRACT.md). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "deliver.h"
#include "demo.h"
#include "privsep.h"
#include "fetch.h"
#include "log.h"
#include "server.h"

#define POSTOFFICE_VERSION "0.1.0"

static void
usage(FILE *f)
{
	fprintf(f,
	  "usage: postoffice serve [-c FILE] [--inetd pop3|pop2] [--trace[=full]]\n"
	  "       postoffice deliver -c FILE [-f SENDER] USER < MESSAGE\n"
	  "       postoffice commands [pop1|pop2|pop3]\n"
	  "       postoffice fetch [--trace] [--keep] [--apop] [--password-file FILE]\n"
	  "                        --to mbox:PATH|maildir:PATH pop3|pop2|pop1://USER@HOST[:PORT][/MAILBOX]\n"
	  "       postoffice --version | --help\n"
	  "\n"
	  "serve            run the daemon in the foreground, logging to stderr;\n"
	  "                 without -c: the demo on 127.0.0.1 ports 1110 (POP3)\n"
	  "                 and 1109 (POP1/POP2), user demo, password demo\n"
	  "  -c FILE        the configuration (see postoffice.conf(5))\n"
	  "  --inetd PROTO  serve one session on stdin/stdout: pop3, or pop2 for\n"
	  "                 port 109 (POP1 or POP2, told by the first command)\n"
	  "  --trace        every session's conversation on stderr, passwords\n"
	  "                 masked, messages summarised (=full: in full)\n"
	  "deliver          append one message to USER's maildrop; exits 0, or\n"
	  "                 67 no such user, 65 malformed, 75 try again later\n"
	  "  -f SENDER      the envelope sender for the mbox From line\n"
	  "commands         print the command tables of each protocol (Markdown)\n"
	  "fetch            retrieve a maildrop over POP1, POP2 or POP3 into an mbox\n"
	  "                 or Maildir; the password from FILE or $POSTOFFICE_PASSWORD\n");
}

/* stderr unless the config says "log syslog" (postoffice.conf(5)). */
static void
log_setup(const struct config *cfg)
{
	log_init("postoffice", false);
	if (cfg->log_syslog && !log_syslog_open(cfg->syslog_facility, cfg->syslog_socket))
		fprintf(stderr, "postoffice: syslog socket %s: %s; lines go to stderr "
		        "while it does not answer\n", cfg->syslog_socket, strerror(errno));
}

static int
cmd_serve(int argc, char **argv)
{
	const char *file = NULL, *inetd = NULL, *trace = NULL;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "--inetd") && i + 1 < argc)
			inetd = argv[++i];
		else if (!strcmp(argv[i], "--trace") || !strcmp(argv[i], "--trace=full"))
			trace = argv[i];
		else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	enum proto_kind proto = PROTO_POP3;
	if (inetd) {
		if (!strcmp(inetd, "pop3"))
			proto = PROTO_POP3;
		else if (!strcmp(inetd, "pop2"))
			proto = PROTO_POP2;
		else {
			fprintf(stderr, "postoffice: --inetd takes pop3 or pop2\n");
			return EXIT_USAGE;
		}
	}

	static struct config cfg;
	char err[PATH_MAX + 256];
	config_defaults(&cfg);
	bool ok = file ? config_load(&cfg, file, err, sizeof(err))
	               : demo_prepare(&cfg, err, sizeof(err));
	if (!ok) {
		fprintf(stderr, "postoffice: %s\n", err);
		return EXIT_CONFIG;
	}
	if (trace) {
		snprintf(cfg.trace, sizeof(cfg.trace), "stderr");
		cfg.trace_bodies = !strcmp(trace, "--trace=full");
	}
	log_setup(&cfg);
	if (!privsep_setup(&cfg, err, sizeof(err))) {
		log_warn("%s", err);
		return EXIT_CONFIG;
	}
	return inetd ? server_inetd(&cfg, proto) : server_run(&cfg);
}

static int
cmd_deliver(int argc, char **argv)
{
	const char *file = NULL, *sender = NULL, *user = NULL;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "-f") && i + 1 < argc)
			sender = argv[++i];
		else if (!user && argv[i][0] != '-')
			user = argv[i];
		else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!file || !user) {
		usage(stderr);
		return EXIT_USAGE;
	}
	static struct config cfg;
	char err[PATH_MAX + 256];
	config_defaults(&cfg);
	if (!config_load(&cfg, file, err, sizeof(err))) {
		fprintf(stderr, "postoffice: %s\n", err);
		return EXIT_CONFIG;
	}
	log_setup(&cfg);
	return deliver_run(&cfg, user, sender, 0);
}

int
main(int argc, char **argv)
{
	/* Past RLIMIT_FSIZE a write must fail with EFBIG, which the spool
	 * turns into a clean temporary failure (the mbox cut back, deliver
	 * exiting 75); the default action would kill us half-way instead. */
	signal(SIGXFSZ, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("postoffice %s\n", POSTOFFICE_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 2, argv + 2);
	if (!strcmp(argv[1], "fetch"))
		return fetch_main(argc - 2, argv + 2);
	if (!strcmp(argv[1], "deliver"))
		return cmd_deliver(argc - 2, argv + 2);
	if (!strcmp(argv[1], "commands") && argc <= 3) {
		if (commands_print(stdout, argc == 3 ? argv[2] : NULL))
			return 0;
		fprintf(stderr, "postoffice: commands takes pop1, pop2 or pop3\n");
		return EXIT_USAGE;
	}
	fprintf(stderr, "postoffice: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
