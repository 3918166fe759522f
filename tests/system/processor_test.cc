// tests/system/processor_test.cc — host_priv and what it opens
// (machd/kern/host.cc, host_special_ports.cc, processor.cc,
// processor_set.cc): a root task's host port is host_priv (XNU
// set_security_token), the per-CPU processor ports, the processor set's
// information and task list, the host special ports; each privileged call
// refused for the host name port as XNU refuses it.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/host_special_ports.h>
#include <mach/mach_host.h>
#include <mach/processor.h>
#include <mach/processor_set.h>
#include <mach/task_special_ports.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "support.h"

using namespace systest;

namespace {

// mach_host_self() of this (root) test task, and the host name port
// obtained from it.
struct Hosts {
  mach_port_t priv = mach_host_self();
  mach_port_t name = MACH_PORT_NULL;
  Hosts() { host_get_special_port(priv, HOST_LOCAL_NODE, HOST_PORT, &name); }
  ~Hosts() {
    mach_port_deallocate(mach_task_self(), priv);
    mach_port_deallocate(mach_task_self(), name);
  }
};

void free_ports(mach_port_t* list, mach_msg_type_number_t n) {
  for (mach_msg_type_number_t i = 0; i < n; ++i) mach_port_deallocate(mach_task_self(), list[i]);
  vm_deallocate(mach_task_self(), vm_address_t(list), n * sizeof(mach_port_t));
}

}  // namespace

TEST(HostPriv, RootTaskHostSelfIsHostPriv) {
  SKIP_UNLESS_ROOT();
  Hosts h;
  ASSERT_TRUE(MACH_PORT_VALID(h.name));
  EXPECT_NE(h.name, h.priv);
  mach_port_t again = MACH_PORT_NULL;
  ASSERT_EQ(host_get_special_port(h.priv, HOST_LOCAL_NODE, HOST_PRIV_PORT, &again), KERN_SUCCESS);
  EXPECT_EQ(again, h.priv);
  mach_port_deallocate(mach_task_self(), again);
  // The task's TASK_HOST_PORT is the same port (XNU itk_host).
  ASSERT_EQ(task_get_special_port(mach_task_self(), TASK_HOST_PORT, &again), KERN_SUCCESS);
  EXPECT_EQ(again, h.priv);
  mach_port_deallocate(mach_task_self(), again);
  // The host name port still answers the unprivileged calls.
  kernel_version_t v{};
  EXPECT_EQ(host_kernel_version(h.name, v), KERN_SUCCESS);
}

// The helper runs as nobody: the test opens this test run's private machd
// socket (and its temporary directory) to it for the test's duration.
TEST(HostPriv, NonRootTaskHostSelfIsTheNamePort) {
  const char* helper = getenv("TASK_HELPER");
  const char* sock = getenv("MACHD_SOCKET");
  ASSERT_NE(helper, nullptr);
  ASSERT_NE(sock, nullptr);
  const std::string dir = std::string(sock).substr(0, std::string(sock).rfind('/'));
  struct stat dir_st{}, sock_st{};
  ASSERT_EQ(stat(dir.c_str(), &dir_st), 0);
  ASSERT_EQ(stat(sock, &sock_st), 0);
  chmod(dir.c_str(), dir_st.st_mode | 0011);
  chmod(sock, sock_st.st_mode | 0666);
  pid_t pid = fork();
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(126);
    execl(helper, helper, "host-port", static_cast<char*>(nullptr));
    _exit(127);
  }
  int code = wait_exit(pid);
  chmod(dir.c_str(), dir_st.st_mode & 07777);
  chmod(sock, sock_st.st_mode & 07777);
  if (code == 126) GTEST_SKIP() << "cannot become nobody here";
  if (code == 32) GTEST_SKIP() << "nobody cannot reach this machd's socket";
  EXPECT_EQ(code, 30) << "a non-root task's host_processors(mach_host_self()) is refused";
  if (geteuid() != 0) return;  // the other half is a root task's
  // And a root one's is not.
  pid = fork();
  if (pid == 0) {
    execl(helper, helper, "host-port", static_cast<char*>(nullptr));
    _exit(127);
  }
  EXPECT_EQ(wait_exit(pid), 0);
}

