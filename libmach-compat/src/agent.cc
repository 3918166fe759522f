// libmach-compat/src/agent.cc — see agent.h. The protocol is machd_abi.h's
// (mailbox calls, thread slots); everything machd writes is checked before use.
#include "agent.h"

#include <asm/prctl.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <cstring>
#include <cstddef>

#include <mach/kern_return.h>

#include "connection.h"
#include "corpse.h"
#include "emulation.h"
#include "native_syscall.h"
#include "machd_abi.h"

namespace machcompat {

namespace {

template <typename T>
std::atomic_ref<T> atomic(T& v) { return std::atomic_ref<T>(v); }

std::atomic<uint32_t> g_agent_tid{0};
std::atomic<uint64_t> g_agent_gen{0};  // connection generation the agent serves
std::atomic<bool> g_handler_installed{false};

// si_value of an "identify" request (same process): the address of one of these.
struct Identify {
  uint32_t magic;
  uint32_t done;  // futex word
  int32_t tid;
  uint64_t thread;
};
constexpr uint32_t kIdentifyMagic = 0x49444e54;  // "IDNT"

long futex(uint32_t* w, int op, uint32_t v, const timespec* ts) {
  return syscall(SYS_futex, w, op, v, ts, nullptr, 0);
}

machd_agent_header* header() {
  uint8_t* r = region_base();
  return r ? reinterpret_cast<machd_agent_header*>(r + MACHD_AGENT_OFFSET) : nullptr;
}

machd_thread_slot* slot_at(uint32_t i) {
  uint8_t* r = region_base();
  return reinterpret_cast<machd_thread_slot*>(r + MACHD_AGENT_OFFSET + MACHD_AGENT_HEADER_SIZE +
                                              uint64_t(i) * MACHD_THREAD_SLOT_SIZE);
}

void tell_machd(machd_agent_header* h) {
  atomic(h->done).store(1, std::memory_order_seq_cst);
  kick_machd();
}

kern_return_t kr_of_errno(int e) {
  switch (e) {
    case ENOMEM: return KERN_NO_SPACE;
    case EINVAL: return KERN_INVALID_ARGUMENT;
    case EACCES:
    case EPERM: return KERN_PROTECTION_FAILURE;
    case EEXIST: return KERN_NO_SPACE;
    default: return KERN_FAILURE;
  }
}

// ---- parking -------------------------------------------------------------

// Saves the context into the slot, parks until machd lets go, then loads
// what machd rewrote (DIRTY) or ends the thread (EXIT). Returns the slot's
// flags as machd left them (0 if machd let go before the thread parked, or
// died first: the thread then resumes as it was).
uint32_t park(machd_thread_slot* ts, uint32_t index, ucontext_t* uc) {
  save_context(*ts, uc);
  uint32_t expect = MACHD_TS_STOPPING;
  if (!atomic(ts->state).compare_exchange_strong(expect, MACHD_TS_PARKED, std::memory_order_acq_rel))
    return 0;  // machd let go before we parked
  machd_agent_header* h = header();
  atomic(h->parked[index / 64]).fetch_or(uint64_t(1) << (index % 64), std::memory_order_acq_rel);
  tell_machd(h);
  while (atomic(ts->state).load(std::memory_order_acquire) == MACHD_TS_PARKED) {
    const Woke w = sleep_on_region_word(&ts->state, MACHD_TS_PARKED, 1000 * 1000 * 1000);
    if (!(region_base() && header() == h)) break;
    // Nobody will let the thread go once machd is gone: it runs on as it
    // was (whatever machd had begun to rewrite is not applied), and its
    // next Mach call fails. (No note_machd_gone here, in a signal handler:
    // it takes a lock; the agent and the failing call make it.)
    if (w == Woke::kMachdDied || (w == Woke::kTimedOut && machd_ended())) return 0;
  }
  const uint32_t flags = atomic(ts->flags).load(std::memory_order_acquire);
  if (flags & MACHD_TSF_EXIT) syscall(SYS_exit, 0);
  if (flags & MACHD_TSF_DIRTY) load_context(*ts, uc);
  return flags;
}

void on_thread_signal(int, siginfo_t* si, void* ucv) {
  const int saved = errno;
  NativeScope native;
  if (si->si_code == SI_QUEUE && si->si_pid == getpid()) {
    // From this process: an identify request.
    auto* id = static_cast<Identify*>(si->si_value.sival_ptr);
    if (id != nullptr && id->magic == kIdentifyMagic) {
      id->tid = int32_t(syscall(SYS_gettid));
      id->thread = uint64_t(pthread_self());
      atomic(id->done).store(1, std::memory_order_release);
      futex(&id->done, FUTEX_WAKE_PRIVATE, 1, nullptr);
    }
  } else if (si->si_code == SI_QUEUE && region_base() != nullptr) {
    const uint32_t index = uint32_t(si->si_value.sival_int);
    if (index < MACHD_THREAD_SLOTS) {
      machd_thread_slot* ts = slot_at(index);
      if (atomic(ts->tid).load(std::memory_order_acquire) == uint32_t(syscall(SYS_gettid)))
        park(ts, index, static_cast<ucontext_t*>(ucv));
    }
  }
  errno = saved;
}

void install_handler() {
  bool expected = false;
  if (!g_handler_installed.compare_exchange_strong(expected, true)) return;
  struct sigaction sa {};
  sa.sa_sigaction = on_thread_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(MACHD_THREAD_SIGNAL, &sa, nullptr);
}

// ---- the agent's calls -----------------------------------------------------

struct NewThread {
  uint32_t slot;
  uint32_t tid;  // futex word: set by the new thread
};

void* new_thread_main(void* p) {
  auto* nt = static_cast<NewThread*>(p);
  const uint32_t slot = nt->slot;
  const pid_t tid = pid_t(syscall(SYS_gettid));
  machd_thread_slot* ts = slot_at(slot);
  atomic(ts->tid).store(uint32_t(tid), std::memory_order_release);
  atomic(nt->tid).store(uint32_t(tid), std::memory_order_release);
  futex(&nt->tid, FUTEX_WAKE_PRIVATE, 1, nullptr);
  // Park at once, in the handler, as a suspended thread does.
  siginfo_t si{};
  si.si_signo = MACHD_THREAD_SIGNAL;
  si.si_code = SI_QUEUE;
  si.si_value.sival_int = int(slot);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, MACHD_THREAD_SIGNAL);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  // si_pid must not be ours (an identify request): machd's signals carry
  // machd's pid; a self-queued one carries 0.
  si.si_pid = 0;
  syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, MACHD_THREAD_SIGNAL, &si);
  return nullptr;  // resumed without a new state: the thread ends
}

