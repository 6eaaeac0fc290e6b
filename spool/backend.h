/*
 * Inside the mailbox layer: the common struct spool and the table of
 * functions a storage format fills in (mbox.c, maildir.c).  Front-ends
 * never include this; they see only spool.h.
 *
 * spool.c owns the struct: it picks the backend, takes the session lock,
 * and frees the message array.  A backend owns only what it opened itself
 * (the mbox descriptor, the read buffer contents, the block of Maildir
 * file names).
 */
#ifndef BACKEND_H
#define BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "params.h"
#include "spool.h"

struct lock_session;

/*
 * One message.  Kept small: a session on 100,000 messages holds 100,000
 * of these (in the monitor with privilege separation: the protocol
 * process keeps a struct spool_list), and touching fresh memory was a
 * quarter of such a session's time.  Hence the union of what only
 * one backend uses, and base in binary.
 */
struct spool_msg {
	uint64_t size;             /* wire octets (wire.h) */
	char uid[UID_MAX + 1];
	bool deleted;
	char *given_uid;           /* proposed by the store (X-UIDL); owned */
	char *pin;                 /* id to keep from an earlier session (the
	                            * mbox sidecar, mbox_uidl.c); owned */
	char *envelope;            /* "From ..." without line end; owned */
	char *name;                /* Maildir: file name, in sp->names or,
	                            * with own_name, owned; mbox: NULL */
	union {
		struct {
			/* mbox: the From line starts at from, the content
			 * is [off, off+len), and the next message (or the
			 * scanned end) starts at end; base is the MD5 of the
			 * From line and header (mbox_base_hex). */
			uint64_t from, off, len, end;
			unsigned char base[16];
		};
		struct {
			/* Maildir: in new/ (0) or cur/ (1); the file's
			 * mtime, for the envelope if POP1 asks for it. */
			int sub;
			bool own_name;
			time_t mtime;
		};
	};
};

/*
 * A listing kept as the monitor sent it (remote.c), instead of a struct
 * spool_msg per message: a 100,000-message listing is then 1.6 MB of
 * entries beside the payload, not 16 MB of fresh memory.  When sp->list
 * is set, sp->msgs is NULL and spool.c's accessors read the entries.
 * Owned by the spool (spool_close frees it); remote.c fills it only
 * with what it has checked: every uid offset points into buf at a valid
 * uid and its NUL.
 */
struct spool_list_entry {
	uint64_t size;             /* wire octets, as listed */
	uint32_t uid;              /* offset of the uid in buf (a payload is
	                            * under 4 GiB: PRIVSEP_REPLY_MAX) */
	bool deleted;
};

struct spool_list {
	unsigned char *buf;        /* the PS_LISTING payload; owned */
	struct spool_list_entry *e; /* sp->count of them; owned */
	char **envelopes;          /* NULL until POP1 asks; each owned */
};

struct spool {
	const struct spool_backend *be;
	char *path;                /* the maildrop: mbox file or Maildir */
	struct lock_session *session;
	struct spool_msg *msgs;
	struct spool_list *list;   /* remote.c only; then msgs is NULL */
	size_t count, cap;
	size_t shown;              /* the first SHOWN of COUNT are the session's
	                            * (the maildrop limits, spool.c) */
	size_t hidden_remote;      /* remote.c: what the monitor's limits hid */
	bool reuse_xuidl;
	/* spool_read's result; valid until the next read or close. */
	unsigned char *buf;
	size_t bufcap;
	/* spool_stream (stream.c): the message being read in pieces, from
	 * FD (owned, closed at the end) or, when FD is -1, from MEM. */
	struct {
		bool active;
		int fd;
		const unsigned char *mem;
		uint64_t start, off, end; /* the next piece starts at OFF */
		size_t idx;
	} stream;
	/* mbox: the descriptor kept from open (no lock held on it between
	 * open and commit), the scanned length N, and identity and hash64
	 * of [0,N) so commit can tell whether another program rewrote it. */
	int fd;
	uint64_t scanned;
	dev_t dev;
	ino_t ino;
	uint64_t hash;
	/* Maildir: the file names the scan found, one block that the
	 * messages' names point into; maildir.c's (its close frees it). */
	char *names;
};

