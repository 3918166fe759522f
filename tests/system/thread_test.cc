// tests/system/thread_test.cc — thread objects: a controller task suspends,
// inspects, edits and resumes the threads of a worker task (a fork of this
// binary, so addresses of functions and globals are the same in both).
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <pthread/mach_np.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "support.h"

using namespace systest;

// Spins with a sentinel in r12 until r14 becomes non-zero; returns r14.
asm(R"(
  .text
  .globl machd_test_spin
  .type machd_test_spin, @function
machd_test_spin:
  push %r12
  push %r14
  mov $0x5e471e1, %r12
  xor %r14d, %r14d
1:
  pause
  test %r14, %r14
  jz 1b
  mov %r14, %rax
  pop %r14
  pop %r12
  ret
  .globl machd_test_spin_end
machd_test_spin_end:
)");
extern "C" uint64_t machd_test_spin();
extern "C" char machd_test_spin_end[];

namespace {

constexpr uint64_t kSentinel = 0x5e471e1;
mach_port_t g_dest = MACH_PORT_NULL;  // the worker's line to the controller
alignas(16) uint8_t g_stack[64 * 1024];

pid_t gettid_() { return pid_t(syscall(SYS_gettid)); }

// A thread made by thread_create_running starts here (rdi = value).
extern "C" void created_entry(uint64_t value) {
  send_simple(g_dest, int32_t(value), "created");
  pthread_exit(nullptr);
}

mach_port_t receive_port(mach_port_t inbox) {
  struct {
    mach_msg_header_t head;
    mach_msg_body_t body;
    mach_msg_port_descriptor_t port;
    mach_msg_max_trailer_t trailer;
  } m{};
  if (mach_msg(&m.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof m, inbox, 5000, 0) != MACH_MSG_SUCCESS)
    return MACH_PORT_NULL;
  return m.port.name;
}

int32_t receive_value(mach_port_t inbox, int timeout_ms = 5000) {
  SimpleRcv r{};
  if (receive_simple(inbox, r, timeout_ms) != MACH_MSG_SUCCESS) return INT32_MIN;
  return r.msg.value;
}

thread_basic_info_data_t basic_of(mach_port_t thread) {
  thread_basic_info_data_t b{};
  mach_msg_type_number_t n = THREAD_BASIC_INFO_COUNT;
  EXPECT_EQ(thread_info(thread, THREAD_BASIC_INFO, reinterpret_cast<thread_info_t>(&b), &n), KERN_SUCCESS);
  return b;
}

x86_thread_state64_t state_of(mach_port_t thread) {
  x86_thread_state64_t s{};
  mach_msg_type_number_t n = x86_THREAD_STATE64_COUNT;
  EXPECT_EQ(thread_get_state(thread, x86_THREAD_STATE64, reinterpret_cast<thread_state_t>(&s), &n), KERN_SUCCESS);
  EXPECT_EQ(n, x86_THREAD_STATE64_COUNT);
  return s;
}

// task_basic_info's suspend_count (-1 if task_info failed).
integer_t suspend_count_of(mach_port_t task) {
  mach_task_basic_info_data_t b{};
  mach_msg_type_number_t n = MACH_TASK_BASIC_INFO_COUNT;
  if (task_info(task, MACH_TASK_BASIC_INFO, reinterpret_cast<task_info_t>(&b), &n) != KERN_SUCCESS) return -1;
  return b.suspend_count;
}

// A worker task with a spinning thread and one blocked in read(2); it
// sends the controller its task port and the two tids, and reports what
// each thread returns.
struct Worker {
  pid_t pid = -1;
  mach_port_t inbox = MACH_PORT_NULL;
  mach_port_t task = MACH_PORT_NULL;
  pid_t spin_tid = 0, read_tid = 0;
  int pipe_fds[2] = {-1, -1};

