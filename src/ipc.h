/*
 * Messages between a session's protocol process and its monitor
 * (src/privsep.h) over a stream socket pair.  A message is a 4-octet
 * length (network order, counting what follows), a 1-octet type, then
 * the payload: numbers as 8 octets in network order, strings with their
 * NUL.  Calls block and move whole messages; EINTR is retried.
 *
 * The monitor trusts nothing a protocol process sends: every reader here
 * checks bounds, and a short or malformed message only sets the reader's
 * bad flag.
 */
#ifndef IPC_H
#define IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Growing buffer for one message's payload. */
struct ipc_out {
	unsigned char *p;
	size_t len, cap;
	bool failed;            /* out of memory: do not send */
};

void ipc_out_init(struct ipc_out *o);
void ipc_out_free(struct ipc_out *o);
void ipc_put_u64(struct ipc_out *o, uint64_t v);
void ipc_put_str(struct ipc_out *o, const char *s);
void ipc_put_bytes(struct ipc_out *o, const void *p, size_t len);

/* Reader over a received payload. */
struct ipc_in {
	const unsigned char *p;
	size_t len, pos;
	bool bad;               /* read past the end, or a string without NUL */
};

void ipc_in_init(struct ipc_in *in, const unsigned char *p, size_t len);
uint64_t ipc_get_u64(struct ipc_in *in);
/* The next string, at most MAX octets before its NUL; "" when bad. */
const char *ipc_get_str(struct ipc_in *in, size_t max);

/* Sends TYPE with PAYLOAD (may be NULL) followed by TAIL (may be NULL):
 * the tail lets a large block go out without being copied.  False on a
 * write error (the peer is gone). */
bool ipc_send(int fd, unsigned type, const struct ipc_out *payload,
              const void *tail, size_t tail_len);

/* A message sent in pieces, for a payload too large to build whole
 * first (a 100,000-message listing: megabytes of fresh memory): the
 * head announces LEN octets of payload, then each ipc_send_part sends
 * what O holds and empties it for the next piece.  The pieces must add
 * up to exactly LEN, which the caller counts; after a false return the
 * channel is out of step and must be given up. */
bool ipc_send_head(int fd, unsigned type, size_t len);
bool ipc_send_part(int fd, struct ipc_out *o);

/* Reads one message's type and length; 1 done, 0 end of file before the
 * first octet, -1 on an error, a short header or a length over MAX. */
int ipc_recv_head(int fd, unsigned *type_r, size_t *len_r, size_t max);

/* Reads exactly LEN octets of payload into BUF; false on error or EOF. */
bool ipc_recv_body(int fd, void *buf, size_t len);

/* One round trip whose reply is a single number: sends TYPE with
 * PAYLOAD (may be NULL), then reads a reply of type WANT holding exactly
 * one number into *CODE_R.  False on any error or other reply. */
bool ipc_call_code(int fd, unsigned type, const struct ipc_out *payload,
                   unsigned want, uint64_t *code_r);

/* Passes descriptor PASS (SCM_RIGHTS) with one octet; the receiver
 * takes it with ipc_recv_fd right after the message it belongs to. */
bool ipc_send_fd(int fd, int pass);

/* The descriptor ipc_send_fd sent, or -1. */
int ipc_recv_fd(int fd);

#endif
