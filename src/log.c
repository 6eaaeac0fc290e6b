/* Logging to stderr or syslog; see log.h. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static bool log_syslog;
static FILE *log_file; /* NULL: stderr */
static char log_ident[32] = "postoffice";
static char log_tag[128];

void
log_init(const char *ident, bool use_syslog)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
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
		syslog(prio, "%s%s%s%s", log_tag, sep, msg, suffix);
		return;
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
