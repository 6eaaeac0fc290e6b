/*
 * The mailbox layer in a privilege-separated protocol process
 * (src/privsep.h): the maildrop is opened, read and committed by the
 * monitor, and this process keeps only the listing and the deletion
 * marks.  Front-ends see no difference: spool_open picks this once
 * spool_use_remote was called.
 */
#ifndef SPOOL_REMOTE_H
#define SPOOL_REMOTE_H

#include "spool.h"

/* From now on every spool_open of this process asks the monitor on
 * CHANNEL; set once, before the first byte from the client is read. */
void spool_use_remote(int channel);

/* spool_open in remote mode (called by spool.c). */
enum spool_err spool_remote_open(int channel, const char *user,
                                 const char *folder, struct spool **sp_r);

#endif
