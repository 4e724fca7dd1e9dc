/* Large zeroed arrays on huge pages (mem.h). */
#include "mem.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *mem_big_zalloc(size_t n, size_t size)
{
	const size_t al = (size_t)2 << 20;
	size_t len, sz;
	void *p;

	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	len = n * size;
	if (len < MEM_BIG || len > SIZE_MAX - al)
		return calloc(n ? n : 1, size ? size : 1);
	sz = (len + al - 1) & ~(al - 1);
	if (posix_memalign(&p, al, sz)) {
		errno = ENOMEM;
		return NULL;
	}
	madvise(p, sz, MADV_HUGEPAGE);   /* a hint: refused, it is ordinary memory */
	memset(p, 0, len);
	return p;
}
