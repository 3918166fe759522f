// pagers/libpager/default_pager.cc — the default memory manager
// (mach_pager.h, "the default memory manager"): its port, the routines of
// mach/memory_object_default.defs, and the one thread that serves the
// manager port and every object it was handed, through a port set.
//
// Objects are ordinary pagers of this library (create_on_port on the
// receive right memory_object_create brings, attach_control in place of
// memory_object_init); their terminate is served by kernel_requests.cc,
// after which the serving thread destroys the pager (outside the dispatch,
// as mach_pager_destroy wants) and reports object_terminated.
#include <mach/mach.h>
#include <mach/mig_errors.h>

#include <atomic>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>

#include <mach/default_pager_types.h>
#include <mach/notify.h>

#include <algorithm>
#include <vector>

#include "default_pagerServer.h"
#include "memory_object_defaultServer.h"
#include "pager_internal.h"

struct mach_pager_default_state {
  mach_port_t manager = MACH_PORT_NULL;  // receive right: the default memory manager port
  mach_port_t set = MACH_PORT_NULL;      // the manager port and every object port
  mach_pager_default_ops ops{};
  mach_pager_ops object_ops{};
  void* ctx = nullptr;

  std::mutex mu;  // guards objects
  struct Object {
    mach_pager_t* pager = nullptr;
    void* ctx = nullptr;      // what object_created returned
    bool by_client = false;   // default_pager_object_create's: ends at no-senders, not at terminate
    bool no_senders = false;  // (by_client) nobody holds a send right any more
  };
  std::unordered_map<mach_port_t, Object> objects;  // by object port
  std::thread thread;
  std::atomic<bool> stopping{false};
};

namespace {

// The task's default memory manager (one per task), for the routines.
std::mutex g_mu;
mach_pager_default_state* g_manager = nullptr;

mach_pager_default_state* manager_of(mach_port_t port) {
  std::lock_guard<std::mutex> g(g_mu);
  return g_manager != nullptr && g_manager->manager == port ? g_manager : nullptr;
}

// The port the message being served was sent to (checked after it).
thread_local mach_port_t t_last_port = MACH_PORT_NULL;

constexpr mach_msg_size_t kMaxRequest = 512;

// Forgets the object of `port`: its pager is destroyed (its port dies) and
// the owner hears object_terminated.
void end_object(mach_pager_default_state* m, mach_port_t port) {
  mach_pager_default_state::Object o;
  {
    std::lock_guard<std::mutex> g(m->mu);
    auto it = m->objects.find(port);
    if (it == m->objects.end()) return;
    o = it->second;
    m->objects.erase(it);
  }
  (void)mach_pager_destroy(o.pager);
  m->ops.object_terminated(m->ctx, o.ctx);
}

boolean_t demux(mach_msg_header_t* in, mach_msg_header_t* out) {
  t_last_port = in->msgh_local_port;
  if (in->msgh_id == machpager::kStopId && manager_of(in->msgh_local_port) != nullptr) {
    mig_reply_setup(in, out);
    reinterpret_cast<mig_reply_error_t*>(out)->RetCode = MIG_NO_REPLY;
    return TRUE;
  }
  if (in->msgh_id == MACH_NOTIFY_NO_SENDERS) {
    // A client's object lost its last send right (the kernel's included).
    if (mach_pager_default_state* m = g_manager) {
      std::lock_guard<std::mutex> g(m->mu);
      if (auto it = m->objects.find(in->msgh_local_port); it != m->objects.end()) it->second.no_senders = true;
    }
    mig_reply_setup(in, out);
    reinterpret_cast<mig_reply_error_t*>(out)->RetCode = MIG_NO_REPLY;
    return TRUE;
  }
  if (memory_object_default_server(in, out) || default_pager_server(in, out)) return TRUE;
  return mach_pager_demux(in, out);
}

// Whether the object of `port` is over: the kernel's, once terminated; a
// client's, once terminated (or never mapped) with no sender left.
bool over(mach_pager_default_state* m, mach_port_t port) {
  bool by_client = false, no_senders = false;
  {
    std::lock_guard<std::mutex> g(m->mu);
    auto it = m->objects.find(port);
    if (it == m->objects.end()) return false;
    by_client = it->second.by_client;
    no_senders = it->second.no_senders;
  }
  std::shared_ptr<mach_pager_state> p = machpager::find_pager(port);
  return p && machpager::terminated(p.get()) && (!by_client || no_senders);
}

// The object whose kernel name port, or object port, is `port`; its ctx.
void* object_named(mach_pager_default_state* m, mach_port_t port) {
  std::lock_guard<std::mutex> g(m->mu);
  for (const auto& [object_port, o] : m->objects) {
    if (object_port == port) return o.ctx;
    if (std::shared_ptr<mach_pager_state> p = machpager::find_pager(object_port)) {
      std::lock_guard<std::mutex> pg(p->mu);
      if (p->control && p->control->name == port) return o.ctx;
    }
  }
  return nullptr;
}

// Room for `n` records in memory that moves out with the reply.
template <typename T>
kern_return_t out_array(size_t n, T** out) {
  vm_address_t a = 0;
  if (n == 0) {
    *out = nullptr;
    return KERN_SUCCESS;
  }
  const kern_return_t kr = vm_allocate(mach_task_self(), &a, n * sizeof(T), VM_FLAGS_ANYWHERE);
  *out = reinterpret_cast<T*>(a);
  return kr;
}

void serve(mach_pager_default_state* m) {
  while (!m->stopping.load()) {
    t_last_port = MACH_PORT_NULL;
    const mach_msg_return_t mr = mach_msg_server_once(demux, kMaxRequest, m->set, MACH_RCV_LARGE);
    if (mr != MACH_MSG_SUCCESS) {
      // Ending quietly would leave every fault on the objects held here to
      // wait out the kernel's pager timeout.
      if (m->stopping.load() || machpager::serving_error_ends("default memory manager", mr)) break;
      continue;
    }
    const mach_port_t port = t_last_port;
    if (!MACH_PORT_VALID(port) || port == m->manager) continue;
    if (over(m, port)) end_object(m, port);
  }
}

}  // namespace

