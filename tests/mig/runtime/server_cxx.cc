// tests/mig/runtime/server_cxx.cc — the rtproof server written against the
// typed C++ face (`mig -cxx`): a mig::rtproof::Server whose handlers take
// owners (mig::OolBuffer, mig::SendRight, ...) by value, served by
// libmach-compat's mach_msg_server_once.
//
// The handlers never free what they receive by hand: an owner that is not
// moved elsewhere releases its right or memory when the handler returns,
// whatever it returns.
#include <sys/mman.h>

#include <cctype>
#include <cstring>

#include "harness.h"
#include "rtproof.hpp"
#include "server.h"

namespace {

using mig::rtproof::rp_ints_elem_t;
using mig::rtproof::rp_names_elem_t;
using mig::rtproof::rp_ool_ints_elem_t;
using mig::rtproof::vm_offset_elem_t;

// Sends an empty message with `id` on a send right, consuming it.
void send_id(mig::SendRight right, mach_msg_id_t id) {
  mach_msg_header_t h{};
  h.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND, 0);
  h.msgh_size = sizeof h;
  h.msgh_remote_port = right.get();
  h.msgh_id = id;
  if (mach_msg(&h, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof h, 0, MACH_PORT_NULL, 1000, MACH_PORT_NULL) ==
      MACH_MSG_SUCCESS)
    (void)right.release();  // the message took it
}

class Impl final : public mig::rtproof::Server {
 public:
  bool quit_requested() const { return quit_; }

  kern_return_t sum_inline(mach_port_t, std::span<const rp_ints_elem_t> xs,
                           const mig::detail::value_t<rp_quad_t>& quad, int32_t& sum,
                           std::vector<rp_ints_elem_t>& reversed,
                           mig::detail::value_t<rp_quad_t>& oquad) override {
    sum = 0;
    for (int32_t x : xs) sum += x;
    for (int32_t q : quad) sum += q;
    reversed.assign(xs.rbegin(), xs.rend());
    for (int i = 0; i < 4; ++i) oquad[i] = quad[3 - i];
    return KERN_SUCCESS;
  }

  kern_return_t ool_echo(mach_port_t, mig::OolBuffer<vm_offset_elem_t> data, uint32_t& checksum,
                         mig::OolBuffer<vm_offset_elem_t>& echo) override {
    checksum = rp_checksum(data.data(), data.size_bytes());
    if (data.empty()) return KERN_SUCCESS;
    echo = mig::OolBuffer<vm_offset_elem_t>::allocate(data.size());
    if (echo.empty()) return KERN_RESOURCE_SHORTAGE;
    for (size_t i = 0; i < data.size(); ++i) echo[i] = static_cast<vm_offset_elem_t>(data[i] ^ 0x5a);
    remember_reply(echo.data(), echo.size_bytes());
    return KERN_SUCCESS;
  }

  kern_return_t ool_consume(mach_port_t, mig::OolBuffer<vm_offset_elem_t> data, uint32_t& checksum) override {
    checksum = rp_checksum(data.data(), data.size_bytes());
    return KERN_SUCCESS;
  }

  kern_return_t ool_ints(mach_port_t, mig::OolBuffer<rp_ool_ints_elem_t> ints, int64_t& total,
                         mig::OolBuffer<rp_ool_ints_elem_t>& doubled) override {
    total = 0;
    doubled = mig::OolBuffer<rp_ool_ints_elem_t>::allocate(ints.size());
    for (size_t i = 0; i < ints.size(); ++i) {
      total += ints[i];
      doubled[i] = ints[i] * 2;
    }
    remember_reply(doubled.data(), doubled.size_bytes());
    return KERN_SUCCESS;
  }

  kern_return_t last_reply_unmapped(mach_port_t, int32_t& unmapped) override {
    unmapped = last_reply_len_ > 0 && !rp_is_mapped(last_reply_addr_, last_reply_len_);
    return KERN_SUCCESS;
  }

  kern_return_t ports_move(mach_port_t, mig::OolPorts<mig::SendRight> ports, int32_t base, int32_t& count) override {
    return send_on_each(ports, base, count);
  }

