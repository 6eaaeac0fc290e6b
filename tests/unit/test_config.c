/*
 * The config reader: every key, addresses, comments and blanks, and
 * errors that name the file and the line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

struct fixture {
	char dir[64];
	char path[96];
	char err[512];
	struct config cfg;
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	if (!fx)
		return -1;
	strcpy(fx->dir, "/tmp/test_config.XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->path, sizeof fx->path, "%s/postoffice.conf", fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Writes TEXT as the config file and loads it over the defaults. */
static bool
load(struct fixture *fx, const char *text)
{
	FILE *f = fopen(fx->path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	config_defaults(&fx->cfg);
	fx->err[0] = '\0';
	return config_load(&fx->cfg, fx->path, fx->err, sizeof fx->err);
}

/* TEXT must be refused with an error naming the file, line LINE, and
 * containing WORD (when not NULL). */
static void
assert_refused_at(struct fixture *fx, const char *text, unsigned line,
                  const char *word)
{
	char where[128];
	snprintf(where, sizeof where, "%s:%u:", fx->path, line);
	if (load(fx, text))
		fail_msg("accepted: %s", text);
	if (strstr(fx->err, where) != fx->err)
		fail_msg("error \"%s\" does not start with \"%s\"", fx->err, where);
	if (word && !strstr(fx->err, word))
		fail_msg("error \"%s\" does not mention \"%s\"", fx->err, word);
}

#define REQUIRED "passwd /etc/postoffice/passwd\nmailbox /var/spool/mail\n"

static void
assert_v4(const struct listen_addr *a, const char *ip, unsigned port)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)&a->addr;
	char buf[INET_ADDRSTRLEN];
	assert_int_equal(in->sin_family, AF_INET);
	assert_int_equal(a->addrlen, sizeof *in);
	assert_int_equal(ntohs(in->sin_port), port);
	assert_non_null(inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf));
	assert_string_equal(buf, ip);
}

static void
assert_v6(const struct listen_addr *a, const char *ip, unsigned port)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->addr;
	char buf[INET6_ADDRSTRLEN];
	assert_int_equal(in6->sin6_family, AF_INET6);
	assert_int_equal(a->addrlen, sizeof *in6);
	assert_int_equal(ntohs(in6->sin6_port), port);
	assert_non_null(inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf));
	assert_string_equal(buf, ip);
}

static void
test_full_file(void **state)
{
	struct fixture *fx = *state;
	const char *text =
		"# postoffice configuration\n"
		"listen pop3 127.0.0.1:11110\n"
		"listen pop2 [::1]:0\n"
		"listen pop3 0.0.0.0:110\n"
		"passwd /etc/postoffice/passwd\n"
		"mailbox /var/mail/%u\n"
		"folders /home/%u/mail\n"
		"hostname mail.example.org\n"
		"timeout_login 30\n"
		"timeout_idle 900\n"
		"timeout_write 5\n"
		"auth_fail_delay 0\n"
		"reuse_xuidl yes\n";

	if (!load(fx, text))
		fail_msg("%s", fx->err);
	struct config *c = &fx->cfg;
	assert_string_equal(c->path, fx->path);
	assert_int_equal(c->nlisten, 3);
	assert_int_equal(c->listen[0].proto, PROTO_POP3);
	assert_v4(&c->listen[0], "127.0.0.1", 11110);
	assert_string_equal(c->listen[0].text, "127.0.0.1:11110");
	assert_int_equal(c->listen[1].proto, PROTO_POP2);
	assert_v6(&c->listen[1], "::1", 0);
	assert_string_equal(c->listen[1].text, "[::1]:0");
	assert_v4(&c->listen[2], "0.0.0.0", 110);
	assert_string_equal(c->passwd, "/etc/postoffice/passwd");
	assert_string_equal(c->mailbox, "/var/mail/%u");
	assert_string_equal(c->folders, "/home/%u/mail");
	assert_string_equal(c->hostname, "mail.example.org");
	assert_int_equal(c->timeout_login, 30);
	assert_int_equal(c->timeout_idle, 900);
	assert_int_equal(c->timeout_write, 5);
	assert_int_equal(c->auth_fail_delay_ms, 0);
	assert_true(c->reuse_xuidl);
}

