// tests/fuzz/fuzz_kernel_server.cc — the MIG servers machd runs (the
// generated demultiplexers of task, mach_port, mach_vm, thread_act,
// mach_host, clock..., and the bootstrap server) fed raw messages: a task
// sends whatever bytes it likes to a kernel-served port, machd's kernel task
// receives them (kern::Dispatch, or the bootstrap server), the generated stub
// checks them and the routine runs. Nothing may crash machd, and nothing may
// stay behind once the task is gone.
//
// Input: u8 target (task port, host port, thread port, bootstrap port), then
// the message (header and body) as the task writes it. The harness puts the
// target in msgh_remote_port (COPY_SEND) and a reply port of the task in
// msgh_local_port (MAKE_SEND_ONCE); every out-of-line region the
// descriptors declare is supplied (zeros, at most 64 KiB), every out-of-line
// port array is filled with the task's own port. It then receives the reply.
#include <mach/exception_types.h>
#include <mach/task_info.h>
#include <mach/task_policy.h>
#include <mach/task_special_ports.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "daemon_probe.h"
#include "fuzz_seeds.h"

namespace {

using machd::probe;

constexpr uint32_t kTargets = 4;

// The out-of-line records (machd_ool_in) and port arrays the descriptors of
// `m` ask for, appended after the message as the client library lays them
// out (msg_codec.h). Returns {n_ool, n_ool_ports}.
std::pair<uint64_t, uint64_t> add_payloads(std::vector<uint8_t>& m, size_t msg_size, mach_port_name_t fill) {
  if (msg_size < sizeof(mach_msg_base_t)) return {0, 0};
  mach_msg_base_t base;
  std::memcpy(&base, m.data(), sizeof base);
  if (!(base.header.msgh_bits & MACH_MSGH_BITS_COMPLEX)) return {0, 0};
  std::vector<uint32_t> ool_sizes, port_counts;
  size_t off = sizeof base;
  for (uint32_t i = 0; i < base.body.msgh_descriptor_count && i < 64; ++i) {
    if (off + sizeof(mach_msg_type_descriptor_t) > msg_size) break;
    mach_msg_type_descriptor_t t;
    std::memcpy(&t, m.data() + off, sizeof t);
    if (t.type == MACH_MSG_PORT_DESCRIPTOR) {
      off += sizeof(mach_msg_port_descriptor_t);
    } else if (t.type == MACH_MSG_OOL_DESCRIPTOR || t.type == MACH_MSG_OOL_VOLATILE_DESCRIPTOR) {
      if (off + sizeof(mach_msg_ool_descriptor_t) > msg_size) break;
      mach_msg_ool_descriptor_t d;
      std::memcpy(&d, m.data() + off, sizeof d);
      ool_sizes.push_back(std::min<uint32_t>(d.size, 65536));
      off += sizeof d;
    } else if (t.type == MACH_MSG_OOL_PORTS_DESCRIPTOR) {
      if (off + sizeof(mach_msg_ool_ports_descriptor_t) > msg_size) break;
      mach_msg_ool_ports_descriptor_t d;
      std::memcpy(&d, m.data() + off, sizeof d);
      port_counts.push_back(std::min<uint32_t>(d.count, 64));
      off += sizeof d;
    } else {
      off += sizeof(mach_msg_guarded_port_descriptor_t);
    }
  }
  m.resize((msg_size + 7) & ~size_t(7));
  size_t inline_at = m.size() + ool_sizes.size() * sizeof(machd_ool_in);
  for (uint32_t c : port_counts) inline_at += 8 + ((c * 4 + 7) & ~size_t(7));
  std::vector<uint8_t> tail;
  for (uint32_t size : ool_sizes) {
    machd_ool_in in{MACHD_OOL_INLINE, 0, size, inline_at + tail.size()};
    m.insert(m.end(), reinterpret_cast<uint8_t*>(&in), reinterpret_cast<uint8_t*>(&in) + sizeof in);
    tail.resize(tail.size() + ((size + 7) & ~size_t(7)), 0);
  }
  for (uint32_t c : port_counts) {
    uint32_t count[2] = {c, 0};
    m.insert(m.end(), reinterpret_cast<uint8_t*>(count), reinterpret_cast<uint8_t*>(count) + 8);
    std::vector<mach_port_name_t> names(c, fill);
    m.insert(m.end(), reinterpret_cast<uint8_t*>(names.data()), reinterpret_cast<uint8_t*>(names.data() + c));
    m.resize((m.size() + 7) & ~size_t(7));
  }
  m.insert(m.end(), tail.begin(), tail.end());
  return {ool_sizes.size(), port_counts.size()};
}

bool run_one(const uint8_t* data, size_t size) {
  auto& p = probe();
  if (size < 1 + sizeof(mach_msg_header_t) || !p.connect(false)) return true;
  uint64_t args[MACHD_CH_ARGS] = {};
  const mach_port_name_t reply = p.submit(1, MACHD_OP_REPLY_PORT, args, nullptr, 0) ? p.ret(1, 0) : 0;
  args[0] = uint64_t(p.pid());
  const mach_port_name_t thread = p.submit(2, MACHD_OP_THREAD_SELF, args, nullptr, 0) ? p.ret(2, 0) : 0;
  const mach_port_name_t targets[kTargets] = {p.task_self(), p.host(), thread, p.bootstrap()};

  size_t msg_size = std::min<size_t>(size - 1, 65536) & ~size_t(3);
  std::vector<uint8_t> m(data + 1, data + 1 + msg_size);
  mach_msg_header_t h;
  std::memcpy(&h, m.data(), sizeof h);
  h.msgh_bits = (h.msgh_bits & ~MACH_MSGH_BITS_PORTS_MASK) |
                MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE);
  h.msgh_size = mach_msg_size_t(msg_size);
  h.msgh_remote_port = targets[data[0] % kTargets];
  h.msgh_local_port = reply;
  h.msgh_voucher_port = MACH_PORT_NULL;
  std::memcpy(m.data(), &h, sizeof h);
  const auto [n_ool, n_ports] = add_payloads(m, msg_size, p.task_self());

