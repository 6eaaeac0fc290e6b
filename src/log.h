/*
 * Logging: to stderr (foreground daemon, inetd with stderr captured) or
 * syslog.  Every line of a session carries its tag ("pop3 127.0.0.1:5423").
 * Secrets are never passed to these functions.
 */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>
#include <stdio.h>

void log_init(const char *ident, bool use_syslog);

/*
 * Sends every later line to the syslog daemon's datagram socket PATH
 * (/dev/log on Linux) with FACILITY (LOG_MAIL, ...), in the RFC 3164 form
 * that syslog(3) writes.  The client is our own so the socket can be
 * named (a chroot, another OS, a test).  False, with errno, if it cannot
 * connect now; lines are then retried and, failing that, go to stderr.
 */
bool log_syslog_open(int facility, const char *path);
void log_set_tag(const char *tag);

/* Sends the non-syslog lines to F instead of stderr (the fuzzers keep
 * stderr for their own reports). */
void log_to(FILE *f);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn with ": strerror(errno)" appended. */
void log_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
