// tests/bench/bench_pager.cc — see bench_pager.h.
#include "bench_pager.h"

#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

extern "C" {
#include "memory_objectServer.h"
}

namespace pagerbench {

namespace {

enum : mach_msg_id_t {
  kNewObject = 0x50420001,
  kStats,
  kFlushPages,
  kWriteBack,
  kQuit,
  kFill,
  kReplyBase = 100,  // a reply's id: the request's + kReplyBase
};

struct Request {
  mach_msg_header_t head;
  uint32_t index;
  uint32_t pad;
  uint64_t a, b, c;
};

struct ObjectReply {
  mach_msg_header_t head;
  mach_msg_body_t body;
  mach_msg_port_descriptor_t port;
  uint32_t index;
  int32_t kr;
};

struct StatsReply {
  mach_msg_header_t head;
  int32_t kr;
  uint32_t pad;
  ObjectStats stats;
};

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// ---- the pager process ----------------------------------------------------------

struct Object {
  mach_port_t port = MACH_PORT_NULL;     // receive right: the memory object
  mach_port_t control = MACH_PORT_NULL;  // from memory_object_init (one reference kept)
  ObjectStats stats;
  uint64_t lock_started = 0;
  mach_port_t waiting = MACH_PORT_NULL;  // the bench's send-once right, answered at lock_completed
  mach_msg_id_t waiting_id = 0;
  uint64_t write_back_next = 0, write_back_end = 0;  // the part of a write-back not asked for yet
};

// machd sends its messages to a pager without waiting for room and drops
// those that find the queue full, data_return included (the dirty data is
// lost). So the object port's queue is as deep as Mach allows, and a
// write-back asks for at most this much at a time: machd returns dirty
// pages in messages of at most 1 MiB (MemoryObject::kMaxReturnBytes),
// which then fit the queue even if the pager reads none before the last.
constexpr uint64_t kWriteBackWindow = uint64_t(MACH_PORT_QLIMIT_MAX / 2) << 20;

struct Pager {
  uint8_t* store = nullptr;
  uint64_t store_size = 0;
  mach_port_t service = MACH_PORT_NULL;
  mach_port_t set = MACH_PORT_NULL;
  std::vector<Object> objects;
  bool quit = false;

