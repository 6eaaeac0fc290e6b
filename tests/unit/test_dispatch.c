/*
 * The shared dispatcher: splitting, verb lookup, state and argument
 * checks, the rest-of-line argument, RFC 937 backslash quoting, and a verb
 * with one row per state (POP3 QUIT).  Two small tables stand in for the
 * front-ends; their handlers record what they were given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dispatch.h"

enum { ST_A = 1u << 0, ST_B = 1u << 1, ST_C = 1u << 2 };

/* What the last handler call saw. */
struct call {
	int calls;
	int handler;              /* which handler ran (its return value) */
	int argc;
	char argv[DISPATCH_MAX_ARGS + 1][256];
	bool argv_terminated;     /* argv[argc] == NULL */
};

static int
record(void *sess, int id, int argc, char **argv)
{
	struct call *c = sess;
	c->calls++;
	c->handler = id;
	c->argc = argc;
	for (int i = 0; i < argc && i <= DISPATCH_MAX_ARGS; i++)
		snprintf(c->argv[i], sizeof c->argv[i], "%s", argv[i]);
	c->argv_terminated = argv[argc] == NULL;
	return id;
}

#define HANDLER(name, id) \
	static int name(void *s, int argc, char **argv) { return record(s, id, argc, argv); }

HANDLER(h_user, 101)
HANDLER(h_pass, 102)
HANDLER(h_stat, 103)
HANDLER(h_list, 104)
HANDLER(h_top, 105)
HANDLER(h_quit_a, 106)
HANDLER(h_quit_b, 107)
HANDLER(h_noop, 108)
HANDLER(h_helo, 109)
HANDLER(h_seven, 110)
HANDLER(h_fold, 111)
HANDLER(h_read, 112)

/* Shaped like the POP3 table: QUIT has one row per state, the
 * AUTHORIZATION-like one first. */
static const struct dispatch_row plain_rows[] = {
	{ "USER", ST_A, 1, 1, 0, h_user, "name", "", "", "" },
	{ "PASS", ST_A, 1, 1, DISPATCH_REST, h_pass, "string", "", "", "" },
	{ "STAT", ST_B, 0, 0, 0, h_stat, "", "", "", "" },
	{ "LIST", ST_B, 0, 1, 0, h_list, "[msg]", "", "", "" },
	{ "TOP", ST_B, 2, 2, 0, h_top, "msg n", "", "", "" },
	{ "NOOP", ST_A | ST_B, 0, 0, 0, h_noop, "", "", "", "" },
	{ "HELO", ST_A, 2, 2, DISPATCH_REST, h_helo, "user pw", "", "", "" },
	{ "SEVEN", ST_A, 0, DISPATCH_MAX_ARGS - 1, 0, h_seven, "", "", "", "" },
	{ "QUIT", ST_A, 0, 0, 0, h_quit_a, "", "", "", "" },
	{ "QUIT", ST_B, 0, 0, 0, h_quit_b, "", "", "", "" },
};

static const struct dispatch_table plain = {
	.name = "plain",
	.rows = plain_rows,
	.nrows = sizeof plain_rows / sizeof plain_rows[0],
	.flags = 0,
};

/* Shaped like the RFC 937 table. */
static const struct dispatch_row quoted_rows[] = {
	{ "HELO", ST_A, 2, 2, 0, h_helo, "user password", "", "", "" },
	{ "FOLD", ST_B, 1, 1, DISPATCH_REST, h_fold, "mailbox", "", "", "" },
	{ "READ", ST_B, 0, 1, 0, h_read, "[n]", "", "", "" },
};

static const struct dispatch_table quoted = {
	.name = "quoted",
	.rows = quoted_rows,
	.nrows = sizeof quoted_rows / sizeof quoted_rows[0],
	.flags = DISPATCH_BACKSLASH,
};

struct fixture {
	struct call call;
	int ret;
	const struct dispatch_row *row;
	char line[1100];
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	if (!fx)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	free(*state);
	return 0;
}

/* Dispatches a copy of TEXT (LEN octets, so it may hold NUL). */
static enum dispatch_result
run_n(struct fixture *fx, const struct dispatch_table *t, unsigned st,
      const char *text, size_t len)
{
	assert_true(len < sizeof fx->line);
	memcpy(fx->line, text, len);
	fx->line[len] = '\0';
	fx->ret = -1;
	fx->row = (const struct dispatch_row *)&fx->row; /* must be overwritten */
	return dispatch_line(t, st, fx->line, len, &fx->call, &fx->ret, &fx->row);
}

