// tests/ipc/names_test.cc — names, generations, user references,
// mach_port_allocate / deallocate / destroy / mod_refs / get_refs / type.
#include "harness.h"

namespace machd::ipc::test {
namespace {

using NamesTest = IpcTest;

TEST_F(NamesTest, TaskSelfIsTheFirstName0x103AndNextNameIs0x203) {
  TaskId t = task();
  EXPECT_EQ(k.task_self_name(t), 0x103u);
  EXPECT_EQ(type_of(t, 0x103), MACH_PORT_TYPE_SEND);
  EXPECT_EQ(recv_port(t), 0x203u);
}

TEST_F(NamesTest, ReusedIndexGetsNewGenerationAndStaleNameIsInvalid) {
  TaskId t = task();
  mach_port_name_t a = recv_port(t);
  ASSERT_EQ(k.port_mod_refs(t, a, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  mach_port_name_t b = recv_port(t);
  EXPECT_EQ(MACH_PORT_INDEX(a), MACH_PORT_INDEX(b));
  EXPECT_NE(a, b);
  EXPECT_EQ(b & 0xff, (a & 0xff) + 4);
  mach_port_type_t type;
  EXPECT_EQ(k.port_type(t, a, &type), KERN_INVALID_NAME);
  EXPECT_EQ(k.port_deallocate(t, a), KERN_INVALID_NAME);
  EXPECT_EQ(type_of(t, b), MACH_PORT_TYPE_RECEIVE);
}

TEST_F(NamesTest, NullAndDeadAreNeverNames) {
  TaskId t = task();
  mach_port_type_t type;
  EXPECT_EQ(k.port_type(t, MACH_PORT_NULL, &type), KERN_INVALID_NAME);
  EXPECT_EQ(k.port_type(t, MACH_PORT_DEAD, &type), KERN_SUCCESS);
  EXPECT_EQ(type, MACH_PORT_TYPE_DEAD_NAME);
  EXPECT_EQ(k.port_allocate_name(t, MACH_PORT_RIGHT_RECEIVE, MACH_PORT_NULL), KERN_INVALID_VALUE);
  EXPECT_EQ(k.port_allocate_name(t, MACH_PORT_RIGHT_RECEIVE, MACH_PORT_DEAD), KERN_INVALID_VALUE);
}

TEST_F(NamesTest, AllocateNameNeedsGenerationLowBitsSet) {
  TaskId t = task();
  EXPECT_EQ(k.port_allocate_name(t, MACH_PORT_RIGHT_RECEIVE, 0x1000), KERN_INVALID_VALUE);
  EXPECT_EQ(k.port_allocate_name(t, MACH_PORT_RIGHT_RECEIVE, 0x1003), KERN_SUCCESS);
  EXPECT_EQ(type_of(t, 0x1003), MACH_PORT_TYPE_RECEIVE);
  EXPECT_EQ(k.port_allocate_name(t, MACH_PORT_RIGHT_PORT_SET, 0x1003), KERN_NAME_EXISTS);
  EXPECT_EQ(k.port_allocate_name(t, MACH_PORT_RIGHT_DEAD_NAME, 0x1007), KERN_NAME_EXISTS);
  EXPECT_EQ(k.port_allocate_name(t, MACH_PORT_RIGHT_SEND, 0x2003), KERN_INVALID_VALUE);
}

// XNU ipc_entry_alloc_name: valid generation bits but index 0 is KERN_FAILURE
// (xnu/tests/mach_port_insert_right.c inserts at name 123 = 0x7b).
TEST_F(NamesTest, NameWithIndexZeroIsKernFailure) {
  TaskId t = task();
  mach_port_name_t p = recv_port(t);
  EXPECT_EQ(k.port_allocate_name(t, MACH_PORT_RIGHT_RECEIVE, 0x7b), KERN_FAILURE);
  EXPECT_EQ(k.port_insert_right(t, t, 0x7b, p, MACH_MSG_TYPE_MAKE_SEND), KERN_FAILURE);
  EXPECT_EQ(k.port_insert_right(t, t, 0x7a, p, MACH_MSG_TYPE_MAKE_SEND), KERN_INVALID_VALUE);
  EXPECT_EQ(type_of(t, p), MACH_PORT_TYPE_RECEIVE) << "the made send right was released";
}

// Into the caller's own space mach_port_insert_right is XNU's
// _kernelrpc_mach_port_insert_right_trap: a right the name does not hold is
// KERN_INVALID_RIGHT (xnu/tests/ipc/port_api.c: MAKE_SEND on a port set), an
// unknown name KERN_INVALID_NAME, not the MIG copyin errors.
TEST_F(NamesTest, InsertRightIntoOwnSpaceReportsTheTrapCopyinError) {
  TaskId t = task();
  mach_port_name_t ps = MACH_PORT_NULL;
  ASSERT_EQ(k.port_allocate(t, MACH_PORT_RIGHT_PORT_SET, &ps), KERN_SUCCESS);
  EXPECT_EQ(k.port_insert_right(t, t, ps, ps, MACH_MSG_TYPE_MAKE_SEND), KERN_INVALID_RIGHT);
  mach_port_name_t r = recv_port(t);
  EXPECT_EQ(k.port_insert_right(t, t, r, r, MACH_MSG_TYPE_COPY_SEND), KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_insert_right(t, t, 0x4403, 0x8803, MACH_MSG_TYPE_MAKE_SEND), KERN_INVALID_NAME);
  EXPECT_EQ(type_of(t, ps), MACH_PORT_TYPE_PORT_SET);
  EXPECT_EQ(type_of(t, r), MACH_PORT_TYPE_RECEIVE);
}

TEST_F(NamesTest, AllocateRejectsRightsThatCannotBeCreated) {
  TaskId t = task();
  mach_port_name_t n;
  EXPECT_EQ(k.port_allocate(t, MACH_PORT_RIGHT_SEND, &n), KERN_INVALID_VALUE);
  EXPECT_EQ(k.port_allocate(t, MACH_PORT_RIGHT_SEND_ONCE, &n), KERN_INVALID_VALUE);
  EXPECT_EQ(k.port_allocate(t, 77, &n), KERN_INVALID_VALUE);
  EXPECT_EQ(k.port_allocate(t, MACH_PORT_RIGHT_DEAD_NAME, &n), KERN_SUCCESS);
  EXPECT_EQ(type_of(t, n), MACH_PORT_TYPE_DEAD_NAME);
  EXPECT_EQ(refs(t, n, MACH_PORT_RIGHT_DEAD_NAME), 1u);
}

TEST_F(NamesTest, SpaceLimitGivesNoSpace) {
  k.set_space_limit(4);
  TaskId t = task();  // 0x103 is task self
  mach_port_name_t n;
  EXPECT_EQ(k.port_allocate(t, MACH_PORT_RIGHT_RECEIVE, &n), KERN_SUCCESS);
  EXPECT_EQ(k.port_allocate(t, MACH_PORT_RIGHT_RECEIVE, &n), KERN_SUCCESS);
  EXPECT_EQ(k.port_allocate(t, MACH_PORT_RIGHT_RECEIVE, &n), KERN_NO_SPACE);
  EXPECT_EQ(k.port_allocate_name(t, MACH_PORT_RIGHT_RECEIVE, 0x10003), KERN_NO_SPACE);
}

TEST_F(NamesTest, SendAndReceiveRightsToOnePortShareOneName) {
  TaskId t = task();
  mach_port_name_t n = port_with_send(t);
  EXPECT_EQ(type_of(t, n), MACH_PORT_TYPE_SEND_RECEIVE);
  EXPECT_EQ(k.port_insert_right(t, t, n, n, MACH_MSG_TYPE_MAKE_SEND), KERN_SUCCESS);
  EXPECT_EQ(refs(t, n, MACH_PORT_RIGHT_SEND), 2u);
  // Inserting under another name is refused: the port is already named.
  EXPECT_EQ(k.port_insert_right(t, t, 0x5003, n, MACH_MSG_TYPE_MAKE_SEND), KERN_RIGHT_EXISTS);
  mach_port_rights_t sr = 0;
  EXPECT_EQ(k.port_get_srights(t, n, &sr), KERN_SUCCESS);
  EXPECT_EQ(sr, 1u) << "one entry holds one send right whatever its urefs";
}

TEST_F(NamesTest, SendOnceRightsEachGetTheirOwnName) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(a);
  mach_port_name_t s1 = give_send_once(a, p, b);
  mach_port_name_t s2 = give_send_once(a, p, b);
  EXPECT_NE(s1, s2);
  EXPECT_EQ(type_of(b, s1), MACH_PORT_TYPE_SEND_ONCE);
  EXPECT_EQ(refs(b, s1, MACH_PORT_RIGHT_SEND_ONCE), 1u);
  EXPECT_EQ(status(a, p).mps_sorights, 2u);
  // Deallocating a send-once right sends a send-once notification to its port.
  EXPECT_EQ(k.port_deallocate(b, s1), KERN_SUCCESS);
  Received r = receive(a, p);
  EXPECT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.hdr.msgh_id, MACH_NOTIFY_SEND_ONCE);
  EXPECT_EQ(status(a, p).mps_sorights, 1u);
}

TEST_F(NamesTest, UrefsSaturateAtMaxInsteadOfOverflowing) {
  TaskId t = task();
  mach_port_name_t n = port_with_send(t);
  EXPECT_EQ(k.port_mod_refs(t, n, MACH_PORT_RIGHT_SEND, 0xFFFF), KERN_SUCCESS);
  EXPECT_EQ(refs(t, n, MACH_PORT_RIGHT_SEND), 0xFFFFu);
  EXPECT_EQ(k.port_mod_refs(t, n, MACH_PORT_RIGHT_SEND, 10), KERN_SUCCESS);
  EXPECT_EQ(refs(t, n, MACH_PORT_RIGHT_SEND), 0xFFFFu);
  // Pegged: deallocate and -1 leave it pegged.
  EXPECT_EQ(k.port_deallocate(t, n), KERN_SUCCESS);
  EXPECT_EQ(k.port_mod_refs(t, n, MACH_PORT_RIGHT_SEND, -1), KERN_SUCCESS);
  EXPECT_EQ(refs(t, n, MACH_PORT_RIGHT_SEND), 0xFFFFu);
  EXPECT_EQ(k.port_insert_right(t, t, n, n, MACH_MSG_TYPE_MAKE_SEND), KERN_SUCCESS);
  EXPECT_EQ(refs(t, n, MACH_PORT_RIGHT_SEND), 0xFFFFu);
  // Only removing all of them at once changes it.
  EXPECT_EQ(k.port_mod_refs(t, n, MACH_PORT_RIGHT_SEND, -0xFFFF), KERN_SUCCESS);
  EXPECT_EQ(type_of(t, n), MACH_PORT_TYPE_RECEIVE);
  EXPECT_EQ(k.port_mod_refs(t, n, MACH_PORT_RIGHT_SEND, 0x10000 - 0), KERN_INVALID_RIGHT);
}

TEST_F(NamesTest, ModRefsReturnsXnuErrorCodes) {
  TaskId t = task();
  mach_port_name_t r = recv_port(t);
  mach_port_name_t s = port_with_send(t);
  mach_port_name_t ps;
  ASSERT_EQ(k.port_allocate(t, MACH_PORT_RIGHT_PORT_SET, &ps), KERN_SUCCESS);
  EXPECT_EQ(k.port_mod_refs(t, r, MACH_PORT_RIGHT_NUMBER, 1), KERN_INVALID_VALUE);
  EXPECT_EQ(k.port_mod_refs(t, MACH_PORT_NULL, MACH_PORT_RIGHT_SEND, 1), KERN_SUCCESS);
  EXPECT_EQ(k.port_mod_refs(t, MACH_PORT_DEAD, MACH_PORT_RIGHT_SEND_ONCE, -1), KERN_SUCCESS);
  EXPECT_EQ(k.port_mod_refs(t, MACH_PORT_NULL, MACH_PORT_RIGHT_RECEIVE, -1), KERN_INVALID_NAME);
  EXPECT_EQ(k.port_mod_refs(t, 0x7703, MACH_PORT_RIGHT_SEND, 1), KERN_INVALID_NAME);
  EXPECT_EQ(k.port_mod_refs(t, r, MACH_PORT_RIGHT_SEND, 1), KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_mod_refs(t, r, MACH_PORT_RIGHT_RECEIVE, 2), KERN_INVALID_VALUE);
  EXPECT_EQ(k.port_mod_refs(t, r, MACH_PORT_RIGHT_RECEIVE, 0), KERN_SUCCESS);
  EXPECT_EQ(k.port_mod_refs(t, s, MACH_PORT_RIGHT_SEND, -2), KERN_INVALID_VALUE);
  EXPECT_EQ(k.port_mod_refs(t, s, MACH_PORT_RIGHT_SEND_ONCE, -1), KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_mod_refs(t, s, MACH_PORT_RIGHT_DEAD_NAME, -1), KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_mod_refs(t, s, MACH_PORT_RIGHT_LABELH, -1), KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_mod_refs(t, ps, MACH_PORT_RIGHT_PORT_SET, 1), KERN_INVALID_VALUE);
  EXPECT_EQ(k.port_mod_refs(t, ps, MACH_PORT_RIGHT_PORT_SET, -1), KERN_SUCCESS);
  EXPECT_EQ(type_of(t, ps), 0u);
}

TEST_F(NamesTest, DeallocateFollowsXnu) {
  TaskId t = task();
  mach_port_name_t r = recv_port(t);
  EXPECT_EQ(k.port_deallocate(t, r), KERN_INVALID_RIGHT) << "receive rights are not deallocated";
  EXPECT_EQ(k.port_deallocate(t, MACH_PORT_NULL), KERN_SUCCESS);
  EXPECT_EQ(k.port_deallocate(t, MACH_PORT_DEAD), KERN_SUCCESS);
  mach_port_name_t s = port_with_send(t);
  EXPECT_EQ(k.port_deallocate(t, s), KERN_SUCCESS);
  EXPECT_EQ(type_of(t, s), MACH_PORT_TYPE_RECEIVE);
  mach_port_name_t ps;
  ASSERT_EQ(k.port_allocate(t, MACH_PORT_RIGHT_PORT_SET, &ps), KERN_SUCCESS);
  EXPECT_EQ(k.port_deallocate(t, ps), KERN_SUCCESS) << "deallocating a port set destroys it";
  mach_port_name_t d;
  ASSERT_EQ(k.port_allocate(t, MACH_PORT_RIGHT_DEAD_NAME, &d), KERN_SUCCESS);
  EXPECT_EQ(k.port_mod_refs(t, d, MACH_PORT_RIGHT_DEAD_NAME, 2), KERN_SUCCESS);
  EXPECT_EQ(k.port_deallocate(t, d), KERN_SUCCESS);
  EXPECT_EQ(refs(t, d, MACH_PORT_RIGHT_DEAD_NAME), 2u);
}

TEST_F(NamesTest, DestroyRemovesEveryRightUnderTheName) {
  TaskId a = task(), b = task();
  mach_port_name_t p = port_with_send(a);
  mach_port_name_t s = give_send(a, p, b);
  EXPECT_EQ(k.port_destroy(a, p), KERN_SUCCESS);
  EXPECT_EQ(type_of(a, p), 0u);
  EXPECT_EQ(type_of(b, s), MACH_PORT_TYPE_DEAD_NAME) << "holders of send rights see a dead name";
  EXPECT_EQ(refs(b, s, MACH_PORT_RIGHT_DEAD_NAME), 1u);
  EXPECT_EQ(k.port_destroy(b, s), KERN_SUCCESS);
  EXPECT_EQ(k.port_destroy(b, MACH_PORT_NULL), KERN_SUCCESS);
  EXPECT_EQ(k.port_destroy(b, 0x9903), KERN_INVALID_NAME);
}

TEST_F(NamesTest, GetRefsReportsOneForReceiveSendOnceAndSets) {
  TaskId t = task();
  mach_port_name_t p = port_with_send(t);
  EXPECT_EQ(refs(t, p, MACH_PORT_RIGHT_RECEIVE), 1u);
  EXPECT_EQ(refs(t, p, MACH_PORT_RIGHT_SEND), 1u);
  EXPECT_EQ(refs(t, p, MACH_PORT_RIGHT_SEND_ONCE), 0u);
  EXPECT_EQ(refs(t, MACH_PORT_NULL, MACH_PORT_RIGHT_SEND), 0u);
  mach_port_urefs_t u;
  EXPECT_EQ(k.port_get_refs(t, MACH_PORT_NULL, MACH_PORT_RIGHT_RECEIVE, &u), KERN_INVALID_NAME);
  EXPECT_EQ(k.port_get_refs(t, p, MACH_PORT_RIGHT_NUMBER, &u), KERN_INVALID_VALUE);
}

TEST_F(NamesTest, NamesListsEveryRightWithItsType) {
  TaskId t = task();
  mach_port_name_t r = recv_port(t);
  mach_port_name_t ps;
  ASSERT_EQ(k.port_allocate(t, MACH_PORT_RIGHT_PORT_SET, &ps), KERN_SUCCESS);
  std::vector<mach_port_name_t> names;
  std::vector<mach_port_type_t> types;
  ASSERT_EQ(k.port_names(t, &names, &types), KERN_SUCCESS);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0], k.task_self_name(t));
  EXPECT_EQ(types[0], MACH_PORT_TYPE_SEND);
  EXPECT_EQ(names[1], r);
  EXPECT_EQ(types[1], MACH_PORT_TYPE_RECEIVE);
  EXPECT_EQ(names[2], ps);
  EXPECT_EQ(types[2], MACH_PORT_TYPE_PORT_SET);
}

