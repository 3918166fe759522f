// tests/system/exception_test.cc — Mach exceptions from real faults: the
// exception port calls, delivery to a handler in the same task or in
// another one, replies that resume, rewrite the state or fall through to
// the program's own signal handler, malformed replies and dying handlers,
// single-stepping, EXC_CRASH.
//
// A faulting "target" is a forked child task (same binary, same addresses);
// the controlling test process sets the child's exception ports through its
// task port (task_for_pid) and serves them with the exc/mach_exc server
// stubs our mig generates from mig/defs/mach/{exc,mach_exc}.defs.
#include <gtest/gtest.h>
#include <kern/kcdata.h>
#include <mach/emulation.h>
#include <mach/mach.h>
#include <mach/mach_exc.h>
#include <mach/mach_vm.h>
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <map>
#include <cstring>
#include <vector>
#include <functional>
#include <set>
#include <string>
#include <thread>

#include "support.h"

extern "C" {
#include "excServer.h"
#include "mach_excServer.h"
}

using namespace systest;

// Sets r13 to kSpinSentinel, then machd_test_spinning, and spins for good.
asm(R"(
  .text
  .globl machd_test_spin_r13
  .type machd_test_spin_r13, @function
machd_test_spin_r13:
  mov $0x5e471e2, %r13
  movl $1, machd_test_spinning(%rip)
1:
  pause
  jmp 1b
  .globl machd_test_spin_r13_end
machd_test_spin_r13_end:
)");
extern "C" {
void machd_test_spin_r13();
extern char machd_test_spin_r13_end[];
volatile int machd_test_spinning = 0;
}

namespace {

constexpr uint64_t kSpinSentinel = 0x5e471e2;

// ---- the handler side: every catch_ routine reports here ---------------------

struct Raised {
  bool code64 = false;
  int behavior = 0;  // EXCEPTION_*
  exception_type_t exception = 0;
  int64_t code[2] = {};
  mach_msg_type_number_t ncodes = 0;
  mach_port_t thread = MACH_PORT_NULL, task = MACH_PORT_NULL, token = MACH_PORT_NULL;
  uint64_t thread_id = 0;
  int flavor = 0;
  x86_thread_state64_t state{};
};

// Decides the reply; may rewrite *state (state behaviors). Runs in the
// process that serves the port.
std::function<kern_return_t(Raised&, x86_thread_state64_t*)> g_policy;
int g_calls = 0;

kern_return_t report(Raised& r, thread_state_t old_state, mach_msg_type_number_t old_count, thread_state_t new_state,
                     mach_msg_type_number_t* new_count) {
  ++g_calls;
  if (old_state != nullptr && old_count >= x86_THREAD_STATE64_COUNT)
    memcpy(&r.state, old_state, sizeof r.state);
  x86_thread_state64_t out = r.state;
  kern_return_t kr = g_policy ? g_policy(r, old_state ? &out : nullptr) : KERN_FAILURE;
  if (new_state != nullptr) {
    memcpy(new_state, &out, sizeof out);
    *new_count = x86_THREAD_STATE64_COUNT;
  }
  for (mach_port_t p : {r.thread, r.task, r.token})
    if (MACH_PORT_VALID(p)) mach_port_deallocate(mach_task_self(), p);
  return kr;
}

template <typename Code>
void fill_codes(Raised& r, const Code* code, mach_msg_type_number_t n) {
  r.ncodes = n;
  // The codes sit in the message at a 4-byte boundary: copied out, never
  // loaded in place (64-bit codes would be misaligned loads).
  for (mach_msg_type_number_t i = 0; i < n && i < 2; ++i) {
    Code c;
    memcpy(&c, reinterpret_cast<const char*>(code) + i * sizeof(Code), sizeof c);
    r.code[i] = c;
  }
}

}  // namespace

extern "C" {

kern_return_t catch_mach_exception_raise(mach_port_t, mach_port_t thread, mach_port_t task, exception_type_t exc,
                                         mach_exception_data_t code, mach_msg_type_number_t n) {
  Raised r;
  r.code64 = true, r.behavior = EXCEPTION_DEFAULT, r.exception = exc, r.thread = thread, r.task = task;
  fill_codes(r, code, n);
  return report(r, nullptr, 0, nullptr, nullptr);
}
kern_return_t catch_mach_exception_raise_state(mach_port_t, exception_type_t exc, const mach_exception_data_t code,
                                               mach_msg_type_number_t n, int* flavor, const thread_state_t old_state,
                                               mach_msg_type_number_t old_count, thread_state_t new_state,
                                               mach_msg_type_number_t* new_count) {
  Raised r;
  r.code64 = true, r.behavior = EXCEPTION_STATE, r.exception = exc, r.flavor = *flavor;
  fill_codes(r, code, n);
  return report(r, old_state, old_count, new_state, new_count);
}
kern_return_t catch_mach_exception_raise_state_identity(mach_port_t, mach_port_t thread, mach_port_t task,
                                                        exception_type_t exc, mach_exception_data_t code,
                                                        mach_msg_type_number_t n, int* flavor, thread_state_t old_state,
                                                        mach_msg_type_number_t old_count, thread_state_t new_state,
                                                        mach_msg_type_number_t* new_count) {
  Raised r;
  r.code64 = true, r.behavior = EXCEPTION_STATE_IDENTITY, r.exception = exc, r.flavor = *flavor;
  r.thread = thread, r.task = task;
  fill_codes(r, code, n);
  return report(r, old_state, old_count, new_state, new_count);
}
kern_return_t catch_mach_exception_raise_identity_protected(mach_port_t, uint64_t thread_id, mach_port_t token,
                                                            exception_type_t exc, mach_exception_data_t code,
                                                            mach_msg_type_number_t n) {
  Raised r;
  r.code64 = true, r.behavior = EXCEPTION_IDENTITY_PROTECTED, r.exception = exc, r.thread_id = thread_id;
  r.token = token;
  fill_codes(r, code, n);
  return report(r, nullptr, 0, nullptr, nullptr);
}
kern_return_t catch_mach_exception_raise_state_identity_protected(
    mach_port_t, uint64_t thread_id, mach_port_t token, exception_type_t exc, mach_exception_data_t code,
    mach_msg_type_number_t n, int* flavor, thread_state_t old_state, mach_msg_type_number_t old_count,
    thread_state_t new_state, mach_msg_type_number_t* new_count) {
  Raised r;
  r.code64 = true, r.behavior = EXCEPTION_STATE_IDENTITY_PROTECTED, r.exception = exc, r.flavor = *flavor;
  r.thread_id = thread_id, r.token = token;
  fill_codes(r, code, n);
  return report(r, old_state, old_count, new_state, new_count);
}
kern_return_t catch_mach_exception_raise_backtrace(mach_port_t, mach_port_t, exception_type_t, mach_exception_data_t,
                                                   mach_msg_type_number_t) {
  return KERN_FAILURE;
}

kern_return_t catch_exception_raise(mach_port_t, mach_port_t thread, mach_port_t task, exception_type_t exc,
                                    exception_data_t code, mach_msg_type_number_t n) {
  Raised r;
  r.behavior = EXCEPTION_DEFAULT, r.exception = exc, r.thread = thread, r.task = task;
  fill_codes(r, code, n);
  return report(r, nullptr, 0, nullptr, nullptr);
}
kern_return_t catch_exception_raise_state(mach_port_t, exception_type_t exc, const exception_data_t code,
                                          mach_msg_type_number_t n, int* flavor, const thread_state_t old_state,
                                          mach_msg_type_number_t old_count, thread_state_t new_state,
                                          mach_msg_type_number_t* new_count) {
  Raised r;
  r.behavior = EXCEPTION_STATE, r.exception = exc, r.flavor = *flavor;
  fill_codes(r, code, n);
  return report(r, old_state, old_count, new_state, new_count);
}
kern_return_t catch_exception_raise_state_identity(mach_port_t, mach_port_t thread, mach_port_t task,
                                                   exception_type_t exc, exception_data_t code,
                                                   mach_msg_type_number_t n, int* flavor, thread_state_t old_state,
                                                   mach_msg_type_number_t old_count, thread_state_t new_state,
                                                   mach_msg_type_number_t* new_count) {
  Raised r;
  r.behavior = EXCEPTION_STATE_IDENTITY, r.exception = exc, r.flavor = *flavor, r.thread = thread, r.task = task;
  fill_codes(r, code, n);
  return report(r, old_state, old_count, new_state, new_count);
}

}  // extern "C"