void run_call(machd_agent_call& c, uint32_t op, const uint64_t* a) {
  int32_t result = KERN_SUCCESS;
  uint64_t rets[2] = {0, 0};
  switch (op) {
    case MACHD_AGENT_NOP: break;
    case MACHD_AGENT_MMAP: {
      int fd = -1;
      if (a[4] != 0) {
        fd = take_fd(a[4]);
        if (fd < 0) {
          result = KERN_INVALID_ARGUMENT;
          break;
        }
      }
      int flags = int(a[3]);
      if (fd < 0) flags |= MAP_ANONYMOUS;
      void* p = mmap(reinterpret_cast<void*>(a[0]), size_t(a[1]), int(a[2]), flags, fd, off_t(a[5]));
      int e = errno;
      if (fd >= 0) close(fd);
      if (p == MAP_FAILED) {
        result = kr_of_errno(e);
        rets[1] = uint64_t(e);
      } else {
        rets[0] = uint64_t(p);
      }
      break;
    }
    case MACHD_AGENT_MUNMAP:
    case MACHD_AGENT_MPROTECT:
    case MACHD_AGENT_MADVISE: {
      void* addr = reinterpret_cast<void*>(a[0]);
      int r = op == MACHD_AGENT_MUNMAP     ? munmap(addr, size_t(a[1]))
              : op == MACHD_AGENT_MPROTECT ? mprotect(addr, size_t(a[1]), int(a[2]))
                                           : madvise(addr, size_t(a[1]), int(a[2]));
      if (r != 0) {
        rets[1] = uint64_t(errno);
        result = kr_of_errno(errno);
      }
      break;
    }
    case MACHD_AGENT_MLOCK:
    case MACHD_AGENT_MUNLOCK: {
      void* addr = reinterpret_cast<void*>(a[0]);
      if ((op == MACHD_AGENT_MLOCK ? mlock(addr, size_t(a[1])) : munlock(addr, size_t(a[1]))) != 0) {
        rets[1] = uint64_t(errno);
        // machd checked the range is mapped: a refusal is a limit (XNU: cannot wire).
        result = errno == EINVAL ? KERN_INVALID_ARGUMENT : KERN_RESOURCE_SHORTAGE;
      }
      break;
    }
    case MACHD_AGENT_THREAD_CREATE: {
      if (a[0] >= MACHD_THREAD_SLOTS) {
        result = KERN_INVALID_ARGUMENT;
        break;
      }
      NewThread nt{uint32_t(a[0]), 0};
      pthread_attr_t attr;
      pthread_attr_init(&attr);
      pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
      pthread_t th;
      int e = pthread_create(&th, &attr, new_thread_main, &nt);
      pthread_attr_destroy(&attr);
      if (e != 0) {
        result = KERN_RESOURCE_SHORTAGE;
        break;
      }
      while (atomic(nt.tid).load(std::memory_order_acquire) == 0) futex(&nt.tid, FUTEX_WAIT_PRIVATE, 0, nullptr);
      rets[0] = nt.tid;
      break;
    }
    case MACHD_AGENT_EMULATION: result = emulation_sync(); break;
    case MACHD_AGENT_FORK_CORPSE: {
      const pid_t child = fork_corpse_process();
      if (child < 0) result = KERN_RESOURCE_SHORTAGE;
      rets[0] = uint64_t(child < 0 ? 0 : child);
      break;
    }
    case MACHD_AGENT_REAP_CORPSE: reap_corpse_process(pid_t(a[0])); break;
    default: result = KERN_INVALID_ARGUMENT;
  }
  c.result = result;
  c.rets[0] = rets[0];
  c.rets[1] = rets[1];
}

