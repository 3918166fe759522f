// machd/ipc/space.h — an IPC space: the table of names of one task.
//
// A name is MACH_PORT_MAKE(index, generation): the index selects an Entry in
// `table`, the low byte must match the entry's generation. Generations start
// at 0x03 and advance by 4 each time an index is reused (XNU), so a stale name
// is KERN_INVALID_NAME and the first name handed out is 0x103. Index 0 is
// never used, so MACH_PORT_NULL and MACH_PORT_DEAD are never names.
//
// An entry's `bits` are XNU's ie_bits: generation (8 high bits), the
// MACH_PORT_TYPE_* bits of the rights held, user references (16 low bits).
// Send rights to one port share one entry per space (with the receive right
// if held); `send_hash` finds that entry from the port for entries that hold
// send rights but not the receive right (the receive right's name is
// Port::receiver_name).
#pragma once

#include <vector>

#include "types.h"

namespace machd::ipc {

struct Entry {
  void* object = nullptr;  // Port* or PortSet*; null for dead names and free slots
  uint32_t bits = 0;
  uint32_t request = 0;  // 1-based index into the port's request table; 0 = none

  uint32_t type() const { return bits & kTypeMask; }
  uint32_t urefs() const { return bits & kUrefsMask; }
  uint32_t gen() const { return bits & kGenMask; }
  bool in_use() const { return type() != 0; }
  Port* port() const { return static_cast<Port*>(object); }
  PortSet* pset() const { return static_cast<PortSet*>(object); }
  void set_type_urefs(uint32_t type, uint32_t urefs) { bits = gen() | type | urefs; }
};

// Open-addressing map Port* -> entry index (linear probing, backward-shift
// deletion). No allocation while empty.
class SendHash {
 public:
  bool find(const Port* port, uint32_t* index) const;
  void insert(const Port* port, uint32_t index);
  void erase(const Port* port);
  size_t size() const { return count_; }

 private:
  struct Slot {
    const Port* key = nullptr;
    uint32_t index = 0;
  };
  size_t slot_of(const Port* port) const;
  void grow();
  std::vector<Slot> slots_;
  size_t count_ = 0;
};

struct Space {
  explicit Space(TaskId owner, uint32_t max_names) : task(owner), limit(max_names) {
    table.resize(1);
  }

  TaskId task;
  bool active = true;
  uint32_t limit;                  // max index + 1 (KERN_NO_SPACE beyond)
  std::vector<Entry> table;        // table[0] is never used
  std::vector<uint32_t> free_idx;  // freed indices (may hold stale ones: checked on pop)
  uint32_t in_use = 0;
  SendHash send_hash;

  static mach_port_name_t make_name(uint32_t index, uint32_t gen) {
    return (index << 8) | (gen >> 24);
  }
  mach_port_name_t name_of(uint32_t index) const { return make_name(index, table[index].gen()); }

  // The in-use entry `name` denotes, or null (bad index, stale generation,
  // free slot).
  Entry* lookup(mach_port_name_t name);
  uint32_t index_of(const Entry* e) const { return static_cast<uint32_t>(e - table.data()); }

  // Claims a fresh name (new generation). The entry comes back with type 0:
  // the caller sets its rights before returning to the user. Invalidates
  // Entry pointers (the table may grow). KERN_NO_SPACE when full.
  kern_return_t alloc(mach_port_name_t* name, uint32_t* index);

  // Claims exactly `name` (mach_port_allocate_name, insert_right).
  // KERN_INVALID_VALUE: not a valid name (NULL, DEAD, low bits not 0b11);
  // KERN_NO_SPACE: index beyond the limit; KERN_NAME_EXISTS: the index is in
  // use under another generation. *existing is set when `name` itself is in
  // use (the caller decides). Invalidates Entry pointers.
  kern_return_t alloc_name(mach_port_name_t name, uint32_t* index, bool* existing);

  // Frees an entry whose rights are all gone (keeps its generation).
  void dealloc(uint32_t index);
};

}  // namespace machd::ipc