static enum dispatch_result
run(struct fixture *fx, const struct dispatch_table *t, unsigned st,
    const char *text)
{
	return run_n(fx, t, st, text, strlen(text));
}

static void
test_verbs_are_case_insensitive(void **state)
{
	struct fixture *fx = *state;
	const char *lines[] = { "USER alice", "user alice", "UsEr alice" };

	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(run(fx, &plain, ST_A, lines[i]), DISPATCH_HANDLED);
		assert_int_equal(fx->call.handler, 101);
		assert_string_equal(fx->call.argv[1], "alice");
		assert_non_null(fx->row);
		assert_string_equal(fx->row->verb, "USER");
	}
	assert_int_equal(fx->call.calls, 3);
	assert_ptr_equal(dispatch_find(&plain, "stat"), &plain_rows[2]);
	assert_null(dispatch_find(&plain, "STA"));
	assert_null(dispatch_find(&plain, "STATS"));
}

static void
test_unknown_verb(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, &plain, ST_A, "XYZZY"), DISPATCH_UNKNOWN);
	assert_null(fx->row);
	assert_int_equal(run(fx, &plain, ST_A, "USERX alice"), DISPATCH_UNKNOWN);
	/* A prefix of a verb is not the verb. */
	assert_int_equal(run(fx, &plain, ST_B, "LIS"), DISPATCH_UNKNOWN);
	assert_int_equal(fx->call.calls, 0);
	assert_int_equal(fx->ret, -1);
}

static void
test_wrong_state_is_not_unknown(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, &plain, ST_A, "STAT"), DISPATCH_STATE);
	assert_non_null(fx->row);
	assert_string_equal(fx->row->verb, "STAT");
	assert_int_equal(run(fx, &plain, ST_B, "user alice"), DISPATCH_STATE);
	assert_string_equal(fx->row->verb, "USER");
	/* A state no row allows, for a verb with one row per state. */
	assert_int_equal(run(fx, &plain, ST_C, "QUIT"), DISPATCH_STATE);
	assert_non_null(fx->row);
	assert_string_equal(fx->row->verb, "QUIT");
	/* The state is checked before the arguments. */
	assert_int_equal(run(fx, &plain, ST_A, "TOP"), DISPATCH_STATE);
	assert_int_equal(fx->call.calls, 0);
}

static void
test_argument_counts(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, &plain, ST_A, "USER"), DISPATCH_ARGS);
	assert_non_null(fx->row);
	assert_string_equal(fx->row->verb, "USER");
	assert_int_equal(run(fx, &plain, ST_A, "USER alice bob"), DISPATCH_ARGS);
	assert_int_equal(run(fx, &plain, ST_B, "STAT 1"), DISPATCH_ARGS);
	assert_int_equal(run(fx, &plain, ST_B, "TOP 1"), DISPATCH_ARGS);
	assert_int_equal(run(fx, &plain, ST_B, "TOP 1 2 3"), DISPATCH_ARGS);
	assert_int_equal(run(fx, &plain, ST_B, "LIST 1 2"), DISPATCH_ARGS);
	/* Blanks alone are not an argument. */
	assert_int_equal(run(fx, &plain, ST_A, "USER   "), DISPATCH_ARGS);
	assert_int_equal(fx->call.calls, 0);

	/* Optional arguments: both forms reach the handler. */
	assert_int_equal(run(fx, &plain, ST_B, "LIST"), DISPATCH_HANDLED);
	assert_int_equal(fx->call.argc, 1);
	assert_int_equal(run(fx, &plain, ST_B, "LIST 3"), DISPATCH_HANDLED);
	assert_int_equal(fx->call.argc, 2);
	assert_string_equal(fx->call.argv[1], "3");
}

static void
test_many_arguments_are_bounded(void **state)
{
	struct fixture *fx = *state;
	char line[1024];
	size_t n = (size_t)snprintf(line, sizeof line, "SEVEN");

	for (int i = 1; i < DISPATCH_MAX_ARGS; i++)
		n += (size_t)snprintf(line + n, sizeof line - n, " a%d", i);
	assert_int_equal(run(fx, &plain, ST_A, line), DISPATCH_HANDLED);
	assert_int_equal(fx->call.argc, DISPATCH_MAX_ARGS);
	assert_string_equal(fx->call.argv[DISPATCH_MAX_ARGS - 1], "a7");
	assert_true(fx->call.argv_terminated);

	/* Far more words than argv can hold: refused, nothing overruns. */
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(line + n, sizeof line - n, " x");
	assert_int_equal(run(fx, &plain, ST_A, line), DISPATCH_ARGS);
	assert_int_equal(run(fx, &plain, ST_B, "LIST 1 2 3 4 5 6 7 8 9 10 11 12"),
	                 DISPATCH_ARGS);
	assert_int_equal(fx->call.calls, 1);
}

