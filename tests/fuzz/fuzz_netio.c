/* libFuzzer: the line reader over any bytes, with a small line limit so
 * overlong lines, split CRLFs and NULs are all reached quickly. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct netio io;
	int in[2];
	char line[64];
	size_t len;

	if (size > 60000 || pipe(in) != 0)
		return 0;
	if (size > 0 && write(in[1], data, size) != (ssize_t)size)
		abort();
	close(in[1]);
	int out = open("/dev/null", O_WRONLY);
	netio_init(&io, in[0], out);
	size_t total = 0;
	enum netio_status st;
	while ((st = netio_read_line(&io, line, sizeof(line), &len)) == NETIO_LINE
	       || st == NETIO_TOOLONG) {
		if (st == NETIO_LINE) {
			if (len >= sizeof(line) || line[len] != '\0')
				abort();
			total += len + 1;
		}
	}
	/* Every line costs at least its end, so there are never more lines
	 * than input octets. */
	if (total > size + 1 || st != NETIO_EOF)
		abort();
	close(in[0]);
	close(out);
	return 0;
}