struct spool_backend {
	const char *name;
	/* Fills sp->msgs from sp->path; the session lock is already held. */
	enum spool_err (*open)(struct spool *sp);
	/* Where the stored bytes of IDX lie (no mbox "From " line, no
	 * separator blank line), as one range of a file: a fresh descriptor
	 * for the caller to close, an offset and a length.  Required of a
	 * backend without source.  spool_read, spool_stream and the
	 * monitor (spool_locate) read the range themselves and check it
	 * against the listed size. */
	enum spool_err (*locate)(struct spool *sp, size_t idx, int *fd_r,
	                         uint64_t *off_r, uint64_t *len_r);
	/* Optional, in place of locate: like it, or *FD_R -1 and the LEN_R
	 * octets already in sp->buf (remote.c, when the monitor sent the
	 * bytes themselves). */
	enum spool_err (*source)(struct spool *sp, size_t idx, int *fd_r,
	                         uint64_t *off_r, uint64_t *len_r);
	/* Optional: fills in every shown message's envelope at once, for a
	 * backend that leaves them out of its listing (remote.c) or makes
	 * them only when asked (maildir.c); any it cannot get are
	 * synthesized, so none is left NULL unless memory runs out. */
	void (*envelopes)(struct spool *sp);
	/* Removes the messages marked deleted (at least one is). */
	enum spool_err (*commit)(struct spool *sp);
	/* Releases what open acquired, except what spool.c owns. */
	void (*close)(struct spool *sp);
	/* Appends one validated message: ENVELOPE is a "From " line without
	 * its line end, or NULL to build one from SENDER. */
	enum spool_err (*deliver)(const char *path, const char *envelope,
	                          const char *sender,
	                          const unsigned char *msg, size_t len);
};

extern const struct spool_backend mbox_backend;
extern const struct spool_backend maildir_backend;

/* Helpers for the backends, in spool.c. */
enum spool_err spool_from_errno(int err);
struct spool_msg *spool_msg_add(struct spool *sp);
/* Room for N more messages in one allocation, when the count is known:
 * growing by doubling copies the array each time. */
bool spool_msg_reserve(struct spool *sp, size_t n);
bool spool_buf_reserve(struct spool *sp, size_t len);
/* Where IDX's bytes come from: the backend's source, else its locate
 * (*FD_R is -1 when the bytes are already in sp->buf). */
enum spool_err spool_source(struct spool *sp, size_t idx, int *fd_r,
                            uint64_t *off_r, uint64_t *len_r);
/* Reads exactly LEN octets at OFF of FD into BUF; SPOOL_ECHANGED if the
 * file ends first. */
enum spool_err spool_pread_full(int fd, unsigned char *buf, size_t len,
                                uint64_t off);
/* Makes the ids unique, in maildrop order: pins first, then for each
 * other message its given_uid (if reuse is on and it is still free), else
 * its computed uid, else that uid plus the first free "-K" (K >= 2).  Call
 * after open, with uid holding the computed id.  False when out of
 * memory. */
bool spool_uids_unique(struct spool *sp);
bool spool_uid_valid(const unsigned char *s, size_t len);
void spool_md5_hex_uid(const void *data, size_t len, char uid[UID_MAX + 1]);
char *spool_envelope_make(const char *sender, time_t when);
/* A + B + C (C may be NULL) in fresh memory, NULL when out of memory. */
char *spool_strcat3(const char *a, const char *b, const char *c);
enum spool_err spool_write_all(int fd, const unsigned char *p, size_t len);
enum spool_err spool_fsync_dir(const char *path);

#endif
