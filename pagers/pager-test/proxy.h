// pagers/pager-test/proxy.h — the kit in the middle of the pager protocol.
//
//      client tasks --vm_map--> proxy object port (the kit's)
//      machd  --memory_object_*-->  kit  --memory_object_*-->  pager
//      machd  <--control calls----  kit  <--control calls----  pager
//                (kernel's control port)    (proxy control port)
//
// Clients map the kit's proxy object port, so machd sends its
// memory_object messages (mach/memory_object.defs) to the kit. The kit
// forwards each to the pager's object port with a control port of its own
// in place of machd's; the pager's calls on that port (mach/mach.defs) are
// checked (protocol_checker.h, content_model.h) and forwarded to machd's
// control port. Completions (lock_, supply_, change_completed) are always
// asked of machd on a port of the kit's own, so the kit sees every one, and
// passed on to the pager when it asked for them — after the messages machd
// sent before them, so the pager sees machd's order.
//
// Contract
//   start(): takes the send right `pager_object`, makes the proxy object
//     port, checks it in with bootstrap as `service` (clients look it up),
//     asks for a dead-name notification of the pager's port, and serves
//     on a thread of its own until stop().
//   When the pager's port dies, the proxy object port is destroyed with it:
//     machd then treats the object as a dead pager's (the faults waiting on
//     it and every later one fail with SIGBUS), as it would without the kit.
//   kernel_lock(): a lock_request of the kit's own on machd's control port
//     (clean: RETURN_DIRTY; flush: should_flush), lock_value VM_PROT_NONE;
//     returns once machd's lock_completed came (kDone), or kNoObject if no
//     memory_object_init is live, kRefused if machd dropped the request,
//     kTimedOut.
//   take_returns(): the data_returns machd sent since the last call.
//   hold_next_answer(): the pager's next answer to a data_request (supply,
//     unavailable or error) is not forwarded, so the faulting task stays
//     blocked; wait_held() says when that happened. For killing the pager
//     mid-fault.
//   Sends to the pager wait at most the timeout: a pager whose queue stays
//     full is reported, never waited for.
#pragma once

#include <mach/mach.h>
#include <sys/types.h>

#include <condition_variable>
#include <cstdio>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "content_model.h"
#include "findings.h"
#include "protocol_checker.h"

namespace pagerkit {

// A memory_object_data_return as machd sent it.
struct Returned {
  uint64_t offset = 0;
  std::vector<uint8_t> data;
  bool dirty = false;
  bool kernel_copy = false;
};

struct ProxyState;

class Proxy {
 public:
  Proxy(Findings& findings, ContentModel& model, ProtocolChecker& checker, uint64_t timeout_ns);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  kern_return_t start(const std::string& service, mach_port_t pager_object);
  // Before start(): writes every message the kit carries to `out`.
  void set_trace(FILE* out);
  void stop();

  // fork() while the proxy's thread waits at the top of its loop (woken
  // from its receive, it waits for the fork to be done, in no allocator and
  // no library call): the child inherits no lock that thread held. glibc's
  // malloc is fork-safe on its own; a sanitizer's allocator is not, and a
  // child forked while another thread held one of its locks hangs in its
  // first thread's start.
  // (The kit maps no object itself, so its fork asks machd for no copy,
  // which could need a pager answer carried by this thread.)
  pid_t fork_quiet();

  enum class LockResult { kDone, kNoObject, kRefused, kTimedOut };
  LockResult kernel_lock(uint64_t offset, uint64_t length, memory_object_return_t should_return, bool flush,
                         int timeout_ms);
  std::vector<Returned> take_returns();

  void hold_next_answer();
  bool wait_held(int timeout_ms);
  // The kit is about to kill the pager: its death is no violation.
  void expect_pager_death();
  bool pager_dead() const;
  bool wait_pager_dead(int timeout_ms);
  // Waits until machd sent `count` memory_object_terminate in all.
  bool wait_terminates(uint64_t count, int timeout_ms);

  // Runs f(checker, model) under the proxy's lock.
  template <class F>
  auto with_state(F&& f) {
    std::lock_guard<std::mutex> g(mutex());
    return f(checker(), model());
  }

 private:
  std::mutex& mutex();
  ProtocolChecker& checker();
  ContentModel& model();
  void run();

  ProxyState* state_;
  std::thread thread_;
};

}  // namespace pagerkit
