// libmach-compat/src/not_supported.cc — the rest of the declared Mach API.
//
// These calls are declared by the public headers (a macOS program that names
// them compiles and links) but machd does not provide them yet: threads, host
// and clock objects, exception ports, other tasks' memory, memory entries,
// lock sets. Each fails with KERN_NOT_SUPPORTED and does nothing,
// so a program can tell and fall back. Written out from the header
// declarations; keep in step with them.
#include <mach/mach.h>
#include <mach/mach_host.h>
#include <mach/mach_vm.h>
#include <mach/clock.h>
#include <mach/thread_act.h>
#include <mach/task.h>
#include <mach/vm_map.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"

extern "C" {

// <mach/host_priv.h>

// <mach/mach_vm.h>

// <mach/thread_act.h>

// <mach/clock.h>

// <mach/mach.h>
kern_return_t clock_get_res(mach_port_t clock_serv, clock_res_t *res) { return KERN_NOT_SUPPORTED; }
kern_return_t clock_set_res(mach_port_t clock_serv, clock_res_t res) { return KERN_NOT_SUPPORTED; }

// <mach/task.h>

// <mach/vm_map.h>

// <mach/mach_port.h>
kern_return_t mach_port_assert_attributes(ipc_space_t task, mach_port_name_t name, mach_port_flavor_t flavor, mach_port_info_t info, mach_msg_type_number_t infoCnt) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_port_dnrequest_info(ipc_space_t task, mach_port_name_t name, unsigned *dnr_total, unsigned *dnr_used) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_port_get_service_port_info(ipc_space_read_t task, mach_port_name_t name, mach_service_port_info_data_t *sp_info_out) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_port_is_connection_for_service(ipc_space_t task, mach_port_name_t connection_port, mach_port_name_t service_port, uint64_t *filter_policy_id) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_port_kernel_object(ipc_space_read_t task, mach_port_name_t name, unsigned *object_type, unsigned *object_addr) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_port_kobject(ipc_space_read_t task, mach_port_name_t name, natural_t *object_type, mach_vm_address_t *object_addr) { return KERN_NOT_SUPPORTED; }
kern_return_t mach_port_kobject_description(ipc_space_read_t task, mach_port_name_t name, natural_t *object_type, mach_vm_address_t *object_addr, kobject_description_t description) { return KERN_NOT_SUPPORTED; }
kern_return_t task_set_port_space(ipc_space_t task, int table_entries) { return KERN_NOT_SUPPORTED; }

}  // extern "C"
