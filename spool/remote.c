/*
 * The remote backend (remote.h).  The message format is privsep.h's.
 * Every reply is checked as if it could be wrong: a listing that does not
 * parse, a uid that is not a valid uid or a message whose length
 * disagrees with its size is SPOOL_ETEMP or SPOOL_ECHANGED, never a crash.
 * sp->fd holds the channel, which this backend never closes: it belongs
 * to the process.
 */
#include "remote.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "bigmem.h"
#include "ipc.h"
#include "privsep.h"
#include "wire.h"

static const struct spool_backend remote_backend;

/* Reads the one reply of TYPE into a fresh buffer; false on any error. */
static bool
recv_reply(int fd, unsigned type, unsigned char **buf_r, size_t *len_r)
{
	unsigned rtype;
	size_t len;
	if (ipc_recv_head(fd, &rtype, &len, PRIVSEP_REPLY_MAX) != 1 || rtype != type)
		return false;
	unsigned char *buf = bigmem_alloc(len);
	if (!buf || !ipc_recv_body(fd, buf, len)) {
		free(buf);
		return false;
	}
	*buf_r = buf;
	*len_r = len;
	return true;
}

static enum spool_err
err_code(uint64_t v)
{
	return v <= SPOOL_EINVAL ? (enum spool_err)v : SPOOL_ETEMP;
}

/*
 * Fills SP from the PS_LISTING payload BUF, which IN reads and which SP
 * takes in any case: the listing is kept as received and indexed
 * (backend.h, struct spool_list), so a message costs 16 octets here
 * beyond its share of the payload.  Nothing in it is trusted: the count
 * is bounded by the payload before it sizes anything, every uid must be
 * a valid one, and the payload must end with the last message.
 */
static enum spool_err
parse_listing(struct spool *sp, struct ipc_in *in, unsigned char *buf)
{
	struct spool_list *l = calloc(1, sizeof *l);
	if (!l) {
		free(buf);
		return SPOOL_ETEMP;
	}
	l->buf = buf;
	sp->list = l;
	uint64_t count = ipc_get_u64(in);
	uint64_t hidden = ipc_get_u64(in);
	/* Each message takes at least 10 octets: a size and a one-octet
	 * uid with its NUL.  Offsets must fit an entry's 32 bits. */
	if (in->bad || hidden > SIZE_MAX || in->len > UINT32_MAX ||
	    count > (in->len - in->pos) / 10 ||
	    count > SIZE_MAX / sizeof *l->e)
		return SPOOL_ETEMP;
	sp->hidden_remote = (size_t)hidden;
	if (!(l->e = bigmem_alloc((size_t)count * sizeof *l->e)))
		return SPOOL_ETEMP;
	for (size_t i = 0; i < count; i++) {
		uint64_t size = ipc_get_u64(in);
		size_t at = in->pos;
		(void)ipc_get_str(in, UID_MAX);
		if (in->bad || !spool_uid_valid(in->p + at, in->pos - at - 1))
			return SPOOL_ETEMP;
		l->e[i] = (struct spool_list_entry){ size, (uint32_t)at, false };
		sp->count = i + 1; /* only checked entries are ever read */
	}
	sp->shown = sp->count; /* the monitor has applied the limits */
	return in->pos == in->len ? SPOOL_OK : SPOOL_ETEMP;
}

enum spool_err
spool_remote_open(int channel, const char *user, const char *folder,
                  struct spool **sp_r)
{
	struct ipc_out o;
	unsigned char *buf;
	size_t len;

	*sp_r = NULL;
	ipc_out_init(&o);
	ipc_put_str(&o, user ? user : "");
	ipc_put_u64(&o, folder != NULL);
	ipc_put_str(&o, folder ? folder : "");
	bool sent = ipc_send(channel, PS_OPEN, &o, NULL, 0);
	ipc_out_free(&o);
	if (!sent || !recv_reply(channel, PS_LISTING, &buf, &len))
		return SPOOL_ETEMP;

	struct ipc_in in;
	ipc_in_init(&in, buf, len);
	enum spool_err e = err_code(ipc_get_u64(&in));
	struct spool *sp = NULL;
	if (in.bad)
		e = SPOOL_ETEMP;
	if (e == SPOOL_OK) {
		sp = calloc(1, sizeof *sp);
		if (sp && (sp->path = strdup(folder ? folder : ""))) {
			sp->be = &remote_backend;
			sp->fd = channel;
			e = parse_listing(sp, &in, buf);
			buf = NULL; /* SP's now */
		} else {
			e = SPOOL_ETEMP;
		}
	}
	free(buf);
	if (e != SPOOL_OK) {
		if (sp && sp->path)
			spool_close(sp); /* tells the monitor to let go too */
		else
			free(sp);
		return e;
	}
	*sp_r = sp;
	return SPOOL_OK;
}

