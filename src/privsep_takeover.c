/*
 * PS_TAKEOVER's payload (privsep.h): what a POP3 session in AUTHORIZATION
 * carries into TRANSACTION when the monitor takes it over.  The monitor
 * decodes it from a process that has parsed the client's bytes, so every
 * field is bounded and checked, and the client input it carries may be no
 * more than netio's buffer could have held.
 *
 * Layout: user, has folder, folder (PS_OPEN's fields), peer, then utf8,
 * auth failures, bad commands, skip_lf, octets in, octets out as numbers,
 * then the buffered client input as the rest of the message.
 */
#include "privsep.h"

#include <stddef.h>
#include <string.h>

#include "ipc.h"

void
privsep_takeover_encode(struct ipc_out *o, const struct privsep_takeover *t)
{
	ipc_put_str(o, t->user);
	ipc_put_u64(o, t->has_folder);
	ipc_put_str(o, t->has_folder ? t->folder : "");
	ipc_put_str(o, t->peer);
	ipc_put_u64(o, t->utf8);
	ipc_put_u64(o, t->auth_failures);
	ipc_put_u64(o, t->bad_commands);
	ipc_put_u64(o, t->skip_lf);
	ipc_put_u64(o, t->octets_in);
	ipc_put_u64(o, t->octets_out);
	ipc_put_bytes(o, t->in, t->in_len);
}

/* A copy of the next string into DST (CAP octets), or false. */
static bool
get_str(struct ipc_in *in, char *dst, size_t cap)
{
	const char *s = ipc_get_str(in, cap - 1);
	if (in->bad)
		return false;
	memcpy(dst, s, strlen(s) + 1);
	return true;
}

/* The next string, left where it is, or NULL. */
static const char *
get_str_at(struct ipc_in *in, size_t max)
{
	const char *s = ipc_get_str(in, max);
	return in->bad ? NULL : s;
}

/* A number that must be below LIMIT. */
static bool
get_below(struct ipc_in *in, uint64_t limit, uint64_t *v_r)
{
	*v_r = ipc_get_u64(in);
	return !in->bad && *v_r < limit;
}

/* The peer is only ever logged, but a log line must stay one line. */
static bool
printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

bool
privsep_takeover_decode(struct ipc_in *in, struct privsep_takeover *t)
{
	uint64_t folder, utf8, fails, bad, skip;
	unsigned char *room = t->in_room;
	memset(t, 0, sizeof(*t));
	t->in_room = room;
	if (!get_str(in, t->user, sizeof(t->user)) || !t->user[0]
	    || !get_below(in, 2, &folder)
	    || !(t->folder = get_str_at(in, PRIVSEP_FOLDER_MAX))
	    || !get_str(in, t->peer, sizeof(t->peer)) || !printable(t->peer)
	    || !get_below(in, 2, &utf8)
	    || !get_below(in, MAX_AUTH_FAILURES, &fails)
	    || !get_below(in, MAX_BAD_COMMANDS, &bad)
	    || !get_below(in, 2, &skip))
		return false;
	t->has_folder = folder != 0;
	t->utf8 = utf8 != 0;
	t->auth_failures = (unsigned)fails;
	t->bad_commands = (unsigned)bad;
	t->skip_lf = skip != 0;
	t->octets_in = ipc_get_u64(in);
	t->octets_out = ipc_get_u64(in);
	if (in->bad)
		return false;
	t->in_len = in->len - in->pos;
	/* Input not yet parsed was read, so it was counted. */
	if (t->in_len > NETIO_INBUF || t->in_len > t->octets_in)
		return false;
	memcpy(room, in->p + in->pos, t->in_len);
	t->in = room;
	in->pos = in->len;
	return true;
}
