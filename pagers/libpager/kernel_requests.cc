// pagers/libpager/kernel_requests.cc — the server routines of
// mach/memory_object.defs: what the pager does with each message the kernel
// sends to an object port.
//
// MIG contract (mach_msg_server_once): a routine that returns KERN_SUCCESS
// owns the message's rights and memory; on any other return the receive
// loop destroys them.  So a message that is not for a live pager, or names a
// control port that is not the object's, is refused with an error and
// cleaned up by the loop.
#include <mach/mach.h>

#include <limits>
#include <memory>
#include <mutex>
#include <vector>

#include "memory_objectServer.h"
#include "pager_internal.h"

using machpager::Control;
using machpager::find_pager;
using machpager::release_send;
using machpager::Waiter;

namespace {

// What a request may rely on from the object's current init.
struct Snapshot {
  std::shared_ptr<Control> control;
  mach_pager_attributes attrs{};
};

// The pager's state, if `control` is the control port of its current init.
bool current(const std::shared_ptr<mach_pager_state>& p, mach_port_t control, Snapshot* out) {
  std::lock_guard<std::mutex> g(p->mu);
  if (!p->control || p->control->control != control) return false;
  out->control = p->control;
  out->attrs = p->attrs;
  return true;
}

// Whole pages, no wrap-around, and a size an out-of-line count can carry.
bool acceptable(vm_offset_t offset, vm_size_t length, vm_size_t page) {
  return length > 0 && offset % page == 0 && length % page == 0 && offset + length > offset &&
         length <= std::numeric_limits<mach_msg_type_number_t>::max();
}

// The outcome of read_page for one page: KERN_SUCCESS, MACH_PAGER_ZERO_FILL
// or an error for data_error.
using Outcome = kern_return_t;

// Answers a data request over [offset, offset + length): runs of pages read
// go back in data_supply, runs of zero-fill in data_unavailable, runs of
// one error in data_error.  A request whose every page was read is one
// data_supply whose buffer moves to the kernel.
void supply(mach_pager_state* p, const Snapshot& s, vm_offset_t offset, vm_size_t length) {
  const mach_port_t control = s.control->control;
  const vm_size_t page = s.control->page_size;
  if (!acceptable(offset, length, page)) {
    (void)memory_object_data_error(control, offset, length, KERN_INVALID_ARGUMENT);
    return;
  }
  vm_address_t buf = 0;
  if (vm_allocate(mach_task_self(), &buf, length, VM_FLAGS_ANYWHERE) != KERN_SUCCESS) {
    (void)memory_object_data_error(control, offset, length, KERN_RESOURCE_SHORTAGE);
    return;
  }
  const vm_size_t pages = length / page;
  std::vector<Outcome> outcome;
  try {
    outcome.resize(pages);
  } catch (const std::bad_alloc&) {
    (void)vm_deallocate(mach_task_self(), buf, length);
    (void)memory_object_data_error(control, offset, length, KERN_RESOURCE_SHORTAGE);
    return;
  }
  bool all_read = true;
  for (vm_size_t i = 0; i < pages; ++i) {
    outcome[i] = p->ops.read_page(p->ctx, offset + i * page, reinterpret_cast<void*>(buf + i * page), page);
    if (outcome[i] != KERN_SUCCESS) all_read = false;
  }
  const mach_port_t reply_to = p->ops.supply_completed ? p->port : MACH_PORT_NULL;
  if (all_read) {
    // The buffer moves to the kernel with the message; a message that was
    // not sent leaves it ours.
    if (memory_object_data_supply(control, offset, buf, mach_msg_type_number_t(length), TRUE, s.attrs.lock_value,
                                  s.attrs.precious, reply_to) != KERN_SUCCESS)
      (void)vm_deallocate(mach_task_self(), buf, length);
    return;
  }
  for (vm_size_t i = 0; i < pages;) {
    vm_size_t j = i + 1;
    while (j < pages && outcome[j] == outcome[i]) ++j;
    const vm_offset_t at = offset + i * page;
    const vm_size_t len = (j - i) * page;
    if (outcome[i] == KERN_SUCCESS)
      (void)memory_object_data_supply(control, at, buf + i * page, mach_msg_type_number_t(len), FALSE,
                                      s.attrs.lock_value, s.attrs.precious, reply_to);
    else if (outcome[i] == MACH_PAGER_ZERO_FILL)
      (void)memory_object_data_unavailable(control, at, len);
    else
      (void)memory_object_data_error(control, at, len, outcome[i]);
    i = j;
  }
  (void)vm_deallocate(mach_task_self(), buf, length);
}

vm_size_t page_size_from_kernel(vm_size_t size) {
  const bool power_of_two = size != 0 && (size & (size - 1)) == 0;
  return power_of_two ? size : vm_page_size;
}

// Marks the first matching waiter done; false if nobody waits for it.
bool complete_waiter(mach_pager_state* p, Waiter::Kind kind, vm_offset_t offset, vm_size_t size) {
  std::lock_guard<std::mutex> g(p->mu);
  for (auto it = p->waiters.begin(); it != p->waiters.end(); ++it) {
    Waiter* w = *it;
    if (w->kind != kind || (kind == Waiter::kLock && (w->offset != offset || w->size != size))) continue;
    w->done = true;
    w->result = KERN_SUCCESS;
    p->waiters.erase(it);
    p->cv.notify_all();
    return true;
  }
  return false;
}

}  // namespace

