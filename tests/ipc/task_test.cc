// tests/ipc/task_test.cc — task death, task ports, special ports.
#include <mach/task_special_ports.h>

#include "harness.h"

namespace machd::ipc::test {
namespace {

using TaskTest = IpcTest;

TEST_F(TaskTest, TerminateReleasesEveryRightAndQueuedMessage) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(a);
  mach_port_name_t s = give_send(a, p, b);
  mach_port_name_t bp = recv_port(b);
  mach_port_name_t to_b = give_send(b, bp, a);
  for (int i = 0; i < 3; i++) ASSERT_EQ(send(b, simple(s, i)), MACH_MSG_SUCCESS);
  Msg carrying = simple(to_b, 1);
  carrying.local = p;
  carrying.local_disp = MACH_MSG_TYPE_MAKE_SEND;
  ASSERT_EQ(send(a, carrying), MACH_MSG_SUCCESS);  // b's queue holds a send right to a's port
  kill(a);
  EXPECT_EQ(type_of(b, s), MACH_PORT_TYPE_DEAD_NAME);
  Received r = receive(b, bp);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.hdr.msgh_remote_port, MACH_PORT_DEAD) << "a right to a dead port arrives dead";
  EXPECT_EQ(k.stats().ports, 2u);  // b's port and b's task port
}

TEST_F(TaskTest, DyingTasksBlockedThreadsVanishWithoutCompletion) {
  TaskId a = task(), b = task();
  mach_port_name_t pa = recv_port(a);
  mach_port_name_t pb = recv_port(b);
  mach_port_name_t s = give_send(b, pb, a);
  for (int i = 0; i < 5; i++) ASSERT_EQ(send(a, simple(s, i)), MACH_MSG_SUCCESS);
  WaiterId ws = next_waiter(), wr = next_waiter();
  ASSERT_EQ(send(a, simple(s, 9), 0, 0, ws), kBlocked);
  ASSERT_TRUE(receive(a, pa, 0, 4096, true, wr).blocked);
  kill(a);
  EXPECT_FALSE(completion(ws));
  EXPECT_FALSE(completion(wr));
  EXPECT_EQ(k.stats().waiters, 0u);
  for (int i = 0; i < 5; i++) EXPECT_EQ(receive(b, pb).hdr.msgh_id, i);
  EXPECT_EQ(receive(b, pb).mr, MACH_RCV_TIMED_OUT) << "the blocked message died with its sender";
}

TEST_F(TaskTest, OtherTasksBlockedSenderSucceedsWhenTheReceiverTaskDies) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(a);
  mach_port_name_t s = give_send(a, p, b);
  for (int i = 0; i < 5; i++) ASSERT_EQ(send(b, simple(s, i)), MACH_MSG_SUCCESS);
  WaiterId w = next_waiter();
  ASSERT_EQ(send(b, simple(s, 9), 0, 0, w), kBlocked);
  kill(a);
  auto c = completion(w);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(type_of(b, s), MACH_PORT_TYPE_DEAD_NAME);
}

TEST_F(TaskTest, TaskPortDiesWithTheTask) {
  TaskId a = task(), b = task();
  mach_port_name_t ta = MACH_PORT_NULL;
  ASSERT_EQ(k.task_get_special_port(b, a, TASK_KERNEL_PORT, &ta), KERN_SUCCESS);
  EXPECT_EQ(k.resolve_task(b, ta), a);
  EXPECT_EQ(k.resolve_task(a, k.task_self_name(a)), a);
  EXPECT_EQ(k.resolve_task(k.kernel_task(), k.task_port_kernel_name(a)), a);
  kill(a);
  EXPECT_EQ(k.resolve_task(b, ta), kNoTask);
  EXPECT_EQ(type_of(b, ta), MACH_PORT_TYPE_DEAD_NAME);
  EXPECT_EQ(k.task_port_kernel_name(a), MACH_PORT_NULL);
}

