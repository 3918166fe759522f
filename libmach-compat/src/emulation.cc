// libmach-compat/src/emulation.cc — see emulation.h and <mach/emulation.h>.
//
//   thread: syscall ──seccomp: SECCOMP_RET_TRAP──▶ SIGSYS (library handler, SA_NODEFER)
//     on_sigsys: native depth > 0 or entry NULL → run it through the gate
//                an address → routine(call)       } with native depth + 1:
//                EML_ROUTINE_SERVER → emulation_syscall request } their own calls run for real
//     rax := result; return from the handler resumes after the syscall
#include "emulation.h"

#include <errno.h>
#include <mach/emulation.h>
#include <mach/mach.h>
#include <mach/task.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>

#include "connection.h"
#include "native_syscall.h"
#include "signals.h"
#include "syscall_filter.h"
#include "vm_regions.h"

extern "C" {
#include "emulationUser.h"
}

namespace machcompat {

namespace {

std::atomic<uint64_t> g_vector[kSyscallNumbers];
std::atomic<mach_port_t> g_server{MACH_PORT_NULL};
std::atomic<bool> g_active{false};  // some filter traps calls in this process
pthread_mutex_t g_sync_mu = PTHREAD_MUTEX_INITIALIZER;
SyscallSet g_trapped;  // numbers some filter traps (under g_sync_mu)

thread_local int t_tid __attribute__((tls_model("initial-exec"))) = 0;

int tid() {
  if (t_tid == 0) t_tid = int(mach_emulation_native(SYS_gettid, 0, 0, 0, 0, 0, 0));
  return t_tid;
}

int64_t to_server(int nr, const int64_t args[6]) {
  const mach_port_t server = g_server.load(std::memory_order_acquire);
  if (!MACH_PORT_VALID(server)) return -ENOSYS;
  int64_t result = -ENOSYS;
  emulation_args_t a;
  for (int i = 0; i < 6; i++) a[i] = args[i];
  const kern_return_t kr = emulation_syscall(server, nr, tid(), a, &result);
  return kr == KERN_SUCCESS ? result : -ENOSYS;
}

bool on_sigsys(int, siginfo_t* si, ucontext_t* uc) {
  if (si->si_code != 1 /* SYS_SECCOMP */) return false;  // not the filter's: the program's
  greg_t* g = uc->uc_mcontext.gregs;
  const int nr = si->si_syscall;
  const int64_t args[6] = {g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9]};
  const uint64_t entry =
      nr >= 0 && nr < kSyscallNumbers ? g_vector[nr].load(std::memory_order_acquire) : EML_ROUTINE_NULL;
  int64_t r;
  if (entry == EML_ROUTINE_NULL || native_depth() > 0) {
    r = mach_emulation_native(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
  } else {
    NativeScope scope;
    if (entry == EML_ROUTINE_SERVER) {
      r = to_server(nr, args);
    } else {
      mach_emulation_call_t call{nr, tid(), {args[0], args[1], args[2], args[3], args[4], args[5]}, uc};
      r = reinterpret_cast<mach_emulation_routine_t>(entry)(&call);
    }
  }
  g[REG_RAX] = greg_t(r);
  return true;
}

bool claim_sigsys() {
  static std::atomic<bool> claimed{false};
  if (claimed.load(std::memory_order_acquire)) return true;
  if (!claim_signal(SIGSYS, on_sigsys, SA_NODEFER)) return false;
  claimed.store(true, std::memory_order_release);
  return true;
}

// Fetches the vector and the server from machd into the copy; installs a
// filter for numbers not trapped yet. Under g_sync_mu.
kern_return_t refresh() {
  NativeScope scope;
  const mach_port_t self = mach_task_self();
  int start = 0;
  emulation_vector_t v = nullptr;
  mach_msg_type_number_t n = 0;
  kern_return_t kr = task_get_emulation_vector(self, &start, &v, &n);
  if (kr != KERN_SUCCESS) return kr;
  uint64_t next[kSyscallNumbers] = {};
  SyscallSet wanted;
  for (mach_msg_type_number_t i = 0; i < n; i++) {
    const long nr = long(start) + long(i);
    if (nr < 0 || nr >= kSyscallNumbers || v[i] == EML_ROUTINE_NULL) continue;
    next[nr] = v[i];
    wanted.set(size_t(nr));
  }
  // Received out-of-line memory is a private mapping of its own. (Not
  // vm_deallocate: this may run from the library's constructor, before the
  // VM bookkeeping's static objects exist.)
  if (v != nullptr) munmap(v, round_to_page(n * sizeof *v));
  mach_port_t server = MACH_PORT_NULL;
  kr = task_get_emulation_server(self, &server);
  if (kr != KERN_SUCCESS) return kr;
  if (wanted.any() && !claim_sigsys()) {
    if (MACH_PORT_VALID(server)) mach_port_deallocate(self, server);
    return KERN_FAILURE;
  }
  // Entries first, then the filter: a call trapped at once finds its entry.
  const SyscallSet added = wanted & ~g_trapped;
  uint64_t before[kSyscallNumbers];
  for (int nr = 0; nr < kSyscallNumbers; nr++) before[nr] = g_vector[nr].exchange(next[nr]);
  const mach_port_t old_server = g_server.exchange(server);
  if (added.any()) {
    if (install_trap_filter(added) != 0) {
      for (int nr = 0; nr < kSyscallNumbers; nr++) g_vector[nr].store(before[nr]);
      g_server.store(old_server);
      if (MACH_PORT_VALID(server)) mach_port_deallocate(self, server);
      return KERN_NOT_SUPPORTED;
    }
    g_trapped |= added;
    g_active.store(true, std::memory_order_release);
  }
  if (MACH_PORT_VALID(old_server)) mach_port_deallocate(self, old_server);
  return KERN_SUCCESS;
}

// The vector of `task` with `numbers` set to `routine` (a get, then a set
// of the range they span).
kern_return_t set_entries(task_t task, const int* numbers, unsigned count, vm_address_t routine) {
  if (count == 0) return KERN_SUCCESS;
  if (numbers == nullptr) return KERN_INVALID_ARGUMENT;
  int lo = numbers[0], hi = numbers[0];
  for (unsigned i = 0; i < count; i++) {
    if (numbers[i] < 0 || numbers[i] >= EML_VECTOR_SIZE) return KERN_INVALID_ARGUMENT;
    lo = numbers[i] < lo ? numbers[i] : lo;
    hi = numbers[i] > hi ? numbers[i] : hi;
  }
  int start = 0;
  emulation_vector_t cur = nullptr;
  mach_msg_type_number_t n = 0;
  kern_return_t kr = task_get_emulation_vector(task, &start, &cur, &n);
  if (kr != KERN_SUCCESS) return kr;
  vm_address_t range[EML_VECTOR_SIZE] = {};
  for (mach_msg_type_number_t i = 0; i < n; i++) {
    const long nr = long(start) + long(i);
    if (nr >= lo && nr <= hi) range[nr - lo] = vm_address_t(cur[i]);
  }
  if (cur != nullptr) vm_deallocate(mach_task_self(), vm_address_t(cur), n * sizeof *cur);
  for (unsigned i = 0; i < count; i++) range[numbers[i] - lo] = routine;
  return task_set_emulation_vector(task, lo, reinterpret_cast<emulation_vector_t>(range),
                                   mach_msg_type_number_t(hi - lo + 1));
}

}  // namespace

kern_return_t emulation_sync() {
  pthread_mutex_lock(&g_sync_mu);
  const kern_return_t kr = refresh();
  pthread_mutex_unlock(&g_sync_mu);
  return kr;
}

void emulation_after_fork_child() {
  if (!g_active.load(std::memory_order_acquire)) return;
  // The parent's server name means nothing here: forget it before any call.
  g_server.store(MACH_PORT_NULL);
  t_tid = 0;
  new (&g_sync_mu) pthread_mutex_t(PTHREAD_MUTEX_INITIALIZER);
  NativeScope scope;
  call(MACHD_OP_EMULATION_INHERIT, {task_self_name(), uint64_t(getppid())});
  emulation_sync();
}

void emulation_at_start() {
  // A filter this process was given before exec (or by something else).
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2) return;
  // Most often the filter is not ours but the container's (systemd-nspawn,
  // docker): the process counts as emulated only if machd kept a record of
  // it. SIGSYS is claimed either way, so that a call our own inherited
  // filter still traps runs natively.
  NativeScope scope;
  claim_sigsys();
  CallResult r = call(MACHD_OP_EMULATION_INHERIT, {task_self_name(), uint64_t(getpid())});
  if (r.result != KERN_SUCCESS || r.rets[0] == 0) return;
  g_active.store(true, std::memory_order_release);
  emulation_sync();
}

}  // namespace machcompat

extern "C" {

kern_return_t mach_emulation_set(task_t task, const int* numbers, unsigned count, vm_address_t routine) {
  return machcompat::set_entries(task, numbers, count, routine);
}

kern_return_t mach_emulation_set_server(task_t task, const int* numbers, unsigned count, mach_port_t server) {
  kern_return_t kr = task_set_emulation_server(task, server);
  if (kr != KERN_SUCCESS) return kr;
  return machcompat::set_entries(task, numbers, count, EML_ROUTINE_SERVER);
}

}  // extern "C"
