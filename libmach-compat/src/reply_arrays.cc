// libmach-compat/src/reply_arrays.cc — see reply_arrays.h.
#include "reply_arrays.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "vm_regions.h"

namespace machcompat {

namespace {

void release(std::span<void*> out, std::span<const size_t> lens) {
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i]) munmap(out[i], round_to_page(lens[i]));
    out[i] = nullptr;
  }
}

}  // namespace

kern_return_t take_reply_arrays(const CallResult& r, std::span<const size_t> elem_sizes, std::span<void*> out) {
  const size_t n = r.rets[0];
  size_t lens[4] = {};
  if (elem_sizes.size() > 4 || out.size() != elem_sizes.size()) return KERN_FAILURE;
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = nullptr;
    lens[i] = n * elem_sizes[i];
  }
  const std::span<const size_t> len_span(lens, out.size());
  if (n == 0) return KERN_SUCCESS;
  if (r.rets[1] == 0) {
    size_t at = 0;
    for (size_t len : len_span) at += len;
    if (r.data.size() < at) return KERN_FAILURE;
    at = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      out[i] = alloc_ool(lens[i]);
      if (!out[i]) {
        release(out, len_span);
        return KERN_RESOURCE_SHORTAGE;
      }
      std::memcpy(out[i], r.data.data() + at, lens[i]);
      at += lens[i];
    }
    return KERN_SUCCESS;
  }
  const int fd = take_fd(r.rets[1]);
  if (fd < 0) return KERN_RESOURCE_SHORTAGE;
  off_t at = 0;
  kern_return_t kr = KERN_SUCCESS;
  for (size_t i = 0; i < out.size(); ++i) {
    void* p = mmap(nullptr, round_to_page(lens[i]), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, at);
    if (p == MAP_FAILED) {
      release(out, len_span);
      kr = KERN_RESOURCE_SHORTAGE;
      break;
    }
    out[i] = p;
    at += off_t(round_to_page(lens[i]));
  }
  close(fd);
  return kr;
}

}  // namespace machcompat
