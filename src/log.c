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

/* One RFC 3164 datagram: "<PRI>Mmm dd hh:mm:ss ident[pid]: line".  A
 * daemon restarted under us breaks the connection: reconnect once. */
static bool
syslog_send(int prio, const char *line)
{
	char buf[1400], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", localtime_r(&now, &tm));
	int n = snprintf(buf, sizeof(buf), "<%d>%s %s[%ld]: %s", log_facility | prio, stamp,
	                 log_ident, (long)getpid(), line);
	if (n < 0)
		return false;
	size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((log_sock >= 0 || syslog_connect()) && send(log_sock, buf, len, 0) >= 0)
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

static void
log_emit(int prio, const char *fmt, va_list ap, const char *suffix)
{
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Control characters from clients never reach the log verbatim. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	const char *sep = log_tag[0] ? ": " : "";
	if (log_syslog) {
		char line[1400];
		snprintf(line, sizeof(line), "%s%s%s%s", log_tag, sep, msg, suffix);
		if (syslog_send(prio, line))
			return;
		/* No syslog daemon: the line goes to stderr rather than nowhere. */
	}
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", gmtime_r(&now, &tm));
	fprintf(log_file ? log_file : stderr, "%s %s[%ld] %s%s%s%s\n", stamp, log_ident, (long)getpid(),
	        log_tag, sep, msg, suffix);
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
	char suffix[160];
	snprintf(suffix, sizeof(suffix), ": %s", strerror(errno));
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_WARNING, fmt, ap, suffix);
	va_end(ap);
}
