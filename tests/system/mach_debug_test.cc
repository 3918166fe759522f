// tests/system/mach_debug_test.cc — the mach_debug queries through a real
// machd (the library's MIG user stubs of mach_port.defs, served on task
// ports), and who may use machd's introspection subsystem.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach_debug/ipc_info.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "machd_introspect.h"
#include "support.h"

extern "C" {
#include "machd_introspectUser.h"
}

using namespace systest;

namespace {

mach_port_t self() { return mach_task_self(); }

struct Table {
  std::vector<ipc_info_name_t> names;
  ipc_info_space_t info{};
};

kern_return_t space_info(mach_port_t task, Table* t) {
  ipc_info_name_array_t table = nullptr;
  mach_msg_type_number_t count = 0;
  ipc_info_tree_name_array_t tree = nullptr;
  mach_msg_type_number_t tree_count = 0;
  kern_return_t kr = mach_port_space_info(task, &t->info, &table, &count, &tree, &tree_count);
  if (kr != KERN_SUCCESS) return kr;
  t->names.assign(table, table + count);
  vm_deallocate(self(), vm_address_t(table), count * sizeof *table);
  EXPECT_EQ(tree_count, 0u) << "the splay tree is obsolete";
  return kr;
}

const ipc_info_name_t* find(const Table& t, mach_port_name_t name) {
  for (const ipc_info_name_t& n : t.names)
    if (n.iin_name == name) return &n;
  return nullptr;
}

}  // namespace

TEST(MachDebug, SpaceInfoListsWhatMachPortNamesDoes) {
  mach_port_t p = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_RECEIVE, &p), KERN_SUCCESS);
  ASSERT_EQ(mach_port_insert_right(self(), p, p, MACH_MSG_TYPE_MAKE_SEND), KERN_SUCCESS);
  Table t;
  ASSERT_EQ(space_info(self(), &t), KERN_SUCCESS);
  EXPECT_EQ(t.info.iis_table_size, t.names.size());
  mach_port_name_array_t names = nullptr;
  mach_port_type_array_t types = nullptr;
  mach_msg_type_number_t n = 0, nt = 0;
  ASSERT_EQ(mach_port_names(self(), &names, &n, &types, &nt), KERN_SUCCESS);
  for (mach_msg_type_number_t i = 0; i < n; ++i) {
    const ipc_info_name_t* e = find(t, names[i]);
    ASSERT_NE(e, nullptr) << std::hex << names[i];
    EXPECT_EQ(e->iin_type, types[i]) << std::hex << names[i];
  }
  vm_deallocate(self(), vm_address_t(names), n * sizeof *names);
  vm_deallocate(self(), vm_address_t(types), nt * sizeof *types);
  const ipc_info_name_t* e = find(t, p);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->iin_type, MACH_PORT_TYPE_SEND_RECEIVE);
  EXPECT_EQ(e->iin_urefs, 1u);
  mach_port_t host = mach_host_self();
  Table none;
  EXPECT_EQ(space_info(host, &none), KERN_INVALID_ARGUMENT) << "not a task: XNU's _from_user conversion";
  natural_t type = 0;
  mach_vm_address_t addr = 0;
  EXPECT_EQ(mach_port_kobject(host, p, &type, &addr), KERN_INVALID_ARGUMENT);
  ipc_info_space_basic_t basic{};
  EXPECT_EQ(mach_port_space_basic_info(host, &basic), KERN_INVALID_TASK);
  mach_port_deallocate(self(), host);
  ASSERT_EQ(mach_port_space_basic_info(self(), &basic), KERN_SUCCESS);
  EXPECT_EQ(basic.iisb_table_inuse, n);
  mach_port_destruct(self(), p, -1, 0);
}

