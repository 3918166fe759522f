// machd/daemon/kernel_servers.cc — see kernel_servers.h.
#include "kernel_servers.h"

#include <mach/mig_errors.h>

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

#include "machd_abi.h"
#include "ool_payload.h"

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
      r.keep_reply = true;
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

namespace {
struct MappedSource {
  const uint8_t* base;
  size_t size;
  int fd;
  uint64_t offset;
};
std::vector<MappedSource> g_mapped_sources;  // of the MappedRequests alive (machd is single-threaded)
}  // namespace

bool mapped_request_source(const void* p, uint64_t len, int* fd, uint64_t* offset) {
  const auto* a = static_cast<const uint8_t*>(p);
  for (const MappedSource& m : g_mapped_sources) {
    if (a >= m.base && len <= m.size && a - m.base <= ptrdiff_t(m.size - len)) {
      *fd = m.fd;
      *offset = m.offset + uint64_t(a - m.base);
      return true;
    }
  }
  return false;
}

MappedRequest::MappedRequest(const ipc::Completion& c) : msg_(c.msg) {
  auto set_address = [&](uint32_t off, const void* p) {
    // address is the first field of both OOL descriptor shapes.
    if (off + sizeof(uint64_t) <= msg_.size()) {
      const uint64_t a = reinterpret_cast<uintptr_t>(p);
      memcpy(msg_.data() + off, &a, sizeof a);
    }
  };
  for (const ipc::OolOut& o : c.ool) {
    const void* p = nullptr;
    if (const auto* in = dynamic_cast<const InlinePayload*>(o.payload.get())) {
      p = in->bytes().data();
    } else if (const auto* mf = dynamic_cast<const MemfdPayload*>(o.payload.get())) {
      void* m = mmap(nullptr, mf->size(), PROT_READ, MAP_PRIVATE, mf->fd(), off_t(mf->offset()));
      if (m != MAP_FAILED) {
        maps_.emplace_back(m, mf->size());
        g_mapped_sources.push_back({static_cast<const uint8_t*>(m), mf->size(), mf->fd(), mf->offset()});
        p = m;
      }
    }
    set_address(o.descriptor_offset, p);
  }
  for (const ipc::OolPortsOut& o : c.ool_ports) set_address(o.descriptor_offset, o.names.data());
}

MappedRequest::~MappedRequest() {
  for (auto& [p, n] : maps_) {
    std::erase_if(g_mapped_sources, [p = p](const MappedSource& m) { return m.base == p; });
    munmap(p, n);
  }
}

namespace {
std::vector<void*> g_reply_allocations;
}  // namespace

void* reply_alloc(size_t size) {
  void* p = calloc(1, size ? size : 1);
  if (p) g_reply_allocations.push_back(p);
  return p;
}

void copy_message_payloads(const std::vector<uint8_t>& msg, ipc::SendArgs& send,
                           const std::function<std::unique_ptr<ipc::OolPayload>(const void*, uint64_t)>& source) {
  mach_msg_header_t h;
  if (msg.size() >= sizeof h) memcpy(&h, msg.data(), sizeof h);
  if (msg.size() >= sizeof h + sizeof(mach_msg_body_t) && (h.msgh_bits & MACH_MSGH_BITS_COMPLEX)) {
    mach_msg_body_t body;
    memcpy(&body, msg.data() + sizeof h, sizeof body);
    size_t off = sizeof h + sizeof body;
    for (uint32_t i = 0; i < body.msgh_descriptor_count && off + 12 <= msg.size(); ++i) {
      mach_msg_type_descriptor_t t;
      memcpy(&t, msg.data() + off, sizeof t);
      if (t.type == MACH_MSG_PORT_DESCRIPTOR) {
        off += sizeof(mach_msg_port_descriptor_t);
        continue;
      }
      if (off + sizeof(mach_msg_ool_descriptor_t) > msg.size()) break;
      if (t.type == MACH_MSG_OOL_PORTS_DESCRIPTOR) {
        mach_msg_ool_ports_descriptor_t d;
        memcpy(&d, msg.data() + off, sizeof d);
        const auto* names = static_cast<const mach_port_name_t*>(d.address);
        send.ool_ports.emplace_back(names, names ? names + d.count : names);
      } else if (t.type == MACH_MSG_OOL_DESCRIPTOR || t.type == MACH_MSG_OOL_VOLATILE_DESCRIPTOR) {
        mach_msg_ool_descriptor_t d;
        memcpy(&d, msg.data() + off, sizeof d);
        std::span<const uint8_t> bytes(static_cast<const uint8_t*>(d.address), d.address ? d.size : 0);
        std::unique_ptr<ipc::OolPayload> own = source && !bytes.empty() ? source(d.address, d.size) : nullptr;
        if (own) send.ool.push_back(std::move(own));
        else if (bytes.empty()) send.ool.push_back(nullptr);
        else if (bytes.size() < MACHD_OOL_INLINE_MAX)
          send.ool.push_back(std::make_unique<InlinePayload>(std::vector<uint8_t>(bytes.begin(), bytes.end())));
        else send.ool.push_back(MemfdPayload::from_bytes(bytes));
      }
      off += sizeof(mach_msg_ool_descriptor_t);
    }
  }
}

void take_reply_payloads(const std::vector<uint8_t>& msg, ipc::SendArgs& send) {
  copy_message_payloads(msg, send);
  for (void* p : g_reply_allocations) free(p);
  g_reply_allocations.clear();
}

}  // namespace machd
