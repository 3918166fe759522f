// tests/ipc/harness.cc — wire encoding/decoding and the leak check.
#include "harness.h"

#include <algorithm>
#include <cstdio>

namespace machd::ipc::test {

namespace {

template <typename T>
void put(std::vector<uint8_t>& b, const T& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  b.insert(b.end(), p, p + sizeof v);
}

template <typename T>
T get(const std::vector<uint8_t>& b, size_t off) {
  T v{};
  EXPECT_LE(off + sizeof v, b.size()) << "read past the end of a received message";
  if (off + sizeof v <= b.size()) std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}

}  // namespace

SendArgs Msg::encode() const {
  SendArgs a;
  std::vector<uint8_t>& b = a.msg;
  mach_msg_header_t h{};
  const bool cx = complex || !descs.empty();
  h.msgh_bits = MACH_MSGH_BITS_SET(remote_disp, local_disp, voucher_disp, cx ? MACH_MSGH_BITS_COMPLEX : 0) |
                extra_bits;
  h.msgh_remote_port = remote;
  h.msgh_local_port = local;
  h.msgh_voucher_port = voucher;
  h.msgh_id = id;
  put(b, h);
  if (cx) {
    mach_msg_body_t body{static_cast<mach_msg_size_t>(descs.size())};
    put(b, body);
    for (const Desc& d : descs) {
      switch (d.type) {
        case MACH_MSG_PORT_DESCRIPTOR: {
          mach_msg_port_descriptor_t pd{};
          pd.name = d.name;
          pd.disposition = d.disposition;
          pd.type = MACH_MSG_PORT_DESCRIPTOR;
          put(b, pd);
          break;
        }
        case MACH_MSG_OOL_DESCRIPTOR:
        case MACH_MSG_OOL_VOLATILE_DESCRIPTOR: {
          mach_msg_ool_descriptor64_t od{};
          od.address = d.ool.empty() ? 0 : 0x7f0000001000ull;  // ignored by the core
          od.deallocate = d.deallocate;
          od.copy = d.copy;
          od.type = d.type;
          od.size = static_cast<mach_msg_size_t>(d.ool.size());
          put(b, od);
          a.ool.push_back(d.ool.empty() ? nullptr : std::make_unique<BytesPayload>(d.ool));
          break;
        }
        case MACH_MSG_OOL_PORTS_DESCRIPTOR: {
          mach_msg_ool_ports_descriptor64_t pd{};
          pd.address = 0x7f0000002000ull;
          pd.deallocate = d.deallocate;
          pd.copy = d.copy;
          pd.disposition = d.disposition;
          pd.type = MACH_MSG_OOL_PORTS_DESCRIPTOR;
          pd.count = static_cast<mach_msg_size_t>(d.ports.size());
          put(b, pd);
          a.ool_ports.push_back(d.ports);
          break;
        }
        case MACH_MSG_GUARDED_PORT_DESCRIPTOR: {
          mach_msg_guarded_port_descriptor64_t gd{};
          gd.context = d.context;
          gd.flags = d.guard_flags;
          gd.disposition = d.disposition;
          gd.type = MACH_MSG_GUARDED_PORT_DESCRIPTOR;
          gd.name = d.name;
          put(b, gd);
          break;
        }
        default: {
          // An invalid type, for error tests: 12 bytes with the type byte.
          mach_msg_type_descriptor_t td{};
          td.type = d.type;
          put(b, td);
          break;
        }
      }
    }
  }
  b.insert(b.end(), data.begin(), data.end());
  h.msgh_size = static_cast<mach_msg_size_t>(b.size());
  std::memcpy(b.data(), &h, sizeof h);
  return a;
}

Received decode(Completion&& c) {
  Received r;
  r.mr = c.result;
  r.returned_send = c.returned_send;
  r.raw = c.msg;
  const std::vector<uint8_t>& b = c.msg;
  if (b.size() < sizeof(mach_msg_header_t)) return r;
  r.has_header = true;
  r.hdr = get<mach_msg_header_t>(b, 0);
  const uint32_t size = r.hdr.msgh_size;
  if (size > b.size()) return r;  // size-only reports (MACH_RCV_TOO_LARGE)
  size_t off = sizeof(mach_msg_header_t);
  if ((r.hdr.msgh_bits & MACH_MSGH_BITS_COMPLEX) && size >= off + 4) {
    const uint32_t count = get<mach_msg_body_t>(b, off).msgh_descriptor_count;
    off += 4;
    for (uint32_t i = 0; i < count && off + 12 <= size; i++) {
      DescOut d;
      d.type = b[off + 11];
      switch (d.type) {
        case MACH_MSG_PORT_DESCRIPTOR: {
          auto pd = get<mach_msg_port_descriptor_t>(b, off);
          d.name = pd.name;
          d.disposition = pd.disposition;
          off += 12;
          break;
        }
        case MACH_MSG_OOL_DESCRIPTOR:
        case MACH_MSG_OOL_VOLATILE_DESCRIPTOR: {
          auto od = get<mach_msg_ool_descriptor64_t>(b, off);
          d.size = od.size;
          d.deallocate = od.deallocate;
          d.copy = od.copy;
          for (auto& o : c.ool)
            if (o.descriptor_offset == off) {
              if (o.payload) d.ool = static_cast<BytesPayload*>(o.payload.get())->data;
            }
          off += 16;
          break;
        }
        case MACH_MSG_OOL_PORTS_DESCRIPTOR: {
          auto pd = get<mach_msg_ool_ports_descriptor64_t>(b, off);
          d.size = pd.count;
          d.disposition = pd.disposition;
          d.deallocate = pd.deallocate;
          d.copy = pd.copy;
          for (auto& o : c.ool_ports)
            if (o.descriptor_offset == off) d.ports = o.names;
          EXPECT_EQ(d.ports.size(), d.size) << "OOL ports array does not match its count";
          off += 16;
          break;
        }
        case MACH_MSG_GUARDED_PORT_DESCRIPTOR: {
          auto gd = get<mach_msg_guarded_port_descriptor64_t>(b, off);
          d.name = gd.name;
          d.disposition = gd.disposition;
          d.context = gd.context;
          d.guard_flags = gd.flags;
          off += 16;
          break;
        }
        default:
          ADD_FAILURE() << "unknown descriptor type in a received message";
          off += 12;
      }
      r.descs.push_back(std::move(d));
    }
  }
  if (off < size) r.data.assign(b.begin() + off, b.begin() + size);
  // The trailer starts at round_msg(msgh_size).
  const size_t t = round_msg(size);
  if (b.size() > t) {
    r.trailer_bytes = static_cast<uint32_t>(b.size() - t);
    std::memcpy(&r.trailer, b.data() + t, std::min<size_t>(r.trailer_bytes, sizeof r.trailer));
  }
  return r;
}

// ---- fixture ----------------------------------------------------------------

TaskId IpcTest::task(uint32_t pid) {
  Credentials c;
  c.pid = pid ? pid : 1000 + static_cast<uint32_t>(tasks_.size());
  c.uid = c.euid = 501;
  c.gid = c.egid = 20;
  c.pidversion = 7;
  TaskId t = k.task_create(c);
  EXPECT_NE(t, kNoTask);
  tasks_.push_back(t);
  return t;
}

void IpcTest::kill(TaskId t) {
  k.task_terminate(t);
  tasks_.erase(std::remove(tasks_.begin(), tasks_.end(), t), tasks_.end());
  collect();
}

void IpcTest::expect_no_leaks() {
  for (TaskId t : tasks_) k.task_terminate(t);
  tasks_.clear();
  while (k.reap(UINT64_MAX)) {
  }
  k.take_completions();
  Stats s = k.stats();
  EXPECT_EQ(s.tasks, 1u) << "only the kernel task may remain";
  EXPECT_EQ(s.ports, 0u) << "ports leaked";
  EXPECT_EQ(s.port_sets, 0u) << "port sets leaked";
  EXPECT_EQ(s.entries, 0u) << "names leaked";
  EXPECT_EQ(s.messages, 0u) << "messages leaked";
  EXPECT_EQ(s.ool_payloads, 0u) << "payloads leaked";
  EXPECT_EQ(s.waiters, 0u) << "waiters leaked";
  EXPECT_EQ(s.credits, 0u) << "send credits leaked";
  EXPECT_EQ(s.lanes, 0u) << "receive lanes leaked";
  EXPECT_EQ(s.vouchers, 0u) << "vouchers leaked";
  EXPECT_EQ(s.voucher_values, 0u) << "voucher attribute values leaked";
  done_.clear();
  EXPECT_EQ(BytesPayload::live, 0) << "OOL payload objects leaked";
}

void IpcTest::TearDown() { expect_no_leaks(); }

mach_port_name_t IpcTest::recv_port(TaskId t) {
  mach_port_name_t n = MACH_PORT_NULL;
  EXPECT_EQ(k.port_allocate(t, MACH_PORT_RIGHT_RECEIVE, &n), KERN_SUCCESS);
  return n;
}

mach_port_name_t IpcTest::port_with_send(TaskId t) {
  mach_port_name_t n = recv_port(t);
  EXPECT_EQ(k.port_insert_right(t, t, n, n, MACH_MSG_TYPE_MAKE_SEND), KERN_SUCCESS);
  return n;
}

mach_port_name_t IpcTest::extract(TaskId owner, mach_port_name_t name, mach_msg_type_name_t disp,
                                   TaskId to, mach_msg_type_name_t* type) {
  mach_port_name_t out = MACH_PORT_NULL;
  mach_msg_type_name_t t = 0;
  EXPECT_EQ(k.port_extract_right(to, owner, name, disp, &out, type ? type : &t), KERN_SUCCESS);
  return out;
}

mach_port_name_t IpcTest::give_send(TaskId owner, mach_port_name_t name, TaskId to) {
  mach_msg_type_name_t type = 0;
  mach_port_name_t out = extract(owner, name, MACH_MSG_TYPE_MAKE_SEND, to, &type);
  EXPECT_EQ(type, static_cast<mach_msg_type_name_t>(MACH_MSG_TYPE_PORT_SEND));
  return out;
}

mach_port_name_t IpcTest::give_send_once(TaskId owner, mach_port_name_t name, TaskId to) {
  return extract(owner, name, MACH_MSG_TYPE_MAKE_SEND_ONCE, to);
}

mach_port_name_t IpcTest::move_receive(TaskId owner, mach_port_name_t name, TaskId to) {
  return extract(owner, name, MACH_MSG_TYPE_MOVE_RECEIVE, to);
}

Msg IpcTest::simple(mach_port_name_t dest, mach_msg_id_t id, mach_msg_type_name_t dest_disp) {
  Msg m;
  m.remote = dest;
  m.remote_disp = dest_disp;
  m.id = id;
  return m;
}

Received IpcTest::send_full(TaskId t, const Msg& m, mach_msg_option_t extra,
                            mach_msg_timeout_t timeout, WaiterId w) {
  MsgArgs a;
  a.options = MACH_SEND_MSG | extra;
  a.send = m.encode();
  a.timeout = timeout;
  return run(t, std::move(a), w);
}

mach_msg_return_t IpcTest::send(TaskId t, const Msg& m, mach_msg_option_t extra,
                                mach_msg_timeout_t timeout, WaiterId w) {
  Received r = send_full(t, m, extra, timeout, w);
  return r.blocked ? kBlocked : r.mr;
}

Received IpcTest::receive(TaskId t, mach_port_name_t name, mach_msg_option_t extra,
                          mach_msg_size_t size, bool block, WaiterId w, mach_msg_timeout_t timeout) {
  MsgArgs a;
  a.options = MACH_RCV_MSG | extra | (block ? 0 : MACH_RCV_TIMEOUT);
  a.rcv_name = name;
  a.rcv_size = size;
  a.timeout = block ? timeout : 0;
  return run(t, std::move(a), w);
}

Received IpcTest::rpc(TaskId t, const Msg& m, mach_port_name_t rcv, mach_msg_option_t extra,
                      mach_msg_size_t size, WaiterId w) {
  MsgArgs a;
  a.options = MACH_SEND_MSG | MACH_RCV_MSG | extra;
  a.send = m.encode();
  a.rcv_name = rcv;
  a.rcv_size = size;
  return run(t, std::move(a), w);
}

Received IpcTest::run(TaskId t, MsgArgs&& a, WaiterId w) {
  MsgOutcome o = k.msg(t, w ? w : next_waiter(), std::move(a), now_);
  collect();
  if (o.blocked) {
    Received r;
    r.blocked = true;
    return r;
  }
  return decode(std::move(o.done));
}

void IpcTest::collect() {
  for (Completion& c : k.take_completions()) {
    WaiterId w = c.waiter;
    done_.emplace_back(w, decode(std::move(c)));
  }
}

std::optional<Received> IpcTest::completion(WaiterId w) {
  collect();
  for (auto it = done_.begin(); it != done_.end(); ++it) {
    if (it->first == w) {
      Received r = std::move(it->second);
      done_.erase(it);
      return r;
    }
  }
  return std::nullopt;
}

mach_port_type_t IpcTest::type_of(TaskId t, mach_port_name_t n) {
  mach_port_type_t type = 0;
  if (k.port_type(t, n, &type) != KERN_SUCCESS) return 0;
  return type;
}

mach_port_urefs_t IpcTest::refs(TaskId t, mach_port_name_t n, mach_port_right_t r) {
  mach_port_urefs_t u = 0;
  EXPECT_EQ(k.port_get_refs(t, n, r, &u), KERN_SUCCESS);
  return u;
}

mach_port_status_t IpcTest::status(TaskId t, mach_port_name_t n) {
  mach_port_status_t s{};
  mach_msg_type_number_t count = MACH_PORT_RECEIVE_STATUS_COUNT;
  EXPECT_EQ(k.port_get_attributes(t, n, MACH_PORT_RECEIVE_STATUS, reinterpret_cast<integer_t*>(&s),
                                  &count),
            KERN_SUCCESS);
  return s;
}

std::string mr_name(mach_msg_return_t mr) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(mr));
  return buf;
}

}  // namespace machd::ipc::test
