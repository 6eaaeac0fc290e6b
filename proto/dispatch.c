/*
 * The shared dispatcher: split, look up, check state and arguments, call.
 * Splitting is lenient where old clients were sloppy (runs of blanks,
 * leading and trailing blanks, lower-case verbs: RFC 1939 §3 says keywords
 * are case-insensitive, RFC 937 p.14 sends "READ  27") and strict where a
 * wrong reading would be dangerous (control characters refuse the line).
 */
#include "dispatch.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

const struct dispatch_row *
dispatch_find(const struct dispatch_table *t, const char *verb)
{
	for (size_t i = 0; i < t->nrows; i++)
		if (strcasecmp(t->rows[i].verb, verb) == 0)
			return &t->rows[i];
	return NULL;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 937 p.6 Quoting: "\x" stands for x (a space or a backslash, mostly). */
static void
unquote(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == '\\' && r[1])
			r++;
		*w++ = *r;
	}
	*w = '\0';
}

/* End of the word at P: the next blank not quoted by a backslash. */
static char *
word_end(char *p, bool backslash)
{
	while (*p && !is_blank(*p)) {
		if (backslash && *p == '\\' && p[1])
			p++;
		p++;
	}
	return p;
}

enum dispatch_result
dispatch_line(const struct dispatch_table *t, unsigned state, char *line,
              size_t len, void *sess, int *ret_r,
              const struct dispatch_row **row_r)
{
	bool backslash = (t->flags & DISPATCH_BACKSLASH) != 0;

	if (row_r)
		*row_r = NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return DISPATCH_BADCHAR;
	}

	char *p = line;
	while (is_blank(*p))
		p++;
	if (!*p)
		return DISPATCH_EMPTY;
	char *verb = p;
	p = word_end(p, false);
	if (*p)
		*p++ = '\0';

	/* A verb may have one row per state (POP3 QUIT means different
	 * things before and after login): take the row for this state. */
	const struct dispatch_row *row = dispatch_find(t, verb);
	if (!row)
		return DISPATCH_UNKNOWN;
	for (const struct dispatch_row *r = row; r < t->rows + t->nrows; r++)
		if ((r->states & state) && strcasecmp(r->verb, verb) == 0) {
			row = r;
			break;
		}
	if (row_r)
		*row_r = row;
	if (!(row->states & state))
		return DISPATCH_STATE;

	char *argv[DISPATCH_MAX_ARGS + 1];
	int argc = 0;
	argv[argc++] = verb;
	for (;;) {
		bool last = argc == row->max_args;  /* argv[0] is the verb */
		if ((row->flags & DISPATCH_REST) && last && *p) {
			/* The final argument is the rest of the line, so a PASS
			 * may hold spaces (RFC 1939 §7).  Without quoting, exactly
			 * one separator was consumed above and the rest is kept
			 * verbatim; with RFC 937 quoting, blanks are separators. */
			if (backslash) {
				while (is_blank(*p))
					p++;
				unquote(p);
			}
			if (*p)
				argv[argc++] = p;
			p += strlen(p);
			break;
		}
		while (is_blank(*p))
			p++;
		if (!*p)
			break;
		if (argc > row->max_args)
			return DISPATCH_ARGS;
		char *arg = p;
		p = word_end(p, backslash);
		if (*p)
			*p++ = '\0';
		if (backslash)
			unquote(arg);
		if (argc == DISPATCH_MAX_ARGS)
			return DISPATCH_ARGS;
		argv[argc++] = arg;
	}
	argv[argc] = NULL;
	if (argc - 1 < row->min_args || argc - 1 > row->max_args)
		return DISPATCH_ARGS;
	*ret_r = row->handler(sess, argc, argv);
	return DISPATCH_HANDLED;
}
