/*
 * The protocol process's side of credential checks (auth_remote.h).  A
 * monitor that cannot be asked is a user database that cannot be read:
 * AUTH_TEMPFAIL, so the client hears "try later", never "wrong password".
 */
#include "auth_remote.h"

#include "ipc.h"
#include "privsep.h"

/* Set once, before the first byte from the client is read; the process
 * never goes back to local checks. */
static int remote_fd = -1;

void
auth_use_remote(int channel)
{
	remote_fd = channel;
}

bool
auth_remote_active(void)
{
	return remote_fd >= 0;
}

/* Sends OUT as TYPE (wiping and freeing it) and reads the PS_RESULT. */
static enum auth_result
ask(unsigned type, struct ipc_out *out)
{
	uint64_t r;
	bool ok = ipc_call_code(remote_fd, type, out, PS_RESULT, &r);
	if (out->p)
		auth_wipe(out->p, out->cap);
	ipc_out_free(out);
	if (!ok)
		return AUTH_TEMPFAIL;
	return r == AUTH_OK ? AUTH_OK : r == AUTH_FAIL ? AUTH_FAIL : AUTH_TEMPFAIL;
}

static const char *
or_empty(const char *s)
{
	return s ? s : "";
}

enum auth_result
auth_remote_password(const char *user, const char *password)
{
	struct ipc_out o;
	ipc_out_init(&o);
	ipc_put_str(&o, or_empty(user));
	ipc_put_str(&o, or_empty(password));
	return ask(PS_AUTH_PASS, &o);
}

enum auth_result
auth_remote_apop(const char *user, const char *timestamp,
                 const char *digest_hex, bool mapped)
{
	struct ipc_out o;
	ipc_out_init(&o);
	ipc_put_str(&o, or_empty(user));
	ipc_put_str(&o, or_empty(timestamp));
	ipc_put_str(&o, or_empty(digest_hex));
	ipc_put_u64(&o, mapped);
	return ask(PS_AUTH_APOP, &o);
}

enum auth_result
auth_remote_cram(const char *user, const char *challenge,
                 const char *digest_hex)
{
	struct ipc_out o;
	ipc_out_init(&o);
	ipc_put_str(&o, or_empty(user));
	ipc_put_str(&o, or_empty(challenge));
	ipc_put_str(&o, or_empty(digest_hex));
	return ask(PS_AUTH_CRAM, &o);
}

enum auth_result
auth_remote_exists(const char *user)
{
	struct ipc_out o;
	ipc_out_init(&o);
	ipc_put_str(&o, or_empty(user));
	return ask(PS_USER_EXISTS, &o);
}

enum auth_result
auth_remote_rpop(const char *user)
{
	struct ipc_out o;
	ipc_out_init(&o);
	ipc_put_str(&o, or_empty(user));
	return ask(PS_AUTH_RPOP, &o);
}