  Object* by_port(mach_port_t port) {
    for (Object& o : objects)
      if (o.port == port) return &o;
    return nullptr;
  }
  Object* by_index(uint32_t index) { return index < objects.size() ? &objects[index] : nullptr; }
};

Pager* g_pager = nullptr;

void note_error(Object* o, kern_return_t kr) {
  if (o != nullptr && kr != KERN_SUCCESS && o->stats.kr == KERN_SUCCESS) o->stats.kr = kr;
}

// A message carried one more reference on the control port than we keep.
void drop_control_ref(mach_port_t control) {
  if (MACH_PORT_VALID(control)) mach_port_deallocate(mach_task_self(), control);
}

void send_stats_reply(mach_port_t reply, mach_msg_id_t request_id, kern_return_t kr, const ObjectStats& stats) {
  StatsReply r{};
  r.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0);
  r.head.msgh_size = sizeof r;
  r.head.msgh_remote_port = reply;
  r.head.msgh_id = request_id + kReplyBase;
  r.kr = kr;
  r.stats = stats;
  mach_msg(&r.head, MACH_SEND_MSG, sizeof r, 0, MACH_PORT_NULL, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
}

void new_object(Pager& p, mach_port_t reply) {
  ObjectReply r{};
  r.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0) | MACH_MSGH_BITS_COMPLEX;
  r.head.msgh_size = sizeof r;
  r.head.msgh_remote_port = reply;
  r.head.msgh_id = kNewObject + kReplyBase;
  r.body.msgh_descriptor_count = 1;
  r.port.type = MACH_MSG_PORT_DESCRIPTOR;
  Object o;
  r.kr = mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &o.port);
  if (r.kr == KERN_SUCCESS) r.kr = mach_port_move_member(mach_task_self(), o.port, p.set);
  if (r.kr == KERN_SUCCESS) {
    mach_port_limits_t limits{MACH_PORT_QLIMIT_MAX};
    r.kr = mach_port_set_attributes(mach_task_self(), o.port, MACH_PORT_LIMITS_INFO,
                                    reinterpret_cast<mach_port_info_t>(&limits), MACH_PORT_LIMITS_INFO_COUNT);
  }
  if (r.kr == KERN_SUCCESS) {
    r.index = uint32_t(p.objects.size());
    r.port.name = o.port;
    r.port.disposition = MACH_MSG_TYPE_MAKE_SEND;
    p.objects.push_back(o);
  } else {
    r.port.name = MACH_PORT_NULL;
    r.port.disposition = MACH_MSG_TYPE_COPY_SEND;
  }
  mach_msg(&r.head, MACH_SEND_MSG, sizeof r, 0, MACH_PORT_NULL, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
}

// Asks machd for the next window of a write-back (lock_completed comes back
// to the object port).
kern_return_t continue_write_back(Object& o) {
  const uint64_t at = o.write_back_next;
  const uint64_t n = std::min(kWriteBackWindow, o.write_back_end - at);
  o.write_back_next += n;
  return memory_object_lock_request(o.control, vm_offset_t(at), vm_size_t(n), MEMORY_OBJECT_RETURN_DIRTY, FALSE,
                                    VM_PROT_NONE, o.port);
}

// Starts a flush or a write-back; the answer waits for lock_completed.
void start_lock(Pager& p, const Request& rq) {
  const mach_port_t reply = rq.head.msgh_remote_port;
  Object* o = p.by_index(rq.index);
  if (o == nullptr || !MACH_PORT_VALID(o->control) || MACH_PORT_VALID(o->waiting) || rq.b == 0) {
    send_stats_reply(reply, rq.head.msgh_id, KERN_INVALID_ARGUMENT, o ? o->stats : ObjectStats{});
    return;
  }
  o->waiting = reply;
  o->waiting_id = rq.head.msgh_id;
  o->lock_started = now_ns();
  kern_return_t kr = KERN_SUCCESS;
  if (rq.head.msgh_id == kWriteBack) {
    o->stats.returns = o->stats.bytes_returned = 0;
    o->write_back_next = 0;
    o->write_back_end = rq.a;
    kr = continue_write_back(*o);
  } else {  // kFlushPages: a = first page, b = count, c = step
    for (uint64_t i = 0; i < rq.b && kr == KERN_SUCCESS; ++i)
      kr = memory_object_lock_request(o->control, vm_offset_t((rq.a + i * rq.c) * kPage), vm_size_t(kPage),
                                      MEMORY_OBJECT_RETURN_NONE, TRUE, VM_PROT_NONE,
                                      i + 1 == rq.b ? o->port : MACH_PORT_NULL);
  }
  if (kr != KERN_SUCCESS) {
    note_error(o, kr);
    o->waiting = MACH_PORT_NULL;
    send_stats_reply(reply, rq.head.msgh_id, kr, o->stats);
  }
}

// Supplies [0, rq.a) of the object unasked; the answer waits for the
// supply_completed of the last piece.
void start_fill(Pager& p, const Request& rq) {
  const mach_port_t reply = rq.head.msgh_remote_port;
  Object* o = p.by_index(rq.index);
  if (o == nullptr || !MACH_PORT_VALID(o->control) || MACH_PORT_VALID(o->waiting) || rq.a == 0) {
    send_stats_reply(reply, rq.head.msgh_id, KERN_INVALID_ARGUMENT, o ? o->stats : ObjectStats{});
    return;
  }
  o->waiting = reply;
  o->waiting_id = kFill;
  o->lock_started = now_ns();
  kern_return_t kr = KERN_SUCCESS;
  for (uint64_t at = 0; at < rq.a && kr == KERN_SUCCESS;) {
    const uint64_t s = at % p.store_size;
    const uint64_t n = std::min({kStoreAlign, rq.a - at, p.store_size - s});
    kr = memory_object_data_supply(o->control, vm_offset_t(at), vm_offset_t(p.store + s), mach_msg_type_number_t(n),
                                   FALSE, VM_PROT_NONE, FALSE, at + n >= rq.a ? o->port : MACH_PORT_NULL);
    at += n;
  }
  if (kr != KERN_SUCCESS) {
    note_error(o, kr);
    o->waiting = MACH_PORT_NULL;
    send_stats_reply(reply, rq.head.msgh_id, kr, o->stats);
  }
}

void serve_bench(Pager& p, const Request& rq) {
  const mach_port_t reply = rq.head.msgh_remote_port;
  switch (rq.head.msgh_id) {
    case kNewObject:
      return new_object(p, reply);
    case kStats: {
      Object* o = p.by_index(rq.index);
      return send_stats_reply(reply, rq.head.msgh_id, o ? KERN_SUCCESS : KERN_INVALID_ARGUMENT,
                              o ? o->stats : ObjectStats{});
    }
    case kFlushPages:
    case kWriteBack:
      return start_lock(p, rq);
    case kFill:
      return start_fill(p, rq);
    case kQuit:
      p.quit = true;
      return send_stats_reply(reply, rq.head.msgh_id, KERN_SUCCESS, ObjectStats{});
    default:
      if (MACH_PORT_VALID(reply)) mach_port_deallocate(mach_task_self(), reply);
  }
}

// Has the kernel read every page of [p, p+size) once, as data_supply will
// (the library copies supplied data into a memfd with pwrite). Under shadow
// paging (a PVM guest, as on the VM this was written on) the kernel's first
// access to each user page costs a fault of several microseconds; paying it
// here keeps it out of the timed rows, which are about machd's path.
void warm_for_kernel(const uint8_t* p, uint64_t size) {
  int fd = memfd_create("pager-bench-warm", MFD_CLOEXEC);
  if (fd < 0) return;
  for (uint64_t at = 0; at < size; at += kStoreAlign)
    if (pwrite(fd, p + at, std::min(kStoreAlign, size - at), 0) < 0) break;
  close(fd);
}

}  // namespace

