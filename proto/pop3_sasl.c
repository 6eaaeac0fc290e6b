/*
 * POP3 AUTH (RFC 5034; RFC 1734 before it) with the SASL mechanisms
 * PLAIN (RFC 4616), LOGIN (the de-facto one Outlook and Thunderbird
 * send) and CRAM-MD5 (RFC 2195).  PLAIN and LOGIN carry the password in
 * clear and follow the plaintext_auth switch, like USER/PASS; CRAM-MD5
 * needs the shared secret, so it works only for {PLAIN} users and fails
 * for the others exactly like a wrong password (CONTRACT.md).
 *
 * Every failed check ends in pop3_auth_failed, so AUTH, PASS and APOP
 * fail alike.  A cancelled or malformed exchange gets a plain -ERR and
 * leaves the session as if AUTH had never been sent (RFC 5034 §4).
 */
#include "pop3.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "base64.h"
#include "log.h"
#include "utf8.h"

/*
 * RFC 5034 §4: continuation lines have no length limit, but must hold
 * the largest response of our mechanisms: PLAIN with three 255-octet
 * fields is 767 octets, 1024 in base64.  The AUTH command line itself is
 * bounded by the session's LINE_MAX_OCTETS (RFC 2449 §4: 255 octets).
 */
#define SASL_LINE_MAX 2048
#define SASL_FIELD_MAX 255

enum sasl_step {
	SASL_GOT = 0,  /* a client response was decoded */
	SASL_FAILED,   /* -ERR already sent; the session goes on */
	SASL_CLOSE,    /* the connection is gone */
};

struct sasl {
	struct pop3 *p;
	unsigned char buf[SASL_LINE_MAX];  /* decoded response */
	size_t len;
};

/* RFC 5034 §3: the list in CAPA and in the reply to a bare AUTH. */
const char *
pop3_sasl_mechanisms(const struct pop3 *p)
{
	return pop3_plaintext_allowed(p) ? "PLAIN LOGIN CRAM-MD5" : "CRAM-MD5";
}

static enum sasl_step
decode(struct sasl *s, const char *text)
{
	if (!base64_decode(text, s->buf, sizeof(s->buf) - 1, &s->len)) {
		pop3_err(s->p, "Invalid base64 data; authentication aborted");
		return SASL_FAILED;
	}
	s->buf[s->len] = '\0';
	return SASL_GOT;
}

/*
 * Sends the challenge "+ base64(CHALLENGE)" (just "+ " when it is empty)
 * and reads and decodes the client's answer; "*" cancels (RFC 5034 §4).
 */
static enum sasl_step
exchange(struct sasl *s, const char *challenge)
{
	char enc[BASE64_ENCODED_SIZE(320)];
	char line[SASL_LINE_MAX];
	size_t len;

	base64_encode(challenge, strlen(challenge), enc);
	netio_printf(s->p->io, "+ %s\r\n", enc);
	enum netio_status st = netio_read_line(s->p->io, line, sizeof(line), &len);
	if (st == NETIO_TOOLONG) {
		pop3_err(s->p, "Line too long; authentication aborted");
		return SASL_FAILED;
	}
	if (st != NETIO_LINE) {
		s->p->env->stats.end = st == NETIO_EOF ? "disconnected"
		                     : st == NETIO_TIMEOUT ? "timeout" : "i/o error";
		return SASL_CLOSE;
	}
	enum sasl_step r;
	if (strlen(line) != len) {
		pop3_err(s->p, "Invalid base64 data; authentication aborted");
		r = SASL_FAILED;
	} else if (strcmp(line, "*") == 0) {
		pop3_err(s->p, "Authentication cancelled");
		r = SASL_FAILED;
	} else {
		r = decode(s, line);
	}
	auth_wipe(line, sizeof(line));
	return r;
}

/* The first client response: the initial one from the command line ("="
 * is an empty one), or the answer to an empty challenge. */
static enum sasl_step
first_response(struct sasl *s, const char *initial)
{
	if (!initial)
		return exchange(s, "");
	if (strcmp(initial, "=") == 0) {
		s->len = 0;
		s->buf[0] = '\0';
		return SASL_GOT;
	}
	return decode(s, initial);
}

/* The end of every exchange: log in, or fail like PASS and APOP. */
static int
finish(struct pop3 *p, enum auth_result r, const char *user)
{
	return r == AUTH_OK ? pop3_auth_login(p, user) : pop3_auth_failed(p, r, user);
}

static bool
plausible_user(const char *user, size_t len)
{
	return len > 0 && len <= USER_MAX && strlen(user) == len;
}


/* RFC 4616: [authzid] NUL authcid NUL passwd.  We act for nobody else, so
 * an authzid must be empty or the authcid itself. */
