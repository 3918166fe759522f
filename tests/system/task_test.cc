// tests/system/task_test.cc — the task object (machd/kern/task.h): task
// ports by pid, the port flavors, special and registered ports, task_info
// of any task, task_terminate, and the per-task settings XNU stores.
// A controller (this process) acts on forked worker tasks.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mach_param.h>
#include <mach/notify.h>
#include <mach/task_info.h>
#include <mach/task_policy.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "support.h"

using namespace systest;

namespace {

mach_port_t self() { return mach_task_self(); }

// A forked worker task that waits until the controller lets it go.
struct Worker {
  pid_t pid = -1;
  int go = -1;  // closing it lets the worker exit 0
  Worker() {
    int ready[2], gate[2];
    if (pipe(ready) != 0 || pipe(gate) != 0) return;
    pid = spawn_task([&] {
      close(ready[0]);
      close(gate[1]);
      mach_port_t p = MACH_PORT_NULL;  // connected since fork; prove it
      if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) return 3;
      char c = 1;
      if (write(ready[1], &c, 1) != 1) return 4;
      (void)!read(gate[0], &c, 1);
      return 0;
    });
    close(ready[1]);
    close(gate[0]);
    char c;
    if (read(ready[0], &c, 1) != 1) pid = -1;
    close(ready[0]);
    go = gate[1];
  }
  int finish() {
    if (go >= 0) close(go);
    go = -1;
    return pid > 0 ? wait_exit(pid) : -1;
  }
  ~Worker() { finish(); }
};

mach_port_t special(mach_port_t task, int which, kern_return_t* kr = nullptr) {
  mach_port_t p = MACH_PORT_NULL;
  kern_return_t r = task_get_special_port(task, which, &p);
  if (kr) *kr = r;
  return p;
}

mach_port_type_t type_of(mach_port_t name) {
  mach_port_type_t t = 0;
  return mach_port_type(self(), name, &t) == KERN_SUCCESS ? t : 0;
}

int pid_of(mach_port_t task) {
  int pid = -1;
  return pid_for_task(task, &pid) == KERN_SUCCESS ? pid : -1;
}

bool ports_back_to(uint64_t ports) {
  for (int i = 0; i < 500; i++) {
    if (holdings().ports == ports) return true;
    usleep(10000);
  }
  return false;
}

}  // namespace

TEST(Task, TaskForPidOfAForkedChildGivesItsControlPortOnWhichTaskInfoWorks) {
  Worker w;
  ASSERT_GT(w.pid, 0);
  mach_port_t t = MACH_PORT_NULL;
  ASSERT_EQ(task_for_pid(self(), w.pid, &t), KERN_SUCCESS);
  EXPECT_EQ(type_of(t), MACH_PORT_TYPE_SEND);
  EXPECT_NE(t, self());
  EXPECT_EQ(pid_of(t), w.pid);
  mach_task_basic_info_data_t info{};
  mach_msg_type_number_t n = MACH_TASK_BASIC_INFO_COUNT;
  ASSERT_EQ(task_info(t, MACH_TASK_BASIC_INFO, task_info_t(&info), &n), KERN_SUCCESS);
  EXPECT_EQ(n, MACH_TASK_BASIC_INFO_COUNT);
  EXPECT_GT(info.resident_size, 0u);
  EXPECT_GE(info.virtual_size, info.resident_size);
  EXPECT_EQ(info.policy, POLICY_TIMESHARE);
  mach_port_deallocate(self(), t);
  EXPECT_EQ(w.finish(), 0);
}

TEST(Task, TaskForPidOfItselfIsItsOwnTaskPort) {
  mach_port_t t = MACH_PORT_NULL;
  ASSERT_EQ(task_for_pid(self(), getpid(), &t), KERN_SUCCESS);
  EXPECT_EQ(t, self());
  mach_port_deallocate(self(), t);
}

