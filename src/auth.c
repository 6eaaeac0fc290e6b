/*
 * The user database (auth.h, CONTRACT.md "User database").
 *
 * Every check reads the whole passwd file afresh through a fixed buffer,
 * keeps the first line for the user (as Dovecot's passwd-file does, which
 * warns about and ignores later duplicates), and then spends the same work
 * whether or not the user was found: one crypt(3) for a password, one MD5
 * for APOP, one HMAC-MD5 for CRAM-MD5, and one constant-time comparison.
 * Every buffer that held file contents is wiped before returning.
 */

/* POSIX puts crypt() in <unistd.h>, but glibc 2.28 and later declare it
 * there only with _DEFAULT_SOURCE; libcrypt's own header always does. */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "auth_remote.h"
#include "md5.h"

/*
 * Longest passwd line we look at.  A SHA-512 crypt hash with extra fields
 * fits in a few hundred octets; a longer line is ignored as a whole rather
 * than cut, so a truncated line can never be taken for a shorter secret.
 */
#define PASSWD_LINE_MAX 4096

/*
 * A valid SHA-512 crypt hash (default 5000 rounds) of a password nobody
 * types, so an unknown user costs one crypt(3) like a {CRYPT} user.
 */
static const char dummy_hash[] =
	"$6$postofficedummy$DbhF7F4gdoHybKIdMF52hyk6gPY8YUoJZ3Ewk6U7hL3lEAgFE"
	"j/R4zsGna/h0m35MNIMmdxC791hCLkse/zNb.";

/* Stands in for a shared secret when there is none, so APOP and
 * CRAM-MD5 compute one digest whether or not the user has a secret. */
static const char dummy_secret[] = "postoffice-no-shared-secret";

enum scheme {
	SCHEME_PLAIN,
	SCHEME_CRYPT,
	SCHEME_UNKNOWN,
};

/* The user's line, and where in it the scheme and secret are. */
struct entry {
	char line[PASSWD_LINE_MAX + 1];
	enum scheme scheme;
	const char *secret;     /* NUL-terminated, inside line */
	const char *rest;       /* the fields after the secret, or NULL */
};

/* Reads a file a line at a time through a fixed buffer. */
struct reader {
	int fd;
	size_t pos, len;
	unsigned char buf[4096];
};

void
auth_wipe(void *buf, size_t len)
{
	volatile unsigned char *p = buf;

	while (len-- > 0)
		*p++ = 0;
}

/* Walks the whole of the longer string: how long the common prefix is
 * does not show in the time taken.  Past the end of the shorter string its
 * NUL is compared with a non-NUL octet, so different lengths differ. */
bool
auth_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t n = la > lb ? la : lb;
	unsigned char ca, cb, diff = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		ca = i < la ? (unsigned char)a[i] : 0;
		cb = i < lb ? (unsigned char)b[i] : 0;
		diff |= ca ^ cb;
	}
	return diff == 0;
}

/* A name we would never find in the file is refused before the lookup:
 * empty, too long, or with ':' or a control character. */
static bool
user_valid(const char *user)
{
	size_t n;

	if (user == NULL)
		return false;
	for (n = 0; user[n] != '\0'; n++) {
		if (n >= USER_MAX)
			return false;
		if (user[n] == ':' || (unsigned char)user[n] < 0x20 ||
		    user[n] == 0x7f)
			return false;
	}
	return n > 0;
}

/*
 * Returns 1 with the next line in LINE (without its LF or CRLF), 0 at the
 * end of the file, -1 on a read error.  *SKIP_R is set when the line was
 * over PASSWD_LINE_MAX or held a NUL: its contents are then not usable.
 */