static void
test_defaults(void **state)
{
	struct fixture *fx = *state;

	if (!load(fx, REQUIRED))
		fail_msg("%s", fx->err);
	assert_int_equal(fx->cfg.nlisten, 0);
	assert_string_equal(fx->cfg.folders, "");
	assert_true(fx->cfg.hostname[0] != '\0');
	assert_int_equal(fx->cfg.timeout_login, DEFAULT_TIMEOUT_LOGIN);
	assert_int_equal(fx->cfg.timeout_idle, DEFAULT_TIMEOUT_IDLE);
	assert_int_equal(fx->cfg.timeout_write, WRITE_TIMEOUT);
	assert_int_equal(fx->cfg.auth_fail_delay_ms, DEFAULT_AUTH_FAIL_DELAY_MS);
	assert_false(fx->cfg.reuse_xuidl);
	assert_true(DEFAULT_TIMEOUT_IDLE >= 600); /* RFC 1939 §3 */
}

static void
test_comments_blanks_tabs(void **state)
{
	struct fixture *fx = *state;
	const char *text =
		"\n"
		"# a comment\n"
		"   # an indented comment\n"
		"\t\n"
		"   \n"
		"passwd\t/etc/pw   # trailing comment\n"
		"\tmailbox   \t /var/mail/%u\t\n"
		"listen\tpop3\t127.0.0.1:110\r\n"
		"timeout_idle    3600\r\n"
		"reuse_xuidl\tno\n"
		"hostname pop.example.net"; /* no final line end */

	if (!load(fx, text))
		fail_msg("%s", fx->err);
	assert_string_equal(fx->cfg.passwd, "/etc/pw");
	assert_string_equal(fx->cfg.mailbox, "/var/mail/%u");
	assert_int_equal(fx->cfg.nlisten, 1);
	assert_v4(&fx->cfg.listen[0], "127.0.0.1", 110);
	assert_int_equal(fx->cfg.timeout_idle, 3600);
	assert_false(fx->cfg.reuse_xuidl);
	assert_string_equal(fx->cfg.hostname, "pop.example.net");
}

static void
test_bool_values(void **state)
{
	struct fixture *fx = *state;
	const char *yes[] = { "yes", "true", "on", "1" };
	const char *no[] = { "no", "false", "off", "0" };
	char text[256];

	for (size_t i = 0; i < 4; i++) {
		snprintf(text, sizeof text, REQUIRED "reuse_xuidl %s\n", yes[i]);
		assert_true(load(fx, text));
		assert_true(fx->cfg.reuse_xuidl);
		snprintf(text, sizeof text, REQUIRED "reuse_xuidl yes\nreuse_xuidl %s\n",
		         no[i]);
		assert_true(load(fx, text));
		assert_false(fx->cfg.reuse_xuidl);
	}
	assert_refused_at(fx, REQUIRED "reuse_xuidl maybe\n", 3, "reuse_xuidl");
	assert_refused_at(fx, REQUIRED "reuse_xuidl 2\n", 3, "reuse_xuidl");
}

static void
test_unknown_key(void **state)
{
	struct fixture *fx = *state;

	assert_refused_at(fx, REQUIRED "\n# c\nport 110\n", 5, "port");
	assert_refused_at(fx, "Passwd /etc/pw\n", 1, "Passwd");
	/* The first bad line is the one reported. */
	assert_refused_at(fx, "passwd /etc/pw\nbogus 1\nworse 2\n", 2, "bogus");
}

static void
test_key_without_value(void **state)
{
	struct fixture *fx = *state;

	assert_refused_at(fx, REQUIRED "hostname\n", 3, "hostname");
	assert_refused_at(fx, REQUIRED "folders   # none\n", 3, "folders");
}

static void
test_relative_paths(void **state)
{
	struct fixture *fx = *state;

	assert_refused_at(fx, "passwd etc/passwd\nmailbox /m/%u\n", 1, "passwd");
	assert_refused_at(fx, "passwd /p\nmailbox mail/%u\n", 2, "mailbox");
	assert_refused_at(fx, REQUIRED "folders ~/mail\n", 3, "folders");
}

