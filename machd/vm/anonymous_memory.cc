// machd/vm/anonymous_memory.cc — see anonymous_memory.h.
#include "anonymous_memory.h"

#include <mach/mig_errors.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "default_memory_manager.h"
#include "memory_objects.h"
#include "object_map.h"

namespace machd::vm {

namespace {
AnonymousMemory* g_anonymous = nullptr;
constexpr uint64_t kPage = MemoryObject::kPage;
// Pages taken from one object before balance() moves to the next.
constexpr uint64_t kEvictChunk = 256;
}  // namespace

AnonymousMemory& anonymous_memory() { return *g_anonymous; }

AnonymousMemory::AnonymousMemory(uint64_t limit_bytes) : limit_(limit_bytes) {
  g_anonymous = this;
  if (managed()) memory_objects().after_faults([this] { balance(); });
}

AnonymousMemory::~AnonymousMemory() {
  if (managed()) memory_objects().after_faults({});
  if (g_anonymous == this) g_anonymous = nullptr;
}

bool AnonymousMemory::takes(ipc::TaskId task, uint64_t len) {
  return managed() && len <= kMaxObjectBytes && memory_objects().router().has_userfaultfd(task) &&
         !default_memory_manager().serves_pageout(task);
}

kern_return_t AnonymousMemory::allocate(ipc::TaskId task, uint64_t start, uint64_t len, int fixed) {
  MemoryObjects& objects = memory_objects();
  if (!objects.router().has_userfaultfd(task)) return KERN_NOT_SUPPORTED;
  MemoryObject* o = objects.create_internal();
  if (o == nullptr) return KERN_RESOURCE_SHORTAGE;
  ids_.push_back(o->id());
  map_object_shared(task, start, len, fixed, o->id(), VM_PROT_READ | VM_PROT_WRITE, VM_INHERIT_COPY);
  return MIG_NO_REPLY;
}

uint64_t AnonymousMemory::resident_bytes() {
  MemoryObjects& objects = memory_objects();
  uint64_t pages = 0;
  std::erase_if(ids_, [&](uint64_t id) {
    MemoryObject* o = objects.by_id(id);
    if (o == nullptr) return true;
    pages += o->resident_pages();
    return false;
  });
  return pages * kPage;
}

void AnonymousMemory::balance() {
  if (!managed()) return;
  const uint64_t resident = resident_bytes() / kPage;
  const uint64_t limit = limit_ / kPage;
  if (resident <= limit || ids_.empty()) return;
  uint64_t want = resident - (limit - limit / 16);
  MemoryObjects& objects = memory_objects();
  // Objects in turn, a chunk each, until enough is freed or a whole round
  // freed nothing.
  bool stalled = false;
  for (size_t idle = 0; want > 0 && idle < ids_.size() && !stalled;) {
    MemoryObject* o = objects.by_id(ids_[cursor_++ % ids_.size()]);
    const uint64_t got = o ? o->evict(std::min(want, kEvictChunk), &stalled) : 0;
    want -= got;
    idle = got == 0 ? idle + 1 : 0;
  }
  if (stalled && !warned_) {
    spdlog::warn("anonymous memory is over --memory-limit ({} MiB) and cannot be paged out: no default memory "
                 "manager is registered (host_default_memory_manager), or it died",
                 limit_ >> 20);
    warned_ = true;
  } else if (!stalled) {
    warned_ = false;
  }
}

}  // namespace machd::vm
