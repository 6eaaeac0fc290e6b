/* The config file reader; keys and defaults are documented in
 * docs/postoffice.conf.5 and CONTRACT.md. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "(defaults)");
	if (gethostname(c->hostname, sizeof(c->hostname) - 1) != 0 || !c->hostname[0])
		snprintf(c->hostname, sizeof(c->hostname), "localhost");
	c->timeout_login = DEFAULT_TIMEOUT_LOGIN;
	c->timeout_idle = DEFAULT_TIMEOUT_IDLE;
	c->timeout_write = WRITE_TIMEOUT;
	c->auth_fail_delay_ms = DEFAULT_AUTH_FAIL_DELAY_MS;
	c->max_sessions = DEFAULT_MAX_SESSIONS;
	c->max_per_host = DEFAULT_MAX_PER_HOST;
	c->max_messages = DEFAULT_MAX_MESSAGES;
	c->plaintext_auth = true;
	c->last_command = true;
	c->syslog_facility = LOG_MAIL;
	snprintf(c->syslog_socket, sizeof(c->syslog_socket), "/dev/log");
}

/* Strict decimal: digits only, no sign, no overflow past MAX. */
static bool
parse_uint(const char *s, long max, long *v_r)
{
	long v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
		if (v > (max - (*s - '0')) / 10)
			return false;
		v = v * 10 + (*s - '0');
	}
	*v_r = v;
	return true;
}

struct spool_where
config_where(const struct config *c)
{
	struct spool_where w = {
		.mailbox = c->mailbox,
		.folders = c->folders[0] ? c->folders : NULL,
		.reuse_xuidl = c->reuse_xuidl,
		.max_messages = (size_t)c->max_messages,
		.max_octets = c->max_octets,
	};
	return w;
}

bool
config_parse_addr(const char *text, struct listen_addr *a)
{
	char host[64];
	const char *port;

	memset(a, 0, sizeof(*a));
	if (strlen(text) >= sizeof(a->text))
		return false;
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (!end || end[1] != ':' || (size_t)(end - text - 1) >= sizeof(host))
			return false;
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = '\0';
		port = end + 2;
	} else {
		const char *colon = strrchr(text, ':');
		if (!colon || (size_t)(colon - text) >= sizeof(host))
			return false;
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
		port = colon + 1;
	}
	long p;
	if (!parse_uint(port, 65535, &p))
		return false;

	struct sockaddr_in *v4 = (struct sockaddr_in *)&a->addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->addr;
	if (text[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((unsigned short)p);
		a->addrlen = sizeof(*v4);
	} else if (text[0] == '[' && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((unsigned short)p);
		a->addrlen = sizeof(*v6);
	} else {
		return false;
	}
	snprintf(a->text, sizeof(a->text), "%s", text);
	return true;
}

bool
config_parse_prefix(const char *text, struct net_prefix *n)
{
	char host[64];
	const char *slash = strchr(text, '/');
	long bits;

	memset(n, 0, sizeof(*n));
	if (!slash || (size_t)(slash - text) >= sizeof(host))
		return false;
	memcpy(host, text, (size_t)(slash - text));
	host[slash - text] = '\0';
	if (inet_pton(AF_INET, host, n->addr) == 1)
		n->family = AF_INET;
	else if (inet_pton(AF_INET6, host, n->addr) == 1)
		n->family = AF_INET6;
	else
		return false;
	if (!parse_uint(slash + 1, n->family == AF_INET ? 32 : 128, &bits))
		return false;
	n->bits = (unsigned)bits;
	return true;
}

bool
config_prefix_contains(const struct net_prefix *n, int family,
                       const unsigned char *addr)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
	if (family == AF_INET6 && n->family == AF_INET
	    && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		family = AF_INET;
		addr += sizeof(mapped);
	}
	if (family != n->family)
		return false;
	unsigned whole = n->bits / 8, rest = n->bits % 8;
	if (memcmp(addr, n->addr, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (addr[whole] & mask) == (n->addr[whole] & mask);
}

/* "rpop_trusted BLOCK [BLOCK...]"; repeatable. */
static bool
set_rpop_trusted(struct config *c, const char *v, const char **why)
{
	char word[64];
	while (*v) {
		size_t len = strcspn(v, " ");
		if (len >= sizeof(word)) {
			*why = "bad network: expected ADDRESS/BITS, e.g. 192.0.2.0/24 or fd00::/8";
			return false;
		}
		memcpy(word, v, len);
		word[len] = '\0';
		if (c->nrpop_trusted == MAX_RPOP_TRUSTED) {
			*why = "too many networks";
			return false;
		}
		if (!config_parse_prefix(word, &c->rpop_trusted[c->nrpop_trusted])) {
			*why = "bad network: expected ADDRESS/BITS, e.g. 192.0.2.0/24 or fd00::/8";
			return false;
		}
		c->nrpop_trusted++;
		v += len;
		while (*v == ' ')
			v++;
	}
	return true;
}

static bool
set_path(char *dst, size_t dstsz, const char *v, const char **why)
{
	if (v[0] != '/') {
		*why = "must be an absolute path";
		return false;
	}
	if (strlen(v) >= dstsz) {
		*why = "path too long";
		return false;
	}
	memcpy(dst, v, strlen(v) + 1);
	return true;
}

static bool
set_seconds(int *dst, const char *v, long min, const char **why)
{
	long n;
	if (!parse_uint(v, 86400, &n) || n < min) {
		*why = min > 0 ? "must be a whole number of seconds, at least the minimum"
		               : "must be a whole number of seconds";
		return false;
	}
	*dst = (int)n;
	return true;
}

static bool
set_count(int *dst, const char *v, const char **why)
{
	long n;
	if (!parse_uint(v, 100000, &n) || n < 1) {
		*why = "must be a whole number from 1 to 100000";
		return false;
	}
	*dst = (int)n;
	return true;
}

static bool
set_bool(bool *dst, const char *v, const char **why)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
		*dst = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
		*dst = false;
	else {
		*why = "must be yes or no";
		return false;
	}
	return true;
}

