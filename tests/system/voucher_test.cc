// tests/system/voucher_test.cc — Mach vouchers against a real machd
// (machd/kern/voucher.h, machd/ipc/voucher.h): host_create_mach_voucher
// and the extract calls, one voucher per set of values, a voucher carried by
// a message and received with and without MACH_RCV_VOUCHER, the bank
// attribute naming the sender across tasks, XNU's refusals, vouchers gone
// with their last send right, and a sender that died before its message
// was received.
#include <bank/bank_types.h>
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mach_host.h>
#include <mach/mach_voucher.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "../common/voucher_recipes.h"
#include "support.h"

using namespace systest;

namespace {

// A recipe array under construction, with the two records used most.
struct Recipes : testsupport::Recipes {
  Recipes& add(mach_voucher_attr_key_t key, mach_voucher_attr_recipe_command_t command,
               mach_voucher_name_t previous = MACH_VOUCHER_NAME_NULL, const std::string& content = "") {
    testsupport::Recipes::add(key, command, previous, content);
    return *this;
  }
  Recipes& data(const std::string& s) {
    return add(MACH_VOUCHER_ATTR_KEY_USER_DATA, MACH_VOUCHER_ATTR_USER_DATA_STORE, MACH_VOUCHER_NAME_NULL, s);
  }
  Recipes& bank() { return add(MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_BANK_CREATE); }
};

kern_return_t create(const Recipes& r, mach_voucher_t* v) {
  mach_port_t host = mach_host_self();
  *v = MACH_VOUCHER_NULL;
  kern_return_t kr = host_create_mach_voucher(host, const_cast<uint8_t*>(r.bytes.data()),
                                              mach_msg_type_number_t(r.bytes.size()), v);
  mach_port_deallocate(mach_task_self(), host);
  return kr;
}

mach_voucher_t voucher(const Recipes& r) {
  mach_voucher_t v = MACH_VOUCHER_NULL;
  EXPECT_EQ(create(r, &v), KERN_SUCCESS);
  return v;
}

std::string user_data(mach_voucher_t v) {
  uint8_t buf[512];
  mach_msg_type_number_t n = sizeof buf;
  if (mach_voucher_extract_attr_content(v, MACH_VOUCHER_ATTR_KEY_USER_DATA, buf, &n) != KERN_SUCCESS) return "?";
  return std::string(reinterpret_cast<char*>(buf), n);
}

int32_t originator_pid(mach_voucher_t v, kern_return_t* kr = nullptr) {
  int32_t pid = 0;
  mach_msg_type_number_t n = sizeof pid;
  kern_return_t r = mach_voucher_attr_command(v, MACH_VOUCHER_ATTR_KEY_BANK, BANK_ORIGINATOR_PID, nullptr, 0,
                                              reinterpret_cast<uint8_t*>(&pid), &n);
  if (kr) *kr = r;
  return r == KERN_SUCCESS ? pid : -2;
}

struct VoucherMsg {
  mach_msg_header_t head;
  int32_t value;
};
struct VoucherRcv {
  VoucherMsg msg;
  mach_msg_max_trailer_t trailer;
};

mach_msg_return_t send_with_voucher(mach_port_t dest, mach_voucher_t v, mach_msg_type_name_t disp, int32_t value,
                                    mach_msg_type_name_t dest_disp = MACH_MSG_TYPE_COPY_SEND) {
  VoucherMsg m{};
  m.head.msgh_bits = MACH_MSGH_BITS_SET(dest_disp, 0, disp, 0);
  m.head.msgh_size = sizeof m;
  m.head.msgh_remote_port = dest;
  m.head.msgh_voucher_port = v;
  m.head.msgh_id = 0x766f;
  m.value = value;
  return mach_msg(&m.head, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof m, 0, MACH_PORT_NULL, 5000, MACH_PORT_NULL);
}

mach_msg_return_t receive(mach_port_t port, VoucherRcv& r, mach_msg_option_t extra, int timeout_ms = 10000) {
  memset(&r, 0, sizeof r);
  return mach_msg(&r.msg.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT | extra, 0, sizeof r, port, timeout_ms,
                  MACH_PORT_NULL);
}

mach_port_urefs_t send_refs(mach_port_t name) {
  mach_port_urefs_t n = 0;
  if (mach_port_get_refs(mach_task_self(), name, MACH_PORT_RIGHT_SEND, &n) != KERN_SUCCESS) return 0;
  return n;
}

// Waits (up to 5 s) until machd holds what it held at `before`, give or
// take `port_delta` ports: a voucher goes with its last send right, and
// the attribute values it held with it.
bool back_to(const Holdings& before, int64_t port_delta = 0) {
  for (int i = 0; i < 500; i++) {
    const Holdings h = holdings();
    if (h.ports == before.ports + port_delta && h.vouchers == before.vouchers &&
        h.voucher_values == before.voucher_values)
      return true;
    usleep(10 * 1000);
  }
  const Holdings h = holdings();
  ADD_FAILURE() << "ports " << h.ports << " (want " << before.ports + port_delta << "), vouchers " << h.vouchers
                << " (" << before.vouchers << "), values " << h.voucher_values << " (" << before.voucher_values << ")";
  return false;
}

}  // namespace