static void
test_bad_listen(void **state)
{
	struct fixture *fx = *state;
	const char *bad[] = {
		"listen pop3 127.0.0.1:70000\n",
		"listen pop3 127.0.0.1:65536\n",
		"listen pop3 127.0.0.1:-1\n",
		"listen pop3 127.0.0.1:+110\n",
		"listen pop3 127.0.0.1:\n",
		"listen pop3 127.0.0.1\n",
		"listen pop3 localhost:110\n",
		"listen pop3 256.0.0.1:110\n",
		"listen pop3 ::1:110\n",
		"listen pop3 [::1]110\n",
		"listen pop3 [::1:110\n",
		"listen pop3 [127.0.0.1]:110\n",
		"listen pop3 127.0.0.1:110 extra\n",
		"listen pop4 127.0.0.1:110\n",
		"listen pop3\n",
		"listen 127.0.0.1:110\n",
	};
	char text[256];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, REQUIRED "%s", bad[i]);
		assert_refused_at(fx, text, 3, "listen");
	}
}

static void
test_too_many_listeners(void **state)
{
	struct fixture *fx = *state;
	char text[4096];
	size_t n = (size_t)snprintf(text, sizeof text, REQUIRED);

	for (int i = 0; i < MAX_LISTENERS; i++)
		n += (size_t)snprintf(text + n, sizeof text - n,
		                      "listen pop3 127.0.0.1:%d\n", 1000 + i);
	assert_true(load(fx, text));
	assert_int_equal(fx->cfg.nlisten, MAX_LISTENERS);
	snprintf(text + n, sizeof text - n, "listen pop3 127.0.0.1:9\n");
	assert_refused_at(fx, text, 2 + MAX_LISTENERS + 1, "listen");
}

static void
test_timeouts(void **state)
{
	struct fixture *fx = *state;

	/* RFC 1939 §3: the autologout timer is at least 10 minutes. */
	assert_refused_at(fx, REQUIRED "timeout_idle 599\n", 3, "timeout_idle");
	assert_refused_at(fx, REQUIRED "timeout_idle 0\n", 3, "timeout_idle");
	assert_true(load(fx, REQUIRED "timeout_idle 600\n"));
	assert_int_equal(fx->cfg.timeout_idle, 600);
	/* The pre-login timer may be shorter, but not zero. */
	assert_refused_at(fx, REQUIRED "timeout_write 0\n", 3, "timeout_write");
	assert_true(load(fx, REQUIRED "timeout_login 1\n"));
	assert_int_equal(fx->cfg.timeout_login, 1);
	assert_refused_at(fx, REQUIRED "timeout_login 0\n", 3, "timeout_login");
	assert_refused_at(fx, REQUIRED "timeout_login 10s\n", 3, "timeout_login");
	assert_refused_at(fx, REQUIRED "timeout_login -5\n", 3, "timeout_login");
	assert_refused_at(fx, REQUIRED "timeout_idle 99999999999999999999\n", 3,
	                  "timeout_idle");

	assert_true(load(fx, REQUIRED "auth_fail_delay 60000\n"));
	assert_int_equal(fx->cfg.auth_fail_delay_ms, 60000);
	assert_refused_at(fx, REQUIRED "auth_fail_delay 60001\n", 3,
	                  "auth_fail_delay");
	assert_refused_at(fx, REQUIRED "auth_fail_delay 1.5\n", 3,
	                  "auth_fail_delay");
}

static void
test_bad_hostname(void **state)
{
	struct fixture *fx = *state;

	/* The host name goes into the APOP timestamp <...@host>. */
	assert_refused_at(fx, REQUIRED "hostname mail example\n", 3, "hostname");
	assert_refused_at(fx, REQUIRED "hostname <mail>\n", 3, "hostname");
}

static void
test_required_keys(void **state)
{
	struct fixture *fx = *state;

	assert_false(load(fx, "mailbox /var/mail/%u\n"));
	assert_non_null(strstr(fx->err, fx->path));
	assert_non_null(strstr(fx->err, "passwd"));
	assert_false(load(fx, "passwd /etc/pw\n"));
	assert_non_null(strstr(fx->err, fx->path));
	assert_non_null(strstr(fx->err, "mailbox"));
	assert_false(load(fx, ""));
	assert_false(load(fx, "# nothing but a comment\n"));
}

static void
test_missing_file(void **state)
{
	struct fixture *fx = *state;
	char path[128];

	snprintf(path, sizeof path, "%s/nonexistent.conf", fx->dir);
	config_defaults(&fx->cfg);
	assert_false(config_load(&fx->cfg, path, fx->err, sizeof fx->err));
	assert_non_null(strstr(fx->err, path));
}

