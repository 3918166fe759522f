// machd/vm/read_list_server.cc — vm_read_list / mach_vm_read_list: copies
// of up to VM_MAP_ENTRY_MAX ranges of a task, placed in the CALLING task's
// address space (XNU copies each out into the caller's map). machd reads
// the ranges (process_vm_readv) into one memfd, asks the caller's in-task
// agent to map it MAP_PRIVATE, and answers with each copy's address (same
// offset in its page as the source, as XNU's copyout) once it is mapped.
// An entry that cannot be read gets address 0 and size 0; the answer is
// the result of the last non-empty entry, as XNU's loop leaves it.
#include <mach/mach_types.h>
#include <mach/mig_errors.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "kern/agent.h"
#include "kern/runtime.h"
#include "kern/translate.h"
#include "remote_memory.h"

extern "C" {
#include "mach_vmServer.h"
#include "vm_mapServer.h"
}

namespace machd::vm {

namespace {

// Bytes one read_list may copy (machd reads them before answering).
constexpr uint64_t kMaxTotal = uint64_t(256) << 20;

template <typename Reply, typename Entry>
kern_return_t read_list(mach_port_t task_port, Entry* list, natural_t count) {
  auto t = kern::translate(task_port, {kern::KType::kTask, kern::KType::kTaskRead});
  if (!t || count > VM_MAP_ENTRY_MAX) return KERN_INVALID_ARGUMENT;
  kern::Runtime& rt = kern::runtime();
  const pid_t pid = rt.host().pid_of(ipc::TaskId(*t));
  const ipc::TaskId caller = rt.request().sender;
  const uint64_t pm = uint64_t(sysconf(_SC_PAGESIZE)) - 1;

  struct Slot {
    uint64_t at = 0;  // offset in the memfd of the copy's first byte
    bool ok = false;
  };
  std::vector<Slot> slots(count);
  // The list sits in the request (and the reply) at a 4-byte boundary:
  // entries are worked on in an aligned copy, copied in and out whole.
  auto entries = std::make_shared<std::vector<Entry>>(count);
  if (count) std::memcpy(entries->data(), list, sizeof(Entry) * count);
  std::vector<char> buf;
  kern_return_t error = KERN_SUCCESS;
  uint64_t total = 0;
  int fd = memfd_create("machd-read-list", MFD_CLOEXEC);
  if (fd < 0) return KERN_RESOURCE_SHORTAGE;
  for (natural_t i = 0; i < count; ++i) {
    const uint64_t addr = (*entries)[i].address, size = (*entries)[i].size;
    if (size == 0) continue;
    uint64_t end;
    if (__builtin_add_overflow(addr, size, &end) || size > kMaxTotal || total + size + pm > kMaxTotal) {
      error = KERN_INVALID_ARGUMENT;
      continue;
    }
    buf.resize(size_t(size));
    MissingPages missing;
    error = read_remote(pid, addr, buf.data(), size_t(size), &missing);
    if (error != KERN_SUCCESS && serve_again_when_resident(missing)) {
      close(fd);  // (nothing was given to the task yet: all of it is done again)
      return MIG_NO_REPLY;
    }
    if (error != KERN_SUCCESS) continue;
    const uint64_t at = total + (addr & pm);
    if (ftruncate(fd, off_t((at + size + pm) & ~pm)) != 0 || pwrite(fd, buf.data(), size, off_t(at)) != ssize_t(size)) {
      error = KERN_RESOURCE_SHORTAGE;
      continue;
    }
    slots[i] = {at, true};
    total = (at + size + pm) & ~pm;
  }

  auto reply = std::make_shared<Reply>();
  memset(reply.get(), 0, sizeof(Reply));
  reply->NDR = NDR_record;
  reply->RetCode = error;
  for (natural_t i = 0; i < count; ++i)
    if (!slots[i].ok) (*entries)[i].address = (*entries)[i].size = 0;
  if (total == 0) {  // nothing to place: answer now
    close(fd);
    if (count) memcpy(list, entries->data(), sizeof(Entry) * count);
    return error;
  }
  kern::AgentCall c;
  c.op = MACHD_AGENT_MMAP;
  c.args[0] = 0;
  c.args[1] = total;
  c.args[2] = PROT_READ | PROT_WRITE;
  c.args[3] = MAP_PRIVATE;
  c.fd = fd;
  kern::DeferredReply d = rt.defer();
  kern::agent().request(caller, c, [d, reply, slots, entries, count](const kern::AgentResult& r) {
    if (r.result != KERN_SUCCESS) {
      kern::runtime().send_error_reply(d, r.result == KERN_NO_SPACE ? KERN_NO_SPACE : KERN_RESOURCE_SHORTAGE);
      return;
    }
    std::vector<Entry>& out = *entries;
    for (natural_t i = 0; i < count; ++i)
      if (slots[i].ok) out[i].address = decltype(out[i].address)(r.rets[0] + slots[i].at);
    static_assert(sizeof(reply->data_list) >= sizeof(Entry) * VM_MAP_ENTRY_MAX);
    memcpy(&reply->data_list, out.data(), sizeof(Entry) * count);
    if (reply->RetCode != KERN_SUCCESS) {
      kern::runtime().send_error_reply(d, reply->RetCode);
      return;
    }
    kern::runtime().send_reply(d, reply.get(), sizeof(Reply));
  });
  close(fd);  // the agent sent its own copy
  return MIG_NO_REPLY;
}

}  // namespace
}  // namespace machd::vm

extern "C" {

kern_return_t mach_vm_read_list(vm_map_read_t target_task, mach_vm_read_entry_t data_list, natural_t count) {
  return machd::vm::read_list<__Reply__mach_vm_read_list_t>(target_task, data_list, count);
}

kern_return_t vm_read_list(vm_map_read_t target_task, vm_read_entry_t data_list, natural_t count) {
  return machd::vm::read_list<__Reply__vm_read_list_t>(target_task, data_list, count);
}

}  // extern "C"
