/* libFuzzer: any bytes as an mbox file.  Opening must never crash, and
 * every message read back must have exactly the size the spool announced. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[] = "/tmp/postoffice-fuzz-mbox-XXXXXX";
	static char path[sizeof(dir) + 8], tmpl[sizeof(dir) + 8];
	if (!path[0]) {
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof(path), "%s/u", dir);
		snprintf(tmpl, sizeof(tmpl), "%s/%%u", dir);
	}
	FILE *f = fopen(path, "wb");
	if (!f || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		abort();

	struct spool_where w = { .mailbox = tmpl, .folders = NULL,
	                         .reuse_xuidl = size > 0 && (data[0] & 1) };
	struct spool *sp;
	if (spool_open(&w, "u", NULL, &sp) != SPOOL_OK)
		return 0;
	uint64_t total = 0;
	for (size_t i = 0; i < spool_count(sp); i++) {
		const unsigned char *msg;
		size_t len;
		const char *uid = spool_uid(sp, i);
		size_t ulen = strlen(uid);
		if (ulen < 1 || ulen > 70)
			abort();
		for (size_t k = 0; k < ulen; k++)
			if (uid[k] < 0x21 || uid[k] > 0x7e)
				abort();
		if (spool_read(sp, i, &msg, &len) != SPOOL_OK)
			abort();
		if (wire_size(msg, len) != spool_size(sp, i))
			abort();
		total += spool_size(sp, i);
	}
	if (total != spool_live_size(sp))
		abort();
	spool_close(sp);
	return 0;
}
