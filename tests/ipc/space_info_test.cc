// tests/ipc/space_info_test.cc — looking at a space without changing it
// (ipc/space_info.h): mach_port_space_info, _basic_info, dnrequest_info,
// mach_port_kobject, and the introspection detail of Kernel::space_names.
#include <mach/notify.h>

#include <algorithm>

#include "harness.h"

namespace machd::ipc::test {
namespace {

using SpaceInfoTest = IpcTest;

const ipc_info_name_t* find(const std::vector<ipc_info_name_t>& t, mach_port_name_t name) {
  auto it = std::find_if(t.begin(), t.end(), [&](const ipc_info_name_t& i) { return i.iin_name == name; });
  return it == t.end() ? nullptr : &*it;
}

const NameDetail* find(const std::vector<NameDetail>& t, mach_port_name_t name) {
  auto it = std::find_if(t.begin(), t.end(), [&](const NameDetail& d) { return d.name == name; });
  return it == t.end() ? nullptr : &*it;
}

TEST_F(SpaceInfoTest, TheTableHasEverySlotWithItsRightsAndUrefs) {
  TaskId a = task();
  mach_port_name_t r = recv_port(a);
  ASSERT_EQ(k.port_insert_right(a, a, r, r, MACH_MSG_TYPE_MAKE_SEND), KERN_SUCCESS);
  ASSERT_EQ(k.port_mod_refs(a, r, MACH_PORT_RIGHT_SEND, 2), KERN_SUCCESS);
  mach_port_name_t pset = MACH_PORT_NULL;
  ASSERT_EQ(k.port_allocate(a, MACH_PORT_RIGHT_PORT_SET, &pset), KERN_SUCCESS);
  mach_port_name_t dead = MACH_PORT_NULL;
  ASSERT_EQ(k.port_allocate(a, MACH_PORT_RIGHT_DEAD_NAME, &dead), KERN_SUCCESS);

  ipc_info_space_t info{};
  std::vector<ipc_info_name_t> table;
  ASSERT_EQ(k.space_info(a, &info, &table), KERN_SUCCESS);
  EXPECT_EQ(info.iis_genno_mask, 0xffu);
  EXPECT_EQ(info.iis_table_size, table.size());
  EXPECT_EQ(table[0].iin_type, 0u) << "index 0 is never a name";
  const ipc_info_name_t* ri = find(table, r);
  ASSERT_NE(ri, nullptr);
  EXPECT_EQ(ri->iin_type, MACH_PORT_TYPE_SEND_RECEIVE);
  EXPECT_EQ(ri->iin_urefs, 3u);
  EXPECT_NE(ri->iin_object, 0u);
  const ipc_info_name_t* pi = find(table, pset);
  ASSERT_NE(pi, nullptr);
  EXPECT_EQ(pi->iin_type, MACH_PORT_TYPE_PORT_SET);
  EXPECT_NE(pi->iin_object, 0u);
  const ipc_info_name_t* di = find(table, dead);
  ASSERT_NE(di, nullptr);
  EXPECT_EQ(di->iin_type, MACH_PORT_TYPE_DEAD_NAME);
  EXPECT_EQ(di->iin_object, 0u) << "a dead name denotes no object";

  // Every name mach_port_names reports is in the table with the same type.
  std::vector<mach_port_name_t> names;
  std::vector<mach_port_type_t> types;
  ASSERT_EQ(k.port_names(a, &names, &types), KERN_SUCCESS);
  size_t in_use = 0;
  for (const ipc_info_name_t& i : table) in_use += i.iin_type != 0;
  EXPECT_EQ(in_use, names.size());
  for (size_t i = 0; i < names.size(); i++) {
    const ipc_info_name_t* e = find(table, names[i]);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->iin_type, types[i]);
  }
}

TEST_F(SpaceInfoTest, ThePortHasOneObjectIdInEverySpace) {
  TaskId a = task(), b = task();
  mach_port_name_t r = recv_port(a);
  mach_port_name_t in_b = give_send(a, r, b);
  mach_port_name_t other = recv_port(a);
  ipc_info_space_t info{};
  std::vector<ipc_info_name_t> ta, tb;
  ASSERT_EQ(k.space_info(a, &info, &ta), KERN_SUCCESS);
  ASSERT_EQ(k.space_info(b, &info, &tb), KERN_SUCCESS);
  ASSERT_NE(find(ta, r), nullptr);
  ASSERT_NE(find(tb, in_b), nullptr);
  EXPECT_EQ(find(ta, r)->iin_object, find(tb, in_b)->iin_object);
  EXPECT_NE(find(ta, r)->iin_object, find(ta, other)->iin_object);
}

TEST_F(SpaceInfoTest, ASendRightToADeadPortIsReportedDeadAndNotConverted) {
  TaskId a = task(), b = task();
  mach_port_name_t r = recv_port(a);
  mach_port_name_t in_b = give_send(a, r, b);
  ASSERT_EQ(k.port_destroy(a, r), KERN_SUCCESS);
  ipc_info_space_t info{};
  std::vector<ipc_info_name_t> tb;
  ASSERT_EQ(k.space_info(b, &info, &tb), KERN_SUCCESS);
  ASSERT_NE(find(tb, in_b), nullptr);
  EXPECT_EQ(find(tb, in_b)->iin_type, MACH_PORT_TYPE_DEAD_NAME);
  EXPECT_EQ(find(tb, in_b)->iin_object, 0u);
}

TEST_F(SpaceInfoTest, ADeadNameRequestShowsInTheTypeAndInDnrequestInfo) {
  TaskId a = task(), b = task();
  mach_port_name_t r = recv_port(a);
  mach_port_name_t in_b = give_send(a, r, b);
  mach_port_name_t notify = recv_port(b);
  mach_port_name_t prev = MACH_PORT_NULL;
  ASSERT_EQ(k.port_request_notification(b, in_b, MACH_NOTIFY_DEAD_NAME, 0, notify, MACH_MSG_TYPE_MAKE_SEND_ONCE,
                                        &prev),
            KERN_SUCCESS);
  ipc_info_space_t info{};
  std::vector<ipc_info_name_t> tb;
  ASSERT_EQ(k.space_info(b, &info, &tb), KERN_SUCCESS);
  EXPECT_EQ(find(tb, in_b)->iin_type, MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_DNREQUEST);
  unsigned total = 0, used = 0;
  ASSERT_EQ(k.port_dnrequest_info(a, r, &total, &used), KERN_SUCCESS);
  EXPECT_EQ(used, 1u);
  EXPECT_GE(total, used);
  EXPECT_EQ(k.port_dnrequest_info(b, in_b, &total, &used), KERN_INVALID_RIGHT) << "needs the receive right";
  EXPECT_EQ(k.port_dnrequest_info(b, 0x7777703, &total, &used), KERN_INVALID_NAME);
  EXPECT_EQ(k.port_dnrequest_info(999, r, &total, &used), KERN_INVALID_TASK);
}

TEST_F(SpaceInfoTest, BasicInfoCountsTheNamesInUse) {
  TaskId a = task();
  ipc_info_space_basic_t before{}, after{};
  ASSERT_EQ(k.space_basic_info(a, &before), KERN_SUCCESS);
  recv_port(a);
  recv_port(a);
  ASSERT_EQ(k.space_basic_info(a, &after), KERN_SUCCESS);
  EXPECT_EQ(after.iisb_table_inuse, before.iisb_table_inuse + 2);
  EXPECT_EQ(after.iisb_genno_mask, 0xffu);
  EXPECT_GE(after.iisb_table_size, after.iisb_table_inuse + 1);
  EXPECT_EQ(k.space_basic_info(999, &after), KERN_INVALID_TASK);
}

TEST_F(SpaceInfoTest, KobjectNeedsASendOrReceiveRight) {
  TaskId a = task(), b = task();
  KObject ko{1, 1};
  EXPECT_EQ(k.port_kobject(a, k.task_self_name(a), &ko), KERN_SUCCESS);
  EXPECT_EQ(ko, (KObject{kKObjectTaskType, a}));
  mach_port_name_t r = recv_port(a);
  EXPECT_EQ(k.port_kobject(a, r, &ko), KERN_SUCCESS);
  EXPECT_EQ(ko, KObject{}) << "an ordinary port";
  mach_port_name_t so = give_send_once(a, r, b);
  EXPECT_EQ(k.port_kobject(b, so, &ko), KERN_INVALID_RIGHT);
  mach_port_name_t pset = MACH_PORT_NULL;
  ASSERT_EQ(k.port_allocate(a, MACH_PORT_RIGHT_PORT_SET, &pset), KERN_SUCCESS);
  EXPECT_EQ(k.port_kobject(a, pset, &ko), KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_kobject(a, MACH_PORT_NULL, &ko), KERN_INVALID_NAME);
  EXPECT_EQ(k.port_kobject(999, r, &ko), KERN_INVALID_TASK);
}

TEST_F(SpaceInfoTest, GetSrightsOfNoNameIsInvalidName) {
  TaskId a = task();
  mach_port_rights_t n = 0;
  EXPECT_EQ(k.port_get_srights(a, MACH_PORT_NULL, &n), KERN_INVALID_NAME);
  EXPECT_EQ(k.port_get_srights(a, MACH_PORT_DEAD, &n), KERN_INVALID_NAME);
}

TEST_F(SpaceInfoTest, NamesDetailTellsWhoReceivesAndHowFullTheQueueIs) {
  TaskId a = task(), b = task();
  mach_port_name_t r = recv_port(a);
  mach_port_name_t in_b = give_send(a, r, b);
  ASSERT_EQ(send(b, simple(in_b)), MACH_MSG_SUCCESS);
  ASSERT_EQ(send(b, simple(in_b)), MACH_MSG_SUCCESS);
  std::vector<NameDetail> da, db;
  ASSERT_EQ(k.space_names(a, &da), KERN_SUCCESS);
  ASSERT_EQ(k.space_names(b, &db), KERN_SUCCESS);
  const NameDetail* ra = find(da, r);
  const NameDetail* sb = find(db, in_b);
  ASSERT_NE(ra, nullptr);
  ASSERT_NE(sb, nullptr);
  EXPECT_EQ(ra->receiver, a);
  EXPECT_EQ(sb->receiver, a);
  EXPECT_EQ(ra->object, sb->object);
  EXPECT_EQ(ra->msgcount, 2u);
  EXPECT_EQ(ra->qlimit, uint32_t(MACH_PORT_QLIMIT_DEFAULT));
  EXPECT_EQ(ra->srights, 3u) << "b's entry and the destination right of each queued message";
  EXPECT_FALSE(ra->nsrequest);
  std::vector<TaskId> ids = k.task_ids();
  EXPECT_NE(std::find(ids.begin(), ids.end(), a), ids.end());
  EXPECT_NE(std::find(ids.begin(), ids.end(), k.kernel_task()), ids.end());
  EXPECT_EQ(k.space_names(999, &da), KERN_INVALID_TASK);
  receive(a, r);
  receive(a, r);
}

}  // namespace
}  // namespace machd::ipc::test
