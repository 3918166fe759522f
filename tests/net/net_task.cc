// tests/net/net_task.cc — a task the net tests (and net_bench) drive on one
// host: it reads one command a line on stdin and answers one line on
// stdout, "ok ..." or "err ...". Ports are kept under labels the commands
// name. Protocol between tasks: net_protocol.h.
//
//   new L [QLIMIT]            a receive right with one send right under one name
//   checkin SVC L             netname_check_in(SVC, signature L, port L)
//   lookup HOST SVC L [MS]    netname_look_up into L, retrying for MS while the
//                             host is not connected yet          -> ok NAME | err CODE
//   serve L                   a thread answers kEcho, kOol and kDrop on L
//   call L N SIZE             N echo RPCs of SIZE inline bytes    -> ok USEC_P50 USEC_P99
//   ool L BYTES [N]           N out-of-line RPCs of BYTES each    -> ok USEC_PER_RPC
//   drop L R                  a kDrop request to L, reply right MAKE_SEND_ONCE of R
//   give L R DISPOSITION      a RightMessage to L carrying R (make-send, copy-send,
//                             move-send, make-send-once, move-send-once, move-receive)
//   take L R [MS]             receive a RightMessage on L, its right under R -> ok NAME TYPE
//   give-array L DISPOSITION R...   a RightsMessage to L carrying the Rs
//   take-array L PREFIX [MS]  receive a RightsMessage on L, its rights under
//                             PREFIX0, PREFIX1...                -> ok NAME:TYPE...
//   send L VALUE [MS]         a ValueMessage to L (MS: MACH_SEND_TIMEOUT)
//   fill L MS MAX             values 0, 1, ... to L with timeout MS until one times
//                             out                                 -> ok SENT | err
//   recv L [MS]               receive a ValueMessage              -> ok VALUE
//   recvseq L COUNT [MS]      values 0..COUNT-1 in order, then nothing more
//   stream L COUNT            COUNT one-way values to L  -> ok NSEC_TOTAL START (CLOCK_MONOTONIC ns)
//   sink L COUNT              receive COUNT values       -> ok NSEC_TOTAL END (CLOCK_MONOTONIC ns)
//   type L | name L           mach_port_type (hex) | the name
//   dealloc L | drop-receive L   mach_port_deallocate | receive right -1
//   notify-dead L N | notify-nosenders L N   the notification to N (send-once)
//   notified N [MS]           receive one message on N            -> ok MSGID MS
//   whosent L [MS]            receive a ValueMessage and say who sent it, from its
//                             audit trailer  -> ok PID UID remote HOST | ok PID UID local
//   fault L STRIDE COUNT FIRST  map the memory object L and read one byte of pages
//                             FIRST, FIRST+STRIDE, ... (COUNT of them), each its own
//                             first touch                   -> ok USEC_P50 USEC_P99
//   publish L NAME            bootstrap_register(NAME, L): programs of this host that
//                             look NAME up get the right L names
//   ports PID                 names in task PID's space (task_for_pid)
//   machd                     ok PORTS MESSAGES (machd_debug_get_stats)
//   quit
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <machd/machd_debug.h>
#include <machd/machd_relay.h>
#include <servers/bootstrap.h>
#include <servers/netname.h>
#include <servers/netname_defs.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net_protocol.h"

using namespace nettest;

namespace {

std::mutex g_mutex;
std::map<std::string, mach_port_t> g_ports;
mach_port_t g_reply = MACH_PORT_NULL;  // the RPC commands' reply port

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

struct Failure {
  std::string what;
};

mach_port_t port(const std::string& label) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto i = g_ports.find(label);
  if (i == g_ports.end()) throw Failure{"no port " + label};
  return i->second;
}

void set_port(const std::string& label, mach_port_t name) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_ports[label] = name;
}

std::string code(kern_return_t kr) { return std::to_string(kr); }

void check(kern_return_t kr, const char* what) {
  if (kr != KERN_SUCCESS) throw Failure{std::string(what) + " " + code(kr)};
}

