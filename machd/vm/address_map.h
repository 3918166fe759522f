// machd/vm/address_map.h — what machd knows of a task's address map.
//
// The truth for what is mapped is Linux's: /proc/PID/maps (and smaps for
// the per-entry flags and page counts). machd keeps no copy that could go
// stale; it reads the map when a routine needs it and derives the Mach view
// of each entry:
//   protection      the entry's r/w/x bits
//   max_protection  the "may" flags (VmFlags mr/mw/me; all when unknown)
//   inheritance     VM_INHERIT_NONE for MADV_DONTFORK ("dc"), SHARE for a
//                   shared mapping other than the library's own vm_allocate
//                   memfds ("/memfd:mach-vm", which it privatizes at fork),
//                   COPY otherwise
//   share mode      SM_PRIVATE / SM_SHARED / SM_COW / SM_EMPTY from the
//                   mapping's kind and its page counts
// The parsers are pure (tested on text); read_map does the I/O.
#pragma once

#include <mach/mach_types.h>
#include <mach/vm_inherit.h>
#include <mach/vm_prot.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace machd::vm {

struct MapEntry {
  uint64_t start = 0, end = 0;  // [start, end), page aligned
  vm_prot_t protection = VM_PROT_NONE;
  vm_prot_t max_protection = VM_PROT_ALL;
  bool shared = false;     // MAP_SHARED
  bool dontfork = false;   // MADV_DONTFORK (smaps "dc")
  uint64_t offset = 0;     // file offset
  uint64_t inode = 0;
  std::string path;        // "" for anonymous memory
  // Page counts in bytes (smaps only; 0 from maps).
  uint64_t rss = 0, private_dirty = 0, shared_dirty = 0, private_clean = 0, shared_clean = 0, swap = 0;
  bool detailed = false;   // parsed from smaps
};

// Parses /proc/PID/maps or /proc/PID/smaps text. Malformed lines are skipped.
std::vector<MapEntry> parse_maps(std::string_view text);

// The task's map now (smaps when `detailed`); nullopt if the process is
// gone or not readable by machd.
std::optional<std::vector<MapEntry>> read_map(pid_t pid, bool detailed);

// The Mach inheritance of an entry (see the top of this file).
vm_inherit_t inheritance_of(const MapEntry& e);

// The first entry that contains `addr` or lies above it; null if none.
const MapEntry* entry_at_or_above(const std::vector<MapEntry>& map, uint64_t addr);

// Whether [start, end) is entirely mapped with at least `need`:
// KERN_SUCCESS, KERN_INVALID_ADDRESS (a hole), KERN_PROTECTION_FAILURE.
kern_return_t check_range(const std::vector<MapEntry>& map, uint64_t start, uint64_t end, vm_prot_t need);

}  // namespace machd::vm