namespace machpager {

kern_return_t write_pages(mach_pager_state* p, vm_size_t page, vm_offset_t offset, vm_offset_t data,
                          mach_msg_type_number_t count) {
  kern_return_t first_error = KERN_SUCCESS;
  for (vm_size_t at = 0; at < count; at += page) {
    const vm_size_t len = count - at < page ? count - at : page;
    kern_return_t kr = p->ops.write_page(p->ctx, offset + at, reinterpret_cast<const void*>(data + at), len);
    if (kr != KERN_SUCCESS && first_error == KERN_SUCCESS) first_error = kr;
  }
  return first_error;
}

kern_return_t attach_control(mach_pager_t* p, mach_port_t control, mach_port_t name, vm_size_t page_size) {
  std::shared_ptr<Control> fresh;
  try {
    fresh = std::make_shared<Control>(control, name, page_size_from_kernel(page_size));
  } catch (const std::bad_alloc&) {
    return KERN_RESOURCE_SHORTAGE;
  }
  std::lock_guard<std::mutex> g(p->mu);
  if (p->control) return KERN_INVALID_ARGUMENT;
  p->control = std::move(fresh);
  return KERN_SUCCESS;
}

bool terminated(mach_pager_t* p) {
  std::lock_guard<std::mutex> g(p->mu);
  return !p->control;
}

}  // namespace machpager

