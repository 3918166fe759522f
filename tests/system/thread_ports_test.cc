// tests/system/thread_ports_test.cc — a thread's special ports (control,
// read, inspect) and processor_set_threads on the privileged set.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "support.h"

using namespace systest;

// XNU thread_get_special_port: the control port gives any flavor, a read
// port the read and inspect ports, an inspect port only the inspect port
// (KERN_INVALID_CAPABILITY); thread_set_special_port refuses the kernel port
// (KERN_NO_ACCESS, SIP on) and any other `which` (KERN_INVALID_ARGUMENT).
TEST(ThreadSpecialPorts, GetGivesEachFlavorAsXnuAllowsAndSetIsRefused) {
  mach_port_t self = mach_thread_self();
  const Holdings before = holdings();
  const pid_t me = pid_t(syscall(SYS_gettid));

  mach_port_t kernel = MACH_PORT_NULL, rd = MACH_PORT_NULL, insp = MACH_PORT_NULL, p = MACH_PORT_NULL;
  ASSERT_EQ(thread_get_special_port(self, THREAD_KERNEL_PORT, &kernel), KERN_SUCCESS);
  EXPECT_EQ(kernel, self) << "the kernel port is the thread's control port";
  ASSERT_EQ(thread_get_special_port(self, THREAD_READ_PORT, &rd), KERN_SUCCESS);
  ASSERT_EQ(thread_get_special_port(self, THREAD_INSPECT_PORT, &insp), KERN_SUCCESS);
  EXPECT_TRUE(MACH_PORT_VALID(rd));
  EXPECT_TRUE(MACH_PORT_VALID(insp));
  EXPECT_NE(rd, self);
  EXPECT_NE(insp, rd);
  EXPECT_EQ(tid_of(rd), me) << "the read port names the same thread";
  EXPECT_EQ(tid_of(insp), me);
  ASSERT_EQ(thread_get_special_port(self, THREAD_READ_PORT, &p), KERN_SUCCESS);
  EXPECT_EQ(p, rd) << "one read port per thread";
  mach_port_deallocate(mach_task_self(), p);

  EXPECT_EQ(thread_get_special_port(rd, THREAD_KERNEL_PORT, &p), KERN_INVALID_CAPABILITY);
  ASSERT_EQ(thread_get_special_port(rd, THREAD_INSPECT_PORT, &p), KERN_SUCCESS);
  EXPECT_EQ(p, insp);
  mach_port_deallocate(mach_task_self(), p);
  EXPECT_EQ(thread_get_special_port(insp, THREAD_READ_PORT, &p), KERN_INVALID_CAPABILITY);
  EXPECT_EQ(thread_get_special_port(self, 99, &p), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(thread_abort(rd), KERN_INVALID_ARGUMENT) << "a read port does not control";

  EXPECT_EQ(thread_set_special_port(self, THREAD_KERNEL_PORT, self), KERN_NO_ACCESS);
  EXPECT_EQ(thread_set_special_port(self, THREAD_READ_PORT, self), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(thread_set_special_port(self, THREAD_INSPECT_PORT, self), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(thread_set_special_port(rd, THREAD_KERNEL_PORT, self), KERN_INVALID_ARGUMENT);

  mach_port_deallocate(mach_task_self(), kernel);
  mach_port_deallocate(mach_task_self(), rd);
  mach_port_deallocate(mach_task_self(), insp);
  usleep(20000);  // machd drops its temporary send rights after the reply
  const Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports) << "the read and inspect ports go with their last send right";
  EXPECT_EQ(after.messages, before.messages);
  mach_port_deallocate(mach_task_self(), self);
}

// XNU (macOS): processor_set_threads on the privileged set lists the control
// port of every thread of every task; the name port lists nothing.
TEST(ProcessorSetThreads, PrivilegedSetListsEveryThreadOfEveryTask) {
  SKIP_UNLESS_ROOT();
  mach_port_t priv = mach_host_self(), name = MACH_PORT_NULL;
  ASSERT_EQ(host_get_special_port(priv, HOST_LOCAL_NODE, HOST_PORT, &name), KERN_SUCCESS);
  processor_set_name_t set_name = MACH_PORT_NULL;
  processor_set_t set = MACH_PORT_NULL;
  ASSERT_EQ(processor_set_default(name, &set_name), KERN_SUCCESS);
  ASSERT_EQ(host_processor_set_priv(priv, set_name, &set), KERN_SUCCESS);

  std::atomic<pid_t> other_tid{0};
  std::atomic<bool> stop{false};
  std::thread other([&] {
    other_tid = pid_t(syscall(SYS_gettid));
    while (!stop) usleep(1000);
  });
  while (other_tid == 0) usleep(1000);
  mach_port_t self = mach_thread_self();
  const Holdings before = holdings();

  thread_act_array_t list = nullptr;
  mach_msg_type_number_t n = 0;
  ASSERT_EQ(processor_set_threads(set, &list, &n), KERN_SUCCESS);
  bool found_self = false, found_other = false;
  for (mach_msg_type_number_t i = 0; i < n; ++i) {
    found_self |= list[i] == self;
    found_other |= tid_of(list[i]) == other_tid;
    mach_port_deallocate(mach_task_self(), list[i]);
  }
  vm_deallocate(mach_task_self(), vm_address_t(list), n * sizeof(mach_port_t));
  EXPECT_TRUE(found_self) << "our own thread port comes back under its name";
  EXPECT_TRUE(found_other);
  EXPECT_GE(n, 2u);
  EXPECT_EQ(processor_set_threads(set_name, &list, &n), KERN_INVALID_ARGUMENT) << "the name port lists nothing";

  stop = true;
  other.join();
  usleep(20000);
  const Holdings after = holdings();
  EXPECT_EQ(after.messages, before.messages);
  mach_port_deallocate(mach_task_self(), self);
  mach_port_deallocate(mach_task_self(), set);
  mach_port_deallocate(mach_task_self(), set_name);
  mach_port_deallocate(mach_task_self(), name);
  mach_port_deallocate(mach_task_self(), priv);
}