mach_msg_type_name_t disposition(const std::string& word) {
  if (word == "make-send") return MACH_MSG_TYPE_MAKE_SEND;
  if (word == "copy-send") return MACH_MSG_TYPE_COPY_SEND;
  if (word == "move-send") return MACH_MSG_TYPE_MOVE_SEND;
  if (word == "make-send-once") return MACH_MSG_TYPE_MAKE_SEND_ONCE;
  if (word == "move-send-once") return MACH_MSG_TYPE_MOVE_SEND_ONCE;
  if (word == "move-receive") return MACH_MSG_TYPE_MOVE_RECEIVE;
  throw Failure{"unknown disposition " + word};
}

mach_port_t reply_port() {
  if (g_reply == MACH_PORT_NULL) check(mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &g_reply), "allocate");
  return g_reply;
}

mach_port_t name_server() {
  mach_port_t ns = MACH_PORT_NULL;
  check(bootstrap_look_up(bootstrap_port, NETNAME_SERVICE_NAME, &ns), "bootstrap_look_up");
  return ns;
}

// ---- the server thread ----

void serve(mach_port_t port) {
  struct {
    union {
      mach_msg_header_t head;
      EchoRequest echo;
      OolRequest ool;
    };
    mach_msg_max_trailer_t trailer;
  } in;
  for (;;) {
    mach_msg_return_t mr = mach_msg(&in.head, MACH_RCV_MSG, 0, sizeof in, port, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
    if (mr != MACH_MSG_SUCCESS) {
      fprintf(stderr, "net_task: serve: %s\n", mach_error_string(mr));
      return;
    }
    const mach_msg_type_name_t reply_type = MACH_MSGH_BITS_REMOTE(in.head.msgh_bits);
    if (in.head.msgh_id == kEcho && in.echo.size <= kInlineMax &&
        in.head.msgh_size == echo_size<EchoRequest>(in.echo.size)) {
      EchoReply r;
      r.head.msgh_bits = MACH_MSGH_BITS(reply_type, 0);
      r.head.msgh_size = echo_size<EchoReply>(in.echo.size);
      r.head.msgh_remote_port = in.head.msgh_remote_port;
      r.head.msgh_local_port = MACH_PORT_NULL;
      r.head.msgh_voucher_port = MACH_PORT_NULL;
      r.head.msgh_id = kEchoReply;
      r.reply_type = reply_type;
      r.size = in.echo.size;
      for (uint32_t i = 0; i < in.echo.size; i++) r.data[i] = uint8_t(~in.echo.data[i]);
      mr = mach_msg(&r.head, MACH_SEND_MSG | MACH_SEND_TIMEOUT, r.head.msgh_size, 0, MACH_PORT_NULL, 10000,
                    MACH_PORT_NULL);
      if (mr != MACH_MSG_SUCCESS) mach_msg_destroy(&r.head);
      continue;
    }
    if (in.head.msgh_id == kOol && (in.head.msgh_bits & MACH_MSGH_BITS_COMPLEX) &&
        in.head.msgh_size == sizeof(OolRequest) && in.ool.body.msgh_descriptor_count == 1 &&
        in.ool.data.type == MACH_MSG_OOL_DESCRIPTOR) {
      const uint64_t size = in.ool.data.size;
      OolReply r{};
      r.request_ok = check_pattern(in.ool.data.address, size, in.ool.seed) == size;
      // The reply's data goes in the request's pages, rewritten.
      fill_pattern(in.ool.data.address, size, in.ool.seed + 1);
      r.head.msgh_bits = MACH_MSGH_BITS(reply_type, 0) | MACH_MSGH_BITS_COMPLEX;
      r.head.msgh_size = sizeof r;
      r.head.msgh_remote_port = in.head.msgh_remote_port;
      r.head.msgh_id = kOolReply;
      r.body.msgh_descriptor_count = 1;
      r.data.address = in.ool.data.address;
      r.data.size = mach_msg_size_t(size);
      r.data.deallocate = TRUE;
      r.data.copy = MACH_MSG_VIRTUAL_COPY;
      r.data.type = MACH_MSG_OOL_DESCRIPTOR;
      mr = mach_msg(&r.head, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof r, 0, MACH_PORT_NULL, 60000, MACH_PORT_NULL);
      if (mr != MACH_MSG_SUCCESS) mach_msg_destroy(&r.head);
      continue;
    }
    // kDrop and anything else: destroyed, the reply right with it.
    mach_msg_destroy(&in.head);
  }
}

// ---- commands ----

std::string cmd_new(const std::vector<std::string>& a) {
  mach_port_t p = MACH_PORT_NULL;
  check(mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p), "allocate");
  check(mach_port_insert_right(mach_task_self(), p, p, MACH_MSG_TYPE_MAKE_SEND), "insert_right");
  if (a.size() > 2) {
    mach_port_limits_t limits{mach_port_msgcount_t(std::stoul(a[2]))};
    check(mach_port_set_attributes(mach_task_self(), p, MACH_PORT_LIMITS_INFO,
                                   reinterpret_cast<mach_port_info_t>(&limits), MACH_PORT_LIMITS_INFO_COUNT),
          "set_attributes");
  }
  set_port(a.at(1), p);
  return std::to_string(p);
}

