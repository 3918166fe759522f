// machd/daemon/kernel_servers.cc — see kernel_servers.h.
#include "kernel_servers.h"

#include <mach/mig_errors.h>

#include <cstring>

namespace machd {

KernelReply run_mig_server(MigDemux demux, const std::vector<uint8_t>& request, size_t max_reply) {
  KernelReply r;
  if (request.size() < sizeof(mach_msg_header_t)) return r;
  // The stubs read the request in place (header, body, trailer) and may look
  // a little past msgh_size for the trailer: give them an aligned copy with
  // room for the largest trailer.
  std::vector<uint64_t> in((request.size() + sizeof(mach_msg_max_trailer_t) + 7) / 8, 0);
  memcpy(in.data(), request.data(), request.size());
  std::vector<uint64_t> out((max_reply + sizeof(mach_msg_max_trailer_t) + 7) / 8, 0);
  auto* in_h = reinterpret_cast<mach_msg_header_t*>(in.data());
  auto* out_h = reinterpret_cast<mach_msg_header_t*>(out.data());
  (void)demux(in_h, out_h);  // unknown ids: the demux writes a MIG_BAD_ID reply
  auto* err = reinterpret_cast<mig_reply_error_t*>(out.data());
  if ((out_h->msgh_bits & MACH_MSGH_BITS_COMPLEX) == 0 && out_h->msgh_size >= sizeof(mig_reply_error_t)) {
    if (err->RetCode == MIG_NO_REPLY) {
      out_h->msgh_remote_port = MACH_PORT_NULL;
    } else if (err->RetCode != KERN_SUCCESS) {
      r.keep_body = false;
    }
  }
  if (MACH_PORT_VALID(out_h->msgh_remote_port) && out_h->msgh_size >= sizeof(mach_msg_header_t) &&
      out_h->msgh_size <= max_reply) {
    const auto* b = reinterpret_cast<const uint8_t*>(out.data());
    r.msg.assign(b, b + out_h->msgh_size);
  }
  return r;
}

}  // namespace machd
