/* libFuzzer: the PROXY protocol header parsers over any bytes, and the
 * socket reader over a pipe holding them.  Invariants: an accepted header
 * names AF_INET, AF_INET6 or AF_UNSPEC (proxy.h); a refusal always says
 * why; a v1 TCP4 source reads back as the text that was sent; proxy_read
 * consumes exactly one header, which the parsers accept alike. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "params.h"
#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok, const struct sockaddr_storage *ss, const char *why)
{
	if (ok && ss->ss_family != AF_INET && ss->ss_family != AF_INET6
	    && ss->ss_family != AF_UNSPEC)
		abort();
	if (!ok && (why == NULL || why[0] == '\0'))
		abort();
}

/* An accepted TCP4 line names its source as inet_ntop prints it. */
static void
check_v1_source(const uint8_t *data, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
	char addr[INET_ADDRSTRLEN], want[64];
	if (ss->ss_family != AF_INET)
		return;
	if (memcmp(data, "PROXY TCP4 ", 11) != 0
	    || !inet_ntop(AF_INET, &v4->sin_addr, addr, sizeof(addr)))
		abort();
	int n = snprintf(want, sizeof(want), "%s ", addr);
	if (n <= 0 || memcmp(data + 11, want, (size_t)n) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage ss, again;
	const char *why;
	int p[2];

	why = NULL;
	bool ok = proxy_parse_v1((const char *)data, size, &ss, &why);
	check(ok, &ss, why);
	if (ok) {
		if (size > PROXY_V1_MAX || data[size - 1] != '\n')
			abort();
		check_v1_source(data, &ss);
	}
	why = NULL;
	ok = proxy_parse_v2(data, size, &ss, &why);
	check(ok, &ss, why);
	if (ok && size > PROXY_V2_FIXED + PROXY_V2_REST_MAX)
		abort();

	/* The reader: never more than one header, and the same verdict. */
	if (size > 4096 || pipe(p) != 0)
		return 0;
	if (size > 0 && write(p[1], data, size) != (ssize_t)size)
		abort();
	close(p[1]);
	why = NULL;
	ok = proxy_read(p[0], 1000, &ss, &why);
	check(ok, &ss, why);
	static uint8_t rest[4097];
	ssize_t left = read(p[0], rest, sizeof(rest));
	close(p[0]);
	if (left < 0 || (size_t)left > size)
		abort();
	if (ok) {
		size_t used = size - (size_t)left;
		if (memcmp(rest, data + used, (size_t)left) != 0)
			abort();
		bool again_ok = data[0] == 'P'
		        ? proxy_parse_v1((const char *)data, used, &again, &why)
		        : proxy_parse_v2(data, used, &again, &why);
		if (!again_ok || memcmp(&ss, &again, sizeof(ss)) != 0)
			abort();
	}
	return 0;
}