std::string cmd_lookup(const std::vector<std::string>& a) {
  const int wait_ms = a.size() > 4 ? std::stoi(a[4]) : 0;
  const uint64_t end = now_ns() + uint64_t(wait_ms) * 1000000;
  mach_port_t ns = name_server();
  kern_return_t kr;
  mach_port_t p = MACH_PORT_NULL;
  for (;;) {
    kr = netname_look_up(ns, const_cast<char*>(a.at(1).c_str()), const_cast<char*>(a.at(2).c_str()), &p);
    // Only a host not connected yet is waited for.
    if ((kr != NETNAME_NO_SUCH_HOST && kr != NETNAME_HOST_NOT_FOUND) || now_ns() >= end) break;
    usleep(20000);
  }
  mach_port_deallocate(mach_task_self(), ns);
  if (kr != KERN_SUCCESS) throw Failure{code(kr)};
  set_port(a.at(3), p);
  return std::to_string(p);
}

// Percentile `q` (0..1) of `v` (sorted in place).
uint64_t percentile(std::vector<uint64_t>& v, double q) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, size_t(q * double(v.size())))];
}

std::string cmd_call(const std::vector<std::string>& a) {
  const mach_port_t dest = port(a.at(1));
  const int n = std::stoi(a.at(2));
  const uint32_t size = uint32_t(std::stoul(a.at(3)));
  if (size > kInlineMax) throw Failure{"size"};
  const mach_port_t reply = reply_port();
  std::vector<uint64_t> times;
  for (int i = 0; i < n; i++) {
    union {
      EchoRequest req;
      struct {
        EchoReply r;
        mach_msg_max_trailer_t trailer;
      } out;
    } m;
    m.req.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE);
    m.req.head.msgh_size = echo_size<EchoRequest>(size);
    m.req.head.msgh_remote_port = dest;
    m.req.head.msgh_local_port = reply;
    m.req.head.msgh_voucher_port = MACH_PORT_NULL;
    m.req.head.msgh_id = kEcho;
    m.req.size = size;
    for (uint32_t k = 0; k < size; k++) m.req.data[k] = uint8_t(i * 31 + k);
    const uint64_t t0 = now_ns();
    mach_msg_return_t mr = mach_msg(&m.req.head, MACH_SEND_MSG | MACH_RCV_MSG | MACH_SEND_TIMEOUT | MACH_RCV_TIMEOUT,
                                    m.req.head.msgh_size, sizeof m.out, reply, 20000, MACH_PORT_NULL);
    times.push_back(now_ns() - t0);
    if (mr != MACH_MSG_SUCCESS) throw Failure{"call " + std::to_string(i) + " " + code(mr)};
    if (m.out.r.head.msgh_id != kEchoReply || m.out.r.size != size ||
        m.out.r.head.msgh_size != echo_size<EchoReply>(size))
      throw Failure{"call " + std::to_string(i) + " wrong reply"};
    if (m.out.r.reply_type != MACH_MSG_TYPE_PORT_SEND_ONCE)
      throw Failure{"call " + std::to_string(i) + " reply right type " + std::to_string(m.out.r.reply_type)};
    for (uint32_t k = 0; k < size; k++)
      if (m.out.r.data[k] != uint8_t(~uint8_t(i * 31 + k)))
        throw Failure{"call " + std::to_string(i) + " byte " + std::to_string(k)};
  }
  const uint64_t p50 = percentile(times, 0.5), p99 = percentile(times, 0.99);
  return std::to_string(p50 / 1000) + " " + std::to_string(p99 / 1000);
}

