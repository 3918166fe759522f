/*
 * mach/vm_map.h - address space operations on vm_address_t (the vm_map
 * subsystem, msgh_id 3800..).  Prefer mach/mach_vm.h for new code.
 * SPDX-License-Identifier: MIT
 */
#ifndef _vm_map_user_
#define _vm_map_user_

#include <mach/_cdefs.h>
#include <mach/std_types.h>
#include <mach/mach_types.h>
#include <mach/message.h>
#include <mach/vm_attributes.h>
#include <mach/vm_region.h>

__BEGIN_DECLS

extern kern_return_t vm_region(vm_map_read_t target_task, vm_address_t *address,
    vm_size_t *size, vm_region_flavor_t flavor, vm_region_info_t info,
    mach_msg_type_number_t *infoCnt, mach_port_t *object_name);
/* flags: VM_FLAGS_ANYWHERE / VM_FLAGS_FIXED (| VM_MAKE_TAG(...)). */
extern kern_return_t vm_allocate(vm_map_t target_task, vm_address_t *address,
    vm_size_t size, int flags);
extern kern_return_t vm_deallocate(vm_map_t target_task, vm_address_t address,
    vm_size_t size);
extern kern_return_t vm_protect(vm_map_t target_task, vm_address_t address,
    vm_size_t size, boolean_t set_maximum, vm_prot_t new_protection);
extern kern_return_t vm_inherit(vm_map_t target_task, vm_address_t address,
    vm_size_t size, vm_inherit_t new_inheritance);
/* Copy out of the target; data is a new OOL region in the caller. */
extern kern_return_t vm_read(vm_map_read_t target_task, vm_address_t address,
    vm_size_t size, vm_offset_t *data, mach_msg_type_number_t *dataCnt);
extern kern_return_t vm_read_list(vm_map_read_t target_task,
    vm_read_entry_t data_list, natural_t count);
extern kern_return_t vm_write(vm_map_t target_task, vm_address_t address,
    vm_offset_t data, mach_msg_type_number_t dataCnt);
extern kern_return_t vm_copy(vm_map_t target_task, vm_address_t source_address,
    vm_size_t size, vm_address_t dest_address);
extern kern_return_t vm_read_overwrite(vm_map_read_t target_task,
    vm_address_t address, vm_size_t size, vm_address_t data,
    vm_size_t *outsize);
extern kern_return_t vm_msync(vm_map_t target_task, vm_address_t address,
    vm_size_t size, vm_sync_t sync_flags);
extern kern_return_t vm_behavior_set(vm_map_t target_task, vm_address_t address,
    vm_size_t size, vm_behavior_t new_behavior);
extern kern_return_t vm_map(vm_map_t target_task, vm_address_t *address,
    vm_size_t size, vm_address_t mask, int flags, mem_entry_name_port_t object,
    vm_offset_t offset, boolean_t copy, vm_prot_t cur_protection,
    vm_prot_t max_protection, vm_inherit_t inheritance);
extern kern_return_t vm_machine_attribute(vm_map_t target_task,
    vm_address_t address, vm_size_t size, vm_machine_attribute_t attribute,
    vm_machine_attribute_val_t *value);
extern kern_return_t vm_remap(vm_map_t target_task, vm_address_t *target_address,
    vm_size_t size, vm_address_t mask, int flags, vm_map_t src_task,
    vm_address_t src_address, boolean_t copy, vm_prot_t *cur_protection,
    vm_prot_t *max_protection, vm_inherit_t inheritance);
extern kern_return_t task_wire(vm_map_t target_task, boolean_t must_wire);
extern kern_return_t mach_make_memory_entry(vm_map_t target_task,
    vm_size_t *size, vm_offset_t offset, vm_prot_t permission,
    mem_entry_name_port_t *object_handle, mem_entry_name_port_t parent_entry);
extern kern_return_t vm_map_page_query(vm_map_read_t target_map,
    vm_offset_t offset, integer_t *disposition, integer_t *ref_count);
extern kern_return_t vm_region_64(vm_map_read_t target_task,
    vm_address_t *address, vm_size_t *size, vm_region_flavor_t flavor,
    vm_region_info_t info, mach_msg_type_number_t *infoCnt,
    mach_port_t *object_name);
extern kern_return_t mach_make_memory_entry_64(vm_map_t target_task,
    memory_object_size_t *size, memory_object_offset_t offset,
    vm_prot_t permission, mach_port_t *object_handle,
    mem_entry_name_port_t parent_entry);
extern kern_return_t vm_map_64(vm_map_t target_task, vm_address_t *address,
    vm_size_t size, vm_address_t mask, int flags, mem_entry_name_port_t object,
    memory_object_offset_t offset, boolean_t copy, vm_prot_t cur_protection,
    vm_prot_t max_protection, vm_inherit_t inheritance);

__END_DECLS

#endif /* _vm_map_user_ */
