// libmach-compat/src/exceptions.cc — hardware faults become Mach
// exceptions (machd/kern/exception_delivery.h has the whole path).
//
// The library claims SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP
// (signals.h). A fault the kernel raised is turned into XNU's exception
// type and codes (the x86 trap number and error code are in the signal
// context); if machd says some exception port takes that type (the interest
// mask in the task region, read without a trap), the thread asks machd to
// raise it and parks with its context until a handler answered. A handler's
// KERN_SUCCESS resumes the thread with the state the handler left; anything
// else, or no handler, hands the signal to the program's own disposition.
//
// A process about to die of a signal whose default action dumps core
// (claimed: the five above and SIGABRT) first raises EXC_CRASH with XNU's
// code layout (signal << 24 | exception << 20 | low 20 bits of the code),
// as macOS does for crash reporters. SIGABRT itself is no exception. When
// nobody handles it and some level takes EXC_CORPSE_NOTIFY, machd answers
// MACHD_TSF_CORPSE_WANTED: the thread forks a child that only waits, whose
// memory is the process's at the crash, and hands it to machd as the
// corpse (machd/kern/corpse.h) before the process dies.
//
// MACH_COMPAT_EXCEPTIONS=0 in the environment leaves the signals alone.
#include <mach/exception_types.h>
#include <mach/kern_return.h>
#include <mach/machine/exception.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "agent.h"
#include "connection.h"
#include "corpse.h"
#include "machd_abi.h"
#include "native_syscall.h"
#include "signals.h"

