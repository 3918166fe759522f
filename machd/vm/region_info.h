// machd/vm/region_info.h — the vm_region / vm_region_recurse answers for one
// map entry, per flavor, as XNU's vm_map_region(_recurse_64) lays them out.
//
// machd's maps have no submaps: every entry is reported at depth 0 with
// is_submap FALSE. Counts follow XNU: a count below a flavor's smallest
// accepted size is KERN_INVALID_ARGUMENT; otherwise the largest layout the
// count has room for is filled and the count set to it.
#pragma once

#include <mach/mach_types.h>
#include <mach/vm_region.h>

#include "address_map.h"

namespace machd::vm {

// vm_region / vm_region_64 / mach_vm_region. `info` has room for
// VM_REGION_INFO_MAX integers; *count is the caller's count in, the filled
// count out.
kern_return_t region_info(const MapEntry& e, vm_region_flavor_t flavor, int* info, mach_msg_type_number_t* count);

// vm_region_recurse_64 / mach_vm_region_recurse (submap_info_64 and its
// V0/V1/short layouts) and, when `legacy`, vm_region_recurse
// (vm_region_submap_info).
kern_return_t region_recurse_info(const MapEntry& e, bool legacy, int* info, mach_msg_type_number_t* count);

// XNU's share mode of an entry (SM_*).
unsigned char share_mode_of(const MapEntry& e);

}  // namespace machd::vm
