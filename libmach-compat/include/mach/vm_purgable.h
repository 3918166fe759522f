/*
 * mach/vm_purgable.h - purgeable memory control.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_VM_PURGABLE_H_
#define _MACH_VM_PURGABLE_H_

#include <stdint.h>

typedef int vm_purgable_t;

#define VM_PURGABLE_SET_STATE               ((vm_purgable_t) 0)
#define VM_PURGABLE_GET_STATE               ((vm_purgable_t) 1)
#define VM_PURGABLE_PURGE_ALL               ((vm_purgable_t) 2)
#define VM_PURGABLE_SET_STATE_FROM_KERNEL   ((vm_purgable_t) 3)

#define VM_PURGABLE_NONVOLATILE             0
#define VM_PURGABLE_VOLATILE                1
#define VM_PURGABLE_EMPTY                   2
#define VM_PURGABLE_DENY                    3

/* task_purgable_info() record. 272 bytes. */
struct vm_purgeable_stat {
	uint64_t count;
	uint64_t size;
};
typedef struct vm_purgeable_stat vm_purgeable_stat_t;

struct vm_purgeable_info {
	vm_purgeable_stat_t fifo_data[8];
	vm_purgeable_stat_t obsolete_data;
	vm_purgeable_stat_t lifo_data[8];
};
typedef struct vm_purgeable_info *vm_purgeable_info_t;

#endif /* _MACH_VM_PURGABLE_H_ */
