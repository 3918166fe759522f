// machd/kern/corpse.cc — see corpse.h.
#include "corpse.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "exception_delivery.h"
#include "exception_ports.h"
#include "process.h"
#include "task.h"
#include "thread.h"
#include "translate.h"

namespace machd::kern {

namespace {
Corpses* g_corpses = nullptr;

constexpr int64_t kOsReasonSignal = 2;  // XNU's OS_REASON_SIGNAL

// Copies every live action of `from` into `to` (a reference each).
void copy_actions(const ExceptionActions& from, ExceptionActions& to) {
  for (size_t i = 0; i < from.size(); ++i)
    if (MACH_PORT_VALID(from[i].port))
      write_exception_ports(to, exception_mask_t(1) << i, from[i].port, from[i].behavior, from[i].flavor);
}
}  // namespace

Corpses* corpses_if_any() { return g_corpses; }

bool is_corpse_object(ipc::KObject ko) {
  if (g_corpses == nullptr) return false;
  if (type_of(ko) == KType::kTask) return g_corpses->is_corpse(ipc::TaskId(ko.id));
  if (type_of(ko) != KType::kThread) return false;
  const Thread* t = threads().of_id(ko.id);
  return t != nullptr && t->frozen != nullptr;
}

Corpses::Corpses(Dispatch& dispatch) {
  g_corpses = this;
  runtime().add_observer(this);
  dispatch.on_no_senders(KType::kTask, [this](ipc::KObject ko, mach_port_name_t port, mach_port_mscount_t mscount) {
    on_no_senders(ko, port, mscount);
  });
}

Corpses::~Corpses() {
  runtime().remove_observer(this);
  for (auto& [task, c] : by_task_) {
    if (c.pidfd >= 0) {
      syscall(SYS_pidfd_send_signal, c.pidfd, SIGKILL, nullptr, 0);
      close(c.pidfd);
    }
  }
  if (g_corpses == this) g_corpses = nullptr;
}

uint32_t Corpses::count_of_user(uint32_t uid) const {
  uint32_t n = 0;
  for (const auto& [task, c] : by_task_) n += c.uid == uid;
  for (const auto& [task, offers] : offers_) {
    const ipc::Credentials* cr = runtime().kernel().credentials(task);
    if (cr != nullptr && cr->uid == uid) n += uint32_t(offers.size());
  }
  return n;
}

bool Corpses::may_offer(ipc::TaskId task) const {
  const ipc::Credentials* c = runtime().kernel().credentials(task);
  return c != nullptr && !is_corpse(task) && count_of_user(c->uid) < kMaxPerUser;
}

void Corpses::offer(ipc::TaskId task, pid_t tid, const machd_thread_slot& context, int64_t crash_code) {
  Offer& o = offers_[task][tid];
  o.tid = tid;
  o.context = std::make_unique<machd_thread_slot>(context);
  o.crash_code = crash_code;
}

kern_return_t Corpses::adopt(ipc::TaskId task, pid_t tid, pid_t child) {
  auto per_task = offers_.find(task);
  if (per_task == offers_.end()) return KERN_INVALID_ARGUMENT;
  auto it = per_task->second.find(tid);
  if (it == per_task->second.end()) return KERN_INVALID_ARGUMENT;
  Offer offer = std::move(it->second);
  per_task->second.erase(it);
  if (per_task->second.empty()) offers_.erase(per_task);

  Runtime& rt = runtime();
  const ipc::Credentials* cr = rt.kernel().credentials(task);
  const pid_t pid = rt.host().pid_of(task);
  // The child must be this task's: checked before and after its pidfd is
  // taken, so that the pidfd cannot name a later process with the pid.
  if (cr == nullptr || pid <= 0 || child <= 0 || parent_of(child) != pid) return KERN_INVALID_ARGUMENT;
  const int pidfd = int(syscall(SYS_pidfd_open, child, 0));
  if (pidfd < 0) return KERN_INVALID_ARGUMENT;
  if (parent_of(child) != pid) {
    close(pidfd);
    return KERN_INVALID_ARGUMENT;
  }

  const ipc::Credentials creds = *cr;  // the corpse is the crashed process, as far as identity goes
  const ipc::TaskId corpse = rt.create_task(creds);
  if (corpse == ipc::kNoTask || !rt.host().add_process(corpse, child, pidfd)) {
    if (corpse != ipc::kNoTask) rt.end_task(corpse);
    close(pidfd);
    return KERN_FAILURE;
  }
  Corpse& c = by_task_[corpse];
  c.task = corpse;
  c.crashed = task;
  c.uid = creds.uid;
  c.child = child;
  c.pidfd = pidfd;
  const int signal = int((offer.crash_code >> 24) & 0xff);
  c.codes[0] = EXC_CRASH;
  c.codes[1] = (kOsReasonSignal << 32) | signal;
  rt.notify_task_created(corpse);
  // No rights of its own: its send right to itself would keep it forever.
  rt.kernel().port_deallocate(corpse, rt.kernel().task_self_name(corpse));

  Thread* frozen = threads().add_frozen(corpse, offer.tid, *offer.context);
  Thread* crashed_thread = threads().of_tid(task, offer.tid);
  ExceptionActions& table = exception_ports().task_table(corpse);
  clear_exception_ports(table);
  if (const ExceptionActions* from = exception_ports().find_task_table(task)) copy_actions(*from, table);
  if (frozen != nullptr && crashed_thread != nullptr && crashed_thread->exc) {
    frozen->exc = std::make_unique<ExceptionActions>();
    copy_actions(*crashed_thread->exc, *frozen->exc);
  }
  if (frozen == nullptr) {
    end(corpse);
    return KERN_FAILURE;
  }
  c.thread = frozen->id;
  spdlog::debug("task {} (pid {}): corpse task {} of thread {} (process {})", task, pid, corpse, offer.tid, child);
  return KERN_SUCCESS;
}

void Corpses::task_terminating(ipc::TaskId task) {
  offers_.erase(task);
  if (auto it = by_task_.find(task); it != by_task_.end()) {  // a corpse ends
    if (it->second.pidfd >= 0) {
      syscall(SYS_pidfd_send_signal, it->second.pidfd, SIGKILL, nullptr, 0);
      close(it->second.pidfd);
    }
    by_task_.erase(it);
    return;
  }
  // A crashed task ends: its corpses' handlers are told once it is gone
  // (the next turn of machd's loop, after its rights were released).
  for (auto& [corpse, c] : by_task_) {
    if (c.crashed != task || c.notifying) continue;
    c.notifying = true;
    c.crashed = ipc::kNoTask;
    const ipc::TaskId id = corpse;
    runtime().timers().add(0, [this, id] { notify(id); });
  }
}

void Corpses::notify(ipc::TaskId corpse) {
  auto it = by_task_.find(corpse);
  if (it == by_task_.end()) return;
  Corpse& c = it->second;
  Runtime& rt = runtime();
  const mach_port_name_t port = rt.kernel().task_port_kernel_name(corpse);
  // machd holds a send right while it delivers: the corpse ends when the
  // last other one goes after that (or at once if nobody took it).
  const mach_port_name_t own = rt.make_send(rt.kt(), port);
  Thread* t = threads().of_id(c.thread);
  if (!MACH_PORT_VALID(own) || t == nullptr) return end(corpse);
  rt.kernel().kobject_request_no_senders(port);
  exception_delivery().raise_from_kernel(corpse, *t, EXC_CORPSE_NOTIFY, c.codes[0], c.codes[1],
                                         [own] { runtime().release_send(own); });
}

void Corpses::on_no_senders(ipc::KObject ko, mach_port_name_t port, mach_port_mscount_t mscount) {
  const ipc::TaskId task = ipc::TaskId(ko.id);
  auto it = by_task_.find(task);
  if (it == by_task_.end()) return;  // not a corpse (nobody asks for others)
  if (runtime().kernel().kobject_mscount(port) != mscount) {  // sent again since
    runtime().kernel().kobject_request_no_senders(port);
    return;
  }
  end(task);
}

void Corpses::end(ipc::TaskId corpse) {
  if (!by_task_.count(corpse)) return;
  spdlog::debug("corpse task {} ends", corpse);
  runtime().end_task(corpse);  // task_terminating kills the child
}

}  // namespace machd::kern
