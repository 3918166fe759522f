// libmach-compat/src/not_supported.cc — the rest of the declared Mach API.
//
// These calls are declared by the public headers (a macOS program that names
// them compiles and links) but machd does not provide them yet: threads, host
// and clock objects, exception ports, other tasks' memory, memory entries,
// lock sets, vouchers. Each fails with KERN_NOT_SUPPORTED and does nothing,
// so a program can tell and fall back. Written out from the header
// declarations; keep in step with them.
#include <mach/mach.h>
#include <mach/mach_host.h>
#include <mach/mach_vm.h>
#include <mach/clock.h>
#include <mach/thread_act.h>
#include <mach/task.h>
#include <mach/vm_map.h>
#include <mach/mk_timer.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"

extern "C" {

// <mach/host_priv.h>
kern_return_t host_get_special_port(host_priv_t host_priv, int node, int which, mach_port_t *port) { return KERN_NOT_SUPPORTED; }
kern_return_t host_set_special_port(host_priv_t host_priv, int which, mach_port_t port) { return KERN_NOT_SUPPORTED; }

// <mach/mach_vm.h>
kern_return_t _mach_make_memory_entry(vm_map_t target_task, memory_object_size_t *size, memory_object_offset_t offset, vm_prot_t permission, mem_entry_name_port_t *object_handle, mem_entry_name_port_t parent_handle) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_vm_behavior_set(vm_map_t target_task, mach_vm_address_t address, mach_vm_size_t size, vm_behavior_t new_behavior) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_vm_inherit(vm_map_t target_task, mach_vm_address_t address, mach_vm_size_t size, vm_inherit_t new_inheritance) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_vm_machine_attribute(vm_map_t target_task, mach_vm_address_t address, mach_vm_size_t size, vm_machine_attribute_t attribute, vm_machine_attribute_val_t *value) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_vm_map(vm_map_t target_task, mach_vm_address_t *address, mach_vm_size_t size, mach_vm_offset_t mask, int flags, mem_entry_name_port_t object, memory_object_offset_t offset, boolean_t copy, vm_prot_t cur_protection, vm_prot_t max_protection, vm_inherit_t inheritance) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_vm_msync(vm_map_t target_task, mach_vm_address_t address, mach_vm_size_t size, vm_sync_t sync_flags) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_vm_page_query(vm_map_read_t target_map, mach_vm_offset_t offset, integer_t *disposition, integer_t *ref_count) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_vm_read_list(vm_map_read_t target_task, mach_vm_read_entry_t data_list, natural_t count) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_vm_region(vm_map_read_t target_task, mach_vm_address_t *address, mach_vm_size_t *size, vm_region_flavor_t flavor, vm_region_info_t info, mach_msg_type_number_t *infoCnt, mach_port_t *object_name) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_vm_remap(vm_map_t target_task, mach_vm_address_t *target_address, mach_vm_size_t size, mach_vm_offset_t mask, int flags, vm_map_read_t src_task, mach_vm_address_t src_address, boolean_t copy, vm_prot_t *cur_protection, vm_prot_t *max_protection, vm_inherit_t inheritance) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_vm_remap_new(vm_map_t target_task, mach_vm_address_t *target_address, mach_vm_size_t size, mach_vm_offset_t mask, int flags, vm_map_read_t src_task, mach_vm_address_t src_address, boolean_t copy, vm_prot_t *cur_protection, vm_prot_t *max_protection, vm_inherit_t inheritance) { return KERN_NOT_SUPPORTED; }

// <mach/thread_act.h>
kern_return_t act_get_state(thread_read_t target_act, int flavor, thread_state_t old_state, mach_msg_type_number_t *old_stateCnt) { return KERN_NOT_SUPPORTED; }
kern_return_t act_set_state(thread_act_t target_act, int flavor, thread_state_t new_state, mach_msg_type_number_t new_stateCnt) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_abort(thread_act_t target_act) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_abort_safely(thread_act_t target_act) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_depress_abort(thread_act_t thread) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_get_exception_ports(thread_act_t thread, exception_mask_t exception_mask, exception_mask_array_t masks, mach_msg_type_number_t *masksCnt, exception_handler_array_t old_handlers, exception_behavior_array_t old_behaviors, exception_flavor_array_t old_flavors) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_get_special_port(thread_inspect_t thr_act, int which_port, mach_port_t *special_port) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_get_state(thread_read_t target_act, thread_state_flavor_t flavor, thread_state_t old_state, mach_msg_type_number_t *old_stateCnt) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_info(thread_inspect_t target_act, thread_flavor_t flavor, thread_info_t thread_info_out, mach_msg_type_number_t *thread_info_outCnt) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_policy_get(thread_inspect_t thread, thread_policy_flavor_t flavor, thread_policy_t policy_info, mach_msg_type_number_t *policy_infoCnt, boolean_t *get_default) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_policy_set(thread_act_t thread, thread_policy_flavor_t flavor, thread_policy_t policy_info, mach_msg_type_number_t policy_infoCnt) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_resume(thread_read_t target_act) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_set_exception_ports(thread_act_t thread, exception_mask_t exception_mask, mach_port_t new_port, exception_behavior_t behavior, thread_state_flavor_t new_flavor) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_set_special_port(thread_act_t thr_act, int which_port, mach_port_t special_port) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_set_state(thread_act_t target_act, thread_state_flavor_t flavor, thread_state_t new_state, mach_msg_type_number_t new_stateCnt) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_suspend(thread_read_t target_act) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_swap_exception_ports(thread_act_t thread, exception_mask_t exception_mask, mach_port_t new_port, exception_behavior_t behavior, thread_state_flavor_t new_flavor, exception_mask_array_t masks, mach_msg_type_number_t *masksCnt, exception_handler_array_t old_handlers, exception_behavior_array_t old_behaviors, exception_flavor_array_t old_flavors) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_terminate(thread_act_t target_act) { return KERN_NOT_SUPPORTED; }

// <mach/clock.h>
kern_return_t clock_alarm(clock_serv_t clock_serv, alarm_type_t alarm_type, mach_timespec_t alarm_time, clock_reply_t alarm_port) { return KERN_NOT_SUPPORTED; }
kern_return_t clock_get_attributes(clock_serv_t clock_serv, clock_flavor_t flavor, clock_attr_t clock_attr, mach_msg_type_number_t *clock_attrCnt) { return KERN_NOT_SUPPORTED; }
kern_return_t clock_get_time(clock_serv_t clock_serv, mach_timespec_t *cur_time) { return KERN_NOT_SUPPORTED; }

// <mach/mach.h>
kern_return_t clock_get_res(mach_port_t clock_serv, clock_res_t *res) { return KERN_NOT_SUPPORTED; }
kern_return_t clock_set_res(mach_port_t clock_serv, clock_res_t res) { return KERN_NOT_SUPPORTED; }
kern_return_t clock_sleep(mach_port_t clock_serv, int sleep_type, mach_timespec_t sleep_time, mach_timespec_t *wake_time) { return KERN_NOT_SUPPORTED; }

// <mach/mach_traps.h>
kern_return_t clock_sleep_trap(mach_port_name_t clock_name, sleep_type_t sleep_type, int sleep_sec, int sleep_nsec, mach_timespec_t *wakeup_time) { return KERN_NOT_SUPPORTED; }

// <mach/task.h>
kern_return_t lock_set_create(task_t task, lock_set_t *new_lock_set, int n_ulocks, int policy) { return KERN_NOT_SUPPORTED; }
kern_return_t lock_set_destroy(task_t task, lock_set_t lock_set) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_ports_lookup(task_t target_task, mach_port_array_t *init_port_set, mach_msg_type_number_t *init_port_setCnt) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_ports_register(task_t target_task, mach_port_array_t init_port_set, mach_msg_type_number_t init_port_setCnt) { return KERN_NOT_SUPPORTED; }
kern_return_t task_create(task_t target_task, ledger_array_t ledgers, mach_msg_type_number_t ledgersCnt, boolean_t inherit_memory, task_t *child_task) { return KERN_NOT_SUPPORTED; }
kern_return_t task_get_exception_ports(task_t task, exception_mask_t exception_mask, exception_mask_array_t masks, mach_msg_type_number_t *masksCnt, exception_handler_array_t old_handlers, exception_behavior_array_t old_behaviors, exception_flavor_array_t old_flavors) { return KERN_NOT_SUPPORTED; }
kern_return_t task_get_state(task_read_t task, thread_state_flavor_t flavor, thread_state_t old_state, mach_msg_type_number_t *old_stateCnt) { return KERN_NOT_SUPPORTED; }
kern_return_t task_policy_get(task_policy_get_t task, task_policy_flavor_t flavor, task_policy_t policy_info, mach_msg_type_number_t *policy_infoCnt, boolean_t *get_default) { return KERN_NOT_SUPPORTED; }
kern_return_t task_policy_set(task_policy_set_t task, task_policy_flavor_t flavor, task_policy_t policy_info, mach_msg_type_number_t policy_infoCnt) { return KERN_NOT_SUPPORTED; }
kern_return_t task_resume(task_read_t target_task) { return KERN_NOT_SUPPORTED; }
kern_return_t task_resume2(task_suspension_token_t suspend_token) { return KERN_NOT_SUPPORTED; }
kern_return_t task_set_exception_ports(task_t task, exception_mask_t exception_mask, mach_port_t new_port, exception_behavior_t behavior, thread_state_flavor_t new_flavor) { return KERN_NOT_SUPPORTED; }
kern_return_t task_set_info(task_t target_task, task_flavor_t flavor, task_info_t task_info_in, mach_msg_type_number_t task_info_inCnt) { return KERN_NOT_SUPPORTED; }
kern_return_t task_set_state(task_t task, thread_state_flavor_t flavor, thread_state_t new_state, mach_msg_type_number_t new_stateCnt) { return KERN_NOT_SUPPORTED; }
kern_return_t task_suspend(task_read_t target_task) { return KERN_NOT_SUPPORTED; }
kern_return_t task_suspend2(task_read_t target_task, task_suspension_token_t *suspend_token) { return KERN_NOT_SUPPORTED; }
kern_return_t task_swap_exception_ports(task_t task, exception_mask_t exception_mask, mach_port_t new_port, exception_behavior_t behavior, thread_state_flavor_t new_flavor, exception_mask_array_t masks, mach_msg_type_number_t *masksCnt, exception_handler_array_t old_handlers, exception_behavior_array_t old_behaviors, exception_flavor_array_t old_flavors) { return KERN_NOT_SUPPORTED; }
kern_return_t task_terminate(task_t target_task) { return KERN_NOT_SUPPORTED; }
kern_return_t task_threads(task_inspect_t target_task, thread_act_array_t *act_list, mach_msg_type_number_t *act_listCnt) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_create(task_t parent_task, thread_act_t *child_act) { return KERN_NOT_SUPPORTED; }
kern_return_t thread_create_running(task_t parent_task, thread_state_flavor_t flavor, thread_state_t new_state, mach_msg_type_number_t new_stateCnt, thread_act_t *child_act) { return KERN_NOT_SUPPORTED; }

// <mach/vm_map.h>
kern_return_t mach_make_memory_entry(vm_map_t target_task, vm_size_t *size, vm_offset_t offset, vm_prot_t permission, mem_entry_name_port_t *object_handle, mem_entry_name_port_t parent_entry) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_make_memory_entry_64(vm_map_t target_task, memory_object_size_t *size, memory_object_offset_t offset, vm_prot_t permission, mach_port_t *object_handle, mem_entry_name_port_t parent_entry) { return KERN_NOT_SUPPORTED; }
kern_return_t task_wire(vm_map_t target_task, boolean_t must_wire) { return KERN_NOT_SUPPORTED; }
kern_return_t vm_behavior_set(vm_map_t target_task, vm_address_t address, vm_size_t size, vm_behavior_t new_behavior) { return KERN_NOT_SUPPORTED; }
kern_return_t vm_inherit(vm_map_t target_task, vm_address_t address, vm_size_t size, vm_inherit_t new_inheritance) { return KERN_NOT_SUPPORTED; }
kern_return_t vm_machine_attribute(vm_map_t target_task, vm_address_t address, vm_size_t size, vm_machine_attribute_t attribute, vm_machine_attribute_val_t *value) { return KERN_NOT_SUPPORTED; }
kern_return_t vm_map(vm_map_t target_task, vm_address_t *address, vm_size_t size, vm_address_t mask, int flags, mem_entry_name_port_t object, vm_offset_t offset, boolean_t copy, vm_prot_t cur_protection, vm_prot_t max_protection, vm_inherit_t inheritance) { return KERN_NOT_SUPPORTED; }
kern_return_t vm_map_64(vm_map_t target_task, vm_address_t *address, vm_size_t size, vm_address_t mask, int flags, mem_entry_name_port_t object, memory_object_offset_t offset, boolean_t copy, vm_prot_t cur_protection, vm_prot_t max_protection, vm_inherit_t inheritance) { return KERN_NOT_SUPPORTED; }
kern_return_t vm_map_page_query(vm_map_read_t target_map, vm_offset_t offset, integer_t *disposition, integer_t *ref_count) { return KERN_NOT_SUPPORTED; }
kern_return_t vm_msync(vm_map_t target_task, vm_address_t address, vm_size_t size, vm_sync_t sync_flags) { return KERN_NOT_SUPPORTED; }
kern_return_t vm_read_list(vm_map_read_t target_task, vm_read_entry_t data_list, natural_t count) { return KERN_NOT_SUPPORTED; }
kern_return_t vm_region(vm_map_read_t target_task, vm_address_t *address, vm_size_t *size, vm_region_flavor_t flavor, vm_region_info_t info, mach_msg_type_number_t *infoCnt, mach_port_t *object_name) { return KERN_NOT_SUPPORTED; }
kern_return_t vm_region_64(vm_map_read_t target_task, vm_address_t *address, vm_size_t *size, vm_region_flavor_t flavor, vm_region_info_t info, mach_msg_type_number_t *infoCnt, mach_port_t *object_name) { return KERN_NOT_SUPPORTED; }
kern_return_t vm_remap(vm_map_t target_task, vm_address_t *target_address, vm_size_t size, vm_address_t mask, int flags, vm_map_t src_task, vm_address_t src_address, boolean_t copy, vm_prot_t *cur_protection, vm_prot_t *max_protection, vm_inherit_t inheritance) { return KERN_NOT_SUPPORTED; }

// <mach/mach_port.h>
kern_return_t mach_port_assert_attributes(ipc_space_t task, mach_port_name_t name, mach_port_flavor_t flavor, mach_port_info_t info, mach_msg_type_number_t infoCnt) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_port_dnrequest_info(ipc_space_t task, mach_port_name_t name, unsigned *dnr_total, unsigned *dnr_used) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_port_get_service_port_info(ipc_space_read_t task, mach_port_name_t name, mach_service_port_info_data_t *sp_info_out) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_port_is_connection_for_service(ipc_space_t task, mach_port_name_t connection_port, mach_port_name_t service_port, uint64_t *filter_policy_id) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_port_kernel_object(ipc_space_read_t task, mach_port_name_t name, unsigned *object_type, unsigned *object_addr) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_port_kobject(ipc_space_read_t task, mach_port_name_t name, natural_t *object_type, mach_vm_address_t *object_addr) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_port_kobject_description(ipc_space_read_t task, mach_port_name_t name, natural_t *object_type, mach_vm_address_t *object_addr, kobject_description_t description) { return KERN_NOT_SUPPORTED; }
kern_return_t task_set_port_space(ipc_space_t task, int table_entries) { return KERN_NOT_SUPPORTED; }

// <mach/message.h>
kern_return_t mach_voucher_deallocate(mach_port_name_t voucher) { return KERN_NOT_SUPPORTED; }

// <mach/mk_timer.h> (traps in XNU; timers are not served yet)
mach_port_name_t mk_timer_create(void) { return MACH_PORT_NULL; }
kern_return_t mk_timer_destroy(mach_port_name_t name) { return KERN_NOT_SUPPORTED; }
kern_return_t mk_timer_arm(mach_port_name_t name, uint64_t expire_time) { return KERN_NOT_SUPPORTED; }
kern_return_t mk_timer_arm_leeway(mach_port_name_t name, uint64_t mk_timer_flags, uint64_t mk_timer_expire_time, uint64_t mk_timer_leeway) { return KERN_NOT_SUPPORTED; }
kern_return_t mk_timer_cancel(mach_port_name_t name, uint64_t *result_time) { return KERN_NOT_SUPPORTED; }

}  // extern "C"
