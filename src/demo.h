/*
 * The demo default: "postoffice serve" without -c.  Builds a private
 * runtime folder (never a tracked file) with a user, a maildrop and two
 * folders, and a config listening on loopback, unprivileged ports.
 */
#ifndef DEMO_H
#define DEMO_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Prepares the demo folder and fills C; false with a message in ERR. */
bool demo_prepare(struct config *c, char *err, size_t errsz);

#endif
