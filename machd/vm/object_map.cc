// machd/vm/object_map.cc — see object_map.h.
#include "object_map.h"

#include <mach/mig_errors.h>
#include <sys/mman.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <memory>

#include "agent_reply.h"
#include "eager_copy_bound.h"
#include "eager_copy_quota.h"
#include "kern/agent.h"
#include "kern/runtime.h"
#include "memory_objects.h"

namespace machd::vm {

namespace {

int to_linux(vm_prot_t p) {
  return ((p & VM_PROT_READ) ? PROT_READ : 0) | ((p & VM_PROT_WRITE) ? PROT_WRITE : 0) |
         ((p & VM_PROT_EXECUTE) ? PROT_EXEC : 0);
}

kern_return_t kr_of_agent(kern_return_t kr) {
  return (kr == KERN_TERMINATED || kr == KERN_OPERATION_TIMED_OUT) ? KERN_INVALID_TASK : kr;
}

void unmap_in(ipc::TaskId task, uint64_t addr, uint64_t len) {
  kern::agent().request(task, kern::munmap_call(addr, len), [](const kern::AgentResult&) {});
}

// A snapshot's share of its user's eager copy quota, held by the steps of
// the copy (callbacks) until the copy is mapped or failed.
using HeldCopy = std::shared_ptr<EagerCopyQuota::Reservation>;

// The quota for a snapshot of `len` bytes mapped into `task`, counted
// against the user of the task that asked (the request's sender): null past
// the bound per request or past what that user may still have in flight
// (eager_copy_bound.h, eager_copy_quota.h). It ends with `task`: a copy for
// a task that ended is abandoned.
HeldCopy reserve_snapshot(ipc::TaskId task, uint64_t len) {
  if (!EagerCopyBudget().take(len)) return nullptr;
  const ipc::TaskId sender = kern::runtime().request().sender;
  const std::optional<uid_t> uid = EagerCopyQuota::user_of(sender != ipc::kNoTask ? sender : task);
  if (!uid) return nullptr;
  EagerCopyQuota& quota = memory_objects().eager_copies();
  EagerCopyQuota::Reservation r = quota.reserve(*uid, len, task);
  if (!r) {
    spdlog::info("vm_map copy=TRUE of {:#x} bytes refused: user {} has {:#x} bytes of eager copies in flight "
                 "(at most {:#x}, --max-eager-copy-per-user)",
                 len, *uid, quota.in_flight(*uid), quota.bound());
    return nullptr;
  }
  return std::make_shared<EagerCopyQuota::Reservation>(std::move(r));
}

void map_copy(ipc::TaskId task, uint64_t start, uint64_t len, int fixed, uint64_t id, uint64_t offset, vm_prot_t cur,
              kern::DeferredReply d, HeldCopy held) {
  MemoryObject* o = memory_objects().by_id(id);
  // (Not held any more: the task ended meanwhile, the copy is abandoned.)
  const bool wanted = held->held();
  int fd = o && wanted ? snapshot(o->fd(), offset, len) : -1;
  memory_objects().unpin_soon(id);  // (the snapshot is taken: the object may end once its supply returned)
  if (fd < 0) {
    held->reset();
    kern::runtime().send_error_reply(d, !o ? KERN_MEMORY_ERROR : !wanted ? KERN_INVALID_TASK : KERN_RESOURCE_SHORTAGE);
    return;
  }
  const kern::AgentCall c = kern::mmap_call(start, len, to_linux(cur), MAP_PRIVATE | fixed, fd, 0);
  kern::agent().request(task, c, [d, fd, held](const kern::AgentResult& r) {
    close(fd);
    held->reset();  // (before the reply: the task may copy again as soon as it has it)
    if (r.result != KERN_SUCCESS) return kern::runtime().send_error_reply(d, kr_of_agent(r.result));
    send_address_reply(d, r.rets[0]);
  });
}

}  // namespace

namespace {

// copy=FALSE: the agent maps the cache, the router registers the range; the
// deferred reply goes once that (and MADV_DONTFORK where due) is done. The
// object is pinned while the agent maps it: another task's last unmap
// meanwhile must not end it under this map (Mach's vm_map holds a
// reference on the object from the port's lookup on). Once registered,
// the mapping holds it.
void map_shared(ipc::TaskId task, uint64_t start, uint64_t len, int fixed, uint64_t id, uint64_t offset,
                vm_prot_t cur, vm_inherit_t inheritance, kern::DeferredReply d) {
  MemoryObjects& objects = memory_objects();
  MemoryObject* o = objects.by_id(id);
  if (o == nullptr) return kern::runtime().send_error_reply(d, KERN_MEMORY_ERROR);
  objects.pin(id);
  const kern::AgentCall c = kern::mmap_call(start, len, to_linux(cur), MAP_SHARED | fixed, o->fd(), offset);
  kern::agent().request(task, c, [=](const kern::AgentResult& r) {
    MemoryObjects& objs = memory_objects();
    if (r.result != KERN_SUCCESS) {
      objs.unpin(id);
      return kern::runtime().send_error_reply(d, kr_of_agent(r.result));
    }
    const uint64_t addr = r.rets[0];
    MemoryObject* obj = objs.by_id(id);
    // (Not alive: its pager destroyed it or died meanwhile.)
    const int e =
        (obj && obj->alive()) ? objs.router().add_mapping(task, addr, addr + len, offset, cur, obj, inheritance) : ESRCH;
    objs.unpin(id);  // (the mapping holds it now, if there is one)
    if (e != 0) {
      unmap_in(task, addr, len);
      return kern::runtime().send_error_reply(d, e == ESRCH ? KERN_MEMORY_ERROR : KERN_NOT_SUPPORTED);
    }
    // A forked child must never touch the cache without machd seeing its
    // faults: a SHARE mapping is taken over by the child before fork()
    // returns in it (MACHD_OP_OBJECTS_INHERIT); any other is kept out.
    // (The reply waits for it: the caller may fork as soon as it returns.)
    objs.arm();
    if (inheritance == VM_INHERIT_SHARE) return send_address_reply(d, addr);
    kern::agent().request(task, kern::madvise_call(addr, len, MADV_DONTFORK), [d, addr](const kern::AgentResult&) { send_address_reply(d, addr); });
  });
}

}  // namespace

int snapshot(int from, uint64_t offset, uint64_t len) {
  int fd = memfd_create("mach-object-copy", MFD_CLOEXEC);
  if (fd < 0) return -1;
  if (ftruncate(fd, off_t(len)) != 0) {
    close(fd);
    return -1;
  }
  loff_t in = loff_t(offset), out = 0;
  while (uint64_t(out) < len) {
    ssize_t n = copy_file_range(from, &in, fd, &out, size_t(len - uint64_t(out)), 0);
    if (n <= 0) {
      close(fd);
      return -1;
    }
  }
  return fd;
}

MemoryObject* copy_call(MemoryObject& o, uint64_t offset, uint64_t len) {
  // The pager makes the copy from what it holds: the range's dirty pages go
  // to it first (data_return, queued on its port before memory_object_copy).
  o.lock_request(offset, len, MEMORY_OBJECT_RETURN_DIRTY, false, VM_PROT_NO_CHANGE, MACH_PORT_NULL, 0);
  MemoryObjects& objects = memory_objects();
  const mach_port_name_t fresh = objects.link().copy(o, offset, len);
  return MACH_PORT_VALID(fresh) ? objects.object_for(fresh) : nullptr;
}

bool copy_call_ok(ipc::TaskId task, const MemoryObject& o) {
  return memory_objects().router().has_userfaultfd(task) && o.ready() && o.copy_strategy() == MEMORY_OBJECT_COPY_CALL;
}

kern_return_t map_memory_object(ipc::TaskId task, uint64_t start, uint64_t len, int fixed, mach_port_t object,
                                uint64_t offset, bool copy, vm_prot_t cur, vm_prot_t max, vm_inherit_t inheritance) {
  (void)max;
  const uint64_t pm = MemoryObject::kPage - 1;
  uint64_t end;
  if ((offset & pm) != 0 || __builtin_add_overflow(offset, len, &end)) return KERN_INVALID_ARGUMENT;
  MemoryObjects& objects = memory_objects();
  const bool routed = objects.router().has_userfaultfd(task);
  if (!copy && !routed) return KERN_NOT_SUPPORTED;  // no route for its faults
  MemoryObject* o = objects.object_for(object);  // takes the request's right
  if (o == nullptr) return KERN_RESOURCE_SHORTAGE;
  const uint64_t id = o->id();
  // (From here on errors are sent, not returned: an error returned would
  // release the request's right again, which object_for took.)
  kern::DeferredReply d = kern::runtime().defer();
  const bool pagers_copy = copy && copy_call_ok(task, *o);
  HeldCopy held = copy && !pagers_copy ? reserve_snapshot(task, len) : nullptr;
  if (copy && !pagers_copy && !held) {
    // A snapshot this long, or this long on top of the user's other copies
    // in flight, would make machd ask the pager for, and hold, more than
    // it allows (eager_copy_bound.h, eager_copy_quota.h): refused now,
    // before anything is asked. XNU bounds no copy of an object (its slow
    // copy waits for pages), so the answer is the one XNU gives when a
    // request would make the kernel hold more than a limit allows:
    // vm_map_wire past the user wire limit answers KERN_RESOURCE_SHORTAGE
    // (as machd's own snapshot does when its memfd cannot be made). Not
    // KERN_NO_SPACE (the task's address space is not what is short), nor
    // KERN_INVALID_ARGUMENT (the same range is valid copy=FALSE, or of a
    // COPY_CALL pager).
    objects.release_if_unused(id);
    kern::runtime().send_error_reply(d, KERN_RESOURCE_SHORTAGE);
    return MIG_NO_REPLY;
  }
  if (pagers_copy) {
    // The pager makes the copy: a new object it serves (memory_object_copy),
    // mapped like any other.
    MemoryObject* c = copy_call(*o, offset, len);
    objects.release_if_unused(id);
    if (c == nullptr) {
      kern::runtime().send_error_reply(d, KERN_MEMORY_FAILURE);
      return MIG_NO_REPLY;
    }
    map_shared(task, start, len, fixed, c->id(), 0, cur, inheritance, d);
    return MIG_NO_REPLY;
  }
  if (copy) {
    // Pinned until the snapshot is taken (map_copy), as map_shared pins;
    // the quota is held until it is mapped (or failed, or its task ended).
    objects.pin(id);
    o->when_resident(offset, len, [=](bool ok) {
      if (!ok) {
        held->reset();
        memory_objects().unpin_soon(id);
        return kern::runtime().send_error_reply(d, KERN_MEMORY_ERROR);
      }
      map_copy(task, start, len, fixed, id, offset, cur, d, held);
    });
    objects.arm();
    return MIG_NO_REPLY;
  }
  map_shared(task, start, len, fixed, id, offset, cur, inheritance, d);
  return MIG_NO_REPLY;
}

void map_object_shared(ipc::TaskId task, uint64_t start, uint64_t len, int fixed, uint64_t id, vm_prot_t cur,
                       vm_inherit_t inheritance) {
  map_shared(task, start, len, fixed, id, 0, cur, inheritance, kern::runtime().defer());
}

}  // namespace machd::vm