TEST(Task, TaskForPidOfPidZeroAnUnknownPidOrWithoutATaskPortFails) {
  mach_port_t t = 1234;
  EXPECT_EQ(task_for_pid(self(), 0, &t), KERN_FAILURE);  // the kernel task: as macOS
  EXPECT_EQ(t, MACH_PORT_NULL);
  EXPECT_EQ(task_for_pid(self(), 0x3ffffff, &t), KERN_FAILURE);
  EXPECT_EQ(task_for_pid(MACH_PORT_NULL, getpid(), &t), KERN_FAILURE);
  EXPECT_EQ(task_name_for_pid(self(), 0, &t), KERN_FAILURE);
  int pid = 0;
  EXPECT_EQ(pid_for_task(MACH_PORT_NULL, &pid), KERN_FAILURE);
}

TEST(Task, TaskForPidAcrossUsersIsDeniedAndTheNamePortToo) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: the worker must setuid() to another user";
  const pid_t root_pid = getpid();
  const int rc = run_as_nobody([&] {
    mach_port_t t = MACH_PORT_NULL;
    if (task_for_pid(mach_task_self(), root_pid, &t) != KERN_FAILURE) return 11;
    if (t != MACH_PORT_NULL) return 12;
    if (task_name_for_pid(mach_task_self(), root_pid, &t) != KERN_FAILURE) return 13;
    if (task_for_pid(mach_task_self(), getpid(), &t) != KERN_SUCCESS) return 14;  // itself: yes
    return 0;
  });
  EXPECT_EQ(rc, 0) << "11/12: task_for_pid was not denied; 13: task_name_for_pid; 14: own pid";
}

TEST(Task, RootGetsTheTaskPortOfAnotherUsersTask) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  Worker w;  // connected with root's identity at fork; this checks the root rule only
  mach_port_t t = MACH_PORT_NULL;
  ASSERT_EQ(task_for_pid(self(), w.pid, &t), KERN_SUCCESS);
  mach_port_deallocate(self(), t);
}

TEST(Task, TaskNameForPidGivesANamePortThatAnswersTaskInfoButNotTerminate) {
  Worker w;
  mach_port_t n = MACH_PORT_NULL;
  ASSERT_EQ(task_name_for_pid(self(), w.pid, &n), KERN_SUCCESS);
  EXPECT_EQ(pid_of(n), w.pid);
  task_flags_info_data_t f{};
  mach_msg_type_number_t c = TASK_FLAGS_INFO_COUNT;
  ASSERT_EQ(task_info(n, TASK_FLAGS_INFO, task_info_t(&f), &c), KERN_SUCCESS);
  EXPECT_EQ(f.flags & TF_LP64, uint32_t(TF_LP64));
  EXPECT_EQ(task_terminate(n), KERN_INVALID_ARGUMENT);
  mach_port_t p = MACH_PORT_NULL;
  EXPECT_EQ(task_get_special_port(n, TASK_NAME_PORT, &p), KERN_INVALID_ARGUMENT);  // not an inspect port
  mach_port_deallocate(self(), n);
  EXPECT_EQ(w.finish(), 0);
}

TEST(Task, EverySpecialPortIsARealSendRight) {
  kern_return_t kr;
  mach_port_t k = special(self(), TASK_KERNEL_PORT, &kr);
  ASSERT_EQ(kr, KERN_SUCCESS);
  EXPECT_EQ(k, self());
  mach_port_deallocate(self(), k);
  mach_port_t host = special(self(), TASK_HOST_PORT, &kr);
  ASSERT_EQ(kr, KERN_SUCCESS);
  mach_port_t hs = mach_host_self();
  EXPECT_EQ(host, hs);
  mach_port_deallocate(self(), host);
  mach_port_deallocate(self(), hs);
  mach_port_t bp = special(self(), TASK_BOOTSTRAP_PORT, &kr);
  ASSERT_EQ(kr, KERN_SUCCESS);
  EXPECT_EQ(bp, bootstrap_port);
  mach_port_deallocate(self(), bp);
  for (int which : {TASK_READ_PORT, TASK_INSPECT_PORT, TASK_NAME_PORT}) {
    mach_port_t p = special(self(), which, &kr);
    ASSERT_EQ(kr, KERN_SUCCESS) << which;
    EXPECT_EQ(type_of(p), MACH_PORT_TYPE_SEND) << which;
    EXPECT_NE(p, self()) << which;
    EXPECT_EQ(pid_of(p), getpid()) << which;
    mach_port_t again = special(self(), which);
    EXPECT_EQ(again, p) << "one port per flavor: " << which;
    mach_port_deallocate(self(), again);
    mach_port_deallocate(self(), p);
  }
  EXPECT_EQ(task_get_special_port(self(), 8, &bp), KERN_INVALID_ARGUMENT);
}