TEST(Vouchers, ARecipeExtractedFromAVoucherMakesTheSameVoucher) {
  const Holdings before = holdings();
  mach_voucher_t v = voucher(Recipes().data("round trip"));
  ASSERT_TRUE(MACH_PORT_VALID(v));
  EXPECT_EQ(user_data(v), "round trip");
  uint8_t recipe[256];
  mach_msg_type_number_t n = sizeof recipe;
  ASSERT_EQ(mach_voucher_extract_attr_recipe(v, MACH_VOUCHER_ATTR_KEY_USER_DATA, recipe, &n), KERN_SUCCESS);
  ASSERT_EQ(n, sizeof(mach_voucher_attr_recipe_data_t) + 10);
  mach_voucher_attr_recipe_data_t h;
  memcpy(&h, recipe, sizeof h);
  EXPECT_EQ(h.key, MACH_VOUCHER_ATTR_KEY_USER_DATA);
  EXPECT_EQ(h.command, MACH_VOUCHER_ATTR_USER_DATA_STORE);
  EXPECT_EQ(h.content_size, 10u);
  mach_voucher_t again = MACH_VOUCHER_NULL;
  ASSERT_EQ(host_create_mach_voucher(mach_host_self(), recipe, n, &again), KERN_SUCCESS);
  EXPECT_EQ(again, v) << "the same voucher, the same name";

  uint8_t all[512];
  mach_msg_type_number_t an = sizeof all;
  ASSERT_EQ(mach_voucher_extract_all_attr_recipes(v, all, &an), KERN_SUCCESS);
  EXPECT_EQ(an, n) << "one key holds a value";
  EXPECT_EQ(memcmp(all, recipe, n), 0);

  n = sizeof recipe;
  ASSERT_EQ(mach_voucher_extract_attr_recipe(v, MACH_VOUCHER_ATTR_KEY_BANK, recipe, &n), KERN_SUCCESS);
  EXPECT_EQ(n, 0u) << "a key at its default has no recipe";
  EXPECT_EQ(send_refs(v), 2u);
  mach_voucher_deallocate(v);
  mach_voucher_deallocate(v);
  EXPECT_TRUE(back_to(before)) << "the voucher went with its last send right";
}

TEST(Vouchers, EqualRecipesGiveOneVoucherDifferentOnesAnother) {
  mach_voucher_t a = voucher(Recipes().data("same").bank());
  mach_voucher_t b = voucher(Recipes().bank().data("same"));
  mach_voucher_t c = voucher(Recipes().data("other"));
  EXPECT_EQ(a, b) << "the order of the recipes does not matter, the values do";
  EXPECT_NE(a, c);
  mach_voucher_t empty = MACH_VOUCHER_NULL;
  EXPECT_EQ(host_create_mach_voucher(mach_host_self(), nullptr, 0, &empty), KERN_SUCCESS);
  EXPECT_EQ(empty, MACH_VOUCHER_NULL) << "no recipe, no voucher";
  for (mach_voucher_t v : {a, b, c}) mach_voucher_deallocate(v);
}

