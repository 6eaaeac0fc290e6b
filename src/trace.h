/*
 * The protocol trace (`postoffice serve --trace`, config keys trace and
 * trace_bodies): one session's conversation as a class would read it.
 *
 *   S: +OK POP3 postoffice ready <...>
 *   C: USER demo                       [RFC 1939 §7 USER, AUTHORIZATION]
 *   S: +OK demo
 *   C: PASS ********                   [RFC 1939 §7 PASS, AUTHORIZATION]
 *   -- AUTHORIZATION -> TRANSACTION
 *   S: +OK 4 messages
 *   C: RETR 1                          [RFC 1939 §5 RETR, TRANSACTION]
 *   S: +OK 320 octets
 *   S: <message 1: 320 octets, 9 lines>
 *   S: .
 *
 * Every client line carries the dispatch row it selects: the reference and
 * the state it arrived in (or "not valid in STATE", or "unknown command"),
 * so the annotation sits next to what the client said, even when the reply
 * is several lines or none.
 *
 * Hooks, not copies: netio.c reports every line read and every octet
 * written, the front-ends report their table, state changes and where a
 * message body starts and ends.  A client line is held until the next
 * event, so port 109's first line is masked with the table it selects.
 *
 * Secrets: the argument a row flagged DISPATCH_SECRET ends with (PASS,
 * the APOP digest, the AUTH initial response, the POP2 HELO password) and
 * every POP3 line answering a "+ " SASL challenge are written "********".
 * The trace writes to its own descriptor (stderr, or a file of its own),
 * never to the client's; stderr is refused when it is the connection
 * itself, as it can be under inetd.
 */
#ifndef TRACE_H
#define TRACE_H

#include <stdbool.h>
#include <stddef.h>

#include "dispatch.h"

struct trace;

/*
 * The trace for a session on (RFD, WFD): WHERE is the config's trace
 * value, "stderr" or a folder for one file per session ("" = off), BODIES
 * its trace_bodies.  NULL when tracing is off or cannot be done (logged).
 * PROTO names the listener ("pop3", "port109") until a table is set.
 */
struct trace *trace_open(const char *where, bool bodies, const char *proto,
                         const char *peer, int rfd, int wfd);

/* A trace onto FD (not closed by trace_close); PREFIX starts every line,
 * "" for none.  For tests and for trace_open. */
struct trace *trace_open_fd(int fd, bool bodies, const char *prefix);

/* Writes what is still held, "-- end: HOW", frees T (NULL is fine). */
void trace_close(struct trace *t, const char *how);

/* The front-end's table and the state it starts in (0: none yet). */
void trace_set_table(struct trace *t, const struct dispatch_table *table,
                     unsigned state);

/* Writes out the client line held and any server line begun: for a
 * session about to be handed to another process (src/privsep.h). */
void trace_flush(struct trace *t);

/* The other process's side: it goes on with TABLE in STATE, silently,
 * from where trace_flush left the file. */
void trace_resume(struct trace *t, const struct dispatch_table *table,
                  unsigned state);

/* A state change, "-- OLD -> NEW" with the table's names. */
void trace_state(struct trace *t, unsigned state);

/* A line read from the client (LEN octets, may hold NULs). */
void trace_client(struct trace *t, const char *line, size_t len);

/* A client line over the limit, discarded unread. */
void trace_client_toolong(struct trace *t);

/* Octets written to the client. */
void trace_server(struct trace *t, const void *data, size_t len);

/* What the server writes from here to trace_body_end is message data:
 * summarised as one "S: <LABEL: n octets, m lines>" unless bodies were
 * asked for in full. */
void trace_body_begin(struct trace *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void trace_body_end(struct trace *t);

#endif