void fill_pattern(uint8_t* dst, uint64_t off, uint64_t len) {
  auto* w = reinterpret_cast<uint64_t*>(dst);
  for (uint64_t i = 0; i < len / 8; ++i) w[i] = (off / 8 + i + 1) * 0x9E3779B97F4A7C15ull;
}

int run_pager(const std::string& service_name, uint64_t store_size) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1;
  Pager p;
  p.store_size = store_size;
  void* m = mmap(nullptr, store_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return 1;
  p.store = static_cast<uint8_t*>(m);
  fill_pattern(p.store, 0, store_size);
  warm_for_kernel(p.store, store_size);
  if (!MACH_PORT_VALID(mach_reply_port())) {  // connects (and publishes bootstrap_port)
    fprintf(stderr, "pager: cannot reach machd\n");
    return 1;
  }
  if (bootstrap_check_in(bootstrap_port, service_name.c_str(), &p.service) != KERN_SUCCESS ||
      mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_PORT_SET, &p.set) != KERN_SUCCESS ||
      mach_port_move_member(mach_task_self(), p.service, p.set) != KERN_SUCCESS) {
    fprintf(stderr, "pager: cannot check in %s\n", service_name.c_str());
    return 1;
  }
  g_pager = &p;
  union {
    mach_msg_header_t head;
    Request request;
    uint8_t bytes[4096];
  } in, out;
  while (!p.quit) {
    mach_msg_return_t mr = mach_msg(&in.head, MACH_RCV_MSG, 0, sizeof in, p.set, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
    if (mr != MACH_MSG_SUCCESS) {
      fprintf(stderr, "pager: mach_msg: %s\n", mach_error_string(mr));
      return 1;
    }
    if (in.head.msgh_local_port == p.service) {
      if (in.head.msgh_size >= sizeof(Request))
        serve_bench(p, in.request);
      else
        mach_msg_destroy(&in.head);
      continue;
    }
    if (!memory_object_server(&in.head, &out.head)) mach_msg_destroy(&in.head);
  }
  g_pager = nullptr;
  return 0;
}

// ---- the bench's end ----------------------------------------------------------------

bool PagerClient::connect(const std::string& service_name) {
  reply_ = mach_reply_port();  // (the first call connects the process to machd)
  if (!MACH_PORT_VALID(reply_)) return false;
  for (int i = 0; i < 1000; ++i) {
    if (bootstrap_look_up(bootstrap_port, service_name.c_str(), &service_) == KERN_SUCCESS) return true;
    usleep(10000);
  }
  return false;
}