TEST(Task, ReadAndInspectPortsReachOnlyWeakerSpecialPorts) {
  mach_port_t rd = special(self(), TASK_READ_PORT), in = special(self(), TASK_INSPECT_PORT);
  kern_return_t kr;
  mach_port_t p = special(rd, TASK_INSPECT_PORT, &kr);
  EXPECT_EQ(kr, KERN_SUCCESS);
  mach_port_deallocate(self(), p);
  special(rd, TASK_KERNEL_PORT, &kr);
  EXPECT_EQ(kr, KERN_INVALID_CAPABILITY);
  special(rd, TASK_BOOTSTRAP_PORT, &kr);
  EXPECT_EQ(kr, KERN_INVALID_CAPABILITY);
  p = special(in, TASK_NAME_PORT, &kr);
  EXPECT_EQ(kr, KERN_SUCCESS);
  mach_port_deallocate(self(), p);
  special(in, TASK_READ_PORT, &kr);
  EXPECT_EQ(kr, KERN_INVALID_CAPABILITY);
  mach_port_deallocate(self(), rd);
  mach_port_deallocate(self(), in);
}

TEST(Task, SettingSpecialPortsFailsAsXnuExceptTheSettableOnes) {
  mach_port_t p = make_port();
  EXPECT_EQ(task_set_special_port(self(), TASK_KERNEL_PORT, p), KERN_NO_ACCESS);
  EXPECT_EQ(task_set_special_port(self(), TASK_HOST_PORT, p), KERN_NO_ACCESS);
  for (int which : {TASK_READ_PORT, TASK_INSPECT_PORT, TASK_NAME_PORT, 8})
    EXPECT_EQ(task_set_special_port(self(), which, p), KERN_INVALID_ARGUMENT) << which;
  mach_port_t rd = special(self(), TASK_READ_PORT);
  EXPECT_EQ(task_set_special_port(rd, TASK_BOOTSTRAP_PORT, p), KERN_INVALID_ARGUMENT);  // task_t only
  mach_port_deallocate(self(), rd);
  // TASK_BOOTSTRAP_PORT is settable, and reads back.
  ASSERT_EQ(task_set_special_port(self(), TASK_BOOTSTRAP_PORT, p), KERN_SUCCESS);
  mach_port_t got = special(self(), TASK_BOOTSTRAP_PORT);
  EXPECT_EQ(got, p);
  mach_port_deallocate(self(), got);
  ASSERT_EQ(task_set_special_port(self(), TASK_BOOTSTRAP_PORT, bootstrap_port), KERN_SUCCESS);
  mach_port_urefs_t refs = 0;
  mach_port_get_refs(self(), p, MACH_PORT_RIGHT_SEND, &refs);
  EXPECT_EQ(refs, 1u) << "refused and replaced rights are released";
  mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(self(), p);
}