  void start() {
    ASSERT_EQ(pipe(pipe_fds), 0);
    std::string name = check_in_unique("org.machd.test.thread", &inbox);
    const int rd = pipe_fds[0];
    pid = spawn_task([name, rd] {
      g_dest = look_up(name);
      std::atomic<pid_t> spin{0}, reader{0};
      std::thread a([&] {
        spin = gettid_();
        send_simple(g_dest, int32_t(machd_test_spin()), "spin");
      });
      std::thread b([&] {
        reader = gettid_();
        char c = 0;
        ssize_t n = read(rd, &c, 1);
        send_simple(g_dest, n == 1 ? c : -1, "read");
      });
      while (spin == 0 || reader == 0) usleep(1000);
      send_right(g_dest, mach_task_self(), MACH_MSG_TYPE_COPY_SEND);
      send_simple(g_dest, spin, "tid");
      send_simple(g_dest, reader, "tid");
      a.join();
      b.join();
      pause();  // until killed: threads made from outside may still run
      return 0;
    });
    task = receive_port(inbox);
    ASSERT_NE(task, MACH_PORT_NULL);
    spin_tid = receive_value(inbox);
    read_tid = receive_value(inbox);
    ASSERT_GT(spin_tid, 0);
    ASSERT_GT(read_tid, 0);
  }

  mach_port_t thread(pid_t tid) { return thread_of_tid(task, tid); }

  void finish() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      wait_exit(pid);
    }
    if (task) mach_port_deallocate(mach_task_self(), task);
    mach_port_mod_refs(mach_task_self(), inbox, MACH_PORT_RIGHT_RECEIVE, -1);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
  }
};

}  // namespace

TEST(Threads, MachThreadSelfNamesTheCallingThread) {
  mach_port_t self = mach_thread_self();
  ASSERT_NE(self, MACH_PORT_NULL);
  EXPECT_EQ(tid_of(self), gettid_());
  mach_port_t again = mach_thread_self();
  EXPECT_EQ(again, self);  // the same name, one more reference
  mach_port_urefs_t refs = 0;
  EXPECT_EQ(mach_port_get_refs(mach_task_self(), self, MACH_PORT_RIGHT_SEND, &refs), KERN_SUCCESS);
  EXPECT_GE(refs, 2u);
  mach_port_deallocate(mach_task_self(), self);
  mach_port_deallocate(mach_task_self(), again);
}

TEST(Threads, PthreadAndMachThreadMapBothWays) {
  mach_port_t mine = pthread_mach_thread_np(pthread_self());
  ASSERT_NE(mine, MACH_PORT_NULL);
  EXPECT_EQ(tid_of(mine), gettid_());
  EXPECT_TRUE(pthread_equal(pthread_from_mach_thread_np(mine), pthread_self()));
  std::atomic<bool> stop{false};
  std::atomic<pid_t> tid{0};
  std::thread other([&] {
    tid = gettid_();
    while (!stop) usleep(1000);
  });
  while (tid == 0) usleep(1000);
  mach_port_t port = pthread_mach_thread_np(other.native_handle());
  EXPECT_EQ(tid_of(port), tid.load());
  EXPECT_TRUE(pthread_equal(pthread_from_mach_thread_np(port), other.native_handle()));
  stop = true;
  other.join();
  mach_port_deallocate(mach_task_self(), port);
  mach_port_deallocate(mach_task_self(), mine);
}

