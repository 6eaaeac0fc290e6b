/*
 * The protocol reference printed from the very tables that dispatch
 * (`postoffice commands`), so docs/commands.md cannot drift from the code.
 */
#ifndef COMMANDS_H
#define COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

/* Prints the table of NAME ("pop1", "pop2", "pop3") or, for NULL, all
 * three, as Markdown.  False if NAME is not a protocol. */
bool commands_print(FILE *f, const char *name);

#endif
