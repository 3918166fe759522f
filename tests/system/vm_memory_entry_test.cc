// tests/system/vm_memory_entry_test.cc — named memory entries: created
// (MAP_MEM_NAMED_CREATE) or made from a task's memfd-backed memory, mapped
// with vm_map by several tasks that then see each other's writes; copies
// (MAP_MEM_VM_COPY, copy=TRUE); purgable entries; no leak.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <mach/memory_entry.h>
#include <mach/memory_object_types.h>
#include <mach/vm_map.h>
#include <mach/vm_purgable.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "support.h"

using namespace systest;

namespace {

const mach_vm_size_t kPage = mach_vm_size_t(sysconf(_SC_PAGESIZE));

mach_port_t named_entry(mach_vm_size_t size, vm_prot_t extra = 0) {
  memory_object_size_t s = size;
  mach_port_t entry = MACH_PORT_NULL;
  EXPECT_EQ(mach_make_memory_entry_64(mach_task_self(), &s, 0, MAP_MEM_NAMED_CREATE | VM_PROT_DEFAULT | extra, &entry,
                                      MACH_PORT_NULL),
            KERN_SUCCESS);
  EXPECT_EQ(s, size);
  return entry;
}

char* map_entry(mach_port_t entry, mach_vm_size_t size, bool copy = false) {
  mach_vm_address_t a = 0;
  kern_return_t kr = mach_vm_map(mach_task_self(), &a, size, 0, VM_FLAGS_ANYWHERE, entry, 0, copy, VM_PROT_DEFAULT,
                                 VM_PROT_DEFAULT, VM_INHERIT_DEFAULT);
  EXPECT_EQ(kr, KERN_SUCCESS);
  return kr == KERN_SUCCESS ? reinterpret_cast<char*>(a) : nullptr;
}

}  // namespace

// Closes a pipe's write end when the test leaves (a child blocked reading it
// then ends, even when an assertion returned early).
struct ReleaseOnExit {
  int fd;
  ~ReleaseOnExit() { close(fd); }
};