TEST(Threads, SuspendedSpinnerShowsItsRegistersAndTakesAnEditedOne) {
  Worker w;
  w.start();
  mach_port_t spin = w.thread(w.spin_tid);
  ASSERT_NE(spin, MACH_PORT_NULL);
  ASSERT_EQ(thread_suspend(spin), KERN_SUCCESS);
  thread_basic_info_data_t b = basic_of(spin);
  EXPECT_EQ(b.suspend_count, 1);
  EXPECT_EQ(b.run_state, TH_STATE_STOPPED);
  x86_thread_state64_t s = state_of(spin);
  EXPECT_EQ(s.__r12, kSentinel);
  EXPECT_GE(s.__rip, uint64_t(&machd_test_spin));
  EXPECT_LT(s.__rip, uint64_t(machd_test_spin_end));
  // A second suspend counts; one resume leaves it stopped where it was.
  ASSERT_EQ(thread_suspend(spin), KERN_SUCCESS);
  EXPECT_EQ(basic_of(spin).suspend_count, 2);
  ASSERT_EQ(thread_resume(spin), KERN_SUCCESS);
  EXPECT_EQ(state_of(spin).__r12, kSentinel);
  s.__r14 = 42;
  ASSERT_EQ(thread_set_state(spin, x86_THREAD_STATE64, reinterpret_cast<thread_state_t>(&s),
                             x86_THREAD_STATE64_COUNT),
            KERN_SUCCESS);
  ASSERT_EQ(thread_resume(spin), KERN_SUCCESS);
  EXPECT_EQ(thread_resume(spin), KERN_FAILURE);  // count 0
  EXPECT_EQ(receive_value(w.inbox), 42);
  mach_port_deallocate(mach_task_self(), spin);
  w.finish();
}

TEST(Threads, ThreadBlockedInReadIsSuspendedAndItsReadCompletesAfterResume) {
  Worker w;
  w.start();
  mach_port_t rd = w.thread(w.read_tid);
  ASSERT_NE(rd, MACH_PORT_NULL);
  ASSERT_EQ(thread_suspend(rd), KERN_SUCCESS);
  x86_thread_state64_t s = state_of(rd);
  EXPECT_NE(s.__rip, 0u);
  EXPECT_NE(s.__rsp, 0u);
  ASSERT_EQ(write(w.pipe_fds[1], "Z", 1), 1);
  EXPECT_EQ(receive_value(w.inbox, 200), INT32_MIN);  // parked: nothing yet
  ASSERT_EQ(thread_resume(rd), KERN_SUCCESS);
  EXPECT_EQ(receive_value(w.inbox), 'Z');
  mach_port_deallocate(mach_task_self(), rd);
  w.finish();
}

TEST(Threads, FloatAndUnifiedFlavorsReadAParkedThread) {
  Worker w;
  w.start();
  mach_port_t spin = w.thread(w.spin_tid);
  ASSERT_EQ(thread_suspend(spin), KERN_SUCCESS);
  x86_float_state64_t f{};
  mach_msg_type_number_t n = x86_FLOAT_STATE64_COUNT;
  ASSERT_EQ(thread_get_state(spin, x86_FLOAT_STATE64, reinterpret_cast<thread_state_t>(&f), &n), KERN_SUCCESS);
  EXPECT_EQ(f.__fpu_mxcsr & 0x1f80u, 0x1f80u);  // default exception masks
  x86_avx_state64_t a{};
  n = x86_AVX_STATE64_COUNT;
  EXPECT_EQ(thread_get_state(spin, x86_AVX_STATE64, reinterpret_cast<thread_state_t>(&a), &n), KERN_SUCCESS);
  x86_thread_state_t u{};
  n = x86_THREAD_STATE_COUNT;
  ASSERT_EQ(thread_get_state(spin, x86_THREAD_STATE, reinterpret_cast<thread_state_t>(&u), &n), KERN_SUCCESS);
  EXPECT_EQ(u.tsh.flavor, uint32_t(x86_THREAD_STATE64));
  EXPECT_EQ(u.uts.ts64.__r12, kSentinel);
  x86_exception_state64_t e{};
  n = x86_EXCEPTION_STATE64_COUNT;
  EXPECT_EQ(thread_get_state(spin, x86_EXCEPTION_STATE64, reinterpret_cast<thread_state_t>(&e), &n), KERN_SUCCESS);
  x86_debug_state64_t d{};
  d.__dr7 = 0;
  d.__dr0 = 0x1000;
  EXPECT_EQ(thread_set_state(spin, x86_DEBUG_STATE64, reinterpret_cast<thread_state_t>(&d), x86_DEBUG_STATE64_COUNT),
            KERN_SUCCESS);
  x86_debug_state64_t d2{};
  n = x86_DEBUG_STATE64_COUNT;
  EXPECT_EQ(thread_get_state(spin, x86_DEBUG_STATE64, reinterpret_cast<thread_state_t>(&d2), &n), KERN_SUCCESS);
  EXPECT_EQ(d2.__dr0, 0x1000u);
  n = x86_THREAD_STATE64_COUNT - 1;
  x86_thread_state64_t small{};
  EXPECT_EQ(thread_get_state(spin, x86_THREAD_STATE64, reinterpret_cast<thread_state_t>(&small), &n),
            KERN_INVALID_ARGUMENT);
  n = 64;
  natural_t junk[64];
  EXPECT_EQ(thread_get_state(spin, 9999, junk, &n), KERN_INVALID_ARGUMENT);
  thread_resume(spin);
  mach_port_deallocate(mach_task_self(), spin);
  w.finish();
}

