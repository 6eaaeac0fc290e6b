/*
 * The protocol trace against the real tables: secrets masked (PASS, APOP,
 * AUTH initial responses and SASL continuations, POP2 HELO with RFC 937
 * quoting, POP1 PASS), message data summarised or in full, annotations
 * from the dispatch rows, state lines, and escaping of control octets.
 * Each test traces into a temporary file and reads it back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pop1.h"
#include "pop2.h"
#include "pop3.h"
#include "trace.h"

struct fx {
	int fd;
	char path[64];
	struct trace *t;
	char out[16384];
};

static int
setup_with(void **state, bool bodies)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "/tmp/test_trace.XXXXXX");
	f->fd = mkstemp(f->path);
	assert_true(f->fd >= 0);
	f->t = trace_open_fd(f->fd, bodies, NULL);
	assert_non_null(f->t);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_with(state, false);
}

static int
setup_full(void **state)
{
	return setup_with(state, true);
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	if (f->t)
		trace_close(f->t, "test");
	close(f->fd);
	unlink(f->path);
	free(f);
	return 0;
}

/* Closes the trace and returns everything it wrote. */
static const char *
finish(struct fx *f)
{
	trace_close(f->t, "test");
	f->t = NULL;
	ssize_t n = pread(f->fd, f->out, sizeof(f->out) - 1, 0);
	assert_true(n >= 0);
	f->out[n] = '\0';
	return f->out;
}

static void
client(struct fx *f, const char *line)
{
	trace_client(f->t, line, strlen(line));
}

static void
server(struct fx *f, const char *text)
{
	trace_server(f->t, text, strlen(text));
}

static void
pop3_login(struct fx *f)
{
	trace_set_table(f->t, &pop3_table, 0);
	trace_state(f->t, POP3_AUTHORIZATION);
	server(f, "+OK POP3 ready <1.2@host>\r\n");
}

static void
test_pass_masked(void **state)
{
	struct fx *f = *state;
	pop3_login(f);
	client(f, "USER demo");
	server(f, "+OK demo\r\n");
	client(f, "PASS my secret words");
	trace_state(f->t, POP3_TRANSACTION);
	server(f, "+OK logged in\r\n");
	const char *out = finish(f);
	assert_non_null(strstr(out, "C: USER demo"));
	assert_non_null(strstr(out, "C: PASS ********"));
	assert_null(strstr(out, "secret"));
	assert_null(strstr(out, "words"));
	assert_non_null(strstr(out, "[RFC 1939 §7 PASS, AUTHORIZATION]"));
	assert_non_null(strstr(out, "-- AUTHORIZATION -> TRANSACTION"));
	/* The command comes before the state change it causes. */
	assert_true(strstr(out, "C: PASS") < strstr(out, "-- AUTHORIZATION -> TRANS"));
}

static void
test_apop_and_sasl_masked(void **state)
{
	struct fx *f = *state;
	pop3_login(f);
	client(f, "APOP demo 0123456789abcdef0123456789abcdef");
	server(f, "-ERR [AUTH] no\r\n");
	client(f, "AUTH PLAIN AGRlbW8AZGVtbw==");
	server(f, "-ERR [AUTH] no\r\n");
	client(f, "AUTH LOGIN");
	server(f, "+ VXNlcm5hbWU6\r\n");
	client(f, "ZGVtbw==");
	server(f, "+ UGFzc3dvcmQ6\r\n");
	client(f, "c2VjcmV0");
	server(f, "-ERR [AUTH] no\r\n");
	client(f, "CAPA");
	server(f, "+OK\r\n.\r\n");
	const char *out = finish(f);
	assert_non_null(strstr(out, "C: APOP demo ********"));
	assert_null(strstr(out, "0123456789abcdef"));
	assert_non_null(strstr(out, "C: AUTH PLAIN ********"));
	assert_null(strstr(out, "AGRlbW8"));
	assert_non_null(strstr(out, "C: AUTH LOGIN "));
	assert_null(strstr(out, "ZGVtbw"));
	assert_null(strstr(out, "c2VjcmV0"));
	/* A line after an ordinary reply is shown again. */
	assert_non_null(strstr(out, "C: CAPA "));
}

static void
test_pop2_first_line_masked_with_quoting(void **state)
{
	struct fx *f = *state;
	server(f, "+ POP2 host ready\r\n");
	/* Port 109 reads the first line before it knows the protocol. */
	client(f, "HELO demo pass\\ word");
	trace_set_table(f->t, &pop2_table, POP2_AUTH);
	trace_state(f->t, POP2_MBOX);
	server(f, "#4 messages\r\n");
	const char *out = finish(f);
	assert_non_null(strstr(out, "C: HELO demo ********"));
	assert_null(strstr(out, "pass"));
	assert_null(strstr(out, "word"));
	assert_non_null(strstr(out, "[RFC 937 p.7 HELO, AUTH]"));
	assert_non_null(strstr(out, "-- AUTH -> MBOX"));
}