bool PagerClient::call(mach_msg_id_t id, uint32_t index, uint64_t a, uint64_t b, uint64_t c, void* reply,
                       size_t reply_size, mach_msg_timeout_t timeout_ms) {
  union {
    Request request;
    uint8_t bytes[512];
  } m{};
  m.request.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE);
  m.request.head.msgh_size = sizeof(Request);
  m.request.head.msgh_remote_port = service_;
  m.request.head.msgh_local_port = reply_;
  m.request.head.msgh_id = id;
  m.request.index = index;
  m.request.a = a;
  m.request.b = b;
  m.request.c = c;
  mach_msg_return_t mr = mach_msg(&m.request.head, MACH_SEND_MSG | MACH_RCV_MSG | MACH_RCV_TIMEOUT, sizeof(Request),
                                  sizeof m, reply_, timeout_ms, MACH_PORT_NULL);
  if (mr != MACH_MSG_SUCCESS || m.request.head.msgh_id != id + kReplyBase || m.request.head.msgh_size < reply_size) {
    fprintf(stderr, "pager_bench: pager call %#x: %s\n", unsigned(id), mach_error_string(mr));
    return false;
  }
  memcpy(reply, m.bytes, reply_size);
  return true;
}

bool PagerClient::new_object(mach_port_t* object, uint32_t* index) {
  ObjectReply r{};
  if (!call(kNewObject, 0, 0, 0, 0, &r, sizeof r, 10000)) return false;
  if (r.kr != KERN_SUCCESS || !(r.head.msgh_bits & MACH_MSGH_BITS_COMPLEX) || !MACH_PORT_VALID(r.port.name)) return false;
  *object = r.port.name;
  *index = r.index;
  return true;
}

bool PagerClient::stats(uint32_t index, ObjectStats* out) {
  StatsReply r{};
  if (!call(kStats, index, 0, 0, 0, &r, sizeof r, 10000) || r.kr != KERN_SUCCESS) return false;
  *out = r.stats;
  return true;
}

bool PagerClient::fill(uint32_t index, uint64_t size, ObjectStats* out) {
  StatsReply r{};
  if (!call(kFill, index, size, 0, 0, &r, sizeof r, 120000) || r.kr != KERN_SUCCESS) return false;
  *out = r.stats;
  return true;
}

bool PagerClient::flush_pages(uint32_t index, uint64_t first_page, uint64_t count, uint64_t step) {
  StatsReply r{};
  return call(kFlushPages, index, first_page, count, step, &r, sizeof r, 60000) && r.kr == KERN_SUCCESS;
}

bool PagerClient::write_back(uint32_t index, uint64_t size, ObjectStats* out) {
  StatsReply r{};
  if (!call(kWriteBack, index, size, 1, 0, &r, sizeof r, 120000) || r.kr != KERN_SUCCESS) return false;
  *out = r.stats;
  return true;
}

bool PagerClient::quit() {
  StatsReply r{};
  return call(kQuit, 0, 0, 0, 0, &r, sizeof r, 10000);
}

}  // namespace pagerbench

