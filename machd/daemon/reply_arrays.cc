// machd/daemon/reply_arrays.cc — see reply_arrays.h.
#include "reply_arrays.h"

#include <unistd.h>

#include <cstring>
#include <vector>

#include "ool_payload.h"

namespace machd {

uint64_t reply_array_page() { return uint64_t(sysconf(_SC_PAGESIZE)); }

kern_return_t put_reply_arrays(Session& s, Reply& rep, size_t n, std::span<const ReplyArray> arrays) {
  rep.rets[0] = n;
  rep.rets[1] = 0;
  size_t inline_bytes = 0;
  for (const ReplyArray& a : arrays) inline_bytes += n * a.elem_size;
  if (inline_bytes <= MACHD_CHANNEL_DATA_SIZE) {
    for (const ReplyArray& a : arrays) {
      const auto* b = static_cast<const uint8_t*>(a.data);
      rep.data.insert(rep.data.end(), b, b + n * a.elem_size);
    }
    return KERN_SUCCESS;
  }
  const uint64_t page = reply_array_page();
  std::vector<uint8_t> image;
  for (const ReplyArray& a : arrays) {
    const size_t at = image.size();
    const size_t len = n * a.elem_size;
    image.resize(at + ((len + page - 1) & ~(page - 1)));
    std::memcpy(image.data() + at, a.data, len);
  }
  auto memfd = MemfdPayload::from_bytes(image);
  if (!memfd) return KERN_RESOURCE_SHORTAGE;
  const int fd = memfd->fd();
  const uint64_t tag = s.next_fd_tags(1);
  if (!s.send_fds(std::span<const int>(&fd, 1), tag)) return KERN_RESOURCE_SHORTAGE;
  rep.rets[1] = tag;  // our descriptor closes with `memfd`; the client has its own
  return KERN_SUCCESS;
}

}  // namespace machd