void* agent_main(void* p) {
  const uint64_t gen = uint64_t(reinterpret_cast<uintptr_t>(p));
  // Every signal blocked but SIGSYS: a call of ours that a filter traps
  // runs for real in the SIGSYS handler (emulation.h).
  sigset_t all;
  sigfillset(&all);
  sigdelset(&all, SIGSYS);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  ++native_depth();
  machd_agent_header* h = header();
  if (h == nullptr) return nullptr;
  const uint32_t tid = uint32_t(syscall(SYS_gettid));
  g_agent_tid.store(tid);
  atomic(h->agent_tid).store(tid, std::memory_order_release);
  atomic(h->pid).store(uint32_t(getpid()), std::memory_order_release);
  for (;;) {
    uint32_t seen = atomic(h->wake).load(std::memory_order_acquire);
    if (g_agent_gen.load() != gen || generation() != gen) return nullptr;  // forked or reconnected
    bool answered = false;
    for (auto& c : h->calls) {
      uint32_t s = MACHD_AC_REQ;
      if (!atomic(c.state).compare_exchange_strong(s, MACHD_AC_BUSY, std::memory_order_acq_rel)) continue;
      uint64_t args[6];
      for (int i = 0; i < 6; ++i) args[i] = c.args[i];
      run_call(c, atomic(c.op).load(std::memory_order_relaxed), args);
      atomic(c.state).store(MACHD_AC_DONE, std::memory_order_release);
      answered = true;
    }
    if (answered) {
      tell_machd(h);
      continue;
    }
    // The agent also watches for machd's end (every connected task has
    // one): it tells the task's other sleepers and machd_death_fd's
    // readers, then ends.
    const Woke w = sleep_on_region_word(&h->wake, seen, 1000 * 1000 * 1000);
    if (w == Woke::kMachdDied || (w == Woke::kTimedOut && machd_ended())) {
      note_machd_gone();
      return nullptr;
    }
  }
}

bool identify(pid_t tid, uint64_t thread, Identify& out) {
  out = Identify{kIdentifyMagic, 0, 0, 0};
  sigval v;
  v.sival_ptr = &out;
  int r = thread != 0 ? pthread_sigqueue(pthread_t(thread), MACHD_THREAD_SIGNAL, v) : [&] {
    siginfo_t si{};
    si.si_signo = MACHD_THREAD_SIGNAL;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value = v;
    return int(syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, MACHD_THREAD_SIGNAL, &si));
  }();
  if (r != 0) return false;
  for (int i = 0; i < 100 && atomic(out.done).load(std::memory_order_acquire) == 0; ++i) {
    timespec t{0, 10 * 1000 * 1000};
    futex(&out.done, FUTEX_WAIT_PRIVATE, 0, &t);
  }
  return atomic(out.done).load(std::memory_order_acquire) != 0;
}

}  // namespace