TEST(Task, TaskInfoOfAnotherTaskAnswersEveryFlavorWithItsCount) {
  Worker w;
  mach_port_t t = MACH_PORT_NULL;
  ASSERT_EQ(task_for_pid(self(), w.pid, &t), KERN_SUCCESS);
  struct Case {
    task_flavor_t flavor;
    mach_msg_type_number_t count;
  };
  const Case cases[] = {
      {TASK_BASIC_INFO_32, TASK_BASIC_INFO_32_COUNT},       {TASK_BASIC2_INFO_32, TASK_BASIC_INFO_32_COUNT},
      {TASK_BASIC_INFO_64, TASK_BASIC_INFO_64_COUNT},       {MACH_TASK_BASIC_INFO, MACH_TASK_BASIC_INFO_COUNT},
      {TASK_EVENTS_INFO, TASK_EVENTS_INFO_COUNT},           {TASK_THREAD_TIMES_INFO, TASK_THREAD_TIMES_INFO_COUNT},
      {TASK_ABSOLUTETIME_INFO, TASK_ABSOLUTETIME_INFO_COUNT}, {TASK_VM_INFO, TASK_VM_INFO_COUNT},
      {TASK_FLAGS_INFO, TASK_FLAGS_INFO_COUNT},             {TASK_POWER_INFO, TASK_POWER_INFO_COUNT},
      {TASK_POWER_INFO_V2, TASK_POWER_INFO_V2_COUNT},       {TASK_AUDIT_TOKEN, TASK_AUDIT_TOKEN_COUNT},
      {TASK_SECURITY_TOKEN, TASK_SECURITY_TOKEN_COUNT},
  };
  for (const Case& c : cases) {
    integer_t buf[TASK_INFO_MAX] = {};
    mach_msg_type_number_t n = TASK_INFO_MAX;
    EXPECT_EQ(task_info(t, c.flavor, buf, &n), KERN_SUCCESS) << c.flavor;
    EXPECT_EQ(n, c.count) << "a big buffer gets the whole record: " << c.flavor;
    n = c.count - 1;
    if (c.flavor == TASK_VM_INFO) n = TASK_VM_INFO_REV0_COUNT - 1;
    if (c.flavor == TASK_POWER_INFO_V2) n = TASK_POWER_INFO_V2_COUNT_OLD - 1;
    EXPECT_EQ(task_info(t, c.flavor, buf, &n), KERN_INVALID_ARGUMENT) << "count too small: " << c.flavor;
  }
  audit_token_t tok{};
  mach_msg_type_number_t n = TASK_AUDIT_TOKEN_COUNT;
  ASSERT_EQ(task_info(t, TASK_AUDIT_TOKEN, task_info_t(&tok), &n), KERN_SUCCESS);
  EXPECT_EQ(int(tok.val[5]), w.pid);
  EXPECT_EQ(tok.val[1], geteuid());
  // TASK_VM_INFO answers the newest revision the count holds.
  task_vm_info_data_t vm{};
  n = TASK_VM_INFO_REV1_COUNT + 1;
  ASSERT_EQ(task_info(t, TASK_VM_INFO, task_info_t(&vm), &n), KERN_SUCCESS);
  EXPECT_EQ(n, TASK_VM_INFO_REV1_COUNT);
  EXPECT_GT(vm.region_count, 0);
  EXPECT_EQ(vm.page_size, integer_t(getpagesize()));
  EXPECT_GT(vm.phys_footprint, 0u);
  n = TASK_POWER_INFO_V2_COUNT_OLD;
  task_power_info_v2_data_t pw{};
  ASSERT_EQ(task_info(t, TASK_POWER_INFO_V2, task_info_t(&pw), &n), KERN_SUCCESS);
  EXPECT_EQ(n, TASK_POWER_INFO_V2_COUNT_OLD);
  integer_t buf[TASK_INFO_MAX];
  n = TASK_INFO_MAX;
  EXPECT_EQ(task_info(t, 9999, buf, &n), KERN_INVALID_ARGUMENT);
  mach_port_deallocate(self(), t);
  EXPECT_EQ(w.finish(), 0);
}

TEST(Task, TaskInfoThreadTimesAndBasicInfoSplitLiveFromTerminatedThreads) {
  // Burn some CPU so the totals are not all zero, then compare the sum.
  volatile uint64_t x = 0;
  for (uint64_t i = 0; i < 200000000ull; i++) x = x + i;
  task_absolutetime_info_data_t abs{};
  mach_msg_type_number_t n = TASK_ABSOLUTETIME_INFO_COUNT;
  ASSERT_EQ(task_info(self(), TASK_ABSOLUTETIME_INFO, task_info_t(&abs), &n), KERN_SUCCESS);
  EXPECT_GT(abs.total_user, 0u);
  EXPECT_LE(abs.threads_user, abs.total_user);
  EXPECT_LE(abs.threads_system, abs.total_system);
}

