// machd/daemon/traps.cc — see traps.h.
#include "traps.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <algorithm>
#include <memory>
#include <vector>

#include "kern/agent.h"
#include "kern/clock.h"
#include "kern/corpse.h"
#include "kern/exception_delivery.h"
#include "kern/emulation.h"
#include "kern/host.h"
#include "kern/timer.h"
#include "kern/task.h"
#include "kern/semaphore.h"
#include "kern/thread.h"
#include "kern/voucher.h"
#include "msg_codec.h"
#include "ool_payload.h"
#include "reply_arrays.h"
#include "vm/memory_entry.h"
#include "vm/memory_objects.h"

namespace machd {

namespace {

using ipc::Kernel;
using ipc::TaskId;

struct Ctx {
  Kernel& k;
  Session& s;
  Request& req;
  Reply& rep;
  uint64_t a(int i) const { return req.args[i]; }
  mach_port_name_t name(int i) const { return mach_port_name_t(req.args[i]); }
};

// The task a trap operates on: args[0] names a task port in the caller's space.
// Like XNU's kernelrpc traps, a bad task name is MACH_SEND_INVALID_DEST.
TaskId target(Ctx& c) { return c.k.resolve_task(c.s.task, c.name(0)); }

uint64_t resident_bytes() {
  FILE* f = fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, rss = 0;
  int n = fscanf(f, "%lu %lu", &size, &rss);
  fclose(f);
  return n == 2 ? uint64_t(rss) * uint64_t(sysconf(_SC_PAGESIZE)) : 0;
}

// Runs `call` with a T to fill, and returns that T in rets[0] (whatever the result).
template <typename T, typename F>
kern_return_t ret0(Ctx& c, F call) {
  T v = 0;
  kern_return_t kr = call(&v);
  c.rep.rets[0] = v;
  return kr;
}

kern_return_t trap(Ctx& c) {
  Kernel& k = c.k;
  const TaskId self = c.s.task;
  if (c.req.op == MACHD_OP_PING) return KERN_SUCCESS;
  if (c.req.op == MACHD_OP_STATS) {
    ipc::Stats st = k.stats();
    machd_stats out{};
    out.tasks = st.tasks;
    out.ports = st.ports;
    out.port_sets = st.port_sets;
    out.entries = st.entries;
    out.messages = st.messages;
    out.ool_payloads = st.ool_payloads;
    out.waiters = st.waiters;
    out.memfd_payloads = MemfdPayload::live_count();
    out.rss_bytes = resident_bytes();
    out.vouchers = st.vouchers;
    out.voucher_values = kern::vouchers().live_values();
    const auto* b = reinterpret_cast<const uint8_t*>(&out);
    c.rep.data.assign(b, b + sizeof out);
    return KERN_SUCCESS;
  }
  if (c.req.op == MACHD_OP_HOST_SELF) {
    c.rep.rets[0] = kern::host().host_self(self);
    return KERN_SUCCESS;
  }
  switch (c.req.op) {  // 70-89: on the caller's own space (kern/timer.h, clock.h)
    case MACHD_OP_MK_TIMER_CREATE:
      c.rep.rets[0] = kern::timers().create(self);
      return KERN_SUCCESS;
    case MACHD_OP_MK_TIMER_DESTROY: return kern::timers().destroy(self, c.name(0));
    case MACHD_OP_MK_TIMER_ARM: return kern::timers().arm(self, c.name(0), c.a(1));
    case MACHD_OP_MK_TIMER_CANCEL:
      return ret0<uint64_t>(c, [&](uint64_t* v) { return kern::timers().cancel(self, c.name(0), v); });
    case MACHD_OP_CLOCK_OF: {
      auto id = kern::clocks().clock_of(self, c.name(0));
      c.rep.rets[0] = id ? uint64_t(*id) : 0;
      return id ? KERN_SUCCESS : KERN_INVALID_ARGUMENT;
    }
    default: break;
  }
  if (c.req.op == MACHD_OP_SEMAPHORE_PAGE) {
    int fd = -1;
    uint64_t id = 0;
    kern_return_t kr = kern::semaphores().page(self, c.name(0), &fd, &id);
    if (kr != KERN_SUCCESS) return kr;
    const uint64_t tag = c.s.next_fd_tags(1);
    if (!c.s.send_fds(std::span<const int>(&fd, 1), tag)) return KERN_RESOURCE_SHORTAGE;
    c.rep.rets[0] = tag;
    c.rep.rets[1] = id;
    return KERN_SUCCESS;
  }
  if (c.req.op == MACHD_OP_THREAD_SELF) {
    c.rep.rets[0] = kern::thread_self(self, pid_t(c.a(0)));
    return KERN_SUCCESS;
  }
  if (c.req.op == MACHD_OP_REPLY_PORT) {
    c.rep.rets[0] = k.reply_port(self);
    return KERN_SUCCESS;
  }
  // Task traps answer a bad task name as XNU's do (KERN_FAILURE).
  if (c.req.op == MACHD_OP_TASK_FOR_PID || c.req.op == MACHD_OP_TASK_NAME_FOR_PID) {
    const auto flavor = c.req.op == MACHD_OP_TASK_FOR_PID ? kern::TaskFlavor::kControl : kern::TaskFlavor::kName;
    return ret0<mach_port_name_t>(
        c, [&](auto* n) { return kern::tasks().task_for_pid(self, c.name(0), int(int32_t(c.a(1))), flavor, n); });
  }
  if (c.req.op == MACHD_OP_CORPSE_FORKED) return kern::corpses_if_any()->adopt(self, pid_t(c.a(0)), pid_t(c.a(1)));
  if (c.req.op == MACHD_OP_PID_FOR_TASK) {
    int pid = 0;
    kern_return_t kr = kern::tasks().pid_for_task(self, c.name(0), &pid);
    c.rep.rets[0] = uint64_t(uint32_t(pid));
    return kr;
  }
  TaskId t = target(c);
  if (t == ipc::kNoTask) return MACH_SEND_INVALID_DEST;
  // A corpse's space is read, never changed (kern/corpse.h; as the MIG
  // routines: those on an ipc_space_read_t only).
  if (t != self && kern::is_corpse_task(t) && c.req.op != MACHD_OP_PORT_GET_SET_STATUS &&
      c.req.op != MACHD_OP_PORT_GET_ATTRIBUTES && c.req.op != MACHD_OP_PORT_GET_CONTEXT)
    return KERN_INVALID_TASK;
  switch (c.req.op) {
    case MACHD_OP_PORT_ALLOCATE:
      return ret0<mach_port_name_t>(c, [&](auto* n) { return k.port_allocate(t, mach_port_right_t(c.a(1)), n); });
    case MACHD_OP_PORT_ALLOCATE_NAME:
      return k.port_allocate_name(t, mach_port_right_t(c.a(1)), c.name(2));
    case MACHD_OP_PORT_DEALLOCATE: return k.port_deallocate(t, c.name(1));
    case MACHD_OP_PORT_DESTROY: return k.port_destroy(t, c.name(1));
    case MACHD_OP_PORT_MOD_REFS:
      return k.port_mod_refs(t, c.name(1), mach_port_right_t(c.a(2)), mach_port_delta_t(int32_t(c.a(3))));
    case MACHD_OP_PORT_GET_REFS:
      return ret0<mach_port_urefs_t>(
          c, [&](auto* r) { return k.port_get_refs(t, c.name(1), mach_port_right_t(c.a(2)), r); });
    case MACHD_OP_PORT_TYPE:
      return ret0<mach_port_type_t>(c, [&](auto* ty) { return k.port_type(t, c.name(1), ty); });
    case MACHD_OP_PORT_NAMES: {
      std::vector<mach_port_name_t> names;
      std::vector<mach_port_type_t> types;
      kern_return_t kr = k.port_names(t, &names, &types);
      if (kr != KERN_SUCCESS) return kr;
      const ReplyArray arrays[] = {{names.data(), sizeof(mach_port_name_t)}, {types.data(), sizeof(mach_port_type_t)}};
      return put_reply_arrays(c.s, c.rep, names.size(), arrays);
    }
    case MACHD_OP_PORT_INSERT_RIGHT:
      return k.port_insert_right(self, t, c.name(1), c.name(2), mach_msg_type_name_t(c.a(3)));
    case MACHD_OP_PORT_EXTRACT_RIGHT: {
      mach_port_name_t poly = 0;
      mach_msg_type_name_t ty = 0;
      kern_return_t kr = k.port_extract_right(self, t, c.name(1), mach_msg_type_name_t(c.a(2)), &poly, &ty);
      c.rep.rets[0] = poly;
      c.rep.rets[1] = ty;
      return kr;
    }
    case MACHD_OP_PORT_MOVE_MEMBER: return k.port_move_member(t, c.name(1), c.name(2));
    case MACHD_OP_PORT_INSERT_MEMBER: return k.port_insert_member(t, c.name(1), c.name(2));
    case MACHD_OP_PORT_EXTRACT_MEMBER: return k.port_extract_member(t, c.name(1), c.name(2));
    case MACHD_OP_PORT_GET_SET_STATUS: {
      std::vector<mach_port_name_t> members;
      kern_return_t kr = k.port_get_set_status(t, c.name(1), &members);
      if (kr != KERN_SUCCESS) return kr;
      const ReplyArray arrays[] = {{members.data(), sizeof(mach_port_name_t)}};
      return put_reply_arrays(c.s, c.rep, members.size(), arrays);
    }
    case MACHD_OP_PORT_REQUEST_NOTIFICATION:
      return ret0<mach_port_name_t>(c, [&](auto* prev) {
        return k.port_request_notification(t, c.name(1), mach_msg_id_t(c.a(2)), mach_port_mscount_t(c.a(3)),
                                           c.name(4), mach_msg_type_name_t(c.a(5)), prev);
      });
    case MACHD_OP_PORT_GET_ATTRIBUTES: {
      mach_msg_type_number_t count = mach_msg_type_number_t(c.a(3));
      if (count > 64) count = 64;
      integer_t info[64] = {};
      kern_return_t kr = k.port_get_attributes(t, c.name(1), int(c.a(2)), info, &count);
      if (kr != KERN_SUCCESS) return kr;
      c.rep.rets[0] = count;
      c.rep.data.assign(reinterpret_cast<uint8_t*>(info), reinterpret_cast<uint8_t*>(info) + count * sizeof(integer_t));
      return KERN_SUCCESS;
    }
    case MACHD_OP_PORT_SET_ATTRIBUTES: {
      uint64_t count = c.a(3);
      if (count > 64 || count * sizeof(integer_t) > c.req.data.size()) return KERN_INVALID_ARGUMENT;
      integer_t info[64] = {};
      if (count > 0) memcpy(info, c.req.data.data(), count * sizeof(integer_t));  // data() may be null
      return k.port_set_attributes(t, c.name(1), int(c.a(2)), info, mach_msg_type_number_t(count));
    }
    case MACHD_OP_PORT_CONSTRUCT: {
      mach_port_options_t opt{};
      if (c.req.data.size() < sizeof opt) return KERN_INVALID_ARGUMENT;
      memcpy(&opt, c.req.data.data(), sizeof opt);
      return ret0<mach_port_name_t>(
          c, [&](auto* n) { return k.port_construct(t, opt, mach_port_context_t(c.a(1)), n); });
    }
    case MACHD_OP_PORT_DESTRUCT:
      return k.port_destruct(t, c.name(1), mach_port_delta_t(int32_t(c.a(2))), mach_port_context_t(c.a(3)));
    case MACHD_OP_PORT_GUARD:  // args[3]: MPG_STRICT | MPG_IMMOVABLE_RECEIVE
      return k.port_guard(t, c.name(1), mach_port_context_t(c.a(2)), (c.a(3) & MPG_STRICT) != 0,
                          (c.a(3) & MPG_IMMOVABLE_RECEIVE) != 0);
    case MACHD_OP_PORT_UNGUARD: return k.port_unguard(t, c.name(1), mach_port_context_t(c.a(2)));
    case MACHD_OP_PORT_SET_CONTEXT: return k.port_set_context(t, c.name(1), mach_port_context_t(c.a(2)));
    case MACHD_OP_PORT_GET_CONTEXT:
      return ret0<mach_port_context_t>(c, [&](auto* ctx) { return k.port_get_context(t, c.name(1), ctx); });
    case MACHD_OP_PORT_SET_MSCOUNT: return k.port_set_mscount(t, c.name(1), mach_port_mscount_t(c.a(2)));
    case MACHD_OP_PORT_SET_SEQNO: return k.port_set_seqno(t, c.name(1), mach_port_seqno_t(c.a(2)));
    case MACHD_OP_PORT_GET_SRIGHTS:
      return ret0<mach_port_rights_t>(c, [&](auto* r) { return k.port_get_srights(t, c.name(1), r); });
    case MACHD_OP_PORT_RENAME: return k.port_rename(t, c.name(1), c.name(2));
    case MACHD_OP_PORT_PEEK: {
      mach_port_seqno_t seq = mach_port_seqno_t(c.a(3));
      mach_msg_size_t size = 0;
      mach_msg_id_t id = 0;
      std::vector<uint8_t> trailer;
      kern_return_t kr = k.port_peek(t, c.name(1), mach_msg_trailer_type_t(c.a(2)), &seq, &size, &id, &trailer);
      c.rep.rets[0] = seq;
      c.rep.rets[1] = size;
      c.rep.rets[2] = uint32_t(id);
      c.rep.rets[3] = trailer.size();
      c.rep.data = std::move(trailer);
      return kr;
    }
    case MACHD_OP_EMULATION_INHERIT: {
      if (t != self) return KERN_INVALID_ARGUMENT;  // only a task for itself
      uint64_t n = 0;
      kern_return_t kr = kern::emulations().inherit(self, pid_t(c.a(1)), &n);
      c.rep.rets[0] = n;
      return kr;
    }
    case MACHD_OP_OBJECTS_INHERIT: {
      if (t != self) return KERN_INVALID_ARGUMENT;  // only a task for itself
      uint64_t n = 0;
      kern_return_t kr = vm::memory_objects().inherit(self, pid_t(c.a(1)), c.a(2), &n);
      c.rep.rets[0] = n;
      return kr;
    }
    case MACHD_OP_OBJECTS_FORK_DONE:
      if (t != self) return KERN_INVALID_ARGUMENT;
      return vm::memory_objects().fork_copies().fork_done(self, c.a(1));
    case MACHD_OP_OBJECTS_FORK_COPY: {
      if (t != self) return KERN_INVALID_ARGUMENT;
      vm::ForkCopies::Copy copy;
      int fd = -1;
      bool shared = false;
      kern_return_t kr = vm::memory_objects().fork_copies().take(self, pid_t(c.a(1)), c.a(2), c.a(3), &copy, &fd, &shared);
      if (kr != KERN_SUCCESS) return kr;
      const uint64_t tag = c.s.next_fd_tags(1);
      if (!c.s.send_fds(std::span<const int>(&fd, 1), tag)) return KERN_RESOURCE_SHORTAGE;
      c.rep.rets[0] = tag;
      c.rep.rets[1] = copy.start;
      c.rep.rets[2] = copy.len;
      c.rep.rets[3] = 0;  // offset in the memfd
      c.rep.rets[4] = uint64_t(copy.prot);
      c.rep.rets[5] = shared ? MACHD_FORK_COPY_SHARED : 0;
      return KERN_SUCCESS;
    }
    case MACHD_OP_OBJECTS_FORK_COPY_MAPPED:
      if (t != self) return KERN_INVALID_ARGUMENT;
      return vm::memory_objects().fork_copies().mapped(self, c.a(1), c.a(2));
    case MACHD_OP_MEMORY_ENTRY_MAP: {
      // Only a task mapping into itself (vm_map on mach_task_self()).
      if (t != self) return KERN_NOT_SUPPORTED;
      const vm::MemoryEntry* e = vm::memory_entries().find_in(self, c.name(1));
      if (e == nullptr) {
        // A send right to a port no kernel object is: a pager's memory
        // object. The task maps it with the vm_map message (the fault
        // router must register the range): say so.
        mach_port_type_t type = 0;
        if (k.port_type(self, c.name(1), &type) == KERN_SUCCESS && (type & MACH_PORT_TYPE_SEND) &&
            k.kobject_of(self, c.name(1)).type == 0)
          return KERN_INVALID_OBJECT;
        return KERN_INVALID_ARGUMENT;
      }
      const uint64_t tag = c.s.next_fd_tags(1);
      if (!c.s.send_fds(std::span<const int>(&e->fd, 1), tag)) return KERN_RESOURCE_SHORTAGE;
      c.rep.rets[0] = tag;
      c.rep.rets[1] = e->offset;
      c.rep.rets[2] = e->size;
      c.rep.rets[3] = uint64_t(e->protection);
      return KERN_SUCCESS;
    }
    default:
      return KERN_NOT_SUPPORTED;  // an op of a reserved range machd does not know (machd_abi.h)
  }
}

}  // namespace

bool run_trap(Kernel& k, Session& s, Request& req, ipc::WaiterId waiter, uint64_t now_ns, Reply& rep) {
  if (req.op == MACHD_OP_MSG) {
    ipc::MsgArgs args;
    mach_msg_return_t mr = decode_msg_request(req, args);
    if (mr != MACH_MSG_SUCCESS) {
      rep.result = mr;
      return true;
    }
    ipc::MsgOutcome o = k.msg(s.task, waiter, std::move(args), now_ns);
    if (o.blocked) return false;
    encode_completion(o.done, s, rep);
    return true;
  }
  if (req.op == MACHD_OP_EXCEPTION_RAISE) {  // answered when the thread is let go (exception_delivery.h)
    const kern_return_t kr = kern::exception_delivery().raise(
        s.task, pid_t(req.args[0]), req.channel, exception_type_t(int32_t(req.args[1])), int64_t(req.args[2]),
        int64_t(req.args[3]), req.data.data(), req.data.size());
    if (kr == KERN_SUCCESS) return false;
    rep.result = kr;
    return true;
  }
  if (req.op == MACHD_OP_OBJECTS_FORK_PREPARE) {  // answered once the copies are made (vm/fork_copies.h)
    if (k.resolve_task(s.task, mach_port_name_t(req.args[0])) != s.task) {
      rep.result = KERN_INVALID_ARGUMENT;  // only a task for itself
      return true;
    }
    const ipc::TaskId task = s.task;
    const uint32_t channel = req.channel;
    // Answered before prepare() returned (nothing to wait for), or later.
    auto inside = std::make_shared<bool>(true);
    auto answered = std::make_shared<bool>(false);
    Reply* now = &rep;
    vm::memory_objects().fork_copies().prepare(
        task, pid_t(req.args[1]), [=](kern_return_t kr, uint64_t token, const vm::ForkCopies::Ranges& copies) {
          // data: {address, length} of each copy (as many as fit).
          const size_t n = std::min<size_t>(copies.size(), MACHD_CHANNEL_DATA_SIZE / (2 * sizeof(uint64_t)));
          std::vector<uint8_t> data(n * 2 * sizeof(uint64_t));
          for (size_t i = 0; i < n; ++i) {
            const uint64_t range[2] = {copies[i].first, copies[i].second};
            memcpy(data.data() + i * sizeof range, range, sizeof range);
          }
          const uint64_t rets[2] = {token, n};
          if (*inside) {
            now->result = kr;
            now->rets[0] = token;
            now->rets[1] = n;
            now->data = std::move(data);
            *answered = true;
            return;
          }
          kern::agent().finish_call(task, channel, kr, rets, 2, data.data(), data.size());
        });
    *inside = false;
    if (*answered) return true;
    return false;
  }
  Ctx c{k, s, req, rep};
  rep.result = trap(c);
  return true;
}

}  // namespace machd
