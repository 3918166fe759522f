// tests/system/host_test.cc — the host object's information routines
// (machd/kern/host.cc, host_statistics.cc): every flavor machd provides,
// and the count rules XNU applies to each.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mach_host.h>
#include <unistd.h>

#include <cstring>

#include "support.h"

using namespace systest;

namespace {

struct HostPort {
  mach_port_t port = mach_host_self();
  ~HostPort() { mach_port_deallocate(mach_task_self(), port); }
};

}  // namespace

TEST(Host, SchedAndPriorityInfoAnswerWithTheirCounts) {
  HostPort h;
  host_sched_info_data_t s{};
  mach_msg_type_number_t count = HOST_SCHED_INFO_COUNT;
  ASSERT_EQ(host_info(h.port, HOST_SCHED_INFO, reinterpret_cast<host_info_t>(&s), &count), KERN_SUCCESS);
  EXPECT_EQ(count, HOST_SCHED_INFO_COUNT);
  EXPECT_GT(s.min_quantum, 0);
  host_priority_info_data_t p{};
  count = HOST_PRIORITY_INFO_COUNT;
  ASSERT_EQ(host_info(h.port, HOST_PRIORITY_INFO, reinterpret_cast<host_info_t>(&p), &count), KERN_SUCCESS);
  EXPECT_EQ(count, HOST_PRIORITY_INFO_COUNT);
  EXPECT_EQ(p.user_priority, 31);  // BASEPRI_DEFAULT
  EXPECT_LT(p.minimum_priority, p.maximum_priority);
}

TEST(Host, EveryFlavorWithTooSmallACountFails) {
  HostPort h;
  integer_t buf[64] = {};
  for (host_flavor_t f : {HOST_BASIC_INFO, HOST_SCHED_INFO, HOST_PRIORITY_INFO}) {
    mach_msg_type_number_t count = 1;
    EXPECT_EQ(host_info(h.port, f, buf, &count), KERN_FAILURE) << "host_info flavor " << f;
  }
  for (host_flavor_t f : {HOST_LOAD_INFO, HOST_VM_INFO, HOST_CPU_LOAD_INFO}) {
    mach_msg_type_number_t count = 1;
    EXPECT_EQ(host_statistics(h.port, f, buf, &count), KERN_FAILURE) << "host_statistics flavor " << f;
    count = 1;
    EXPECT_EQ(host_statistics64(h.port, f, reinterpret_cast<host_info64_t>(buf), &count), KERN_FAILURE)
        << "host_statistics64 flavor " << f;
  }
  mach_msg_type_number_t count = 64;
  EXPECT_EQ(host_info(h.port, 99, buf, &count), KERN_INVALID_ARGUMENT);
  count = 64;
  EXPECT_EQ(host_statistics(h.port, 99, buf, &count), KERN_INVALID_ARGUMENT);
}

TEST(Host, LoadInfoIsScaledByLoadScale) {
  HostPort h;
  host_load_info_data_t l{};
  mach_msg_type_number_t count = HOST_LOAD_INFO_COUNT;
  ASSERT_EQ(host_statistics(h.port, HOST_LOAD_INFO, reinterpret_cast<host_info_t>(&l), &count), KERN_SUCCESS);
  EXPECT_EQ(count, HOST_LOAD_INFO_COUNT);
  double avg[3] = {};
  ASSERT_EQ(getloadavg(avg, 3), 3);
  EXPECT_NEAR(l.avenrun[2], avg[2] * LOAD_SCALE, 0.2 * LOAD_SCALE + 100);  // 15 min: moves slowly
  EXPECT_GE(l.mach_factor[0], 0);
}

TEST(Host, CpuLoadTicksGrowWithTime) {
  HostPort h;
  host_cpu_load_info_data_t a{}, b{};
  mach_msg_type_number_t count = HOST_CPU_LOAD_INFO_COUNT;
  ASSERT_EQ(host_statistics(h.port, HOST_CPU_LOAD_INFO, reinterpret_cast<host_info_t>(&a), &count), KERN_SUCCESS);
  EXPECT_EQ(count, HOST_CPU_LOAD_INFO_COUNT);
  usleep(200000);
  count = HOST_CPU_LOAD_INFO_COUNT;
  ASSERT_EQ(host_statistics(h.port, HOST_CPU_LOAD_INFO, reinterpret_cast<host_info_t>(&b), &count), KERN_SUCCESS);
  uint64_t ta = 0, tb = 0;
  for (int i = 0; i < CPU_STATE_MAX; ++i) {
    ta += a.cpu_ticks[i];
    tb += b.cpu_ticks[i];
  }
  EXPECT_GT(tb, ta);
}

TEST(Host, VmInfoFillsTheRevisionTheCountHasRoomFor) {
  HostPort h;
  vm_statistics_data_t v{};
  mach_msg_type_number_t count = HOST_VM_INFO_REV0_COUNT;
  ASSERT_EQ(host_statistics(h.port, HOST_VM_INFO, reinterpret_cast<host_info_t>(&v), &count), KERN_SUCCESS);
  EXPECT_EQ(count, HOST_VM_INFO_REV0_COUNT);
  EXPECT_GT(v.free_count + v.active_count + v.inactive_count, 0u);
  count = HOST_VM_INFO_COUNT + 3;
  ASSERT_EQ(host_statistics(h.port, HOST_VM_INFO, reinterpret_cast<host_info_t>(&v), &count), KERN_SUCCESS);
  EXPECT_EQ(count, HOST_VM_INFO_COUNT);
}

