// tests/system/mach_port_test.cc — every mach_port_* call through a real
// machd, checking that arguments and results cross the wire intact.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mach_port.h>
#include <mach/notify.h>

#include <algorithm>
#include <vector>

#include "support.h"

using namespace systest;

namespace {
mach_port_t self() { return mach_task_self(); }
}  // namespace

TEST(MachPort, AllocateTypeAndDeallocateRoundTrip) {
  mach_port_t p = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_RECEIVE, &p), KERN_SUCCESS);
  EXPECT_TRUE(MACH_PORT_VALID(p));
  mach_port_type_t t = 0;
  ASSERT_EQ(mach_port_type(self(), p, &t), KERN_SUCCESS);
  EXPECT_EQ(t, MACH_PORT_TYPE_RECEIVE);
  ASSERT_EQ(mach_port_insert_right(self(), p, p, MACH_MSG_TYPE_MAKE_SEND), KERN_SUCCESS);
  ASSERT_EQ(mach_port_type(self(), p, &t), KERN_SUCCESS);
  EXPECT_EQ(t, MACH_PORT_TYPE_RECEIVE | MACH_PORT_TYPE_SEND);
  mach_port_urefs_t refs = 0;
  ASSERT_EQ(mach_port_get_refs(self(), p, MACH_PORT_RIGHT_SEND, &refs), KERN_SUCCESS);
  EXPECT_EQ(refs, 1u);
  ASSERT_EQ(mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_SEND, 4), KERN_SUCCESS);
  ASSERT_EQ(mach_port_get_refs(self(), p, MACH_PORT_RIGHT_SEND, &refs), KERN_SUCCESS);
  EXPECT_EQ(refs, 5u);
  EXPECT_EQ(mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_SEND, -6), KERN_INVALID_VALUE) << "negative deltas cross intact";
  ASSERT_EQ(mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_SEND, -5), KERN_SUCCESS);
  ASSERT_EQ(mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  EXPECT_EQ(mach_port_type(self(), p, &t), KERN_INVALID_NAME);
}

TEST(MachPort, BadTaskNameIsInvalidDest) {
  mach_port_t p = MACH_PORT_NULL;
  EXPECT_EQ(mach_port_allocate(0x4242, MACH_PORT_RIGHT_RECEIVE, &p), MACH_SEND_INVALID_DEST);
}

