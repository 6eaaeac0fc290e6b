/*
 * The configuration: "key value" lines (CONTRACT.md), loaded once at
 * start-up and read-only afterwards.  Every key is listed, with its
 * default and meaning, in docs/postoffice.conf.5.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "params.h"
#include "spool.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

enum proto_kind {
	PROTO_POP3 = 0, /* RFC 1939 and extensions */
	PROTO_POP2 = 1, /* port 109: RFC 918 (POP1) and RFC 937 (POP2) */
};

struct listen_addr {
	enum proto_kind proto;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[80];  /* as written, e.g. "127.0.0.1:11110", "[::1]:11110" */
	bool proxy;     /* "proxy": a PROXY protocol v1/v2 header comes first */
};

/* An address block, e.g. 127.0.0.0/8 or fd00::/8 (rpop_trusted). */
struct net_prefix {
	int family;                   /* AF_INET or AF_INET6 */
	unsigned char addr[16];       /* network order; 4 octets for AF_INET */
	unsigned bits;
};

#define MAX_RPOP_TRUSTED 32       /* rpop_trusted blocks; a config limit */

/* The accounts a root daemon uses (src/privsep.h), resolved once at
 * start-up by privsep_setup from the user, mail_user and chroot keys. */
struct privsep_ids {
	bool active;                  /* started as root: split every connection */
	uid_t user_uid;               /* the protocol process (`user`) */
	gid_t user_gid;
	bool have_mail_user;          /* `mail_user` */
	uid_t mail_uid;
	gid_t mail_gid;
};

struct config {
	char path[PATH_MAX];          /* the file it came from, or "(demo)" */
	struct listen_addr listen[MAX_LISTENERS];
	size_t nlisten;
	char passwd[PATH_MAX];
	char mailbox[PATH_MAX];
	char folders[PATH_MAX];       /* "" when not configured */
	char hostname[256];           /* for greetings; default: gethostname() */
	int timeout_login;            /* seconds idle before login */
	int timeout_idle;             /* seconds idle after login */
	int timeout_write;            /* seconds a client may stall our output */
	int auth_fail_delay_ms;
	int max_sessions;             /* sessions at once, in total */
	int max_per_host;             /* sessions at once from one address */
	bool reuse_xuidl;             /* mbox: X-UIDL: header as unique id */
	long max_messages;            /* messages a session sees, 0: all */
	unsigned long long max_octets;/* octets a session sees, 0: all */
	/* POP3 extensions and client workarounds (README.md, issue 4). */
	bool plaintext_auth;          /* USER/PASS, SASL PLAIN and LOGIN allowed */
	bool last_command;            /* RFC 1081 LAST answered */
	char xtnd_xmit[PATH_MAX];     /* XTND XMIT command line, "" = refused */
	char status_header[8];        /* Status: flags to synthesize, "" = off */
	bool strip_nul;               /* remove NUL octets from messages sent */
	bool utf8_strict;             /* RFC 6856 §2.1: -ERR [UTF8] outside UTF8 mode */
	struct net_prefix rpop_trusted[MAX_RPOP_TRUSTED]; /* RFC 1081 RPOP hosts */
	size_t nrpop_trusted;         /* 0: RPOP always refused */
	/* Logging (docs/operators.md). */
	bool log_syslog;              /* syslog instead of stderr */
	int syslog_facility;          /* LOG_MAIL, LOG_DAEMON, LOG_LOCAL0..7 */
	char syslog_socket[PATH_MAX]; /* the syslog daemon's datagram socket */
	/* The protocol trace (src/trace.h). */
	char trace[PATH_MAX];         /* "" off, "stderr", or a folder */
	bool trace_bodies;            /* message data in full, not summarised */
	/* Privilege separation (docs/privileges.md). */
	char user[64];                /* protocol process account; "" = nobody */
	char mail_user[64];           /* account for users without their own */
	char chroot[PATH_MAX];        /* protocol process root, "" = none */
	struct privsep_ids ids;       /* resolved by privsep_setup */
};

/* Fills C with the defaults. */
void config_defaults(struct config *c);

/*
 * Loads PATH over the defaults.  On error returns false with a message
 * that names the file and line in ERR.
 */
bool config_load(struct config *c, const char *path, char *err, size_t errsz);

/* Where the config says users' mail lives, for the mailbox layer. */
struct spool_where config_where(const struct config *c);

/* Parses "host:port" / "[v6]:port" into A; false if it is not valid. */
bool config_parse_addr(const char *text, struct listen_addr *a);

/* Parses "ADDR/BITS" (IPv4 or IPv6) into N; false if it is not valid. */
bool config_parse_prefix(const char *text, struct net_prefix *n);

/* Whether the address ADDR of FAMILY (4 or 16 octets) is inside N; an
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) also matches IPv4 blocks. */
bool config_prefix_contains(const struct net_prefix *n, int family,
                            const unsigned char *addr);

#endif
