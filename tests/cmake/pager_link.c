/*
 * pager_link.c - links with MachCompat::mach-pager (and through it
 * MachCompat::mach-compat): mach_pager_create with no callbacks must be
 * refused with KERN_INVALID_ARGUMENT (mach_pager.h), before any Mach call.
 * Prints "pager-link: ok" and exits 0 when it is.
 * SPDX-License-Identifier: MIT
 */
#include <mach/mach.h>
#include <mach_pager.h>
#include <stdio.h>

int main(void) {
  mach_pager_t* pager = NULL;
  kern_return_t kr = mach_pager_create(NULL, NULL, NULL, &pager);
  if (kr != KERN_INVALID_ARGUMENT) {
    fprintf(stderr, "pager-link: mach_pager_create(NULL ops) = %d, not KERN_INVALID_ARGUMENT\n", kr);
    return 1;
  }
  printf("pager-link: ok\n");
  return 0;
}