static void
test_empty_and_blank_lines(void **state)
{
	struct fixture *fx = *state;
	const char *lines[] = { "", " ", "    ", "\t", " \t  \t" };

	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(run(fx, &plain, ST_A, lines[i]), DISPATCH_EMPTY);
		assert_null(fx->row);
	}
	assert_int_equal(fx->call.calls, 0);
}

static void
test_control_characters(void **state)
{
	struct fixture *fx = *state;

	/* NUL inside the line: the length says there is more after it. */
	assert_int_equal(run_n(fx, &plain, ST_A, "USER al\0ice", 11),
	                 DISPATCH_BADCHAR);
	assert_null(fx->row);
	assert_int_equal(run_n(fx, &plain, ST_A, "USER alice\0", 11),
	                 DISPATCH_BADCHAR);
	assert_int_equal(run(fx, &plain, ST_A, "USER al\x01ice"), DISPATCH_BADCHAR);
	assert_int_equal(run(fx, &plain, ST_A, "USER alice\x1b"), DISPATCH_BADCHAR);
	assert_int_equal(run(fx, &plain, ST_A, "USER al\x7fice"), DISPATCH_BADCHAR);
	assert_int_equal(run(fx, &plain, ST_A, "\rUSER alice"), DISPATCH_BADCHAR);
	assert_int_equal(run(fx, &plain, ST_A, "PASS se\ncret"), DISPATCH_BADCHAR);
	/* Even a line that would be unknown or blank. */
	assert_int_equal(run(fx, &plain, ST_A, "\x02"), DISPATCH_BADCHAR);
	assert_int_equal(fx->call.calls, 0);

	/* Tab is a blank, not a control character. */
	assert_int_equal(run(fx, &plain, ST_A, "USER\talice"), DISPATCH_HANDLED);
	assert_string_equal(fx->call.argv[1], "alice");
	/* Octets above 0x7f are not control characters. */
	assert_int_equal(run(fx, &plain, ST_A, "USER j\xc3\xb6rg"), DISPATCH_HANDLED);
	assert_string_equal(fx->call.argv[1], "j\xc3\xb6rg");
}

static void
test_blank_runs_tolerated(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, &plain, ST_B, "   TOP    1  \t 10   "),
	                 DISPATCH_HANDLED);
	assert_int_equal(fx->call.handler, 105);
	assert_int_equal(fx->call.argc, 3);
	assert_string_equal(fx->call.argv[0], "TOP");
	assert_string_equal(fx->call.argv[1], "1");
	assert_string_equal(fx->call.argv[2], "10");
	assert_true(fx->call.argv_terminated);

	assert_int_equal(run(fx, &plain, ST_B, "\tstat\t"), DISPATCH_HANDLED);
	assert_int_equal(fx->call.argc, 1);
	assert_string_equal(fx->call.argv[0], "stat");
}

static void
test_rest_keeps_spaces(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, &plain, ST_A, "PASS my secret pw"),
	                 DISPATCH_HANDLED);
	assert_int_equal(fx->call.handler, 102);
	assert_int_equal(fx->call.argc, 2);
	assert_string_equal(fx->call.argv[1], "my secret pw");
	assert_true(fx->call.argv_terminated);

	/* Verbatim: inner runs and trailing blanks are part of it. */
	assert_int_equal(run(fx, &plain, ST_A, "pass a  b\tc "), DISPATCH_HANDLED);
	assert_string_equal(fx->call.argv[1], "a  b\tc ");
	/* Backslashes mean nothing without the table flag. */
	assert_int_equal(run(fx, &plain, ST_A, "PASS a\\ b\\\\"), DISPATCH_HANDLED);
	assert_string_equal(fx->call.argv[1], "a\\ b\\\\");
	assert_int_equal(run(fx, &plain, ST_A, "PASS"), DISPATCH_ARGS);

	/* REST as the second argument: the first is a word as usual. */
	assert_int_equal(run(fx, &plain, ST_A, "HELO  alice open sesame"),
	                 DISPATCH_HANDLED);
	assert_int_equal(fx->call.argc, 3);
	assert_string_equal(fx->call.argv[1], "alice");
	assert_string_equal(fx->call.argv[2], "open sesame");
	assert_int_equal(run(fx, &plain, ST_A, "HELO alice"), DISPATCH_ARGS);
}

