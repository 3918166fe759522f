// machd/kern/exception_delivery.cc — see exception_delivery.h.
#include "exception_delivery.h"

#include <mach/mig_errors.h>
#include <mach/notify.h>
#include <mach/thread_status.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <memory>

#include "agent.h"
#include "corpse.h"
#include "task.h"
#include "thread.h"
#include "thread_state.h"

extern "C" {
#include "excUser.h"
#include "mach_excUser.h"
}

namespace {

// One run of a generated user stub (exc/mach_exc, compiled with mach_msg
// and the reply-port calls redirected here): the first run sends, the
// second is handed the reply.
struct StubPass {
  mach_port_name_t reply_port = MACH_PORT_NULL;
  const std::vector<uint8_t>* reply = nullptr;  // second run: the reply as machd received it
  bool sent = false;
};
StubPass* g_pass = nullptr;

// What the stub returns after a send that went: the reply comes later.
constexpr mach_msg_return_t kSentAwaitingReply = MACH_RCV_INTERRUPTED;

}  // namespace

extern "C" mach_msg_return_t machd_exc_mach_msg(mach_msg_header_t* msg, mach_msg_option_t option,
                                                mach_msg_size_t send_size, mach_msg_size_t rcv_size,
                                                mach_port_name_t, mach_msg_timeout_t, mach_port_name_t) {
  StubPass* p = g_pass;
  if (p == nullptr || !(option & MACH_SEND_MSG)) return MACH_SEND_INVALID_DATA;
  if (p->reply != nullptr) {
    const std::vector<uint8_t>& r = *p->reply;
    mach_msg_header_t h;
    memcpy(&h, r.data(), sizeof h);
    if (h.msgh_size > rcv_size) return MACH_RCV_TOO_LARGE;
    memcpy(msg, r.data(), std::min<size_t>(r.size(), rcv_size));
    return MACH_MSG_SUCCESS;
  }
  const auto* b = reinterpret_cast<const uint8_t*>(msg);
  mach_msg_return_t mr = machd::kern::runtime().send(std::vector<uint8_t>(b, b + send_size));
  if (mr != MACH_MSG_SUCCESS) return mr;
  p->sent = true;
  return kSentAwaitingReply;
}

extern "C" mach_port_t machd_exc_reply_port(void) { return g_pass ? g_pass->reply_port : MACH_PORT_NULL; }
// The reply port is machd's and lives for one attempt: the stubs' calls to
// give it back or destroy it do nothing; rights in a rejected reply are
// released by the daemon as for every message the kernel task receives.
extern "C" void machd_exc_keep_reply_port(mach_port_t) {}
extern "C" void machd_exc_msg_destroy(mach_msg_header_t*) {}

