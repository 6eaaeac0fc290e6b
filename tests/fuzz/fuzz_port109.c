/* libFuzzer: any bytes as a POP1 or POP2 client's side of a session. */
#include "fuzz_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_session(PROTO_POP2, data, size);
	return 0;
}
