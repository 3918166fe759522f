// machd/ipc/task.cc — task lifecycle, task ports, special ports.
#include "task.h"

#include <mach/task_special_ports.h>

#include <vector>

#include "credit.h"
#include "ipc.h"
#include "lane.h"
#include "port.h"
#include "right.h"
#include "space.h"

namespace machd::ipc {

SenderId sender_of(const Credentials& c) {
  SenderId s;
  s.sec[0] = c.euid;
  s.sec[1] = c.egid;
  const uint32_t audit[8] = {c.auid, c.euid, c.egid, c.uid, c.gid, c.pid, c.asid, c.pidversion};
  for (int i = 0; i < 8; i++) s.audit[i] = audit[i];
  return s;
}

namespace {

Task* new_task(Ipc& ipc, const Credentials& creds) {
  TaskId id = ipc.next_task++;
  auto t = std::make_unique<Task>(id, creds, ipc.space_limit);
  t->sender = sender_of(creds);
  Task* raw = t.get();
  ipc.tasks.emplace(id, std::move(t));
  return raw;
}

bool special_slot_ok(int which) { return which > 0 && which < kSpecialSlots; }

}  // namespace

TaskId task_create_kernel(Ipc& ipc) {
  Credentials kc;
  kc.auid = 0;
  Task* k = new_task(ipc, kc);
  k->sender = SenderId{};  // KERNEL_SECURITY_TOKEN / KERNEL_AUDIT_TOKEN
  ipc.kernel = k->id;
  return k->id;
}

TaskId task_create(Ipc& ipc, const Credentials& creds) {
  Task* kernel = ipc.task(ipc.kernel);
  Task* t = new_task(ipc, creds);
  t->user = ipc.slot_of_user(creds.uid);  // the kernel task's stay uncharged (slot 0)
  mach_port_name_t kname = MACH_PORT_NULL;
  uint32_t index = 0;
  if (kernel->space.alloc(&kname, &index) != KERN_SUCCESS) {
    ipc.tasks.erase(t->id);
    return kNoTask;
  }
  Port* port = right_alloc_receive(ipc, kernel->space, index, 0);
  port->ensure_aux().kobject_task = t->id;
  port->flags |= Port::kImmovableReceive;
  t->task_port = port;
  right_copyout(ipc, t->space, right_make_send(*port), kPortSend, &t->self_name);
  if (port_valid(ipc.bootstrap) && ipc.bootstrap->active())
    t->special[TASK_BOOTSTRAP_PORT] = right_copy_send(*ipc.bootstrap);
  return t->id;
}

namespace {

// Releases what `t`'s space holds, at most `budget` slots looked at
// (decremented). XNU's two rounds: receive rights first (their ports die, or
// leave through port-destroyed requests), then port sets and every other
// right. True when the space is empty and the special ports released.
bool reap_space(Ipc& ipc, Task& t, uint64_t& budget) {
  Space& sp = t.space;
  while (t.reap_round < 2) {
    while (t.reap_next < sp.table.size()) {
      if (budget == 0) return false;
      budget--;
      const uint32_t i = t.reap_next++;
      const uint32_t type = sp.table[i].type();
      if (t.reap_round == 0 ? (type & MACH_PORT_TYPE_RECEIVE) != 0 : type != 0) right_terminate(ipc, sp, i);
    }
    t.reap_round++;
    t.reap_next = 1;
  }
  for (Port*& p : t.special) {
    right_release(ipc, p, kPortSend);
    p = nullptr;
  }
  return true;
}

}  // namespace

bool task_reap(Ipc& ipc, uint64_t budget) {
  while (!ipc.dying.empty()) {
    if (!reap_space(ipc, *ipc.dying.front(), budget)) return true;
    ipc.dying.pop_front();
  }
  return false;
}

void task_terminate(Ipc& ipc, TaskId id, bool incremental) {
  if (id == ipc.kernel && ipc.tasks.size() > 1) return;  // the kernel task goes last
  Task* t = ipc.task(id);
  if (!t) return;

  // Its blocked threads vanish without a completion.
  std::vector<Waiter*> mine;
  for (auto& [wid, w] : ipc.waiters)
    if (w->task == id) mine.push_back(w.get());
  for (Waiter* w : mine) waiter_drop(ipc, w);

  // Fast lanes: lent messages of its ports are settled while the daemon can
  // still answer; its credits close without asking (the daemon is tearing
  // the task down).
  lane_close_task(ipc, id);
  credit_drop_task(ipc, *t);

  Space& sp = t->space;
  sp.active = false;

  // The task port dies (holders of send rights get dead names).
  if (Port* port = t->task_port) {
    t->task_port = nullptr;
    Task* kernel = ipc.task(ipc.kernel);
    if (kernel && port->active() && port->receiver == kernel->id) {
      port->aux->kobject_task = kNoTask;
      port->flags &= ~Port::kImmovableReceive;
      right_destroy(ipc, kernel->space, MACH_PORT_INDEX(port->receiver_name));
    }
  }

  // The task leaves the table (no call names it any more); its space is
  // torn down now, or by task_reap a batch at a time.
  auto node = ipc.tasks.extract(id);
  if (incremental) {
    ipc.dying.push_back(std::move(node.mapped()));
    return;
  }
  uint64_t all = UINT64_MAX;
  reap_space(ipc, *node.mapped(), all);
}

TaskId task_resolve(Ipc& ipc, TaskId caller, mach_port_name_t name) {
  Task* c = ipc.task(caller);
  if (!c) return kNoTask;
  Entry* e = c->space.lookup(name);
  if (!e || !(e->type() & (MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_RECEIVE))) return kNoTask;
  const Port* p = e->port();
  if (!p->active() || !p->aux || p->aux->kobject_task == kNoTask) return kNoTask;
  return ipc.task(p->aux->kobject_task) ? p->aux->kobject_task : kNoTask;
}

kern_return_t task_set_bootstrap(Ipc& ipc, mach_port_name_t kernel_name) {
  Task* kernel = ipc.task(ipc.kernel);
  if (kernel_name == MACH_PORT_NULL) {
    right_release(ipc, ipc.bootstrap, kPortSend);
    ipc.bootstrap = nullptr;
    return KERN_SUCCESS;
  }
  Entry* e = kernel->space.lookup(kernel_name);
  if (!e) return KERN_INVALID_NAME;
  Port* right = nullptr;
  if (e->type() & MACH_PORT_TYPE_RECEIVE) right = right_make_send(*e->port());
  else if ((e->type() & MACH_PORT_TYPE_SEND) && e->port()->active()) right = right_copy_send(*e->port());
  else return KERN_INVALID_RIGHT;
  right_release(ipc, ipc.bootstrap, kPortSend);
  ipc.bootstrap = right;
  return KERN_SUCCESS;
}

kern_return_t task_get_special(Ipc& ipc, TaskId caller, TaskId target, int which,
                               mach_port_name_t* out) {
  Task* c = ipc.task(caller);
  Task* t = ipc.task(target);
  if (!c || !t) return KERN_INVALID_ARGUMENT;
  Port* right = nullptr;
  if (which == TASK_KERNEL_PORT) {
    if (!t->task_port) return KERN_INVALID_ARGUMENT;
    right = right_make_send(*t->task_port);
  } else if (special_slot_ok(which)) {
    Port* p = t->special[which];
    if (port_valid(p)) right = p->active() ? right_copy_send(*p) : dead_port();
  } else {
    return KERN_INVALID_ARGUMENT;
  }
  mach_msg_return_t mr = right_copyout(ipc, c->space, right, kPortSend, out);
  return mr == MACH_MSG_SUCCESS ? KERN_SUCCESS : (MACH_RCV_HEADER_ERROR | mr);
}

kern_return_t task_set_special(Ipc& ipc, TaskId caller, TaskId target, int which,
                               mach_port_name_t name) {
  Task* c = ipc.task(caller);
  Task* t = ipc.task(target);
  if (!c || !t) return KERN_INVALID_ARGUMENT;
  // The right travels as MACH_MSG_TYPE_COPY_SEND in the request.
  Port* right = nullptr;
  if (MACH_PORT_VALID(name)) {
    Entry* e = c->space.lookup(name);
    if (!e) return MACH_SEND_INVALID_RIGHT;
    if (right_copyin(ipc, c->space, c->space.index_of(e), MACH_MSG_TYPE_COPY_SEND,
                     CopyinFlags{true, false}, &right) != KERN_SUCCESS)
      return MACH_SEND_INVALID_RIGHT;
  }
  if (which == TASK_KERNEL_PORT || !special_slot_ok(which)) {
    right_release(ipc, right, kPortSend);
    return KERN_INVALID_ARGUMENT;
  }
  if (right == dead_port()) right = nullptr;
  right_release(ipc, t->special[which], kPortSend);
  t->special[which] = right;
  return KERN_SUCCESS;
}

}  // namespace machd::ipc
