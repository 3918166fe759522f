/*
 * mach_debug/hash_info.h - hash table statistics
 * (host_virtual_physical_table_info).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_DEBUG_HASH_INFO_H_
#define _MACH_DEBUG_HASH_INFO_H_

#include <mach/machine/vm_types.h>

typedef struct hash_info_bucket {
	natural_t hib_count;            /* number of records in bucket */
} hash_info_bucket_t;

typedef hash_info_bucket_t *hash_info_bucket_array_t;

#endif /* _MACH_DEBUG_HASH_INFO_H_ */
