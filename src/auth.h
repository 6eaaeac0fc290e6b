/*
 * The user database: a Dovecot passwd-file compatible file of lines
 * "user:{SCHEME}secret[:more fields]" (CONTRACT.md).  Schemes: PLAIN and
 * CLEARTEXT (the secret itself), CRYPT and its aliases (SHA512-CRYPT,
 * SHA256-CRYPT, MD5-CRYPT, BLF-CRYPT, DES-CRYPT): anything crypt(3)
 * verifies.  A secret without a {SCHEME} is CRYPT, as in Dovecot.
 *
 * Rules enforced here: the file is read afresh for each check, so edits
 * take effect at once; an unknown user costs the same work as a known one
 * (a dummy crypt); secrets are compared in constant time and wiped after
 * use; nothing here logs a secret.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "params.h"

enum auth_result {
	AUTH_OK = 0,
	AUTH_FAIL,     /* unknown user, wrong secret, scheme unusable */
	AUTH_TEMPFAIL, /* the user database could not be read */
};

/* USER/PASS, SASL PLAIN and LOGIN, POP1 and POP2 logins. */
enum auth_result auth_check_password(const char *passwd_path,
                                     const char *user, const char *password);

/* APOP (RFC 1939 §7): DIGEST_HEX is the client's 32 hex characters;
 * needs a {PLAIN} secret, otherwise AUTH_FAIL as for a wrong digest. */
enum auth_result auth_check_apop(const char *passwd_path, const char *user,
                                 const char *timestamp,
                                 const char *digest_hex);

/* Maps a {PLAIN} secret into OUT (OUTSZ octets, at least strlen + 1);
 * false when it cannot. */
typedef bool (*auth_secret_map)(const char *secret, char *out, size_t outsz);

/* APOP over MAP's form of the secret (RFC 6856 §2.2: SASLprep before the
 * digest); a secret MAP cannot map is used as stored. */
enum auth_result auth_check_apop_mapped(const char *passwd_path,
                                        const char *user,
                                        const char *timestamp,
                                        const char *digest_hex,
                                        auth_secret_map map);

/* CRAM-MD5 (RFC 2195): the client's hex HMAC-MD5 of CHALLENGE. */
enum auth_result auth_check_cram_md5(const char *passwd_path,
                                     const char *user, const char *challenge,
                                     const char *digest_hex);

/* Whether USER has an entry (deliver: exit 67 when not). */
enum auth_result auth_user_exists(const char *passwd_path, const char *user);

/* RPOP (RFC 1081): whether USER may log in on the strength of the
 * client's host alone; the caller has checked rpop_trusted, and a monitor
 * checks it again itself (privsep.h). */
enum auth_result auth_check_rpop(const char *passwd_path, const char *user);

/* The uid and gid fields (third and fourth, as in Dovecot's passwd-file)
 * of USER's line: AUTH_OK with both when both are decimal numbers,
 * AUTH_FAIL when the user or either field is missing. */
enum auth_result auth_user_ids(const char *passwd_path, const char *user,
                               unsigned long *uid_r, unsigned long *gid_r);

/* Constant-time comparison of two NUL-terminated strings. */
bool auth_equal(const char *a, const char *b);

/* Overwrites BUF in a way the compiler may not drop. */
void auth_wipe(void *buf, size_t len);

#endif