static int
reader_line(struct reader *r, char line[PASSWD_LINE_MAX + 1], bool *skip_r)
{
	size_t n = 0;
	bool any = false;
	ssize_t got;
	unsigned char c;

	*skip_r = false;
	for (;;) {
		if (r->pos == r->len) {
			got = read(r->fd, r->buf, sizeof r->buf);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				return -1;
			if (got == 0) {
				if (!any)
					return 0;
				break;
			}
			r->pos = 0;
			r->len = (size_t)got;
		}
		any = true;
		c = r->buf[r->pos++];
		if (c == '\n')
			break;
		if (c == '\0' || n == PASSWD_LINE_MAX)
			*skip_r = true;
		else
			line[n++] = (char)c;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return 1;
}

/* Scheme names are case-insensitive, as in Dovecot. */
static enum scheme
scheme_parse(const char *name, size_t len)
{
	static const struct {
		const char *name;
		enum scheme scheme;
	} schemes[] = {
		{ "PLAIN", SCHEME_PLAIN },
		{ "CLEARTEXT", SCHEME_PLAIN },
		{ "CRYPT", SCHEME_CRYPT },
		{ "SHA512-CRYPT", SCHEME_CRYPT },
		{ "SHA256-CRYPT", SCHEME_CRYPT },
		{ "MD5-CRYPT", SCHEME_CRYPT },
		{ "BLF-CRYPT", SCHEME_CRYPT },
		{ "DES-CRYPT", SCHEME_CRYPT },
	};
	size_t i;

	for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (strlen(schemes[i].name) == len &&
		    strncasecmp(schemes[i].name, name, len) == 0)
			return schemes[i].scheme;
	return SCHEME_UNKNOWN;
}

/* Whether LINE is USER's: the exact name, then ':' or the end of the
 * line (a bare name is a user without a usable secret). */
static bool
line_is_user(const char *line, const char *user)
{
	size_t n = strlen(user);

	if (line[0] == '#' || strncmp(line, user, n) != 0)
		return false;
	return line[n] == ':' || line[n] == '\0';
}

/*
 * Splits E's line "user:{SCHEME}secret[:fields]" in place.  The secret ends
 * at the next ':' as in Dovecot's passwd-file, so a {PLAIN} secret cannot
 * hold one; crypt(3) hashes never do.  No {SCHEME} means CRYPT.
 */
static void
entry_split(struct entry *e)
{
	char *secret = strchr(e->line, ':');
	char *end, *close;

	e->scheme = SCHEME_CRYPT;
	e->rest = NULL;
	if (secret == NULL) {
		e->secret = e->line + strlen(e->line);
		return;
	}
	secret++;
	end = strchr(secret, ':');
	if (end != NULL) {
		*end = '\0';
		e->rest = end + 1;
	}
	if (secret[0] == '{' && (close = strchr(secret, '}')) != NULL) {
		e->scheme = scheme_parse(secret + 1, (size_t)(close - secret - 1));
		secret = close + 1;
	}
	e->secret = secret;
}

/*
 * AUTH_OK with E filled in when USER has a line, AUTH_FAIL when not (an
 * invalid name is never looked for), AUTH_TEMPFAIL when the file cannot be
 * opened or read.  The whole file is read either way, so where the user's
 * line is (or that there is none) does not show in the time taken.
 */
static enum auth_result
passwd_lookup(const char *path, const char *user, struct entry *e)
{
	struct reader r;
	char line[PASSWD_LINE_MAX + 1];
	bool valid = user_valid(user), found = false, skip;
	int rc;

	r.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (r.fd < 0)
		return AUTH_TEMPFAIL;
	r.pos = r.len = 0;
	while ((rc = reader_line(&r, line, &skip)) > 0) {
		if (found || !valid || skip || !line_is_user(line, user))
			continue;
		memcpy(e->line, line, sizeof line);
		found = true;
	}
	close(r.fd);
	auth_wipe(line, sizeof line);
	auth_wipe(r.buf, sizeof r.buf);
	if (rc < 0) {
		auth_wipe(e, sizeof *e);
		return AUTH_TEMPFAIL;
	}
	if (!found)
		return AUTH_FAIL;
	entry_split(e);
	return AUTH_OK;
}

/* crypt(3) signals failure with NULL or a string starting with '*'. */
static bool
crypt_verify(const char *password, const char *hash)
{
	const char *out = crypt(password, hash);

	return out != NULL && out[0] != '*' && auth_equal(out, hash);
}

enum auth_result
auth_check_password(const char *passwd_path, const char *user,
                    const char *password)
{
	struct entry e;
	if (auth_remote_active())
		return auth_remote_password(user, password);
	enum auth_result r = passwd_lookup(passwd_path, user, &e);
	bool ok = false;

	if (r == AUTH_TEMPFAIL)
		return r;
	if (password == NULL)
		password = "";
	if (r == AUTH_OK && e.scheme == SCHEME_CRYPT && e.secret[0] != '\0') {
		ok = crypt_verify(password, e.secret);
	} else {
		/* Unknown users, {PLAIN} users and unusable lines pay
		 * for one crypt(3) too. */
		(void)crypt_verify(password, dummy_hash);
		if (r == AUTH_OK && e.scheme == SCHEME_PLAIN &&
		    e.secret[0] != '\0')
			ok = auth_equal(password, e.secret);
	}
	if (r == AUTH_OK)
		auth_wipe(&e, sizeof e);
	return ok ? AUTH_OK : AUTH_FAIL;
}

static void
hex_encode(const unsigned char digest[16], char hex[33])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 16; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 0x0f];
	}
	hex[32] = '\0';
}

/* RFC 1939 §7: MD5 of the timestamp followed by the shared secret. */
static void
apop_digest(const char *secret, const char *timestamp, char hex[33])
{
	unsigned char digest[16];
	struct md5 m;

	md5_init(&m);
	md5_update(&m, timestamp, strlen(timestamp));
	md5_update(&m, secret, strlen(secret));
	md5_final(&m, digest);
	hex_encode(digest, hex);
	auth_wipe(digest, sizeof digest);
}