TEST(Vouchers, XnusRefusals) {
  const Holdings before = holdings();
  mach_voucher_t v = MACH_VOUCHER_NULL;
  Recipes truncated = Recipes().data("abc");
  truncated.bytes.pop_back();
  EXPECT_EQ(create(truncated, &v), KERN_INVALID_ARGUMENT);
  mach_port_t plain = make_port();
  EXPECT_EQ(create(Recipes().add(MACH_VOUCHER_ATTR_KEY_USER_DATA, MACH_VOUCHER_ATTR_COPY, plain), &v),
            KERN_INVALID_CAPABILITY)
      << "a previous voucher that is no voucher";
  EXPECT_EQ(create(Recipes().add(MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_SET_VALUE_HANDLE, 0,
                                 std::string(8, '\0')),
                   &v),
            KERN_INVALID_CAPABILITY);
  EXPECT_EQ(create(Recipes().add(MACH_VOUCHER_ATTR_KEY_ATM, MACH_VOUCHER_ATTR_REDEEM), &v), KERN_INVALID_ARGUMENT)
      << "no ATM manager, as on macOS";
  EXPECT_EQ(create(Recipes().add(MACH_VOUCHER_ATTR_KEY_USER_DATA, MACH_VOUCHER_ATTR_COPY, 0, "x"), &v),
            KERN_INVALID_ARGUMENT);
  EXPECT_EQ(create(Recipes().add(MACH_VOUCHER_ATTR_KEY_IMPORTANCE, MACH_VOUCHER_ATTR_IMPORTANCE_SELF, 0, "x"), &v),
            KERN_INVALID_ARGUMENT);
  mach_voucher_t big = MACH_VOUCHER_NULL;
  EXPECT_EQ(create(Recipes().data(std::string(4000, 'b')), &big), KERN_SUCCESS);
  mach_voucher_deallocate(big);
  EXPECT_EQ(host_create_mach_voucher(mach_task_self(), Recipes().data("x").bytes.data(), 17, &v),
            KERN_INVALID_ARGUMENT)
      << "not a host port";
  uint8_t buf[64];
  mach_msg_type_number_t n = sizeof buf;
  EXPECT_EQ(mach_voucher_extract_attr_recipe(mach_task_self(), MACH_VOUCHER_ATTR_KEY_BANK, buf, &n),
            KERN_INVALID_ARGUMENT)
      << "a kernel object that is no voucher";
  n = sizeof buf;
  EXPECT_EQ(mach_voucher_debug_info(mach_task_self(), plain, buf, &n), KERN_NOT_SUPPORTED)
      << "as XNU's release kernels";
  mach_port_destruct(mach_task_self(), plain, -1, 0);
  EXPECT_TRUE(back_to(before));
}

TEST(Vouchers, InvalidVoucherNamesAreRefusedAndNothingIsTaken) {
  mach_port_t port = make_port();
  mach_port_t plain = make_port();
  mach_voucher_t v = voucher(Recipes().data("carried"));
  EXPECT_EQ(send_with_voucher(port, plain, MACH_MSG_TYPE_COPY_SEND, 1), MACH_SEND_INVALID_VOUCHER);
  EXPECT_EQ(send_with_voucher(port, v, MACH_MSG_TYPE_MAKE_SEND, 1), MACH_SEND_INVALID_VOUCHER);
  EXPECT_EQ(send_with_voucher(port, MACH_PORT_DEAD, MACH_MSG_TYPE_MOVE_SEND, 1), MACH_SEND_INVALID_VOUCHER);
  EXPECT_EQ(send_with_voucher(port, v + 4, MACH_MSG_TYPE_MOVE_SEND, 1), MACH_SEND_INVALID_VOUCHER) << "a stale name";
  EXPECT_EQ(send_refs(v), 1u);
  EXPECT_EQ(queued(port), 0u);
  EXPECT_EQ(send_with_voucher(port, MACH_PORT_NULL, MACH_MSG_TYPE_COPY_SEND, 1), MACH_MSG_SUCCESS)
      << "a null voucher is no voucher";
  VoucherRcv r;
  ASSERT_EQ(receive(port, r, 0), MACH_MSG_SUCCESS);
  mach_voucher_deallocate(v);
  mach_port_destruct(mach_task_self(), plain, -1, 0);
  mach_port_destruct(mach_task_self(), port, -1, 0);
}

