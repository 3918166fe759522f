// machd/daemon/msg_codec.cc — see msg_codec.h.
#include "msg_codec.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ool_payload.h"

namespace machd {

namespace {
constexpr uint64_t align8(uint64_t v) { return (v + 7) & ~uint64_t(7); }

template <typename T>
bool read_at(const std::vector<uint8_t>& d, uint64_t off, T& out) {
  if (off > d.size() || d.size() - off < sizeof(T)) return false;
  memcpy(&out, d.data() + off, sizeof(T));
  return true;
}
}  // namespace

mach_msg_return_t decode_msg_request(Request& req, ipc::MsgArgs& out) {
  const uint64_t options = req.args[0];
  const uint64_t send_size = req.args[1];
  const uint64_t n_ool = req.args[6];
  const uint64_t n_ool_ports = req.args[7];
  out.options = mach_msg_option_t(options);
  out.rcv_size = mach_msg_size_t(req.args[2]);
  out.rcv_name = mach_port_name_t(req.args[3]);
  out.timeout = mach_msg_timeout_t(req.args[4]);
  out.notify = mach_port_name_t(req.args[5]);
  out.msg_addr = req.args[8];
  out.rcv_addr = req.args[9];
  if ((options & MACH_SEND_MSG) == 0) return MACH_MSG_SUCCESS;

  if (send_size > MACHD_MSG_SIZE_LIMIT) return MACH_SEND_TOO_LARGE;
  if (send_size > MACHD_MSG_MAX) {
    // A large message: the last fd holds it; what follows it is in the
    // channel, laid out as if the message came first (machd_abi.h).
    if (req.fds.empty()) return MACH_SEND_INVALID_DATA;
    const int fd = req.fds.back();
    std::vector<uint8_t> whole(align8(send_size));
    for (uint64_t done = 0; done < send_size;) {
      ssize_t n = pread(fd, whole.data() + done, send_size - done, off_t(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return MACH_SEND_INVALID_DATA;
      done += uint64_t(n);
    }
    whole.insert(whole.end(), req.data.begin(), req.data.end());
    req.data.swap(whole);
  }
  const auto& d = req.data;
  if (send_size > d.size()) return MACH_SEND_INVALID_DATA;
  if (n_ool > d.size() / sizeof(machd_ool_in) || n_ool_ports > d.size() / 8)
    return MACH_SEND_INVALID_DATA;
  ipc::SendArgs send;
  send.msg.assign(d.begin(), d.begin() + long(send_size));
  uint64_t off = align8(send_size);
  send.ool.reserve(n_ool);
  std::vector<std::shared_ptr<const SharedFd>> shared_fds(req.fds.size());  // by fd_index
  for (uint64_t i = 0; i < n_ool; ++i, off += sizeof(machd_ool_in)) {
    machd_ool_in rec{};
    if (!read_at(d, off, rec)) return MACH_SEND_INVALID_DATA;
    switch (rec.kind) {
      case MACHD_OOL_EMPTY:
        send.ool.push_back(nullptr);
        break;
      case MACHD_OOL_INLINE: {
        if (rec.offset > d.size() || d.size() - rec.offset < rec.size) return MACH_SEND_INVALID_MEMORY;
        const uint8_t* p = d.data() + rec.offset;
        send.ool.push_back(std::make_unique<InlinePayload>(std::vector<uint8_t>(p, p + rec.size)));
        break;
      }
      case MACHD_OOL_FD: {
        if (rec.fd_index >= req.fds.size() || req.fds[rec.fd_index] < 0) return MACH_SEND_INVALID_MEMORY;
        // Several regions may live in one memfd (at page-aligned offsets):
        // they share one duplicate; ~Request closes the original.
        auto& shared = shared_fds[rec.fd_index];
        if (!shared) {
          int fd = fcntl(req.fds[rec.fd_index], F_DUPFD_CLOEXEC, 0);
          if (fd < 0) return MACH_SEND_NO_BUFFER;
          shared = std::make_shared<const SharedFd>(fd);
        }
        auto p = MemfdPayload::adopt(shared, rec.offset, rec.size);
        if (!p) return MACH_SEND_INVALID_MEMORY;
        send.ool.push_back(std::move(p));
        break;
      }
      default:
        return MACH_SEND_INVALID_DATA;
    }
  }
  send.ool_ports.reserve(n_ool_ports);
  for (uint64_t i = 0; i < n_ool_ports; ++i) {
    uint32_t count = 0;
    if (!read_at(d, off, count)) return MACH_SEND_INVALID_DATA;
    off += 8;
    if (count > (d.size() - std::min<uint64_t>(off, d.size())) / sizeof(mach_port_name_t))
      return MACH_SEND_INVALID_DATA;
    std::vector<mach_port_name_t> names(count);
    if (count) memcpy(names.data(), d.data() + off, count * sizeof(mach_port_name_t));
    off = align8(off + uint64_t(count) * sizeof(mach_port_name_t));
    send.ool_ports.push_back(std::move(names));
  }
  // The receiver's reply must fit its channel too: a (larger) machd_ool_out
  // per descriptor and the port arrays; the message with the largest trailer
  // as well unless it will travel in a memfd (out-of-line memory that does
  // not fit travels as a memfd).
  const uint64_t msg_part = send_size + sizeof(mach_msg_max_trailer_t) <= MACHD_MSG_MAX
                                ? align8(send_size + sizeof(mach_msg_max_trailer_t))
                                : 0;
  uint64_t reply = msg_part + (n_ool + n_ool_ports) * sizeof(machd_ool_out);
  for (const auto& names : send.ool_ports) reply += align8(names.size() * sizeof(mach_port_name_t));
  if (reply > MACHD_CHANNEL_DATA_SIZE) return MACH_SEND_TOO_LARGE;
  out.send = std::move(send);
  return MACH_MSG_SUCCESS;
}

void encode_completion(ipc::Completion& c, Session& s, Reply& out) {
  out.result = c.result;
  out.rets[0] = c.msg.empty() ? 0 : (MACHD_MSG_HAS_MSG | (c.returned_send ? MACHD_MSG_RETURNED_SEND : 0));
  out.rets[1] = c.msg.size();
  out.rets[2] = c.ool.size();
  out.rets[3] = c.ool_ports.size();
  const uint64_t nrec = c.ool.size() + c.ool_ports.size();
  // A message larger than a channel holds goes in a memfd (machd_abi.h).
  const bool in_fd = c.msg.size() > MACHD_MSG_MAX;
  size_t in_channel = in_fd ? 0 : c.msg.size();  // message bytes in the channel
  if (in_fd) {
    auto m = MemfdPayload::from_bytes(c.msg);
    const uint64_t tag = s.next_fd_tags(1);
    const int fd = m ? m->fd() : -1;
    if (m && s.send_fds(std::span<const int>(&fd, 1), tag)) {
      out.rets[0] |= MACHD_MSG_IN_FD;
      out.rets[4] = tag;
    } else {
      // It cannot reach the client (out of memory, or its socket is full):
      // as a message too large for the receiver, only the header arrives.
      in_channel = sizeof(mach_msg_header_t);
      out.rets[1] = in_channel;
      if (out.result == MACH_MSG_SUCCESS) out.result = MACH_RCV_TOO_LARGE;
    }
  }
  const uint64_t rec_off = align8(in_channel);
  uint64_t inline_off = rec_off + nrec * sizeof(machd_ool_out);
  out.data.assign(inline_off, 0);
  if (in_channel) memcpy(out.data.data(), c.msg.data(), in_channel);

  // Room kept for the port arrays, which are always inline.
  uint64_t ports_bytes = 0;
  for (const auto& p : c.ool_ports) ports_bytes += align8(p.names.size() * sizeof(mach_port_name_t));
  std::vector<machd_ool_out> recs(nrec);
  std::vector<std::unique_ptr<MemfdPayload>> to_send;  // keep alive until sent
  std::vector<int> fds;
  for (size_t i = 0; i < c.ool.size(); ++i) {
    machd_ool_out& r = recs[i];
    r.descriptor_offset = c.ool[i].descriptor_offset;
    ipc::OolPayload* p = c.ool[i].payload.get();
    if (p == nullptr || p->size() == 0) {
      r.kind = MACHD_OOL_EMPTY;
      continue;
    }
    r.size = p->size();
    if (auto* in = dynamic_cast<InlinePayload*>(p)) {
      if (align8(out.data.size()) + align8(in->size()) + ports_bytes <= MACHD_CHANNEL_DATA_SIZE) {
        out.data.resize(align8(out.data.size()));
        r.kind = MACHD_OOL_INLINE;
        r.offset = out.data.size();
        out.data.insert(out.data.end(), in->bytes().begin(), in->bytes().end());
        continue;
      }
      auto m = MemfdPayload::from_bytes(in->bytes());
      if (!m) { r.kind = MACHD_OOL_EMPTY; r.size = 0; continue; }
      r.kind = MACHD_OOL_FD;
      r.offset = 0;
      fds.push_back(m->fd());
      to_send.push_back(std::move(m));
      continue;
    }
    auto* m = static_cast<MemfdPayload*>(p);
    r.kind = MACHD_OOL_FD;
    r.offset = m->offset();
    fds.push_back(m->fd());
  }
  for (size_t i = 0; i < c.ool_ports.size(); ++i) {
    machd_ool_out& r = recs[c.ool.size() + i];
    r.descriptor_offset = c.ool_ports[i].descriptor_offset;
    r.kind = MACHD_OOL_INLINE;
    r.size = c.ool_ports[i].names.size() * sizeof(mach_port_name_t);
    out.data.resize(align8(out.data.size()));
    r.offset = out.data.size();
    const auto* b = reinterpret_cast<const uint8_t*>(c.ool_ports[i].names.data());
    out.data.insert(out.data.end(), b, b + r.size);
  }
  if (!fds.empty()) {
    uint64_t tag = s.next_fd_tags(uint32_t(fds.size()));
    size_t k = 0;
    for (auto& r : recs)
      if (r.kind == MACHD_OOL_FD) r.fd_tag = tag + k++;
    if (!s.send_fds(fds, tag)) {
      // The client's socket is full or gone: it cannot get the memory. As
      // when XNU cannot map out-of-line memory into the receiver, the message
      // arrives (rights and all) without those regions, and the receive says
      // MACH_RCV_BODY_ERROR | MACH_MSG_VM_SPACE instead of hanging.
      for (auto& r : recs) {
        if (r.kind != MACHD_OOL_FD) continue;
        r.kind = MACHD_OOL_EMPTY;
        r.size = 0;
        const size_t size_field = r.descriptor_offset + offsetof(mach_msg_ool_descriptor_t, size);
        if (size_field + sizeof(mach_msg_size_t) <= c.msg.size()) memset(out.data.data() + size_field, 0, 4);
      }
      if (out.result == MACH_MSG_SUCCESS && !c.returned_send) out.result = MACH_RCV_BODY_ERROR | MACH_MSG_VM_SPACE;
    }
  }
  if (nrec) memcpy(out.data.data() + rec_off, recs.data(), nrec * sizeof(machd_ool_out));
  // The message (and its payloads) now belong to the receiver; the sent fds
  // are duplicates in its process, ours close with the payloads.
}

}  // namespace machd
