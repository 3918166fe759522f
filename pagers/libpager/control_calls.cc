// pagers/libpager/control_calls.cc — the pager's own calls on the object's
// control port (lock requests, attribute changes, destroy), and waiting for
// their completions, which the serving thread reports (kernel_requests.cc).
#include <mach/mach.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>

#include "pager_internal.h"

using machpager::Control;
using machpager::Waiter;

namespace {

// Sends one call on the control port with `send(control, reply_to)`; with a
// wait, registers `w` first, names the object port as reply port and blocks
// until the serving thread marks `w` done (or wait_ms passes).  `hook` says
// whether an unwaited completion has a listener (then the object port is
// the reply port too).
kern_return_t call_and_wait(mach_pager_state* p, Waiter* w, int wait_ms, bool hook,
                            const std::function<kern_return_t(mach_port_t, mach_port_t)>& send) {
  if (p == nullptr) return KERN_INVALID_ARGUMENT;
  const bool wait = wait_ms != MACH_PAGER_NO_WAIT;
  if (wait && machpager::in_dispatch()) return KERN_INVALID_ARGUMENT;  // it would wait for itself
  std::shared_ptr<mach_pager_state> keep = p->shared_from_this();
  std::shared_ptr<Control> control;  // keeps the control port's name ours while we send
  {
    std::lock_guard<std::mutex> g(p->mu);
    if (!p->control || p->stopping) return KERN_INVALID_ARGUMENT;
    control = p->control;
    if (wait) p->waiters.push_back(w);
  }
  const mach_port_t reply_to = wait || hook ? p->port : MACH_PORT_NULL;
  kern_return_t kr = send(control->control, reply_to);
  control.reset();  // outside the lock: this may be the last reference
  std::unique_lock<std::mutex> lk(p->mu);
  if (kr != KERN_SUCCESS || !wait) {
    if (wait && !w->done) p->waiters.remove(w);
    return kr;
  }
  auto done = [&] { return w->done; };
  if (wait_ms < 0) {
    p->cv.wait(lk, done);
  } else if (!p->cv.wait_for(lk, std::chrono::milliseconds(wait_ms), done)) {
    p->waiters.remove(w);
    return KERN_OPERATION_TIMED_OUT;
  }
  return w->result;
}

}  // namespace

extern "C" {

kern_return_t mach_pager_lock_request(mach_pager_t* pager, vm_offset_t offset, vm_size_t size,
                                      memory_object_return_t should_return, boolean_t should_flush,
                                      vm_prot_t lock_value, int wait_ms) {
  Waiter w{Waiter::kLock, offset, size};
  const bool hook = pager != nullptr && pager->ops.lock_completed != nullptr;
  return call_and_wait(pager, &w, wait_ms, hook, [&](mach_port_t control, mach_port_t reply_to) {
    return memory_object_lock_request(control, offset, size, should_return, should_flush, lock_value, reply_to);
  });
}

kern_return_t mach_pager_flush(mach_pager_t* pager, vm_offset_t offset, vm_size_t size, int wait_ms) {
  return mach_pager_lock_request(pager, offset, size, MEMORY_OBJECT_RETURN_NONE, TRUE, VM_PROT_NO_CHANGE, wait_ms);
}

kern_return_t mach_pager_clean(mach_pager_t* pager, vm_offset_t offset, vm_size_t size, int wait_ms) {
  if (pager == nullptr) return KERN_INVALID_ARGUMENT;
  boolean_t precious;
  {
    std::lock_guard<std::mutex> g(pager->mu);
    precious = pager->attrs.precious;
  }
  return mach_pager_lock_request(pager, offset, size, precious ? MEMORY_OBJECT_RETURN_ALL : MEMORY_OBJECT_RETURN_DIRTY,
                                 FALSE, VM_PROT_NO_CHANGE, wait_ms);
}

kern_return_t mach_pager_change_attributes(mach_pager_t* pager, boolean_t may_cache,
                                           memory_object_copy_strategy_t copy_strategy, int wait_ms) {
  if (pager == nullptr) return KERN_INVALID_ARGUMENT;
  if (!machpager::valid_copy_strategy(copy_strategy)) return KERN_INVALID_ARGUMENT;
  Waiter w{Waiter::kChange};
  kern_return_t kr = call_and_wait(pager, &w, wait_ms, false, [&](mach_port_t control, mach_port_t reply_to) {
    {
      // Kept for later inits; set before the kernel can hear of it.
      std::lock_guard<std::mutex> g(pager->mu);
      pager->attrs.may_cache = may_cache;
      pager->attrs.copy_strategy = copy_strategy;
    }
    return memory_object_change_attributes(control, may_cache, copy_strategy, reply_to);
  });
  return kr;
}

kern_return_t mach_pager_destroy_object(mach_pager_t* pager, kern_return_t reason) {
  Waiter unused{Waiter::kLock};
  return call_and_wait(pager, &unused, MACH_PAGER_NO_WAIT, false, [&](mach_port_t control, mach_port_t) {
    return memory_object_destroy(control, reason);
  });
}

}  // extern "C"
