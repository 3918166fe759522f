// tests/kern/voucher_test.cc — machd's voucher attribute managers
// (machd/kern/voucher*.h) on an IPC core, without a daemon: the bank's rules
// across tasks, the user-data and importance values, and the voucher a
// kernel RPC carries for a task.
#include <bank/bank_types.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "../common/voucher_recipes.h"
#include "ipc/kernel.h"
#include "kern/runtime.h"
#include "kern/voucher.h"

namespace machd::kern {
namespace {

class NoProcesses final : public TaskHost {
 public:
  pid_t pid_of(ipc::TaskId) const override { return 0; }
  int pidfd_of(ipc::TaskId) const override { return -1; }
  ipc::TaskId task_of_pid(pid_t) const override { return ipc::kNoTask; }
  std::vector<ipc::TaskId> tasks() const override { return {}; }
};

using testsupport::Recipes;

class VoucherManagers : public ::testing::Test {
 protected:
  ipc::TaskId task(uint32_t pid) {
    ipc::Credentials c;
    c.pid = pid;
    c.uid = c.euid = 501;
    c.gid = c.egid = 20;
    c.pidversion = pid * 10;
    ipc::TaskId t = k.task_create(c);
    rt.notify_task_created(t);
    tasks_.push_back(t);
    return t;
  }
  void kill(ipc::TaskId t) {
    rt.notify_task_terminating(t);
    k.task_terminate(t);
    std::erase(tasks_, t);
  }
  void TearDown() override {
    for (ipc::TaskId t : std::vector<ipc::TaskId>(tasks_)) kill(t);
    EXPECT_EQ(k.stats().vouchers, 0u) << "vouchers leaked";
    EXPECT_EQ(v.live_values(), 0u) << "manager values leaked";
  }

  // Runs `r` for task `t`; the voucher as a send right in `t`.
  mach_port_name_t create(ipc::TaskId t, const Recipes& r, kern_return_t* kr = nullptr) {
    mach_port_name_t kname = MACH_PORT_NULL;
    kern_return_t res = k.voucher_create(t, r.bytes, &kname);
    if (kr) *kr = res;
    else EXPECT_EQ(res, KERN_SUCCESS);
    return res == KERN_SUCCESS ? move_to(t, kname) : MACH_PORT_NULL;
  }
  // Moves the kernel task's send right `kname` into `t`.
  mach_port_name_t move_to(ipc::TaskId t, mach_port_name_t kname) {
    if (!MACH_PORT_VALID(kname)) return MACH_PORT_NULL;
    mach_port_name_t out = MACH_PORT_NULL;
    mach_msg_type_name_t type = 0;
    EXPECT_EQ(k.port_extract_right(t, k.kernel_task(), kname, MACH_MSG_TYPE_MOVE_SEND, &out, &type), KERN_SUCCESS);
    return out;
  }
  uint64_t id(ipc::TaskId t, mach_port_name_t name) { return k.kobject_of(t, name).id; }

  template <typename T>
  kern_return_t bank(ipc::TaskId asker, ipc::TaskId holder, mach_port_name_t v, uint32_t command, T* out,
                     uint32_t size = sizeof(T)) {
    return k.voucher_command(asker, id(holder, v), MACH_VOUCHER_ATTR_KEY_BANK, command, {},
                             reinterpret_cast<uint8_t*>(out), &size);
  }
  int32_t originator(ipc::TaskId holder, mach_port_name_t v) {
    int32_t pid = 0;
    EXPECT_EQ(bank(holder, holder, v, BANK_ORIGINATOR_PID, &pid), KERN_SUCCESS);
    return pid;
  }
  std::string content(ipc::TaskId t, mach_port_name_t v, mach_voucher_attr_key_t key) {
    uint8_t buf[600];
    uint32_t size = sizeof buf;
    EXPECT_EQ(k.voucher_extract_content(t, id(t, v), key, buf, &size), KERN_SUCCESS);
    return std::string(reinterpret_cast<char*>(buf), size);
  }