TEST(VmMemoryEntry, NamedEntryMappedByTwoTasksSeesBothTasksWrites) {
  mach_port_t rendezvous = MACH_PORT_NULL;
  const std::string name = check_in_unique("vm-entry", &rendezvous);
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  pid_t pid = spawn_task([&]() -> int {
    close(go[1]);
    mach_port_t entry = named_entry(kPage);
    char* p = map_entry(entry, kPage);
    if (p == nullptr) return 1;
    strcpy(p, "child");
    if (send_right(look_up(name), entry, MACH_MSG_TYPE_COPY_SEND) != MACH_MSG_SUCCESS) return 2;
    char c;
    if (read(go[0], &c, 1) != 1) return 3;
    return strcmp(p, "parent") == 0 ? 0 : 4;
  });
  ReleaseOnExit release{go[1]};
  mach_port_t entry = receive_right(rendezvous);
  ASSERT_NE(entry, MACH_PORT_NULL);
  char* p = map_entry(entry, kPage);
  ASSERT_NE(p, nullptr);
  EXPECT_STREQ(p, "child");
  strcpy(p, "parent");
  ASSERT_EQ(write(go[1], "g", 1), 1);
  EXPECT_EQ(wait_exit(pid), 0);
  // The mapping outlives the child and the entry.
  EXPECT_EQ(mach_port_deallocate(mach_task_self(), entry), KERN_SUCCESS);
  EXPECT_STREQ(p, "parent");
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), kPage);
  close(go[0]);
  mach_port_mod_refs(mach_task_self(), rendezvous, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(VmMemoryEntry, EntryOfAWorkersAllocatedMemorySharesItsPages) {
  const mach_vm_size_t size = 1 << 20;  // memfd-backed (vm_regions.h)
  mach_port_t rendezvous = MACH_PORT_NULL;
  const std::string name = check_in_unique("vm-entry-worker", &rendezvous);
  int go[2], where[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(where), 0);
  pid_t pid = spawn_task([&]() -> int {
    close(go[1]);
    mach_vm_address_t a = 0;
    if (mach_vm_allocate(mach_task_self(), &a, size, VM_FLAGS_ANYWHERE) != KERN_SUCCESS) return 1;
    strcpy(reinterpret_cast<char*>(a), "worker");
    if (write(where[1], &a, sizeof a) != sizeof a) return 2;
    if (send_right(look_up(name), mach_task_self(), MACH_MSG_TYPE_COPY_SEND) != MACH_MSG_SUCCESS) return 2;
    char c;
    if (read(go[0], &c, 1) != 1) return 3;
    return strcmp(reinterpret_cast<char*>(a) + kPage, "controller") == 0 ? 0 : 4;
  });
  close(go[0]);
  ReleaseOnExit release{go[1]};
  mach_vm_address_t a = 0;
  ASSERT_EQ(read(where[0], &a, sizeof a), ssize_t(sizeof a));
  mach_port_t task = receive_right(rendezvous);
  ASSERT_NE(task, MACH_PORT_NULL);
  memory_object_size_t s = size;
  mach_port_t entry = MACH_PORT_NULL;
  ASSERT_EQ(mach_make_memory_entry_64(task, &s, a, VM_PROT_DEFAULT, &entry, MACH_PORT_NULL), KERN_SUCCESS);
  EXPECT_EQ(s, size);
  mach_port_t snapshot = MACH_PORT_NULL;
  s = kPage;
  ASSERT_EQ(mach_make_memory_entry_64(task, &s, a, VM_PROT_DEFAULT | MAP_MEM_VM_COPY, &snapshot, MACH_PORT_NULL),
            KERN_SUCCESS);
  char* shared = map_entry(entry, size);
  char* copy = map_entry(snapshot, kPage);
  ASSERT_NE(shared, nullptr);
  ASSERT_NE(copy, nullptr);
  EXPECT_STREQ(shared, "worker");
  EXPECT_STREQ(copy, "worker");
  strcpy(shared + kPage, "controller");
  strcpy(shared, "changed");
  EXPECT_STREQ(copy, "worker");  // a snapshot
  ASSERT_EQ(write(go[1], "g", 1), 1);
  EXPECT_EQ(wait_exit(pid), 0);
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(shared), size);
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(copy), kPage);
  for (mach_port_t p : {entry, snapshot, task}) mach_port_deallocate(mach_task_self(), p);
  close(where[0]);
  close(where[1]);
  mach_port_mod_refs(mach_task_self(), rendezvous, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(VmMemoryEntry, PrivateMemoryOfATaskIsNotShareableYet) {
  mach_vm_address_t a = 0;
  ASSERT_EQ(mach_vm_allocate(mach_task_self(), &a, kPage, VM_FLAGS_ANYWHERE), KERN_SUCCESS);
  memory_object_size_t s = kPage;
  mach_port_t entry = MACH_PORT_NULL;
  // Sharing private anonymous memory needs it remapped in the task (the agent).
  EXPECT_EQ(mach_make_memory_entry_64(mach_task_self(), &s, a, VM_PROT_DEFAULT, &entry, MACH_PORT_NULL),
            KERN_NOT_SUPPORTED);
  mach_vm_deallocate(mach_task_self(), a, kPage);
}

TEST(VmMemoryEntry, CopyMappingIsPrivateAndShareMappingIsNot) {
  mach_port_t entry = named_entry(kPage);
  char* a = map_entry(entry, kPage);
  char* b = map_entry(entry, kPage);
  char* c = map_entry(entry, kPage, /*copy=*/true);
  ASSERT_TRUE(a && b && c);
  strcpy(a, "one");
  EXPECT_STREQ(b, "one");
  strcpy(c, "private");
  EXPECT_STREQ(a, "one");
  for (char* p : {a, b, c}) mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), kPage);
  mach_port_deallocate(mach_task_self(), entry);
}