std::string cmd_ool(const std::vector<std::string>& a) {
  const mach_port_t dest = port(a.at(1));
  const uint64_t bytes = std::stoull(a.at(2));
  const int n = a.size() > 3 ? std::stoi(a[3]) : 1;
  const mach_port_t reply = reply_port();
  uint64_t total = 0;
  for (int i = 0; i < n; i++) {
    vm_address_t buf = 0;
    check(vm_allocate(mach_task_self(), &buf, bytes, VM_FLAGS_ANYWHERE), "vm_allocate");
    const uint64_t seed = uint64_t(getpid()) * 1000 + uint64_t(i);
    fill_pattern(reinterpret_cast<void*>(buf), bytes, seed);
    union {
      OolRequest req;
      struct {
        OolReply r;
        mach_msg_max_trailer_t trailer;
      } out;
    } m{};
    m.req.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE) |
                           MACH_MSGH_BITS_COMPLEX;
    m.req.head.msgh_size = sizeof m.req;
    m.req.head.msgh_remote_port = dest;
    m.req.head.msgh_local_port = reply;
    m.req.head.msgh_id = kOol;
    m.req.body.msgh_descriptor_count = 1;
    m.req.data.address = reinterpret_cast<void*>(buf);
    m.req.data.size = mach_msg_size_t(bytes);
    m.req.data.deallocate = TRUE;
    m.req.data.copy = MACH_MSG_VIRTUAL_COPY;
    m.req.data.type = MACH_MSG_OOL_DESCRIPTOR;
    m.req.seed = seed;
    const uint64_t t0 = now_ns();
    mach_msg_return_t mr = mach_msg(&m.req.head, MACH_SEND_MSG | MACH_RCV_MSG | MACH_SEND_TIMEOUT | MACH_RCV_TIMEOUT,
                                    sizeof m.req, sizeof m.out, reply, 120000, MACH_PORT_NULL);
    total += now_ns() - t0;
    if (mr != MACH_MSG_SUCCESS) throw Failure{"ool " + code(mr)};
    if (m.out.r.head.msgh_id != kOolReply || !(m.out.r.head.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||
        m.out.r.body.msgh_descriptor_count != 1 || m.out.r.data.type != MACH_MSG_OOL_DESCRIPTOR) {
      mach_msg_destroy(&m.out.r.head);
      throw Failure{"ool wrong reply"};
    }
    const uint64_t got = m.out.r.data.size;
    const uint64_t bad = check_pattern(m.out.r.data.address, got, seed + 1);
    vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(m.out.r.data.address), got);
    if (!m.out.r.request_ok) throw Failure{"ool the server saw wrong data"};
    if (got != bytes) throw Failure{"ool reply of " + std::to_string(got) + " bytes"};
    if (bad != bytes) throw Failure{"ool reply differs at byte " + std::to_string(bad)};
  }
  return std::to_string(total / 1000 / uint64_t(n));
}

// A ValueMessage to `dest`: a copy of a send right, or the send-once right.
mach_msg_return_t send_value(mach_port_t dest, int32_t value, int timeout_ms) {
  mach_port_type_t type = 0;
  mach_port_type(mach_task_self(), dest, &type);
  ValueMessage m{};
  m.head.msgh_bits = MACH_MSGH_BITS(
      (type & MACH_PORT_TYPE_SEND_ONCE) ? MACH_MSG_TYPE_MOVE_SEND_ONCE : MACH_MSG_TYPE_COPY_SEND, 0);
  m.head.msgh_size = sizeof m;
  m.head.msgh_remote_port = dest;
  m.head.msgh_id = kValue;
  m.value = value;
  return mach_msg(&m.head, MACH_SEND_MSG | (timeout_ms >= 0 ? MACH_SEND_TIMEOUT : 0), sizeof m, 0, MACH_PORT_NULL,
                  mach_msg_timeout_t(timeout_ms < 0 ? 0 : timeout_ms), MACH_PORT_NULL);
}

