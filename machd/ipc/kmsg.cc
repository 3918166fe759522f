// machd/ipc/kmsg.cc — message allocation and destruction.
#include "kmsg.h"

#include <algorithm>
#include <cstring>

#include "ipc.h"
#include "right.h"

namespace machd::ipc {

mach_msg_id_t Kmsg::id() const {
  mach_msg_id_t id = 0;
  if (bytes.size() >= sizeof(mach_msg_header_t))
    std::memcpy(&id, bytes.data() + offsetof(mach_msg_header_t, msgh_id), sizeof id);
  return id;
}

mach_port_name_t Kmsg::voucher_field() const {
  mach_port_name_t name = MACH_PORT_NULL;
  if (bytes.size() >= sizeof(mach_msg_header_t))
    std::memcpy(&name, bytes.data() + offsetof(mach_msg_header_t, msgh_voucher_port), sizeof name);
  return name;
}

uint16_t Ipc::slot_of_user(uint32_t uid) {
  auto [it, fresh] = user_slot.try_emplace(uid, 0);
  if (fresh) {
    if (usage.size() <= UINT16_MAX) usage.emplace_back();
    it->second = static_cast<uint16_t>(usage.size() - 1);
  }
  return it->second;
}

Kmsg* Ipc::new_kmsg() {
  live_kmsgs++;
  if (kmsg_pool.free.empty()) return new Kmsg;
  Kmsg* k = kmsg_pool.free.back();
  kmsg_pool.free.pop_back();
  return k;
}

void Ipc::free_kmsg(Kmsg* k) {
  live_kmsgs--;
  if (k->charged_to != 0) {
    UserUsage& u = usage[k->charged_to];
    u.queued_bytes -= std::min(u.queued_bytes, k->charged_bytes);
    if (u.queued_msgs > 0) u.queued_msgs--;
    k->charged_to = 0;
    k->charged_bytes = 0;
  }
  // Small messages keep their buffers for the next one: a stream of them
  // then costs no allocation per message.
  constexpr size_t kPoolMax = 1024, kKeepBytes = 1024;
  if (kmsg_pool.free.size() >= kPoolMax || k->bytes.capacity() > kKeepBytes || !k->descs.empty()) {
    delete k;
    return;
  }
  k->next = nullptr;
  k->bytes.clear();
  k->bits = 0;
  k->dest = nullptr;
  k->reply = nullptr;
  k->voucher = nullptr;
  k->voucher_disp = 0;
  k->sender = SenderId{};
  k->circular = false;
  kmsg_pool.free.push_back(k);
}

KmsgPool::~KmsgPool() {
  for (Kmsg* k : free) delete k;
}

// Releases every right and payload of `k` and frees it (XNU ipc_kmsg_destroy
// / ipc_kmsg_clean). Receive rights inside are destroyed through the work
// queue, so nesting depth never grows.
void kmsg_destroy_now(Ipc& ipc, Kmsg* k) {
  right_release(ipc, k->dest, k->dest_type());
  k->dest = nullptr;
  right_release(ipc, k->reply, k->reply_type());
  k->reply = nullptr;
  right_release(ipc, k->voucher, kPortSend);
  k->voucher = nullptr;
  for (KDesc& d : k->descs) {
    switch (d.type) {
      case MACH_MSG_PORT_DESCRIPTOR:
      case MACH_MSG_GUARDED_PORT_DESCRIPTOR:
        right_release(ipc, d.port, d.right_type);
        d.port = nullptr;
        break;
      case MACH_MSG_OOL_PORTS_DESCRIPTOR:
        for (Port*& p : d.ports) {
          right_release(ipc, p, d.right_type);
          p = nullptr;
        }
        break;
      default:
        if (d.payload) {
          ipc.live_payloads--;
          d.payload.reset();
        }
        break;
    }
  }
  ipc.free_kmsg(k);
}

}  // namespace machd::ipc
