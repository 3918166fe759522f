// tests/daemon/address_map_test.cc — machd's reading of a task's map
// (vm/address_map.h) and the vm_region answers built from it
// (vm/region_info.h), on /proc text.
#include <gtest/gtest.h>
#include <mach/vm_region.h>

#include "vm/address_map.h"
#include "vm/region_info.h"

using namespace machd::vm;

namespace {

const char kSmaps[] =
    "7f0000000000-7f0000002000 r--p 00000000 00:00 0 \n"
    "Size:                  8 kB\n"
    "Rss:                   8 kB\n"
    "Private_Clean:         4 kB\n"
    "Private_Dirty:         4 kB\n"
    "AnonHugePages:         0 kB\n"
    "VmFlags: rd mr mw me dc ac \n"
    "7f0000004000-7f0000104000 rw-s 00000000 00:01 4242                       /memfd:mach-vm (deleted)\n"
    "Rss:                   0 kB\n"
    "VmFlags: rd wr sh mr mw me ms \n"
    "7f0000104000-7f0000105000 rw-s 00000000 00:01 4243                       /memfd:mach-vm-share (deleted)\n"
    "Shared_Dirty:          4 kB\n"
    "Rss:                   4 kB\n"
    "VmFlags: rd wr sh mr mw me ms \n"
    "7f0000200000-7f0000201000 r-xp 00001000 08:01 77                         /usr/lib/libc.so.6\n"
    "Rss:                   4 kB\n"
    "VmFlags: rd ex mr me \n";

}  // namespace

TEST(AddressMap, SmapsEntriesGiveProtectionsFlagsAndCounts) {
  auto m = parse_maps(kSmaps);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].start, 0x7f0000000000u);
  EXPECT_EQ(m[0].end, 0x7f0000002000u);
  EXPECT_EQ(m[0].protection, VM_PROT_READ);
  EXPECT_EQ(m[0].max_protection, VM_PROT_ALL);
  EXPECT_TRUE(m[0].dontfork);
  EXPECT_EQ(m[0].rss, 8192u);
  EXPECT_EQ(m[0].private_dirty, 4096u);
  EXPECT_TRUE(m[1].shared);
  EXPECT_EQ(m[1].path, "/memfd:mach-vm (deleted)");
  EXPECT_EQ(m[3].offset, 0x1000u);
  EXPECT_EQ(m[3].max_protection, VM_PROT_READ | VM_PROT_EXECUTE);  // no "mw"
}

TEST(AddressMap, InheritanceIsNoneForDontforkShareForSharedCopyOtherwise) {
  auto m = parse_maps(kSmaps);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(inheritance_of(m[0]), VM_INHERIT_NONE);
  EXPECT_EQ(inheritance_of(m[1]), VM_INHERIT_COPY);  // the library's movable memfd: fork copies it
  EXPECT_EQ(inheritance_of(m[2]), VM_INHERIT_SHARE);
  EXPECT_EQ(inheritance_of(m[3]), VM_INHERIT_COPY);
}

TEST(AddressMap, CheckRangeFindsHolesAndMissingAccess) {
  auto m = parse_maps(kSmaps);
  EXPECT_EQ(check_range(m, 0x7f0000000000, 0x7f0000002000, VM_PROT_READ), KERN_SUCCESS);
  EXPECT_EQ(check_range(m, 0x7f0000000000, 0x7f0000002000, VM_PROT_WRITE), KERN_PROTECTION_FAILURE);
  EXPECT_EQ(check_range(m, 0x7f0000001000, 0x7f0000005000, VM_PROT_READ), KERN_INVALID_ADDRESS);  // hole
  EXPECT_EQ(check_range(m, 0x7f0000004000, 0x7f0000105000, VM_PROT_WRITE), KERN_SUCCESS);       // adjacent
  EXPECT_EQ(check_range(m, 0x7f0000300000, 0x7f0000301000, VM_PROT_READ), KERN_INVALID_ADDRESS);
}

TEST(AddressMap, EntryAtOrAboveIsTheNextOneWhenInAHole) {
  auto m = parse_maps(kSmaps);
  EXPECT_EQ(entry_at_or_above(m, 0x7f0000001000)->start, 0x7f0000000000u);
  EXPECT_EQ(entry_at_or_above(m, 0x7f0000003000)->start, 0x7f0000004000u);
  EXPECT_EQ(entry_at_or_above(m, 0x7f0000201000), nullptr);
}

TEST(RegionInfo, CountsSmallerThanTheFlavorAreInvalidArgument) {
  auto m = parse_maps(kSmaps);
  int info[VM_REGION_INFO_MAX] = {};
  mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64 - 1;
  EXPECT_EQ(region_info(m[0], VM_REGION_BASIC_INFO_64, info, &count), KERN_INVALID_ARGUMENT);
  count = VM_REGION_EXTENDED_INFO_COUNT - 1;  // the legacy layout
  EXPECT_EQ(region_info(m[0], VM_REGION_EXTENDED_INFO, info, &count), KERN_SUCCESS);
  EXPECT_EQ(count, VM_REGION_EXTENDED_INFO_COUNT - 1);
  count = VM_REGION_INFO_MAX;
  EXPECT_EQ(region_info(m[0], VM_REGION_TOP_INFO, info, &count), KERN_SUCCESS);
  EXPECT_EQ(count, VM_REGION_TOP_INFO_COUNT);
  count = VM_REGION_SUBMAP_INFO_V1_COUNT_64;
  EXPECT_EQ(region_recurse_info(m[0], false, info, &count), KERN_SUCCESS);
  EXPECT_EQ(count, VM_REGION_SUBMAP_INFO_V1_COUNT_64);
  count = 2;
  EXPECT_EQ(region_recurse_info(m[0], false, info, &count), KERN_INVALID_ARGUMENT);
}

TEST(RegionInfo, ShareModesFollowTheMappingKind) {
  auto m = parse_maps(kSmaps);
  EXPECT_EQ(share_mode_of(m[0]), SM_PRIVATE);
  EXPECT_EQ(share_mode_of(m[1]), SM_EMPTY);  // nothing resident yet
  EXPECT_EQ(share_mode_of(m[2]), SM_SHARED);
  EXPECT_EQ(share_mode_of(m[3]), SM_COW);
}