static void
test_overlong_line(void **state)
{
	struct fixture *fx = *state;
	static char text[6000];
	size_t k = strlen(REQUIRED "hostname ");

	memcpy(text, REQUIRED "hostname ", k);
	memset(text + k, 'h', sizeof text - k - 2);
	text[sizeof text - 2] = '\n';
	text[sizeof text - 1] = '\0';
	assert_refused_at(fx, text, 3, NULL);
}

static void
test_parse_addr(void **state)
{
	struct listen_addr a;
	(void)state;

	assert_true(config_parse_addr("127.0.0.1:0", &a));
	assert_v4(&a, "127.0.0.1", 0);
	assert_true(config_parse_addr("10.1.2.3:65535", &a));
	assert_v4(&a, "10.1.2.3", 65535);
	assert_true(config_parse_addr("[::1]:110", &a));
	assert_v6(&a, "::1", 110);
	assert_string_equal(a.text, "[::1]:110");
	assert_true(config_parse_addr("[::]:995", &a));
	assert_v6(&a, "::", 995);
	assert_true(config_parse_addr("[2001:db8::5]:1109", &a));
	assert_v6(&a, "2001:db8::5", 1109);

	assert_false(config_parse_addr("", &a));
	assert_false(config_parse_addr(":110", &a));
	assert_false(config_parse_addr("[]:110", &a));
	assert_false(config_parse_addr("1.2.3.4:65536", &a));
	assert_false(config_parse_addr("1.2.3.4:99999999999999999999", &a));
	assert_false(config_parse_addr("1.2.3:110", &a));
	assert_false(config_parse_addr("[::1]", &a));
	assert_false(config_parse_addr("[::1]:", &a));
	assert_false(config_parse_addr("[::1]:1x", &a));
	assert_false(config_parse_addr("[::g]:110", &a));
}

/* rpop_trusted: blocks on one line or several, IPv4-mapped IPv6 peers
 * matched against IPv4 blocks, prefixes on and off octet boundaries. */
static bool
inside(const struct net_prefix *n, const char *ip)
{
	unsigned char a[16];
	int family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(family, ip, a), 1);
	return config_prefix_contains(n, family, a);
}

static void
test_rpop_trusted(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(fx->cfg.nrpop_trusted, 0);
	assert_true(load(fx, REQUIRED "rpop_trusted 127.0.0.0/8  10.1.2.0/23\n"
	                 "rpop_trusted fd00::/8\n"));
	assert_int_equal(fx->cfg.nrpop_trusted, 3);
	const struct net_prefix *n = fx->cfg.rpop_trusted;
	assert_true(inside(&n[0], "127.255.0.1"));
	assert_true(inside(&n[0], "::ffff:127.0.0.1"));
	assert_false(inside(&n[0], "128.0.0.1"));
	assert_false(inside(&n[0], "::1"));
	assert_true(inside(&n[1], "10.1.3.255"));
	assert_false(inside(&n[1], "10.1.4.0"));
	assert_true(inside(&n[2], "fd12::1"));
	assert_false(inside(&n[2], "fe80::1"));
	assert_false(inside(&n[2], "127.0.0.1"));
	struct net_prefix all;
	assert_true(config_parse_prefix("0.0.0.0/0", &all));
	assert_true(inside(&all, "203.0.113.9"));
	assert_true(config_parse_prefix("::1/128", &all));
	assert_true(inside(&all, "::1"));
	assert_false(inside(&all, "::2"));
	const char *bad[] = { "127.0.0.1", "1.2.3.4/33", "::/129", "1.2.3/8",
	                      "host/8", "1.2.3.4/", "1.2.3.4/+8", "[::1]/8" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(config_parse_prefix(bad[i], &all));
	assert_refused_at(fx, REQUIRED "rpop_trusted 10.0.0.0/8 nonsense\n", 3,
	                  "ADDRESS/BITS");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_rpop_trusted),
		T(test_full_file),
		T(test_defaults),
		T(test_comments_blanks_tabs),
		T(test_bool_values),
		T(test_unknown_key),
		T(test_key_without_value),
		T(test_relative_paths),
		T(test_bad_listen),
		T(test_too_many_listeners),
		T(test_timeouts),
		T(test_bad_hostname),
		T(test_required_keys),
		T(test_missing_file),
		T(test_overlong_line),
		cmocka_unit_test(test_parse_addr),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
