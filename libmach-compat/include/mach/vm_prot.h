/*
 * mach/vm_prot.h - virtual memory protection bits.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_VM_PROT_H_
#define _MACH_VM_PROT_H_

typedef int vm_prot_t;

#define VM_PROT_NONE        ((vm_prot_t) 0x00)
#define VM_PROT_READ        ((vm_prot_t) 0x01)
#define VM_PROT_WRITE       ((vm_prot_t) 0x02)
#define VM_PROT_EXECUTE     ((vm_prot_t) 0x04)

#define VM_PROT_DEFAULT     (VM_PROT_READ | VM_PROT_WRITE)
#define VM_PROT_ALL         (VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXECUTE)
#define VM_PROT_RORW_TP     (VM_PROT_EXECUTE)

#define VM_PROT_NO_CHANGE_LEGACY ((vm_prot_t) 0x08)
#define VM_PROT_NO_CHANGE   ((vm_prot_t) 0x01000000)  /* memory_object_lock_request */
#define VM_PROT_COPY        ((vm_prot_t) 0x10)        /* vm_protect: copy-on-write */
#define VM_PROT_WANTS_COPY  ((vm_prot_t) 0x10)        /* data_request: wants a copy */
#define VM_PROT_IS_MASK     ((vm_prot_t) 0x40)
#define VM_PROT_STRIP_READ  ((vm_prot_t) 0x80)
#define VM_PROT_EXECUTE_ONLY (VM_PROT_EXECUTE | VM_PROT_STRIP_READ)
#define VM_PROT_TPRO        ((vm_prot_t) 0x200)

#endif /* _MACH_VM_PROT_H_ */
