// libmach-compat/src/vm_attrs.h — what Linux does not keep for the task's own
// memory and Mach needs: each page's maximum protection (lowered by
// vm_protect(set_maximum)), whether it is permanent (VM_FLAGS_PERMANENT:
// it can never be unmapped; deallocating or overwriting it leaves it in
// place with no access, as XNU does) and its inheritance when not the
// default COPY. Pages at the defaults are not stored. Thread-safe.
#pragma once

#include <mach/vm_inherit.h>
#include <mach/vm_prot.h>

#include <cstdint>
#include <vector>

namespace machcompat::vm_attrs {

// The smallest maximum protection over [start, end) (VM_PROT_ALL if none lowered).
vm_prot_t max_protection(uint64_t start, uint64_t end);
// Sets the maximum protection of [start, end).
void set_max_protection(uint64_t start, uint64_t end, vm_prot_t max);
// Whether any page of [start, end) is permanent.
bool any_permanent(uint64_t start, uint64_t end);
// Marks [start, end) permanent.
void set_permanent(uint64_t start, uint64_t end);
// Sets the inheritance of [start, end).
void set_inherit(uint64_t start, uint64_t end, vm_inherit_t inherit);

struct Piece {
  uint64_t start, end;
  vm_prot_t max;
  bool permanent;
  vm_inherit_t inherit;
};
// The pieces of [start, end) in address order (gaps as defaults).
std::vector<Piece> pieces(uint64_t start, uint64_t end);
// Forgets [start, end) (it was unmapped, or newly allocated).
void forget(uint64_t start, uint64_t end);
// After fork in the child: a fresh lock (another thread may have held it).
void after_fork_child();
// Forgets the pages inherited NONE (the child has none of them).
void drop_inherit_none();

}  // namespace machcompat::vm_attrs