TEST_F(TaskTest, BootstrapPortIsGivenToNewTasks) {
  TaskId kt = k.kernel_task();
  mach_port_name_t boot = recv_port(kt);
  ASSERT_EQ(k.set_bootstrap_port(boot), KERN_SUCCESS);
  TaskId a = task();
  mach_port_name_t bp = MACH_PORT_NULL;
  ASSERT_EQ(k.task_get_special_port(a, a, TASK_BOOTSTRAP_PORT, &bp), KERN_SUCCESS);
  ASSERT_NE(bp, MACH_PORT_NULL);
  ASSERT_EQ(send(a, simple(bp, 31)), MACH_MSG_SUCCESS);
  Received r = receive(kt, boot);
  EXPECT_EQ(r.hdr.msgh_id, 31);
  // set_special_port replaces it; NULL clears it.
  mach_port_name_t mine = port_with_send(a);
  ASSERT_EQ(k.task_set_special_port(a, a, TASK_BOOTSTRAP_PORT, mine), KERN_SUCCESS);
  mach_port_name_t got = MACH_PORT_NULL;
  ASSERT_EQ(k.task_get_special_port(a, a, TASK_BOOTSTRAP_PORT, &got), KERN_SUCCESS);
  EXPECT_EQ(got, mine);
  EXPECT_EQ(k.task_set_special_port(a, a, TASK_BOOTSTRAP_PORT, MACH_PORT_NULL), KERN_SUCCESS);
  ASSERT_EQ(k.task_get_special_port(a, a, TASK_BOOTSTRAP_PORT, &got), KERN_SUCCESS);
  EXPECT_EQ(got, MACH_PORT_NULL);
  EXPECT_EQ(k.task_get_special_port(a, a, 99, &got), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(k.task_set_special_port(a, a, TASK_BOOTSTRAP_PORT, 0x9903), MACH_SEND_INVALID_RIGHT);
  kill(a);
  // The kernel task keeps its own port; release it to end clean.
  ASSERT_EQ(k.set_bootstrap_port(MACH_PORT_NULL), KERN_SUCCESS);
  ASSERT_EQ(k.port_destroy(kt, boot), KERN_SUCCESS);
}

TEST_F(TaskTest, KernelTaskServesTaskPortsThroughAPortSet) {
  // machd's kernel servers: the kernel task puts task ports in a set and
  // receives requests sent to mach_task_self().
  TaskId kt = k.kernel_task();
  mach_port_name_t servers = MACH_PORT_NULL;
  ASSERT_EQ(k.port_allocate(kt, MACH_PORT_RIGHT_PORT_SET, &servers), KERN_SUCCESS);
  TaskId a = task(), b = task();
  ASSERT_EQ(k.port_insert_member(kt, k.task_port_kernel_name(a), servers), KERN_SUCCESS);
  ASSERT_EQ(k.port_insert_member(kt, k.task_port_kernel_name(b), servers), KERN_SUCCESS);
  mach_port_name_t reply = recv_port(b);
  Msg req = simple(k.task_self_name(b), 3200);
  req.local = reply;
  req.local_disp = MACH_MSG_TYPE_MAKE_SEND_ONCE;
  ASSERT_EQ(send(b, req), MACH_MSG_SUCCESS);
  Received r = receive(kt, servers, MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT));
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(k.resolve_task(kt, r.hdr.msgh_local_port), b);
  EXPECT_EQ(r.trailer.msgh_audit.val[5], k.credentials(b)->pid);
  ASSERT_EQ(send(kt, simple(r.hdr.msgh_remote_port, 3300, MACH_MSG_TYPE_MOVE_SEND_ONCE)), MACH_MSG_SUCCESS);
  EXPECT_EQ(receive(b, reply).hdr.msgh_id, 3300);
  EXPECT_EQ(k.port_move_member(kt, k.task_port_kernel_name(a), MACH_PORT_NULL), KERN_SUCCESS);
  mach_port_name_t tp = k.task_port_kernel_name(a);
  mach_port_name_t got;
  mach_msg_type_name_t type;
  EXPECT_EQ(k.port_extract_right(a, kt, tp, MACH_MSG_TYPE_MOVE_RECEIVE, &got, &type), KERN_INVALID_CAPABILITY)
      << "task ports cannot leave the kernel";
  kill(a);
  kill(b);
  ASSERT_EQ(k.port_destroy(kt, servers), KERN_SUCCESS);
}

