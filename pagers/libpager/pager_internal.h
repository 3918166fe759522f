// pagers/libpager/pager_internal.h — the state of one pager, shared by the
// files of the library (not installed).
//
//   mach_pager_state ──control──▶ Control (the kernel's control and name
//        │                         ports while an init is in force; shared
//        │                         with the threads sending on it, released
//        │                         by the last)
//        └──waiters──▶ Waiter (a thread blocked in lock_request /
//                      change_attributes until the completion is served)
//
// Lock order: the registry lock (pager.cc) and mach_pager_state::mu are never
// held together.  No lock is held across a Mach call or a callback.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "mach_pager.h"

namespace machpager {

// The rights a kernel gave the pager for one init: one send-right user
// reference each on the control and name ports (from memory_object_init),
// plus their receive rights once memory_object_terminate moved them here.
// The destructor releases them all; it runs when the pager and every
// thread sending on the control port are done with it.
struct Control {
  mach_port_t control = MACH_PORT_NULL;
  mach_port_t name = MACH_PORT_NULL;
  vm_size_t page_size = 0;
  bool own_receive = false;  // set by terminate, under mach_pager_state::mu

  Control(mach_port_t c, mach_port_t n, vm_size_t ps) : control(c), name(n), page_size(ps) {}
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;
  ~Control();
};

// A thread waiting for memory_object_lock_completed (kLock, matched on
// offset and size) or memory_object_change_completed (kChange, first come).
struct Waiter {
  enum Kind { kLock, kChange } kind;
  vm_offset_t offset = 0;
  vm_size_t size = 0;
  bool done = false;
  kern_return_t result = KERN_SUCCESS;
};

// A serving loop's mach_msg_server_once failed with `mr` (`who`: which
// loop, for the message). True: the loop must end (the port or the kernel
// is gone); it is said on stderr unless the port simply died (its owner,
// or machd's death, did that). False: one message was lost (a body the
// task could not take, a header or buffer error, an interruption, a reply
// that could not be sent, no memory for the request); it is said on
// stderr, and after a memory shortage the caller is held back 10 ms so
// that the loop does not spin.
bool serving_error_ends(const char* who, mach_msg_return_t mr);

// The message that wakes a serving thread so that it sees `stopping`.
constexpr mach_msg_id_t kStopId = 0x6d706770;  // 'mpgp'

}  // namespace machpager

struct mach_pager_state : std::enable_shared_from_this<mach_pager_state> {
  // Fixed from creation on.
  mach_port_t port = MACH_PORT_NULL;  // the object port: our receive right
  mach_pager_ops ops{};
  void* ctx = nullptr;

  std::mutex mu;  // guards every field below
  std::condition_variable cv;  // waiters' completions, `serving` going false
  mach_pager_attributes attrs{};
  std::shared_ptr<machpager::Control> control;  // null: no kernel has the object
  std::list<machpager::Waiter*> waiters;
  bool serving = false;   // a thread is in mach_pager_serve
  bool stopping = false;  // mach_pager_destroy has begun
  std::thread thread;     // mach_pager_start's

  // Marks every waiter done with `result` (under mu) and wakes them.
  void fail_waiters_locked(kern_return_t result);
};

namespace machpager {

// The live pager whose object port is `port`, or null.
std::shared_ptr<mach_pager_state> find_pager(mach_port_t port);

// True while this thread runs mach_pager_demux (so, a callback).
bool in_dispatch();

// The copy strategies the library serves (not MEMORY_OBJECT_COPY_CALL).
bool valid_copy_strategy(memory_object_copy_strategy_t s);

// Drops one send-right user reference the kernel's message gave us.
void release_send(mach_port_t name);

// mach_pager_create on a receive right the caller already holds (`port`,
// which the pager owns on success; the caller keeps it on failure).
// ops must have read_page and write_page.
kern_return_t create_on_port(mach_port_t port, const mach_pager_ops* ops, void* ctx,
                             const mach_pager_attributes* attributes, mach_pager_t** out);

// Hands [data, data+count) to write_page, page by page (a shorter last
// piece as it is); the first error, else KERN_SUCCESS.
kern_return_t write_pages(mach_pager_state* p, vm_size_t page, vm_offset_t offset, vm_offset_t data,
                          mach_msg_type_number_t count);

// The kernel's rights for the object, as memory_object_init would give
// them (taken on success), without memory_object_ready: for an object the
// kernel made itself (memory_object_create). KERN_INVALID_ARGUMENT if a
// kernel has the object already.
kern_return_t attach_control(mach_pager_t* p, mach_port_t control, mach_port_t name, vm_size_t page_size);

// No kernel has the object (never initialized, or terminated).
bool terminated(mach_pager_t* p);

}  // namespace machpager
