// tests/ipc/voucher_test.cc — vouchers in the core (machd/ipc/voucher.h):
// recipes as XNU's ipc_create_mach_voucher_internal runs them, one voucher
// per set of values, the extract calls, and a voucher's life ending with its
// last send right.
#include "fake_voucher_manager.h"

namespace machd::ipc::test {
namespace {

constexpr mach_voucher_attr_key_t kData = MACH_VOUCHER_ATTR_KEY_USER_DATA;

TEST_F(VoucherTest, EqualValuesGiveTheSameVoucherAndTheSameName) {
  TaskId a = task(), b = task();
  mach_port_name_t v1 = voucher(a, "hello");
  mach_port_name_t v2 = voucher(a, "hello");
  EXPECT_EQ(v1, v2) << "one voucher, one name in the space";
  EXPECT_EQ(refs(a, v1, MACH_PORT_RIGHT_SEND), 2u);
  mach_port_name_t other = voucher(a, "world");
  EXPECT_NE(other, v1);
  mach_port_name_t in_b = voucher(b, "hello");
  EXPECT_EQ(id_of(b, in_b), id_of(a, v1)) << "another task gets the same voucher";
  EXPECT_EQ(k.stats().vouchers, 2u);
  EXPECT_EQ(content_of(a, v1), "hello");
}

TEST_F(VoucherTest, AnEmptyRecipeArrayIsNoVoucher) {
  TaskId a = task();
  mach_port_name_t kname = 1;
  EXPECT_EQ(k.voucher_create(a, {}, &kname), KERN_SUCCESS);
  EXPECT_EQ(kname, MACH_PORT_NULL);
  EXPECT_EQ(k.stats().vouchers, 0u);
}

TEST_F(VoucherTest, AVoucherWithOnlyDefaultValuesIsStillAVoucher) {
  TaskId a = task();
  std::vector<uint8_t> r;
  add(r, MACH_VOUCHER_ATTR_KEY_ALL, MACH_VOUCHER_ATTR_REMOVE);
  mach_port_name_t v = create(a, r);
  ASSERT_TRUE(MACH_PORT_VALID(v));
  EXPECT_EQ(content_of(a, v), "");
  uint8_t buf[64];
  uint32_t size = sizeof buf;
  EXPECT_EQ(k.voucher_extract_all_recipes(a, id_of(a, v), buf, &size), KERN_SUCCESS);
  EXPECT_EQ(size, 0u) << "default values make no recipe";
}

TEST_F(VoucherTest, ATruncatedRecordIsInvalidArgumentAndNothingIsKept) {
  TaskId a = task();
  std::vector<uint8_t> r = store("abc");
  r.pop_back();  // content shorter than content_size
  kern_return_t kr = KERN_SUCCESS;
  EXPECT_EQ(create(a, r, &kr), MACH_PORT_NULL);
  EXPECT_EQ(kr, KERN_INVALID_ARGUMENT);
  std::vector<uint8_t> two = store("abc");
  two.resize(two.size() + 8);  // a second record shorter than its header
  EXPECT_EQ(create(a, two, &kr), MACH_PORT_NULL);
  EXPECT_EQ(kr, KERN_INVALID_ARGUMENT);
  EXPECT_EQ(mgr.live(), 0u) << "the value the first record made was released";
  EXPECT_EQ(k.stats().vouchers, 0u);
}

TEST_F(VoucherTest, APreviousVoucherMustBeASendRightToAVoucher) {
  TaskId a = task();
  mach_port_name_t plain = port_with_send(a);
  mach_port_name_t dead = port_with_send(a);
  ASSERT_EQ(k.port_mod_refs(a, dead, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);  // now a dead name
  mach_port_name_t v = voucher(a, "x");
  for (mach_port_name_t prev : {plain, dead, v + 4u, mach_port_name_t(MACH_PORT_DEAD)}) {
    std::vector<uint8_t> r;
    add(r, kData, MACH_VOUCHER_ATTR_COPY, prev);
    kern_return_t kr = KERN_SUCCESS;
    EXPECT_EQ(create(a, r, &kr), MACH_PORT_NULL);
    EXPECT_EQ(kr, KERN_INVALID_CAPABILITY) << "previous voucher 0x" << std::hex << prev;
  }
  std::vector<uint8_t> r;
  add(r, kData, MACH_VOUCHER_ATTR_COPY, v);
  EXPECT_EQ(create(a, r), v) << "a copy of every value is the same voucher";
}

TEST_F(VoucherTest, SetValueHandleNeedsAControlAUserNeverHas) {
  TaskId a = task();
  std::vector<uint8_t> r;
  add(r, kData, MACH_VOUCHER_ATTR_SET_VALUE_HANDLE, MACH_PORT_NULL, std::string(8, '\0'));
  kern_return_t kr = KERN_SUCCESS;
  create(a, r, &kr);
  EXPECT_EQ(kr, KERN_INVALID_CAPABILITY);
}

TEST_F(VoucherTest, CopyAndRemoveTakeNoContent) {
  TaskId a = task();
  for (auto cmd : {MACH_VOUCHER_ATTR_COPY, MACH_VOUCHER_ATTR_REMOVE}) {
    std::vector<uint8_t> r;
    add(r, kData, cmd, MACH_PORT_NULL, "x");
    kern_return_t kr = KERN_SUCCESS;
    create(a, r, &kr);
    EXPECT_EQ(kr, KERN_INVALID_ARGUMENT);
  }
}

TEST_F(VoucherTest, CopyTakesOneKeyOrAllFromThePreviousVoucher) {
  TaskId a = task();
  mach_port_name_t src = voucher(a, "src");
  std::vector<uint8_t> one;
  add(one, kData, MACH_VOUCHER_ATTR_COPY, src);
  EXPECT_EQ(create(a, one), src);
  std::vector<uint8_t> all;
  add(all, MACH_VOUCHER_ATTR_KEY_ALL, MACH_VOUCHER_ATTR_COPY, src);
  EXPECT_EQ(create(a, all), src);
  std::vector<uint8_t> none;  // a key without a manager copies its default
  add(none, MACH_VOUCHER_ATTR_KEY_ATM, MACH_VOUCHER_ATTR_COPY, src);
  mach_port_name_t empty = create(a, none);
  ASSERT_TRUE(MACH_PORT_VALID(empty));
  EXPECT_NE(empty, src);
  EXPECT_EQ(content_of(a, empty), "");
  std::vector<uint8_t> bad;
  add(bad, 9, MACH_VOUCHER_ATTR_COPY, src);
  kern_return_t kr = KERN_SUCCESS;
  create(a, bad, &kr);
  EXPECT_EQ(kr, KERN_INVALID_ARGUMENT) << "a key beyond the last has no slot";
  EXPECT_EQ(mgr.made_of("src"), 1u) << "copies take no made reference";
}

TEST_F(VoucherTest, RemoveWithAPreviousVoucherOnlyRemovesItsValue) {
  TaskId a = task();
  mach_port_name_t x = voucher(a, "x");
  mach_port_name_t y = voucher(a, "y");
  std::vector<uint8_t> keep = store("x");
  add(keep, kData, MACH_VOUCHER_ATTR_REMOVE, y);  // "x" is not y's value: stays
  EXPECT_EQ(create(a, keep), x);
  std::vector<uint8_t> drop = store("x");
  add(drop, kData, MACH_VOUCHER_ATTR_REMOVE, x);
  EXPECT_EQ(content_of(a, create(a, drop)), "");
}

TEST_F(VoucherTest, AKeyWithoutAManagerRefusesValues) {
  TaskId a = task();
  std::vector<uint8_t> r;
  add(r, MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_USER_DATA_STORE, MACH_PORT_NULL, "x");
  kern_return_t kr = KERN_SUCCESS;
  create(a, r, &kr);
  EXPECT_EQ(kr, KERN_INVALID_ARGUMENT);
  std::vector<uint8_t> redeem_all;
  add(redeem_all, MACH_VOUCHER_ATTR_KEY_ALL, MACH_VOUCHER_ATTR_REDEEM);
  create(a, redeem_all, &kr);
  EXPECT_EQ(kr, KERN_INVALID_ARGUMENT) << "REDEEM of every key reaches the keys nobody manages";
  std::vector<uint8_t> unknown;
  add(unknown, kData, 999, MACH_PORT_NULL);
  create(a, unknown, &kr);
  EXPECT_EQ(kr, KERN_INVALID_ARGUMENT) << "the manager's answer";
}

TEST_F(VoucherTest, RedeemMakesTheValueAgainFromThePreviousVoucher) {
  TaskId a = task();
  mach_port_name_t v = voucher(a, "r");
  std::vector<uint8_t> r;
  add(r, kData, MACH_VOUCHER_ATTR_REDEEM, v);
  EXPECT_EQ(create(a, r), v);
  EXPECT_EQ(mgr.made_of("r"), 2u) << "the redeem was a second made reference";
}

TEST_F(VoucherTest, ExtractRecipeRoundTripsThroughCreate) {
  TaskId a = task();
  mach_port_name_t v = voucher(a, "payload");
  uint8_t buf[128];
  uint32_t size = sizeof buf;
  ASSERT_EQ(k.voucher_extract_recipe(a, id_of(a, v), kData, buf, &size), KERN_SUCCESS);
  ASSERT_EQ(size, 16u + 7u);
  mach_voucher_attr_recipe_data_t h;
  std::memcpy(&h, buf, sizeof h);
  EXPECT_EQ(h.key, kData);
  EXPECT_EQ(h.command, MACH_VOUCHER_ATTR_USER_DATA_STORE);
  EXPECT_EQ(h.previous_voucher, MACH_VOUCHER_NAME_NULL);
  EXPECT_EQ(h.content_size, 7u);
  EXPECT_EQ(create(a, std::vector<uint8_t>(buf, buf + size)), v);

  size = sizeof buf;
  ASSERT_EQ(k.voucher_extract_all_recipes(a, id_of(a, v), buf, &size), KERN_SUCCESS);
  EXPECT_EQ(size, 23u);
  EXPECT_EQ(create(a, std::vector<uint8_t>(buf, buf + size)), v);

  size = 15;
  EXPECT_EQ(k.voucher_extract_recipe(a, id_of(a, v), kData, buf, &size), KERN_NO_SPACE);
  size = 15;
  EXPECT_EQ(k.voucher_extract_all_recipes(a, id_of(a, v), buf, &size), KERN_NO_SPACE);
  size = 20;
  EXPECT_EQ(k.voucher_extract_recipe(a, id_of(a, v), kData, buf, &size), KERN_NO_SPACE)
      << "the manager's answer when the content does not fit";
  for (mach_voucher_attr_key_t key : {MACH_VOUCHER_ATTR_KEY_BANK, mach_voucher_attr_key_t(0), mach_voucher_attr_key_t(42)}) {
    size = sizeof buf;
    EXPECT_EQ(k.voucher_extract_recipe(a, id_of(a, v), key, buf, &size), KERN_SUCCESS);
    EXPECT_EQ(size, 0u) << "key " << key << " holds the default";
  }
}

TEST_F(VoucherTest, ACommandGoesToTheKeysManagerWithTheCallersIdentity) {
  TaskId a = task(4242);
  mach_port_name_t v = voucher(a, "c");
  uint32_t out[2] = {};
  uint32_t size = sizeof out;
  ASSERT_EQ(k.voucher_command(a, id_of(a, v), kData, 1, {}, reinterpret_cast<uint8_t*>(out), &size),
            KERN_SUCCESS);
  EXPECT_EQ(out[0], 4242u);
  EXPECT_EQ(out[1], 1u);
  size = sizeof out;
  EXPECT_EQ(k.voucher_command(a, id_of(a, v), MACH_VOUCHER_ATTR_KEY_BANK, 1, {}, reinterpret_cast<uint8_t*>(out), &size),
            KERN_INVALID_ARGUMENT)
      << "no manager";
  EXPECT_EQ(k.voucher_command(a, 0xdead, kData, 1, {}, reinterpret_cast<uint8_t*>(out), &size), KERN_INVALID_ARGUMENT)
      << "no such voucher";
}

TEST_F(VoucherTest, TheLastSendRightGoingDestroysTheVoucherAndReleasesItsValues) {
  TaskId a = task(), b = task();
  const uint64_t ports = k.stats().ports;
  mach_port_name_t v = voucher(a, "bye");
  mach_port_name_t w = voucher(b, "bye");
  const uint64_t id = id_of(a, v);
  ASSERT_EQ(k.port_deallocate(a, v), KERN_SUCCESS);
  EXPECT_EQ(k.stats().vouchers, 1u) << "b still holds it";
  ASSERT_EQ(k.port_deallocate(b, w), KERN_SUCCESS);
  EXPECT_EQ(k.stats().vouchers, 0u);
  EXPECT_EQ(k.stats().ports, ports) << "its port went with it";
  ASSERT_EQ(mgr.released.size(), 1u);
  EXPECT_EQ(mgr.released[0].second, 2u) << "both made references in one release";
  uint8_t buf[8];
  uint32_t size = sizeof buf;
  EXPECT_EQ(k.voucher_extract_content(a, id, kData, buf, &size), KERN_INVALID_ARGUMENT);
  mach_port_name_t again = voucher(a, "bye");
  EXPECT_NE(id_of(a, again), id) << "a new voucher";
}

TEST_F(VoucherTest, VoucherPortsJoinTheKernelsPortSet) {
  TaskId a = task();
  mach_port_name_t set = MACH_PORT_NULL;
  ASSERT_EQ(k.port_allocate(k.kernel_task(), MACH_PORT_RIGHT_PORT_SET, &set), KERN_SUCCESS);
  k.voucher_set_port_set(set);
  mach_port_name_t kname = MACH_PORT_NULL;
  ASSERT_EQ(k.voucher_create(a, store("s"), &kname), KERN_SUCCESS);
  std::vector<mach_port_name_t> members;
  ASSERT_EQ(k.port_get_set_status(k.kernel_task(), set, &members), KERN_SUCCESS);
  EXPECT_EQ(members, std::vector<mach_port_name_t>{kname});
  k.voucher_set_port_set(MACH_PORT_NULL);
  k.port_deallocate(k.kernel_task(), kname);  // the send right voucher_create made
  k.port_destroy(k.kernel_task(), set);
}

}  // namespace
}  // namespace machd::ipc::test
