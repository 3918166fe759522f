// tests/system/kernel_objects_test.cc — the kernel-object machinery: object
// ports served by machd through MIG subsystems (machd/kern/dispatch.h), the
// host object as the first of them, and the rules every object shares.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mach_host.h>
#include <mach/mig_errors.h>
#include <unistd.h>

#include "support.h"

using namespace systest;

namespace {

// Sends a request with no arguments (a bare header) to `dest` with id `id`
// and returns the RetCode of the reply (or the mach_msg error).
kern_return_t raw_call(mach_port_t dest, mach_msg_id_t id) {
  union {
    struct {
      mach_msg_header_t Head;
      NDR_record_t NDR;
    } req;
    struct {
      mig_reply_error_t r;
      mach_msg_max_trailer_t trailer;
    } rep;
  } buf{};
  auto& req = buf.req;
  auto& rep = buf.rep;
  mach_port_t reply = mig_get_reply_port();
  req.Head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE);
  req.Head.msgh_size = sizeof req.Head;
  req.Head.msgh_remote_port = dest;
  req.Head.msgh_local_port = reply;
  req.Head.msgh_id = id;
  req.NDR = NDR_record;
  mach_msg_return_t mr = mach_msg(&req.Head, MACH_SEND_MSG | MACH_RCV_MSG, sizeof req.Head, sizeof buf, reply,
                                  MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
  if (mr != MACH_MSG_SUCCESS) return mr;
  EXPECT_EQ(rep.r.Head.msgh_id, id + 100);
  return rep.r.RetCode;
}

}  // namespace

TEST(KernelObjects, HostSelfIsASendRightThatGainsAReferencePerCall) {
  mach_port_t h1 = mach_host_self();
  ASSERT_TRUE(MACH_PORT_VALID(h1));
  mach_port_type_t type = 0;
  ASSERT_EQ(mach_port_type(mach_task_self(), h1, &type), KERN_SUCCESS);
  EXPECT_EQ(type, MACH_PORT_TYPE_SEND);
  mach_port_urefs_t before = 0, after = 0;
  mach_port_get_refs(mach_task_self(), h1, MACH_PORT_RIGHT_SEND, &before);
  mach_port_t h2 = mach_host_self();
  EXPECT_EQ(h2, h1);  // the same port has one name in a space
  mach_port_get_refs(mach_task_self(), h1, MACH_PORT_RIGHT_SEND, &after);
  EXPECT_EQ(after, before + 1);
  mach_port_deallocate(mach_task_self(), h2);
}

TEST(KernelObjects, HostInfoBasicDescribesThisMachine) {
  host_basic_info_data_t info{};
  mach_msg_type_number_t count = HOST_BASIC_INFO_COUNT;
  ASSERT_EQ(host_info(mach_host_self(), HOST_BASIC_INFO, reinterpret_cast<host_info_t>(&info), &count),
            KERN_SUCCESS);
  EXPECT_EQ(count, HOST_BASIC_INFO_COUNT);
  EXPECT_EQ(info.max_cpus, sysconf(_SC_NPROCESSORS_CONF));
  EXPECT_EQ(info.cpu_type, CPU_TYPE_X86_64);
  EXPECT_GT(info.max_mem, 0u);
  vm_size_t page = 0;
  ASSERT_EQ(_host_page_size(mach_host_self(), &page), KERN_SUCCESS);
  EXPECT_EQ(page, vm_size_t(sysconf(_SC_PAGESIZE)));
}

TEST(KernelObjects, HostInfoWithTooSmallACountFails) {
  host_basic_info_data_t info{};
  mach_msg_type_number_t count = 2;  // below HOST_BASIC_INFO_OLD_COUNT (XNU: KERN_FAILURE)
  EXPECT_EQ(host_info(mach_host_self(), HOST_BASIC_INFO, reinterpret_cast<host_info_t>(&info), &count),
            KERN_FAILURE);
}

TEST(KernelObjects, AHostRoutineOnATaskPortIsAnInvalidArgument) {
  host_basic_info_data_t info{};
  mach_msg_type_number_t count = HOST_BASIC_INFO_COUNT;
  EXPECT_EQ(host_info(mach_task_self(), HOST_BASIC_INFO, reinterpret_cast<host_info_t>(&info), &count),
            KERN_INVALID_ARGUMENT);
}

TEST(KernelObjects, ARoutineMachdDoesNotProvideAnswersNotSupported) {
  // kmod_get_info (mach_host 207): kernel extensions have no meaning here.
  EXPECT_EQ(raw_call(mach_host_self(), 207), KERN_NOT_SUPPORTED);
}

TEST(KernelObjects, AnIdNoSubsystemServesIsMigBadId) {
  EXPECT_EQ(raw_call(mach_host_self(), 999999), MIG_BAD_ID);
  EXPECT_EQ(raw_call(mach_task_self(), 999999), MIG_BAD_ID);
}

TEST(KernelObjects, ServingObjectsLeavesNothingBehind) {
  mach_port_t host = mach_host_self();
  ASSERT_EQ(raw_call(host, 207), KERN_NOT_SUPPORTED);  // warm up the reply port
  Holdings before = holdings();
  for (int i = 0; i < 200; ++i) {
    host_basic_info_data_t info{};
    mach_msg_type_number_t count = HOST_BASIC_INFO_COUNT;
    ASSERT_EQ(host_info(host, HOST_BASIC_INFO, reinterpret_cast<host_info_t>(&info), &count), KERN_SUCCESS);
    ASSERT_EQ(raw_call(host, 207), KERN_NOT_SUPPORTED);
  }
  Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
  EXPECT_EQ(after.messages, before.messages);
  mach_port_deallocate(mach_task_self(), host);
}