extern "C" {

kern_return_t memory_object_init(memory_object_t object, mach_port_t control, mach_port_t name,
                                 vm_size_t page_size) {
  std::shared_ptr<mach_pager_state> p = find_pager(object);
  if (!p) return KERN_INVALID_ARGUMENT;
  std::shared_ptr<Control> fresh;
  try {
    fresh = std::make_shared<Control>(control, name, page_size_from_kernel(page_size));
  } catch (const std::bad_alloc&) {
    return KERN_RESOURCE_SHORTAGE;
  }
  mach_pager_attributes attrs;
  bool taken;
  {
    std::lock_guard<std::mutex> g(p->mu);
    taken = p->control != nullptr;
    if (!taken) p->control = fresh;
    attrs = p->attrs;
  }
  if (taken) {
    // A second kernel: refused.  The rights go with `fresh`.
    (void)memory_object_destroy(control, KERN_INVALID_ARGUMENT);
    return KERN_SUCCESS;
  }
  (void)memory_object_ready(control, attrs.may_cache, attrs.copy_strategy);
  return KERN_SUCCESS;
}

kern_return_t memory_object_terminate(mach_port_t object, mach_port_t control, mach_port_t name) {
  std::shared_ptr<mach_pager_state> p = find_pager(object);
  if (!p) return KERN_INVALID_ARGUMENT;
  std::shared_ptr<Control> ended;
  {
    std::lock_guard<std::mutex> g(p->mu);
    if (!p->control || p->control->control != control || p->control->name != name) return KERN_INVALID_ARGUMENT;
    ended = std::move(p->control);
    ended->own_receive = true;
    p->fail_waiters_locked(KERN_TERMINATED);
  }
  ended.reset();  // or later, by the last thread still sending on it
  if (p->ops.notify_terminate) p->ops.notify_terminate(p->ctx);
  return KERN_SUCCESS;
}

kern_return_t memory_object_copy(memory_object_t, mach_port_t, vm_offset_t, vm_size_t, mach_port_t) {
  // Only asked of MEMORY_OBJECT_COPY_CALL objects, which mach_pager_create
  // refuses; the receive loop destroys the new object's receive right.
  return KERN_NOT_SUPPORTED;
}

kern_return_t memory_object_data_request(memory_object_t object, mach_port_t control, vm_offset_t offset,
                                         vm_size_t length, vm_prot_t) {
  std::shared_ptr<mach_pager_state> p = find_pager(object);
  Snapshot s;
  if (!p || !current(p, control, &s)) return KERN_INVALID_ARGUMENT;
  supply(p.get(), s, offset, length);
  release_send(control);
  return KERN_SUCCESS;
}

kern_return_t memory_object_data_unlock(memory_object_t object, mach_port_t control, vm_offset_t offset,
                                        vm_size_t length, vm_prot_t desired_access) {
  std::shared_ptr<mach_pager_state> p = find_pager(object);
  Snapshot s;
  if (!p || !current(p, control, &s)) return KERN_INVALID_ARGUMENT;
  kern_return_t kr =
      p->ops.unlock_page ? p->ops.unlock_page(p->ctx, offset, length, desired_access) : KERN_SUCCESS;
  if (kr == KERN_SUCCESS)
    (void)memory_object_lock_request(control, offset, length, MEMORY_OBJECT_RETURN_NONE, FALSE,
                                     s.attrs.lock_value & ~desired_access, MACH_PORT_NULL);
  else
    (void)memory_object_data_error(control, offset, length, kr);
  release_send(control);
  return KERN_SUCCESS;
}

kern_return_t memory_object_lock_completed(mach_port_t object, mach_port_t control, vm_offset_t offset,
                                           vm_size_t length) {
  std::shared_ptr<mach_pager_state> p = find_pager(object);
  if (!p) return KERN_INVALID_ARGUMENT;
  if (!complete_waiter(p.get(), Waiter::kLock, offset, length) && p->ops.lock_completed)
    p->ops.lock_completed(p->ctx, offset, length);
  release_send(control);
  return KERN_SUCCESS;
}

kern_return_t memory_object_supply_completed(mach_port_t object, mach_port_t control, vm_offset_t offset,
                                             vm_size_t length, kern_return_t result, vm_offset_t error_offset) {
  std::shared_ptr<mach_pager_state> p = find_pager(object);
  if (!p) return KERN_INVALID_ARGUMENT;
  if (p->ops.supply_completed) p->ops.supply_completed(p->ctx, offset, length, result, error_offset);
  release_send(control);
  return KERN_SUCCESS;
}

kern_return_t memory_object_data_return(memory_object_t object, mach_port_t control, vm_offset_t offset,
                                        vm_offset_t data, mach_msg_type_number_t dataCnt, boolean_t dirty,
                                        boolean_t kernel_copy) {
  std::shared_ptr<mach_pager_state> p = find_pager(object);
  Snapshot s;
  if (!p || !current(p, control, &s)) return KERN_INVALID_ARGUMENT;
  kern_return_t first_error = KERN_SUCCESS;
  if (dirty || s.attrs.precious) first_error = machpager::write_pages(p.get(), s.control->page_size, offset, data, dataCnt);
  if (dataCnt != 0) (void)vm_deallocate(mach_task_self(), data, dataCnt);
  if (p->ops.data_returned) p->ops.data_returned(p->ctx, offset, dataCnt, dirty, kernel_copy, first_error);
  release_send(control);
  return KERN_SUCCESS;
}

kern_return_t memory_object_change_completed(mach_port_t object, boolean_t, memory_object_copy_strategy_t) {
  std::shared_ptr<mach_pager_state> p = find_pager(object);
  if (!p) return KERN_INVALID_ARGUMENT;
  (void)complete_waiter(p.get(), Waiter::kChange, 0, 0);
  return KERN_SUCCESS;
}

}  // extern "C"
