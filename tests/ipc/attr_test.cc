// tests/ipc/attr_test.cc — mach_port_construct / destruct, guards, context,
// attributes, mscount, srights, extract_right, rename.
#include "harness.h"

namespace machd::ipc::test {
namespace {

using AttrTest = IpcTest;

TEST_F(AttrTest, ConstructAppliesOptions) {
  TaskId a = task();
  mach_port_options_t o{};
  o.flags = MPO_INSERT_SEND_RIGHT | MPO_QLIMIT;
  o.mpl.mpl_qlimit = 9;
  mach_port_name_t n = MACH_PORT_NULL;
  ASSERT_EQ(k.port_construct(a, o, 77, &n), KERN_SUCCESS);
  EXPECT_EQ(type_of(a, n), MACH_PORT_TYPE_SEND_RECEIVE);
  mach_port_status_t s = status(a, n);
  EXPECT_EQ(s.mps_qlimit, 9u);
  EXPECT_EQ(s.mps_mscount, 1u);
  EXPECT_EQ(s.mps_srights, 1);
  mach_port_context_t ctx = 0;
  EXPECT_EQ(k.port_get_context(a, n, &ctx), KERN_SUCCESS);
  EXPECT_EQ(ctx, 77u) << "the context is set even without a guard";
  o.mpl.mpl_qlimit = MACH_PORT_QLIMIT_MAX + 1;
  EXPECT_EQ(k.port_construct(a, o, 0, &n), KERN_INVALID_VALUE);
}

TEST_F(AttrTest, GuardedPortsRefuseUnguardedDestruction) {
  TaskId a = task();
  mach_port_options_t o{};
  o.flags = MPO_CONTEXT_AS_GUARD | MPO_STRICT | MPO_INSERT_SEND_RIGHT;
  mach_port_name_t n = MACH_PORT_NULL;
  ASSERT_EQ(k.port_construct(a, o, 0x5151, &n), KERN_SUCCESS);
  mach_port_status_t s = status(a, n);
  EXPECT_EQ(s.mps_flags & (MACH_PORT_STATUS_FLAG_GUARDED | MACH_PORT_STATUS_FLAG_STRICT_GUARD),
            static_cast<natural_t>(MACH_PORT_STATUS_FLAG_GUARDED | MACH_PORT_STATUS_FLAG_STRICT_GUARD));
  mach_port_context_t ctx = 1;
  EXPECT_EQ(k.port_get_context(a, n, &ctx), KERN_SUCCESS);
  EXPECT_EQ(ctx, 0u) << "a strict guard is not revealed";
  EXPECT_EQ(k.port_set_context(a, n, 3), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(k.port_mod_refs(a, n, MACH_PORT_RIGHT_RECEIVE, -1), KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_destroy(a, n), KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_destruct(a, n, -1, 0x1), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(k.port_destruct(a, n, 1, 0x5151), KERN_INVALID_VALUE);
  EXPECT_EQ(k.port_destruct(a, n, -2, 0x5151), KERN_INVALID_VALUE);
  EXPECT_EQ(type_of(a, n), MACH_PORT_TYPE_SEND_RECEIVE);
  EXPECT_EQ(k.port_destruct(a, n, -1, 0x5151), KERN_SUCCESS);
  EXPECT_EQ(type_of(a, n), 0u);
}

TEST_F(AttrTest, DestructLeavesRemainingSendRightsAsDeadName) {
  TaskId a = task();
  mach_port_name_t n = port_with_send(a);
  ASSERT_EQ(k.port_mod_refs(a, n, MACH_PORT_RIGHT_SEND, 2), KERN_SUCCESS);
  EXPECT_EQ(k.port_destruct(a, n, -1, 0), KERN_SUCCESS);
  EXPECT_EQ(type_of(a, n), MACH_PORT_TYPE_DEAD_NAME);
  EXPECT_EQ(refs(a, n, MACH_PORT_RIGHT_DEAD_NAME), 2u);
  mach_port_name_t r = recv_port(a);
  EXPECT_EQ(k.port_destruct(a, r, -1, 0), KERN_INVALID_RIGHT) << "srdelta without send rights";
  EXPECT_EQ(k.port_destruct(a, MACH_PORT_NULL, 0, 0), KERN_INVALID_NAME);
  EXPECT_EQ(k.port_destruct(a, n, 0, 0), KERN_INVALID_RIGHT);
}

// XNU mach_port_guard_locked / mach_port_unguard_locked: MPG_IMMOVABLE_RECEIVE
// pins the receive right (xnu/tests/immovable_rights.c reads the status
// flag); unguarding makes it movable again.
TEST_F(AttrTest, GuardWithImmovableReceivePinsTheRightUntilUnguarded) {
  TaskId a = task(), b = task();
  mach_port_name_t n = recv_port(a);
  mach_port_name_t dest = recv_port(b);
  mach_port_name_t s = give_send(b, dest, a);
  ASSERT_EQ(k.port_guard(a, n, 0x11, false, true), KERN_SUCCESS);
  mach_port_status_t st = status(a, n);
  EXPECT_NE(st.mps_flags & MACH_PORT_STATUS_FLAG_GUARDED, 0u);
  EXPECT_NE(st.mps_flags & MACH_PORT_STATUS_FLAG_GUARD_IMMOVABLE_RECEIVE, 0u);
  Msg m = simple(s, 1);
  m.descs = {Desc::port(n, MACH_MSG_TYPE_MOVE_RECEIVE)};
  EXPECT_NE(send(a, m), MACH_MSG_SUCCESS) << "an immovable receive right cannot move";
  EXPECT_EQ(type_of(a, n), MACH_PORT_TYPE_RECEIVE);
  ASSERT_EQ(k.port_unguard(a, n, 0x11), KERN_SUCCESS);
  st = status(a, n);
  EXPECT_EQ(st.mps_flags & (MACH_PORT_STATUS_FLAG_GUARDED | MACH_PORT_STATUS_FLAG_GUARD_IMMOVABLE_RECEIVE), 0u);
  ASSERT_EQ(send(a, m), MACH_MSG_SUCCESS) << "movable again";
  Received r = receive(b, dest);
  ASSERT_EQ(r.descs.size(), 1u);
  EXPECT_EQ(k.port_destroy(b, r.descs[0].name), KERN_SUCCESS);
}

TEST_F(AttrTest, GuardAndUnguard) {
  TaskId a = task();
  mach_port_name_t n = recv_port(a);
  EXPECT_EQ(k.port_guard(a, n, 0x77, false), KERN_SUCCESS);
  EXPECT_EQ(k.port_guard(a, n, 0x78, false), KERN_INVALID_ARGUMENT) << "already guarded";
  EXPECT_EQ(k.port_unguard(a, n, 0x78), KERN_INVALID_ARGUMENT) << "wrong guard";
  EXPECT_EQ(k.port_destroy(a, n), KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_unguard(a, n, 0x77), KERN_SUCCESS);
  EXPECT_EQ(k.port_unguard(a, n, 0x77), KERN_INVALID_ARGUMENT) << "not guarded";
  EXPECT_EQ(k.port_guard(a, MACH_PORT_NULL, 1, false), KERN_INVALID_NAME);
  EXPECT_EQ(k.port_guard(a, k.task_self_name(a), 1, false), KERN_INVALID_RIGHT);
  ASSERT_EQ(k.port_set_context(a, n, 5), KERN_SUCCESS);
  EXPECT_EQ(k.port_guard(a, n, 1, false), KERN_INVALID_ARGUMENT) << "a context blocks guarding (XNU)";
  EXPECT_EQ(k.port_destroy(a, n), KERN_SUCCESS);
}

TEST_F(AttrTest, AttributeFlavorsAndCounts) {
  TaskId a = task();
  mach_port_name_t n = recv_port(a);
  integer_t buf[32] = {};
  mach_msg_type_number_t count = 0;
  EXPECT_EQ(k.port_get_attributes(a, n, MACH_PORT_LIMITS_INFO, buf, &count), KERN_FAILURE);
  count = 32;
  EXPECT_EQ(k.port_get_attributes(a, n, MACH_PORT_LIMITS_INFO, buf, &count), KERN_SUCCESS);
  EXPECT_EQ(count, MACH_PORT_LIMITS_INFO_COUNT);
  EXPECT_EQ(buf[0], 5);
  count = 32;
  EXPECT_EQ(k.port_get_attributes(a, n, MACH_PORT_INFO_EXT, buf, &count), KERN_SUCCESS);
  EXPECT_EQ(count, MACH_PORT_INFO_EXT_COUNT);
  count = 32;
  EXPECT_EQ(k.port_get_attributes(a, n, MACH_PORT_DNREQUESTS_SIZE, buf, &count), KERN_SUCCESS);
  count = 32;
  EXPECT_EQ(k.port_get_attributes(a, n, 99, buf, &count), KERN_INVALID_ARGUMENT);
  count = 32;
  EXPECT_EQ(k.port_get_attributes(a, MACH_PORT_NULL, MACH_PORT_RECEIVE_STATUS, buf, &count),
            KERN_INVALID_RIGHT);
  count = 32;
  EXPECT_EQ(k.port_get_attributes(a, k.task_self_name(a), MACH_PORT_RECEIVE_STATUS, buf, &count),
            KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_set_attributes(a, n, MACH_PORT_LIMITS_INFO, buf, 0), KERN_FAILURE);
  EXPECT_EQ(k.port_set_attributes(a, n, MACH_PORT_TEMPOWNER, buf, 0), KERN_SUCCESS);
  EXPECT_EQ(k.port_set_attributes(a, n, 99, buf, 1), KERN_INVALID_ARGUMENT);
}

TEST_F(AttrTest, SetMscountAndGetSrights) {
  TaskId a = task(), b = task();
  mach_port_name_t n = recv_port(a);
  give_send(a, n, b);
  mach_port_rights_t sr = 0;
  EXPECT_EQ(k.port_get_srights(a, n, &sr), KERN_SUCCESS);
  EXPECT_EQ(sr, 1u);
  EXPECT_EQ(k.port_set_mscount(a, n, 10), KERN_SUCCESS);
  EXPECT_EQ(status(a, n).mps_mscount, 10u);
  EXPECT_EQ(k.port_set_mscount(a, MACH_PORT_NULL, 10), KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_get_srights(a, k.task_self_name(a), &sr), KERN_INVALID_RIGHT);
}

TEST_F(AttrTest, ExtractRightMovesOrMakesRightsIntoTheCaller) {
  TaskId a = task(), b = task();
  mach_port_name_t n = port_with_send(a);
  mach_port_name_t got = MACH_PORT_NULL;
  mach_msg_type_name_t type = 0;
  EXPECT_EQ(k.port_extract_right(b, a, n, MACH_MSG_TYPE_COPY_SEND, &got, &type), KERN_SUCCESS);
  EXPECT_EQ(type, static_cast<mach_msg_type_name_t>(MACH_MSG_TYPE_PORT_SEND));
  EXPECT_EQ(k.port_extract_right(b, a, n, MACH_MSG_TYPE_MOVE_SEND_ONCE, &got, &type), KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_extract_right(b, a, 0x9903, MACH_MSG_TYPE_COPY_SEND, &got, &type), KERN_INVALID_NAME);
  EXPECT_EQ(k.port_extract_right(b, a, n, 77, &got, &type), KERN_INVALID_VALUE);
  EXPECT_EQ(k.port_extract_right(b, a, MACH_PORT_NULL, MACH_MSG_TYPE_COPY_SEND, &got, &type),
            KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_extract_right(b, a, n, MACH_MSG_TYPE_MOVE_RECEIVE, &got, &type), KERN_SUCCESS);
  EXPECT_EQ(type_of(b, got), MACH_PORT_TYPE_SEND_RECEIVE) << "the receive right joined b's send right";
  EXPECT_EQ(type_of(a, n), MACH_PORT_TYPE_SEND);
}

TEST_F(AttrTest, RenameIsNotSupported) {
  TaskId a = task();
  mach_port_name_t n = recv_port(a);
  EXPECT_EQ(k.port_rename(a, n, 0x5003), KERN_NOT_SUPPORTED);
}

TEST_F(AttrTest, UnknownTaskIsInvalidTask) {
  mach_port_name_t n;
  EXPECT_EQ(k.port_allocate(999, MACH_PORT_RIGHT_RECEIVE, &n), KERN_INVALID_TASK);
  EXPECT_EQ(k.port_deallocate(999, 0x103), KERN_INVALID_TASK);
  EXPECT_EQ(k.reply_port(999), MACH_PORT_NULL);
  EXPECT_EQ(k.task_self_name(999), MACH_PORT_NULL);
  EXPECT_EQ(k.credentials(999), nullptr);
}

}  // namespace
}  // namespace machd::ipc::test
