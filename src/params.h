/*
 * Every limit of postoffice in one place, each with the reason it has the
 * value it has.  Values that operators tune live in the config instead
 * (src/config.h); these are the compiled-in bounds.
 */
#ifndef PARAMS_H
#define PARAMS_H

/*
 * Longest command line we accept, CRLF included.  RFC 1939 §3 allows 40
 * octets per argument, RFC 2449 §4 raises commands to 255 octets, RFC 937
 * p.12 allows 512 for POP2, and RFC 5034 §4 SASL continuation lines carry
 * base64 of up to three 255-octet PLAIN fields.  1024 covers all of them.
 */
#define LINE_MAX_OCTETS 1024

/* Session input and output buffers: big enough that a pipelined batch of
 * commands (RFC 2449 §6.6) and a large RETR go out in few system calls.
 * RETR over loopback ran at a quarter of the speed with 64 KiB writes as
 * with 512 KiB ones, and both 256 KiB and 1 MiB were slower than 512 KiB
 * (docs/performance.md).  Only the pages a session writes become its
 * memory, so an idle session does not pay for the size. */
#define NETIO_INBUF  4096
#define NETIO_OUTBUF (512 * 1024)

/* RFC 1939 §3: an autologout timer must be at least 10 minutes.  Both
 * defaults honour it; operators may shorten the pre-login one. */
#define DEFAULT_TIMEOUT_LOGIN 600
#define DEFAULT_TIMEOUT_IDLE  600

/* A client that stops reading while we write gets this long before the
 * session is dropped; it is separate from the idle timer (PROTOCOLS 3.6).
 * The default of the config key timeout_write. */
#define WRITE_TIMEOUT 600

/* Delay after every failed login, the same for unknown users and wrong
 * passwords so the two cannot be told apart (RFC 1939 §13). */
#define DEFAULT_AUTH_FAIL_DELAY_MS 1000

/* Bad or unknown commands tolerated before the session is closed. */
#define MAX_BAD_COMMANDS 20

/* Failed logins tolerated on one connection before it is closed. */
#define MAX_AUTH_FAILURES 5

/* Sessions at once, in total and from one client address: enough for a
 * busy site, small enough that a flood of idle connections (each a
 * process) cannot exhaust the machine.  Both are config keys. */
#define DEFAULT_MAX_SESSIONS 500
#define DEFAULT_MAX_PER_HOST 50

/* Listeners in one config: far more than any real host needs. */
#define MAX_LISTENERS 32

/* A connection on a "proxy" listener must send its PROXY header this
 * soon: a balancer sends it at once, so only a stray client waits. */
#define PROXY_TIMEOUT_MS 5000

/* PROXY v2: addresses and TLVs after the fixed part.  IPv6 takes 36
 * octets; HAProxy's TLVs (ALPN, authority, unique id, SSL) stay far below
 * 1 KiB.  The spec allows 64 KiB, which a session has no use for. */
#define PROXY_V2_REST_MAX 1024

/* Longest user name; longer ones are refused before any lookup. */
#define USER_MAX 64

/* Longest password or shared secret we handle. */
#define SECRET_MAX 256

/* RFC 1939 §7: a unique-id is 1 to 70 octets in 0x21..0x7E. */
#define UID_MAX 70

/* Retries for a busy mbox lock (dotlock or fcntl) before the operation
 * reports a temporary failure; an MTA appending holds it only briefly. */
#define LOCK_TRIES      10
#define LOCK_RETRY_MS   200

/* A dotlock older than this whose owner cannot be proven alive is stale
 * (Postfix uses 500 s; procmail 17 min): break it. */
#define DOTLOCK_STALE_SECONDS 300

/* Messages a session is shown at most (max_messages): a runaway
 * maildrop of millions then cannot flood a client with a listing it
 * cannot hold (vintage clients count messages in 16 bits), nor fill the
 * protocol process with one 200-octet entry each; the oldest are shown,
 * the rest once those are gone.  The mailbox layer still scans them all.
 * No default for max_maildrop_octets: size costs time, not memory. */
#define DEFAULT_MAX_MESSAGES 250000

#endif