namespace {

union MsgBuffer {
  mach_msg_header_t head;
  uint8_t bytes[16384];
};

// Receives one exception message on `port` within timeout_ms into `in`.
mach_msg_return_t receive_exception(mach_port_t port, MsgBuffer& in, int timeout_ms) {
  return mach_msg(&in.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof in, port, mach_msg_timeout_t(timeout_ms),
                  MACH_PORT_NULL);
}

// Serves one exception message with the generated servers and sends the
// reply as mach_msg_server would. Returns the receive result.
mach_msg_return_t serve_one(mach_port_t port, int timeout_ms = 10000) {
  MsgBuffer in, out;
  mach_msg_return_t mr = receive_exception(port, in, timeout_ms);
  if (mr != MACH_MSG_SUCCESS) return mr;
  if (!mach_exc_server(&in.head, &out.head)) exc_server(&in.head, &out.head);
  const auto* err = reinterpret_cast<const mig_reply_error_t*>(&out);
  if (!(out.head.msgh_bits & MACH_MSGH_BITS_COMPLEX) && err->RetCode == MIG_NO_REPLY) return MACH_MSG_SUCCESS;
  return mach_msg(&out.head, MACH_SEND_MSG, out.head.msgh_size, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL);
}

mach_port_t exception_port() {
  return make_port();  // receive + send under one name
}

// An exception port the test owns (receive and send right), released at
// the end of the scope.
struct OwnedPort {
  mach_port_t name = exception_port();
  OwnedPort() = default;
  OwnedPort(const OwnedPort&) = delete;
  ~OwnedPort() {
    mach_port_mod_refs(mach_task_self(), name, MACH_PORT_RIGHT_RECEIVE, -1);
    mach_port_deallocate(mach_task_self(), name);
  }
  operator mach_port_t() const { return name; }
};

// A forked target: it waits for "go" on a pipe, then runs `body`; the
// parent holds its task port.
struct Target {
  pid_t pid = -1;
  int go = -1;
  mach_port_t task = MACH_PORT_NULL;

  explicit Target(std::function<int()> body) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid = spawn_task([fds, body] {
      close(fds[1]);
      char c;
      if (read(fds[0], &c, 1) != 1) return 90;
      return body();
    });
    close(fds[0]);
    go = fds[1];
    for (int i = 0; i < 500 && task_for_pid(mach_task_self(), pid, &task) != KERN_SUCCESS; ++i) usleep(10000);
  }
  void start() const {
    if (write(go, "g", 1) != 1) ADD_FAILURE() << "target start";
  }
  ~Target() {
    if (go >= 0) close(go);
    if (MACH_PORT_VALID(task)) mach_port_deallocate(mach_task_self(), task);
    if (pid > 0 && wait_exit_for(pid, 0) < 0) {
      kill(pid, SIGKILL);
      wait_exit(pid);
    }
  }
};

volatile int* volatile kBadAddress = reinterpret_cast<volatile int*>(0x40);

// Faults on kBadAddress (a write: KERN_INVALID_ADDRESS).
__attribute__((noinline)) int write_bad_address() {
  *kBadAddress = 1;
  return 0;
}

// Runs `body` with a SIGSEGV/SIGILL/SIGFPE/SIGTRAP handler of the program's
// own that jumps back: 0 if the handler ran (the fault reached the
// program), 1 if `body` returned normally.
sigjmp_buf g_jump;
volatile int g_program_signal = 0;
void program_handler(int sig) {
  g_program_signal = sig;
  siglongjmp(g_jump, 1);
}
int run_with_program_handler(const std::function<void()>& body) {
  struct sigaction sa {};
  sa.sa_handler = program_handler;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGBUS}) sigaction(sig, &sa, nullptr);
  if (sigsetjmp(g_jump, 1) != 0) return 0;
  body();
  return 1;
}

constexpr exception_behavior_t kState64 = exception_behavior_t(EXCEPTION_STATE | MACH_EXCEPTION_CODES);
constexpr exception_behavior_t kStateIdentity64 = exception_behavior_t(EXCEPTION_STATE_IDENTITY | MACH_EXCEPTION_CODES);
constexpr exception_behavior_t kDefault64 = exception_behavior_t(EXCEPTION_DEFAULT | MACH_EXCEPTION_CODES);

}  // namespace

// ---- the calls ------------------------------------------------------------------

