/* Large zeroed arrays: a mailbox's per-message tables. */
#ifndef FACTEUR_MEM_H
#define FACTEUR_MEM_H

#include <stddef.h>

/* calloc(n, size), but an array of MEM_BIG bytes or more is put on 2 MiB
 * pages where the kernel allows (MADV_HUGEPAGE): one page fault per 2 MiB
 * instead of one per 4 KiB, which on a virtual machine is most of the cost
 * of a first use (100,000 messages: 9 ms -> 0.5 ms for 3 MB).  Freed with
 * free(), may be given to realloc().  NULL with ENOMEM. */
#define MEM_BIG (512u << 10)
void *mem_big_zalloc(size_t n, size_t size);

#endif