TEST(Vouchers, AVoucherSentToAnotherTaskArrivesOnlyWhenItAsks) {
  const Holdings before = holdings();
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("voucher", &port);
  mach_voucher_t v = voucher(Recipes().data("to the child"));
  pid_t child = spawn_task([&] {
    mach_port_t inbox = trade_inbox(name);
    if (!MACH_PORT_VALID(inbox)) return 1;
    VoucherRcv r;
    if (receive(inbox, r, MACH_RCV_VOUCHER) != MACH_MSG_SUCCESS) return 2;
    if (MACH_MSGH_BITS_VOUCHER(r.msg.head.msgh_bits) != MACH_MSG_TYPE_MOVE_SEND) return 3;
    const mach_voucher_t got = r.msg.head.msgh_voucher_port;
    if (!MACH_PORT_VALID(got) || user_data(got) != "to the child") return 4;
    if (receive(inbox, r, 0) != MACH_MSG_SUCCESS) return 5;
    if (r.msg.head.msgh_voucher_port != MACH_PORT_NULL || MACH_MSGH_BITS_VOUCHER(r.msg.head.msgh_bits) != 0)
      return 6;  // not asked for: dropped
    mach_port_urefs_t refs = 0;
    mach_port_get_refs(mach_task_self(), got, MACH_PORT_RIGHT_SEND, &refs);
    if (refs != 1) return 7;
    mach_voucher_deallocate(got);
    return 0;
  });
  mach_port_t inbox = receive_right(port);
  ASSERT_TRUE(MACH_PORT_VALID(inbox));
  ASSERT_EQ(send_with_voucher(inbox, v, MACH_MSG_TYPE_COPY_SEND, 1), MACH_MSG_SUCCESS);
  ASSERT_EQ(send_with_voucher(inbox, v, MACH_MSG_TYPE_MOVE_SEND, 2), MACH_MSG_SUCCESS);
  EXPECT_EQ(send_refs(v), 0u) << "moved";
  EXPECT_EQ(wait_exit(child), 0);
  mach_port_deallocate(mach_task_self(), inbox);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  EXPECT_TRUE(back_to(before)) << "the dropped voucher and the received one both went";
}

TEST(Vouchers, TheBankAttributeNamesTheSenderInTheReceiver) {
  const Holdings before = holdings();
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("bank", &port);
  const pid_t parent = getpid();
  mach_voucher_t v = voucher(Recipes().bank());
  EXPECT_EQ(originator_pid(v), parent) << "a task's own bank voucher names itself";
  pid_t child = spawn_task([&] {
    mach_port_t inbox = trade_inbox(name);
    VoucherRcv r;
    if (!MACH_PORT_VALID(inbox) || receive(inbox, r, MACH_RCV_VOUCHER) != MACH_MSG_SUCCESS) return 1;
    const mach_voucher_t got = r.msg.head.msgh_voucher_port;
    if (!MACH_PORT_VALID(got)) return 2;
    if (originator_pid(got) != parent) return 3;
    persona_token token{};
    mach_msg_type_number_t n = sizeof token;
    if (mach_voucher_attr_command(got, MACH_VOUCHER_ATTR_KEY_BANK, BANK_PERSONA_TOKEN, nullptr, 0,
                                  reinterpret_cast<uint8_t*>(&token), &n) != KERN_SUCCESS ||
        n != sizeof token)
      return 4;
    if (token.originator.pid != parent || token.proximate.pid != parent) return 5;
    if (token.originator.uid != geteuid()) return 6;
    int32_t pids[2] = {};
    n = sizeof pids;
    if (mach_voucher_attr_command(got, MACH_VOUCHER_ATTR_KEY_BANK, BANK_ORIGINATOR_PROXIMATE_PID, nullptr, 0,
                                  reinterpret_cast<uint8_t*>(pids), &n) != KERN_SUCCESS ||
        pids[0] != parent || pids[1] != parent)
      return 7;
    n = 2;
    if (mach_voucher_attr_command(got, MACH_VOUCHER_ATTR_KEY_BANK, BANK_ORIGINATOR_PID, nullptr, 0,
                                  reinterpret_cast<uint8_t*>(pids), &n) != KERN_NO_SPACE)
      return 8;
    // REDEEM: the account was made for this task, so it may adopt it.
    Recipes redeem;
    redeem.add(MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_REDEEM, got);
    mach_voucher_t adopted = MACH_VOUCHER_NULL;
    if (create(redeem, &adopted) != KERN_SUCCESS || adopted != got) return 9;
    mach_voucher_deallocate(adopted);
    uint8_t text[MACH_VOUCHER_BANK_CONTENT_SIZE];
    n = sizeof text;
    if (mach_voucher_extract_attr_content(got, MACH_VOUCHER_ATTR_KEY_BANK, text, &n) != KERN_SUCCESS || n == 0 ||
        text[n - 1] != 0)
      return 10;
    mach_voucher_deallocate(got);
    return 0;
  });
  mach_port_t inbox = receive_right(port);
  ASSERT_TRUE(MACH_PORT_VALID(inbox));
  ASSERT_EQ(send_with_voucher(inbox, v, MACH_MSG_TYPE_COPY_SEND, 1), MACH_MSG_SUCCESS);
  EXPECT_EQ(wait_exit(child), 0);

  // The same voucher in the parent still reads as the parent's own; a
  // bank task value is no account, so it has no persona token.
  persona_token token{};
  mach_msg_type_number_t n = sizeof token;
  EXPECT_EQ(mach_voucher_attr_command(v, MACH_VOUCHER_ATTR_KEY_BANK, BANK_PERSONA_TOKEN, nullptr, 0,
                                      reinterpret_cast<uint8_t*>(&token), &n),
            KERN_INVALID_OBJECT);
  n = 4;
  EXPECT_EQ(mach_voucher_attr_command(v, MACH_VOUCHER_ATTR_KEY_BANK, 99, nullptr, 0,
                                      reinterpret_cast<uint8_t*>(&token), &n),
            KERN_INVALID_ARGUMENT);
  mach_voucher_t data_only = voucher(Recipes().data("no bank"));
  kern_return_t kr = KERN_SUCCESS;
  originator_pid(data_only, &kr);
  EXPECT_EQ(kr, KERN_INVALID_VALUE) << "no bank value";
  mach_voucher_deallocate(data_only);
  mach_voucher_deallocate(v);
  mach_port_deallocate(mach_task_self(), inbox);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  EXPECT_TRUE(back_to(before)) << "the accounts and bank tasks went with the vouchers";
}