TEST(Host, VmInfo64FillsTheRevisionTheCountHasRoomFor) {
  HostPort h;
  vm_statistics64_data_t v{};
  mach_msg_type_number_t count = HOST_VM_INFO64_REV0_COUNT;
  ASSERT_EQ(host_statistics64(h.port, HOST_VM_INFO64, reinterpret_cast<host_info64_t>(&v), &count), KERN_SUCCESS);
  EXPECT_EQ(count, HOST_VM_INFO64_REV0_COUNT);
  EXPECT_GT(uint64_t(v.free_count) + v.active_count + v.inactive_count, 0u);
  EXPECT_GT(v.faults, 0u);
  EXPECT_EQ(v.external_page_count, 0u) << "revision 1 not written";
  count = HOST_VM_INFO64_COUNT + 5;
  ASSERT_EQ(host_statistics64(h.port, HOST_VM_INFO64, reinterpret_cast<host_info64_t>(&v), &count), KERN_SUCCESS);
  EXPECT_EQ(count, HOST_VM_INFO64_COUNT);
  EXPECT_GT(uint64_t(v.external_page_count) + v.internal_page_count, 0u);
  count = HOST_VM_INFO64_REV0_COUNT - 1;
  EXPECT_EQ(host_statistics64(h.port, HOST_VM_INFO64, reinterpret_cast<host_info64_t>(&v), &count), KERN_FAILURE);
  // The 64-bit flavors are host_statistics64's only.
  integer_t buf[64] = {};
  count = 64;
  EXPECT_EQ(host_statistics(h.port, HOST_VM_INFO64, buf, &count), KERN_INVALID_ARGUMENT);
  count = 64;
  EXPECT_EQ(host_statistics(h.port, HOST_EXTMOD_INFO64, buf, &count), KERN_INVALID_ARGUMENT);
}

TEST(Host, ExtmodInfo64NeedsItsWholeCount) {
  HostPort h;
  vm_extmod_statistics_data_t e{};
  mach_msg_type_number_t count = HOST_EXTMOD_INFO64_COUNT - 1;
  EXPECT_EQ(host_statistics64(h.port, HOST_EXTMOD_INFO64, reinterpret_cast<host_info64_t>(&e), &count), KERN_FAILURE);
  count = HOST_EXTMOD_INFO64_COUNT;
  ASSERT_EQ(host_statistics64(h.port, HOST_EXTMOD_INFO64, reinterpret_cast<host_info64_t>(&e), &count), KERN_SUCCESS);
  EXPECT_EQ(count, HOST_EXTMOD_INFO64_COUNT);
}

TEST(Host, KernelVersionIsAString) {
  HostPort h;
  kernel_version_t v{};
  ASSERT_EQ(host_kernel_version(h.port, v), KERN_SUCCESS);
  EXPECT_NE(strstr(v, "machd"), nullptr);
}

TEST(Host, InformationCallsLeaveNothingBehind) {
  HostPort h;
  integer_t buf[64] = {};
  mach_msg_type_number_t count = 64;
  host_statistics(h.port, HOST_VM_INFO, buf, &count);
  Holdings before = holdings();
  for (int i = 0; i < 50; ++i) {
    count = 64;
    ASSERT_EQ(host_statistics(h.port, HOST_CPU_LOAD_INFO, buf, &count), KERN_SUCCESS);
    count = 64;
    ASSERT_EQ(host_info(h.port, HOST_PRIORITY_INFO, buf, &count), KERN_SUCCESS);
  }
  Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
  EXPECT_EQ(after.messages, before.messages);
}

TEST(Host, ProcessorInfoHasOneEntryPerCpu) {
  HostPort h;
  natural_t n = 0;
  processor_info_array_t info = nullptr;
  mach_msg_type_number_t count = 0;
  ASSERT_EQ(host_processor_info(h.port, PROCESSOR_CPU_LOAD_INFO, &n, &info, &count), KERN_SUCCESS);
  EXPECT_EQ(n, natural_t(sysconf(_SC_NPROCESSORS_CONF)));
  EXPECT_EQ(count, n * PROCESSOR_CPU_LOAD_INFO_COUNT);
  vm_deallocate(mach_task_self(), vm_address_t(info), count * sizeof(integer_t));
  ASSERT_EQ(host_processor_info(h.port, PROCESSOR_BASIC_INFO, &n, &info, &count), KERN_SUCCESS);
  EXPECT_EQ(count, n * PROCESSOR_BASIC_INFO_COUNT);
  auto* b = reinterpret_cast<processor_basic_info_t>(info);
  EXPECT_EQ(b[0].cpu_type, CPU_TYPE_X86_64);
  EXPECT_TRUE(b[0].is_master);
  vm_deallocate(mach_task_self(), vm_address_t(info), count * sizeof(integer_t));
  EXPECT_EQ(host_processor_info(h.port, 77, &n, &info, &count), KERN_FAILURE);
}

TEST(Host, DefaultProcessorSetIsOneNamePort) {
  HostPort h;
  processor_set_name_t a = MACH_PORT_NULL, b = MACH_PORT_NULL;
  ASSERT_EQ(processor_set_default(h.port, &a), KERN_SUCCESS);
  ASSERT_EQ(processor_set_default(h.port, &b), KERN_SUCCESS);
  EXPECT_TRUE(MACH_PORT_VALID(a));
  EXPECT_EQ(a, b);
  mach_port_deallocate(mach_task_self(), a);
  mach_port_deallocate(mach_task_self(), b);
}
