// machd/kern/task_suspension.cc — see task_suspension.h.
#include "task_suspension.h"

#include "thread.h"

namespace machd::kern {

namespace {
SuspensionTokens* g_tokens = nullptr;
}  // namespace

SuspensionTokens& suspension_tokens() { return *g_tokens; }

SuspensionTokens::SuspensionTokens(Dispatch& dispatch) {
  g_tokens = this;
  // A token port's only right is the send-once right task_suspend2 gave.
  dispatch.on_send_once(
      KType::kTaskResumeToken, [this](ipc::KObject ko, mach_port_name_t port) { on_send_once(ko, port); }, true);
}

SuspensionTokens::~SuspensionTokens() {
  if (g_tokens == this) g_tokens = nullptr;
}

mach_port_name_t SuspensionTokens::make(ipc::TaskId task) {
  const uint64_t id = next_id_++;
  const mach_port_name_t port = runtime().create_port(KType::kTaskResumeToken, id);
  if (port != MACH_PORT_NULL) by_id_[id] = task;
  return port;
}

std::optional<ipc::TaskId> SuspensionTokens::take(ipc::KObject ko) {
  if (type_of(ko) != KType::kTaskResumeToken) return std::nullopt;
  auto it = by_id_.find(ko.id);
  if (it == by_id_.end()) return std::nullopt;
  const ipc::TaskId task = it->second;
  by_id_.erase(it);
  return task;
}

std::optional<ipc::TaskId> SuspensionTokens::redeem(mach_port_name_t kernel_name) {
  std::optional<ipc::TaskId> task = take(runtime().object_of(kernel_name));
  if (task) runtime().after_reply([kernel_name] { runtime().destroy_port(kernel_name); });
  return task;
}

bool SuspensionTokens::discard(mach_port_name_t kernel_name) {
  if (!take(runtime().object_of(kernel_name))) return false;
  runtime().destroy_port(kernel_name);
  return true;
}

void SuspensionTokens::on_send_once(ipc::KObject ko, mach_port_name_t kernel_name) {
  std::optional<ipc::TaskId> task = take(ko);
  if (!task) return;  // redeemed (task_resume2) or discarded: its port is taken care of
  runtime().destroy_port(kernel_name);
  (void)threads().resume_task(*task);  // KERN_FAILURE: the task ended
}

}  // namespace machd::kern