TEST(Threads, GetStateOfARunningThreadStopsItBriefly) {
  Worker w;
  w.start();
  mach_port_t spin = w.thread(w.spin_tid);
  EXPECT_EQ(state_of(spin).__r12, kSentinel);
  EXPECT_EQ(basic_of(spin).suspend_count, 0);
  mach_port_deallocate(mach_task_self(), spin);
  w.finish();
}

TEST(Threads, TaskThreadsListsTheWorkersThreadsButNotTheAgent) {
  Worker w;
  w.start();
  thread_act_array_t list = nullptr;
  mach_msg_type_number_t n = 0;
  ASSERT_EQ(task_threads(w.task, &list, &n), KERN_SUCCESS);
  EXPECT_EQ(n, 3u);  // main, spinner, reader
  std::vector<pid_t> tids;
  for (mach_msg_type_number_t i = 0; i < n; ++i) {
    tids.push_back(tid_of(list[i]));
    mach_port_deallocate(mach_task_self(), list[i]);
  }
  vm_deallocate(mach_task_self(), vm_address_t(list), n * sizeof(mach_port_t));
  EXPECT_NE(std::find(tids.begin(), tids.end(), w.pid), tids.end());
  EXPECT_NE(std::find(tids.begin(), tids.end(), w.spin_tid), tids.end());
  EXPECT_NE(std::find(tids.begin(), tids.end(), w.read_tid), tids.end());
  w.finish();
}

TEST(Threads, TaskSuspendStopsEveryThreadAndCountsAsXnu) {
  Worker w;
  w.start();
  ASSERT_EQ(task_suspend(w.task), KERN_SUCCESS);
  ASSERT_EQ(task_suspend(w.task), KERN_SUCCESS);
  mach_port_t spin = w.thread(w.spin_tid);
  mach_port_t rd = w.thread(w.read_tid);
  EXPECT_EQ(basic_of(spin).run_state, TH_STATE_STOPPED);
  EXPECT_EQ(basic_of(rd).run_state, TH_STATE_STOPPED);
  x86_thread_state64_t s = state_of(spin);
  EXPECT_EQ(s.__r12, kSentinel);
  s.__r14 = 7;
  ASSERT_EQ(thread_set_state(spin, x86_THREAD_STATE64, reinterpret_cast<thread_state_t>(&s),
                             x86_THREAD_STATE64_COUNT),
            KERN_SUCCESS);
  EXPECT_EQ(suspend_count_of(w.task), 2);
  ASSERT_EQ(task_resume(w.task), KERN_SUCCESS);
  EXPECT_EQ(receive_value(w.inbox, 200), INT32_MIN);  // still suspended once
  EXPECT_EQ(suspend_count_of(w.task), 1);
  ASSERT_EQ(task_resume(w.task), KERN_SUCCESS);
  EXPECT_EQ(task_resume(w.task), KERN_FAILURE);
  EXPECT_EQ(receive_value(w.inbox), 7);
  mach_port_deallocate(mach_task_self(), spin);
  mach_port_deallocate(mach_task_self(), rd);
  w.finish();
}