/* RFC 2195 §2: HMAC-MD5 of the challenge keyed with the shared secret. */
static void
cram_md5_digest(const char *secret, const char *challenge, char hex[33])
{
	unsigned char digest[16];

	md5_hmac(secret, strlen(secret), challenge, strlen(challenge), digest);
	hex_encode(digest, hex);
	auth_wipe(digest, sizeof digest);
}

/*
 * APOP and CRAM-MD5: the client proves it knows a {PLAIN} secret.  Any
 * other user, known or not, gets the same digest computed over a dummy
 * secret and the same comparison, then AUTH_FAIL.  Clients send lower-case
 * hex; upper-case is folded so it is accepted too.
 */
static enum auth_result
check_shared_secret(const char *passwd_path, const char *user,
                    const char *text, const char *digest_hex,
                    void (*digest)(const char *, const char *, char[33]),
                    auth_secret_map map)
{
	struct entry e;
	char mine[33], theirs[65], mapped[PASSWD_LINE_MAX + 1];
	enum auth_result r = passwd_lookup(passwd_path, user, &e);
	bool usable, ok;
	size_t i;

	if (r == AUTH_TEMPFAIL)
		return r;
	usable = r == AUTH_OK && e.scheme == SCHEME_PLAIN &&
	         e.secret[0] != '\0';
	const char *secret = usable ? e.secret : dummy_secret;
	if (usable && map != NULL && map(e.secret, mapped, sizeof mapped))
		secret = mapped;
	digest(secret, text != NULL ? text : "", mine);
	auth_wipe(mapped, sizeof mapped);
	for (i = 0; digest_hex != NULL && digest_hex[i] != '\0' &&
	            i < sizeof theirs - 1; i++)
		theirs[i] = digest_hex[i] >= 'A' && digest_hex[i] <= 'Z'
		                    ? (char)(digest_hex[i] - 'A' + 'a')
		                    : digest_hex[i];
	theirs[i] = '\0';
	ok = auth_equal(mine, theirs) && usable;
	auth_wipe(mine, sizeof mine);
	if (r == AUTH_OK)
		auth_wipe(&e, sizeof e);
	return ok ? AUTH_OK : AUTH_FAIL;
}

enum auth_result
auth_check_apop(const char *passwd_path, const char *user,
                const char *timestamp, const char *digest_hex)
{
	if (auth_remote_active())
		return auth_remote_apop(user, timestamp, digest_hex, false);
	return check_shared_secret(passwd_path, user, timestamp, digest_hex,
	                           apop_digest, NULL);
}

enum auth_result
auth_check_apop_mapped(const char *passwd_path, const char *user,
                       const char *timestamp, const char *digest_hex,
                       auth_secret_map map)
{
	if (auth_remote_active())
		return auth_remote_apop(user, timestamp, digest_hex, map != NULL);
	return check_shared_secret(passwd_path, user, timestamp, digest_hex,
	                           apop_digest, map);
}

enum auth_result
auth_check_cram_md5(const char *passwd_path, const char *user,
                    const char *challenge, const char *digest_hex)
{
	if (auth_remote_active())
		return auth_remote_cram(user, challenge, digest_hex);
	return check_shared_secret(passwd_path, user, challenge, digest_hex,
	                           cram_md5_digest, NULL);
}

enum auth_result
auth_user_exists(const char *passwd_path, const char *user)
{
	struct entry e;
	if (auth_remote_active())
		return auth_remote_exists(user);
	enum auth_result r = passwd_lookup(passwd_path, user, &e);

	if (r == AUTH_OK)
		auth_wipe(&e, sizeof e);
	return r;
}

enum auth_result
auth_check_rpop(const char *passwd_path, const char *user)
{
	if (auth_remote_active())
		return auth_remote_rpop(user);
	return auth_user_exists(passwd_path, user);
}

/* Strict decimal, as Dovecot writes uid and gid fields. */
static bool
parse_id(const char *s, size_t len, unsigned long *v_r)
{
	unsigned long v = 0;
	if (len == 0 || len > 9)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*v_r = v;
	return true;
}

enum auth_result
auth_user_ids(const char *passwd_path, const char *user,
              unsigned long *uid_r, unsigned long *gid_r)
{
	struct entry e;
	enum auth_result r = passwd_lookup(passwd_path, user, &e);
	if (r != AUTH_OK)
		return r;
	const char *uid = e.rest, *gid = uid ? strchr(uid, ':') : NULL;
	const char *end = gid ? strchr(gid + 1, ':') : NULL;
	if (!gid || !parse_id(uid, (size_t)(gid - uid), uid_r)
	    || !parse_id(gid + 1, end ? (size_t)(end - gid - 1) : strlen(gid + 1), gid_r))
		r = AUTH_FAIL;
	auth_wipe(&e, sizeof e);
	return r;
}