// ---- the pager's server routines (memory_object.defs), for run_pager ---------------
extern "C" {

using pagerbench::g_pager;

kern_return_t memory_object_init(memory_object_t object, mach_port_t control, mach_port_t name, vm_size_t) {
  if (MACH_PORT_VALID(name)) mach_port_deallocate(mach_task_self(), name);
  pagerbench::Object* o = g_pager->by_port(object);
  if (o == nullptr) return KERN_INVALID_ARGUMENT;
  if (MACH_PORT_VALID(o->control)) mach_port_deallocate(mach_task_self(), o->control);
  o->control = control;
  kern_return_t kr = memory_object_ready(control, FALSE, MEMORY_OBJECT_COPY_DELAY);
  pagerbench::note_error(o, kr);
  return kr;
}

kern_return_t memory_object_terminate(mach_port_t object, mach_port_t control, mach_port_t name) {
  if (pagerbench::Object* o = g_pager->by_port(object)) {
    if (MACH_PORT_VALID(o->control)) mach_port_deallocate(mach_task_self(), o->control);  // the one kept from init
    o->control = MACH_PORT_NULL;
  }
  // The kernel hands over the receive rights of control and name, and its
  // send right to the object.
  mach_port_mod_refs(mach_task_self(), control, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_mod_refs(mach_task_self(), name, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), object);
  return KERN_SUCCESS;
}

kern_return_t memory_object_copy(memory_object_t, mach_port_t control, vm_offset_t, vm_size_t, mach_port_t copy) {
  pagerbench::drop_control_ref(control);
  if (MACH_PORT_VALID(copy)) mach_port_deallocate(mach_task_self(), copy);
  return KERN_NOT_SUPPORTED;
}

// Supplies the request from the store, in pieces that do not cross its end.
kern_return_t memory_object_data_request(memory_object_t object, mach_port_t control, vm_offset_t offset,
                                         vm_size_t length, vm_prot_t) {
  pagerbench::Object* o = g_pager->by_port(object);
  kern_return_t kr = o ? KERN_SUCCESS : KERN_INVALID_ARGUMENT;
  if (o != nullptr) {
    ++o->stats.requests;
    o->stats.bytes_requested += length;
  }
  uint64_t at = offset;
  const uint64_t end = uint64_t(offset) + length;
  while (kr == KERN_SUCCESS && at < end) {
    const uint64_t s = at % g_pager->store_size;
    const uint64_t n = std::min(end - at, g_pager->store_size - s);
    kr = memory_object_data_supply(control, vm_offset_t(at), vm_offset_t(g_pager->store + s),
                                   mach_msg_type_number_t(n), FALSE, VM_PROT_NONE, FALSE, MACH_PORT_NULL);
    at += n;
  }
  pagerbench::note_error(o, kr);
  pagerbench::drop_control_ref(control);
  return kr;
}

kern_return_t memory_object_data_unlock(memory_object_t, mach_port_t control, vm_offset_t offset, vm_size_t length,
                                        vm_prot_t) {
  // Never asked: this pager locks nothing. Lift whatever it is anyway.
  kern_return_t kr = memory_object_lock_request(control, offset, length, MEMORY_OBJECT_RETURN_NONE, FALSE,
                                                VM_PROT_NONE, MACH_PORT_NULL);
  pagerbench::drop_control_ref(control);
  return kr;
}

kern_return_t memory_object_lock_completed(mach_port_t object, mach_port_t control, vm_offset_t, vm_size_t) {
  pagerbench::drop_control_ref(control);
  pagerbench::Object* o = g_pager->by_port(object);
  if (o == nullptr || !MACH_PORT_VALID(o->waiting)) return KERN_SUCCESS;
  if (o->waiting_id == pagerbench::kWriteBack && o->write_back_next < o->write_back_end) {
    const kern_return_t kr = pagerbench::continue_write_back(*o);
    if (kr == KERN_SUCCESS) return KERN_SUCCESS;
    pagerbench::note_error(o, kr);
  }
  o->stats.lock_ns = pagerbench::now_ns() - o->lock_started;
  pagerbench::send_stats_reply(o->waiting, o->waiting_id, KERN_SUCCESS, o->stats);
  o->waiting = MACH_PORT_NULL;
  return KERN_SUCCESS;
}

kern_return_t memory_object_supply_completed(mach_port_t object, mach_port_t control, vm_offset_t, vm_size_t,
                                             kern_return_t result, vm_offset_t) {
  pagerbench::drop_control_ref(control);
  pagerbench::Object* o = g_pager->by_port(object);
  pagerbench::note_error(o, result);
  if (o != nullptr && MACH_PORT_VALID(o->waiting) && o->waiting_id == pagerbench::kFill) {
    o->stats.lock_ns = pagerbench::now_ns() - o->lock_started;
    pagerbench::send_stats_reply(o->waiting, o->waiting_id, result, o->stats);
    o->waiting = MACH_PORT_NULL;
  }
  return KERN_SUCCESS;
}

// Write-back: the data goes back into the store.
kern_return_t memory_object_data_return(memory_object_t object, mach_port_t control, vm_offset_t offset,
                                        vm_offset_t data, mach_msg_type_number_t count, boolean_t, boolean_t) {
  pagerbench::drop_control_ref(control);
  if (pagerbench::Object* o = g_pager->by_port(object)) {
    ++o->stats.returns;
    o->stats.bytes_returned += count;
    const auto* src = reinterpret_cast<const uint8_t*>(data);
    for (uint64_t at = 0; at < count;) {
      const uint64_t s = (offset + at) % g_pager->store_size;
      const uint64_t n = std::min<uint64_t>(count - at, g_pager->store_size - s);
      memcpy(g_pager->store + s, src + at, n);
      at += n;
    }
  }
  if (count > 0) vm_deallocate(mach_task_self(), data, count);
  return KERN_SUCCESS;
}

kern_return_t memory_object_change_completed(mach_port_t, boolean_t, memory_object_copy_strategy_t) {
  return KERN_SUCCESS;
}

}  // extern "C"
