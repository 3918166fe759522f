/*
 * mach/_cdefs.h - internal helpers shared by the libmach-compat headers.
 *
 * Not a macOS header.  Provides __BEGIN_DECLS/__END_DECLS (glibc's
 * <sys/cdefs.h> has them; we fall back to our own) and a couple of
 * attribute shorthands.  SPDX-License-Identifier: MIT
 */
#ifndef _MACH_COMPAT_CDEFS_H_
#define _MACH_COMPAT_CDEFS_H_

#if defined(__has_include)
#if __has_include(<sys/cdefs.h>)
#include <sys/cdefs.h>
#endif
#endif

#ifndef __BEGIN_DECLS
#ifdef __cplusplus
#define __BEGIN_DECLS extern "C" {
#define __END_DECLS   }
#else
#define __BEGIN_DECLS
#define __END_DECLS
#endif
#endif

/* Calls deprecated on macOS; warn only when asked to. */
#ifndef __MACH_COMPAT_DEPRECATED
#ifdef MACH_COMPAT_WARN_DEPRECATED
#define __MACH_COMPAT_DEPRECATED __attribute__((deprecated))
#else
#define __MACH_COMPAT_DEPRECATED
#endif
#endif

#if !defined(__x86_64__) && !defined(__aarch64__)
#warning "libmach-compat headers mirror the 64-bit (LP64) macOS user-space ABI"
#endif

#endif /* _MACH_COMPAT_CDEFS_H_ */