TEST_F(NamesTest, InsertRightErrorsAndConsumption) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(a);
  EXPECT_EQ(k.port_insert_right(a, b, MACH_PORT_NULL, p, MACH_MSG_TYPE_MAKE_SEND), KERN_INVALID_VALUE);
  EXPECT_EQ(k.port_insert_right(a, b, 0x4403, MACH_PORT_NULL, MACH_MSG_TYPE_MAKE_SEND),
            KERN_INVALID_CAPABILITY);
  EXPECT_EQ(k.port_insert_right(a, b, 0x4403, 0x8803, MACH_MSG_TYPE_MAKE_SEND), MACH_SEND_INVALID_RIGHT);
  EXPECT_EQ(k.port_insert_right(a, b, 0x4403, p, MACH_MSG_TYPE_COPY_SEND), MACH_SEND_INVALID_RIGHT);
  EXPECT_EQ(k.port_insert_right(a, b, 0x4403, p, MACH_MSG_TYPE_COPY_RECEIVE), MACH_SEND_INVALID_TYPE);
  EXPECT_EQ(k.port_insert_right(a, b, 0x4403, p, MACH_MSG_TYPE_MAKE_SEND), KERN_SUCCESS);
  EXPECT_EQ(type_of(b, 0x4403), MACH_PORT_TYPE_SEND);
  EXPECT_EQ(k.port_insert_right(a, b, 0x4403, p, MACH_MSG_TYPE_MAKE_SEND), KERN_SUCCESS);
  EXPECT_EQ(refs(b, 0x4403, MACH_PORT_RIGHT_SEND), 2u);
  EXPECT_EQ(k.port_insert_right(a, b, 0x4407, p, MACH_MSG_TYPE_MAKE_SEND), KERN_NAME_EXISTS);
  EXPECT_EQ(k.port_insert_right(a, b, 0x5503, p, MACH_MSG_TYPE_MAKE_SEND), KERN_RIGHT_EXISTS);
  EXPECT_EQ(k.port_insert_right(a, b, 0x5503, p, MACH_MSG_TYPE_MOVE_RECEIVE), KERN_RIGHT_EXISTS);
  EXPECT_EQ(type_of(a, p), 0u) << "a failed insert_right still consumed the moved right";
  EXPECT_EQ(type_of(b, 0x4403), MACH_PORT_TYPE_DEAD_NAME);
}

}  // namespace
}  // namespace machd::ipc::test