  // `from` sends a message carrying its voucher `v` (moved) to a new port of
  // `to`, which receives it with MACH_RCV_VOUCHER: the voucher's name in `to`.
  mach_port_name_t pass(ipc::TaskId from, mach_port_name_t v, ipc::TaskId to) {
    mach_port_name_t port = MACH_PORT_NULL;
    EXPECT_EQ(k.port_allocate(to, MACH_PORT_RIGHT_RECEIVE, &port), KERN_SUCCESS);
    mach_port_name_t dest = MACH_PORT_NULL;
    mach_msg_type_name_t type = 0;
    EXPECT_EQ(k.port_extract_right(from, to, port, MACH_MSG_TYPE_MAKE_SEND, &dest, &type), KERN_SUCCESS);
    mach_msg_header_t h{};
    h.msgh_bits = MACH_MSGH_BITS_SET(MACH_MSG_TYPE_MOVE_SEND, 0, MACH_MSG_TYPE_MOVE_SEND, 0);
    h.msgh_size = sizeof h;
    h.msgh_remote_port = dest;
    h.msgh_voucher_port = v;
    ipc::MsgArgs send;
    send.options = MACH_SEND_MSG;
    send.send.emplace();
    send.send->msg.assign(reinterpret_cast<uint8_t*>(&h), reinterpret_cast<uint8_t*>(&h) + sizeof h);
    EXPECT_EQ(k.msg(from, ++waiter_, std::move(send), 0).done.result, MACH_MSG_SUCCESS);
    ipc::MsgArgs rcv;
    rcv.options = MACH_RCV_MSG | MACH_RCV_TIMEOUT | MACH_RCV_VOUCHER;
    rcv.rcv_name = port;
    rcv.rcv_size = 1024;
    rcv.timeout = 0;
    ipc::MsgOutcome o = k.msg(to, ++waiter_, std::move(rcv), 0);
    EXPECT_EQ(o.done.result, MACH_MSG_SUCCESS);
    mach_msg_header_t got{};
    std::memcpy(&got, o.done.msg.data(), sizeof got);
    k.port_mod_refs(to, port, MACH_PORT_RIGHT_RECEIVE, -1);
    return got.msgh_voucher_port;
  }

