/*
 * postoffice fetch over POP3 (RFC 1939): greeting, USER/PASS or APOP
 * (§7), STAT (§5), then for each message RETR, store, DELE (unless
 * --keep), and QUIT (§6), when the server removes what was DELEted.
 * A message is DELEted only after it is stored and fsync'ed; after a
 * failure QUIT still lets the server remove those, which are safe here.
 */
#include "fetch.h"

#include <stdio.h>
#include <string.h>

#include "md5.h"

static int
expect_ok(struct fetch *f, char *line, size_t cap, const char *what)
{
	int r = fetch_reply(f, line, cap);
	if (r)
		return r;
	if (!fetch_positive(f, line))
		return fetch_fail(FETCH_EXIT_PROTOCOL, "%s: the server answered '%s'",
		                  what, line);
	return 0;
}

/* §7 APOP: the digest of the greeting's <timestamp> and the secret. */
static int
login_apop(struct fetch *f, const char *greeting)
{
	char line[LINE_MAX_OCTETS], hex[33];
	const char *lt = strchr(greeting, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (!gt)
		return fetch_fail(FETCH_EXIT_AUTH, "--apop: the greeting has no "
		                  "<timestamp>; this server does not offer APOP");
	size_t tlen = (size_t)(gt - lt) + 1;
	struct md5 m;
	unsigned char d[16];
	md5_init(&m);
	md5_update(&m, lt, tlen);
	md5_update(&m, f->password, strlen(f->password));
	md5_final(&m, d);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	bool sent = fetch_send(f, 2, "APOP %s %s", f->user, hex);
	memset(hex, 0, sizeof hex);
	if (!sent)
		return fetch_fail(FETCH_EXIT_CONNECT, "the connection failed");
	int r = fetch_reply(f, line, sizeof line);
	if (!r && !fetch_positive(f, line)) {
		fetch_quit(f);
		return fetch_fail(FETCH_EXIT_AUTH, "login refused: %s", line);
	}
	return r;
}

/* RETR N, its multi-line block stored, then DELE N unless --keep. */
static int
fetch_one(struct fetch *f, unsigned long n, struct fetch_buf *b)
{
	char line[LINE_MAX_OCTETS], label[48];
	if (!fetch_send(f, 0, "RETR %lu", n))
		return fetch_fail(FETCH_EXIT_CONNECT, "the connection failed");
	int r = expect_ok(f, line, sizeof line, "RETR");
	if (r)
		return r;
	uint64_t wire = 0;
	size_t lines = 0;
	bool end = false;
	b->len = 0;
	while (!end) {
		if ((r = fetch_data_line(f, b, &wire, &end)))
			return r;
		lines += !end;
	}
	snprintf(label, sizeof label, "message %lu", n);
	fetch_trace_line(f, "S: <%s: %llu octets, %zu lines>", label,
	                 (unsigned long long)wire, lines);
	fetch_trace_line(f, "S: .");
	if ((r = fetch_store(f, NULL, b->p, b->len, wire)))
		return r;
	if (f->keep)
		return 0;
	if (!fetch_send(f, 0, "DELE %lu", n))
		return fetch_fail(FETCH_EXIT_CONNECT, "the connection failed");
	return expect_ok(f, line, sizeof line, "DELE");
}

int
fetch_pop3(struct fetch *f)
{
	char line[LINE_MAX_OCTETS];
	int r = expect_ok(f, line, sizeof line, "greeting");
	if (r)
		return r;
	if ((r = f->apop ? login_apop(f, line) : fetch_login(f)))
		return r;

	unsigned long count;
	if (!fetch_send(f, 0, "STAT"))
		return fetch_fail(FETCH_EXIT_CONNECT, "the connection failed");
	if ((r = expect_ok(f, line, sizeof line, "STAT")))
		return r;
	if (line[3] != ' ' || line[4] < '0' || line[4] > '9' ||
	    sscanf(line, "+OK %lu", &count) != 1)
		return fetch_fail(FETCH_EXIT_PROTOCOL, "STAT: no message count in '%s'", line);
	fetch_trace_line(f, "-- %lu message%s to fetch", count, count == 1 ? "" : "s");

	struct fetch_buf b = { 0 };
	for (unsigned long n = 1; n <= count && !r; n++)
		r = fetch_one(f, n, &b);
	fetch_buf_free(&b);
	if (r) {
		fetch_quit(f);
		return r;
	}
	return fetch_goodbye(f);
}