TEST(ExceptionPorts, SetRefusesWhatXnuRefuses) {
  OwnedPort port;
  mach_port_t self = mach_task_self();
  EXPECT_EQ(task_set_exception_ports(self, 1u << 20, port, kDefault64, THREAD_STATE_NONE), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(task_set_exception_ports(self, EXC_MASK_BAD_ACCESS, port, 9, THREAD_STATE_NONE), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(task_set_exception_ports(self, EXC_MASK_BAD_ACCESS, port, EXCEPTION_IDENTITY_PROTECTED, THREAD_STATE_NONE),
            KERN_INVALID_ARGUMENT);  // protected identity needs 64-bit codes
  EXPECT_EQ(task_set_exception_ports(self, EXC_MASK_BAD_ACCESS, port, kState64, 4242), KERN_INVALID_ARGUMENT);
  exception_mask_t masks[EXC_TYPES_COUNT];
  mach_port_t ports[EXC_TYPES_COUNT];
  exception_behavior_t behaviors[EXC_TYPES_COUNT];
  thread_state_flavor_t flavors[EXC_TYPES_COUNT];
  mach_msg_type_number_t n = EXC_TYPES_COUNT;
  EXPECT_EQ(task_get_exception_ports(self, 1u << 20, masks, &n, ports, behaviors, flavors), KERN_INVALID_ARGUMENT);
}

TEST(ExceptionPorts, GetGroupsEqualActionsAndSwapReturnsTheOldOnes) {
  mach_port_t self = mach_task_self();
  mach_port_t a = exception_port(), b = exception_port();
  ASSERT_EQ(task_set_exception_ports(self, EXC_MASK_BAD_ACCESS | EXC_MASK_ARITHMETIC, a, kState64, x86_THREAD_STATE64),
            KERN_SUCCESS);
  exception_mask_t masks[EXC_TYPES_COUNT];
  mach_port_t ports[EXC_TYPES_COUNT];
  exception_behavior_t behaviors[EXC_TYPES_COUNT];
  thread_state_flavor_t flavors[EXC_TYPES_COUNT];
  mach_msg_type_number_t n = EXC_TYPES_COUNT;
  ASSERT_EQ(task_get_exception_ports(self, EXC_MASK_BAD_ACCESS | EXC_MASK_ARITHMETIC | EXC_MASK_BREAKPOINT, masks, &n,
                                     ports, behaviors, flavors),
            KERN_SUCCESS);
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(masks[0], exception_mask_t(EXC_MASK_BAD_ACCESS | EXC_MASK_ARITHMETIC));
  EXPECT_EQ(ports[0], a);
  EXPECT_EQ(behaviors[0], kState64);
  EXPECT_EQ(flavors[0], x86_THREAD_STATE64);
  EXPECT_EQ(masks[1], exception_mask_t(EXC_MASK_BREAKPOINT));
  EXPECT_EQ(ports[1], MACH_PORT_NULL);
  for (mach_msg_type_number_t i = 0; i < n; ++i)
    if (MACH_PORT_VALID(ports[i])) mach_port_deallocate(self, ports[i]);

  n = EXC_TYPES_COUNT;
  ASSERT_EQ(task_swap_exception_ports(self, EXC_MASK_BAD_ACCESS, b, kDefault64, THREAD_STATE_NONE, masks, &n, ports,
                                      behaviors, flavors),
            KERN_SUCCESS);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(masks[0], exception_mask_t(EXC_MASK_BAD_ACCESS));
  EXPECT_EQ(ports[0], a);
  EXPECT_EQ(behaviors[0], kState64);
  mach_port_deallocate(self, ports[0]);

  // The info flavor names ports by identity: the same port, the same value.
  ipc_info_port_t info[EXC_TYPES_COUNT];
  n = EXC_TYPES_COUNT;
  ASSERT_EQ(task_get_exception_ports_info(self, EXC_MASK_BAD_ACCESS | EXC_MASK_ARITHMETIC, masks, &n, info, behaviors,
                                          flavors),
            KERN_SUCCESS);
  ASSERT_EQ(n, 2u);
  EXPECT_NE(info[0].iip_port_object, 0u);
  EXPECT_NE(info[0].iip_port_object, info[1].iip_port_object);
  EXPECT_EQ(info[0].iip_receiver_object, info[1].iip_receiver_object);  // both received here

  // Each action holds a send right: clearing them leaves none.
  ASSERT_EQ(task_set_exception_ports(self, EXC_MASK_ALL, MACH_PORT_NULL, kDefault64, THREAD_STATE_NONE), KERN_SUCCESS);
  for (mach_port_t p : {a, b}) {
    mach_port_deallocate(self, p);
    mach_port_status_t st{};
    mach_msg_type_number_t c = MACH_PORT_RECEIVE_STATUS_COUNT;
    ASSERT_EQ(mach_port_get_attributes(self, p, MACH_PORT_RECEIVE_STATUS, reinterpret_cast<mach_port_info_t>(&st), &c),
              KERN_SUCCESS);
    EXPECT_EQ(st.mps_srights, FALSE) << "a send right is still held for port " << p;
    mach_port_mod_refs(self, p, MACH_PORT_RIGHT_RECEIVE, -1);
  }
}

TEST(ExceptionPorts, HostPortsNeedHostPriv) {
  mach_port_t host = mach_host_self();
  OwnedPort port;
  exception_mask_t masks[EXC_TYPES_COUNT];
  mach_port_t ports[EXC_TYPES_COUNT];
  exception_behavior_t behaviors[EXC_TYPES_COUNT];
  thread_state_flavor_t flavors[EXC_TYPES_COUNT];
  mach_msg_type_number_t n = EXC_TYPES_COUNT;
  if (geteuid() != 0) {
    EXPECT_EQ(host_set_exception_ports(host, EXC_MASK_BAD_ACCESS, port, kDefault64, THREAD_STATE_NONE),
              KERN_INVALID_ARGUMENT);
    EXPECT_EQ(host_get_exception_ports(host, EXC_MASK_BAD_ACCESS, masks, &n, ports, behaviors, flavors),
              KERN_INVALID_ARGUMENT);
  } else {  // root: mach_host_self() is host_priv
    ASSERT_EQ(host_set_exception_ports(host, EXC_MASK_SOFTWARE, port, kDefault64, THREAD_STATE_NONE), KERN_SUCCESS);
    ASSERT_EQ(host_get_exception_ports(host, EXC_MASK_SOFTWARE, masks, &n, ports, behaviors, flavors), KERN_SUCCESS);
    ASSERT_EQ(n, 1u);
    EXPECT_EQ(ports[0], port);
    mach_port_deallocate(mach_task_self(), ports[0]);
    EXPECT_EQ(host_set_exception_ports(host, EXC_MASK_SOFTWARE, MACH_PORT_NULL, kDefault64, THREAD_STATE_NONE),
              KERN_SUCCESS);
  }
  mach_port_deallocate(mach_task_self(), host);
}

// ---- delivery ---------------------------------------------------------------------

TEST(ExceptionDelivery, InProcessHandlerRepairsTheFaultAndTheThreadResumes) {
  pid_t pid = spawn_task([] {
    const size_t page = size_t(getpagesize());
    auto* region = static_cast<uint8_t*>(mmap(nullptr, 4 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    OwnedPort port;
    if (task_set_exception_ports(mach_task_self(), EXC_MASK_BAD_ACCESS, port, kDefault64, THREAD_STATE_NONE) != 0)
      return 10;
    std::atomic<int> repaired{0};
    g_policy = [&](Raised& r, x86_thread_state64_t*) -> kern_return_t {
      if (r.exception != EXC_BAD_ACCESS || r.code[0] != KERN_PROTECTION_FAILURE) return KERN_FAILURE;
      auto* addr = reinterpret_cast<uint8_t*>(r.code[1]);
      if (addr < region || addr >= region + 4 * page) return KERN_FAILURE;
      uint8_t* p = region + ((addr - region) / page) * page;
      mprotect(p, page, PROT_READ | PROT_WRITE);
      p[0] = uint8_t(0xa0 + (p - region) / page);
      ++repaired;
      return KERN_SUCCESS;
    };
    std::thread handler([&] {
      for (int i = 0; i < 4; ++i)
        if (serve_one(port) != MACH_MSG_SUCCESS) return;
    });
    int sum = 0;
    for (size_t i = 0; i < 4; ++i) sum += *reinterpret_cast<volatile uint8_t*>(region + i * page);
    handler.join();
    return repaired == 4 && sum == 0xa0 + 0xa1 + 0xa2 + 0xa3 ? 0 : 20;
  });
  EXPECT_EQ(wait_exit(pid), 0);
}

TEST(ExceptionDelivery, HandlerInAnotherTaskSeesCodesAndStateThenTheTargetDiesOfTheSignal) {
  Target target([] { return write_bad_address(); });
  ASSERT_TRUE(MACH_PORT_VALID(target.task));
  OwnedPort port;
  ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_BAD_ACCESS, port, kStateIdentity64, x86_THREAD_STATE64),
            KERN_SUCCESS);
  Raised seen;
  uint64_t state_rip = 0, read_back = 0;
  int pid_of_task = 0;
  g_calls = 0;
  g_policy = [&](Raised& r, x86_thread_state64_t*) -> kern_return_t {
    seen = r;
    x86_thread_state64_t s;
    mach_msg_type_number_t n = x86_THREAD_STATE64_COUNT;
    if (thread_get_state(r.thread, x86_THREAD_STATE64, reinterpret_cast<thread_state_t>(&s), &n) == KERN_SUCCESS)
      state_rip = s.__rip;
    pid_for_task(r.task, &pid_of_task);
    mach_vm_size_t got = 0;
    mach_vm_read_overwrite(r.task, r.state.__rip, sizeof read_back, reinterpret_cast<mach_vm_address_t>(&read_back),
                           &got);
    return KERN_FAILURE;
  };
  target.start();
  ASSERT_EQ(serve_one(port), MACH_MSG_SUCCESS);
  EXPECT_EQ(g_calls, 1);
  EXPECT_EQ(seen.exception, EXC_BAD_ACCESS);
  EXPECT_EQ(seen.behavior, EXCEPTION_STATE_IDENTITY);
  EXPECT_TRUE(seen.code64);
  ASSERT_EQ(seen.ncodes, 2u);
  EXPECT_EQ(seen.code[0], KERN_INVALID_ADDRESS);
  EXPECT_EQ(seen.code[1], 0x40);
  EXPECT_EQ(seen.flavor, x86_THREAD_STATE64);
  EXPECT_EQ(state_rip, seen.state.__rip);  // thread_get_state on the thread port agrees
  EXPECT_EQ(pid_of_task, target.pid);
  uint64_t local = 0;
  memcpy(&local, reinterpret_cast<const void*>(seen.state.__rip), sizeof local);  // same binary: same code
  EXPECT_EQ(read_back, local);
  EXPECT_EQ(wait_exit(target.pid), 128 + SIGSEGV);
  target.pid = -1;
}

TEST(ExceptionDelivery, ReplyStateRewritesTheRegistersAndTheThreadGoesOn) {
  // ud2 (2 bytes) raises EXC_BAD_INSTRUCTION; the handler skips it and sets rax.
  Target target([] {
    uint64_t rax = 0;
    asm volatile("xor %%eax, %%eax\n\tud2\n\tmov %%rax, %0" : "=r"(rax) : : "rax");
    return rax == 0x4242 ? 0 : 30;
  });
  OwnedPort port;
  ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_BAD_INSTRUCTION, port, kState64, x86_THREAD_STATE64),
            KERN_SUCCESS);
  Raised seen;
  g_policy = [&](Raised& r, x86_thread_state64_t* s) -> kern_return_t {
    seen = r;
    s->__rip += 2;
    s->__rax = 0x4242;
    return KERN_SUCCESS;
  };
  target.start();
  ASSERT_EQ(serve_one(port), MACH_MSG_SUCCESS);
  EXPECT_EQ(seen.exception, EXC_BAD_INSTRUCTION);
  EXPECT_EQ(seen.code[0], EXC_I386_INVOP);
  EXPECT_EQ(wait_exit(target.pid), 0);
  target.pid = -1;
}

TEST(ExceptionDelivery, BreakpointThenSingleStepsThroughTheHandler) {
  // int3, then three instructions stepped with TF set by the handler.
  Target target([] {
    uint64_t out = 0;
    asm volatile("int3\n\tmov $1, %%rcx\n\tadd $2, %%rcx\n\tadd $3, %%rcx\n\tmov %%rcx, %0" : "=r"(out) : : "rcx");
    return out == 6 ? 0 : 40;
  });
  OwnedPort port;
  ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_BREAKPOINT, port, kState64, x86_THREAD_STATE64),
            KERN_SUCCESS);
  std::vector<int64_t> codes;
  g_policy = [&](Raised& r, x86_thread_state64_t* s) -> kern_return_t {
    codes.push_back(r.code[0]);
    if (codes.size() < 4)
      s->__rflags |= 0x100;  // TF: one more instruction, then EXC_BREAKPOINT again
    else
      s->__rflags &= ~uint64_t(0x100);
    return KERN_SUCCESS;
  };
  target.start();
  for (int i = 0; i < 4; ++i) ASSERT_EQ(serve_one(port), MACH_MSG_SUCCESS) << "exception " << i;
  EXPECT_EQ(codes, (std::vector<int64_t>{EXC_I386_BPT, EXC_I386_SGL, EXC_I386_SGL, EXC_I386_SGL}));
  EXPECT_EQ(wait_exit(target.pid), 0);
  target.pid = -1;
}

// The fault on purpose (UBSan would stop the program at the division).
__attribute__((no_sanitize("integer-divide-by-zero"), noinline)) void divide_by_zero() {
  volatile int zero = 0;
  volatile int x = 7 / zero;
  (void)x;
}

