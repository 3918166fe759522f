// machd/vm/pager_link.cc — see pager_link.h.
#include "pager_link.h"

#include <mach/message.h>

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>

#include "kern/runtime.h"
#include "kernel_servers.h"
#include "machd_abi.h"
#include "ool_payload.h"

#include "default_memory_manager.h"

extern "C" {
#include "memory_objectUser.h"
#include "memory_object_defaultUser.h"
}

namespace {
// The payload of an out-of-line region the link made itself (data_return:
// a sealed memfd filled from the cache inside the kernel), found by the
// address token it gave the stub.
struct OwnPayload {
  const void* token = nullptr;
  std::unique_ptr<machd::ipc::OolPayload> payload;
} g_own_payload;
}  // namespace

// What the generated user stubs call instead of mach_msg (they are compiled
// with -Dmach_msg=machd_kernel_mach_msg): a non-blocking send from the
// kernel task. Only sends are asked for (every routine is a simpleroutine).
extern "C" mach_msg_return_t machd_kernel_mach_msg(mach_msg_header_t* msg, mach_msg_option_t option,
                                                    mach_msg_size_t send_size, mach_msg_size_t, mach_port_name_t,
                                                    mach_msg_timeout_t, mach_port_name_t) {
  if (!(option & MACH_SEND_MSG) || (option & MACH_RCV_MSG)) return MACH_SEND_INVALID_DATA;
  const auto* p = reinterpret_cast<const uint8_t*>(msg);
  std::vector<uint8_t> m(p, p + send_size);
  machd::ipc::SendArgs extras;
  machd::copy_message_payloads(m, extras, [](const void* addr, uint64_t) -> std::unique_ptr<machd::ipc::OolPayload> {
    if (addr != g_own_payload.token) return nullptr;
    return std::move(g_own_payload.payload);
  });
  return machd::kern::runtime().send(std::move(m), std::move(extras));
}

namespace machd::vm {

namespace {
// The right a pager's reply_to arrived as (MIG's polymorphic PORT_*), moved.
mach_msg_type_name_t reply_disposition(mach_msg_type_name_t received) {
  return received == MACH_MSG_TYPE_PORT_SEND ? MACH_MSG_TYPE_MOVE_SEND : MACH_MSG_TYPE_MOVE_SEND_ONCE;
}

}  // namespace

const ObjectPorts* MessagePagerLink::ports(uint64_t id) const {
  auto it = ports_.find(id);
  return it == ports_.end() ? nullptr : &it->second;
}

void MessagePagerLink::forget(uint64_t id) {
  auto it = ports_.find(id);
  if (it == ports_.end()) return;
  kern::Runtime& rt = kern::runtime();
  if (MACH_PORT_VALID(it->second.pager)) rt.release_send(it->second.pager);
  if (MACH_PORT_VALID(it->second.control)) rt.destroy_port(it->second.control);
  if (MACH_PORT_VALID(it->second.name)) rt.destroy_port(it->second.name);
  ports_.erase(it);
}

void MessagePagerLink::init(MemoryObject& o) {
  if (const ObjectPorts* p = ports(o.id()))
    memory_object_init(p->pager, p->control, p->name, vm_size_t(MemoryObject::kPage));
}

void MessagePagerLink::data_request(MemoryObject& o, uint64_t offset, uint64_t length, vm_prot_t access) {
  if (const ObjectPorts* p = ports(o.id()))
    memory_object_data_request(p->pager, p->control, vm_offset_t(offset), vm_size_t(length), access);
}

void MessagePagerLink::data_unlock(MemoryObject& o, uint64_t offset, uint64_t length, vm_prot_t access) {
  if (const ObjectPorts* p = ports(o.id()))
    memory_object_data_unlock(p->pager, p->control, vm_offset_t(offset), vm_size_t(length), access);
}

namespace {
// The data of [offset, offset+length) of the cache, as the stubs' pointer_t
// argument: small ranges read here and sent inline, larger ones a sealed
// memfd filled from the cache inside the kernel (never touching machd's
// memory), found by machd_kernel_mach_msg through the token. Null when the
// memfd could not be made.
class CacheData {
 public:
  CacheData(int fd, uint64_t offset, uint64_t length) {
    if (length < MACHD_OOL_INLINE_MAX) {
      bytes_.resize(length);
      if (pread(fd, bytes_.data(), length, off_t(offset)) != ssize_t(length)) std::fill(bytes_.begin(), bytes_.end(), 0);
      data_ = bytes_.data();
      return;
    }
    g_own_payload.token = &token_;
    g_own_payload.payload = machd::MemfdPayload::from_file_range(fd, offset, length);
    if (g_own_payload.payload) data_ = &token_;
  }
  ~CacheData() { g_own_payload = OwnPayload{}; }
  CacheData(const CacheData&) = delete;
  CacheData& operator=(const CacheData&) = delete;
  vm_offset_t address() const { return reinterpret_cast<vm_offset_t>(data_); }
  bool ok() const { return data_ != nullptr; }

