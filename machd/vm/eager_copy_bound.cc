// machd/vm/eager_copy_bound.cc — see eager_copy_bound.h.
#include "eager_copy_bound.h"

namespace machd::vm {

bool EagerCopyBudget::take(uint64_t len) {
  if (len > left_) return false;
  left_ -= len;
  return true;
}

}  // namespace machd::vm