TEST(MachPort, AllocateNameUsesTheGivenName) {
  // A name whose index this task does not use yet (a run before this one in
  // the same process may have left a port of its own at an index tried
  // here: a freed index is the next one handed out, as in XNU).
  mach_port_t want = MACH_PORT_NULL;
  kern_return_t kr = KERN_NAME_EXISTS;
  for (uint32_t index = 0x123400; kr == KERN_NAME_EXISTS && index < 0x123500; ++index) {
    want = (index << 8) | 3u;  // generation 3
    kr = mach_port_allocate_name(self(), MACH_PORT_RIGHT_RECEIVE, want);
  }
  ASSERT_EQ(kr, KERN_SUCCESS);
  mach_port_type_t t = 0;
  EXPECT_EQ(mach_port_type(self(), want, &t), KERN_SUCCESS);
  EXPECT_EQ(mach_port_allocate_name(self(), MACH_PORT_RIGHT_RECEIVE, want), KERN_NAME_EXISTS);
  mach_port_mod_refs(self(), want, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(MachPort, NamesListsEveryRightWithItsType) {
  mach_port_t a = make_port();
  mach_port_name_array_t names = nullptr;
  mach_port_type_array_t types = nullptr;
  mach_msg_type_number_t n = 0, nt = 0;
  ASSERT_EQ(mach_port_names(self(), &names, &n, &types, &nt), KERN_SUCCESS);
  ASSERT_EQ(n, nt);
  auto it = std::find(names, names + n, a);
  ASSERT_NE(it, names + n);
  EXPECT_EQ(types[it - names], MACH_PORT_TYPE_RECEIVE | MACH_PORT_TYPE_SEND);
  vm_deallocate(self(), vm_address_t(names), n * sizeof(*names));
  vm_deallocate(self(), vm_address_t(types), nt * sizeof(*types));
  mach_port_mod_refs(self(), a, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(self(), a);
}

TEST(MachPort, ExtractRightMakesSendOnceAndMovesItOut) {
  mach_port_t p = make_port();
  mach_port_t so = MACH_PORT_NULL;
  mach_msg_type_name_t ty = 0;
  ASSERT_EQ(mach_port_extract_right(self(), p, MACH_MSG_TYPE_MAKE_SEND_ONCE, &so, &ty), KERN_SUCCESS);
  EXPECT_EQ(ty, MACH_MSG_TYPE_PORT_SEND_ONCE);
  mach_port_type_t t = 0;
  ASSERT_EQ(mach_port_type(self(), so, &t), KERN_SUCCESS);
  EXPECT_EQ(t, MACH_PORT_TYPE_SEND_ONCE);
  mach_port_deallocate(self(), so);
  mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(self(), p);
}

TEST(MachPort, PortSetMembershipCalls) {
  mach_port_t set = MACH_PORT_NULL, a = make_port(), b = make_port();
  ASSERT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_PORT_SET, &set), KERN_SUCCESS);
  ASSERT_EQ(mach_port_insert_member(self(), a, set), KERN_SUCCESS);
  ASSERT_EQ(mach_port_move_member(self(), b, set), KERN_SUCCESS);
  mach_port_name_array_t members = nullptr;
  mach_msg_type_number_t n = 0;
  ASSERT_EQ(mach_port_get_set_status(self(), set, &members, &n), KERN_SUCCESS);
  std::vector<mach_port_t> got(members, members + n);
  std::sort(got.begin(), got.end());
  std::vector<mach_port_t> want{a, b};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  vm_deallocate(self(), vm_address_t(members), n * sizeof(*members));
  ASSERT_EQ(mach_port_extract_member(self(), a, set), KERN_SUCCESS);
  EXPECT_EQ(mach_port_extract_member(self(), a, set), KERN_NOT_IN_SET);
  for (mach_port_t p : {a, b}) {
    mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
    mach_port_deallocate(self(), p);
  }
  mach_port_mod_refs(self(), set, MACH_PORT_RIGHT_PORT_SET, -1);
}

TEST(MachPort, AttributesQlimitAndReceiveStatus) {
  mach_port_t p = make_port();
  mach_port_limits_t lim{};
  mach_msg_type_number_t cnt = MACH_PORT_LIMITS_INFO_COUNT;
  ASSERT_EQ(mach_port_get_attributes(self(), p, MACH_PORT_LIMITS_INFO, reinterpret_cast<mach_port_info_t>(&lim), &cnt),
            KERN_SUCCESS);
  EXPECT_EQ(lim.mpl_qlimit, MACH_PORT_QLIMIT_DEFAULT);
  lim.mpl_qlimit = 17;
  ASSERT_EQ(mach_port_set_attributes(self(), p, MACH_PORT_LIMITS_INFO, reinterpret_cast<mach_port_info_t>(&lim),
                                     MACH_PORT_LIMITS_INFO_COUNT),
            KERN_SUCCESS);
  ASSERT_EQ(send_simple(p, 1, "x"), MACH_MSG_SUCCESS);
  mach_port_status_t st{};
  cnt = MACH_PORT_RECEIVE_STATUS_COUNT;
  ASSERT_EQ(mach_port_get_attributes(self(), p, MACH_PORT_RECEIVE_STATUS, reinterpret_cast<mach_port_info_t>(&st), &cnt),
            KERN_SUCCESS);
  EXPECT_EQ(st.mps_qlimit, 17u);
  EXPECT_EQ(st.mps_msgcount, 1u);
  EXPECT_EQ(st.mps_srights, 1u);
  mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(self(), p);
}

TEST(MachPort, ContextArrivesInTheContextTrailer) {
  mach_port_t p = make_port();
  ASSERT_EQ(mach_port_set_context(self(), p, 0xfeedface12345678ull), KERN_SUCCESS);
  mach_port_context_t ctx = 0;
  ASSERT_EQ(mach_port_get_context(self(), p, &ctx), KERN_SUCCESS);
  EXPECT_EQ(ctx, 0xfeedface12345678ull);
  ASSERT_EQ(send_simple(p, 3, "ctx"), MACH_MSG_SUCCESS);
  SimpleRcv r{};
  ASSERT_EQ(mach_msg(&r.msg.head,
                     MACH_RCV_MSG | MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) |
                         MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_CTX),
                     0, sizeof r, p, 0, 0),
            MACH_MSG_SUCCESS);
  auto* t = reinterpret_cast<mach_msg_context_trailer_t*>(reinterpret_cast<uint8_t*>(&r.msg) + r.msg.head.msgh_size);
  EXPECT_EQ(t->msgh_trailer_size, sizeof(mach_msg_context_trailer_t));
  EXPECT_EQ(uint64_t(t->msgh_context), 0xfeedface12345678ull);
  EXPECT_EQ(t->msgh_seqno, 0u);
  mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(self(), p);
}

