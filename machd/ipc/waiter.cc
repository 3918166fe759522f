// machd/ipc/waiter.cc — the registry of blocked threads.
#include "waiter.h"

#include "ipc.h"
#include "kmsg.h"
#include "mqueue.h"
#include "port.h"

namespace machd::ipc {

Waiter* waiter_new(Ipc& ipc, WaiterId id, TaskId task) {
  auto [it, inserted] = ipc.waiters.try_emplace(id);
  if (!inserted) return nullptr;
  it->second = std::make_unique<Waiter>();
  Waiter* w = it->second.get();
  w->id = id;
  w->task = task;
  return w;
}

void waiter_set_deadline(Ipc& ipc, Waiter& w, mach_msg_timeout_t timeout_ms) {
  waiter_clear_deadline(ipc, w);
  w.has_deadline = true;
  w.deadline = ipc.now_ns + static_cast<uint64_t>(timeout_ms) * 1000000ull;
  ipc.deadlines.emplace(w.deadline, w.id);
}

void waiter_clear_deadline(Ipc& ipc, Waiter& w) {
  if (!w.has_deadline) return;
  ipc.deadlines.erase({w.deadline, w.id});
  w.has_deadline = false;
}

namespace {
void forget(Ipc& ipc, Waiter* w) {
  if (w->list) w->list->remove(w);
  waiter_clear_deadline(ipc, *w);
  ipc.waiters.erase(w->id);  // frees w
}
}  // namespace

void waiter_finish(Ipc& ipc, Waiter* w, Completion&& c) {
  c.waiter = w->id;
  ipc.completions.push_back(std::move(c));
  forget(ipc, w);
}

void waiter_drop(Ipc& ipc, Waiter* w) {
  if (Kmsg* k = w->kmsg) {
    w->kmsg = nullptr;
    // A slot reserved for this sender goes back to the queue.
    if (w->granted && k->dest->active()) mqueue_release_slot(ipc, *k->dest);
    ipc.defer_destroy(k);
  }
  forget(ipc, w);
}

Completion result_only(mach_msg_return_t mr) {
  Completion c;
  c.result = mr;
  return c;
}

}  // namespace machd::ipc
