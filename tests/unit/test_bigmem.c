/* Large blocks (spool/bigmem.h): the same contract as malloc, calloc and
 * realloc, aligned to a huge page from BIGMEM_MIN on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bigmem.h"

static void
test_small_and_large(void **state)
{
	(void)state;
	unsigned char *p = bigmem_alloc(0);
	assert_non_null(p);
	free(p);
	p = bigmem_alloc(100);
	assert_non_null(p);
	memset(p, 7, 100);
	free(p);
	p = bigmem_alloc(BIGMEM_MIN);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % (2u << 20), 0);
	memset(p, 7, BIGMEM_MIN);
	free(p);
	assert_null(bigmem_alloc(SIZE_MAX));
	assert_null(bigmem_calloc(SIZE_MAX / 2, 4));
}

static void
test_calloc_zeroes(void **state)
{
	(void)state;
	size_t n = BIGMEM_MIN / 8 * 3;
	uint64_t *p = bigmem_calloc(n, 8);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		assert_true(p[i] == 0);
	free(p);
}

/* Growing keeps the first OLD octets, across the threshold too. */
static void
test_realloc_keeps(void **state)
{
	(void)state;
	size_t sizes[] = { 1000, BIGMEM_MIN - 1, BIGMEM_MIN, 3 * BIGMEM_MIN + 5 };
	unsigned char *p = NULL;
	size_t had = 0;
	for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		p = bigmem_realloc(p, had, sizes[k]);
		assert_non_null(p);
		for (size_t i = 0; i < had; i++)
			assert_int_equal(p[i], (unsigned char)(i * 31));
		for (size_t i = had; i < sizes[k]; i++)
			p[i] = (unsigned char)(i * 31);
		had = sizes[k];
	}
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_and_large),
		cmocka_unit_test(test_calloc_zeroes),
		cmocka_unit_test(test_realloc_keeps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