  // The receive blocks, as a MIG user stub's does: the kernel task serves
  // the request once the call is in (Daemon::drain_completions), and the
  // reply completes it; a deferred reply leaves it blocked until the hang-up.
  args[0] = MACH_SEND_MSG | MACH_SEND_TIMEOUT | MACH_RCV_MSG | MACH_RCV_LARGE;
  args[1] = msg_size;
  args[2] = 65536;
  args[3] = reply;
  args[4] = 0;
  args[6] = n_ool;
  args[7] = n_ports;
  p.submit(3, MACHD_OP_MSG, args, m.data(), m.size());
  return p.disconnect();
}

// ---- seeds: requests as MIG user stubs make them ------------------------------

// The names a fresh task has when the harness sends its input (the same
// for every fresh task): its own port, and the reply port run_one makes.
struct FreshNames {
  mach_port_name_t self, reply;
};
FreshNames fresh_names() {
  auto& p = probe();
  if (!p.connect(false)) std::exit(1);
  uint64_t args[MACHD_CH_ARGS] = {};
  if (!p.submit(1, MACHD_OP_REPLY_PORT, args, nullptr, 0)) std::exit(1);
  const FreshNames names{p.task_self(), mach_port_name_t(p.ret(1, 0))};
  p.disconnect();
  return names;
}

template <typename T>
std::vector<uint8_t> bytes_of(const T& v) {
  const auto* b = reinterpret_cast<const uint8_t*>(&v);
  return std::vector<uint8_t>(b, b + sizeof v);
}

std::vector<uint8_t> port_descriptor(mach_port_name_t name, mach_msg_type_name_t disposition) {
  mach_msg_port_descriptor_t d{};
  d.name = name;
  d.disposition = disposition;
  d.type = MACH_MSG_PORT_DESCRIPTOR;
  return bytes_of(d);
}

std::vector<uint8_t> guarded_port_descriptor(mach_port_name_t name, mach_msg_type_name_t disposition) {
  mach_msg_guarded_port_descriptor_t d{};
  d.name = name;
  d.disposition = disposition;
  d.flags = MACH_MSG_GUARD_FLAGS_UNGUARDED_ON_SEND;
  d.type = MACH_MSG_GUARDED_PORT_DESCRIPTOR;
  return bytes_of(d);
}

// An out-of-line port array of `count` rights (the harness names them).
std::vector<uint8_t> ool_ports_descriptor(uint32_t count) {
  mach_msg_ool_ports_descriptor_t d{};
  d.count = count;
  d.disposition = MACH_MSG_TYPE_COPY_SEND;
  d.copy = MACH_MSG_PHYSICAL_COPY;
  d.type = MACH_MSG_OOL_PORTS_DESCRIPTOR;
  return bytes_of(d);
}

// A complex MIG request: header, body (`count` descriptors), the
// descriptors' bytes, the NDR record, then the argument words.
std::vector<uint8_t> complex_request(mach_msg_id_t id, const std::vector<uint8_t>& descriptors,
                                     const std::vector<uint32_t>& words, uint32_t count = 1) {
  mach_msg_header_t h{};
  h.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
  h.msgh_id = id;
  std::vector<uint8_t> m = bytes_of(h);
  const std::vector<uint8_t> body = bytes_of(mach_msg_body_t{count});
  m.insert(m.end(), body.begin(), body.end());
  m.insert(m.end(), descriptors.begin(), descriptors.end());
  const std::vector<uint8_t> ndr = bytes_of(NDR_record);
  m.insert(m.end(), ndr.begin(), ndr.end());
  for (uint32_t w : words) {
    const std::vector<uint8_t> b = bytes_of(w);
    m.insert(m.end(), b.begin(), b.end());
  }
  const mach_msg_size_t size = mach_msg_size_t(m.size());
  std::memcpy(m.data() + offsetof(mach_msg_header_t, msgh_size), &size, sizeof size);
  return m;
}

