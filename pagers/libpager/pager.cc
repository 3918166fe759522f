// pagers/libpager/pager.cc — a pager's life: creation, the registry of live
// pagers (object port -> pager), serving, the demultiplexer, destruction.
#include <mach/mach.h>
#include <mach/mig_errors.h>
#include <mach/notify.h>

#include <unistd.h>

#include <cstdio>
#include <new>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "../common/wake.h"
#include "memory_objectServer.h"
#include "pager_internal.h"

namespace machpager {
namespace {

// The registry lock is never held with a pager's lock, nor across a call.
std::mutex g_registry_mu;
std::unordered_map<mach_port_t, std::shared_ptr<mach_pager_state>>& registry() {
  static auto* r = new std::unordered_map<mach_port_t, std::shared_ptr<mach_pager_state>>;
  return *r;
}

thread_local bool t_in_dispatch = false;

// Room for the largest request (data_return: 84 bytes); MACH_RCV_LARGE grows
// the buffer for anything bigger, which the demux then rejects.
constexpr mach_msg_size_t kMaxRequest = 512;

// Wakes the thread blocked receiving on the object port.
void send_stop(mach_port_t port) { pagerprog::send_wake(port, kStopId); }

}  // namespace

std::shared_ptr<mach_pager_state> find_pager(mach_port_t port) {
  std::lock_guard<std::mutex> g(g_registry_mu);
  auto it = registry().find(port);
  return it == registry().end() ? nullptr : it->second;
}

bool in_dispatch() { return t_in_dispatch; }

bool valid_copy_strategy(memory_object_copy_strategy_t s) {
  return s == MEMORY_OBJECT_COPY_NONE || s == MEMORY_OBJECT_COPY_DELAY || s == MEMORY_OBJECT_COPY_TEMPORARY;
}

void release_send(mach_port_t name) {
  if (MACH_PORT_VALID(name)) (void)mach_port_deallocate(mach_task_self(), name);
}

Control::~Control() {
  const mach_port_t task = mach_task_self();
  for (mach_port_t p : {control, name}) {
    if (!MACH_PORT_VALID(p)) continue;
    // The receive right first: the name then holds our send reference as a
    // dead name, which the deallocation removes.
    if (own_receive) (void)mach_port_mod_refs(task, p, MACH_PORT_RIGHT_RECEIVE, -1);
    (void)mach_port_deallocate(task, p);
  }
}

kern_return_t create_on_port(mach_port_t port, const mach_pager_ops* ops, void* ctx,
                             const mach_pager_attributes* attributes, mach_pager_t** out) {
  const mach_pager_attributes attrs = attributes ? *attributes : mach_pager_attributes MACH_PAGER_ATTRIBUTES_DEFAULT;
  if (!valid_copy_strategy(attrs.copy_strategy)) return KERN_INVALID_ARGUMENT;
  std::shared_ptr<mach_pager_state> p;
  try {
    p = std::make_shared<mach_pager_state>();
    p->ops = *ops;
    p->ctx = ctx;
    p->attrs = attrs;
    p->port = port;
    std::lock_guard<std::mutex> g(g_registry_mu);
    registry().emplace(port, p);
  } catch (const std::bad_alloc&) {
    return KERN_RESOURCE_SHORTAGE;
  }
  *out = p.get();
  return KERN_SUCCESS;
}

bool serving_error_ends(const char* who, mach_msg_return_t mr) {
  const mach_msg_return_t base = mr & ~MACH_MSG_MASK;  // (the VM_SPACE, IPC_SPACE... detail bits)
  bool lost_one = false;
  switch (base) {
    case MACH_RCV_BODY_ERROR:
    case MACH_RCV_HEADER_ERROR:
    case MACH_RCV_INVALID_DATA:
    case MACH_RCV_INTERRUPTED:
    case MACH_RCV_TOO_LARGE:
    case MACH_RCV_INVALID_TRAILER:
    case KERN_RESOURCE_SHORTAGE:
      lost_one = true;
      break;
    default:
      lost_one = (base & ~0x3fff) == (MACH_SEND_IN_PROGRESS & ~0x3fff);  // any send error: the reply's
      break;
  }
  if (!lost_one && mr == MACH_RCV_PORT_DIED) return true;
  fprintf(stderr, "libpager: the %s's serving thread: %s (%#x); %s\n", who, mach_error_string(mr), unsigned(mr),
          lost_one ? "that message is lost, serving goes on" : "it stops serving");
  if (base == KERN_RESOURCE_SHORTAGE) usleep(10 * 1000);
  return !lost_one;
}

}  // namespace machpager

void mach_pager_state::fail_waiters_locked(kern_return_t result) {
  for (machpager::Waiter* w : waiters) {
    w->done = true;
    w->result = result;
  }
  waiters.clear();
  cv.notify_all();
}

using machpager::find_pager;
using machpager::kMaxRequest;
using machpager::send_stop;