void start_agent() {
  install_handler();
  if (region_base() == nullptr) return;
  const uint64_t gen = generation();
  if (g_agent_gen.exchange(gen) == gen) return;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t th;
  g_agent_tid.store(0);
  const bool started = pthread_create(&th, &attr, agent_main, reinterpret_cast<void*>(uintptr_t(gen))) == 0;
  pthread_attr_destroy(&attr);
  // Wait until the agent published its tid: machd must never list it.
  for (int i = 0; started && i < 2000 && g_agent_tid.load() == 0; ++i) {
    timespec t{0, 1000 * 1000};
    nanosleep(&t, nullptr);
  }
  if (g_agent_tid.load() == 0) {
    // (Seen when a sanitizer's allocator was locked by another thread of
    // the parent at fork(): the thread hangs in its own start.)
    static const char kMsg[] =
        "libmach-compat: this task's agent thread did not start in 2 s; what machd asks of it (mapping memory, "
        "stopping threads) fails\n";
    (void)!write(2, kMsg, sizeof kMsg - 1);
  }
}

uint32_t agent_tid() { return g_agent_tid.load(); }

size_t save_context(machd_thread_slot& ts, const ucontext_t* uc) {
  static_assert(sizeof(uc->uc_mcontext.gregs) == MACHD_NGREG * 8);
  memcpy(ts.gregs, uc->uc_mcontext.gregs, sizeof ts.gregs);
  unsigned long base = 0;
  syscall(SYS_arch_prctl, ARCH_GET_FS, &base);
  ts.fs_base = base;
  base = 0;
  syscall(SYS_arch_prctl, ARCH_GET_GS, &base);
  ts.gs_base = base;
  ts.fp_kind = MACHD_FP_NONE;
  ts.fp_size = 0;
  const auto* fp = reinterpret_cast<const uint8_t*>(uc->uc_mcontext.fpregs);
  if (fp != nullptr) {
    uint32_t fp_size = 512;
    ts.fp_kind = MACHD_FP_FXSAVE;
    // The kernel marks an XSAVE frame in the FXSAVE image's software area.
    const auto* sw = reinterpret_cast<const _fpx_sw_bytes*>(fp + 464);
    if (sw->magic1 == FP_XSTATE_MAGIC1 && sw->xstate_size > 512 && sw->xstate_size <= sizeof ts.fpstate) {
      fp_size = sw->xstate_size;
      ts.fp_kind = MACHD_FP_XSAVE;
    }
    memcpy(ts.fpstate, fp, fp_size);
    ts.fp_size = fp_size;
  }
  return offsetof(machd_thread_slot, fpstate) + ts.fp_size;
}

void load_context(const machd_thread_slot& ts, ucontext_t* uc) {
  memcpy(uc->uc_mcontext.gregs, ts.gregs, sizeof ts.gregs);
  auto* fp = reinterpret_cast<uint8_t*>(uc->uc_mcontext.fpregs);
  if (fp != nullptr && ts.fp_size <= sizeof ts.fpstate) {
    // Only an image of the frame's own size and kind fits the frame.
    const auto* sw = reinterpret_cast<const _fpx_sw_bytes*>(fp + 464);
    const uint32_t frame_size =
        sw->magic1 == FP_XSTATE_MAGIC1 && sw->xstate_size > 512 ? sw->xstate_size : 512;
    if (ts.fp_size == frame_size) memcpy(fp, ts.fpstate, ts.fp_size);
  }
  unsigned long now = 0;
  syscall(SYS_arch_prctl, ARCH_GET_FS, &now);
  if (ts.fs_base != now) syscall(SYS_arch_prctl, ARCH_SET_FS, ts.fs_base);
  // Never let a rewritten context leave user mode's segments.
  uc->uc_mcontext.gregs[REG_CSGSFS] = (uc->uc_mcontext.gregs[REG_CSGSFS] & ~0xffffll) | 0x33;
}

uint64_t exception_interest() {
  machd_agent_header* h = region_base() ? header() : nullptr;
  return h ? atomic(h->exc_interest).load(std::memory_order_acquire) : 0;
}

uint64_t pthread_of_tid(int tid) {
  if (tid == int(syscall(SYS_gettid))) return uint64_t(pthread_self());
  Identify id;
  return identify(tid, 0, id) && id.tid == tid ? id.thread : 0;
}

int tid_of_pthread(uint64_t thread) {
  if (thread == uint64_t(pthread_self())) return int(syscall(SYS_gettid));
  Identify id;
  return identify(0, thread, id) ? id.tid : 0;
}

}  // namespace machcompat