TEST(MachPort, ConstructWithOptionsAndDestructWithGuard) {
  mach_port_options_t opt{};
  opt.flags = MPO_INSERT_SEND_RIGHT | MPO_CONTEXT_AS_GUARD | MPO_QLIMIT;
  opt.mpl.mpl_qlimit = 3;
  mach_port_t p = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_construct(self(), &opt, 0xabcdef, &p), KERN_SUCCESS);
  mach_port_type_t t = 0;
  ASSERT_EQ(mach_port_type(self(), p, &t), KERN_SUCCESS);
  EXPECT_TRUE(t & MACH_PORT_TYPE_SEND);
  mach_port_status_t st{};
  mach_msg_type_number_t cnt = MACH_PORT_RECEIVE_STATUS_COUNT;
  ASSERT_EQ(mach_port_get_attributes(self(), p, MACH_PORT_RECEIVE_STATUS, reinterpret_cast<mach_port_info_t>(&st), &cnt),
            KERN_SUCCESS);
  EXPECT_EQ(st.mps_qlimit, 3u);
  EXPECT_NE(mach_port_destruct(self(), p, -1, 0x1111), KERN_SUCCESS) << "wrong guard";
  EXPECT_EQ(mach_port_destruct(self(), p, -1, 0xabcdef), KERN_SUCCESS);
  EXPECT_EQ(mach_port_type(self(), p, &t), KERN_INVALID_NAME);
}

TEST(MachPort, GuardAndUnguard) {
  mach_port_t p = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_RECEIVE, &p), KERN_SUCCESS);
  ASSERT_EQ(mach_port_guard(self(), p, 0x77, FALSE), KERN_SUCCESS);
  EXPECT_NE(mach_port_unguard(self(), p, 0x78), KERN_SUCCESS);
  EXPECT_EQ(mach_port_unguard(self(), p, 0x77), KERN_SUCCESS);
  mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(MachPort, SetSeqnoShowsInTheSeqnoTrailer) {
  mach_port_t p = make_port();
  ASSERT_EQ(mach_port_set_seqno(self(), p, 41), KERN_SUCCESS);
  ASSERT_EQ(send_simple(p, 1, "s"), MACH_MSG_SUCCESS);
  SimpleRcv r{};
  ASSERT_EQ(receive_simple(p, r, 1000), MACH_MSG_SUCCESS);
  auto* t = reinterpret_cast<mach_msg_seqno_trailer_t*>(reinterpret_cast<uint8_t*>(&r.msg) + r.msg.head.msgh_size);
  EXPECT_EQ(t->msgh_seqno, 41u);
  mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(self(), p);
}

TEST(MachPort, SrightsAndMscount) {
  mach_port_t p = make_port();
  mach_port_rights_t sr = 0;
  ASSERT_EQ(mach_port_get_srights(self(), p, &sr), KERN_SUCCESS);
  EXPECT_EQ(sr, 1u);
  ASSERT_EQ(mach_port_set_mscount(self(), p, 9), KERN_SUCCESS);
  mach_port_status_t st{};
  mach_msg_type_number_t cnt = MACH_PORT_RECEIVE_STATUS_COUNT;
  ASSERT_EQ(mach_port_get_attributes(self(), p, MACH_PORT_RECEIVE_STATUS, reinterpret_cast<mach_port_info_t>(&st), &cnt),
            KERN_SUCCESS);
  EXPECT_EQ(st.mps_mscount, 9u);
  mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(self(), p);
}

TEST(MachPort, PeekSeesTheQueuedMessageWithoutTakingIt) {
  mach_port_t p = make_port();
  ASSERT_EQ(send_simple(p, 7, "peek"), MACH_MSG_SUCCESS);
  mach_port_seqno_t seq = 0;
  mach_msg_size_t size = 0;
  mach_msg_id_t id = 0;
  mach_msg_max_trailer_t trailer{};
  mach_msg_type_number_t tcnt = sizeof trailer;
  ASSERT_EQ(mach_port_peek(self(), p, MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_SEQNO), &seq, &size, &id,
                           reinterpret_cast<mach_msg_trailer_info_t>(&trailer), &tcnt),
            KERN_SUCCESS);
  EXPECT_EQ(size, sizeof(SimpleMsg) + 8) << "XNU reports the kernel size (header 8 bytes longer)";
  EXPECT_EQ(id, 1007);
  SimpleRcv r{};
  EXPECT_EQ(receive_simple(p, r, 0), MACH_MSG_SUCCESS) << "still queued after peek";
  mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(self(), p);
}

TEST(MachPort, TaskSpecialPortsRoundTrip) {
  mach_port_t k = MACH_PORT_NULL;
  ASSERT_EQ(task_get_special_port(self(), TASK_KERNEL_PORT, &k), KERN_SUCCESS);
  EXPECT_EQ(k, self()) << "the task port, under mach_task_self()'s name";
  mach_port_deallocate(self(), k);
  mach_port_t p = make_port();
  ASSERT_EQ(task_set_special_port(self(), TASK_BOOTSTRAP_PORT, p), KERN_SUCCESS);
  mach_port_t got = MACH_PORT_NULL;
  ASSERT_EQ(task_get_bootstrap_port(self(), &got), KERN_SUCCESS);
  EXPECT_EQ(got, p);
  mach_port_deallocate(self(), got);
  ASSERT_EQ(task_set_special_port(self(), TASK_BOOTSTRAP_PORT, bootstrap_port), KERN_SUCCESS);
  mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(self(), p);
}