// A ValueMessage from `p` within timeout_ms; throws for anything else.
int32_t receive_value(mach_port_t p, int timeout_ms) {
  struct {
    ValueMessage m;
    mach_msg_max_trailer_t trailer;
  } in{};
  mach_msg_return_t mr = mach_msg(&in.m.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof in, p,
                                  mach_msg_timeout_t(timeout_ms), MACH_PORT_NULL);
  if (mr != MACH_MSG_SUCCESS) throw Failure{code(mr)};
  if (in.m.head.msgh_id != kValue || in.m.head.msgh_size != sizeof in.m) {
    const mach_msg_id_t id = in.m.head.msgh_id;
    mach_msg_destroy(&in.m.head);
    throw Failure{"unexpected message " + std::to_string(id)};
  }
  return in.m.value;
}

std::string cmd_give(const std::vector<std::string>& a) {
  RightMessage m{};
  m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
  m.head.msgh_size = sizeof m;
  m.head.msgh_remote_port = port(a.at(1));
  m.head.msgh_id = kRight;
  m.body.msgh_descriptor_count = 1;
  m.port.name = port(a.at(2));
  m.port.disposition = disposition(a.at(3));
  m.port.type = MACH_MSG_PORT_DESCRIPTOR;
  check(mach_msg(&m.head, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof m, 0, MACH_PORT_NULL, 10000, MACH_PORT_NULL),
        "send");
  return "";
}

std::string type_of(mach_port_t name) {
  mach_port_type_t type = 0;
  check(mach_port_type(mach_task_self(), name, &type), "mach_port_type");
  char s[32];
  snprintf(s, sizeof s, "0x%x", type);
  return s;
}

// Receives on port `label` within `ms` one complex message of id `id` with
// one descriptor of type `descriptor` (as T lays it out); throws, having
// destroyed it, for anything else.
template <typename T>
T receive_one(const std::string& label, int ms, mach_msg_id_t id, mach_msg_descriptor_type_t descriptor) {
  struct {
    T m;
    mach_msg_max_trailer_t trailer;
  } in{};
  check(mach_msg(&in.m.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof in, port(label), mach_msg_timeout_t(ms),
                 MACH_PORT_NULL),
        "receive");
  const auto* d = reinterpret_cast<const mach_msg_type_descriptor_t*>(&in.m.body + 1);
  if (in.m.head.msgh_id != id || !(in.m.head.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||
      in.m.body.msgh_descriptor_count != 1 || d->type != descriptor) {
    mach_msg_destroy(&in.m.head);
    throw Failure{"not the message expected (id " + std::to_string(in.m.head.msgh_id) + ")"};
  }
  return in.m;
}

std::string cmd_take(const std::vector<std::string>& a) {
  const RightMessage m =
      receive_one<RightMessage>(a.at(1), a.size() > 3 ? std::stoi(a[3]) : 10000, kRight, MACH_MSG_PORT_DESCRIPTOR);
  set_port(a.at(2), m.port.name);
  return std::to_string(m.port.name) + " " + type_of(m.port.name);
}

std::string cmd_give_array(const std::vector<std::string>& a) {
  std::vector<mach_port_t> names;
  for (size_t i = 3; i < a.size(); i++) names.push_back(port(a[i]));
  RightsMessage m{};
  m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
  m.head.msgh_size = sizeof m;
  m.head.msgh_remote_port = port(a.at(1));
  m.head.msgh_id = kRights;
  m.body.msgh_descriptor_count = 1;
  m.ports.address = names.data();
  m.ports.count = mach_msg_size_t(names.size());
  m.ports.deallocate = FALSE;
  m.ports.copy = MACH_MSG_PHYSICAL_COPY;
  m.ports.disposition = disposition(a.at(2));
  m.ports.type = MACH_MSG_OOL_PORTS_DESCRIPTOR;
  check(mach_msg(&m.head, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof m, 0, MACH_PORT_NULL, 10000, MACH_PORT_NULL),
        "send");
  return "";
}

std::string cmd_take_array(const std::vector<std::string>& a) {
  const RightsMessage m = receive_one<RightsMessage>(a.at(1), a.size() > 3 ? std::stoi(a[3]) : 10000, kRights,
                                                     MACH_MSG_OOL_PORTS_DESCRIPTOR);
  const auto* names = static_cast<const mach_port_t*>(m.ports.address);
  std::string out;
  for (mach_msg_size_t i = 0; i < m.ports.count; i++) {
    set_port(a.at(2) + std::to_string(i), names[i]);
    out += (i ? " " : "") + std::to_string(names[i]) + ":" + type_of(names[i]);
  }
  vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(m.ports.address),
                m.ports.count * sizeof(mach_port_t));
  return out;
}