extern "C" {

kern_return_t mach_pager_create(const struct mach_pager_ops* ops, void* ctx,
                                const struct mach_pager_attributes* attributes, mach_pager_t** out) {
  if (out == nullptr || ops == nullptr || ops->read_page == nullptr || ops->write_page == nullptr)
    return KERN_INVALID_ARGUMENT;
  mach_port_t port = MACH_PORT_NULL;
  kern_return_t kr = mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port);
  if (kr != KERN_SUCCESS) return kr;
  kr = machpager::create_on_port(port, ops, ctx, attributes, out);
  if (kr != KERN_SUCCESS) (void)mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  return kr;
}

mach_port_t mach_pager_object(mach_pager_t* pager) {
  if (pager == nullptr) return MACH_PORT_NULL;
  if (mach_port_insert_right(mach_task_self(), pager->port, pager->port, MACH_MSG_TYPE_MAKE_SEND) != KERN_SUCCESS)
    return MACH_PORT_NULL;
  return pager->port;
}

mach_port_t mach_pager_port(mach_pager_t* pager) { return pager ? pager->port : MACH_PORT_NULL; }

boolean_t mach_pager_demux(mach_msg_header_t* in, mach_msg_header_t* out) {
  const mach_msg_id_t id = in->msgh_id;
  if (id == machpager::kStopId || id == MACH_NOTIFY_SEND_ONCE) {
    // The stop message; or a reply right we gave the kernel died unused
    // (the object went away: its waiters learn it from the terminate).
    if (find_pager(in->msgh_local_port) != nullptr) {
      mig_reply_setup(in, out);
      reinterpret_cast<mig_reply_error_t*>(out)->RetCode = MIG_NO_REPLY;
      return TRUE;
    }
  }
  machpager::t_in_dispatch = true;
  boolean_t handled = memory_object_server(in, out);
  machpager::t_in_dispatch = false;
  return handled;
}

kern_return_t mach_pager_serve(mach_pager_t* pager) {
  if (pager == nullptr) return KERN_INVALID_ARGUMENT;
  std::shared_ptr<mach_pager_state> keep = pager->shared_from_this();
  {
    std::lock_guard<std::mutex> g(pager->mu);
    if (pager->serving) return KERN_INVALID_ARGUMENT;
    pager->serving = true;
  }
  mach_msg_return_t mr = MACH_MSG_SUCCESS;
  for (;;) {
    {
      std::lock_guard<std::mutex> g(pager->mu);
      if (pager->stopping) break;
    }
    mr = mach_msg_server_once(mach_pager_demux, kMaxRequest, pager->port, MACH_RCV_LARGE);
    if (mr == MACH_MSG_SUCCESS) continue;
    {
      std::lock_guard<std::mutex> g(pager->mu);
      if (pager->stopping) break;
    }
    if (machpager::serving_error_ends("pager", mr)) break;
  }
  std::lock_guard<std::mutex> g(pager->mu);
  pager->serving = false;
  pager->cv.notify_all();
  return pager->stopping ? KERN_SUCCESS : mr;
}

kern_return_t mach_pager_start(mach_pager_t* pager) {
  if (pager == nullptr) return KERN_INVALID_ARGUMENT;
  std::lock_guard<std::mutex> g(pager->mu);
  if (pager->serving || pager->thread.joinable() || pager->stopping) return KERN_INVALID_ARGUMENT;
  try {
    pager->thread = std::thread([pager] { (void)mach_pager_serve(pager); });
  } catch (const std::system_error&) {
    return KERN_RESOURCE_SHORTAGE;
  }
  return KERN_SUCCESS;
}

kern_return_t mach_pager_destroy(mach_pager_t* pager) {
  if (pager == nullptr) return KERN_SUCCESS;
  if (machpager::in_dispatch()) return KERN_INVALID_ARGUMENT;
  std::shared_ptr<mach_pager_state> keep;
  {
    std::lock_guard<std::mutex> g(machpager::g_registry_mu);
    auto it = machpager::registry().find(pager->port);
    if (it == machpager::registry().end()) return KERN_INVALID_ARGUMENT;
    keep = std::move(it->second);
    machpager::registry().erase(it);
  }
  std::thread thread;
  {
    std::lock_guard<std::mutex> g(pager->mu);
    pager->stopping = true;
    thread = std::move(pager->thread);
  }
  send_stop(pager->port);
  if (thread.joinable()) thread.join();
  std::shared_ptr<machpager::Control> control;
  {
    std::unique_lock<std::mutex> lk(pager->mu);
    pager->cv.wait(lk, [&] { return !pager->serving; });  // a caller's mach_pager_serve
    control = std::move(pager->control);
    pager->fail_waiters_locked(KERN_TERMINATED);
  }
  control.reset();
  (void)mach_port_mod_refs(mach_task_self(), pager->port, MACH_PORT_RIGHT_RECEIVE, -1);
  return KERN_SUCCESS;
}

}  // extern "C"
