/*
 * mach/dyld_kernel.h - dyld image records registered with the kernel.
 * The fsid/fsobj members use anonymous struct types here (glibc has its
 * own fsid_t); field names match macOS.  SPDX-License-Identifier: MIT
 */
#ifndef _MACH_DYLD_KERNEL_H_
#define _MACH_DYLD_KERNEL_H_

#include <stdint.h>
#include <mach/boolean.h>

struct dyld_kernel_image_info {
	unsigned char uuid[16];
	struct { uint32_t fid_objno; uint32_t fid_generation; } fsobjid;
	struct { int32_t val[2]; } fsid;
	uint64_t load_addr;
};                                                  /* 40 bytes */

struct dyld_kernel_process_info {
	struct dyld_kernel_image_info cache_image_info;
	uint64_t  timestamp;
	uint32_t  imageCount;
	uint32_t  initialImageCount;
	uint8_t   dyldState;
	boolean_t no_cache;
	boolean_t private_cache;
};                                                  /* 72 bytes */

typedef struct dyld_kernel_image_info   dyld_kernel_image_info_t;
typedef struct dyld_kernel_process_info dyld_kernel_process_info_t;
typedef dyld_kernel_image_info_t       *dyld_kernel_image_info_array_t;

#endif /* _MACH_DYLD_KERNEL_H_ */