std::string cmd_drop(const std::vector<std::string>& a) {
  mach_msg_header_t h{};
  h.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE);
  h.msgh_size = sizeof h;
  h.msgh_remote_port = port(a.at(1));
  h.msgh_local_port = port(a.at(2));
  h.msgh_id = kDrop;
  check(mach_msg(&h, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof h, 0, MACH_PORT_NULL, 10000, MACH_PORT_NULL), "send");
  return "";
}

std::string cmd_fill(const std::vector<std::string>& a) {
  const mach_port_t dest = port(a.at(1));
  const int ms = std::stoi(a.at(2));
  const int max = std::stoi(a.at(3));
  for (int i = 0; i < max; i++) {
    mach_msg_return_t mr = send_value(dest, i, ms);
    if (mr == MACH_SEND_TIMED_OUT) return std::to_string(i);
    if (mr != MACH_MSG_SUCCESS) throw Failure{"send " + std::to_string(i) + " " + code(mr)};
  }
  throw Failure{"never timed out"};
}

std::string cmd_recvseq(const std::vector<std::string>& a) {
  const mach_port_t p = port(a.at(1));
  const int count = std::stoi(a.at(2));
  const int ms = a.size() > 3 ? std::stoi(a[3]) : 10000;
  for (int i = 0; i < count; i++) {
    int32_t v;
    try {
      v = receive_value(p, ms);
    } catch (Failure& f) {
      throw Failure{"value " + std::to_string(i) + ": " + f.what};
    }
    if (v != i) throw Failure{"value " + std::to_string(i) + " was " + std::to_string(v)};
  }
  try {
    int32_t v = receive_value(p, 300);
    throw Failure{"one more value " + std::to_string(v)};
  } catch (Failure& f) {
    if (f.what != code(MACH_RCV_TIMED_OUT)) throw;
  }
  return "";
}

std::string cmd_stream(const std::vector<std::string>& a) {
  const mach_port_t dest = port(a.at(1));
  const int count = std::stoi(a.at(2));
  const uint64_t t0 = now_ns();
  for (int i = 0; i < count; i++) {
    mach_msg_return_t mr = send_value(dest, i, 20000);
    if (mr != MACH_MSG_SUCCESS) throw Failure{"send " + std::to_string(i) + " " + code(mr)};
  }
  return std::to_string(now_ns() - t0) + " " + std::to_string(t0);
}

std::string cmd_sink(const std::vector<std::string>& a) {
  const mach_port_t p = port(a.at(1));
  const int count = std::stoi(a.at(2));
  uint64_t t0 = 0;
  for (int i = 0; i < count; i++) {
    int32_t v = receive_value(p, 30000);
    if (i == 0) t0 = now_ns();
    if (v != i) throw Failure{"value " + std::to_string(i) + " was " + std::to_string(v)};
  }
  const uint64_t end = now_ns();
  return std::to_string(end - t0) + " " + std::to_string(end);
}

std::string cmd_notify(const std::vector<std::string>& a, mach_msg_id_t which) {
  mach_port_t previous = MACH_PORT_NULL;
  check(mach_port_request_notification(mach_task_self(), port(a.at(1)), which, 0, port(a.at(2)),
                                       MACH_MSG_TYPE_MAKE_SEND_ONCE, &previous),
        "request_notification");
  if (MACH_PORT_VALID(previous)) mach_port_deallocate(mach_task_self(), previous);
  return "";
}

