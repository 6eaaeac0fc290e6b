/* Framed messages over a socket pair; the format is in ipc.h. */
#include "ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

void
ipc_out_init(struct ipc_out *o)
{
	memset(o, 0, sizeof(*o));
}

void
ipc_out_free(struct ipc_out *o)
{
	free(o->p);
	memset(o, 0, sizeof(*o));
}

static bool
reserve(struct ipc_out *o, size_t more)
{
	if (o->failed)
		return false;
	if (more <= o->cap - o->len)
		return true;
	size_t cap = o->cap ? o->cap : 256;
	while (cap - o->len < more) {
		if (cap > SIZE_MAX / 2) {
			o->failed = true;
			return false;
		}
		cap *= 2;
	}
	unsigned char *p = realloc(o->p, cap);
	if (!p) {
		o->failed = true;
		return false;
	}
	o->p = p;
	o->cap = cap;
	return true;
}

void
ipc_put_bytes(struct ipc_out *o, const void *p, size_t len)
{
	if (len && reserve(o, len)) {
		memcpy(o->p + o->len, p, len);
		o->len += len;
	}
}

void
ipc_put_u64(struct ipc_out *o, uint64_t v)
{
	unsigned char b[8];
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (unsigned char)(v & 0xff);
	ipc_put_bytes(o, b, sizeof(b));
}

void
ipc_put_str(struct ipc_out *o, const char *s)
{
	ipc_put_bytes(o, s, strlen(s) + 1);
}

void
ipc_in_init(struct ipc_in *in, const unsigned char *p, size_t len)
{
	in->p = p;
	in->len = len;
	in->pos = 0;
	in->bad = false;
}

uint64_t
ipc_get_u64(struct ipc_in *in)
{
	uint64_t v = 0;
	if (in->bad || in->len - in->pos < 8) {
		in->bad = true;
		return 0;
	}
	for (int i = 0; i < 8; i++)
		v = v << 8 | in->p[in->pos + (size_t)i];
	in->pos += 8;
	return v;
}

const char *
ipc_get_str(struct ipc_in *in, size_t max)
{
	if (in->bad)
		return "";
	size_t room = in->len - in->pos;
	const unsigned char *nul = memchr(in->p + in->pos, '\0', room < max + 1 ? room : max + 1);
	if (!nul) {
		in->bad = true;
		return "";
	}
	const char *s = (const char *)(in->p + in->pos);
	in->pos = (size_t)(nul - in->p) + 1;
	return s;
}

/* Writes every iovec whole, resuming after short writes. */
static bool
write_all_v(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		size_t left = (size_t)w;
		while (n > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return true;
}

/* The 5-octet head of a message of TYPE with PLEN octets of payload;
 * false if that is more than a message can hold. */
static bool
make_head(unsigned char head[5], unsigned type, size_t plen)
{
	if (plen > UINT32_MAX - 1)
		return false;
	uint32_t len = (uint32_t)(plen + 1);
	head[0] = (unsigned char)(len >> 24);
	head[1] = (unsigned char)(len >> 16);
	head[2] = (unsigned char)(len >> 8);
	head[3] = (unsigned char)len;
	head[4] = (unsigned char)type;
	return true;
}

bool
ipc_send(int fd, unsigned type, const struct ipc_out *payload,
         const void *tail, size_t tail_len)
{
	size_t plen = payload ? payload->len : 0;
	unsigned char head[5];
	if ((payload && payload->failed) || plen + tail_len < plen
	    || !make_head(head, type, plen + tail_len))
		return false;
	struct iovec iov[3] = {
		{ head, sizeof(head) },
		{ payload ? payload->p : NULL, plen },
		{ (void *)(uintptr_t)tail, tail_len },
	};
	return write_all_v(fd, iov, 3);
}

bool
ipc_send_head(int fd, unsigned type, size_t len)
{
	unsigned char head[5];
	struct iovec iov = { head, sizeof(head) };
	return make_head(head, type, len) && write_all_v(fd, &iov, 1);
}

bool
ipc_send_part(int fd, struct ipc_out *o)
{
	struct iovec iov = { o->p, o->len };
	if (o->failed || (o->len && !write_all_v(fd, &iov, 1)))
		return false;
	o->len = 0; /* the buffer stays, for the next piece */
	return true;
}

bool
ipc_recv_body(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

int
ipc_recv_head(int fd, unsigned *type_r, size_t *len_r, size_t max)
{
	unsigned char head[5];
	ssize_t n;
	do
		n = read(fd, head, 1);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n < 0 || !ipc_recv_body(fd, head + 1, sizeof(head) - 1))
		return -1;
	uint32_t len = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16
	             | (uint32_t)head[2] << 8 | head[3];
	if (len < 1 || len - 1 > max)
		return -1;
	*type_r = head[4];
	*len_r = len - 1;
	return 1;
}

bool
ipc_call_code(int fd, unsigned type, const struct ipc_out *payload,
              unsigned want, uint64_t *code_r)
{
	unsigned rtype;
	size_t len;
	unsigned char body[8];
	if (!ipc_send(fd, type, payload, NULL, 0)
	    || ipc_recv_head(fd, &rtype, &len, sizeof(body)) != 1
	    || rtype != want || len != sizeof(body) || !ipc_recv_body(fd, body, len))
		return false;
	struct ipc_in in;
	ipc_in_init(&in, body, len);
	*code_r = ipc_get_u64(&in);
	return true;
}

/* Room for one descriptor in a control message, aligned as cmsg needs. */
union fd_cmsg {
	struct cmsghdr h;
	unsigned char buf[CMSG_SPACE(sizeof(int))];
};

bool
ipc_send_fd(int fd, int pass)
{
	union fd_cmsg c;
	struct iovec iov = { (void *)(uintptr_t)"F", 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
	                    .msg_control = c.buf, .msg_controllen = sizeof(c.buf) };
	memset(c.buf, 0, sizeof(c.buf));
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &pass, sizeof(int));
	ssize_t n;
	do
		n = sendmsg(fd, &m, 0);
	while (n < 0 && errno == EINTR);
	return n == 1;
}

int
ipc_recv_fd(int fd)
{
	union fd_cmsg c;
	char one;
	struct iovec iov = { &one, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
	                    .msg_control = c.buf, .msg_controllen = sizeof(c.buf) };
	ssize_t n;
	do
		n = recvmsg(fd, &m, 0);
	while (n < 0 && errno == EINTR);
	struct cmsghdr *h = n == 1 ? CMSG_FIRSTHDR(&m) : NULL;
	int got = -1;
	if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS
	    && h->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&got, CMSG_DATA(h), sizeof(int));
	return got;
}