static void
test_backslash_quoting(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, &quoted, ST_A, "HELO al\\ ice pa\\\\ss"),
	                 DISPATCH_HANDLED);
	assert_int_equal(fx->call.argc, 3);
	assert_string_equal(fx->call.argv[1], "al ice");
	assert_string_equal(fx->call.argv[2], "pa\\ss");
	/* An escaped blank does not split a word. */
	assert_int_equal(run(fx, &quoted, ST_A, "HELO a\\ b\\ c d"),
	                 DISPATCH_HANDLED);
	assert_string_equal(fx->call.argv[1], "a b c");
	assert_string_equal(fx->call.argv[2], "d");
	assert_int_equal(run(fx, &quoted, ST_A, "HELO a b c"), DISPATCH_ARGS);

	/* RFC 937 p.14: FOLD after a run of blanks; the rest is unquoted. */
	assert_int_equal(run(fx, &quoted, ST_B, "FOLD   my\\ mail\\\\box"),
	                 DISPATCH_HANDLED);
	assert_int_equal(fx->call.handler, 111);
	assert_int_equal(fx->call.argc, 2);
	assert_string_equal(fx->call.argv[1], "my mail\\box");
	assert_int_equal(run(fx, &quoted, ST_B, "fold \t old mail"), DISPATCH_HANDLED);
	assert_string_equal(fx->call.argv[1], "old mail");
	assert_int_equal(run(fx, &quoted, ST_B, "FOLD    "), DISPATCH_ARGS);

	/* "READ  27" (RFC 937 p.14). */
	assert_int_equal(run(fx, &quoted, ST_B, "READ  27"), DISPATCH_HANDLED);
	assert_string_equal(fx->call.argv[1], "27");
}

static void
test_handler_result_and_row(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, &plain, ST_A | ST_B, "NOOP"), DISPATCH_HANDLED);
	assert_int_equal(fx->ret, 108);
	assert_ptr_equal(fx->row, &plain_rows[5]);
	assert_int_equal(fx->call.calls, 1);
	assert_int_equal(fx->call.argc, 1);

	/* row_r may be NULL. */
	int ret = 0;
	strcpy(fx->line, "STAT");
	assert_int_equal(dispatch_line(&plain, ST_B, fx->line, 4, &fx->call,
	                               &ret, NULL),
	                 DISPATCH_HANDLED);
	assert_int_equal(ret, 103);
	/* ret_r is left alone when the handler does not run. */
	ret = 42;
	strcpy(fx->line, "STAT");
	assert_int_equal(dispatch_line(&plain, ST_A, fx->line, 4, &fx->call,
	                               &ret, NULL),
	                 DISPATCH_STATE);
	assert_int_equal(ret, 42);
}

/* POP3 has QUIT once for AUTHORIZATION and once for TRANSACTION. */
static void
test_one_row_per_state(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, &plain, ST_A, "QUIT"), DISPATCH_HANDLED);
	assert_int_equal(fx->ret, 106);
	assert_ptr_equal(fx->row, &plain_rows[8]);
	assert_int_equal(run(fx, &plain, ST_B, "quit"), DISPATCH_HANDLED);
	assert_int_equal(fx->ret, 107);
	assert_ptr_equal(fx->row, &plain_rows[9]);
	assert_int_equal(run(fx, &plain, ST_B, "QUIT now"), DISPATCH_ARGS);
	assert_ptr_equal(fx->row, &plain_rows[9]);
	assert_int_equal(fx->call.calls, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_verbs_are_case_insensitive),
		T(test_unknown_verb),
		T(test_wrong_state_is_not_unknown),
		T(test_argument_counts),
		T(test_many_arguments_are_bounded),
		T(test_empty_and_blank_lines),
		T(test_control_characters),
		T(test_blank_runs_tolerated),
		T(test_rest_keeps_spaces),
		T(test_backslash_quoting),
		T(test_handler_result_and_row),
		T(test_one_row_per_state),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