extern "C" {

// memory_object_default.defs, the manager's side.

kern_return_t memory_object_create(mach_port_t manager, mach_port_t new_object, vm_size_t size,
                                   mach_port_t control, mach_port_t name, vm_size_t page_size) {
  mach_pager_default_state* m = manager_of(manager);
  if (m == nullptr) return KERN_INVALID_ARGUMENT;  // the receive loop destroys the rights
  void* ctx = m->ops.object_created(m->ctx, size);
  if (ctx == nullptr) return KERN_RESOURCE_SHORTAGE;
  mach_pager_t* pager = nullptr;
  kern_return_t kr = machpager::create_on_port(new_object, &m->object_ops, ctx, nullptr, &pager);
  if (kr != KERN_SUCCESS) {
    m->ops.object_terminated(m->ctx, ctx);
    return kr;
  }
  // From here the pager owns the object port; on failure it is destroyed
  // (the kernel sees the port die) and everything counts as consumed.
  kr = machpager::attach_control(pager, control, name, page_size);
  if (kr != KERN_SUCCESS) {
    machpager::release_send(control);
    machpager::release_send(name);
  }
  if (kr == KERN_SUCCESS) kr = mach_port_move_member(mach_task_self(), new_object, m->set);
  if (kr == KERN_SUCCESS) {
    try {
      std::lock_guard<std::mutex> g(m->mu);
      m->objects[new_object] = {pager, ctx};
    } catch (const std::bad_alloc&) {
      kr = KERN_RESOURCE_SHORTAGE;
    }
  }
  if (kr != KERN_SUCCESS) {
    (void)mach_pager_destroy(pager);
    m->ops.object_terminated(m->ctx, ctx);
  }
  machpager::release_send(manager);  // the request's send right to our own port
  return KERN_SUCCESS;
}

kern_return_t memory_object_data_initialize(mach_port_t object, mach_port_t control, vm_offset_t offset,
                                            vm_offset_t data, mach_msg_type_number_t dataCnt) {
  std::shared_ptr<mach_pager_state> p = machpager::find_pager(object);
  if (!p) return KERN_INVALID_ARGUMENT;
  std::shared_ptr<machpager::Control> c;
  {
    std::lock_guard<std::mutex> g(p->mu);
    if (!p->control || p->control->control != control) return KERN_INVALID_ARGUMENT;
    c = p->control;
  }
  (void)machpager::write_pages(p.get(), c->page_size, offset, data, dataCnt);
  c.reset();
  if (dataCnt != 0) (void)vm_deallocate(mach_task_self(), data, dataCnt);
  machpager::release_send(control);
  return KERN_SUCCESS;
}

// default_pager.defs, on the manager port (served with the prefix dpserve_,
// since this library also holds the client stubs of the same names).

kern_return_t dpserve_default_pager_object_create(mach_port_t manager, memory_object_t* object, vm_size_t size) {
  mach_pager_default_state* m = manager_of(manager);
  if (m == nullptr) return KERN_INVALID_ARGUMENT;
  void* ctx = m->ops.object_created(m->ctx, size);
  if (ctx == nullptr) return KERN_RESOURCE_SHORTAGE;
  mach_pager_t* pager = nullptr;
  kern_return_t kr = mach_pager_create(&m->object_ops, ctx, nullptr, &pager);
  const mach_port_t port = kr == KERN_SUCCESS ? mach_pager_port(pager) : MACH_PORT_NULL;
  if (kr == KERN_SUCCESS) kr = mach_port_move_member(mach_task_self(), port, m->set);
  // Told when the last send right goes (after the one the reply makes).
  mach_port_t previous = MACH_PORT_NULL;
  if (kr == KERN_SUCCESS)
    kr = mach_port_request_notification(mach_task_self(), port, MACH_NOTIFY_NO_SENDERS, 1, port,
                                        MACH_MSG_TYPE_MAKE_SEND_ONCE, &previous);
  if (kr == KERN_SUCCESS) {
    try {
      std::lock_guard<std::mutex> g(m->mu);
      m->objects[port] = {pager, ctx, true, false};
    } catch (const std::bad_alloc&) {
      kr = KERN_RESOURCE_SHORTAGE;
    }
  }
  if (kr != KERN_SUCCESS) {
    (void)mach_pager_destroy(pager);
    m->ops.object_terminated(m->ctx, ctx);
    return kr;
  }
  *object = port;  // the reply makes the send right
  return KERN_SUCCESS;
}

kern_return_t dpserve_default_pager_info(mach_port_t manager, default_pager_info_t* info) {
  mach_pager_default_state* m = manager_of(manager);
  if (m == nullptr) return KERN_INVALID_ARGUMENT;
  if (m->ops.store_space == nullptr) return KERN_NOT_SUPPORTED;
  m->ops.store_space(m->ctx, &info->dpi_total_space, &info->dpi_free_space);
  info->dpi_page_size = vm_page_size;
  return KERN_SUCCESS;
}

kern_return_t dpserve_default_pager_objects(mach_port_t manager, default_pager_object_array_t* objects,
                                            mach_msg_type_number_t* objectsCnt, mach_port_array_t* ports,
                                            mach_msg_type_number_t* portsCnt) {
  mach_pager_default_state* m = manager_of(manager);
  if (m == nullptr) return KERN_INVALID_ARGUMENT;
  std::vector<std::pair<mach_port_t, void*>> live;
  {
    std::lock_guard<std::mutex> g(m->mu);
    for (const auto& [port, o] : m->objects) live.emplace_back(port, o.ctx);
  }
  default_pager_object_t* records = nullptr;
  mach_port_t* rights = nullptr;
  kern_return_t kr = out_array(live.size(), &records);
  if (kr == KERN_SUCCESS) kr = out_array(live.size(), &rights);
  if (kr != KERN_SUCCESS) {
    if (records) (void)vm_deallocate(mach_task_self(), vm_address_t(records), live.size() * sizeof *records);
    return KERN_RESOURCE_SHORTAGE;
  }
  for (size_t i = 0; i < live.size(); ++i) {
    records[i].dpo_object = live[i].first;
    records[i].dpo_size = m->ops.object_store_bytes ? m->ops.object_store_bytes(m->ctx, live[i].second) : 0;
    // A send right each, which the reply moves to the caller.
    rights[i] = mach_port_insert_right(mach_task_self(), live[i].first, live[i].first, MACH_MSG_TYPE_MAKE_SEND) ==
                        KERN_SUCCESS
                    ? live[i].first
                    : MACH_PORT_NULL;
  }
  *objects = records;
  *objectsCnt = mach_msg_type_number_t(live.size());
  *ports = rights;
  *portsCnt = mach_msg_type_number_t(live.size());
  return KERN_SUCCESS;
}

kern_return_t dpserve_default_pager_object_pages(mach_port_t manager, mach_port_t object,
                                                 default_pager_page_array_t* pages,
                                                 mach_msg_type_number_t* pagesCnt) {
  mach_pager_default_state* m = manager_of(manager);
  if (m == nullptr) return KERN_INVALID_ARGUMENT;
  if (m->ops.object_pages == nullptr) return KERN_NOT_SUPPORTED;
  void* ctx = object_named(m, object);
  if (ctx == nullptr) return KERN_INVALID_ARGUMENT;
  std::vector<vm_offset_t> offsets(m->ops.object_pages(m->ctx, ctx, nullptr, 0));
  offsets.resize(std::min(offsets.size(), m->ops.object_pages(m->ctx, ctx, offsets.data(), offsets.size())));
  default_pager_page_t* records = nullptr;
  if (out_array(offsets.size(), &records) != KERN_SUCCESS) return KERN_RESOURCE_SHORTAGE;
  for (size_t i = 0; i < offsets.size(); ++i) records[i].dpp_offset = offsets[i];
  *pages = records;
  *pagesCnt = mach_msg_type_number_t(offsets.size());
  machpager::release_send(object);  // the request's right, ours on success
  return KERN_SUCCESS;
}

kern_return_t dpserve_default_pager_paging_file(mach_port_t, mach_port_t, default_pager_filename_t, boolean_t) {
  return KERN_NOT_SUPPORTED;  // no devices: the store is the pager's own
}

kern_return_t dpserve_default_pager_register_fileserver(mach_port_t, mach_port_t) { return KERN_NOT_SUPPORTED; }

// The C API.

kern_return_t mach_pager_default_create(const struct mach_pager_default_ops* ops,
                                        const struct mach_pager_ops* object_ops, void* ctx,
                                        mach_pager_default_t** out) {
  if (out == nullptr || ops == nullptr || ops->object_created == nullptr || ops->object_terminated == nullptr ||
      object_ops == nullptr || object_ops->read_page == nullptr || object_ops->write_page == nullptr)
    return KERN_INVALID_ARGUMENT;
  std::lock_guard<std::mutex> g(g_mu);
  if (g_manager != nullptr) return KERN_INVALID_ARGUMENT;
  auto* m = new (std::nothrow) mach_pager_default_state;
  if (m == nullptr) return KERN_RESOURCE_SHORTAGE;
  m->ops = *ops;
  m->object_ops = *object_ops;
  m->ctx = ctx;
  const mach_port_t task = mach_task_self();
  kern_return_t kr = mach_port_allocate(task, MACH_PORT_RIGHT_RECEIVE, &m->manager);
  if (kr == KERN_SUCCESS) kr = mach_port_allocate(task, MACH_PORT_RIGHT_PORT_SET, &m->set);
  if (kr == KERN_SUCCESS) kr = mach_port_move_member(task, m->manager, m->set);
  if (kr != KERN_SUCCESS) {
    if (MACH_PORT_VALID(m->manager)) (void)mach_port_mod_refs(task, m->manager, MACH_PORT_RIGHT_RECEIVE, -1);
    if (MACH_PORT_VALID(m->set)) (void)mach_port_mod_refs(task, m->set, MACH_PORT_RIGHT_PORT_SET, -1);
    delete m;
    return kr;
  }
  g_manager = m;
  *out = m;
  return KERN_SUCCESS;
}

kern_return_t mach_pager_default_register(mach_pager_default_t* manager, mach_port_t host, mach_port_t* previous) {
  if (manager == nullptr) return KERN_INVALID_ARGUMENT;
  mach_port_t port = manager->manager;  // sent as a send right made from our receive right
  const kern_return_t kr = host_default_memory_manager(host, &port, 0);
  if (kr != KERN_SUCCESS) return kr;
  if (previous != nullptr)
    *previous = port;
  else
    machpager::release_send(port);
  return KERN_SUCCESS;
}

kern_return_t mach_pager_default_start(mach_pager_default_t* manager) {
  if (manager == nullptr || manager->thread.joinable()) return KERN_INVALID_ARGUMENT;
  try {
    manager->thread = std::thread([manager] { serve(manager); });
  } catch (const std::system_error&) {
    return KERN_RESOURCE_SHORTAGE;
  }
  return KERN_SUCCESS;
}

unsigned long mach_pager_default_objects(mach_pager_default_t* manager) {
  if (manager == nullptr) return 0;
  std::lock_guard<std::mutex> g(manager->mu);
  return manager->objects.size();
}

kern_return_t mach_pager_default_destroy(mach_pager_default_t* manager) {
  if (manager == nullptr) return KERN_SUCCESS;
  manager->stopping.store(true);
  if (manager->thread.joinable()) {
    mach_msg_header_t stop{};
    stop.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MAKE_SEND, 0);
    stop.msgh_size = sizeof stop;
    stop.msgh_remote_port = manager->manager;
    stop.msgh_id = machpager::kStopId;
    (void)mach_msg(&stop, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof stop, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL);
    manager->thread.join();
  }
  for (;;) {
    mach_port_t port;
    {
      std::lock_guard<std::mutex> g(manager->mu);
      if (manager->objects.empty()) break;
      port = manager->objects.begin()->first;
    }
    end_object(manager, port);
  }
  {
    std::lock_guard<std::mutex> g(g_mu);
    if (g_manager == manager) g_manager = nullptr;
  }
  const mach_port_t task = mach_task_self();
  (void)mach_port_mod_refs(task, manager->manager, MACH_PORT_RIGHT_RECEIVE, -1);
  (void)mach_port_mod_refs(task, manager->set, MACH_PORT_RIGHT_PORT_SET, -1);
  delete manager;
  return KERN_SUCCESS;
}

}  // extern "C"