void write_seeds(const std::string& dir) {
  using machd::fuzzseeds::mig_request;
  using machd::fuzzseeds::write_seed;
  auto seed = [&](const char* name, uint8_t target, std::vector<uint8_t> m) {
    m.insert(m.begin(), target);
    write_seed(dir, name, m);
  };
  // Names are filled in by the harness; only ids and arguments matter.
  seed("task_info", 0, mig_request(0, 0, 3405, {TASK_BASIC_INFO_64, TASK_BASIC_INFO_64_COUNT}));
  seed("task_threads", 0, mig_request(0, 0, 3402, {}));
  seed("task_get_special_port", 0, mig_request(0, 0, 3409, {TASK_BOOTSTRAP_PORT}));
  seed("semaphore_create", 0, mig_request(0, 0, 3418, {0 /*SYNC_POLICY_FIFO*/, 1}));
  // More of the task port's routines (task.defs, from 3400), each with
  // arguments it accepts, so that the fuzzer starts inside each.
  seed("task_info_events", 0, mig_request(0, 0, 3405, {TASK_EVENTS_INFO, TASK_EVENTS_INFO_COUNT}));
  seed("task_info_thread_times", 0, mig_request(0, 0, 3405, {TASK_THREAD_TIMES_INFO, TASK_THREAD_TIMES_INFO_COUNT}));
  seed("task_info_audit_token", 0, mig_request(0, 0, 3405, {TASK_AUDIT_TOKEN, TASK_AUDIT_TOKEN_COUNT}));
  seed("task_info_dyld", 0, mig_request(0, 0, 3405, {TASK_DYLD_INFO, TASK_DYLD_INFO_COUNT}));
  seed("task_info_vm", 0, mig_request(0, 0, 3405, {TASK_VM_INFO, TASK_VM_INFO_COUNT}));
  seed("task_info_power", 0, mig_request(0, 0, 3405, {TASK_POWER_INFO, TASK_POWER_INFO_COUNT}));
  seed("task_info_flags", 0, mig_request(0, 0, 3405, {TASK_FLAGS_INFO, TASK_FLAGS_INFO_COUNT}));
  seed("mach_ports_lookup", 0, mig_request(0, 0, 3404, {}));
  seed("task_get_exception_ports", 0, mig_request(0, 0, 3414, {EXC_MASK_ALL}));
  seed("lock_set_create", 0, mig_request(0, 0, 3416, {2, 0 /*SYNC_POLICY_FIFO*/}));
  seed("task_policy_get", 0, mig_request(0, 0, 3421, {1 /*TASK_CATEGORY_POLICY*/, 1, 0}));
  seed("task_get_emulation_vector", 0, mig_request(0, 0, 3425, {}));
  seed("task_get_assignment", 0, mig_request(0, 0, 3431, {}));
  seed("task_get_state", 0, mig_request(0, 0, 3433, {4 /*x86_THREAD_STATE64*/, 42}));
  seed("mach_port_allocate", 0, mig_request(0, 0, 3204, {MACH_PORT_RIGHT_RECEIVE}));
  seed("mach_port_names", 0, mig_request(0, 0, 3200, {}));
  seed("mach_vm_allocate", 0, mig_request(0, 0, 4800, {0, 0, 16384, 0, 1 /*VM_FLAGS_ANYWHERE*/}));
  seed("mach_vm_region", 0, mig_request(0, 0, 4816, {0, 0, 9 /*VM_REGION_BASIC_INFO_64*/, 9}));
  {
    // mach_vm_write: a complex request with one out-of-line region.
    std::vector<uint8_t> m = mig_request(0, 0, 4806, {});
    mach_msg_header_t h;
    std::memcpy(&h, m.data(), sizeof h);
    h.msgh_bits |= MACH_MSGH_BITS_COMPLEX;
    std::vector<uint8_t> out(reinterpret_cast<uint8_t*>(&h), reinterpret_cast<uint8_t*>(&h) + sizeof h);
    mach_msg_body_t body{1};
    mach_msg_ool_descriptor_t ool{};
    ool.size = 4096;
    ool.copy = MACH_MSG_VIRTUAL_COPY;
    ool.type = MACH_MSG_OOL_DESCRIPTOR;
    auto put = [&out](const void* q, size_t n) {
      out.insert(out.end(), static_cast<const uint8_t*>(q), static_cast<const uint8_t*>(q) + n);
    };
    put(&body, sizeof body);
    put(&ool, sizeof ool);
    put(&NDR_record, sizeof NDR_record);
    const uint64_t address = 0x10000;
    put(&address, 8);
    const uint32_t count = 4096;
    put(&count, 4);
    seed("mach_vm_write", 0, out);
  }
  // The task-port server's other routines (kern/task.cc): every special
  // port flavor, setting one (a port descriptor naming the task's own
  // port), registered ports, the exc-guard behavior, QoS policies, identity
  // tokens. Port descriptors name the task's own port as a fresh task has
  // it; the harness fills out-of-line port arrays itself.
  const FreshNames names = fresh_names();
  const mach_port_name_t self = names.self;
  for (uint32_t which : {TASK_KERNEL_PORT, TASK_HOST_PORT, TASK_NAME_PORT, TASK_INSPECT_PORT, TASK_READ_PORT,
                         TASK_ACCESS_PORT, TASK_DEBUG_CONTROL_PORT})
    seed(("task_get_special_port_" + std::to_string(which)).c_str(), 0, mig_request(0, 0, 3409, {which}));
  for (uint32_t which : {TASK_BOOTSTRAP_PORT, TASK_ACCESS_PORT, TASK_KERNEL_PORT, TASK_READ_PORT})
    seed(("task_set_special_port_" + std::to_string(which)).c_str(), 0,
         complex_request(3410, port_descriptor(self, MACH_MSG_TYPE_COPY_SEND), {which}));
  seed("mach_ports_register", 0, complex_request(3403, ool_ports_descriptor(2), {2}));
  seed("task_get_exc_guard_behavior", 0, mig_request(0, 0, 3452, {}));
  seed("task_set_exc_guard_behavior", 0, mig_request(0, 0, 3453, {TASK_EXC_GUARD_MP_DELIVER}));
  for (uint32_t flavor : {TASK_BASE_LATENCY_QOS_POLICY, TASK_BASE_THROUGHPUT_QOS_POLICY, TASK_CATEGORY_POLICY}) {
    seed(("task_policy_set_" + std::to_string(flavor)).c_str(), 0, mig_request(0, 0, 3420, {flavor, 1, 2}));
    seed(("task_policy_get_" + std::to_string(flavor)).c_str(), 0, mig_request(0, 0, 3421, {flavor, 1, 0}));
  }
  seed("task_create_identity_token", 0, mig_request(0, 0, 3457, {}));
  seed("task_inspect", 0, mig_request(0, 0, 3451, {1 /*TASK_INSPECT_BASIC_COUNTS*/, 4}));
  seed("task_get_exception_ports_info", 0, mig_request(0, 0, 3460, {EXC_MASK_ALL}));
  seed("task_generate_corpse", 0, mig_request(0, 0, 3442, {}));
  // Requests no routine has, carrying rights: the kernel task releases
  // every right they carried (message_rights.cc). A port and a port array;
  // the receive right of the reply port, guarded and not.
  {
    std::vector<uint8_t> d = port_descriptor(self, MACH_MSG_TYPE_COPY_SEND);
    const std::vector<uint8_t> a = ool_ports_descriptor(2);
    d.insert(d.end(), a.begin(), a.end());
    seed("unknown_routine_with_rights", 0, complex_request(3499, d, {}, 2));
    seed("unknown_routine_with_a_guarded_receive_right", 0,
         complex_request(3499, guarded_port_descriptor(names.reply, MACH_MSG_TYPE_MOVE_RECEIVE), {}));
    seed("unknown_routine_with_a_receive_right", 0,
         complex_request(3499, port_descriptor(names.reply, MACH_MSG_TYPE_MOVE_RECEIVE), {}));
  }
  seed("task_terminate", 0, mig_request(0, 0, 3401, {}));
  seed("host_info", 1, mig_request(0, 0, 200, {1 /*HOST_BASIC_INFO*/, 12}));
  seed("host_get_clock_service", 1, mig_request(0, 0, 206, {0 /*SYSTEM_CLOCK*/}));
  seed("thread_info", 2, mig_request(0, 0, 3612, {3 /*THREAD_BASIC_INFO*/, 10}));
  seed("thread_get_state", 2, mig_request(0, 0, 3603, {4 /*x86_THREAD_STATE64*/, 42}));
  {
    std::vector<uint32_t> name(128 / 4, 0);
    std::memcpy(name.data(), "com.example.fuzz", 16);
    seed("bootstrap_look_up", 3, mig_request(0, 0, 404, name));
    seed("bootstrap_check_in", 3, mig_request(0, 0, 402, name));
  }
}

}  // namespace

namespace machd::fuzz_target {
bool run_one(const uint8_t* data, size_t size) { return ::run_one(data, size); }
void write_seeds(const std::string& dir) { ::write_seeds(dir); }
}  // namespace machd::fuzz_target