TEST(Threads, TaskSuspend2GivesATokenThatTaskResume2Consumes) {
  Worker w;
  w.start();
  task_suspension_token_t token = MACH_PORT_NULL;
  ASSERT_EQ(task_suspend2(w.task, &token), KERN_SUCCESS);
  ASSERT_NE(token, MACH_PORT_NULL);
  mach_port_type_t type = 0;
  ASSERT_EQ(mach_port_type(mach_task_self(), token, &type), KERN_SUCCESS);
  EXPECT_TRUE(type & MACH_PORT_TYPE_SEND_ONCE);
  mach_port_t spin = w.thread(w.spin_tid);
  x86_thread_state64_t s = state_of(spin);
  EXPECT_EQ(basic_of(spin).run_state, TH_STATE_STOPPED);
  s.__r14 = 9;
  ASSERT_EQ(thread_set_state(spin, x86_THREAD_STATE64, reinterpret_cast<thread_state_t>(&s),
                             x86_THREAD_STATE64_COUNT),
            KERN_SUCCESS);
  ASSERT_EQ(task_resume2(token), KERN_SUCCESS);
  EXPECT_EQ(receive_value(w.inbox), 9);
  EXPECT_EQ(mach_port_type(mach_task_self(), token, &type), KERN_INVALID_NAME);  // consumed
  mach_port_deallocate(mach_task_self(), spin);
  w.finish();
}

TEST(Threads, ATaskSuspend2TokenDestroyedUnusedEndsItsSuspension) {
  Worker w;
  w.start();
  task_suspension_token_t token = MACH_PORT_NULL;
  ASSERT_EQ(task_suspend2(w.task, &token), KERN_SUCCESS);
  EXPECT_EQ(suspend_count_of(w.task), 1);
  mach_port_t spin = w.thread(w.spin_tid);
  x86_thread_state64_t s = state_of(spin);
  s.__r14 = 11;
  ASSERT_EQ(thread_set_state(spin, x86_THREAD_STATE64, reinterpret_cast<thread_state_t>(&s),
                             x86_THREAD_STATE64_COUNT),
            KERN_SUCCESS);
  EXPECT_EQ(receive_value(w.inbox, 200), INT32_MIN);  // suspended
  ASSERT_EQ(mach_port_deallocate(mach_task_self(), token), KERN_SUCCESS);
  EXPECT_EQ(receive_value(w.inbox), 11);
  EXPECT_EQ(suspend_count_of(w.task), 0);
  EXPECT_EQ(task_resume(w.task), KERN_FAILURE);  // the dropped token took its suspension with it
  mach_port_deallocate(mach_task_self(), spin);
  w.finish();
}

// Sends a header-only message with id `id` to `dest` (moved with
// `disposition`), without a reply port.
mach_msg_return_t send_bare(mach_port_t dest, mach_msg_type_name_t disposition, mach_msg_id_t id) {
  mach_msg_header_t h{};
  h.msgh_bits = MACH_MSGH_BITS(disposition, 0);
  h.msgh_size = sizeof h;
  h.msgh_remote_port = dest;
  h.msgh_id = id;
  return mach_msg(&h, MACH_SEND_MSG, sizeof h, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL);
}

// Whether the worker's spinner runs: it is given `value` to report (a
// thread_set_state works on a running thread too) and reports it unless
// its task stays suspended.
bool spinner_runs(Worker& w, uint64_t value) {
  mach_port_t spin = w.thread(w.spin_tid);
  x86_thread_state64_t s = state_of(spin);
  s.__r14 = value;
  const bool set = thread_set_state(spin, x86_THREAD_STATE64, reinterpret_cast<thread_state_t>(&s),
                                    x86_THREAD_STATE64_COUNT) == KERN_SUCCESS;
  mach_port_deallocate(mach_task_self(), spin);
  return set && receive_value(w.inbox) == int32_t(value);
}

