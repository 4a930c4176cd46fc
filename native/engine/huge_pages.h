/*
 * Transparent huge pages for the engine's large tables, where the kernel offers them (THP in
 * `madvise` mode, the common default): the tables are read at random, one or two lines per packet,
 * and with 4 KiB pages nearly every such read also misses the TLB. Advising the 2 MiB-aligned
 * interior of an allocation costs nothing until it is touched; a kernel without THP refuses and
 * the table works as before.
 */
#ifndef PW_HUGE_PAGES_H
#define PW_HUGE_PAGES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#define PW_HUGE_PAGE ((uintptr_t)2 << 20)

static inline void pw_advise_huge(void *ptr, size_t length) {
#ifdef MADV_HUGEPAGE
  if (ptr == NULL || length < 2 * PW_HUGE_PAGE) return;
  uintptr_t start = ((uintptr_t)ptr + PW_HUGE_PAGE - 1) & ~(PW_HUGE_PAGE - 1);
  uintptr_t end = ((uintptr_t)ptr + length) & ~(PW_HUGE_PAGE - 1);
  if (end > start) (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
  (void)ptr;
  (void)length;
#endif
}

#endif