TEST(Task, TaskTerminateKillsTheChildAndItsTaskPortDies) {
  Worker w;
  mach_port_t t = MACH_PORT_NULL;
  ASSERT_EQ(task_for_pid(self(), w.pid, &t), KERN_SUCCESS);
  mach_port_t notify = make_port(), prev = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_request_notification(self(), t, MACH_NOTIFY_DEAD_NAME, 0, notify, MACH_MSG_TYPE_MAKE_SEND_ONCE,
                                           &prev),
            KERN_SUCCESS);
  ASSERT_EQ(task_terminate(t), KERN_SUCCESS);
  EXPECT_EQ(wait_exit(w.pid), 128 + SIGKILL);
  w.pid = -1;
  struct {
    mach_dead_name_notification_t n;
    mach_msg_max_trailer_t trailer;
  } msg{};
  ASSERT_EQ(mach_msg(&msg.n.not_header, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof msg, notify, 5000, MACH_PORT_NULL),
            MACH_MSG_SUCCESS);
  EXPECT_EQ(msg.n.not_header.msgh_id, MACH_NOTIFY_DEAD_NAME);
  EXPECT_EQ(msg.n.not_port, t);
  EXPECT_EQ(type_of(t), MACH_PORT_TYPE_DEAD_NAME);
  mach_port_mod_refs(self(), t, MACH_PORT_RIGHT_DEAD_NAME, -2);  // the notification's reference too
  mach_port_mod_refs(self(), notify, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(self(), notify);
}

TEST(Task, TaskTerminateOfItselfEndsTheProcess) {
  pid_t pid = spawn_task([] {
    task_terminate(mach_task_self());
    return 7;  // not reached
  });
  EXPECT_EQ(wait_exit(pid), 128 + SIGKILL);
}

TEST(Task, MachPortsRegisterAndLookupRoundTrip) {
  mach_port_t a = make_port(), b = make_port();
  mach_port_t set[2] = {a, b};
  ASSERT_EQ(mach_ports_register(self(), set, 2), KERN_SUCCESS);
  mach_port_array_t got = nullptr;
  mach_msg_type_number_t n = 0;
  ASSERT_EQ(mach_ports_lookup(self(), &got, &n), KERN_SUCCESS);
  ASSERT_EQ(n, mach_msg_type_number_t(TASK_PORT_REGISTER_MAX));
  EXPECT_EQ(got[0], a);
  EXPECT_EQ(got[1], b);
  EXPECT_EQ(got[2], MACH_PORT_NULL);
  for (mach_msg_type_number_t i = 0; i < n; i++)
    if (MACH_PORT_VALID(got[i])) mach_port_deallocate(self(), got[i]);
  vm_deallocate(self(), vm_address_t(got), n * sizeof(mach_port_t));
  mach_port_t four[4] = {a, b, a, b};
  EXPECT_EQ(mach_ports_register(self(), four, 4), KERN_INVALID_ARGUMENT);
  ASSERT_EQ(mach_ports_register(self(), nullptr, 0), KERN_SUCCESS);  // clears them
  mach_port_urefs_t refs = 0;
  mach_port_get_refs(self(), a, MACH_PORT_RIGHT_SEND, &refs);
  EXPECT_EQ(refs, 1u) << "machd released what it held";
  for (mach_port_t p : {a, b}) {
    mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
    mach_port_deallocate(self(), p);
  }
}