static int
mech_plain(struct sasl *s, const char *initial)
{
	enum sasl_step st = first_response(s, initial);
	if (st != SASL_GOT)
		return st == SASL_CLOSE ? POP3_CLOSE : POP3_CONTINUE;
	char *authz = (char *)s->buf;
	char *nul1 = memchr(authz, '\0', s->len);
	char *authc = nul1 ? nul1 + 1 : NULL;
	char *nul2 = authc ? memchr(authc, '\0', s->len - (size_t)(authc - authz)) : NULL;
	char *pass = nul2 ? nul2 + 1 : NULL;
	int ret;
	if (!pass || memchr(pass, '\0', s->len - (size_t)(pass - authz))
	    || strlen(authz) > SASL_FIELD_MAX || strlen(pass) > SASL_FIELD_MAX) {
		pop3_err(s->p, "Malformed PLAIN response; authentication aborted");
		ret = POP3_CONTINUE;
	} else if (!utf8_prep_credential(authz) || !utf8_prep_credential(authc) || !utf8_prep_credential(pass)
	           || !plausible_user(authc, strlen(authc))
	           || (authz[0] && strcmp(authz, authc) != 0)) {
		ret = pop3_auth_failed(s->p, AUTH_FAIL, "(invalid)");
	} else {
		ret = finish(s->p, auth_check_password(s->p->env->cfg->passwd,
		                                       authc, pass), authc);
	}
	auth_wipe(s->buf, sizeof(s->buf));
	return ret;
}

/* LOGIN: "Username:" and "Password:" challenges; an initial response is
 * taken as the user name, as other servers do. */
static int
mech_login(struct sasl *s, const char *initial)
{
	char user[USER_MAX + 1];
	enum sasl_step st = initial ? first_response(s, initial)
	                            : exchange(s, "Username:");
	if (st != SASL_GOT)
		return st == SASL_CLOSE ? POP3_CLOSE : POP3_CONTINUE;
	bool user_ok = plausible_user((char *)s->buf, s->len)
	               && utf8_prep_credential((char *)s->buf);
	snprintf(user, sizeof(user), "%s", user_ok ? (char *)s->buf : "");
	st = exchange(s, "Password:");
	if (st != SASL_GOT)
		return st == SASL_CLOSE ? POP3_CLOSE : POP3_CONTINUE;
	int ret;
	if (strlen((char *)s->buf) != s->len || s->len > SASL_FIELD_MAX) {
		pop3_err(s->p, "Malformed LOGIN response; authentication aborted");
		ret = POP3_CONTINUE;
	} else if (!user_ok || !utf8_prep_credential((char *)s->buf)) {
		ret = pop3_auth_failed(s->p, AUTH_FAIL, "(invalid)");
	} else {
		ret = finish(s->p, auth_check_password(s->p->env->cfg->passwd,
		                                       user, (char *)s->buf), user);
	}
	auth_wipe(s->buf, sizeof(s->buf));
	return ret;
}

/* RFC 2195: the server speaks first, so an initial response is refused
 * (RFC 5034 §4).  The challenge is a fresh msg-id, like the greeting's. */
static int
mech_cram_md5(struct sasl *s, const char *initial)
{
	char challenge[320];
	struct timespec ts;

	if (initial) {
		pop3_err(s->p, "CRAM-MD5 takes no initial response");
		return POP3_CONTINUE;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(challenge, sizeof(challenge), "<%ld.%ld.%09ld@%s>",
	         (long)getpid(), (long)ts.tv_sec, ts.tv_nsec,
	         s->p->env->cfg->hostname);
	enum sasl_step st = exchange(s, challenge);
	if (st != SASL_GOT)
		return st == SASL_CLOSE ? POP3_CLOSE : POP3_CONTINUE;
	/* "user SP 32 hex digits"; the user name may not hold a space. */
	char *sp = strrchr((char *)s->buf, ' ');
	if (strlen((char *)s->buf) != s->len || !sp) {
		pop3_err(s->p, "Malformed CRAM-MD5 response; authentication aborted");
		return POP3_CONTINUE;
	}
	*sp = '\0';
	const char *user = (char *)s->buf;
	if (!plausible_user(user, strlen(user)))
		return pop3_auth_failed(s->p, AUTH_FAIL, "(invalid)");
	return finish(s->p, auth_check_cram_md5(s->p->env->cfg->passwd, user,
	                                        challenge, sp + 1), user);
}

/*
 * RFC 5034 §4 AUTH mechanism [initial-response].  A bare AUTH lists the
 * mechanisms (PROTOCOLS.md 5.3: RFC 5034 leaves it undefined; RFC 1734
 * era clients such as Thunderbird probe with it), one per line.
 */
int
pop3_cmd_auth(void *sess, int argc, char **argv)
{
	struct pop3 *p = sess;
	struct sasl s = { .p = p };
	const char *initial = argc == 3 ? argv[2] : NULL;

	p->have_user = false;
	if (argc == 1) {
		char list[64], *save;
		snprintf(list, sizeof(list), "%s", pop3_sasl_mechanisms(p));
		pop3_ok(p, "Supported SASL mechanisms follow");
		for (char *m = strtok_r(list, " ", &save); m;
		     m = strtok_r(NULL, " ", &save))
			netio_printf(p->io, "%s\r\n", m);
		netio_puts(p->io, ".\r\n");
		return POP3_CONTINUE;
	}
	const char *mech = argv[1];
	bool plaintext = pop3_plaintext_allowed(p);
	if (strcasecmp(mech, "CRAM-MD5") == 0)
		return mech_cram_md5(&s, initial);
	if (plaintext && strcasecmp(mech, "PLAIN") == 0)
		return mech_plain(&s, initial);
	if (plaintext && strcasecmp(mech, "LOGIN") == 0)
		return mech_login(&s, initial);
	pop3_err(p, "Unsupported SASL mechanism; try %s", pop3_sasl_mechanisms(p));
	return POP3_CONTINUE;
}
