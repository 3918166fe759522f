// tests/ipc/kobject_test.cc — kernel-object labels on ports (ipc/kobject.h).
#include <mach/notify.h>

#include "harness.h"

namespace machd::ipc::test {
namespace {

using KObjectTest = IpcTest;

constexpr KObject kThing{7, 42};

TEST_F(KObjectTest, ASendRightCopiedOutFromTheKernelDenotesTheObject) {
  TaskId a = task();
  mach_port_name_t kname = MACH_PORT_NULL;
  ASSERT_EQ(k.kobject_alloc(k.kernel_task(), kThing, &kname), KERN_SUCCESS);
  mach_port_name_t in_a = MACH_PORT_NULL;
  ASSERT_EQ(k.kobject_make_send(a, kname, &in_a), KERN_SUCCESS);
  EXPECT_EQ(type_of(a, in_a), MACH_PORT_TYPE_SEND);
  EXPECT_EQ(k.kobject_of(a, in_a), kThing);
  EXPECT_EQ(k.kobject_of(k.kernel_task(), kname), kThing);
  mach_port_name_t again = MACH_PORT_NULL;
  ASSERT_EQ(k.kobject_make_send(a, kname, &again), KERN_SUCCESS);
  EXPECT_EQ(again, in_a) << "one name per port in a space";
  k.port_destroy(k.kernel_task(), kname);
}

TEST_F(KObjectTest, TaskPortsCarryTheTaskLabel) {
  TaskId a = task();
  EXPECT_EQ(k.kobject_of(a, k.task_self_name(a)), (KObject{kKObjectTaskType, a}));
}

TEST_F(KObjectTest, ADeadObjectPortDenotesNothing) {
  TaskId a = task();
  mach_port_name_t kname = MACH_PORT_NULL;
  ASSERT_EQ(k.kobject_alloc(k.kernel_task(), kThing, &kname), KERN_SUCCESS);
  mach_port_name_t in_a = MACH_PORT_NULL;
  ASSERT_EQ(k.kobject_make_send(a, kname, &in_a), KERN_SUCCESS);
  ASSERT_EQ(k.port_destroy(k.kernel_task(), kname), KERN_SUCCESS);
  EXPECT_EQ(k.kobject_of(a, in_a), KObject{});
  EXPECT_EQ(type_of(a, in_a), MACH_PORT_TYPE_DEAD_NAME);
}

TEST_F(KObjectTest, AnObjectPortRefusesPortDestroyedRequests) {
  TaskId a = task();
  mach_port_name_t name = MACH_PORT_NULL;
  ASSERT_EQ(k.kobject_alloc(a, kThing, &name), KERN_SUCCESS);  // receive right in a (an mk_timer's shape)
  mach_port_name_t notify = recv_port(a);
  mach_port_name_t prev = MACH_PORT_NULL;
  EXPECT_EQ(k.port_request_notification(a, name, MACH_NOTIFY_PORT_DESTROYED, 0, notify,
                                        MACH_MSG_TYPE_MAKE_SEND_ONCE, &prev),
            KERN_INVALID_RIGHT);
}

TEST_F(KObjectTest, NoSendersOfAnObjectArrivesOnTheObjectPort) {
  TaskId a = task();
  mach_port_name_t kname = MACH_PORT_NULL;
  ASSERT_EQ(k.kobject_alloc(k.kernel_task(), kThing, &kname), KERN_SUCCESS);
  mach_port_name_t in_a = MACH_PORT_NULL;
  ASSERT_EQ(k.kobject_make_send(a, kname, &in_a), KERN_SUCCESS);
  ASSERT_EQ(k.kobject_request_no_senders(kname), KERN_SUCCESS);
  EXPECT_EQ(k.kobject_mscount(kname), 1u);
  ASSERT_EQ(k.port_deallocate(a, in_a), KERN_SUCCESS);
  Received r = receive(k.kernel_task(), kname, 0, 4096);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.hdr.msgh_id, MACH_NOTIFY_NO_SENDERS);
  k.port_destroy(k.kernel_task(), kname);
}

}  // namespace
}  // namespace machd::ipc::test