static void
test_pop1_pass_masked(void **state)
{
	struct fx *f = *state;
	client(f, "USER demo");
	trace_set_table(f->t, &pop1_table, POP1_WAIT_USER);
	trace_state(f->t, POP1_WAIT_PASS);
	server(f, "+OK\r\n");
	client(f, "PASS  two  spaces");
	server(f, "+OK\r\n");
	const char *out = finish(f);
	assert_non_null(strstr(out, "C: PASS ********"));
	assert_null(strstr(out, "spaces"));
	assert_non_null(strstr(out, "[RFC 918 p.3 USER, WAIT_USER]"));
}

static void
test_body_summarised(void **state)
{
	struct fx *f = *state;
	pop3_login(f);
	trace_state(f->t, POP3_TRANSACTION);
	client(f, "RETR 1");
	server(f, "+OK 14 octets\r\n");
	trace_body_begin(f->t, "message %d", 1);
	server(f, "Subject: x\r\n");
	server(f, "\r\nbody line\r\n");
	trace_body_end(f->t);
	server(f, ".\r\n");
	const char *out = finish(f);
	assert_non_null(strstr(out, "S: <message 1: 25 octets, 3 lines>\nS: .\n"));
	assert_null(strstr(out, "body line"));
	assert_non_null(strstr(out, "[RFC 1939 §5 RETR, TRANSACTION]"));
}

static void
test_body_in_full(void **state)
{
	struct fx *f = *state;
	trace_set_table(f->t, &pop2_table, POP2_ITEM);
	client(f, "RETR");
	trace_body_begin(f->t, "message %d", 1);
	server(f, "Subject: x\r\n\r\nbody line\r\n");
	trace_body_end(f->t);
	const char *out = finish(f);
	assert_non_null(strstr(out, "S: Subject: x\nS: \nS: body line\n"));
	assert_null(strstr(out, "octets,"));
}

static void
test_annotations(void **state)
{
	struct fx *f = *state;
	pop3_login(f);
	client(f, "stat");
	server(f, "-ERR STAT is not valid in the AUTHORIZATION state\r\n");
	client(f, "FROB 1");
	server(f, "-ERR Unknown command\r\n");
	trace_state(f->t, POP3_TRANSACTION);
	client(f, "STAT");
	server(f, "+OK 2 320\r\n");
	client(f, "QUIT");
	server(f, "+OK bye\r\n");
	const char *out = finish(f);
	assert_non_null(strstr(out, "C: stat "));
	assert_non_null(strstr(out, "[RFC 1939 §5 STAT; not valid in AUTHORIZATION]"));
	assert_non_null(strstr(out, "[unknown command]"));
	assert_non_null(strstr(out, "[RFC 1939 §5 STAT, TRANSACTION]\nS: +OK 2 320\n"));
	/* QUIT has one row per state: the TRANSACTION one is named. */
	assert_non_null(strstr(out, "[RFC 1939 §6 QUIT, TRANSACTION]"));
	assert_non_null(strstr(out, "-- end: test\n"));
}

static void
test_control_octets_escaped(void **state)
{
	struct fx *f = *state;
	pop3_login(f);
	trace_client(f->t, "NOOP\x1b[2J\0x", 11);
	trace_client_toolong(f->t);
	server(f, "-ERR Line too long\r\n");
	const char *out = finish(f);
	assert_non_null(strstr(out, "C: NOOP\\x1B[2J\\x00x"));
	assert_null(strchr(out, '\x1b'));
	assert_non_null(strstr(out, "C: <line too long, discarded>"));
}

static void
test_null_trace_is_a_no_op(void **state)
{
	(void)state;
	trace_client(NULL, "PASS x", 6);
	trace_server(NULL, "+OK\r\n", 5);
	trace_state(NULL, 1);
	trace_body_begin(NULL, "m");
	trace_body_end(NULL);
	trace_close(NULL, "x");
	assert_null(trace_open("", false, "pop3", "peer", 0, 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pass_masked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apop_and_sasl_masked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop2_first_line_masked_with_quoting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop1_pass_masked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_summarised, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_in_full, setup_full, teardown),
		cmocka_unit_test_setup_teardown(test_annotations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_octets_escaped, setup, teardown),
		cmocka_unit_test(test_null_trace_is_a_no_op),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
