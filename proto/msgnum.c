/* Strict number parsing for client arguments; see msgnum.h. */
#include "msgnum.h"

bool
msgnum_parse(const char *s, uint64_t *v_r)
{
	uint64_t v = 0;
	bool saturated = false;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			saturated = true;
		else
			v = v * 10 + d;
	}
	*v_r = saturated ? UINT64_MAX : v;
	return true;
}

bool
msgnum_index(const char *s, size_t count, size_t *idx_r)
{
	uint64_t v;
	if (!msgnum_parse(s, &v) || v == 0 || v > count)
		return false;
	*idx_r = (size_t)(v - 1);
	return true;
}
