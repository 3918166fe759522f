// libmach-compat/src/connection.h — this process's link to machd.
//
// One connection per process (= one Mach task): the control socket, the
// shared task region and the doorbell. Each calling thread owns one channel
// of the region while it is in a call. After fork() the child drops the
// parent's connection and becomes a new task (as on macOS, it keeps only its
// special ports); exec starts over from the library constructor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "machd_abi.h"

namespace machcompat {

// What a call returns: the result code, the rets and a view of the reply
// data (valid until the thread's next call).
struct CallResult {
  int32_t result = 0;
  uint64_t rets[MACHD_CH_RETS] = {};
  std::span<const uint8_t> data;
  bool machd_gone = false;  // no machd: the result is a stand-in error
};

// A request being built in the thread's channel (no copy: the caller writes
// into data() directly).
class CallBuilder {
 public:
  // Acquires the thread's channel (connecting to machd on first use).
  // ok() is false when machd cannot be reached.
  // A call made while another is in progress on the same thread (from a
  // signal handler) gets a channel of its own for its duration.
  CallBuilder(uint32_t op);
  ~CallBuilder();
  CallBuilder(const CallBuilder&) = delete;
  CallBuilder& operator=(const CallBuilder&) = delete;
  bool ok() const { return ch_ != nullptr; }
  uint64_t* args();
  uint8_t* data();              // MACHD_CHANNEL_DATA_SIZE bytes
  void set_data_len(uint32_t n);
  // Submits and waits. With fds, the request goes over the socket with them.
  CallResult submit(std::span<const int> fds = {});

 private:
  machd_channel* ch_ = nullptr;
  uint32_t index_ = 0;
  bool nested_ = false;  // ch_ is not the thread's channel: released at the end
  uint64_t gen_ = 0;     // the connection ch_ belongs to
};

// One-shot helper for calls with only scalar args.
CallResult call(uint32_t op, std::initializer_list<uint64_t> args, std::span<const uint8_t> data = {});

// Takes the fd machd sent with tag `tag` (OOL memory being received). Returns
// -1 if it cannot be had. Thread-safe.
int take_fd(uint64_t tag);

// The fast-lane part of the task region (machd_abi.h), connecting on first
// use; nullptr when machd cannot be reached, is shutting down, or has died
// (its liveness word, machd_abi.h: a plain load, no system call).
machd_fast_header* fast_header();
// Start of the region (for the send ring and lane slots).
uint8_t* region_base();
// Rings the doorbell if machd may be asleep (MACHD_FLAG_NEED_WAKEUP).
void kick_machd();

// machd's end, as this task finds it.
//
// machd_ended: true once machd's process has ended (its liveness word,
// machd_abi.h) or its end of the socket closed; one poll system call.
// Connected tasks only.
bool machd_ended();
// note_machd_gone: this task found machd gone (dead, or shutting down): the
// connection is broken (later calls fail at once), every sleeper on machd's
// liveness word is woken, and machd_death_fd's descriptors read EOF.
// Idempotent; takes no lock (a call failing in a signal handler makes it).
void note_machd_gone();

// How sleep_on_region_word ended.
enum class Woke {
  kChanged,      // woken, or *word no longer held `expected`
  kTimedOut,     // timeout_ns passed
  kMachdDied,    // machd's process has ended
  kInterrupted,  // a signal handler ran (EINTR)
};
// No limit on the sleep (sleep_on_region_word's timeout_ns).
inline constexpr int64_t kSleepForever = -1;
// Sleeps while *word, a futex word shared with machd (the task region, or
// another page machd shares, as a semaphore's), holds `expected`, at most
// timeout_ns (kSleepForever: no limit), and wakes as soon as machd's
// process ends: it sleeps on machd's liveness word too (futex_waitv), on
// which the kernel wakes one sleeper as machd dies; whoever wakes for that
// wakes all the others, in every task. Without a liveness page or
// futex_waitv it sleeps on *word alone (the caller's timeout then bounds
// how late it notices; a sleep with no limit is cut into 1 s steps that
// ask machd_ended, and a step that ends with machd alive returns
// kChanged). Connected tasks only.
Woke sleep_on_region_word(uint32_t* word, uint32_t expected, int64_t timeout_ns);

// Connection state.
uint32_t task_self_name();
uint32_t bootstrap_name();
// machd keeps this task's vm_allocate memory under its memory budget
// (MACHD_WELCOME_MANAGED_MEMORY): vm_allocate on the task itself goes to
// machd. False when not connected.
bool anonymous_memory_managed();
// Bumped on every fork child and reconnect: per-thread caches compare it.
uint64_t generation();

// Establishes the connection now (called from the library constructor and
// after fork in the child, and by the first Mach call when those failed).
// Idempotent. A failure is reported (unreachable.h) only if report_failure:
// the constructor's and the fork child's attempts are silent, since a
// program may point MACHD_SOCKET at a machd it starts itself before its
// first Mach call, which connects then.
void connect_now(bool report_failure = true);

// Names machd as this process's ptracer again (YAMA), as the connection
// did: a forked child (a crash's corpse) is not covered by its parent's.
// One raw system call (no libc wrapper a sanitizer intercepts): safe in a
// signal handler and in a child forked from a thread of a busy process.
void allow_machd_to_read_this_process();
// machd's liveness word (machd_abi.h: FUTEX_OWNER_DIED once machd's process
// has ended), nullptr when machd sent no liveness page. A plain read.
const uint32_t* machd_liveness_word();

// pthread_atfork child handler (registered by the library constructor).
void after_fork_child();

}  // namespace machcompat
