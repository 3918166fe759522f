// machd/vm/memory_entry.cc — see memory_entry.h.
#include "memory_entry.h"

#include <unistd.h>

#include "kern/runtime.h"
#include "kern/translate.h"

namespace machd::vm {

namespace {
MemoryEntries* g_entries = nullptr;
}

MemoryEntries& memory_entries() { return *g_entries; }

MemoryEntries::MemoryEntries(kern::Dispatch& dispatch) {
  g_entries = this;
  dispatch.on_no_senders(kern::KType::kMemoryEntry,
                         [this](ipc::KObject ko, mach_port_name_t, mach_port_mscount_t) { destroy(ko.id); });
}

MemoryEntries::~MemoryEntries() {
  for (auto& [id, e] : entries_) close(e.fd);
  if (g_entries == this) g_entries = nullptr;
}

mach_port_name_t MemoryEntries::create(int fd, uint64_t offset, uint64_t size, vm_prot_t protection, bool purgable) {
  if (fd < 0) return MACH_PORT_NULL;
  kern::Runtime& rt = kern::runtime();
  const uint64_t id = next_id_++;
  mach_port_name_t port = rt.create_port(kern::KType::kMemoryEntry, id);
  if (port == MACH_PORT_NULL) {
    close(fd);
    return MACH_PORT_NULL;
  }
  mach_port_name_t send = rt.make_send(rt.kt(), port);
  rt.kernel().kobject_request_no_senders(port);
  entries_[id] = MemoryEntry{fd, offset, size, protection, purgable, 0 /* VM_PURGABLE_NONVOLATILE */, port};
  return send;
}

MemoryEntry* MemoryEntries::find(mach_port_name_t kernel_name) {
  auto id = kern::translate(kernel_name, {kern::KType::kMemoryEntry});
  if (!id) return nullptr;
  auto it = entries_.find(*id);
  return it == entries_.end() ? nullptr : &it->second;
}

MemoryEntry* MemoryEntries::find_in(ipc::TaskId task, mach_port_name_t name) {
  ipc::KObject ko = kern::runtime().kernel().kobject_of(task, name);
  if (kern::type_of(ko) != kern::KType::kMemoryEntry) return nullptr;
  auto it = entries_.find(ko.id);
  return it == entries_.end() ? nullptr : &it->second;
}

void MemoryEntries::destroy(uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  close(it->second.fd);
  kern::runtime().destroy_port(it->second.port);
  entries_.erase(it);
}

}  // namespace machd::vm
