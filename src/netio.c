/* Session I/O; the rules (line ends, limits, timers) are in netio.h. */
#include "netio.h"
#include "trace.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t netio_stop_requested;

void
netio_init(struct netio *io, int rfd, int wfd)
{
	io->rfd = rfd;
	io->wfd = wfd;
	fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK);
	fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
	io->failed = false;
	io->trace = NULL;
	io->skip_lf = false;
	io->in_start = io->in_end = io->out_len = 0;
	io->octets_in = io->octets_out = 0;
	io->idle_timeout = 0;
	io->write_timeout = WRITE_TIMEOUT;
	io->watch_fd = -1;
}

/* Waits for FD to be ready for EVENTS; 1 ready, 0 timed out, -1 stopped
 * or failed.  A timeout of 0 seconds waits forever.  WATCH (-1: none)
 * stops the wait when anything happens on it (netio.h). */
static int
wait_fd(int fd, short events, int seconds, int watch)
{
	struct pollfd p[2] = { { .fd = fd, .events = events },
	                       { .fd = watch, .events = POLLIN } };
	for (;;) {
		if (netio_stop_requested)
			return -1;
		int n = poll(p, watch >= 0 ? 2 : 1, seconds > 0 ? seconds * 1000 : -1);
		if (n > 0 && watch >= 0 && p[1].revents) {
			netio_stop_requested = 1;
			return -1;
		}
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

bool
netio_flush(struct netio *io)
{
	size_t done = 0;
	while (!io->failed && done < io->out_len) {
		ssize_t n = write(io->wfd, io->out + done, io->out_len - done);
		if (n > 0) {
			done += (size_t)n;
			io->octets_out += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR && !netio_stop_requested)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
		    && wait_fd(io->wfd, POLLOUT, io->write_timeout, -1) == 1)
			continue;
		io->failed = true;
	}
	io->out_len = 0;
	return !io->failed;
}

void
netio_write(struct netio *io, const void *data, size_t len)
{
	const unsigned char *p = data;
	if (!io->failed)
		trace_server(io->trace, data, len);
	while (len > 0 && !io->failed) {
		if (io->out_len == sizeof(io->out))
			netio_flush(io);
		size_t room = sizeof(io->out) - io->out_len;
		size_t n = len < room ? len : room;
		memcpy(io->out + io->out_len, p, n);
		io->out_len += n;
		p += n;
		len -= n;
	}
}

/* Where the next output octets go, and how many fit (at least one: a full
 * buffer is flushed first); NULL once output has failed. */
static unsigned char *
reserve(struct netio *io, size_t *room_r)
{
	if (!io->failed && io->out_len == sizeof(io->out))
		netio_flush(io);
	if (io->failed)
		return NULL;
	*room_r = sizeof(io->out) - io->out_len;
	return io->out + io->out_len;
}

uint64_t
netio_write_wire(struct netio *io, struct wire_out *w)
{
	unsigned char *buf;
	size_t room, n;
	uint64_t octets = 0;

	while ((buf = reserve(io, &room)) && (n = wire_out_fill(w, buf, room)) > 0) {
		trace_server(io->trace, buf, n);
		io->out_len += n;
		octets += n;
	}
	return octets;
}

void
netio_puts(struct netio *io, const char *s)
{
	netio_write(io, s, strlen(s));
}

void
netio_printf(struct netio *io, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	netio_write(io, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Drops a LF that belongs to a CR line end seen earlier. */
static void
skip_pending_lf(struct netio *io)
{
	if (io->skip_lf && io->in_start < io->in_end) {
		if (io->in[io->in_start] == '\n')
			io->in_start++;
		io->skip_lf = false;
	}
}

/* Offset of the first line end (CR or LF) in the buffered input, or -1. */
static long
find_eol(const struct netio *io)
{
	for (size_t i = io->in_start; i < io->in_end; i++)
		if (io->in[i] == '\n' || io->in[i] == '\r')
			return (long)i;
	return -1;
}

bool
netio_line_pending(const struct netio *io)
{
	return find_eol(io) >= 0;
}

void
netio_discard_input(struct netio *io)
{
	io->in_start = io->in_end = 0;
}

/* Reads more input into the buffer; returns NETIO_LINE on progress. */
static enum netio_status
fill(struct netio *io)
{
	if (io->in_start > 0) {
		memmove(io->in, io->in + io->in_start, io->in_end - io->in_start);
		io->in_end -= io->in_start;
		io->in_start = 0;
	}
	if (!netio_flush(io))
		return NETIO_ERROR;
	int w = wait_fd(io->rfd, POLLIN, io->idle_timeout, io->watch_fd);
	if (w == 0)
		return NETIO_TIMEOUT;
	if (w < 0)
		return netio_stop_requested ? NETIO_STOPPED : NETIO_ERROR;
	ssize_t n;
	do
		n = read(io->rfd, io->in + io->in_end, sizeof(io->in) - io->in_end);
	while (n < 0 && errno == EINTR && !netio_stop_requested);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return NETIO_LINE; /* spurious wake-up: poll again */
	if (n == 0)
		return NETIO_EOF;
	if (n < 0)
		return netio_stop_requested ? NETIO_STOPPED : NETIO_ERROR;
	io->in_end += (size_t)n;
	io->octets_in += (uint64_t)n;
	return NETIO_LINE;
}

enum netio_status
netio_read_line(struct netio *io, char *buf, size_t cap, size_t *len_r)
{
	size_t len = 0;
	bool toolong = false;

	/* Output that could not be delivered (a write timeout, a reset) ends
	 * the session: commands the client pipelined behind it, a QUIT among
	 * them, must not be acted on when no reply can reach the client. */
	if (io->failed)
		return NETIO_ERROR;
	for (;;) {
		skip_pending_lf(io);
		long eol = find_eol(io);
		size_t upto = eol >= 0 ? (size_t)eol : io->in_end;
		size_t n = upto - io->in_start;

		/* Copy what fits; an overlong line is consumed, not kept. */
		if (!toolong && len + n < cap) {
			memcpy(buf + len, io->in + io->in_start, n);
			len += n;
		} else {
			toolong = true;
		}
		io->in_start = upto;

		if (eol >= 0) {
			if (io->in[eol] == '\r')
				io->skip_lf = true;
			io->in_start = (size_t)eol + 1;
			skip_pending_lf(io);
			if (toolong) {
				trace_client_toolong(io->trace);
				return NETIO_TOOLONG;
			}
			buf[len] = '\0';
			*len_r = len;
			trace_client(io->trace, buf, len);
			return NETIO_LINE;
		}
		enum netio_status st = fill(io);
		if (st != NETIO_LINE)
			return st;
	}
}

enum netio_status
netio_read_raw(struct netio *io, void *buf, size_t cap, size_t *len_r)
{
	for (;;) {
		skip_pending_lf(io);
		if (io->in_start < io->in_end) {
			size_t n = io->in_end - io->in_start;
			if (n > cap)
				n = cap;
			memcpy(buf, io->in + io->in_start, n);
			io->in_start += n;
			*len_r = n;
			return NETIO_LINE;
		}
		enum netio_status st = fill(io);
		if (st != NETIO_LINE)
			return st;
	}
}

void
netio_pending_input(const struct netio *io, const unsigned char **p_r,
                    size_t *len_r, bool *skip_lf_r)
{
	*p_r = io->in + io->in_start;
	*len_r = io->in_end - io->in_start;
	*skip_lf_r = io->skip_lf;
}

void
netio_resume(struct netio *io, uint64_t octets_in, uint64_t octets_out,
             const void *pending, size_t len, bool skip_lf)
{
	if (len > sizeof(io->in))
		len = sizeof(io->in);
	/* The monitor decodes a takeover's input into io->in itself. */
	memmove(io->in, pending, len);
	io->in_start = 0;
	io->in_end = len;
	io->skip_lf = skip_lf;
	io->octets_in = octets_in;
	io->octets_out = octets_out;
}