static bool
set_listen(struct config *c, const char *v, const char **why)
{
	char kind[8];
	const char *sp = strchr(v, ' ');
	if (!sp || (size_t)(sp - v) >= sizeof(kind)) {
		*why = "expected 'listen pop3|pop2 ADDRESS:PORT'";
		return false;
	}
	memcpy(kind, v, (size_t)(sp - v));
	kind[sp - v] = '\0';
	while (*sp == ' ')
		sp++;
	/* An optional last word: "proxy" (docs/operators.md). */
	char addr[sizeof(c->listen[0].text) + 1];
	const char *opt = strchr(sp, ' ');
	size_t alen = opt ? (size_t)(opt - sp) : strlen(sp);
	if (alen >= sizeof(addr)) {
		*why = "bad address: expected 1.2.3.4:PORT or [v6]:PORT";
		return false;
	}
	memcpy(addr, sp, alen);
	addr[alen] = '\0';
	while (opt && *opt == ' ')
		opt++;
	if (opt && strcmp(opt, "proxy") != 0) {
		*why = "after the address only 'proxy' may follow";
		return false;
	}
	if (c->nlisten == MAX_LISTENERS) {
		*why = "too many listen lines";
		return false;
	}
	struct listen_addr *a = &c->listen[c->nlisten];
	if (!config_parse_addr(addr, a)) {
		*why = "bad address: expected 1.2.3.4:PORT or [v6]:PORT";
		return false;
	}
	if (!strcmp(kind, "pop3"))
		a->proto = PROTO_POP3;
	else if (!strcmp(kind, "pop2"))
		a->proto = PROTO_POP2;
	else {
		*why = "protocol must be pop3 or pop2";
		return false;
	}
	a->proxy = opt != NULL;
	c->nlisten++;
	return true;
}

