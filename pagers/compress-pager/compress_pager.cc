// pagers/compress-pager/compress_pager.cc — see compress_pager.h.
#include "compress_pager.h"

#include "../common/publish.h"

namespace compresspager {

kern_return_t CompressPager::evict(int wait_ms) {
  return pagerprog::unmapped_is_done(
      lock_request(0, pagerprog::kWholeObject, MEMORY_OBJECT_RETURN_DIRTY, TRUE, pagerprog::kKeepNoLock, wait_ms));
}

}  // namespace compresspager
