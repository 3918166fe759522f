/*
 * mach/kmod.h - the (obsolete) kernel module interface types, as the
 * kmod_* routines of mach_host.defs and host_priv.defs name them.  No
 * kernel modules exist here; the calls fail with KERN_NOT_SUPPORTED.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_KMOD_H_
#define _MACH_KMOD_H_

#include <mach/kern_return.h>

#define KMOD_CNTL_START         1       /* call kmod's start routine */
#define KMOD_CNTL_STOP          2       /* call kmod's stop routine */
#define KMOD_CNTL_RETAIN        3       /* increase a kmod's reference count */
#define KMOD_CNTL_RELEASE       4       /* decrease a kmod's reference count */
#define KMOD_CNTL_GET_CMD       5       /* get kmod load cmd from kernel */

typedef int kmod_t;                     /* module id */
typedef int kmod_control_flavor_t;      /* KMOD_CNTL_* */
typedef void *kmod_args_t;              /* out-of-line argument bytes */

#endif /* _MACH_KMOD_H_ */