std::string cmd_whosent(const std::vector<std::string>& a) {
  struct {
    ValueMessage m;
    mach_msg_max_trailer_t trailer;
  } in{};
  const int ms = a.size() > 2 ? std::stoi(a[2]) : 10000;
  mach_msg_return_t mr = mach_msg(&in.m.head,
                                  MACH_RCV_MSG | MACH_RCV_TIMEOUT | MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) |
                                      MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT),
                                  0, sizeof in, port(a.at(1)), mach_msg_timeout_t(ms), MACH_PORT_NULL);
  if (mr != MACH_MSG_SUCCESS) throw Failure{code(mr)};
  const auto* t = reinterpret_cast<const mach_msg_audit_trailer_t*>(reinterpret_cast<const uint8_t*>(&in.m) +
                                                                    in.m.head.msgh_size);
  std::string out = std::to_string(t->msgh_audit.val[5]) + " " + std::to_string(t->msgh_audit.val[1]);
  mach_msg_destroy(&in.m.head);
  if (!machd_audit_token_is_remote(t->msgh_audit)) return out + " local";
  machd_host_name_t host = "";
  check(machd_relay_host_name(mach_host_self(), machd_audit_token_remote_host(t->msgh_audit), host),
        "machd_relay_host_name");
  return out + " remote " + host;
}

std::string cmd_fault(const std::vector<std::string>& a) {
  const mach_port_t object = port(a.at(1));
  const uint64_t stride = std::stoull(a.at(2)), count = std::stoull(a.at(3)), first = std::stoull(a.at(4));
  const mach_vm_size_t size = (first + stride * count) * vm_page_size;
  mach_vm_address_t at = 0;
  check(mach_vm_map(mach_task_self(), &at, size, 0, VM_FLAGS_ANYWHERE, object, 0, FALSE, VM_PROT_READ | VM_PROT_WRITE,
                    VM_PROT_ALL, VM_INHERIT_NONE),
        "mach_vm_map");
  std::vector<double> us;
  volatile uint8_t sink = 0;
  for (uint64_t i = 0; i < count; i++) {
    const auto* page = reinterpret_cast<const volatile uint8_t*>(at + (first + i * stride) * vm_page_size);
    timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sink = sink + *page;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    us.push_back(double(t1.tv_sec - t0.tv_sec) * 1e6 + double(t1.tv_nsec - t0.tv_nsec) / 1e3);
  }
  mach_vm_deallocate(mach_task_self(), at, size);
  std::sort(us.begin(), us.end());
  char out[64];
  snprintf(out, sizeof out, "%.1f %.1f", us[us.size() / 2], us[us.size() * 99 / 100]);
  return out;
}

std::string cmd_notified(const std::vector<std::string>& a) {
  const int ms = a.size() > 2 ? std::stoi(a[2]) : 10000;
  union {
    mach_msg_header_t head;
    uint8_t space[1024];
  } in;
  const uint64_t t0 = now_ns();
  check(mach_msg(&in.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof in, port(a.at(1)), mach_msg_timeout_t(ms),
                 MACH_PORT_NULL),
        "receive");
  const uint64_t elapsed = now_ns() - t0;
  const mach_msg_id_t id = in.head.msgh_id;
  if (id == MACH_NOTIFY_DEAD_NAME) {
    // The notification carries a reference of the dead name: released here.
    const mach_port_t dead = reinterpret_cast<mach_dead_name_notification_t*>(&in.head)->not_port;
    mach_port_deallocate(mach_task_self(), dead);
  } else {
    mach_msg_destroy(&in.head);
  }
  return std::to_string(id) + " " + std::to_string(elapsed / 1000000);
}

