/*
 * Shared set-up for the front-end fuzzers: a private folder with a passwd
 * file and a small mbox maildrop, rewritten before every input so a fuzzed
 * DELE+QUIT cannot change what the next input sees, and a way to run one
 * session over a pipe (input) and /dev/null (output).
 */
#ifndef FUZZ_SESSION_H
#define FUZZ_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "session.h"

/* Largest input: it must fit in a pipe so the write never blocks. */
#define FUZZ_MAX_INPUT 60000

const struct config *fuzz_config(void);
void fuzz_session(enum proto_kind proto, const uint8_t *data, size_t size);

#endif