TEST_F(TaskTest, ARelayedSenderIsStampedOnlyOnMessagesToTasksPorts) {
  // A network server relays a remote sender: a task receiving its message
  // sees the remote identity; machd's own servers keep seeing the relay's.
  TaskId kt = k.kernel_task();
  TaskId relay = task(), b = task();
  mach_port_name_t pb = recv_port(b);
  mach_port_name_t to_b = give_send(b, pb, relay);
  Credentials remote;
  remote.pid = 4242;
  remote.uid = remote.euid = remote.auid = 501;
  remote.gid = remote.egid = 20;
  remote.asid = 0x7ffffffe;
  remote.pidversion = 3;
  ASSERT_EQ(k.set_relayed_sender(relay, &remote), KERN_SUCCESS);
  ASSERT_EQ(send(relay, simple(to_b, 1)), MACH_MSG_SUCCESS);
  Received r = receive(b, pb, MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT));
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.trailer.msgh_audit.val[5], 4242u);
  EXPECT_EQ(r.trailer.msgh_audit.val[1], 501u);
  EXPECT_EQ(r.trailer.msgh_audit.val[6], 0x7ffffffeu);
  EXPECT_EQ(r.trailer.msgh_audit.val[7], 3u);
  EXPECT_EQ(r.trailer.msgh_sender.val[0], 501u);

  mach_port_name_t servers = MACH_PORT_NULL;
  ASSERT_EQ(k.port_allocate(kt, MACH_PORT_RIGHT_PORT_SET, &servers), KERN_SUCCESS);
  ASSERT_EQ(k.port_insert_member(kt, k.task_port_kernel_name(relay), servers), KERN_SUCCESS);
  ASSERT_EQ(send(relay, simple(k.task_self_name(relay), 3200)), MACH_MSG_SUCCESS);
  r = receive(kt, servers, MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT));
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.trailer.msgh_audit.val[5], k.credentials(relay)->pid) << "machd's servers see the relay itself";

  ASSERT_EQ(k.set_relayed_sender(relay, nullptr), KERN_SUCCESS);
  ASSERT_EQ(send(relay, simple(to_b, 2)), MACH_MSG_SUCCESS);
  r = receive(b, pb, MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT));
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.trailer.msgh_audit.val[5], k.credentials(relay)->pid) << "cleared: its own identity again";
  EXPECT_NE(r.trailer.msgh_audit.val[6], 0x7ffffffeu);
  EXPECT_EQ(k.port_move_member(kt, k.task_port_kernel_name(relay), MACH_PORT_NULL), KERN_SUCCESS);
  kill(relay);
  kill(b);
  ASSERT_EQ(k.port_destroy(kt, servers), KERN_SUCCESS);
}

TEST_F(TaskTest, ManyTasksDieInAnyOrderWithoutLeaks) {
  std::vector<TaskId> ts;
  for (int i = 0; i < 20; i++) ts.push_back(task());
  std::vector<mach_port_name_t> ports;
  for (TaskId t : ts) ports.push_back(recv_port(t));
  for (size_t i = 0; i < ts.size(); i++) {
    size_t j = (i + 7) % ts.size();
    mach_port_name_t s = give_send(ts[j], ports[j], ts[i]);
    Msg m = simple(s, static_cast<mach_msg_id_t>(i));
    m.local = ports[i];
    m.local_disp = MACH_MSG_TYPE_MAKE_SEND_ONCE;
    ASSERT_EQ(send(ts[i], m), MACH_MSG_SUCCESS);
  }
  for (size_t i = 0; i < ts.size(); i += 3) kill(ts[i]);
}

}  // namespace
}  // namespace machd::ipc::test
