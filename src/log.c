/* Logging to stderr or syslog; see log.h. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static bool log_syslog;
static int log_facility = LOG_MAIL;
static int log_sock = -1;
static struct sockaddr_un log_sun;
static FILE *log_file; /* NULL: stderr */
static char log_ident[32] = "postoffice";
static char log_tag[128];

void
log_init(const char *ident, bool use_syslog)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	if (use_syslog)
		(void)log_syslog_open(LOG_MAIL, "/dev/log");
}

static bool
syslog_connect(void)
{
	if (log_sock >= 0)
		close(log_sock);
	log_sock = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (log_sock < 0)
		return false;
	/* A program run for XTND XMIT must not inherit it. */
	fcntl(log_sock, F_SETFD, FD_CLOEXEC);
	if (connect(log_sock, (struct sockaddr *)&log_sun, sizeof(log_sun)) != 0) {
		int saved = errno;
		close(log_sock);
		log_sock = -1;
		errno = saved;
		return false;
	}
	return true;
}

bool
log_syslog_open(int facility, const char *path)
{
	memset(&log_sun, 0, sizeof(log_sun));
	log_sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(log_sun.sun_path)) {
		errno = ENAMETOOLONG;
		return false;
	}
	memcpy(log_sun.sun_path, path, strlen(path) + 1);
	log_facility = facility;
	log_syslog = true;
	return syslog_connect();
}

/* Sends the datagram LEN octets at P; a daemon restarted under us
 * breaks the connection: reconnect once. */
static bool
syslog_send(const char *p, size_t len)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((log_sock >= 0 || syslog_connect()) && send(log_sock, p, len, 0) >= 0)
			return true;
		if (log_sock >= 0) {
			close(log_sock);
			log_sock = -1;
		}
	}
	return false;
}

void
log_to(FILE *f)
{
	log_file = f;
}

void
log_set_tag(const char *tag)
{
	snprintf(log_tag, sizeof(log_tag), "%s", tag ? tag : "");
}

/* Room before a line's text for the longest prefix: "<PRI>Mmm dd
 * hh:mm:ss ident[pid]: " for syslog, "YYYY-MM-DDTHH:MM:SS ident[pid] "
 * for stderr. */
#define PREFIX_ROOM (16 + 16 + sizeof(log_ident) + 24)
#define MSG_MAX 1024     /* a message's text, NUL included */
#define SUFFIX_MAX 160   /* log_errno's ": strerror(errno)" */
/* An RFC 3164 datagram is sent whole up to this many octets. */
#define SYSLOG_MAX 1399

/* The prefix for PRIO (-1: stderr's) ending right before TEXT, which
 * is PREFIX_ROOM octets into its buffer; returns where it starts. */
static char *
put_prefix(char *text, int prio)
{
	char stamp[32], pre[PREFIX_ROOM];
	time_t now = time(NULL);
	struct tm tm;
	int n;
	if (prio >= 0) {
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", localtime_r(&now, &tm));
		n = snprintf(pre, sizeof(pre), "<%d>%s %s[%ld]: ", log_facility | prio,
		             stamp, log_ident, (long)getpid());
	} else {
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", gmtime_r(&now, &tm));
		n = snprintf(pre, sizeof(pre), "%s %s[%ld] ", stamp, log_ident,
		             (long)getpid());
	}
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(pre) ? (size_t)n : sizeof(pre) - 1;
	memcpy(text - len, pre, len);
	return text - len;
}

/*
 * The line is put together in one buffer and written with one call, to
 * stderr with write(2) itself.  A session process keeps every page it
 * has written for as long as it lives (docs/performance.md): glibc's
 * fprintf() to an unbuffered stream such as stderr stages its output in
 * 8 KiB of stack, and any stdio call on stderr takes the stream's lock,
 * which lies on a page of libc's data nothing else in a session writes.
 */
static void
log_emit(int prio, const char *fmt, va_list ap, const char *suffix)
{
	char buf[PREFIX_ROOM + sizeof(log_tag) + 2 + MSG_MAX + SUFFIX_MAX + 1];
	char *text = buf + PREFIX_ROOM, *end = buf + sizeof(buf);
	const char *sep = log_tag[0] ? ": " : "";
	char *p = text + snprintf(text, (size_t)(end - text), "%s%s", log_tag, sep);
	int n = vsnprintf(p, MSG_MAX, fmt, ap);
	char *msg_end = n < 0 ? p : p + ((size_t)n < MSG_MAX ? (size_t)n : MSG_MAX - 1);
	*msg_end = '\0';
	/* Control characters from clients never reach the log verbatim. */
	for (; p < msg_end; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	n = snprintf(p, SUFFIX_MAX, "%s", suffix);
	p += n < 0 ? 0 : (size_t)n < SUFFIX_MAX ? (size_t)n : SUFFIX_MAX - 1;
	if (log_syslog) {
		char *start = put_prefix(text, prio);
		size_t len = (size_t)(p - start);
		if (syslog_send(start, len < SYSLOG_MAX ? len : SYSLOG_MAX))
			return;
		/* No syslog daemon: the line goes to stderr rather than nowhere. */
	}
	char *start = put_prefix(text, -1);
	*p++ = '\n';
	size_t len = (size_t)(p - start);
	if (log_file) {
		fwrite(start, 1, len, log_file);
		return;
	}
	while (len > 0) {
		ssize_t w = write(STDERR_FILENO, start, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		start += w;
		len -= (size_t)w;
	}
}

void
log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_INFO, fmt, ap, "");
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_WARNING, fmt, ap, "");
	va_end(ap);
}

void
log_errno(const char *fmt, ...)
{
	char suffix[SUFFIX_MAX];
	snprintf(suffix, sizeof(suffix), ": %s", strerror(errno));
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_WARNING, fmt, ap, suffix);
	va_end(ap);
}
