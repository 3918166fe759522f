/*
 * mach/mach_host.h - host operations (mach_host subsystem, 200..).
 * SPDX-License-Identifier: MIT
 */
#ifndef _mach_host_user_
#define _mach_host_user_

#include <mach/_cdefs.h>
#include <mach/std_types.h>
#include <mach/mach_types.h>
#include <mach/host_info.h>
#include <mach/clock_types.h>

__BEGIN_DECLS

extern kern_return_t host_info(host_t host, host_flavor_t flavor,
    host_info_t host_info_out, mach_msg_type_number_t *host_info_outCnt);
extern kern_return_t host_kernel_version(host_t host,
    kernel_version_t kernel_version);
extern kern_return_t _host_page_size(host_t host, vm_size_t *out_page_size);
extern kern_return_t host_get_clock_service(host_t host, clock_id_t clock_id,
    clock_serv_t *clock_serv);
extern kern_return_t host_statistics(host_t host_priv, host_flavor_t flavor,
    host_info_t host_info_out, mach_msg_type_number_t *host_info_outCnt);
extern kern_return_t host_statistics64(host_t host_priv, host_flavor_t flavor,
    host_info64_t host_info64_out, mach_msg_type_number_t *host_info64_outCnt);
extern kern_return_t mach_memory_object_memory_entry_64(host_t host,
    boolean_t internal, memory_object_size_t size, vm_prot_t permission,
    memory_object_t pager, mach_port_t *entry_handle);
extern kern_return_t host_get_special_port(host_priv_t host_priv, int node,
    int which, mach_port_t *port);
extern kern_return_t host_set_special_port(host_priv_t host_priv, int which,
    mach_port_t port);

extern kern_return_t host_processor_info(host_t host,
    processor_flavor_t flavor, natural_t *out_processor_count,
    processor_info_array_t *out_processor_info,
    mach_msg_type_number_t *out_processor_infoCnt);

__END_DECLS

#endif /* _mach_host_user_ */
