/*
 * auth.h in a privilege-separated protocol process (privsep.h): the
 * checks are asked of the monitor, which alone can read the user
 * database.  auth.c forwards to these once auth_use_remote was called.
 */
#ifndef AUTH_REMOTE_H
#define AUTH_REMOTE_H

#include <stdbool.h>

#include "auth.h"

/* From now on this process asks the monitor on CHANNEL. */
void auth_use_remote(int channel);
bool auth_remote_active(void);

enum auth_result auth_remote_password(const char *user, const char *password);
/* MAPPED: the monitor applies SASLprep to the secret (RFC 6856 §2.2). */
enum auth_result auth_remote_apop(const char *user, const char *timestamp,
                                  const char *digest_hex, bool mapped);
enum auth_result auth_remote_cram(const char *user, const char *challenge,
                                  const char *digest_hex);
enum auth_result auth_remote_exists(const char *user);
enum auth_result auth_remote_rpop(const char *user);

#endif