namespace machcompat {

namespace {

struct Exception {
  exception_type_t type = 0;
  int64_t code = 0;
  int64_t subcode = 0;
};

__attribute__((tls_model("initial-exec"))) thread_local bool t_raising = false;

// x86 trap numbers (the signal context's REG_TRAPNO).
enum : int64_t {
  kTrapDivide = 0, kTrapDebug = 1, kTrapBreakpoint = 3, kTrapOverflow = 4, kTrapInvalidOpcode = 6,
  kTrapSegmentNotPresent = 11, kTrapStackFault = 12, kTrapGeneralProtection = 13, kTrapPageFault = 14,
  kTrapFpuError = 16, kTrapAlignment = 17, kTrapSimdError = 19,
};

int64_t fault_address(const siginfo_t* si) { return int64_t(reinterpret_cast<uintptr_t>(si->si_addr)); }

// XNU's exception for a fault the kernel raised (x86_64 user_trap); type 0
// for a signal that is no exception (one a process sent).
Exception exception_of(int sig, const siginfo_t* si, const ucontext_t* uc) {
  Exception e;
  if (si == nullptr || uc == nullptr || si->si_code <= 0) return e;  // kill(), sigqueue(), tgkill()
  const int64_t trap = uc->uc_mcontext.gregs[REG_TRAPNO];
  const int64_t err = uc->uc_mcontext.gregs[REG_ERR];
  switch (sig) {
    case SIGSEGV:
      if (trap == kTrapGeneralProtection) {
        e = {EXC_BAD_ACCESS, EXC_I386_GPFLT, err};  // XNU maps #GP to EXC_BAD_ACCESS
      } else if (trap == kTrapStackFault) {
        e = {EXC_BAD_INSTRUCTION, EXC_I386_STKFLT, err};
      } else if (trap == kTrapSegmentNotPresent) {
        e = {EXC_BAD_INSTRUCTION, EXC_I386_SEGNPFLT, err};
      } else {
        const bool protection = si->si_code == SEGV_ACCERR
#ifdef SEGV_PKUERR
                                || si->si_code == SEGV_PKUERR
#endif
            ;
        e = {EXC_BAD_ACCESS, protection ? KERN_PROTECTION_FAILURE : KERN_INVALID_ADDRESS, fault_address(si)};
      }
      break;
    case SIGBUS:
      if (si->si_code == BUS_ADRALN || trap == kTrapAlignment)
        e = {EXC_BAD_ACCESS, EXC_I386_ALIGNFLT, fault_address(si)};
      else if (si->si_code == BUS_MCEERR_AR || si->si_code == BUS_MCEERR_AO)
        e = {EXC_BAD_ACCESS, KERN_MEMORY_FAILURE, fault_address(si)};
      else
        e = {EXC_BAD_ACCESS, KERN_MEMORY_ERROR, fault_address(si)};  // e.g. past the end of a mapped file
      break;
    case SIGILL: e = {EXC_BAD_INSTRUCTION, EXC_I386_INVOP, 0}; break;
    case SIGFPE: {
      const auto* fp = uc->uc_mcontext.fpregs;
      if (trap == kTrapSimdError)
        e = {EXC_ARITHMETIC, EXC_I386_SSEEXTERR, fp ? int64_t(fp->mxcsr) : 0};
      else if (trap == kTrapFpuError)
        e = {EXC_ARITHMETIC, EXC_I386_EXTERR, fp ? int64_t(fp->swd) : 0};
      else if (trap == kTrapOverflow)
        e = {EXC_ARITHMETIC, EXC_I386_INTO, 0};
      else
        e = {EXC_ARITHMETIC, EXC_I386_DIV, 0};
      break;
    }
    case SIGTRAP:
      if (trap == kTrapDebug || si->si_code == TRAP_TRACE || si->si_code == TRAP_HWBKPT)
        e = {EXC_BREAKPOINT, EXC_I386_SGL, 0};
      else
        e = {EXC_BREAKPOINT, EXC_I386_BPT, 0};  // int3 (the context's rip is after it, as on XNU)
      break;
    default: break;
  }
  return e;
}

// Raises `e` for the calling thread, which waits (parked, its context
// with machd) until machd decided. True when a handler answered
// KERN_SUCCESS (*uc then holds the state it left). `answer` (optional)
// gets the answer's MACHD_TSF_* flags. EXC_CRASH is raised when some port
// takes EXC_CORPSE_NOTIFY too.
bool raise_and_wait(const Exception& e, ucontext_t* uc, uint32_t* answer = nullptr) {
  if (e.type <= 0 || e.type >= 64) return false;
  uint64_t wanted = uint64_t(1) << e.type;
  if (e.type == EXC_CRASH) wanted |= uint64_t(1) << EXC_CORPSE_NOTIFY;
  if (!(exception_interest() & wanted)) return false;
  if (t_raising) return false;  // a fault while raising one: the program's disposition
  t_raising = true;
  bool handled = false;
  const uint64_t tid = uint64_t(mach_emulation_native(SYS_gettid, 0, 0, 0, 0, 0, 0));  // (never redirected)
  for (int tries = 0; tries < 1000; ++tries) {
    CallBuilder b(MACHD_OP_EXCEPTION_RAISE);
    if (!b.ok()) break;
    uint64_t* a = b.args();
    a[0] = tid;
    a[1] = uint64_t(int64_t(e.type));
    a[2] = uint64_t(e.code);
    a[3] = uint64_t(e.subcode);
    static_assert(sizeof(machd_thread_slot) <= MACHD_CHANNEL_DATA_SIZE);
    auto* image = reinterpret_cast<machd_thread_slot*>(b.data());
    b.set_data_len(uint32_t(save_context(*image, uc)));
    CallResult r = b.submit();
    if (r.machd_gone) break;
    if (r.result == KERN_ABORTED) {  // a stop of this thread is in flight: let it happen first
      timespec pause{0, 1000 * 1000};
      nanosleep(&pause, nullptr);
      continue;
    }
    if (r.result == KERN_SUCCESS) {
      const uint32_t flags = uint32_t(r.rets[0]);
      if (answer != nullptr) *answer = flags;
      if (flags & MACHD_TSF_EXIT) syscall(SYS_exit, 0);  // thread_terminate while it waited
      // The answer sits in the channel (8-byte aligned, as the image needs);
      // no copy on what may be a small alternate signal stack.
      const auto* changed = reinterpret_cast<const machd_thread_slot*>(r.data.data());
      if ((flags & MACHD_TSF_DIRTY) && r.data.size() >= offsetof(machd_thread_slot, fpstate) &&
          r.data.size() >= offsetof(machd_thread_slot, fpstate) + size_t(changed->fp_size))
        load_context(*changed, uc);
      handled = (flags & MACHD_TSF_EXC_HANDLED) != 0;
    }
    break;
  }
  t_raising = false;
  return handled;
}

bool on_fault(int sig, siginfo_t* si, ucontext_t* uc) { return raise_and_wait(exception_of(sig, si, uc), uc); }

bool never_an_exception(int, siginfo_t*, ucontext_t*) { return false; }

// machd wants a corpse of the crash: fork it and hand it over. A refused
// child is killed at once.
void fork_corpse(uint64_t tid) {
  const pid_t child = fork_corpse_process();
  if (child < 0) return;
  CallBuilder b(MACHD_OP_CORPSE_FORKED);
  CallResult r{};
  if (b.ok()) {
    b.args()[0] = tid;
    b.args()[1] = uint64_t(child);
    r = b.submit();
  }
  if (!b.ok() || r.machd_gone || r.result != KERN_SUCCESS) reap_corpse_process(child);
}

// The process dies of `sig`: EXC_CRASH first (its reply changes nothing),
// then the corpse if machd wants one.
void on_crash(int sig, siginfo_t* si, ucontext_t* uc) {
  const Exception original = exception_of(sig, si, uc);
  Exception crash;
  crash.type = EXC_CRASH;
  crash.code = (int64_t(sig & 0xff) << 24) | (int64_t(original.type & 0xf) << 20) | (original.code & 0xfffff);
  crash.subcode = original.subcode;
  if (uc == nullptr) return;
  uint32_t answer = 0;
  raise_and_wait(crash, uc, &answer);
  if (answer & MACHD_TSF_CORPSE_WANTED) fork_corpse(uint64_t(mach_emulation_native(SYS_gettid, 0, 0, 0, 0, 0, 0)));
}

__attribute__((constructor(200))) void claim_fault_signals() {
  const char* env = getenv("MACH_COMPAT_EXCEPTIONS");
  if (env != nullptr && strcmp(env, "0") == 0) return;
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP}) claim_signal(sig, on_fault);
  claim_signal(SIGABRT, never_an_exception);
  set_crash_hook(on_crash);
}

}  // namespace

}  // namespace machcompat