TEST(Vouchers, AVoucherFromASenderThatDiedStillNamesItAndGoesWhenReleased) {
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("dead-sender", &port);
  const Holdings before = holdings();
  const uint64_t tasks = holdings().tasks;
  pid_t child = spawn_task([&] {
    mach_port_t parent = look_up(name);
    mach_voucher_t v = voucher(Recipes().bank().data("last words"));
    if (!MACH_PORT_VALID(parent) || !MACH_PORT_VALID(v)) return 1;
    return send_with_voucher(parent, v, MACH_MSG_TYPE_MOVE_SEND, 7) == MACH_MSG_SUCCESS ? 0 : 2;
  });
  ASSERT_EQ(wait_exit(child), 0);
  ASSERT_TRUE(wait_for_tasks(tasks)) << "the sender is gone before its message is received";
  VoucherRcv r;
  ASSERT_EQ(receive(port, r, MACH_RCV_VOUCHER), MACH_MSG_SUCCESS);
  EXPECT_EQ(r.msg.value, 7);
  const mach_voucher_t got = r.msg.head.msgh_voucher_port;
  ASSERT_TRUE(MACH_PORT_VALID(got));
  EXPECT_EQ(user_data(got), "last words");
  EXPECT_EQ(originator_pid(got), child) << "the bank remembers who sent it";
  mach_voucher_deallocate(got);
  EXPECT_TRUE(back_to(before)) << "the voucher, its values and the dead task's bank identity went";
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(Vouchers, AMessageDestroyedUnreceivedReleasesItsVoucher) {
  mach_port_t port = make_port();
  const Holdings before = holdings();
  mach_voucher_t v = voucher(Recipes().data("never read"));
  ASSERT_EQ(send_with_voucher(port, v, MACH_MSG_TYPE_MOVE_SEND, 1), MACH_MSG_SUCCESS);
  EXPECT_EQ(holdings().ports, before.ports + 1) << "the message keeps the voucher";
  EXPECT_EQ(holdings().vouchers, before.vouchers + 1);
  mach_port_destruct(mach_task_self(), port, -1, 0);
  EXPECT_TRUE(back_to(before, -1));
}

TEST(Vouchers, ImportanceIsAcceptedAndDescribedWithoutBoosts) {
  mach_voucher_t v = voucher(Recipes().add(MACH_VOUCHER_ATTR_KEY_IMPORTANCE, MACH_VOUCHER_ATTR_IMPORTANCE_SELF));
  ASSERT_TRUE(MACH_PORT_VALID(v));
  char text[128] = {};
  mach_msg_type_number_t n = sizeof text;
  ASSERT_EQ(mach_voucher_extract_attr_content(v, MACH_VOUCHER_ATTR_KEY_IMPORTANCE, reinterpret_cast<uint8_t*>(text), &n),
            KERN_SUCCESS);
  EXPECT_NE(std::string(text).find(std::to_string(getpid())), std::string::npos) << text;
  EXPECT_EQ(n, strlen(text) + 1);
  uint32_t refs = 1, out = 0;
  n = sizeof out;
  EXPECT_EQ(mach_voucher_attr_command(v, MACH_VOUCHER_ATTR_KEY_IMPORTANCE, MACH_VOUCHER_IMPORTANCE_ATTR_DROP_EXTERNAL,
                                      reinterpret_cast<uint8_t*>(&refs), sizeof refs, reinterpret_cast<uint8_t*>(&out),
                                      &n),
            KERN_INVALID_ARGUMENT)
      << "no boost to drop";
  n = sizeof out;
  EXPECT_EQ(mach_voucher_attr_command(v, MACH_VOUCHER_ATTR_KEY_IMPORTANCE, MACH_VOUCHER_IMPORTANCE_ATTR_ADD_EXTERNAL,
                                      reinterpret_cast<uint8_t*>(&refs), sizeof refs, reinterpret_cast<uint8_t*>(&out),
                                      &n),
            KERN_NOT_SUPPORTED);
  mach_voucher_t again = voucher(Recipes().add(MACH_VOUCHER_ATTR_KEY_IMPORTANCE, MACH_VOUCHER_ATTR_IMPORTANCE_SELF));
  EXPECT_EQ(again, v);
  mach_voucher_deallocate(v);
  mach_voucher_deallocate(again);
}

// In a child task: the task's default voucher the library keeps for the
// task's life would otherwise outlive the test.
TEST(Vouchers, AServerThreadAdoptsTheRequestsVoucherAndRevertsAfter) {
  const Holdings before = holdings();
  pid_t child = spawn_task([] {
    mach_port_t port = make_port();
    VoucherMsg m{};
    m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
    m.head.msgh_size = sizeof m;
    m.head.msgh_remote_port = port;
    if (!voucher_mach_msg_set(&m.head)) return 1;  // the task's default voucher
    if (MACH_MSGH_BITS_VOUCHER(m.head.msgh_bits) != MACH_MSG_TYPE_COPY_SEND) return 2;
    if (voucher_mach_msg_set(&m.head)) return 3;  // a message with a voucher keeps it
    if (originator_pid(m.head.msgh_voucher_port) != getpid()) return 4;
    const Holdings held = holdings();
    if (mach_msg(&m.head, MACH_SEND_MSG, sizeof m, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL) != MACH_MSG_SUCCESS)
      return 5;
    VoucherRcv r;
    if (receive(port, r, MACH_RCV_VOUCHER) != MACH_MSG_SUCCESS || !MACH_PORT_VALID(r.msg.head.msgh_voucher_port))
      return 6;
    voucher_mach_msg_state_t state = voucher_mach_msg_adopt(&r.msg.head);
    if (state == VOUCHER_MACH_MSG_STATE_UNCHANGED) return 7;
    if (r.msg.head.msgh_voucher_port != MACH_PORT_NULL || MACH_MSGH_BITS_VOUCHER(r.msg.head.msgh_bits) != 0)
      return 8;  // the header's voucher fields are cleared
    VoucherMsg next{};
    next.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
    if (!voucher_mach_msg_set(&next.head)) return 9;
    if (originator_pid(next.head.msgh_voucher_port) != getpid()) return 10;  // sent to itself: its own value again
    voucher_mach_msg_clear(&next.head);
    if (next.head.msgh_voucher_port != MACH_PORT_NULL) return 11;
    voucher_mach_msg_revert(state);
    voucher_mach_msg_revert(VOUCHER_MACH_MSG_STATE_UNCHANGED);
    for (int i = 0; i < 500 && holdings().ports != held.ports; i++) usleep(10 * 1000);
    if (holdings().ports != held.ports || holdings().voucher_values != held.voucher_values) return 12;
    VoucherMsg plain{};
    if (voucher_mach_msg_adopt(&plain.head) != VOUCHER_MACH_MSG_STATE_UNCHANGED) return 13;
    return 0;
  });
  EXPECT_EQ(wait_exit(child), 0);
  ASSERT_TRUE(wait_for_tasks(before.tasks));
  EXPECT_TRUE(back_to(before)) << "the child's default voucher went with the child";
}
