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
void log_set_tag(const char *tag);

/* Sends the non-syslog lines to F instead of stderr (the fuzzers keep
 * stderr for their own reports). */
void log_to(FILE *f);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn with ": strerror(errno)" appended. */
void log_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