TEST(Task, ExcGuardBehaviorIsStoredAndReported) {
  task_exc_guard_behavior_t before = 0, got = 0;
  ASSERT_EQ(task_get_exc_guard_behavior(self(), &before), KERN_SUCCESS);
  const task_exc_guard_behavior_t want = TASK_EXC_GUARD_MP_DELIVER | TASK_EXC_GUARD_VM_FATAL;
  ASSERT_EQ(task_set_exc_guard_behavior(self(), want), KERN_SUCCESS);
  ASSERT_EQ(task_get_exc_guard_behavior(self(), &got), KERN_SUCCESS);
  EXPECT_EQ(got, want);
  EXPECT_EQ(task_set_exc_guard_behavior(self(), 0x10000), KERN_INVALID_VALUE);
  mach_port_t in = special(self(), TASK_INSPECT_PORT);
  ASSERT_EQ(task_get_exc_guard_behavior(in, &got), KERN_SUCCESS);  // inspect is enough to read
  EXPECT_EQ(got, want);
  EXPECT_EQ(task_set_exc_guard_behavior(in, 0), KERN_INVALID_TASK);  // setting needs control
  mach_port_deallocate(self(), in);
  ASSERT_EQ(task_set_exc_guard_behavior(self(), before), KERN_SUCCESS);
}

TEST(Task, IdentityTokenGivesBackTheTasksPortOfEachFlavor) {
  task_id_token_t tok = MACH_PORT_NULL;
  ASSERT_EQ(task_create_identity_token(self(), &tok), KERN_SUCCESS);
  EXPECT_EQ(type_of(tok), MACH_PORT_TYPE_SEND);
  mach_port_t p = MACH_PORT_NULL;
  ASSERT_EQ(task_identity_token_get_task_port(tok, TASK_FLAVOR_CONTROL, &p), KERN_SUCCESS);
  EXPECT_EQ(p, self());
  mach_port_deallocate(self(), p);
  ASSERT_EQ(task_identity_token_get_task_port(tok, TASK_FLAVOR_NAME, &p), KERN_SUCCESS);
  EXPECT_EQ(pid_of(p), getpid());
  mach_port_deallocate(self(), p);
  EXPECT_EQ(task_identity_token_get_task_port(tok, 7, &p), KERN_INVALID_ARGUMENT);
  mach_port_deallocate(self(), tok);
}

TEST(Task, PolicyIsAcceptedAndReportedAndTaskCreateIsGone) {
  task_category_policy_data_t cat{TASK_FOREGROUND_APPLICATION};
  ASSERT_EQ(task_policy_set(self(), TASK_CATEGORY_POLICY, task_policy_t(&cat), TASK_CATEGORY_POLICY_COUNT),
            KERN_SUCCESS);
  task_category_policy_data_t got{};
  mach_msg_type_number_t n = TASK_CATEGORY_POLICY_COUNT;
  boolean_t dflt = FALSE;
  ASSERT_EQ(task_policy_get(self(), TASK_CATEGORY_POLICY, task_policy_t(&got), &n, &dflt), KERN_SUCCESS);
  EXPECT_EQ(got.role, TASK_FOREGROUND_APPLICATION);
  dflt = TRUE;
  ASSERT_EQ(task_policy_get(self(), TASK_CATEGORY_POLICY, task_policy_t(&got), &n, &dflt), KERN_SUCCESS);
  EXPECT_EQ(got.role, TASK_UNSPECIFIED);
  task_t child = MACH_PORT_NULL;
  EXPECT_EQ(task_create(self(), nullptr, 0, FALSE, &child), KERN_FAILURE);  // XNU: not supported any more
  integer_t info[4] = {};
  EXPECT_EQ(task_set_info(self(), TASK_BASIC_INFO_64, info, 4), KERN_INVALID_ARGUMENT);
}

TEST(Task, FlavorPortsGoAwayWithTheirLastSendRight) {
  const uint64_t ports = holdings().ports;
  mach_port_t rd = special(self(), TASK_READ_PORT), nm = special(self(), TASK_NAME_PORT);
  EXPECT_EQ(holdings().ports, ports + 2);
  mach_port_deallocate(self(), rd);
  mach_port_deallocate(self(), nm);
  EXPECT_TRUE(ports_back_to(ports)) << "no-senders destroys the read and name ports";
  task_id_token_t tok = MACH_PORT_NULL;
  ASSERT_EQ(task_create_identity_token(self(), &tok), KERN_SUCCESS);
  mach_port_deallocate(self(), tok);
  EXPECT_TRUE(ports_back_to(ports)) << "and the identity token's";
}