TEST(MachDebug, AnotherTasksSpaceShowsTheSamePortUnderTheSameObject) {
  const std::string name = "org.machd.test.mach_debug." + std::to_string(getpid());
  mach_port_t mine = MACH_PORT_NULL;
  ASSERT_EQ(bootstrap_check_in(bootstrap_port, name.c_str(), &mine), KERN_SUCCESS);
  int ready[2], gate[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(gate), 0);
  pid_t child = spawn_task([&] {
    close(ready[0]);
    close(gate[1]);
    mach_port_t p = look_up(name);
    if (!MACH_PORT_VALID(p)) return 1;
    char c = char(p >> 8);  // the index: the name is (index << 8) | 3
    if (write(ready[1], &c, 1) != 1) return 2;
    (void)!read(gate[0], &c, 1);
    return 0;
  });
  close(ready[1]);
  close(gate[0]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  mach_port_t task = MACH_PORT_NULL;
  ASSERT_EQ(task_for_pid(self(), child, &task), KERN_SUCCESS);
  Table theirs, ours;
  ASSERT_EQ(space_info(task, &theirs), KERN_SUCCESS);
  ASSERT_EQ(space_info(self(), &ours), KERN_SUCCESS);
  const ipc_info_name_t* recv = find(ours, mine);
  ASSERT_NE(recv, nullptr);
  const ipc_info_name_t* send = nullptr;
  for (const ipc_info_name_t& e : theirs.names)
    if (MACH_PORT_INDEX(e.iin_name) == uint8_t(c) && e.iin_type) send = &e;
  ASSERT_NE(send, nullptr);
  EXPECT_EQ(send->iin_type, MACH_PORT_TYPE_SEND);
  EXPECT_EQ(send->iin_object, recv->iin_object) << "the two ends of one port";
  EXPECT_NE(recv->iin_object, 0u);
  mach_port_deallocate(self(), task);
  close(gate[1]);
  EXPECT_EQ(wait_exit(child), 0);
  mach_port_mod_refs(self(), mine, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(MachDebug, KobjectOfTheTaskPortIsTaskControlWithItsPid) {
  natural_t type = 0;
  mach_vm_address_t addr = 1;
  kobject_description_t desc = "";
  ASSERT_EQ(mach_port_kobject_description(self(), self(), &type, &addr, desc), KERN_SUCCESS);
  EXPECT_EQ(type, 2u);  // IKOT_TASK_CONTROL
  EXPECT_EQ(addr, 0u) << "never an address";
  EXPECT_EQ(std::string(desc), "task pid " + std::to_string(getpid()));
  mach_port_t host = mach_host_self();
  ASSERT_EQ(mach_port_kobject(self(), host, &type, &addr), KERN_SUCCESS);
  EXPECT_TRUE(type == 3u || type == 4u);  // IKOT_HOST, or IKOT_HOST_PRIV as root
  mach_port_t p = make_port();
  ASSERT_EQ(mach_port_kobject(self(), p, &type, &addr), KERN_SUCCESS);
  EXPECT_EQ(type, 0u) << "an ordinary port";
  mach_port_t so = MACH_PORT_NULL;
  mach_msg_type_name_t got = 0;
  ASSERT_EQ(mach_port_extract_right(self(), p, MACH_MSG_TYPE_MAKE_SEND_ONCE, &so, &got), KERN_SUCCESS);
  EXPECT_EQ(mach_port_kobject(self(), so, &type, &addr), KERN_INVALID_RIGHT);
  EXPECT_EQ(mach_port_kobject(self(), 0x7fff03, &type, &addr), KERN_INVALID_NAME);
  unsigned a = 0, b = 0;
  EXPECT_EQ(mach_port_kernel_object(self(), p, &a, &b), MIG_BAD_ID) << "skipped by XNU's kernel";
  mach_port_deallocate(self(), so);
  mach_port_destruct(self(), p, -1, 0);
  mach_port_deallocate(self(), host);
}

TEST(MachDebug, DnrequestInfoCountsTheDeadNameRequests) {
  mach_port_t p = make_port();
  mach_port_t notify = make_port();
  unsigned total = 0, used = 0;
  ASSERT_EQ(mach_port_dnrequest_info(self(), p, &total, &used), KERN_SUCCESS);
  EXPECT_EQ(used, 0u);
  mach_port_t prev = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_request_notification(self(), p, MACH_NOTIFY_DEAD_NAME, 0, notify,
                                           MACH_MSG_TYPE_MAKE_SEND_ONCE, &prev),
            KERN_SUCCESS);
  ASSERT_EQ(mach_port_dnrequest_info(self(), p, &total, &used), KERN_SUCCESS);
  EXPECT_EQ(used, 1u);
  EXPECT_GE(total, 1u);
  EXPECT_EQ(mach_port_dnrequest_info(self(), self(), &total, &used), KERN_INVALID_RIGHT) << "a send right";
  mach_port_rights_t srights = 0;
  EXPECT_EQ(mach_port_get_srights(self(), MACH_PORT_NULL, &srights), KERN_INVALID_NAME);
  mach_port_destruct(self(), p, -1, 0);
  mach_port_mod_refs(self(), notify, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(MachDebug, IntrospectionAnswersMachdsUserAndRootButNoOneElse) {
  mach_port_t host = mach_host_self();
  machd_task_record_array_t tasks = nullptr;
  mach_msg_type_number_t count = 0;
  ASSERT_EQ(machd_introspect_tasks(host, &tasks, &count), KERN_SUCCESS);
  bool found = false;
  for (mach_msg_type_number_t i = 0; i < count; ++i) found |= tasks[i].pid == getpid();
  EXPECT_TRUE(found) << "this task is listed";
  EXPECT_EQ(tasks[0].pid, 0) << "machd's kernel task first";
  vm_deallocate(self(), vm_address_t(tasks), count * sizeof *tasks);
  EXPECT_EQ(machd_introspect_tasks(self(), &tasks, &count), KERN_INVALID_ARGUMENT) << "not the host port";
  mach_port_deallocate(self(), host);

  if (geteuid() != 0) GTEST_SKIP() << "needs root: the worker must setuid() to another user";
  const int rc = run_as_nobody([] {
    mach_port_t h = mach_host_self();
    machd_task_record_array_t t = nullptr;
    mach_msg_type_number_t n = 0;
    return machd_introspect_tasks(h, &t, &n) == KERN_NO_ACCESS ? 0 : 11;
  });
  EXPECT_EQ(rc, 0);
}