TEST(ExceptionDelivery, ArithmeticFaultHasXnuCodesAndADecliningHandlerReachesTheProgramHandler) {
  Target target([] {
    return run_with_program_handler([] { divide_by_zero(); }) == 0 && g_program_signal == SIGFPE ? 0 : 50;
  });
  OwnedPort port;
  // 32-bit codes (the exc subsystem) this time.
  ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_ARITHMETIC, port, EXCEPTION_DEFAULT, THREAD_STATE_NONE),
            KERN_SUCCESS);
  Raised seen;
  g_policy = [&](Raised& r, x86_thread_state64_t*) -> kern_return_t {
    seen = r;
    return KERN_FAILURE;
  };
  target.start();
  ASSERT_EQ(serve_one(port), MACH_MSG_SUCCESS);
  EXPECT_FALSE(seen.code64);
  EXPECT_EQ(seen.exception, EXC_ARITHMETIC);
  EXPECT_EQ(seen.code[0], EXC_I386_DIV);
  EXPECT_EQ(wait_exit(target.pid), 0);
  target.pid = -1;
}

TEST(ExceptionDelivery, ThreadPortComesFirstAndItsRefusalGoesToTheTaskPort) {
  pid_t pid = spawn_task([] {
    mach_port_t thread_port = exception_port(), task_port = exception_port();
    mach_port_t me = mach_thread_self();
    if (thread_set_exception_ports(me, EXC_MASK_BAD_ACCESS, thread_port, kDefault64, THREAD_STATE_NONE) != 0 ||
        task_set_exception_ports(mach_task_self(), EXC_MASK_BAD_ACCESS, task_port, kDefault64, THREAD_STATE_NONE) != 0)
      return 10;
    std::vector<mach_port_t> order;
    std::thread handler([&] {
      // The thread's port first (declined), then the task's (declined too).
      g_policy = [&](Raised&, x86_thread_state64_t*) { return KERN_FAILURE; };
      if (serve_one(thread_port) == MACH_MSG_SUCCESS) order.push_back(thread_port);
      if (serve_one(task_port) == MACH_MSG_SUCCESS) order.push_back(task_port);
    });
    const int reached = run_with_program_handler([] { write_bad_address(); });
    handler.join();
    return reached == 0 && order == std::vector<mach_port_t>{thread_port, task_port} ? 0 : 20;
  });
  EXPECT_EQ(wait_exit(pid), 0);
}

// Replies a handler may get wrong; each must leave the faulting thread to
// its own signal handler, never hang it.
enum class BadReply { kErrorCode, kComplexWithPort, kWrongId, kTooShort, kDestroyedRequest, kHandlerExits };

class MalformedReply : public ::testing::TestWithParam<BadReply> {};

TEST_P(MalformedReply, FallsThroughToTheProgramSignalHandler) {
  Target target([] { return run_with_program_handler([] { write_bad_address(); }) == 0 ? 0 : 60; });
  OwnedPort port;
  ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_BAD_ACCESS, port, kDefault64, THREAD_STATE_NONE),
            KERN_SUCCESS);
  const BadReply kind = GetParam();
  pid_t handler_pid = -1;
  if (kind == BadReply::kHandlerExits) {
    // A handler task that takes the message and dies without answering.
    mach_port_t inbox = MACH_PORT_NULL;
    std::string name = check_in_unique("exc-handler", &inbox);
    handler_pid = spawn_task([name] {
      mach_port_t parent = look_up(name);
      mach_port_t mine = exception_port();
      if (send_right(parent, mine, MACH_MSG_TYPE_MAKE_SEND) != MACH_MSG_SUCCESS) return 1;
      MsgBuffer in;
      return receive_exception(mine, in, 10000) == MACH_MSG_SUCCESS ? 0 : 2;  // exits holding the reply right
    });
    mach_port_t theirs = receive_right(inbox);
    ASSERT_TRUE(MACH_PORT_VALID(theirs));
    ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_BAD_ACCESS, theirs, kDefault64, THREAD_STATE_NONE),
              KERN_SUCCESS);
    mach_port_deallocate(mach_task_self(), theirs);
    mach_port_mod_refs(mach_task_self(), inbox, MACH_PORT_RIGHT_RECEIVE, -1);
    target.start();
    EXPECT_EQ(wait_exit(handler_pid), 0);
  } else {
    target.start();
    MsgBuffer in;
    ASSERT_EQ(receive_exception(port, in, 10000), MACH_MSG_SUCCESS);
    EXPECT_EQ(in.head.msgh_id, 2405);
    const mach_port_t reply_to = in.head.msgh_remote_port;
    struct {
      mach_msg_header_t head;
      mach_msg_body_t body;
      mach_msg_port_descriptor_t port;
      NDR_record_t ndr;
      kern_return_t ret;
    } r{};
    r.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0);
    r.head.msgh_remote_port = reply_to;
    r.head.msgh_id = 2505;
    mach_msg_size_t size = sizeof(mig_reply_error_t);
    auto* e = reinterpret_cast<mig_reply_error_t*>(&r);
    switch (kind) {
      case BadReply::kErrorCode:
        e->NDR = NDR_record;
        e->RetCode = KERN_FAILURE;
        break;
      case BadReply::kComplexWithPort:
        r.head.msgh_bits |= MACH_MSGH_BITS_COMPLEX;
        r.body.msgh_descriptor_count = 1;
        r.port.name = port;
        r.port.disposition = MACH_MSG_TYPE_MAKE_SEND;
        r.port.type = MACH_MSG_PORT_DESCRIPTOR;
        r.ret = KERN_SUCCESS;
        size = sizeof r;
        break;
      case BadReply::kWrongId:
        r.head.msgh_id = 2506;
        e->RetCode = KERN_SUCCESS;
        break;
      case BadReply::kTooShort: size = sizeof(mach_msg_header_t); break;
      case BadReply::kDestroyedRequest: mach_msg_destroy(&in.head); break;
      case BadReply::kHandlerExits: break;
    }
    r.head.msgh_size = size;
    if (kind != BadReply::kDestroyedRequest) {
      ASSERT_EQ(mach_msg(&r.head, MACH_SEND_MSG, size, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL), MACH_MSG_SUCCESS);
      // The request's thread and task rights are still ours (the reply right went).
      in.head.msgh_bits &= ~MACH_MSGH_BITS_REMOTE_MASK;
      in.head.msgh_remote_port = MACH_PORT_NULL;
      mach_msg_destroy(&in.head);
    }
  }
  EXPECT_EQ(reap_within(target.pid, 10000), 0);
  target.pid = -1;
}

INSTANTIATE_TEST_SUITE_P(Replies, MalformedReply,
                         ::testing::Values(BadReply::kErrorCode, BadReply::kComplexWithPort, BadReply::kWrongId,
                                           BadReply::kTooShort, BadReply::kDestroyedRequest,
                                           BadReply::kHandlerExits));

TEST(ExceptionDelivery, IdentityProtectedBehaviorsCarryTheThreadIdAndAToken) {
  Target target([] {
    return run_with_program_handler([] { write_bad_address(); }) == 0 ? 0 : 70;
  });
  OwnedPort port;
  ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_BAD_ACCESS, port,
                                     exception_behavior_t(EXCEPTION_STATE_IDENTITY_PROTECTED | MACH_EXCEPTION_CODES),
                                     x86_THREAD_STATE64),
            KERN_SUCCESS);
  Raised seen;
  mach_port_t via_token = MACH_PORT_NULL;
  kern_return_t pid_kr = KERN_FAILURE;
  int pid = 0;
  g_policy = [&](Raised& r, x86_thread_state64_t*) -> kern_return_t {
    seen = r;
    // While the faulting thread waits for this answer: once it has it, the
    // target exits and its name port is a dead task's.
    if (task_identity_token_get_task_port(r.token, TASK_FLAVOR_NAME, &via_token) == KERN_SUCCESS)
      pid_kr = pid_for_task(via_token, &pid);
    return KERN_FAILURE;
  };
  target.start();
  ASSERT_EQ(serve_one(port), MACH_MSG_SUCCESS);
  EXPECT_EQ(seen.behavior, EXCEPTION_STATE_IDENTITY_PROTECTED);
  EXPECT_NE(seen.thread_id, 0u);
  EXPECT_NE(seen.state.__rip, 0u);
  EXPECT_EQ(pid_kr, KERN_SUCCESS);
  EXPECT_EQ(pid, target.pid);
  if (MACH_PORT_VALID(via_token)) mach_port_deallocate(mach_task_self(), via_token);
  EXPECT_EQ(wait_exit(target.pid), 0);
  target.pid = -1;
}