// XNU's release_task_hold: a task that has ended has no hold to release.
TEST(Threads, TaskResume2OfATaskThatEndedIsKernFailure) {
  const Holdings before = holdings();
  Worker w;
  w.start();
  task_suspension_token_t token = MACH_PORT_NULL;
  ASSERT_EQ(task_suspend2(w.task, &token), KERN_SUCCESS);
  kill(w.pid, SIGKILL);
  wait_exit(w.pid);
  w.pid = -1;
  ASSERT_TRUE(wait_for_tasks(before.tasks));  // machd saw it end
  EXPECT_EQ(task_resume2(token), KERN_FAILURE);
  w.finish();
}

// As when XNU destroys a request that used a token's send-once right: any
// message other than task_resume2 uses the token up, and ends its suspension.
TEST(Threads, ATaskSuspend2TokenUsedUpByAnotherMessageEndsItsSuspension) {
  const Holdings before = holdings();
  Worker w;
  w.start();
  task_suspension_token_t token = MACH_PORT_NULL;
  ASSERT_EQ(task_suspend2(w.task, &token), KERN_SUCCESS);
  ASSERT_EQ(send_bare(token, MACH_MSG_TYPE_MOVE_SEND_ONCE, 0x7e57), MACH_MSG_SUCCESS);  // no routine has this id
  EXPECT_TRUE(spinner_runs(w, 12));
  EXPECT_EQ(suspend_count_of(w.task), 0);
  w.finish();
  EXPECT_TRUE(wait_for_tasks(before.tasks));
  EXPECT_EQ(holdings().ports, before.ports) << "the token's port stayed in machd";
}

// task_suspend2 without a reply port: the token is never given, so it dies
// unused with the reply, and the task is not left suspended.
TEST(Threads, ATaskSuspend2WithoutAReplyPortLeavesTheTaskRunning) {
  const Holdings before = holdings();
  Worker w;
  w.start();
  ASSERT_EQ(send_bare(w.task, MACH_MSG_TYPE_COPY_SEND, 3436), MACH_MSG_SUCCESS);  // task_suspend2
  EXPECT_TRUE(spinner_runs(w, 14));
  w.finish();
  EXPECT_TRUE(wait_for_tasks(before.tasks));
  EXPECT_EQ(holdings().ports, before.ports) << "the token's port stayed in machd";
}

TEST(Threads, ThreadCreateRunningInAnotherTaskRunsCodeGivenByAddress) {
  Worker w;
  w.start();
  x86_thread_state64_t s{};
  s.__rip = uint64_t(&created_entry);
  s.__rsp = uint64_t(g_stack + sizeof g_stack) - 8;  // as after a call
  s.__rdi = 77;
  mach_port_t t = MACH_PORT_NULL;
  ASSERT_EQ(thread_create_running(w.task, x86_THREAD_STATE64, reinterpret_cast<thread_state_t>(&s),
                                  x86_THREAD_STATE64_COUNT, &t),
            KERN_SUCCESS);
  EXPECT_NE(t, MACH_PORT_NULL);
  EXPECT_EQ(receive_value(w.inbox), 77);
  mach_port_deallocate(mach_task_self(), t);
  w.finish();
}

TEST(Threads, ThreadCreateStartsSuspendedUntilGivenAStateAndResumed) {
  Worker w;
  w.start();
  mach_port_t t = MACH_PORT_NULL;
  ASSERT_EQ(thread_create(w.task, &t), KERN_SUCCESS);
  EXPECT_EQ(basic_of(t).suspend_count, 1);
  x86_thread_state64_t s = state_of(t);
  s.__rip = uint64_t(&created_entry);
  s.__rsp = uint64_t(g_stack + sizeof g_stack) - 8;
  s.__rdi = 78;
  ASSERT_EQ(thread_set_state(t, x86_THREAD_STATE64, reinterpret_cast<thread_state_t>(&s), x86_THREAD_STATE64_COUNT),
            KERN_SUCCESS);
  EXPECT_EQ(receive_value(w.inbox, 200), INT32_MIN);
  ASSERT_EQ(thread_resume(t), KERN_SUCCESS);
  EXPECT_EQ(receive_value(w.inbox), 78);
  mach_port_deallocate(mach_task_self(), t);
  w.finish();
}