namespace machd::kern {

namespace {
ExceptionDelivery* g_delivery = nullptr;

bool is_state_behavior(int b) {
  return b == EXCEPTION_STATE || b == EXCEPTION_STATE_IDENTITY || b == EXCEPTION_STATE_IDENTITY_PROTECTED;
}

// The live action of one level for `exception`, if any.
const ExceptionAction* action_at(int level, const Thread& t, exception_type_t exception) {
  const ExceptionActions* table = level == 0   ? t.exc.get()
                                  : level == 1 ? exception_ports().find_task_table(t.task)
                                               : &exception_ports().host_table();
  if (table == nullptr) return nullptr;
  const ExceptionAction& a = (*table)[size_t(exception)];
  return MACH_PORT_VALID(a.port) ? &a : nullptr;
}

// The buffers one attempt's stub reads and writes, kept for its second run.
struct StateBuffers {
  int flavor = 0;
  mach_msg_type_number_t old_count = 0;
  natural_t old_state[THREAD_STATE_MAX] = {};
  mach_msg_type_number_t new_count = THREAD_STATE_MAX;
  natural_t new_state[THREAD_STATE_MAX] = {};
};

}  // namespace

ExceptionDelivery& exception_delivery() { return *g_delivery; }

ExceptionDelivery::ExceptionDelivery(Dispatch& dispatch) {
  g_delivery = this;
  runtime().add_observer(this);
  dispatch.on_message(KType::kExceptionReply,
                      [this](const std::vector<uint8_t>& msg, ipc::KObject ko) { on_message(msg, ko); });
}

ExceptionDelivery::~ExceptionDelivery() {
  runtime().remove_observer(this);
  for (auto& [id, p] : pending_) runtime().destroy_port(p.reply_port);
  if (g_delivery == this) g_delivery = nullptr;
}

kern_return_t ExceptionDelivery::raise(ipc::TaskId task, pid_t tid, uint32_t channel, exception_type_t exception,
                                       int64_t code, int64_t subcode, const uint8_t* context, size_t size) {
  if (exception < FIRST_EXCEPTION || exception >= EXC_TYPES_COUNT) return KERN_INVALID_ARGUMENT;
  if (size < offsetof(machd_thread_slot, fpstate) || size > sizeof(machd_thread_slot)) return KERN_INVALID_ARGUMENT;
  Thread* t = threads().of_tid(task, tid);
  if (t == nullptr) return KERN_INVALID_ARGUMENT;
  bool wanted = false;
  for (int level = 0; level < 3 && !wanted; ++level) wanted = action_at(level, *t, exception) != nullptr;
  bool corpse = false;
  Corpses* keeper = corpses_if_any();
  if (exception == EXC_CRASH && keeper != nullptr && keeper->may_offer(task))
    for (int level = 0; level < 3 && !corpse; ++level) corpse = action_at(level, *t, EXC_CORPSE_NOTIFY) != nullptr;
  if (!wanted && !corpse) return KERN_FAILURE;
  // The image, aligned (the request's bytes are not).
  auto image = std::make_unique<machd_thread_slot>();
  memcpy(image.get(), context, size);
  const uint64_t id = next_id_++;
  // Let go: the call's answer carries the flags, and the context when it changed.
  auto release = [task, channel](const machd_thread_slot& slot) {
    const uint32_t flags = std::atomic_ref<uint32_t>(const_cast<uint32_t&>(slot.flags)).load(std::memory_order_acquire);
    const uint64_t rets[1] = {flags};
    const size_t n = (flags & MACHD_TSF_DIRTY) ? offsetof(machd_thread_slot, fpstate) + slot.fp_size : 0;
    agent().finish_call(task, channel, KERN_SUCCESS, rets, 1, reinterpret_cast<const uint8_t*>(&slot), n);
  };
  // Refused for a thread that is not running (a stop in flight).
  if (!threads().park_from_call(*t, *image, size, release)) return KERN_ABORTED;
  Pending& p = pending_[id];
  p.id = id;
  p.thread = t->id;
  p.task = task;
  p.exception = exception;
  p.codes[0] = code;
  p.codes[1] = subcode;
  p.corpse_offer = corpse;
  deliver_next(p);  // (no level takes EXC_CRASH itself: finishes at once)
  return KERN_SUCCESS;
}

void ExceptionDelivery::raise_from_kernel(ipc::TaskId task, Thread& t, exception_type_t exception, int64_t code,
                                          int64_t subcode, std::function<void()> done) {
  const uint64_t id = next_id_++;
  threads().hold(t, [](kern_return_t) {});  // parked for good: held at once
  Pending& p = pending_[id];
  p.id = id;
  p.thread = t.id;
  p.task = task;
  p.exception = exception;
  p.codes[0] = code;
  p.codes[1] = subcode;
  p.on_finish = std::move(done);
  deliver_next(p);
}

void ExceptionDelivery::deliver_next(Pending& p) {
  Thread* t = threads().of_id(p.thread);
  if (t == nullptr) return finish(p.id, false);
  while (p.next_level < 3) {
    const int level = p.next_level++;
    const ExceptionAction* a = action_at(level, *t, p.exception);
    if (a == nullptr) continue;
    if (p.exception == EXC_CRASH) {
      uint64_t key = 0;
      if (runtime().kernel().port_receiver(runtime().kt(), a->port, &key) == p.task) continue;
    }
    if (attempt(p, *a)) return;  // the reply (or the handler's death) continues
  }
  finish(p.id, false);
}

bool ExceptionDelivery::attempt(Pending& p, const ExceptionAction& action) {
  Thread* t = threads().of_id(p.thread);
  machd_thread_slot* slot = t ? threads().parked_slot(*t) : nullptr;
  if (slot == nullptr) return false;
  const bool code64 = (action.behavior & MACH_EXCEPTION_CODES) != 0;
  const int behavior = action.behavior & ~int(MACH_EXCEPTION_MASK);
  const exception_type_t exc = p.exception;
  const mach_port_t port = action.port;

  auto state = std::make_shared<StateBuffers>();
  if (is_state_behavior(behavior)) {
    state->flavor = action.flavor;
    state->old_count = THREAD_STATE_MAX;
    if (get_thread_state(*slot, t->debug, action.flavor, state->old_state, &state->old_count) != KERN_SUCCESS)
      return false;  // as XNU: a state it cannot read is a failed delivery
  }
  const int64_t code = p.codes[0], subcode = p.codes[1];

  // The rights the message carries, held by the kernel task for the send.
  mach_port_name_t thread_port = MACH_PORT_NULL, task_port = MACH_PORT_NULL, token = MACH_PORT_NULL;
  const bool identity = behavior == EXCEPTION_DEFAULT || behavior == EXCEPTION_STATE_IDENTITY;
  const bool protected_id = behavior == EXCEPTION_IDENTITY_PROTECTED || behavior == EXCEPTION_STATE_IDENTITY_PROTECTED;
  if (identity) {
    thread_port = threads().reply_send(*t);
    task_port = tasks().flavor_send(p.task, TaskFlavor::kControl);
  } else if (protected_id && tasks().create_token(p.task, &token) != KERN_SUCCESS) {
    return false;
  }
  const uint64_t thread_id = uint64_t(t->tid);

  // One closure runs the stub: the first time it sends; run again with the
  // reply staged, it checks the reply and fills the out arguments.
  std::function<kern_return_t()> run = [=]() -> kern_return_t {
    StateBuffers& s = *state;
    s.new_count = THREAD_STATE_MAX;
    mach_exception_data_type_t codes64[2] = {code, subcode};
    exception_data_type_t codes32[2] = {exception_data_type_t(code), exception_data_type_t(subcode)};
    switch (behavior) {
      case EXCEPTION_DEFAULT:
        return code64 ? mach_exception_raise(port, thread_port, task_port, exc,
                                             codes64, 2)
                      : exception_raise(port, thread_port, task_port, exc,
                                        codes32, 2);
      case EXCEPTION_STATE:
        return code64 ? mach_exception_raise_state(port, exc, codes64, 2, &s.flavor, s.old_state, s.old_count,
                                                   s.new_state, &s.new_count)
                      : exception_raise_state(port, exc, codes32, 2, &s.flavor, s.old_state, s.old_count,
                                              s.new_state, &s.new_count);
      case EXCEPTION_STATE_IDENTITY:
        return code64 ? mach_exception_raise_state_identity(port, thread_port, task_port, exc,
                                                            codes64, 2,
                                                            &s.flavor, s.old_state, s.old_count, s.new_state,
                                                            &s.new_count)
                      : exception_raise_state_identity(port, thread_port, task_port, exc,
                                                       codes32, 2, &s.flavor,
                                                       s.old_state, s.old_count, s.new_state, &s.new_count);
      case EXCEPTION_IDENTITY_PROTECTED:
        return mach_exception_raise_identity_protected(port, thread_id, token, exc,
                                                       codes64, 2);
      case EXCEPTION_STATE_IDENTITY_PROTECTED:
        return mach_exception_raise_state_identity_protected(
            port, thread_id, token, exc, codes64, 2, &s.flavor,
            s.old_state, s.old_count, s.new_state, &s.new_count);
      default: return KERN_FAILURE;
    }
  };

  p.reply_port = runtime().create_port(KType::kExceptionReply, p.id);
  StubPass pass;
  pass.reply_port = p.reply_port;
  g_pass = &pass;
  const kern_return_t kr = MACH_PORT_VALID(p.reply_port) ? run() : KERN_RESOURCE_SHORTAGE;
  g_pass = nullptr;
  // The message holds its own copies of these rights now (or none: it failed).
  if (MACH_PORT_VALID(thread_port)) threads().release_reply_send(thread_port);
  if (MACH_PORT_VALID(task_port)) runtime().release_send(task_port);
  if (MACH_PORT_VALID(token)) runtime().release_send(token);
  if (!pass.sent) {  // kr: why the send failed (a dead port, a full kernel queue...)
    (void)kr;
    end_attempt(p);
    return false;
  }
  p.on_reply = [this, id = p.id, run, state, behavior]() -> kern_return_t {
    const kern_return_t r = run();
    if (r != KERN_SUCCESS || !is_state_behavior(behavior)) return r;
    auto it = pending_.find(id);
    if (it == pending_.end()) return KERN_ABORTED;
    if (it->second.exception == EXC_CORPSE_NOTIFY) return KERN_SUCCESS;
    Thread* t = threads().of_id(it->second.thread);
    machd_thread_slot* slot = t ? threads().parked_slot(*t) : nullptr;
    if (slot == nullptr) return KERN_ABORTED;
    // As XNU: the state the handler returned, in the flavor it names; a
    // state that cannot be applied makes the delivery a failure.
    return set_thread_state(*slot, t->debug, state->flavor, state->new_state, state->new_count);
  };
  return true;
}

void ExceptionDelivery::on_message(const std::vector<uint8_t>& msg, ipc::KObject ko) {
  auto it = pending_.find(ko.id);
  if (it == pending_.end() || msg.size() < sizeof(mach_msg_header_t)) return;
  Pending& p = it->second;
  std::function<kern_return_t()> on_reply = std::move(p.on_reply);
  end_attempt(p);
  if (!on_reply) return deliver_next(p);
  StubPass pass;
  pass.reply = &msg;
  g_pass = &pass;
  const kern_return_t kr = on_reply();
  g_pass = nullptr;
  if (kr == KERN_SUCCESS) return finish(ko.id, true);
  auto again = pending_.find(ko.id);
  if (again != pending_.end()) deliver_next(again->second);
}

void ExceptionDelivery::end_attempt(Pending& p) {
  if (MACH_PORT_VALID(p.reply_port)) runtime().destroy_port(p.reply_port);
  p.reply_port = MACH_PORT_NULL;
  p.on_reply = nullptr;
}

void ExceptionDelivery::finish(uint64_t id, bool handled) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  end_attempt(it->second);
  const uint64_t thread = it->second.thread;
  const ipc::TaskId task = it->second.task;
  const bool offer = it->second.corpse_offer && !handled;
  const int64_t code = it->second.codes[0];
  std::function<void()> on_finish = std::move(it->second.on_finish);
  pending_.erase(it);
  Thread* t = threads().of_id(thread);
  if (t != nullptr) {
    bool offered = false;
    if (machd_thread_slot* s = threads().parked_slot(*t); s != nullptr) {
      if (handled) std::atomic_ref<uint32_t>(s->flags).fetch_or(MACHD_TSF_EXC_HANDLED, std::memory_order_release);
      // The crashing thread forks the corpse's process once the task's
      // other threads are parked for it (corpse.h).
      offered = offer && corpses_if_any()->offer(task, t->tid, *s, code, [thread] {
        Thread* crashing = threads().of_id(thread);
        if (crashing == nullptr) return false;  // ended meanwhile (thread_terminate)
        machd_thread_slot* slot = threads().parked_slot(*crashing);
        if (slot != nullptr)
          std::atomic_ref<uint32_t>(slot->flags).fetch_or(MACHD_TSF_CORPSE_WANTED, std::memory_order_release);
        threads().unhold(*crashing);  // the exception's hold
        return slot != nullptr;
      });
    }
    if (!offered) threads().unhold(*t);  // the exception's hold: the thread resumes unless suspended
  }
  if (on_finish) on_finish();
}

void ExceptionDelivery::task_terminating(ipc::TaskId task) {
  std::vector<uint64_t> ids;
  for (auto& [id, p] : pending_)
    if (p.task == task) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    end_attempt(it->second);
    pending_.erase(it);
  }
}

}  // namespace machd::kern