TEST(ExceptionDelivery, CrashRaisesExcCrashWithTheSignalBeforeTheProcessDies) {
  Target target([] {
    abort();
    return 0;
  });
  OwnedPort port;
  ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_CRASH, port, kDefault64, THREAD_STATE_NONE), KERN_SUCCESS);
  Raised seen;
  g_policy = [&](Raised& r, x86_thread_state64_t*) -> kern_return_t {
    seen = r;
    return KERN_SUCCESS;
  };
  target.start();
  ASSERT_EQ(serve_one(port), MACH_MSG_SUCCESS);
  EXPECT_EQ(seen.exception, EXC_CRASH);
  EXPECT_EQ((seen.code[0] >> 24) & 0xff, SIGABRT);
  EXPECT_EQ(wait_exit(target.pid), 128 + SIGABRT);
  target.pid = -1;
}

// ---- corpses (machd/kern/corpse.h) ------------------------------------------------

char g_corpse_marker[64];

TEST(Corpses, AnUnhandledCrashLeavesACorpseThatTheCorpseNotifyHandlerReads) {
  const Holdings before = holdings();
  Target target([] {
    strcpy(g_corpse_marker, "what the process held when it crashed");
    return write_bad_address();
  });
  OwnedPort port;
  ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_CORPSE_NOTIFY, port, kStateIdentity64, x86_THREAD_STATE64),
            KERN_SUCCESS);
  Raised seen;
  char read_back[64] = {};
  int corpse_pid = 0;
  mach_msg_type_number_t nthreads = 0;
  x86_thread_state64_t thread_state{};
  kern_return_t read = KERN_FAILURE, get_state = KERN_FAILURE, allocate = KERN_SUCCESS, set_state = KERN_SUCCESS;
  g_policy = [&](Raised& r, x86_thread_state64_t*) -> kern_return_t {
    seen = r;
    mach_vm_size_t got = 0;
    read = mach_vm_read_overwrite(r.task, reinterpret_cast<mach_vm_address_t>(g_corpse_marker), sizeof read_back,
                                  reinterpret_cast<mach_vm_address_t>(read_back), &got);
    pid_for_task(r.task, &corpse_pid);
    thread_act_array_t list = nullptr;
    if (task_threads(r.task, &list, &nthreads) == KERN_SUCCESS) {
      for (mach_msg_type_number_t i = 0; i < nthreads; ++i) mach_port_deallocate(mach_task_self(), list[i]);
      vm_deallocate(mach_task_self(), vm_address_t(list), nthreads * sizeof *list);
    }
    mach_msg_type_number_t count = x86_THREAD_STATE64_COUNT;
    get_state = thread_get_state(r.thread, x86_THREAD_STATE64, thread_state_t(&thread_state), &count);
    // What needs the control port is refused: nothing changes a corpse.
    mach_vm_address_t at = 0;
    allocate = mach_vm_allocate(r.task, &at, 4096, VM_FLAGS_ANYWHERE);
    set_state = thread_set_state(r.thread, x86_THREAD_STATE64, thread_state_t(&thread_state), count);
    return KERN_SUCCESS;
  };
  target.start();
  // The process dies first; the handler hears of its corpse after.
  EXPECT_EQ(wait_exit(target.pid), 128 + SIGSEGV);
  const pid_t crashed = target.pid;
  target.pid = -1;
  ASSERT_EQ(serve_one(port), MACH_MSG_SUCCESS);
  EXPECT_EQ(seen.exception, EXC_CORPSE_NOTIFY);
  EXPECT_EQ(seen.code[0], EXC_CRASH);
  EXPECT_EQ(seen.code[1], (int64_t(2) << 32) | SIGSEGV);  // XNU: OS_REASON_SIGNAL, the signal
  EXPECT_EQ(read, KERN_SUCCESS);
  EXPECT_STREQ(read_back, "what the process held when it crashed");
  EXPECT_EQ(corpse_pid, crashed);
  EXPECT_EQ(nthreads, 1u);
  // The crashed thread's state at the fault, in the message and by thread_get_state.
  const uint64_t fault_function = reinterpret_cast<uint64_t>(&write_bad_address);
  EXPECT_GE(seen.state.__rip, fault_function);
  EXPECT_LT(seen.state.__rip, fault_function + 64);
  EXPECT_EQ(get_state, KERN_SUCCESS);
  EXPECT_EQ(thread_state.__rip, seen.state.__rip);
  EXPECT_EQ(allocate, KERN_INVALID_ARGUMENT);
  EXPECT_EQ(set_state, KERN_INVALID_ARGUMENT);
  // The handler's reply dropped the last send right: the corpse is gone.
  EXPECT_TRUE(wait_for_tasks(before.tasks));
}

// The task's other threads are parked for its crash corpse and kept with
// their own states (XNU's corpses have every thread of the task).
TEST(Corpses, ACrashCorpseKeepsEveryThreadOfTheTaskWithItsState) {
  const Holdings before = holdings();
  Target target([] {
    std::thread([] { machd_test_spin_r13(); }).detach();
    while (machd_test_spinning == 0) usleep(100);
    return write_bad_address();
  });
  OwnedPort port;
  ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_CORPSE_NOTIFY, port, kStateIdentity64, x86_THREAD_STATE64),
            KERN_SUCCESS);
  mach_msg_type_number_t nthreads = 0;
  int spinners = 0;
  uint64_t crashed_rip = 0;
  g_policy = [&](Raised& r, x86_thread_state64_t*) -> kern_return_t {
    thread_act_array_t list = nullptr;
    if (task_threads(r.task, &list, &nthreads) != KERN_SUCCESS) return KERN_SUCCESS;
    for (mach_msg_type_number_t i = 0; i < nthreads; ++i) {
      x86_thread_state64_t s{};
      mach_msg_type_number_t count = x86_THREAD_STATE64_COUNT;
      if (thread_get_state(list[i], x86_THREAD_STATE64, thread_state_t(&s), &count) == KERN_SUCCESS) {
        const auto spin = reinterpret_cast<uint64_t>(&machd_test_spin_r13);
        if (s.__r13 == kSpinSentinel && s.__rip >= spin && s.__rip < reinterpret_cast<uint64_t>(machd_test_spin_r13_end))
          ++spinners;
        else
          crashed_rip = s.__rip;
      }
      mach_port_deallocate(mach_task_self(), list[i]);
    }
    vm_deallocate(mach_task_self(), vm_address_t(list), nthreads * sizeof *list);
    return KERN_SUCCESS;
  };
  target.start();
  EXPECT_EQ(wait_exit(target.pid), 128 + SIGSEGV);
  target.pid = -1;
  ASSERT_EQ(serve_one(port), MACH_MSG_SUCCESS);
  EXPECT_EQ(nthreads, 2u);
  EXPECT_EQ(spinners, 1) << "the spinning thread, parked in its loop with its sentinel";
  const uint64_t fault_function = reinterpret_cast<uint64_t>(&write_bad_address);
  EXPECT_GE(crashed_rip, fault_function);
  EXPECT_LT(crashed_rip, fault_function + 64);
  EXPECT_TRUE(wait_for_tasks(before.tasks));
}

// A thread that blocks every signal cannot be parked: the crash goes on
// without it after Corpses::kOthersParkNs, and its corpse has the others.
TEST(Corpses, AThreadThatCannotBeParkedDoesNotHoldUpACrash) {
  const Holdings before = holdings();
  Target target([] {
    static std::atomic<bool> blocked{false};
    std::thread([] {
      sigset_t all;
      sigfillset(&all);
      pthread_sigmask(SIG_BLOCK, &all, nullptr);
      blocked = true;
      for (;;) pause();
    }).detach();
    while (!blocked) usleep(100);
    return write_bad_address();
  });
  OwnedPort port;
  ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_CORPSE_NOTIFY, port, kStateIdentity64, x86_THREAD_STATE64),
            KERN_SUCCESS);
  mach_msg_type_number_t nthreads = 0;
  g_policy = [&](Raised& r, x86_thread_state64_t*) -> kern_return_t {
    thread_act_array_t list = nullptr;
    if (task_threads(r.task, &list, &nthreads) != KERN_SUCCESS) return KERN_SUCCESS;
    for (mach_msg_type_number_t i = 0; i < nthreads; ++i) mach_port_deallocate(mach_task_self(), list[i]);
    vm_deallocate(mach_task_self(), vm_address_t(list), nthreads * sizeof *list);
    return KERN_SUCCESS;
  };
  target.start();
  EXPECT_EQ(wait_exit_for(target.pid, 30000), 128 + SIGSEGV);
  target.pid = -1;
  ASSERT_EQ(serve_one(port), MACH_MSG_SUCCESS);
  EXPECT_EQ(nthreads, 1u) << "the crashed thread only";
  EXPECT_TRUE(wait_for_tasks(before.tasks));
}