TEST(HostPriv, PrivilegedCallsRefuseTheHostNamePort) {
  SKIP_UNLESS_ROOT();
  Hosts h;
  mach_port_t p = MACH_PORT_NULL;
  processor_array_t list = nullptr;
  mach_msg_type_number_t n = 0;
  EXPECT_EQ(host_processors(h.name, &list, &n), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(host_get_special_port(h.name, HOST_LOCAL_NODE, HOST_PORT, &p), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(host_set_special_port(h.name, HOST_USER_NOTIFICATION_PORT, MACH_PORT_NULL), KERN_INVALID_ARGUMENT);
  processor_set_name_t set_name = MACH_PORT_NULL;
  processor_set_t set = MACH_PORT_NULL;
  ASSERT_EQ(processor_set_default(h.name, &set_name), KERN_SUCCESS);
  EXPECT_EQ(host_processor_set_priv(h.name, set_name, &set), KERN_INVALID_ARGUMENT);
  task_array_t tasks = nullptr;
  EXPECT_EQ(processor_set_tasks(set_name, &tasks, &n), KERN_INVALID_ARGUMENT) << "the name port lists nothing";
  mach_port_deallocate(mach_task_self(), set_name);
}

TEST(HostSpecialPorts, GetChecksTheIndexAndUnsetIsNull) {
  SKIP_UNLESS_ROOT();
  Hosts h;
  mach_port_t p = MACH_PORT_DEAD;
  EXPECT_EQ(host_get_special_port(h.priv, HOST_LOCAL_NODE, HOST_SECURITY_PORT, &p), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(host_get_special_port(h.priv, HOST_LOCAL_NODE, HOST_MAX_SPECIAL_PORT + 1, &p), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(host_get_special_port(h.priv, HOST_LOCAL_NODE, -3, &p), KERN_INVALID_ARGUMENT);
  ASSERT_EQ(host_get_special_port(h.priv, HOST_LOCAL_NODE, HOST_IO_MAIN_PORT, &p), KERN_SUCCESS);
  EXPECT_EQ(p, MACH_PORT_NULL) << "no IOKit";
  p = MACH_PORT_DEAD;
  ASSERT_EQ(host_get_special_port(h.priv, HOST_LOCAL_NODE, HOST_KEXTD_PORT, &p), KERN_SUCCESS);
  EXPECT_EQ(p, MACH_PORT_NULL);
}

TEST(HostSpecialPorts, OnlyUserIndicesAreSettableAndGetReturnsWhatWasSet) {
  SKIP_UNLESS_ROOT();
  Hosts h;
  Holdings before = holdings();
  mach_port_t r = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &r), KERN_SUCCESS);
  ASSERT_EQ(mach_port_insert_right(mach_task_self(), r, r, MACH_MSG_TYPE_MAKE_SEND), KERN_SUCCESS);
  for (int which : {HOST_SECURITY_PORT, HOST_PORT, HOST_PRIV_PORT, HOST_IO_MAIN_PORT, HOST_MAX_SPECIAL_KERNEL_PORT,
                    HOST_MAX_SPECIAL_PORT + 1})
    EXPECT_EQ(host_set_special_port(h.priv, which, r), KERN_INVALID_ARGUMENT) << which;
  ASSERT_EQ(host_set_special_port(h.priv, HOST_LOCKD_PORT, r), KERN_SUCCESS);
  mach_port_t got = MACH_PORT_NULL;
  ASSERT_EQ(host_get_special_port(h.priv, HOST_LOCAL_NODE, HOST_LOCKD_PORT, &got), KERN_SUCCESS);
  EXPECT_EQ(got, r) << "a send right to our own port comes back under its name";
  mach_port_deallocate(mach_task_self(), got);
  // Replaced by null: the slot's send right goes.
  ASSERT_EQ(host_set_special_port(h.priv, HOST_LOCKD_PORT, MACH_PORT_NULL), KERN_SUCCESS);
  ASSERT_EQ(host_get_special_port(h.priv, HOST_LOCAL_NODE, HOST_LOCKD_PORT, &got), KERN_SUCCESS);
  EXPECT_EQ(got, MACH_PORT_NULL);
  mach_port_urefs_t refs = 0;
  ASSERT_EQ(mach_port_get_refs(mach_task_self(), r, MACH_PORT_RIGHT_SEND, &refs), KERN_SUCCESS);
  EXPECT_EQ(refs, 1u) << "refused sets consumed nothing of ours beyond the one right each carried";
  mach_port_destruct(mach_task_self(), r, -1, 0);
  Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
  EXPECT_EQ(after.messages, before.messages);
}

TEST(Processors, HostProcessorsGivesOnePortPerCpuWithItsNumber) {
  SKIP_UNLESS_ROOT();
  Hosts h;
  processor_array_t list = nullptr;
  mach_msg_type_number_t n = 0;
  ASSERT_EQ(host_processors(h.priv, &list, &n), KERN_SUCCESS);
  ASSERT_EQ(n, mach_msg_type_number_t(sysconf(_SC_NPROCESSORS_CONF)));
  for (mach_msg_type_number_t i = 0; i < n; ++i) {
    processor_basic_info_data_t b{};
    mach_msg_type_number_t count = PROCESSOR_BASIC_INFO_COUNT;
    host_t host = MACH_PORT_NULL;
    ASSERT_EQ(processor_info(list[i], PROCESSOR_BASIC_INFO, &host, reinterpret_cast<processor_info_t>(&b), &count),
              KERN_SUCCESS);
    EXPECT_EQ(count, PROCESSOR_BASIC_INFO_COUNT);
    EXPECT_EQ(b.slot_num, int(i));
    EXPECT_EQ(bool(b.is_master), i == 0);
    EXPECT_EQ(b.cpu_type, CPU_TYPE_X86_64);
    EXPECT_EQ(host, h.name) << "processor_info returns the host name port";
    mach_port_deallocate(mach_task_self(), host);
  }
  free_ports(list, n);
}

TEST(Processors, InfoCountsAndControlAnswerAsXnu) {
  SKIP_UNLESS_ROOT();
  Hosts h;
  processor_array_t list = nullptr;
  mach_msg_type_number_t n = 0;
  ASSERT_EQ(host_processors(h.priv, &list, &n), KERN_SUCCESS);
  ASSERT_GE(n, 1u);
  integer_t buf[16] = {};
  host_t host = MACH_PORT_NULL;
  mach_msg_type_number_t count = PROCESSOR_BASIC_INFO_COUNT - 1;
  EXPECT_EQ(processor_info(list[0], PROCESSOR_BASIC_INFO, &host, buf, &count), KERN_FAILURE);
  count = PROCESSOR_CPU_LOAD_INFO_COUNT - 1;
  EXPECT_EQ(processor_info(list[0], PROCESSOR_CPU_LOAD_INFO, &host, buf, &count), KERN_FAILURE);
  count = 16;
  EXPECT_EQ(processor_info(list[0], PROCESSOR_PM_REGS_INFO, &host, buf, &count), KERN_FAILURE);
  count = PROCESSOR_CPU_LOAD_INFO_COUNT;
  ASSERT_EQ(processor_info(list[0], PROCESSOR_CPU_LOAD_INFO, &host, buf, &count), KERN_SUCCESS);
  EXPECT_EQ(count, PROCESSOR_CPU_LOAD_INFO_COUNT);
  auto* ticks = reinterpret_cast<processor_cpu_load_info_t>(buf);
  EXPECT_GT(uint64_t(ticks->cpu_ticks[CPU_STATE_USER]) + ticks->cpu_ticks[CPU_STATE_SYSTEM] +
                ticks->cpu_ticks[CPU_STATE_IDLE],
            0u);
  mach_port_deallocate(mach_task_self(), host);
  EXPECT_EQ(processor_start(list[0]), KERN_NOT_SUPPORTED);
  EXPECT_EQ(processor_exit(list[0]), KERN_NOT_SUPPORTED);
  EXPECT_EQ(processor_control(list[0], buf, 1), KERN_FAILURE);  // x86 cpu_control
  processor_set_name_t assigned = MACH_PORT_NULL, def = MACH_PORT_NULL;
  ASSERT_EQ(processor_get_assignment(list[0], &assigned), KERN_SUCCESS);
  ASSERT_EQ(processor_set_default(h.name, &def), KERN_SUCCESS);
  EXPECT_EQ(assigned, def);
  mach_port_deallocate(mach_task_self(), assigned);
  mach_port_deallocate(mach_task_self(), def);
  // Not a processor port.
  count = 16;
  EXPECT_EQ(processor_info(h.priv, PROCESSOR_BASIC_INFO, &host, buf, &count), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(processor_start(h.priv), KERN_INVALID_ARGUMENT);
  free_ports(list, n);
}

TEST(ProcessorSet, InfoAndStatisticsOfTheDefaultSet) {
  SKIP_UNLESS_ROOT();
  Hosts h;
  processor_set_name_t set = MACH_PORT_NULL;
  ASSERT_EQ(processor_set_default(h.name, &set), KERN_SUCCESS);
  processor_set_basic_info_data_t b{};
  mach_msg_type_number_t count = PROCESSOR_SET_BASIC_INFO_COUNT;
  host_t host = MACH_PORT_NULL;
  ASSERT_EQ(processor_set_info(set, PROCESSOR_SET_BASIC_INFO, &host, reinterpret_cast<processor_set_info_t>(&b),
                               &count),
            KERN_SUCCESS);
  EXPECT_EQ(count, PROCESSOR_SET_BASIC_INFO_COUNT);
  EXPECT_GE(b.processor_count, 1);
  EXPECT_LE(b.processor_count, int(sysconf(_SC_NPROCESSORS_CONF)));
  EXPECT_EQ(b.default_policy, POLICY_TIMESHARE);
  EXPECT_EQ(host, h.name);
  mach_port_deallocate(mach_task_self(), host);
  integer_t buf[8] = {};
  count = 1;
  EXPECT_EQ(processor_set_info(set, PROCESSOR_SET_BASIC_INFO, &host, buf, &count), KERN_FAILURE);
  count = 8;
  EXPECT_EQ(processor_set_info(set, 77, &host, buf, &count), KERN_INVALID_ARGUMENT);
  count = 8;
  ASSERT_EQ(processor_set_info(set, 3 /* ENABLED_POLICIES */, &host, buf, &count), KERN_SUCCESS);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(buf[0], POLICY_TIMESHARE | POLICY_RR | POLICY_FIFO);
  mach_port_deallocate(mach_task_self(), host);

  processor_set_load_info_data_t l{};
  count = PROCESSOR_SET_LOAD_INFO_COUNT;
  ASSERT_EQ(processor_set_statistics(set, PROCESSOR_SET_LOAD_INFO, reinterpret_cast<processor_set_info_t>(&l), &count),
            KERN_SUCCESS);
  EXPECT_EQ(count, PROCESSOR_SET_LOAD_INFO_COUNT);
  EXPECT_GE(uint64_t(l.task_count), 1u) << "this task at least";
  EXPECT_EQ(uint64_t(l.task_count), holdings().tasks - 1) << "the connected tasks (holdings count the kernel task)";
  count = PROCESSOR_SET_LOAD_INFO_COUNT - 1;
  EXPECT_EQ(processor_set_statistics(set, PROCESSOR_SET_LOAD_INFO, buf, &count), KERN_FAILURE);
  count = 8;
  EXPECT_EQ(processor_set_statistics(h.name, PROCESSOR_SET_LOAD_INFO, buf, &count), KERN_INVALID_PROCESSOR_SET);
  mach_port_deallocate(mach_task_self(), set);
}

TEST(ProcessorSet, TasksListsEveryTaskControlPortThroughTheControlPort) {
  SKIP_UNLESS_ROOT();
  Hosts h;
  // A worker task that waits for us.
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  const uint64_t tasks_before = holdings().tasks;
  pid_t worker = spawn_task([&] {
    char c;
    close(go[1]);
    if (mach_task_self() == MACH_PORT_NULL) return 2;
    return read(go[0], &c, 1) == 1 ? 0 : 1;
  });
  close(go[0]);
  ASSERT_TRUE(wait_for_tasks(tasks_before + 1));
  Holdings before = holdings();
  processor_set_name_t name = MACH_PORT_NULL;
  processor_set_t set = MACH_PORT_NULL;
  ASSERT_EQ(processor_set_default(h.name, &name), KERN_SUCCESS);
  ASSERT_EQ(host_processor_set_priv(h.priv, name, &set), KERN_SUCCESS);
  for (int round = 0; round < 3; ++round) {
    task_array_t tasks = nullptr;
    mach_msg_type_number_t n = 0;
    ASSERT_EQ(processor_set_tasks(set, &tasks, &n), KERN_SUCCESS);
    EXPECT_EQ(uint64_t(n), holdings().tasks - 1) << "every connected task (not the kernel task)";
    bool self = false, found_worker = false;
    for (mach_msg_type_number_t i = 0; i < n; ++i) {
      self |= tasks[i] == mach_task_self();
      int pid = 0;
      if (pid_for_task(tasks[i], &pid) == KERN_SUCCESS && pid == worker) found_worker = true;
    }
    EXPECT_TRUE(self) << "our own task port comes back under its name";
    EXPECT_TRUE(found_worker);
    free_ports(tasks, n);
  }
  mach_port_deallocate(mach_task_self(), set);
  mach_port_deallocate(mach_task_self(), name);
  usleep(20000);  // machd drops its temporary send rights after the reply
  Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
  EXPECT_EQ(after.messages, before.messages);
  ASSERT_EQ(write(go[1], "x", 1), 1);
  close(go[1]);
  EXPECT_EQ(wait_exit(worker), 0);
}