/*
 * Asks the monitor for message IDX.  It answers with a descriptor and
 * the message's range in it (PS_DATA_AT), or with the bytes themselves
 * (PS_DATA), which then go to sp->buf and *FD_R is -1.
 */
static enum spool_err
remote_source(struct spool *sp, size_t idx, int *fd_r, uint64_t *off_r,
              uint64_t *len_r)
{
	struct ipc_out o;
	unsigned rtype;
	size_t len;
	unsigned char head[16];
	struct ipc_in in;

	ipc_out_init(&o);
	ipc_put_u64(&o, idx);
	bool sent = ipc_send(sp->fd, PS_READ, &o, NULL, 0);
	ipc_out_free(&o);
	if (!sent || ipc_recv_head(sp->fd, &rtype, &len, PRIVSEP_REPLY_MAX) != 1)
		return SPOOL_ETEMP;
	if (rtype == PS_DATA_AT) {
		if (len != 16 || !ipc_recv_body(sp->fd, head, 16))
			return SPOOL_ETEMP;
		ipc_in_init(&in, head, 16);
		*off_r = ipc_get_u64(&in);
		*len_r = ipc_get_u64(&in);
		*fd_r = ipc_recv_fd(sp->fd);
		if (*fd_r < 0)
			return SPOOL_ETEMP;
		if (*len_r >= SIZE_MAX || *off_r > (uint64_t)INT64_MAX - *len_r) {
			close(*fd_r);
			return SPOOL_ETEMP;
		}
		return SPOOL_OK;
	}
	if (rtype != PS_DATA || len < 8 || !ipc_recv_body(sp->fd, head, 8))
		return SPOOL_ETEMP;
	len -= 8;
	if (!spool_buf_reserve(sp, len) || !ipc_recv_body(sp->fd, sp->buf, len))
		return SPOOL_ETEMP; /* the channel is out of step: unusable */
	ipc_in_init(&in, head, 8);
	enum spool_err e = err_code(ipc_get_u64(&in));
	*fd_r = -1;
	*off_r = 0;
	*len_r = len;
	return e;
}

/* Sends TYPE with OUT and reads the PS_RESULT. */
static enum spool_err
ask(int fd, unsigned type, struct ipc_out *out)
{
	uint64_t code;
	return ipc_call_code(fd, type, out, PS_RESULT, &code) ? err_code(code) : SPOOL_ETEMP;
}

static enum spool_err
remote_commit(struct spool *sp)
{
	struct ipc_out o;
	ipc_out_init(&o);
	for (size_t i = 0; i < sp->count; i++) {
		unsigned char d = sp->list->e[i].deleted;
		ipc_put_bytes(&o, &d, 1);
	}
	enum spool_err e = ask(sp->fd, PS_COMMIT, &o);
	ipc_out_free(&o);
	return e;
}

/* Also after a commit: the monitor has closed then, and answers anyway,
 * so the maildrop is let go before spool_close returns. */
static void
remote_close(struct spool *sp)
{
	(void)ask(sp->fd, PS_CLOSE, NULL);
	sp->fd = -1;
}

/* POP1 shows each message's "From " line: fetched once, on first use.
 * If the monitor cannot say, a neutral one stands in, since a From line
 * of some kind is what separates messages in POP1's mailbox data. */
static void
remote_envelopes(struct spool *sp)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	struct ipc_in in;
	struct spool_list *l = sp->list;
	if (!l->envelopes && !(l->envelopes = calloc(sp->count + 1, sizeof(char *))))
		return; /* spool_envelope shows "" */
	bool got = ipc_send(sp->fd, PS_ENVELOPES, NULL, NULL, 0)
	        && recv_reply(sp->fd, PS_ENVELOPE_LIST, &buf, &len);
	ipc_in_init(&in, buf, len);
	if (!got || ipc_get_u64(&in) != SPOOL_OK || ipc_get_u64(&in) != sp->count)
		in.bad = true;
	for (size_t i = 0; i < sp->count; i++) {
		const char *env = ipc_get_str(&in, len);
		if (!l->envelopes[i])
			l->envelopes[i] = !in.bad ? strdup(env) : spool_envelope_make(NULL, 0);
	}
	free(buf);
}

static const struct spool_backend remote_backend = {
	.name = "remote",
	.source = remote_source,
	.commit = remote_commit,
	.close = remote_close,
	.envelopes = remote_envelopes,
	/* no open (spool_remote_open does it) and no deliver: delivery is
	 * never done by a protocol process */
};