TEST(Corpses, OnlyACrashThatNoHandlerTakesLeavesACorpse) {
  for (kern_return_t crash_answer : {KERN_SUCCESS, KERN_FAILURE}) {
    SCOPED_TRACE(crash_answer);
    const Holdings before = holdings();
    Target target([] { return write_bad_address(); });
    OwnedPort port;
    ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_CRASH | EXC_MASK_CORPSE_NOTIFY, port, kDefault64,
                                       THREAD_STATE_NONE),
              KERN_SUCCESS);
    std::vector<exception_type_t> seen;
    g_policy = [&](Raised& r, x86_thread_state64_t*) -> kern_return_t {
      seen.push_back(r.exception);
      return r.exception == EXC_CRASH ? crash_answer : KERN_SUCCESS;
    };
    target.start();
    ASSERT_EQ(serve_one(port), MACH_MSG_SUCCESS);  // EXC_CRASH
    EXPECT_EQ(wait_exit(target.pid), 128 + SIGSEGV);
    target.pid = -1;
    if (crash_answer == KERN_SUCCESS) {
      EXPECT_EQ(serve_one(port, 1000), MACH_RCV_TIMED_OUT);
      EXPECT_EQ(seen, std::vector<exception_type_t>{EXC_CRASH});
    } else {
      EXPECT_EQ(serve_one(port), MACH_MSG_SUCCESS);
      EXPECT_EQ(seen, (std::vector<exception_type_t>{EXC_CRASH, EXC_CORPSE_NOTIFY}));
    }
    EXPECT_TRUE(wait_for_tasks(before.tasks));
  }
}

TEST(Corpses, ACorpseNobodyIsToldOfEndsAtOnce) {
  const Holdings before = holdings();
  Target target([] { return write_bad_address(); });
  {
    OwnedPort port;
    ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_CORPSE_NOTIFY, port, kDefault64, THREAD_STATE_NONE),
              KERN_SUCCESS);
    target.start();
    EXPECT_EQ(wait_exit(target.pid), 128 + SIGSEGV);
    target.pid = -1;
  }  // the port dies with its message unread: the corpse's last send right goes with it
  EXPECT_TRUE(wait_for_tasks(before.tasks));
}

int64_t close_nothing(mach_emulation_call_t*) { return 0; }

// The crashed process's descriptors close as it dies, the corpse's copy
// too: a reader of a pipe it wrote sees the end while the corpse lives.
// With close_range redirected in the crashed task as well (the corpse's
// system calls go through the library's gate, never redirected).
class CorpseDescriptors : public ::testing::TestWithParam<bool> {};

TEST_P(CorpseDescriptors, ACorpseHoldsNoneOfTheCrashedProcesssDescriptors) {
  const bool redirect_close_range = GetParam();
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  Target target([out, redirect_close_range] {
    close(out[0]);
    if (redirect_close_range) {
      int nr = SYS_close_range;
      if (mach_emulation_set(mach_task_self(), &nr, 1, vm_address_t(close_nothing)) != KERN_SUCCESS) return 3;
    }
    return write_bad_address();
  });
  close(out[1]);
  OwnedPort port;
  ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_CORPSE_NOTIFY, port, kDefault64, THREAD_STATE_NONE),
            KERN_SUCCESS);
  int pipe_end = -1;
  g_policy = [&](Raised&, x86_thread_state64_t*) -> kern_return_t {
    pollfd p{out[0], POLLIN, 0};
    char c;
    pipe_end = poll(&p, 1, 3000) == 1 ? int(read(out[0], &c, 1)) : -1;  // 0: end of file
    return KERN_SUCCESS;
  };
  target.start();
  EXPECT_EQ(wait_exit(target.pid), 128 + SIGSEGV);
  target.pid = -1;
  ASSERT_EQ(serve_one(port), MACH_MSG_SUCCESS);
  EXPECT_EQ(pipe_end, 0) << "the corpse still held the pipe's write end";
  close(out[0]);
}

INSTANTIATE_TEST_SUITE_P(Corpses, CorpseDescriptors, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "CloseRangeRedirected" : "Plain";
                         });

// The processes this one forked that are not reaped yet (every thread's).
std::set<pid_t> children_of_this_process() {
  std::set<pid_t> out;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const std::string path = std::string("/proc/self/task/") + e->d_name + "/children";
    if (FILE* f = fopen(path.c_str(), "r")) {
      int pid = 0;
      while (fscanf(f, "%d", &pid) == 1) out.insert(pid);
      fclose(f);
    }
  }
  closedir(d);
  return out;
}
size_t unreaped_children() { return children_of_this_process().size(); }

char g_live_buffer[64];

TEST(Corpses, GenerateCorpseKeepsTheTasksMemoryAsItWasAndEndsWithItsLastRight) {
  const Holdings before = holdings();
  const size_t children = unreaped_children();
  strcpy(g_live_buffer, "as it was when the corpse was made");
  mach_port_t corpse = MACH_PORT_NULL;
  ASSERT_EQ(task_generate_corpse(mach_task_self(), &corpse), KERN_SUCCESS);
  strcpy(g_live_buffer, "changed after");  // the task goes on; the corpse keeps the old bytes
  char read_back[64] = {};
  mach_vm_size_t got = 0;
  EXPECT_EQ(mach_vm_read_overwrite(corpse, reinterpret_cast<mach_vm_address_t>(g_live_buffer), sizeof read_back,
                                   reinterpret_cast<mach_vm_address_t>(read_back), &got),
            KERN_SUCCESS);
  EXPECT_STREQ(read_back, "as it was when the corpse was made");
  int pid = 0;
  EXPECT_EQ(pid_for_task(corpse, &pid), KERN_SUCCESS);
  EXPECT_EQ(pid, getpid());
  // Every thread of the task, each with the state it had.
  thread_act_array_t list = nullptr;
  mach_msg_type_number_t nthreads = 0;
  ASSERT_EQ(task_threads(corpse, &list, &nthreads), KERN_SUCCESS);
  EXPECT_GE(nthreads, 1u);
  bool this_thread = false;
  for (mach_msg_type_number_t i = 0; i < nthreads; ++i) {
    x86_thread_state64_t state{};
    mach_msg_type_number_t count = x86_THREAD_STATE64_COUNT;
    EXPECT_EQ(thread_get_state(list[i], x86_THREAD_STATE64, thread_state_t(&state), &count), KERN_SUCCESS);
    this_thread |= tid_of(list[i]) == pid_t(syscall(SYS_gettid));
    thread_basic_info_data_t info{};
    count = THREAD_BASIC_INFO_COUNT;
    EXPECT_EQ(thread_info(list[i], THREAD_BASIC_INFO, thread_info_t(&info), &count), KERN_SUCCESS);
    EXPECT_EQ(info.run_state, TH_STATE_HALTED);  // as XNU's corpse threads
    mach_port_deallocate(mach_task_self(), list[i]);
  }
  vm_deallocate(mach_task_self(), vm_address_t(list), nthreads * sizeof *list);
  EXPECT_TRUE(this_thread);
  mach_port_t corpse_of_corpse = MACH_PORT_NULL;
  EXPECT_EQ(task_generate_corpse(corpse, &corpse_of_corpse), KERN_INVALID_ARGUMENT);  // as XNU
  // Its space is read, never changed: a right put there would keep the
  // corpse for ever (the routines on an ipc_space_t refuse it, as XNU's).
  ipc_info_space_basic_t space{};
  EXPECT_EQ(mach_port_space_basic_info(corpse, &space), KERN_SUCCESS);
  mach_port_t name = MACH_PORT_NULL;
  EXPECT_EQ(mach_port_allocate(corpse, MACH_PORT_RIGHT_RECEIVE, &name), KERN_INVALID_TASK);
  EXPECT_EQ(mach_port_insert_right(corpse, 0x1303, corpse, MACH_MSG_TYPE_COPY_SEND), KERN_INVALID_TASK);
  EXPECT_EQ(unreaped_children(), children + 1);
  ASSERT_EQ(mach_port_deallocate(mach_task_self(), corpse), KERN_SUCCESS);
  EXPECT_TRUE(wait_for_tasks(before.tasks));
  // The corpse's process is killed and reaped; the program never saw it.
  for (int i = 0; i < 250 && unreaped_children() > children; ++i) usleep(20000);
  EXPECT_EQ(unreaped_children(), children);
}

// As for a crash, a thread that cannot be parked is left out of a
// generated corpse after Corpses::kOthersParkNs, and it runs on.
TEST(Corpses, GenerateCorpseLeavesOutAThreadThatCannotBeParked) {
  const Holdings before = holdings();
  auto count_threads = [](mach_port_t task) {
    thread_act_array_t list = nullptr;
    mach_msg_type_number_t n = 0;
    if (task_threads(task, &list, &n) != KERN_SUCCESS) return -1;
    for (mach_msg_type_number_t i = 0; i < n; ++i) mach_port_deallocate(mach_task_self(), list[i]);
    vm_deallocate(mach_task_self(), vm_address_t(list), n * sizeof *list);
    return int(n);
  };
  std::atomic<int> step{0};
  std::thread blocked([&] {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    step = 1;
    while (step == 1) usleep(1000);
    step = 3;  // it runs on after the generation
  });
  while (step == 0) usleep(100);
  const int live = count_threads(mach_task_self());
  mach_port_t corpse = MACH_PORT_NULL;
  ASSERT_EQ(task_generate_corpse(mach_task_self(), &corpse), KERN_SUCCESS);
  EXPECT_EQ(count_threads(corpse), live - 1) << "every thread but the one that blocks all signals";
  step = 2;
  blocked.join();
  EXPECT_EQ(step.load(), 3);
  mach_port_deallocate(mach_task_self(), corpse);
  EXPECT_TRUE(wait_for_tasks(before.tasks));
}

