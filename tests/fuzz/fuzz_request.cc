// tests/fuzz/fuzz_request.cc — machd's request path under a hostile task:
// whatever a task writes into its channels (op, arguments, data, and the
// descriptors a socket request carries) goes through Session::collect/take,
// the request decoder (msg_codec) and the trap dispatcher (traps.cc) into the
// IPC core and the kernel servers, and must not crash machd or leave anything
// behind once the task is gone.
//
// Input: up to 8 records, each served on its own channel (1..8):
//   u32 op (taken modulo MACHD_OP_MAX + 1), u32 length, u64 args[10],
//   u8 fds (low 3 bits: memfds of 8 KiB attached, sent on the socket path;
//   0: the pending bitmap), then `length` data bytes (what is left if fewer).
// MACHD_OP_THREAD_SELF with tid 0 asks for the helper's (the task's) thread;
// MACHD_OP_TASK_FOR_PID and _NAME_FOR_PID with pid 0 for the helper's task.
// The task is fresh for each input, so its names are the same every time
// (seeds name them: see write_seeds below).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <mach/notify.h>
#include <mach/mach_types.h>
#include <mach/port.h>
#include <mach/task_info.h>

#include "daemon_probe.h"
#include "fuzz_seeds.h"

namespace {

using machd::probe;

struct RecordHead {
  uint32_t op;
  uint32_t length;
  uint64_t args[MACHD_CH_ARGS];
  uint8_t fds;
} __attribute__((packed));

constexpr uint32_t kMaxRecords = 8;

bool run_one(const uint8_t* data, size_t size) {
  auto& p = probe();
  if (!p.connect(/*fast_lanes=*/false)) return true;  // helper trouble: nothing to check
  for (uint32_t i = 0; i < kMaxRecords && size >= sizeof(RecordHead) && p.connected(); ++i) {
    RecordHead h;
    std::memcpy(&h, data, sizeof h);
    data += sizeof h;
    size -= sizeof h;
    const size_t len = std::min<size_t>(h.length, size);
    std::vector<int> fds;
    for (uint32_t f = 0; f < (h.fds & 7u); ++f) {
      int fd = memfd_create("fuzz-ool", MFD_CLOEXEC | MFD_ALLOW_SEALING);
      if (fd < 0) break;
      if (ftruncate(fd, 8192) == 0) (void)!pwrite(fd, data, std::min<size_t>(len, 8192), 0);
      fds.push_back(fd);
    }
    const uint32_t op = h.op % (MACHD_OP_MAX + 1);
    if (op == MACHD_OP_THREAD_SELF && h.args[0] == 0) h.args[0] = uint64_t(p.pid());  // 0: the helper's thread
    if ((op == MACHD_OP_TASK_FOR_PID || op == MACHD_OP_TASK_NAME_FOR_PID) && h.args[1] == 0)
      h.args[1] = uint64_t(p.pid());  // 0: the helper's own task
    p.submit(1 + i, op, h.args, data, len, (h.fds & 7u) ? &fds : nullptr);
    for (int fd : fds) close(fd);
    data += len;
    size -= len;
  }
  return p.disconnect();
}

// ---- seeds: requests as libmach-compat makes them ----------------------------

void add(std::vector<uint8_t>& out, uint32_t op, std::initializer_list<uint64_t> args,
         const std::vector<uint8_t>& data = {}, uint8_t fds = 0) {
  RecordHead h{};
  h.op = op;
  h.length = uint32_t(data.size());
  size_t i = 0;
  for (uint64_t a : args) h.args[i++] = a;
  h.fds = fds;
  const auto* b = reinterpret_cast<const uint8_t*>(&h);
  out.insert(out.end(), b, b + sizeof h);
  out.insert(out.end(), data.begin(), data.end());
}

void write_seeds(const std::string& dir) {
  auto& p = probe();
  if (!p.connect(false)) std::exit(1);
  const mach_port_name_t self = p.task_self();
  // The first port a fresh task allocates gets the same name every time.
  uint64_t args[MACHD_CH_ARGS] = {self, MACH_PORT_RIGHT_RECEIVE};
  if (!p.submit(1, MACHD_OP_PORT_ALLOCATE, args, nullptr, 0)) std::exit(1);
  const mach_port_name_t port = mach_port_name_t(p.ret(1, 0));
  p.disconnect();
  using machd::fuzzseeds::simple_message;
  using machd::fuzzseeds::write_seed;

  std::vector<uint8_t> s;
  add(s, MACHD_OP_PING, {});
  add(s, MACHD_OP_STATS, {});
  write_seed(dir, "ping_stats", s);

  s.clear();  // allocate, make a send right, send to it and receive
  add(s, MACHD_OP_PORT_ALLOCATE, {self, MACH_PORT_RIGHT_RECEIVE});
  add(s, MACHD_OP_PORT_INSERT_RIGHT, {self, port, port, MACH_MSG_TYPE_MAKE_SEND});
  add(s, MACHD_OP_MSG, {MACH_SEND_MSG, 32, 0, 0}, simple_message(port, MACH_MSG_TYPE_COPY_SEND, 0, 0, 1000, 8));
  add(s, MACHD_OP_MSG, {MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, 1024, port, 0});
  write_seed(dir, "send_receive", s);

  s.clear();  // a complex message with inline out-of-line data and a port array
  add(s, MACHD_OP_PORT_ALLOCATE, {self, MACH_PORT_RIGHT_RECEIVE});
  add(s, MACHD_OP_PORT_INSERT_RIGHT, {self, port, port, MACH_MSG_TYPE_MAKE_SEND});
  {
    std::vector<uint8_t> m = machd::fuzzseeds::complex_message(port, true);
    const uint64_t msg_size = m.size();
    m.resize((m.size() + 7) & ~size_t(7));
    machd_ool_in in{MACHD_OOL_INLINE, 0, 16, 0};
    const size_t rec = m.size(), ports = rec + sizeof in, inl = ports + 8 + 8;
    in.offset = inl;
    m.resize(inl + 16);
    std::memcpy(m.data() + rec, &in, sizeof in);
    uint32_t count[2] = {2, 0};
    std::memcpy(m.data() + ports, count, 8);
    uint32_t names[2] = {port, port};
    std::memcpy(m.data() + ports + 8, names, 8);
    std::memcpy(m.data() + inl, "out-of-line data", 16);
    add(s, MACHD_OP_MSG, {MACH_SEND_MSG, msg_size, 0, 0, 0, 0, 1, 1}, m);
  }
  add(s, MACHD_OP_MSG, {MACH_RCV_MSG | MACH_RCV_TIMEOUT | MACH_RCV_LARGE, 0, 4096, port, 0});
  write_seed(dir, "complex_message", s);

  s.clear();  // out-of-line memory in a memfd on the socket path
  add(s, MACHD_OP_PORT_ALLOCATE, {self, MACH_PORT_RIGHT_RECEIVE});
  add(s, MACHD_OP_PORT_INSERT_RIGHT, {self, port, port, MACH_MSG_TYPE_MAKE_SEND});
  {
    std::vector<uint8_t> m = machd::fuzzseeds::complex_message(port, false);
    const uint64_t msg_size = m.size();
    const uint32_t region = 8192;  // the out-of-line descriptor's size: the whole memfd
    std::memcpy(m.data() + sizeof(mach_msg_base_t) + sizeof(mach_msg_port_descriptor_t) +
                    offsetof(mach_msg_ool_descriptor_t, size),
                &region, sizeof region);
    m.resize((m.size() + 7) & ~size_t(7));
    machd_ool_in in{MACHD_OOL_FD, 0, 8192, 0};
    const size_t rec = m.size();
    m.resize(rec + sizeof in);
    std::memcpy(m.data() + rec, &in, sizeof in);
    add(s, MACHD_OP_MSG, {MACH_SEND_MSG, msg_size, 0, 0, 0, 0, 1, 0}, m, 1);
  }
  // Received, the memory travels back as a descriptor on the socket.
  add(s, MACHD_OP_MSG, {MACH_RCV_MSG | MACH_RCV_TIMEOUT | MACH_RCV_LARGE, 0, 4096, port, 0});
  write_seed(dir, "memfd_message", s);

  s.clear();  // port sets, attributes, context and guards
  add(s, MACHD_OP_PORT_ALLOCATE, {self, MACH_PORT_RIGHT_RECEIVE});
  add(s, MACHD_OP_PORT_ALLOCATE, {self, MACH_PORT_RIGHT_PORT_SET});
  add(s, MACHD_OP_PORT_INSERT_MEMBER, {self, port, port + 0x100});
  add(s, MACHD_OP_PORT_GET_SET_STATUS, {self, port + 0x100});
  add(s, MACHD_OP_PORT_GET_ATTRIBUTES, {self, port, MACH_PORT_RECEIVE_STATUS, 10});
  add(s, MACHD_OP_PORT_GUARD, {self, port, 0x1234, 0});
  add(s, MACHD_OP_PORT_NAMES, {self});
  add(s, MACHD_OP_PORT_GET_ATTRIBUTES, {self, port, MACH_PORT_DNREQUESTS_SIZE, 1});
  write_seed(dir, "port_sets", s);

  s.clear();  // a kernel call: task_info (id 3405) on the task's own port
  add(s, MACHD_OP_REPLY_PORT, {});
  {
    std::vector<uint8_t> m =
        machd::fuzzseeds::mig_request(self, port, 3405, {TASK_BASIC_INFO_64, TASK_BASIC_INFO_64_COUNT});
    add(s, MACHD_OP_MSG, {MACH_SEND_MSG | MACH_RCV_MSG, m.size(), 1024, port, 0}, m);
  }
  write_seed(dir, "kernel_rpc", s);

  s.clear();
  add(s, MACHD_OP_MK_TIMER_CREATE, {});
  add(s, MACHD_OP_MK_TIMER_ARM, {port, 1000});
  add(s, MACHD_OP_MK_TIMER_CANCEL, {port});
  add(s, MACHD_OP_THREAD_SELF, {0});
  add(s, MACHD_OP_PID_FOR_TASK, {self});
  write_seed(dir, "timers_threads", s);

  // Notifications (an input serves at most kMaxRecords requests, so each
  // seed stays within that). A fresh task's second and third names are
  // port + 0x100 and + 0x200.
  const mach_port_name_t notify = port + 0x100, other = port + 0x200;
  // No-senders on a port without senders, dead-name on a send right whose
  // port is then destroyed; then the notify port is drained.
  s.clear();
  add(s, MACHD_OP_PORT_ALLOCATE, {self, MACH_PORT_RIGHT_RECEIVE});
  add(s, MACHD_OP_PORT_ALLOCATE, {self, MACH_PORT_RIGHT_RECEIVE});
  add(s, MACHD_OP_PORT_ALLOCATE, {self, MACH_PORT_RIGHT_RECEIVE});
  add(s, MACHD_OP_PORT_INSERT_RIGHT, {self, other, other, MACH_MSG_TYPE_MAKE_SEND});
  add(s, MACHD_OP_PORT_REQUEST_NOTIFICATION,
      {self, port, MACH_NOTIFY_NO_SENDERS, 0, notify, MACH_MSG_TYPE_MAKE_SEND_ONCE});
  add(s, MACHD_OP_PORT_REQUEST_NOTIFICATION,
      {self, other, MACH_NOTIFY_DEAD_NAME, 1, notify, MACH_MSG_TYPE_MAKE_SEND_ONCE});
  add(s, MACHD_OP_PORT_MOD_REFS, {self, other, MACH_PORT_RIGHT_RECEIVE, uint64_t(-1)});
  add(s, MACHD_OP_MSG, {MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, 1024, notify, 0});
  write_seed(dir, "notifications", s);

  // Port-destroyed told to a port that is gone by then, and a send-once
  // right dropped unused (a send-once notification).
  s.clear();
  add(s, MACHD_OP_PORT_ALLOCATE, {self, MACH_PORT_RIGHT_RECEIVE});
  add(s, MACHD_OP_PORT_ALLOCATE, {self, MACH_PORT_RIGHT_RECEIVE});
  add(s, MACHD_OP_PORT_REQUEST_NOTIFICATION,
      {self, port, MACH_NOTIFY_PORT_DESTROYED, 0, notify, MACH_MSG_TYPE_MAKE_SEND_ONCE});
  add(s, MACHD_OP_PORT_MOD_REFS, {self, notify, MACH_PORT_RIGHT_RECEIVE, uint64_t(-1)});
  add(s, MACHD_OP_PORT_DESTROY, {self, port});
  add(s, MACHD_OP_PORT_ALLOCATE, {self, MACH_PORT_RIGHT_RECEIVE});
  add(s, MACHD_OP_PORT_EXTRACT_RIGHT, {self, port, MACH_MSG_TYPE_MAKE_SEND_ONCE});
  add(s, MACHD_OP_PORT_DEALLOCATE, {self, port + 0x100});
  write_seed(dir, "notifications_to_dead_ports", s);

  // Starts an input with `port` full (queue limit 1, one message queued)
  // and `notify` a second port.
  auto start_with_a_full_port = [&]() {
    const std::vector<uint8_t> qlimit_one = {1, 0, 0, 0};
    s.clear();
    add(s, MACHD_OP_PORT_ALLOCATE, {self, MACH_PORT_RIGHT_RECEIVE});
    add(s, MACHD_OP_PORT_ALLOCATE, {self, MACH_PORT_RIGHT_RECEIVE});
    add(s, MACHD_OP_PORT_INSERT_RIGHT, {self, port, port, MACH_MSG_TYPE_MAKE_SEND});
    add(s, MACHD_OP_PORT_SET_ATTRIBUTES, {self, port, MACH_PORT_LIMITS_INFO, 1}, qlimit_one);
    add(s, MACHD_OP_MSG, {MACH_SEND_MSG | MACH_SEND_TIMEOUT, 32, 0, 0, 0},
        simple_message(port, MACH_MSG_TYPE_COPY_SEND, 0, 0, 1000, 8));
  };
  // Send-possible: a port whose queue holds one message is full; the
  // request waits, and receiving the message fires it.
  start_with_a_full_port();
  add(s, MACHD_OP_PORT_REQUEST_NOTIFICATION,
      {self, port, MACH_NOTIFY_SEND_POSSIBLE, 1, notify, MACH_MSG_TYPE_MAKE_SEND_ONCE});
  add(s, MACHD_OP_MSG, {MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, 1024, port, 0});
  add(s, MACHD_OP_MSG, {MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, 1024, notify, 0});
  write_seed(dir, "send_possible", s);

  // A send-possible request not yet armed, what the name's type shows of
  // it, and a send to the full port that arms it (MACH_SEND_NOTIFY).
  start_with_a_full_port();
  add(s, MACHD_OP_PORT_REQUEST_NOTIFICATION,
      {self, port, MACH_NOTIFY_SEND_POSSIBLE, 0, notify, MACH_MSG_TYPE_MAKE_SEND_ONCE});
  add(s, MACHD_OP_PORT_TYPE, {self, port});
  add(s, MACHD_OP_MSG, {MACH_SEND_MSG | MACH_SEND_TIMEOUT | MACH_SEND_NOTIFY, 32, 0, 0, 0},
      simple_message(port, MACH_MSG_TYPE_COPY_SEND, 0, 0, 1001, 8));
  write_seed(dir, "send_possible_armed_by_a_send", s);

  // Task ports of other flavors, by identity token: each reply's right is
  // the task's next name (port + 0x100, + 0x200...); then the task traps
  // by pid (pid 0: the helper's own, as the harness fills it).
  auto rpc = [&](mach_port_name_t to, mach_msg_id_t id, std::initializer_list<uint32_t> words) {
    std::vector<uint8_t> m = machd::fuzzseeds::mig_request(to, port, id, words);
    add(s, MACHD_OP_MSG, {MACH_SEND_MSG | MACH_RCV_MSG, m.size(), 1024, port, 0}, m);
  };
  s.clear();
  add(s, MACHD_OP_REPLY_PORT, {});
  rpc(self, 3457, {});                       // task_create_identity_token: port + 0x100
  rpc(port + 0x100, 3458, {TASK_FLAVOR_READ});  // task_identity_token_get_task_port: + 0x200
  rpc(port + 0x100, 3458, {TASK_FLAVOR_NAME});  // + 0x300
  rpc(port + 0x200, 3405, {TASK_BASIC_INFO_64, TASK_BASIC_INFO_64_COUNT});  // task_info on the read port
  add(s, MACHD_OP_PORT_DEALLOCATE, {self, port + 0x200});  // its last send right: no-senders
  add(s, MACHD_OP_TASK_FOR_PID, {self, 0});
  add(s, MACHD_OP_TASK_NAME_FOR_PID, {self, 0});
  write_seed(dir, "task_flavors_and_tokens", s);
}

}  // namespace

namespace machd::fuzz_target {
bool run_one(const uint8_t* data, size_t size) { return ::run_one(data, size); }
void write_seeds(const std::string& dir) { ::write_seeds(dir); }
}  // namespace machd::fuzz_target