 private:
  static inline const uint8_t token_ = 0;
  std::vector<uint8_t> bytes_;
  const void* data_ = nullptr;
};
}  // namespace

bool MessagePagerLink::data_return(MemoryObject& o, uint64_t offset, uint64_t length, bool dirty,
                                   bool kernel_copy) {
  const ObjectPorts* p = ports(o.id());
  if (p == nullptr || !MACH_PORT_VALID(p->pager)) return false;
  CacheData data(o.fd(), offset, length);
  if (!data.ok()) return false;
  return memory_object_data_return(p->pager, p->control, vm_offset_t(offset), data.address(),
                                   mach_msg_type_number_t(length), dirty, kernel_copy) == MACH_MSG_SUCCESS;
}

bool MessagePagerLink::hand_to_default_manager(MemoryObject& o) {
  kern::Runtime& rt = kern::runtime();
  const mach_port_name_t manager = default_memory_manager().port();
  if (!MACH_PORT_VALID(manager)) return false;
  ObjectPorts p;
  if (rt.kernel().port_allocate(rt.kt(), MACH_PORT_RIGHT_RECEIVE, &p.pager) != KERN_SUCCESS) return false;
  if (rt.kernel().port_insert_right(rt.kt(), rt.kt(), p.pager, p.pager, MACH_MSG_TYPE_MAKE_SEND) != KERN_SUCCESS) {
    rt.kernel().port_mod_refs(rt.kt(), p.pager, MACH_PORT_RIGHT_RECEIVE, -1);
    return false;
  }
  p.control = rt.create_port(kern::KType::kMemoryObjectControl, o.id());
  p.name = rt.create_port(kern::KType::kMemoryObjectName, o.id());
  // The message moves one reference of our right to the manager.
  const bool ok = MACH_PORT_VALID(p.control) && MACH_PORT_VALID(p.name) &&
                  rt.kernel().port_mod_refs(rt.kt(), manager, MACH_PORT_RIGHT_SEND, 1) == KERN_SUCCESS;
  // The object port's receive right goes to the manager; our send right
  // stays under the same name.
  if (!ok || memory_object_create(manager, p.pager, vm_size_t(o.size()), p.control, p.name,
                                  vm_size_t(MemoryObject::kPage)) != MACH_MSG_SUCCESS) {
    if (MACH_PORT_VALID(p.control)) rt.destroy_port(p.control);
    if (MACH_PORT_VALID(p.name)) rt.destroy_port(p.name);
    rt.release_send(p.pager);  // (a failed send destroyed the receive right; before it, drop it)
    if (!ok) rt.kernel().port_mod_refs(rt.kt(), p.pager, MACH_PORT_RIGHT_RECEIVE, -1);
    return false;
  }
  spdlog::debug("memory object {}: handed to the default memory manager (port {:#x})", o.id(), p.pager);
  set_ports(o.id(), p);
  return true;
}

bool MessagePagerLink::page_out(MemoryObject& o, uint64_t offset, uint64_t length, bool initialize) {
  const ObjectPorts* p = ports(o.id());
  if (p == nullptr || !MACH_PORT_VALID(p->pager)) {
    if (!hand_to_default_manager(o)) return false;
    p = ports(o.id());
  }
  CacheData data(o.fd(), offset, length);
  if (!data.ok()) return false;
  const kern_return_t kr =
      initialize ? memory_object_data_initialize(p->pager, p->control, vm_offset_t(offset), data.address(),
                                                 mach_msg_type_number_t(length))
                 : memory_object_data_return(p->pager, p->control, vm_offset_t(offset), data.address(),
                                             mach_msg_type_number_t(length), TRUE, FALSE);
  return kr == MACH_MSG_SUCCESS;
}

void MessagePagerLink::lock_completed(MemoryObject& o, mach_port_name_t reply_to, mach_msg_type_name_t reply_type, uint64_t offset,
                                      uint64_t length) {
  if (const ObjectPorts* p = ports(o.id()))
    memory_object_lock_completed(reply_to, reply_disposition(reply_type), p->control, vm_offset_t(offset),
                                 vm_size_t(length));
}

void MessagePagerLink::supply_completed(MemoryObject& o, mach_port_name_t reply_to, mach_msg_type_name_t reply_type, uint64_t offset,
                                        uint64_t length, kern_return_t result, uint64_t error_offset) {
  if (const ObjectPorts* p = ports(o.id()))
    memory_object_supply_completed(reply_to, reply_disposition(reply_type), p->control, vm_offset_t(offset),
                                   vm_size_t(length), result, vm_offset_t(error_offset));
}

void MessagePagerLink::change_completed(MemoryObject& o, mach_port_name_t reply_to, mach_msg_type_name_t reply_type, bool may_cache,
                                        memory_object_copy_strategy_t strategy) {
  if (ports(o.id()) != nullptr) memory_object_change_completed(reply_to, reply_disposition(reply_type), may_cache, strategy);
}

mach_port_name_t MessagePagerLink::copy(MemoryObject& o, uint64_t offset, uint64_t length) {
  const ObjectPorts* p = ports(o.id());
  if (p == nullptr || !MACH_PORT_VALID(p->pager)) return MACH_PORT_NULL;
  kern::Runtime& rt = kern::runtime();
  mach_port_name_t fresh = MACH_PORT_NULL;
  if (rt.kernel().port_allocate(rt.kt(), MACH_PORT_RIGHT_RECEIVE, &fresh) != KERN_SUCCESS) return MACH_PORT_NULL;
  if (rt.kernel().port_insert_right(rt.kt(), rt.kt(), fresh, fresh, MACH_MSG_TYPE_MAKE_SEND) != KERN_SUCCESS) {
    rt.kernel().port_mod_refs(rt.kt(), fresh, MACH_PORT_RIGHT_RECEIVE, -1);
    return MACH_PORT_NULL;
  }
  // The receive right goes to the pager; our send right stays under `fresh`.
  if (memory_object_copy(p->pager, p->control, vm_offset_t(offset), vm_size_t(length), fresh) != MACH_MSG_SUCCESS) {
    rt.release_send(fresh);  // (the failed send destroyed the receive right)
    return MACH_PORT_NULL;
  }
  return fresh;
}

void MessagePagerLink::terminate(MemoryObject& o) {
  auto it = ports_.find(o.id());
  if (it == ports_.end()) return;
  ObjectPorts p = it->second;
  kern::Runtime& rt = kern::runtime();
  // The control and name ports leave the kernel: the pager receives them.
  for (mach_port_name_t n : {p.control, p.name}) {
    rt.kernel().kobject_set(n, ipc::KObject{});
    rt.kernel().port_move_member(rt.kt(), n, MACH_PORT_NULL);  // out of the kernel's port set
  }
  // Sent or not, the message took the three rights (a failed send
  // destroys them with it).
  const kern_return_t kr = memory_object_terminate(p.pager, p.control, p.name);
  spdlog::debug("memory object {}: terminate sent ({:#x})", o.id(), kr);
  it->second = ObjectPorts{};
}

}  // namespace machd::vm
