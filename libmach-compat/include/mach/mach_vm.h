/*
 * mach/mach_vm.h - address space operations on 64-bit addresses (the
 * mach_vm subsystem, msgh_id 4800..).
 * SPDX-License-Identifier: MIT
 */
#ifndef _mach_vm_user_
#define _mach_vm_user_

#include <mach/_cdefs.h>
#include <mach/std_types.h>
#include <mach/mach_types.h>
#include <mach/message.h>
#include <mach/vm_attributes.h>
#include <mach/vm_region.h>

__BEGIN_DECLS

/* flags: VM_FLAGS_ANYWHERE / VM_FLAGS_FIXED (| VM_MAKE_TAG(...)). */
extern kern_return_t mach_vm_allocate(vm_map_t target, mach_vm_address_t *address,
    mach_vm_size_t size, int flags);
extern kern_return_t mach_vm_deallocate(vm_map_t target,
    mach_vm_address_t address, mach_vm_size_t size);
extern kern_return_t mach_vm_protect(vm_map_t target_task,
    mach_vm_address_t address, mach_vm_size_t size, boolean_t set_maximum,
    vm_prot_t new_protection);
extern kern_return_t mach_vm_inherit(vm_map_t target_task,
    mach_vm_address_t address, mach_vm_size_t size,
    vm_inherit_t new_inheritance);
extern kern_return_t mach_vm_read(vm_map_read_t target_task,
    mach_vm_address_t address, mach_vm_size_t size, vm_offset_t *data,
    mach_msg_type_number_t *dataCnt);
extern kern_return_t mach_vm_read_list(vm_map_read_t target_task,
    mach_vm_read_entry_t data_list, natural_t count);
extern kern_return_t mach_vm_write(vm_map_t target_task,
    mach_vm_address_t address, vm_offset_t data,
    mach_msg_type_number_t dataCnt);
extern kern_return_t mach_vm_copy(vm_map_t target_task,
    mach_vm_address_t source_address, mach_vm_size_t size,
    mach_vm_address_t dest_address);
extern kern_return_t mach_vm_read_overwrite(vm_map_read_t target_task,
    mach_vm_address_t address, mach_vm_size_t size, mach_vm_address_t data,
    mach_vm_size_t *outsize);
extern kern_return_t mach_vm_msync(vm_map_t target_task,
    mach_vm_address_t address, mach_vm_size_t size, vm_sync_t sync_flags);
extern kern_return_t mach_vm_behavior_set(vm_map_t target_task,
    mach_vm_address_t address, mach_vm_size_t size,
    vm_behavior_t new_behavior);
/* Map a memory object / named entry into target_task. */
extern kern_return_t mach_vm_map(vm_map_t target_task,
    mach_vm_address_t *address, mach_vm_size_t size, mach_vm_offset_t mask,
    int flags, mem_entry_name_port_t object, memory_object_offset_t offset,
    boolean_t copy, vm_prot_t cur_protection, vm_prot_t max_protection,
    vm_inherit_t inheritance);
extern kern_return_t mach_vm_machine_attribute(vm_map_t target_task,
    mach_vm_address_t address, mach_vm_size_t size,
    vm_machine_attribute_t attribute, vm_machine_attribute_val_t *value);
extern kern_return_t mach_vm_remap(vm_map_t target_task,
    mach_vm_address_t *target_address, mach_vm_size_t size,
    mach_vm_offset_t mask, int flags, vm_map_read_t src_task,
    mach_vm_address_t src_address, boolean_t copy, vm_prot_t *cur_protection,
    vm_prot_t *max_protection, vm_inherit_t inheritance);
extern kern_return_t mach_vm_page_query(vm_map_read_t target_map,
    mach_vm_offset_t offset, integer_t *disposition, integer_t *ref_count);
extern kern_return_t mach_vm_region(vm_map_read_t target_task,
    mach_vm_address_t *address, mach_vm_size_t *size,
    vm_region_flavor_t flavor, vm_region_info_t info,
    mach_msg_type_number_t *infoCnt, mach_port_t *object_name);
extern kern_return_t _mach_make_memory_entry(vm_map_t target_task,
    memory_object_size_t *size, memory_object_offset_t offset,
    vm_prot_t permission, mem_entry_name_port_t *object_handle,
    mem_entry_name_port_t parent_handle);
extern kern_return_t mach_vm_remap_new(vm_map_t target_task,
    mach_vm_address_t *target_address, mach_vm_size_t size,
    mach_vm_offset_t mask, int flags, vm_map_read_t src_task,
    mach_vm_address_t src_address, boolean_t copy, vm_prot_t *cur_protection,
    vm_prot_t *max_protection, vm_inherit_t inheritance);

__END_DECLS

#endif /* _mach_vm_user_ */