  ipc::Kernel k;
  NoProcesses host;
  Runtime rt{k, MACH_PORT_NULL, host};
  Vouchers v{rt, MACH_PORT_NULL};
  std::vector<ipc::TaskId> tasks_;
  ipc::WaiterId waiter_ = 1;
};

TEST_F(VoucherManagers, TheTaskContextAnswersForWhoeverAsks) {
  ipc::TaskId a = task(100), b = task(200);
  mach_port_name_t va = create(a, Recipes().add(MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_BANK_CREATE));
  mach_port_name_t vb = create(b, Recipes().add(MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_BANK_CREATE));
  EXPECT_EQ(id(a, va), id(b, vb)) << "every task's BANK_CREATE voucher is one voucher";
  EXPECT_EQ(originator(a, va), 100);
  EXPECT_EQ(originator(b, vb), 200);
  persona_token token{};
  EXPECT_EQ(bank(a, a, va, BANK_PERSONA_TOKEN, &token), KERN_INVALID_OBJECT) << "a task is no account";
  boolean_t any = TRUE;
  EXPECT_EQ(bank(a, a, va, BANK_PERSONA_ADOPT_ANY, &any), KERN_SUCCESS);
  EXPECT_FALSE(any) << "no task here may adopt personas";
  int32_t pids[2] = {};
  EXPECT_EQ(bank(a, a, va, BANK_ORIGINATOR_PROXIMATE_PID, &pids), KERN_SUCCESS);
  EXPECT_EQ(pids[0], 100);
  EXPECT_EQ(pids[1], -1);
  uint32_t persona = 0;
  EXPECT_EQ(bank(a, a, va, BANK_PERSONA_ID, &persona), KERN_SUCCESS);
  EXPECT_EQ(persona, 0xFFFFFFFFu) << "PERSONA_ID_NONE";
  EXPECT_EQ(bank(a, a, va, BANK_ORIGINATOR_PROXIMATE_PID, &pids, 4), KERN_NO_SPACE);
  EXPECT_EQ(bank(a, a, va, 77, &pids), KERN_INVALID_ARGUMENT);
  std::string text = content(a, va, MACH_VOUCHER_ATTR_KEY_BANK);
  EXPECT_NE(text.find("100"), std::string::npos) << text;
  uint8_t small[100];
  uint32_t size = sizeof small;
  EXPECT_EQ(k.voucher_extract_content(a, id(a, va), MACH_VOUCHER_ATTR_KEY_BANK, small, &size), KERN_NO_SPACE)
      << "MACH_VOUCHER_BANK_CONTENT_SIZE bytes are needed";
}

TEST_F(VoucherManagers, ASentVoucherBecomesAnAccountOfTheSenderForTheReceiver) {
  ipc::TaskId a = task(100), b = task(200);
  mach_port_name_t va = create(a, Recipes().add(MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_BANK_CREATE));
  mach_port_name_t vb = pass(a, va, b);
  ASSERT_TRUE(MACH_PORT_VALID(vb));
  EXPECT_EQ(originator(b, vb), 100);
  persona_token token{};
  ASSERT_EQ(bank(b, b, vb, BANK_PERSONA_TOKEN, &token), KERN_SUCCESS);
  EXPECT_EQ(token.originator.pid, 100);
  EXPECT_EQ(token.proximate.pid, 100);
  EXPECT_EQ(token.originator.uid, 501u);
  EXPECT_EQ(token.originator.unique_pid, 1000u) << "machd's pidversion";
  EXPECT_NE(content(b, vb, MACH_VOUCHER_ATTR_KEY_BANK).find("merchant pid 200"), std::string::npos);

  // b passes it on to c: the originator stays a (the holder), b is proximate.
  ipc::TaskId c = task(300);
  mach_port_name_t vc = pass(b, vb, c);
  int32_t pids[2] = {};
  ASSERT_EQ(bank(c, c, vc, BANK_ORIGINATOR_PROXIMATE_PID, &pids), KERN_SUCCESS);
  EXPECT_EQ(pids[0], 100);
  EXPECT_EQ(pids[1], 200);
  ASSERT_EQ(bank(c, c, vc, BANK_PERSONA_TOKEN, &token), KERN_SUCCESS);
  EXPECT_EQ(token.originator.pid, 200) << "no task may pass a secure originator on: the sender is it";
}

TEST_F(VoucherManagers, OnlyTheTaskTheWorkWasDoneByMayRedeemIt) {
  ipc::TaskId a = task(100), b = task(200), c = task(300);
  mach_port_name_t va = create(a, Recipes().add(MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_BANK_CREATE));
  mach_port_name_t vb = pass(a, va, b);
  EXPECT_EQ(create(b, Recipes().add(MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_REDEEM, vb)), vb);
  mach_port_name_t in_c = MACH_PORT_NULL;
  mach_msg_type_name_t type = 0;
  ASSERT_EQ(k.port_extract_right(c, b, vb, MACH_MSG_TYPE_COPY_SEND, &in_c, &type), KERN_SUCCESS);
  kern_return_t kr = KERN_SUCCESS;
  create(c, Recipes().add(MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_REDEEM, in_c), &kr);
  EXPECT_EQ(kr, KERN_INVALID_CAPABILITY);
}

TEST_F(VoucherManagers, ATasksOwnValueComesBackAsTheTaskContext) {
  ipc::TaskId a = task(100);
  mach_port_name_t context = create(a, Recipes().add(MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_BANK_CREATE));
  Recipes round;
  round.add(MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_BANK_CREATE)
      .add(MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_SEND_PREPROCESS)
      .add(MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_AUTO_REDEEM);
  EXPECT_EQ(create(a, round), context);
  kern_return_t kr = KERN_SUCCESS;
  Recipes modify;
  modify.add(MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_BANK_CREATE)
      .add(MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_SEND_PREPROCESS)
      .add(MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_BANK_MODIFY_PERSONA, MACH_PORT_NULL, std::string(16, '\0'));
  create(a, modify, &kr);
  EXPECT_EQ(kr, KERN_NO_ACCESS) << "changing a persona needs an entitlement";
}

TEST_F(VoucherManagers, AKernelRpcCarriesTheTasksDefaultVoucherMadeForIt) {
  ipc::TaskId a = task(100), handler = task(200);
  mach_port_name_t kname = v.for_kernel_rpc(a);
  ASSERT_TRUE(MACH_PORT_VALID(kname));
  int32_t pid = 0;
  uint32_t size = sizeof pid;
  ASSERT_EQ(k.voucher_command(handler, k.kobject_of(k.kernel_task(), kname).id, MACH_VOUCHER_ATTR_KEY_BANK,
                              BANK_ORIGINATOR_PID, {}, reinterpret_cast<uint8_t*>(&pid), &size),
            KERN_SUCCESS);
  EXPECT_EQ(pid, 100) << "the task's bank value, whoever reads it";
  mach_port_name_t in_handler = pass(k.kernel_task(), kname, handler);
  persona_token token{};
  ASSERT_EQ(bank(handler, handler, in_handler, BANK_PERSONA_TOKEN, &token), KERN_SUCCESS);
  EXPECT_EQ(token.originator.pid, 100);
  kill(a);
  EXPECT_EQ(originator(handler, in_handler), 100) << "the bank remembers a task that is gone";
  EXPECT_EQ(v.for_kernel_rpc(a), MACH_PORT_NULL) << "no voucher for a gone task";
}

TEST_F(VoucherManagers, UserDataIsOneValueUnderBothKeysAndAtMost16KiB) {
  ipc::TaskId a = task(100);
  kern_return_t kr = KERN_SUCCESS;
  create(a, Recipes().add(MACH_VOUCHER_ATTR_KEY_USER_DATA, MACH_VOUCHER_ATTR_USER_DATA_STORE, 0,
                          std::string(16 * 1024 + 1, 'x')),
         &kr);
  EXPECT_EQ(kr, KERN_RESOURCE_SHORTAGE);
  mach_port_name_t both = create(a, Recipes()
                                        .add(MACH_VOUCHER_ATTR_KEY_USER_DATA, MACH_VOUCHER_ATTR_USER_DATA_STORE, 0, "d")
                                        .add(MACH_VOUCHER_ATTR_KEY_TEST, MACH_VOUCHER_ATTR_USER_DATA_STORE, 0, "d"));
  EXPECT_EQ(v.live_values(), 1u);
  EXPECT_EQ(content(a, both, MACH_VOUCHER_ATTR_KEY_TEST), "d");
  uint8_t out[4];
  uint32_t size = sizeof out;
  EXPECT_EQ(k.voucher_command(a, id(a, both), MACH_VOUCHER_ATTR_KEY_USER_DATA, 1, {}, out, &size), KERN_FAILURE);
  mach_port_name_t one = create(a, Recipes().add(MACH_VOUCHER_ATTR_KEY_TEST, MACH_VOUCHER_ATTR_USER_DATA_STORE, 0, "d"));
  k.port_deallocate(a, both);
  EXPECT_EQ(v.live_values(), 1u) << "still held under the test key";
  k.port_deallocate(a, one);
  EXPECT_EQ(v.live_values(), 0u);
}

TEST_F(VoucherManagers, ImportanceNamesItsTaskUntilTheTaskGoes) {
  ipc::TaskId a = task(100), b = task(200);
  mach_port_name_t va = create(a, Recipes().add(MACH_VOUCHER_ATTR_KEY_IMPORTANCE, MACH_VOUCHER_ATTR_IMPORTANCE_SELF));
  mach_port_name_t vb = pass(a, va, b);
  EXPECT_EQ(content(b, vb, MACH_VOUCHER_ATTR_KEY_IMPORTANCE), std::string("importance of pid 100") + '\0');
  kill(a);
  EXPECT_EQ(content(b, vb, MACH_VOUCHER_ATTR_KEY_IMPORTANCE), std::string("importance of pid -1") + '\0');
  uint8_t buf[8];
  uint32_t size = 8;
  EXPECT_EQ(k.voucher_extract_content(b, id(b, vb), MACH_VOUCHER_ATTR_KEY_IMPORTANCE, buf, &size), KERN_SUCCESS);
  EXPECT_EQ(size, 8u) << "truncated, NUL-terminated";
  EXPECT_EQ(buf[7], 0);
  mach_port_name_t vb2 = create(b, Recipes().add(MACH_VOUCHER_ATTR_KEY_IMPORTANCE, MACH_VOUCHER_ATTR_IMPORTANCE_SELF));
  EXPECT_NE(id(b, vb2), id(b, vb)) << "b's own importance is another value";
}

}  // namespace
}  // namespace machd::kern
