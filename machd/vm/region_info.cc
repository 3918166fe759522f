// machd/vm/region_info.cc — see region_info.h.
#include "region_info.h"

#include <mach/vm_behavior.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace machd::vm {

namespace {

unsigned int pages(uint64_t bytes) {
  static const uint64_t kPage = uint64_t(sysconf(_SC_PAGESIZE));
  return unsigned(std::min<uint64_t>(bytes / kPage, UINT32_MAX));
}

// A name for the entry's object: its inode for file and memfd mappings,
// its start page for anonymous memory (Mach names objects, not ports).
uint64_t object_id(const MapEntry& e) { return e.inode != 0 ? e.inode : e.start >> 12; }

template <typename T>
kern_return_t put(const T& v, mach_msg_type_number_t room, int* info, mach_msg_type_number_t* count) {
  if (room * sizeof(natural_t) < sizeof(T)) return KERN_INVALID_ARGUMENT;
  memcpy(info, &v, sizeof(T));
  *count = mach_msg_type_number_t(sizeof(T) / sizeof(natural_t));
  return KERN_SUCCESS;
}


vm_region_extended_info_data_t extended(const MapEntry& e) {
  vm_region_extended_info_data_t x{};
  x.protection = e.protection;
  x.user_tag = 0;
  x.pages_resident = pages(e.rss);
  x.pages_shared_now_private = 0;
  x.pages_swapped_out = pages(e.swap);
  x.pages_dirtied = pages(e.private_dirty + e.shared_dirty);
  x.ref_count = 1;
  x.shadow_depth = 0;
  x.external_pager = (!e.path.empty() && e.path[0] == '/') ? 1 : 0;
  x.share_mode = share_mode_of(e);
  x.pages_reusable = 0;
  return x;
}

// VM_REGION_BASIC_INFO(_64): the same fields, a 32- or 64-bit offset.
template <typename B>
B basic(const MapEntry& e) {
  B b{};
  b.protection = e.protection;
  b.max_protection = e.max_protection;
  b.inheritance = inheritance_of(e);
  b.shared = e.shared;
  b.reserved = FALSE;
  b.offset = decltype(b.offset)(e.offset);
  b.behavior = VM_BEHAVIOR_DEFAULT;
  b.user_wired_count = 0;
  return b;
}

}  // namespace

unsigned char share_mode_of(const MapEntry& e) {
  if (e.detailed && e.rss == 0 && e.swap == 0) return SM_EMPTY;
  if (e.shared) return SM_SHARED;
  if (!e.path.empty() && e.path[0] == '/') return SM_COW;  // private mapping of a file
  return SM_PRIVATE;
}

kern_return_t region_info(const MapEntry& e, vm_region_flavor_t flavor, int* info, mach_msg_type_number_t* count) {
  const mach_msg_type_number_t room = *count;
  switch (flavor) {
    case VM_REGION_BASIC_INFO:
      return put(basic<vm_region_basic_info_data_t>(e), room, info, count);
    case VM_REGION_BASIC_INFO_64:
      return put(basic<vm_region_basic_info_data_64_t>(e), room, info, count);
    case VM_REGION_EXTENDED_INFO: {
      // The legacy layout (no pages_reusable) is the smallest XNU accepts.
      constexpr mach_msg_type_number_t kLegacy = VM_REGION_EXTENDED_INFO_COUNT - 1;
      if (room < kLegacy) return KERN_INVALID_ARGUMENT;
      vm_region_extended_info_data_t x = extended(e);
      const mach_msg_type_number_t n = room >= VM_REGION_EXTENDED_INFO_COUNT ? VM_REGION_EXTENDED_INFO_COUNT : kLegacy;
      memcpy(info, &x, n * sizeof(natural_t));
      *count = n;
      return KERN_SUCCESS;
    }
    case VM_REGION_TOP_INFO: {
      vm_region_top_info_data_t t{};
      t.obj_id = uint32_t(object_id(e));
      t.ref_count = 1;
      t.private_pages_resident = pages(e.private_dirty + e.private_clean);
      t.shared_pages_resident = pages(e.shared_dirty + e.shared_clean);
      t.share_mode = share_mode_of(e);
      return put(t, room, info, count);
    }
    default:
      return KERN_INVALID_ARGUMENT;
  }
}

namespace {

// The fields every submap layout has.
template <typename S>
void fill_submap_common(const MapEntry& e, const vm_region_extended_info_data_t& x, S* s) {
  s->protection = e.protection;
  s->max_protection = e.max_protection;
  s->inheritance = inheritance_of(e);
  s->offset = decltype(s->offset)(e.offset);
  s->ref_count = x.ref_count;
  s->external_pager = x.external_pager;
  s->share_mode = x.share_mode;
  s->is_submap = FALSE;  // no submaps
  s->behavior = VM_BEHAVIOR_DEFAULT;
  s->object_id = uint32_t(object_id(e));
}

// ... and the page counts of the long ones.
template <typename S>
void fill_submap_pages(const vm_region_extended_info_data_t& x, S* s) {
  s->pages_resident = x.pages_resident;
  s->pages_swapped_out = x.pages_swapped_out;
  s->pages_dirtied = x.pages_dirtied;
}

}  // namespace

kern_return_t region_recurse_info(const MapEntry& e, bool legacy, int* info, mach_msg_type_number_t* count) {
  const mach_msg_type_number_t room = *count;
  const vm_region_extended_info_data_t x = extended(e);
  if (legacy) {
    vm_region_submap_info_data_t s{};
    fill_submap_common(e, x, &s);
    fill_submap_pages(x, &s);
    return put(s, room, info, count);
  }
  if (room == VM_REGION_SUBMAP_SHORT_INFO_COUNT_64) {
    vm_region_submap_short_info_data_64_t s{};
    fill_submap_common(e, x, &s);
    return put(s, room, info, count);
  }
  if (room < VM_REGION_SUBMAP_INFO_V0_COUNT_64) return KERN_INVALID_ARGUMENT;
  vm_region_submap_info_data_64_t s{};
  fill_submap_common(e, x, &s);
  fill_submap_pages(x, &s);
  s.pages_reusable = 0;
  s.object_id_full = object_id(e);
  const mach_msg_type_number_t n = room >= VM_REGION_SUBMAP_INFO_V2_COUNT_64   ? VM_REGION_SUBMAP_INFO_V2_COUNT_64
                                   : room >= VM_REGION_SUBMAP_INFO_V1_COUNT_64 ? VM_REGION_SUBMAP_INFO_V1_COUNT_64
                                                                               : VM_REGION_SUBMAP_INFO_V0_COUNT_64;
  memcpy(info, &s, n * sizeof(natural_t));
  *count = n;
  return KERN_SUCCESS;
}

}  // namespace machd::vm