TEST(Threads, ThreadTerminateEndsAnotherTasksThreadAndConsumesTheRight) {
  Worker w;
  w.start();
  mach_port_t spin = w.thread(w.spin_tid);
  ASSERT_EQ(thread_terminate(spin), KERN_SUCCESS);
  // thread_act_consume_ref_t: the caller's send right went with the request.
  mach_port_type_t type = 0;
  EXPECT_EQ(mach_port_type(mach_task_self(), spin, &type), KERN_INVALID_NAME);
  EXPECT_EQ(w.thread(w.spin_tid), MACH_PORT_NULL);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d", w.pid, w.spin_tid);
  for (int i = 0; i < 200 && access(path, F_OK) == 0; ++i) usleep(5000);
  EXPECT_NE(access(path, F_OK), 0);
  w.finish();
}

TEST(Threads, ThreadInfoExtendedAndPoliciesAreReported) {
  mach_port_t self = mach_thread_self();
  thread_extended_info_data_t e{};
  mach_msg_type_number_t n = THREAD_EXTENDED_INFO_COUNT;
  ASSERT_EQ(thread_info(self, THREAD_EXTENDED_INFO, reinterpret_cast<thread_info_t>(&e), &n), KERN_SUCCESS);
  // The caller waits for machd's answer meanwhile: running or waiting.
  EXPECT_TRUE(e.pth_run_state == TH_STATE_RUNNING || e.pth_run_state == TH_STATE_WAITING);
  EXPECT_GT(strlen(e.pth_name), 0u);
  thread_extended_policy_data_t ext{};
  boolean_t def = FALSE;
  n = THREAD_EXTENDED_POLICY_COUNT;
  ASSERT_EQ(thread_policy_get(self, THREAD_EXTENDED_POLICY, reinterpret_cast<thread_policy_t>(&ext), &n, &def),
            KERN_SUCCESS);
  EXPECT_TRUE(def);
  thread_precedence_policy_data_t p{5};
  ASSERT_EQ(thread_policy_set(self, THREAD_PRECEDENCE_POLICY, reinterpret_cast<thread_policy_t>(&p),
                              THREAD_PRECEDENCE_POLICY_COUNT),
            KERN_SUCCESS);
  thread_precedence_policy_data_t got{};
  def = FALSE;
  n = THREAD_PRECEDENCE_POLICY_COUNT;
  ASSERT_EQ(thread_policy_get(self, THREAD_PRECEDENCE_POLICY, reinterpret_cast<thread_policy_t>(&got), &n, &def),
            KERN_SUCCESS);
  EXPECT_EQ(got.importance, 5);
  EXPECT_FALSE(def);
  EXPECT_EQ(thread_policy_set(self, 1234, reinterpret_cast<thread_policy_t>(&p), 1), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(thread_switch(MACH_PORT_NULL, SWITCH_OPTION_NONE, 0), KERN_SUCCESS);
  EXPECT_EQ(thread_switch(MACH_PORT_NULL, 99, 0), KERN_INVALID_ARGUMENT);
  swtch_pri(0);
  mach_port_deallocate(mach_task_self(), self);
}

TEST(Threads, KillingASuspendedWorkerLeavesNothingBehind) {
  const Holdings before = holdings();
  {
    Worker w;
    w.start();
    ASSERT_EQ(task_suspend(w.task), KERN_SUCCESS);
    mach_port_t spin = w.thread(w.spin_tid);
    ASSERT_EQ(thread_suspend(spin), KERN_SUCCESS);
    mach_port_deallocate(mach_task_self(), spin);
    w.finish();
  }
  ASSERT_TRUE(wait_for_tasks(before.tasks));
  const Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
  EXPECT_EQ(after.messages, before.messages);
  EXPECT_EQ(after.waiters, before.waiters);
}