TEST(VmMemoryEntry, MappingBeyondTheEntryOrAboveItsProtectionFails) {
  memory_object_size_t s = kPage;
  mach_port_t ro = MACH_PORT_NULL;
  ASSERT_EQ(mach_make_memory_entry_64(mach_task_self(), &s, 0, MAP_MEM_NAMED_CREATE | VM_PROT_READ, &ro, MACH_PORT_NULL),
            KERN_SUCCESS);
  mach_vm_address_t a = 0;
  EXPECT_EQ(mach_vm_map(mach_task_self(), &a, kPage, 0, VM_FLAGS_ANYWHERE, ro, 0, FALSE, VM_PROT_READ,
                        VM_PROT_DEFAULT, VM_INHERIT_DEFAULT),
            KERN_INVALID_RIGHT);
  EXPECT_EQ(mach_vm_map(mach_task_self(), &a, 2 * kPage, 0, VM_FLAGS_ANYWHERE, ro, 0, FALSE, VM_PROT_READ,
                        VM_PROT_READ, VM_INHERIT_DEFAULT),
            KERN_INVALID_ARGUMENT);
  EXPECT_EQ(mach_vm_map(mach_task_self(), &a, kPage, 0, VM_FLAGS_ANYWHERE, ro, 0, FALSE, VM_PROT_READ, VM_PROT_READ,
                        VM_INHERIT_DEFAULT),
            KERN_SUCCESS);
  mach_vm_deallocate(mach_task_self(), a, kPage);
  mach_port_deallocate(mach_task_self(), ro);
}

TEST(VmMap, AnonymousMapHonoursProtectionsAndAlignment) {
  mach_vm_address_t a = 0;
  const mach_vm_offset_t mask = (1 << 20) - 1;
  ASSERT_EQ(mach_vm_map(mach_task_self(), &a, kPage, mask, VM_FLAGS_ANYWHERE, MACH_PORT_NULL, 0, FALSE, VM_PROT_READ,
                        VM_PROT_READ, VM_INHERIT_DEFAULT),
            KERN_SUCCESS);
  EXPECT_EQ(a & mask, 0u);
  EXPECT_EQ(mach_vm_protect(mach_task_self(), a, kPage, FALSE, VM_PROT_DEFAULT), KERN_PROTECTION_FAILURE);
  EXPECT_EQ(mach_vm_map(mach_task_self(), &a, kPage, 0, VM_FLAGS_ANYWHERE, MACH_PORT_NULL, 0, FALSE, VM_PROT_DEFAULT,
                        VM_PROT_READ, VM_INHERIT_DEFAULT),
            KERN_INVALID_ARGUMENT);  // current above maximum
  mach_vm_deallocate(mach_task_self(), a, kPage);
}

TEST(VmMemoryEntry, PurgableEntryEmptiedReadsZeros) {
  mach_port_t entry = named_entry(kPage, MAP_MEM_PURGABLE);
  char* p = map_entry(entry, kPage);
  ASSERT_NE(p, nullptr);
  strcpy(p, "data");
  int state = VM_PURGABLE_EMPTY;
  ASSERT_EQ(mach_memory_entry_purgable_control(entry, VM_PURGABLE_SET_STATE, &state), KERN_SUCCESS);
  EXPECT_EQ(state, VM_PURGABLE_NONVOLATILE);
  EXPECT_EQ(p[0], 0);
  state = 0;
  ASSERT_EQ(mach_memory_entry_purgable_control(entry, VM_PURGABLE_GET_STATE, &state), KERN_SUCCESS);
  EXPECT_EQ(state, VM_PURGABLE_EMPTY);
  mach_port_t plain = named_entry(kPage);
  EXPECT_EQ(mach_memory_entry_purgable_control(plain, VM_PURGABLE_GET_STATE, &state), KERN_INVALID_ARGUMENT);
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), kPage);
  mach_port_deallocate(mach_task_self(), entry);
  mach_port_deallocate(mach_task_self(), plain);
}

TEST(VmMemoryEntry, EntriesAreGoneWithTheirLastSendRight) {
  Holdings before = holdings();
  for (int i = 0; i < 10; ++i) {
    mach_port_t e = named_entry(kPage);
    memory_object_size_t s = kPage;
    mach_port_t sub = MACH_PORT_NULL;
    ASSERT_EQ(mach_make_memory_entry_64(mach_task_self(), &s, 0, VM_PROT_DEFAULT, &sub, e), KERN_SUCCESS);
    mach_port_deallocate(mach_task_self(), sub);
    mach_port_deallocate(mach_task_self(), e);
  }
  Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
}