static bool
set_facility(int *dst, const char *v, const char **why)
{
	static const struct { const char *name; int code; } f[] = {
		{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (!strcmp(v, f[i].name)) {
			*dst = f[i].code;
			return true;
		}
	*why = "must be mail, daemon or local0 to local7";
	return false;
}

/* A system account name as useradd accepts it. */
static bool
set_account(char *dst, size_t dstsz, const char *v, const char **why)
{
	size_t n = strlen(v);
	if (n == 0 || n >= dstsz || v[0] == '-'
	    || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789._-") != n) {
		*why = "must be the name of a system account";
		return false;
	}
	memcpy(dst, v, n + 1);
	return true;
}

static bool
apply(struct config *c, const char *key, const char *v, const char **why)
{
	if (!strcmp(key, "listen"))
		return set_listen(c, v, why);
	if (!strcmp(key, "passwd"))
		return set_path(c->passwd, sizeof(c->passwd), v, why);
	if (!strcmp(key, "mailbox"))
		return set_path(c->mailbox, sizeof(c->mailbox), v, why);
	if (!strcmp(key, "folders"))
		return set_path(c->folders, sizeof(c->folders), v, why);
	if (!strcmp(key, "hostname")) {
		if (strlen(v) >= sizeof(c->hostname) || strpbrk(v, " <>")) {
			*why = "must be a host name";
			return false;
		}
		snprintf(c->hostname, sizeof(c->hostname), "%s", v);
		return true;
	}
	if (!strcmp(key, "timeout_login"))
		return set_seconds(&c->timeout_login, v, 1, why);
	if (!strcmp(key, "timeout_idle"))
		/* RFC 1939 §3: an autologout timer is at least 10 minutes. */
		return set_seconds(&c->timeout_idle, v, 600, why);
	if (!strcmp(key, "timeout_write"))
		return set_seconds(&c->timeout_write, v, 1, why);
	if (!strcmp(key, "auth_fail_delay")) {
		long ms;
		if (!parse_uint(v, 60000, &ms)) {
			*why = "must be milliseconds, 0 to 60000";
			return false;
		}
		c->auth_fail_delay_ms = (int)ms;
		return true;
	}
	if (!strcmp(key, "max_sessions"))
		return set_count(&c->max_sessions, v, why);
	if (!strcmp(key, "max_sessions_per_host"))
		return set_count(&c->max_per_host, v, why);
	if (!strcmp(key, "max_messages")) {
		if (!parse_uint(v, 100000000L, &c->max_messages)) {
			*why = "must be a number of messages, 0 for no limit";
			return false;
		}
		return true;
	}
	if (!strcmp(key, "max_maildrop_octets")) {
		long v_octets;
		/* up to 2^62 octets; more is no limit anyway */
		if (!parse_uint(v, 4611686018427387904L, &v_octets)) {
			*why = "must be a number of octets, 0 for no limit";
			return false;
		}
		c->max_octets = (unsigned long long)v_octets;
		return true;
	}
	if (!strcmp(key, "reuse_xuidl"))
		return set_bool(&c->reuse_xuidl, v, why);
	if (!strcmp(key, "plaintext_auth"))
		return set_bool(&c->plaintext_auth, v, why);
	if (!strcmp(key, "last_command"))
		return set_bool(&c->last_command, v, why);
	if (!strcmp(key, "xtnd_xmit_command")) {
		/* Run without a shell: an absolute program path, then arguments. */
		if (v[0] != '/' || strlen(v) >= sizeof(c->xtnd_xmit)) {
			*why = "must be an absolute program path, then its arguments";
			return false;
		}
		snprintf(c->xtnd_xmit, sizeof(c->xtnd_xmit), "%s", v);
		return true;
	}
	if (!strcmp(key, "status_header")) {
		/* mbox Status: flags, R (read) and O (old); "no" turns it off. */
		if (!strcmp(v, "no") || !strcmp(v, "off")) {
			c->status_header[0] = '\0';
			return true;
		}
		if (strlen(v) >= sizeof(c->status_header) || strspn(v, "RO") != strlen(v)) {
			*why = "must be no, or Status: flags from R and O (e.g. RO)";
			return false;
		}
		snprintf(c->status_header, sizeof(c->status_header), "%s", v);
		return true;
	}
	if (!strcmp(key, "strip_nul"))
		return set_bool(&c->strip_nul, v, why);
	if (!strcmp(key, "utf8_strict"))
		return set_bool(&c->utf8_strict, v, why);
	if (!strcmp(key, "rpop_trusted"))
		return set_rpop_trusted(c, v, why);
	if (!strcmp(key, "log")) {
		if (strcmp(v, "syslog") != 0 && strcmp(v, "stderr") != 0) {
			*why = "must be syslog or stderr";
			return false;
		}
		c->log_syslog = !strcmp(v, "syslog");
		return true;
	}
	if (!strcmp(key, "trace")) {
		if (!strcmp(v, "off")) {
			c->trace[0] = '\0';
			return true;
		}
		if (!strcmp(v, "stderr")) {
			snprintf(c->trace, sizeof(c->trace), "stderr");
			return true;
		}
		return set_path(c->trace, sizeof(c->trace), v, why);
	}
	if (!strcmp(key, "trace_bodies"))
		return set_bool(&c->trace_bodies, v, why);
	if (!strcmp(key, "syslog_facility"))
		return set_facility(&c->syslog_facility, v, why);
	if (!strcmp(key, "syslog_socket"))
		return set_path(c->syslog_socket, sizeof(c->syslog_socket), v, why);
	if (!strcmp(key, "user"))
		return set_account(c->user, sizeof(c->user), v, why);
	if (!strcmp(key, "mail_user"))
		return set_account(c->mail_user, sizeof(c->mail_user), v, why);
	if (!strcmp(key, "chroot"))
		return set_path(c->chroot, sizeof(c->chroot), v, why);
	*why = "unknown key";
	return false;
}

bool
config_load(struct config *c, const char *path, char *err, size_t errsz)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return false;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);

	char line[4096];
	unsigned lineno = 0;
	bool ok = true;
	while (ok && fgets(line, sizeof(line), f)) {
		lineno++;
		size_t n = strlen(line);
		if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
			snprintf(err, errsz, "%s:%u: line too long", path, lineno);
			ok = false;
			break;
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		/* Trim, and turn tabs into spaces so "key\tvalue" works. */
		for (char *p = line; *p; p++)
			if (*p == '\t' || *p == '\r' || *p == '\n')
				*p = ' ';
		char *key = line;
		while (*key == ' ')
			key++;
		n = strlen(key);
		while (n > 0 && key[n - 1] == ' ')
			key[--n] = '\0';
		if (!*key)
			continue;
		char *val = strchr(key, ' ');
		if (!val) {
			snprintf(err, errsz, "%s:%u: '%s' needs a value", path, lineno, key);
			ok = false;
			break;
		}
		*val++ = '\0';
		while (*val == ' ')
			val++;
		const char *why = "invalid";
		if (!apply(c, key, val, &why)) {
			snprintf(err, errsz, "%s:%u: %s: %s", path, lineno, key, why);
			ok = false;
		}
	}
	if (ok && ferror(f)) {
		snprintf(err, errsz, "%s: read error", path);
		ok = false;
	}
	fclose(f);
	if (ok && (!c->passwd[0] || !c->mailbox[0])) {
		snprintf(err, errsz, "%s: 'passwd' and 'mailbox' are required", path);
		ok = false;
	}
	return ok;
}