std::string cmd_ports(const std::vector<std::string>& a) {
  mach_port_t task = MACH_PORT_NULL;
  check(task_for_pid(mach_task_self(), std::stoi(a.at(1)), &task), "task_for_pid");
  mach_port_name_array_t names = nullptr;
  mach_port_type_array_t types = nullptr;
  mach_msg_type_number_t n = 0, nt = 0;
  kern_return_t kr = mach_port_names(task, &names, &n, &types, &nt);
  mach_port_deallocate(mach_task_self(), task);
  check(kr, "mach_port_names");
  std::ostringstream out;
  out << n;
  // Each name and its type, for a failure to show what stayed.
  for (mach_msg_type_number_t i = 0; i < n; i++) out << " " << names[i] << ":" << std::hex << types[i] << std::dec;
  vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(names), n * sizeof *names);
  vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(types), nt * sizeof *types);
  return out.str();
}

std::string run(const std::vector<std::string>& a) {
  const std::string& c = a.at(0);
  if (c == "new") return cmd_new(a);
  if (c == "checkin") {
    mach_port_t ns = name_server();
    const mach_port_t p = port(a.at(2));
    kern_return_t kr = netname_check_in(ns, const_cast<char*>(a.at(1).c_str()), p, p);
    mach_port_deallocate(mach_task_self(), ns);
    if (kr != KERN_SUCCESS) throw Failure{code(kr)};
    return "";
  }
  if (c == "lookup") return cmd_lookup(a);
  if (c == "serve") {
    std::thread(serve, port(a.at(1))).detach();
    return "";
  }
  if (c == "call") return cmd_call(a);
  if (c == "ool") return cmd_ool(a);
  if (c == "drop") return cmd_drop(a);
  if (c == "give") return cmd_give(a);
  if (c == "take") return cmd_take(a);
  if (c == "give-array") return cmd_give_array(a);
  if (c == "take-array") return cmd_take_array(a);
  if (c == "send") {
    mach_msg_return_t mr = send_value(port(a.at(1)), std::stoi(a.at(2)), a.size() > 3 ? std::stoi(a[3]) : 10000);
    if (mr != MACH_MSG_SUCCESS) throw Failure{code(mr)};
    return "";
  }
  if (c == "fill") return cmd_fill(a);
  if (c == "recv") return std::to_string(receive_value(port(a.at(1)), a.size() > 2 ? std::stoi(a[2]) : 10000));
  if (c == "recvseq") return cmd_recvseq(a);
  if (c == "stream") return cmd_stream(a);
  if (c == "sink") return cmd_sink(a);
  if (c == "type") return type_of(port(a.at(1)));
  if (c == "name") return std::to_string(port(a.at(1)));
  if (c == "dealloc") {
    check(mach_port_deallocate(mach_task_self(), port(a.at(1))), "deallocate");
    return "";
  }
  if (c == "drop-receive") {
    check(mach_port_mod_refs(mach_task_self(), port(a.at(1)), MACH_PORT_RIGHT_RECEIVE, -1), "mod_refs");
    return "";
  }
  if (c == "notify-dead") return cmd_notify(a, MACH_NOTIFY_DEAD_NAME);
  if (c == "notify-nosenders") return cmd_notify(a, MACH_NOTIFY_NO_SENDERS);
  if (c == "notified") return cmd_notified(a);
  if (c == "ports") return cmd_ports(a);
  if (c == "whosent") return cmd_whosent(a);
  if (c == "fault") return cmd_fault(a);
  if (c == "publish") {
    check(bootstrap_register(bootstrap_port, const_cast<char*>(a.at(2).c_str()), port(a.at(1))), "bootstrap_register");
    return "";
  }
  if (c == "machd") {
    machd_debug_stats_t s{};
    check(machd_debug_get_stats(&s), "machd_debug_get_stats");
    return std::to_string(s.ports) + " " + std::to_string(s.messages);
  }
  throw Failure{"unknown command " + c};
}

}  // namespace

int main() {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    std::istringstream words(line);
    std::vector<std::string> a;
    for (std::string w; words >> w;) a.push_back(w);
    if (a.empty()) continue;
    if (a[0] == "quit") break;
    try {
      const std::string r = run(a);
      printf("ok%s%s\n", r.empty() ? "" : " ", r.c_str());
    } catch (Failure& f) {
      printf("err %s\n", f.what.c_str());
    } catch (std::exception& e) {
      printf("err bad command (%s)\n", e.what());
    }
  }
  return 0;
}
