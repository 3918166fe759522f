// pagers/file-pager/file_pager.cc — see file_pager.h.
#include "file_pager.h"

#include <chrono>

#include "../common/publish.h"

namespace filepager {

using pagerprog::kWholeObject;

kern_return_t FilePager::sync(int wait_ms) {
  return pagerprog::unmapped_is_done(
      lock_request(0, kWholeObject, MEMORY_OBJECT_RETURN_DIRTY, FALSE, pagerprog::kKeepNoLock, wait_ms));
}

kern_return_t FilePager::shut_down(int wait_ms) {
  unsigned seen;
  {
    std::lock_guard<std::mutex> g(mu_);
    closing_ = true;
    seen = terminations_;
  }
  const kern_return_t kr =
      lock_request(0, kWholeObject, MEMORY_OBJECT_RETURN_DIRTY, FALSE, VM_PROT_WRITE, wait_ms);
  if (kr == KERN_INVALID_ARGUMENT || kr == KERN_TERMINATED) return KERN_SUCCESS;  // not (or no longer) mapped
  if (destroy_object(KERN_TERMINATED) != KERN_SUCCESS) return kr;                  // terminated meanwhile
  std::unique_lock<std::mutex> g(mu_);
  auto ended = [&] { return terminations_ != seen; };
  if (wait_ms < 0)
    cv_.wait(g, ended);
  else
    cv_.wait_for(g, std::chrono::milliseconds(wait_ms), ended);
  return kr;
}

kern_return_t FilePager::unlock_page(vm_offset_t, vm_size_t, vm_prot_t) {
  std::lock_guard<std::mutex> g(mu_);
  return closing_ ? KERN_PROTECTION_FAILURE : KERN_SUCCESS;
}

void FilePager::terminated() {
  std::lock_guard<std::mutex> g(mu_);
  ++terminations_;
  cv_.notify_all();
}

}  // namespace filepager
