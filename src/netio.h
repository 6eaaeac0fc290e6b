/*
 * Session I/O: a bounded line reader and a buffered writer over a pair of
 * file descriptors (a socket, or stdin/stdout under inetd).
 *
 * Reading: lines end at LF, CRLF or a bare CR (classic Mac OS clients); an
 * LF right after a CR that ended a line is skipped, even when it arrives in
 * a later packet.  A line longer than the caller's buffer is consumed to its
 * end and reported once as NETIO_TOOLONG; its tail is never executed.
 * Output is flushed only before the reader would block, so a pipelined
 * batch of commands (RFC 2449 §6.6) is answered in one write.
 *
 * Timeouts: the idle timer covers waiting for the client's next line; the
 * write timer covers a client that stops reading.  Both are poll() based,
 * so the descriptors must be non-blocking (netio_init makes them so);
 * otherwise a client that stops reading would block a write forever.
 * A SIGTERM sets netio_stop_requested and ends the session at the next
 * wait with NETIO_STOPPED; so does anything arriving on watch_fd while
 * waiting for the client (a split protocol process watches its monitor's
 * channel, on which nothing comes unasked: only the monitor's end).
 */
#ifndef NETIO_H
#define NETIO_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "params.h"

struct trace; /* trace.h: told every line read and every octet written */
struct wire_out; /* wire.h: a message being converted to its sent form */

extern volatile sig_atomic_t netio_stop_requested;

enum netio_status {
	NETIO_LINE = 0,   /* a complete line is in the caller's buffer */
	NETIO_TOOLONG,    /* a line over the limit was read and discarded */
	NETIO_EOF,        /* the client closed the connection */
	NETIO_TIMEOUT,    /* idle timer expired */
	NETIO_ERROR,      /* read or write failed, or the write timer expired */
	NETIO_STOPPED,    /* SIGTERM */
};

struct netio {
	int rfd, wfd;
	int idle_timeout;   /* seconds; 0 = none */
	int write_timeout;  /* seconds; 0 = none */
	int watch_fd;       /* -1, or a descriptor whose activity stops the session */
	bool failed;        /* a write failed: later writes are dropped */
	struct trace *trace; /* NULL: no protocol trace */
	bool skip_lf;       /* the last line ended with a bare CR */
	size_t in_start, in_end, out_len;
	uint64_t octets_in, octets_out;
	unsigned char in[NETIO_INBUF];
	unsigned char out[NETIO_OUTBUF];
};

void netio_init(struct netio *io, int rfd, int wfd);

/*
 * Reads one line into BUF (at most CAP - 1 octets, NUL-terminated; the
 * line may itself contain NUL octets, so use *len_r).  Flushes pending
 * output first if no complete line is buffered.
 */
enum netio_status netio_read_line(struct netio *io, char *buf, size_t cap,
                                  size_t *len_r);

/*
 * Up to CAP raw octets of input into BUF, waiting (idle timer) only when
 * nothing is buffered: for counted message data (RFC 918 RCEV, RFC 937
 * RETR) and for readers that split lines themselves (postoffice fetch
 * splits POP3 data at LF only, so a bare CR stays data).  The LF of a
 * CRLF that ended the last line read is not returned.
 */
enum netio_status netio_read_raw(struct netio *io, void *buf, size_t cap,
                                 size_t *len_r);

/* True if a complete line is already buffered (no need to flush yet). */
bool netio_line_pending(const struct netio *io);

/* Buffered output; errors are sticky and reported by netio_flush. */
void netio_write(struct netio *io, const void *data, size_t len);
void netio_puts(struct netio *io, const char *s);
void netio_printf(struct netio *io, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Message data: the sent form W produces (spool/wire.h), converted
 * straight into the output buffer rather than handed over a line at a
 * time.  Returns the octets buffered; it stops early once output has
 * failed, leaving the rest in W.
 */
uint64_t netio_write_wire(struct netio *io, struct wire_out *w);

/* Writes out everything buffered; false if the client is gone. */
bool netio_flush(struct netio *io);

/* Drops whatever input is buffered (used before a close). */
void netio_discard_input(struct netio *io);

/* A session handed to another process (src/privsep.h): the input read
 * but not yet parsed (at most NETIO_INBUF octets) and the skip_lf flag
 * here; netio_resume makes a fresh IO go on from them and the octet
 * counters.  Output must have been flushed. */
void netio_pending_input(const struct netio *io, const unsigned char **p_r,
                         size_t *len_r, bool *skip_lf_r);
void netio_resume(struct netio *io, uint64_t octets_in, uint64_t octets_out,
                  const void *pending, size_t len, bool skip_lf);

#endif