// Its process killed by someone else, the corpse ends: its memory is gone.
TEST(Corpses, ACorpseWhoseProcessIsKilledEnds) {
  const Holdings before = holdings();
  const std::set<pid_t> known = children_of_this_process();
  mach_port_t corpse = MACH_PORT_NULL;
  ASSERT_EQ(task_generate_corpse(mach_task_self(), &corpse), KERN_SUCCESS);
  pid_t process = 0;
  for (pid_t p : children_of_this_process())
    if (!known.count(p)) process = p;
  ASSERT_GT(process, 0);
  ASSERT_EQ(kill(process, SIGKILL), 0);
  EXPECT_TRUE(wait_for_tasks(before.tasks)) << "the corpse outlived its process";
  // Reaped by the task's agent: a zombie still answers kill(pid, 0). (This
  // process, not a count of zombies: an earlier test's may be reaped meanwhile.)
  for (int i = 0; i < 250 && kill(process, 0) == 0; ++i) usleep(20000);
  EXPECT_NE(kill(process, 0), 0) << "the corpse's process was not reaped";
  mach_port_type_t type = 0;
  EXPECT_EQ(mach_port_type(mach_task_self(), corpse, &type), KERN_SUCCESS);
  EXPECT_EQ(type, MACH_PORT_TYPE_DEAD_NAME);
  mach_port_deallocate(mach_task_self(), corpse);
}

TEST(Corpses, AUserHasAtMostFiveCorpsesAtATime) {
  const Holdings before = holdings();
  std::vector<mach_port_t> corpses;
  for (int i = 0; i < 5; ++i) {
    mach_port_t c = MACH_PORT_NULL;
    ASSERT_EQ(task_generate_corpse(mach_task_self(), &c), KERN_SUCCESS) << i;
    corpses.push_back(c);
  }
  mach_port_t sixth = MACH_PORT_NULL;
  EXPECT_EQ(task_generate_corpse(mach_task_self(), &sixth), KERN_RESOURCE_SHORTAGE);
  mach_port_deallocate(mach_task_self(), corpses.back());
  corpses.pop_back();
  ASSERT_TRUE(wait_for_tasks(before.tasks + 4));
  EXPECT_EQ(task_generate_corpse(mach_task_self(), &sixth), KERN_SUCCESS);  // room again
  corpses.push_back(sixth);
  for (mach_port_t c : corpses) mach_port_deallocate(mach_task_self(), c);
  EXPECT_TRUE(wait_for_tasks(before.tasks));
}

namespace {

// A corpse's crash information as task_map_corpse_info_64 maps it into this
// task: the items by type (payload without padding), and whether the buffer
// is well formed (it begins with TASK_CRASHINFO_BEGIN, every item is 16-byte
// aligned with its padding in its flags, and it ends with
// TASK_CRASHINFO_END). The mapping is unmapped after.
struct CorpseInfo {
  kern_return_t kr = KERN_FAILURE;
  mach_vm_size_t size = 0;
  bool well_formed = false;
  std::map<uint32_t, std::string> items;

  template <typename T>
  T get(uint32_t type) const {
    T v{};
    auto it = items.find(type);
    if (it != items.end() && it->second.size() == sizeof v) memcpy(&v, it->second.data(), sizeof v);
    return v;
  }
  std::string text(uint32_t type) const {
    auto it = items.find(type);
    return it == items.end() ? std::string() : std::string(it->second.c_str());
  }
};

CorpseInfo corpse_info_of(mach_port_t corpse) {
  CorpseInfo out;
  mach_vm_address_t at = 0;
  out.kr = task_map_corpse_info_64(mach_task_self(), corpse, &at, &out.size);
  if (out.kr != KERN_SUCCESS) return out;
  char* base = reinterpret_cast<char*>(at);
  base[out.size - 1] ^= 0;  // the task's own copy: it may write it
  kcdata_iter_t it = kcdata_iter(base, out.size);
  bool began = kcdata_iter_valid(it) && kcdata_iter_type(it) == TASK_CRASHINFO_BEGIN, aligned = true, ended = false;
  for (; kcdata_iter_valid(it); it = kcdata_iter_next(it)) {
    if (kcdata_iter_type(it) == TASK_CRASHINFO_END) {
      ended = true;
      break;
    }
    aligned &= it.item->size % KCDATA_ALIGNMENT_SIZE == 0 && (kcdata_iter_flags(it) & KCDATA_FLAGS_STRUCT_HAS_PADDING);
    out.items[kcdata_iter_type(it)] = std::string(static_cast<char*>(kcdata_iter_payload(it)), kcdata_iter_size(it));
  }
  out.well_formed = began && aligned && ended;
  mach_vm_deallocate(mach_task_self(), at, out.size);
  return out;
}

uint64_t thread_id_of(mach_port_t thread) {
  thread_identifier_info_data_t id{};
  mach_msg_type_number_t n = THREAD_IDENTIFIER_INFO_COUNT;
  return thread_info(thread, THREAD_IDENTIFIER_INFO, thread_info_t(&id), &n) == KERN_SUCCESS ? id.thread_id : 0;
}

}  // namespace