  kern_return_t ports_copy(mach_port_t, mig::OolPorts<mig::SendRight> ports, int32_t base, int32_t& count) override {
    return send_on_each(ports, base, count);
  }

  kern_return_t ports_copy_few(mach_port_t, std::vector<mig::SendRight> ports, int32_t base, int32_t& count) override {
    count = 0;
    for (auto& p : ports) send_id(std::move(p), base + count++);
    return KERN_SUCCESS;
  }

  kern_return_t ports_out(mach_port_t, int32_t n, mig::OolBuffer<mach_port_t>& ports) override {
    if (n < 0 || n > 16 || !out_ports_.empty()) return KERN_INVALID_ARGUMENT;
    ports = mig::OolBuffer<mach_port_t>::allocate(size_t(n));
    for (int32_t i = 0; i < n; ++i) {
      mach_port_t p = MACH_PORT_NULL;
      if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS)
        return KERN_RESOURCE_SHORTAGE;
      out_ports_.emplace_back(p);
      ports[size_t(i)] = p;
    }
    remember_reply(ports.data(), ports.size_bytes());
    return KERN_SUCCESS;
  }

  kern_return_t ports_collect(mach_port_t, std::vector<rp_ints_elem_t>& ids) override {
    for (auto& r : out_ports_) {
      struct {
        mach_msg_header_t h;
        mach_msg_max_trailer_t t;
      } m{};
      mach_msg_return_t mr = mach_msg(&m.h, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof m, r.get(), 100, MACH_PORT_NULL);
      ids.push_back(mr == MACH_MSG_SUCCESS ? m.h.msgh_id : -1);
      if (mr == MACH_MSG_SUCCESS) mach_msg_destroy(&m.h);
    }
    out_ports_.clear();  // the receive rights go with their owners
    return KERN_SUCCESS;
  }

  kern_return_t poly_echo(mach_port_t, mig::AnyRight p, uint32_t& received_type, mach_port_t& back,
                          mach_msg_type_name_t& backPoly) override {
    received_type = p.type();
    switch (p.type()) {
      case MACH_MSG_TYPE_PORT_SEND: backPoly = MACH_MSG_TYPE_MOVE_SEND; break;
      case MACH_MSG_TYPE_PORT_SEND_ONCE: backPoly = MACH_MSG_TYPE_MOVE_SEND_ONCE; break;
      case MACH_MSG_TYPE_PORT_RECEIVE: backPoly = MACH_MSG_TYPE_MOVE_RECEIVE; break;
      default: return KERN_INVALID_RIGHT;
    }
    back = p.release();
    return KERN_SUCCESS;
  }

  kern_return_t strings(mach_port_t, std::string_view text, std::string_view name, std::string& upper_text,
                        std::string& upper_name, int32_t& text_len, int32_t& name_len) override {
    auto up = [](std::string_view s) {
      std::string o(s);
      for (char& c : o) c = char(std::toupper(static_cast<unsigned char>(c)));
      return o;
    };
    upper_text = up(text);
    upper_name = up(name);
    text_len = int32_t(text.size());
    name_len = int32_t(name.size());
    return KERN_SUCCESS;
  }

  kern_return_t audit(mach_port_t, audit_token_t tok, int32_t& pid, int32_t& euid, int32_t& egid) override {
    euid = int32_t(tok.val[1]);
    egid = int32_t(tok.val[2]);
    pid = int32_t(tok.val[5]);
    return KERN_SUCCESS;
  }

  kern_return_t note(mach_port_t, int32_t value) override {
    ++notes_;
    last_note_ = value;
    return KERN_SUCCESS;
  }

  kern_return_t notes(mach_port_t, int32_t& count, int32_t& last) override {
    count = notes_;
    last = last_note_;
    return KERN_SUCCESS;
  }

  kern_return_t fail_with(mach_port_t, int32_t code, int32_t& never) override {
    never = 42;
    return code;
  }

  kern_return_t fail_ool_reply(mach_port_t, int32_t code, mig::OolBuffer<vm_offset_elem_t>& data) override {
    // Memory made before failing is not sent: its owner frees it.
    data = mig::OolBuffer<vm_offset_elem_t>::allocate(4096);
    std::memset(data.data(), 0xa5, data.size_bytes());
    return code;
  }

  kern_return_t reject(mach_port_t, int32_t code, mig::OolBuffer<vm_offset_elem_t> data,
                       mig::OolBuffer<vm_offset_elem_t> big, mig::OolBuffer<rp_ool_ints_elem_t> ints,
                       mig::SendRight right, mig::ReceiveRight recv, mig::SendOnceRight once,
                       mig::OolPorts<mig::SendRight> ports) override {
    (void)right, (void)recv, (void)once;
    reject_[0] = {vm_offset_t(data.data()), data.size_bytes()};
    reject_[1] = {vm_offset_t(big.data()), big.size_bytes()};
    reject_[2] = {vm_offset_t(ints.data()), ints.size_bytes()};
    reject_[3] = {vm_offset_t(ports.names().data()), ports.size() * sizeof(mach_port_t)};
    // Success or failure, the owners give everything back on return.
    return code;
  }

  kern_return_t census(mach_port_t, mig::OolBuffer<rp_names_elem_t>& names,
                       mig::OolBuffer<rp_names_elem_t>& types) override {
    mach_port_name_array_t n = nullptr;
    mach_port_type_array_t t = nullptr;
    mach_msg_type_number_t nc = 0, tc = 0;
    kern_return_t kr = mach_port_names(mach_task_self(), &n, &nc, &t, &tc);
    if (kr != KERN_SUCCESS) return kr;
    names = mig::OolBuffer<rp_names_elem_t>(n, nc);
    types = mig::OolBuffer<rp_names_elem_t>(t, tc);
    return KERN_SUCCESS;
  }

  kern_return_t reject_unmapped(mach_port_t, int32_t& unmapped) override {
    unmapped = 0;
    for (int i = 0; i < 4; ++i)
      if (reject_[i].len > 0 && !rp_is_mapped(reject_[i].addr, reject_[i].len)) unmapped |= 1 << i;
    return KERN_SUCCESS;
  }

  kern_return_t trade(mach_port_t, int32_t code, mig::OolBuffer<vm_offset_elem_t> data, mig::SendRight right,
                      mig::OolBuffer<vm_offset_elem_t>& odata, mig::SendRight& oright) override {
    for (auto& r : reject_) r = {};
    reject_[0] = {vm_offset_t(data.data()), data.size_bytes()};
    if (code != KERN_SUCCESS) return code;
    odata = std::move(data);
    oright = std::move(right);
    return KERN_SUCCESS;
  }

  kern_return_t quit(mach_port_t) override {
    quit_ = true;
    return KERN_SUCCESS;
  }

 private:
  struct Region {
    vm_offset_t addr = 0;
    size_t len = 0;
  };

  void remember_reply(const void* p, size_t len) {
    last_reply_addr_ = vm_offset_t(p);
    last_reply_len_ = len;
  }

  static kern_return_t send_on_each(mig::OolPorts<mig::SendRight>& ports, int32_t base, int32_t& count) {
    count = int32_t(ports.size());
    for (size_t i = 0; i < ports.size(); ++i) send_id(ports.take(i), base + int32_t(i));
    return KERN_SUCCESS;
  }

  bool quit_ = false;
  int32_t notes_ = 0, last_note_ = 0;
  vm_offset_t last_reply_addr_ = 0;
  size_t last_reply_len_ = 0;
  std::vector<mig::ReceiveRight> out_ports_;
  Region reject_[4];
};

Impl* g_impl = nullptr;

boolean_t demux(mach_msg_header_t* in, mach_msg_header_t* out) { return g_impl->dispatch(in, out); }

}  // namespace

int rt::serve(mach_port_t port) {
  static Impl impl;
  g_impl = &impl;
  mig::ReceiveRight service(port);
  const mach_msg_size_t max = std::max(Impl::kMaxRequestSize, Impl::kMaxReplySize);
  while (!impl.quit_requested()) {
    mach_msg_return_t mr = mach_msg_server_once(demux, max, service.get(), Impl::kRcvTrailer);
    if (mr != MACH_MSG_SUCCESS) return 1;
  }
  return 0;
}