TEST(Corpses, AGeneratedCorpsesCrashInformationNamesTheProcessItWasMadeOf) {
  const Holdings before = holdings();
  mach_port_t corpse = MACH_PORT_NULL;
  ASSERT_EQ(task_generate_corpse(mach_task_self(), &corpse), KERN_SUCCESS);
  const CorpseInfo info = corpse_info_of(corpse);
  ASSERT_EQ(info.kr, KERN_SUCCESS);
  EXPECT_EQ(info.size, 48u * 1024) << "XNU's CORPSEINFO_ALLOCATION_SIZE";
  EXPECT_TRUE(info.well_formed);
  EXPECT_EQ(info.get<int32_t>(TASK_CRASHINFO_PID), getpid());
  EXPECT_EQ(info.get<int32_t>(TASK_CRASHINFO_PPID), getppid());
  EXPECT_EQ(info.get<uint32_t>(TASK_CRASHINFO_UID), getuid());
  EXPECT_EQ(info.get<uint32_t>(TASK_CRASHINFO_GID), getgid());
  char comm[64] = {};
  FILE* f = fopen("/proc/self/comm", "r");
  ASSERT_NE(f, nullptr);
  ASSERT_NE(fgets(comm, sizeof comm, f), nullptr);
  fclose(f);
  comm[strcspn(comm, "\n")] = '\0';
  EXPECT_EQ(info.text(TASK_CRASHINFO_PROC_NAME), comm);
  char exe[1024] = {};
  ASSERT_GT(readlink("/proc/self/exe", exe, sizeof exe - 1), 0);
  EXPECT_EQ(info.text(TASK_CRASHINFO_PROC_PATH), exe);
  EXPECT_EQ(info.get<int32_t>(TASK_CRASHINFO_TASK_IS_CORPSE_FORK), 1);
  EXPECT_EQ(info.get<int32_t>(TASK_CRASHINFO_EXCEPTION_TYPE), 0);
  EXPECT_EQ(info.get<int32_t>(TASK_CRASHINFO_CPUTYPE), CPU_TYPE_X86_64);
  const timeval64 started = info.get<timeval64>(TASK_CRASHINFO_PROC_STARTTIME);
  EXPECT_GT(started.tv_sec, 1'600'000'000);
  EXPECT_LE(started.tv_sec, time(nullptr));
  // The crashed (first) thread is one of the corpse's, by thread_id.
  thread_act_array_t list = nullptr;
  mach_msg_type_number_t n = 0;
  ASSERT_EQ(task_threads(corpse, &list, &n), KERN_SUCCESS);
  ASSERT_GE(n, 1u);
  EXPECT_EQ(info.get<uint64_t>(TASK_CRASHINFO_CRASHED_THREADID), thread_id_of(list[0]));
  for (mach_msg_type_number_t i = 0; i < n; ++i) mach_port_deallocate(mach_task_self(), list[i]);
  vm_deallocate(mach_task_self(), vm_address_t(list), n * sizeof *list);
  // The 32-bit call maps the same.
  vm_address_t at = 0;
  uint32_t size = 0;
  ASSERT_EQ(task_map_corpse_info(mach_task_self(), corpse, &at, &size), KERN_SUCCESS);
  EXPECT_EQ(size, 48u * 1024);
  EXPECT_EQ(reinterpret_cast<kcdata_item*>(at)->type, TASK_CRASHINFO_BEGIN);
  vm_deallocate(mach_task_self(), at, size);
  // As XNU: the corpse must be a corpse, and the task into which it is
  // mapped a live task.
  mach_vm_address_t a64 = 0;
  mach_vm_size_t s64 = 0;
  EXPECT_EQ(task_map_corpse_info_64(mach_task_self(), mach_task_self(), &a64, &s64), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(task_map_corpse_info_64(corpse, corpse, &a64, &s64), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(task_map_corpse_info_64(mach_task_self(), MACH_PORT_NULL, &a64, &s64), KERN_INVALID_ARGUMENT);
  ASSERT_EQ(mach_port_deallocate(mach_task_self(), corpse), KERN_SUCCESS);
  EXPECT_TRUE(wait_for_tasks(before.tasks));
}

TEST(Corpses, ACrashCorpsesCrashInformationCarriesTheCrashAsTheNotificationDid) {
  const Holdings before = holdings();
  Target target([] { return write_bad_address(); });
  OwnedPort port;
  ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_CORPSE_NOTIFY, port, kStateIdentity64, x86_THREAD_STATE64),
            KERN_SUCCESS);
  Raised seen;
  CorpseInfo info;
  uint64_t crashed_thread = 0;
  g_policy = [&](Raised& r, x86_thread_state64_t*) -> kern_return_t {
    seen = r;
    info = corpse_info_of(r.task);
    crashed_thread = thread_id_of(r.thread);
    return KERN_SUCCESS;
  };
  target.start();
  EXPECT_EQ(wait_exit(target.pid), 128 + SIGSEGV);
  const pid_t crashed = target.pid;
  target.pid = -1;
  ASSERT_EQ(serve_one(port), MACH_MSG_SUCCESS);
  ASSERT_EQ(info.kr, KERN_SUCCESS);
  EXPECT_TRUE(info.well_formed);
  EXPECT_EQ(info.get<int32_t>(TASK_CRASHINFO_PID), crashed);
  EXPECT_EQ(info.get<int32_t>(TASK_CRASHINFO_PPID), getpid());
  EXPECT_EQ(info.get<int32_t>(TASK_CRASHINFO_EXCEPTION_TYPE), EXC_CRASH);
  EXPECT_EQ(info.get<int32_t>(TASK_CRASHINFO_TASK_IS_CORPSE_FORK), 0);
  const auto codes = info.get<std::array<int64_t, 2>>(TASK_CRASHINFO_EXCEPTION_CODES);
  EXPECT_EQ(codes[0], seen.code[0]);
  EXPECT_EQ(codes[1], seen.code[1]);
  EXPECT_NE(crashed_thread, 0u);
  EXPECT_EQ(info.get<uint64_t>(TASK_CRASHINFO_CRASHED_THREADID), crashed_thread);
  EXPECT_TRUE(wait_for_tasks(before.tasks));
}

TEST(ExceptionDelivery, WithoutHandlersFaultsAndSignalsAreAsWithoutMachd) {
  // No exception port: the default action, with the usual status.
  pid_t pid = spawn_task([] { return write_bad_address(); });
  EXPECT_EQ(wait_exit(pid), 128 + SIGSEGV);
  // The program's own handler, and a signal another process sends (never
  // an exception even when a port takes EXC_BAD_ACCESS).
  pid = spawn_task([] {
    OwnedPort port;
    task_set_exception_ports(mach_task_self(), EXC_MASK_BAD_ACCESS, port, kDefault64, THREAD_STATE_NONE);
    struct sigaction sa {}, old{};
    sa.sa_handler = program_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old);
    struct sigaction now {};
    sigaction(SIGSEGV, nullptr, &now);
    if (now.sa_handler != program_handler) return 11;  // the program sees what it installed
    g_program_signal = 0;
    if (sigsetjmp(g_jump, 1) == 0) kill(getpid(), SIGSEGV);
    return g_program_signal == SIGSEGV && queued(port) == 0 ? 0 : 12;
  });
  EXPECT_EQ(wait_exit(pid), 0);
}

TEST(ExceptionDelivery, NothingIsLeftAfterTargetsDie) {
  const Holdings before = holdings();
  for (int i = 0; i < 3; ++i) {
    Target target([] { return write_bad_address(); });
    OwnedPort port;
    ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_BAD_ACCESS, port, kStateIdentity64, x86_THREAD_STATE64),
              KERN_SUCCESS);
    g_policy = [&](Raised&, x86_thread_state64_t*) { return KERN_FAILURE; };
    target.start();
    ASSERT_EQ(serve_one(port), MACH_MSG_SUCCESS);
    EXPECT_EQ(wait_exit(target.pid), 128 + SIGSEGV);
    target.pid = -1;
  }
  ASSERT_TRUE(wait_for_tasks(before.tasks));
  for (int i = 0; i < 50 && holdings().ports > before.ports; ++i) usleep(20000);
  EXPECT_LE(holdings().ports, before.ports);
}

TEST(ExceptionDelivery, AForkedChildInheritsItsParentsTaskExceptionPorts) {
  OwnedPort port;
  ASSERT_EQ(task_set_exception_ports(mach_task_self(), EXC_MASK_BREAKPOINT, port, kDefault64, THREAD_STATE_NONE),
            KERN_SUCCESS);
  // The child hits int3; the port it inherited is this test's (taken when
  // it became a task, which Target waits for).
  Target target([] {
    asm volatile("int3");
    return 0;
  });
  const pid_t pid = target.pid;
  ASSERT_EQ(task_set_exception_ports(mach_task_self(), EXC_MASK_BREAKPOINT, MACH_PORT_NULL, kDefault64,
                                     THREAD_STATE_NONE),
            KERN_SUCCESS);
  int from = 0;
  g_policy = [&](Raised& r, x86_thread_state64_t*) -> kern_return_t {
    pid_for_task(r.task, &from);
    return r.exception == EXC_BREAKPOINT ? KERN_SUCCESS : KERN_FAILURE;  // resume after the int3
  };
  target.start();
  ASSERT_EQ(serve_one(port), MACH_MSG_SUCCESS);
  EXPECT_EQ(from, pid);
  EXPECT_EQ(wait_exit(pid), 0);
  target.pid = -1;
}

TEST(ExceptionDelivery, ExecKeepsTheTasksExceptionPorts) {
  const char* helper = getenv("TASK_HELPER");
  ASSERT_NE(helper, nullptr);
  std::string path = helper;
  // The target execs the helper, which hits int3: the port set on the task
  // before the exec still takes it.
  Target target([path] {
    execl(path.c_str(), path.c_str(), "breakpoint", nullptr);
    return 80;
  });
  OwnedPort port;
  ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_BREAKPOINT, port, kDefault64, THREAD_STATE_NONE),
            KERN_SUCCESS);
  int from = 0;
  g_policy = [&](Raised& r, x86_thread_state64_t*) -> kern_return_t {
    pid_for_task(r.task, &from);
    return KERN_SUCCESS;
  };
  target.start();
  ASSERT_EQ(serve_one(port), MACH_MSG_SUCCESS);
  EXPECT_EQ(from, target.pid);
  EXPECT_EQ(wait_exit(target.pid), 0);
  target.pid = -1;
}

TEST(ExceptionDelivery, AThreadSuspendedByItsHandlerStaysStoppedAfterTheReplyUntilResumed) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  Target target([w = out[1]] {
    asm volatile("int3");
    return write(w, "r", 1) == 1 ? 0 : 90;
  });
  close(out[1]);
  OwnedPort port;
  ASSERT_EQ(task_set_exception_ports(target.task, EXC_MASK_BREAKPOINT, port, kDefault64, THREAD_STATE_NONE),
            KERN_SUCCESS);
  mach_port_t thread = MACH_PORT_NULL;
  g_policy = [&](Raised& r, x86_thread_state64_t*) -> kern_return_t {
    if (thread_suspend(r.thread) != KERN_SUCCESS) return KERN_FAILURE;
    mach_port_mod_refs(mach_task_self(), r.thread, MACH_PORT_RIGHT_SEND, 1);  // kept past report()
    thread = r.thread;
    return KERN_SUCCESS;
  };
  target.start();
  ASSERT_EQ(serve_one(port), MACH_MSG_SUCCESS);
  ASSERT_TRUE(MACH_PORT_VALID(thread));
  pollfd p{out[0], POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 300), 0) << "the thread ran on while suspended";
  // The suspended thread's state is still there to read.
  x86_thread_state64_t s;
  mach_msg_type_number_t n = x86_THREAD_STATE64_COUNT;
  EXPECT_EQ(thread_get_state(thread, x86_THREAD_STATE64, reinterpret_cast<thread_state_t>(&s), &n), KERN_SUCCESS);
  EXPECT_EQ(thread_resume(thread), KERN_SUCCESS);
  EXPECT_EQ(poll(&p, 1, 10000), 1);
  EXPECT_EQ(wait_exit(target.pid), 0);
  target.pid = -1;
  mach_port_deallocate(mach_task_self(), thread);
  close(out[0]);
}
