// machd/ipc/space_info.cc — see space_info.h.
#include "space_info.h"

#include "object_id.h"

#include "credit.h"
#include "ipc.h"
#include "kobject.h"
#include "mach_port.h"
#include "notify.h"
#include "port.h"
#include "port_set.h"
#include "space.h"
#include "task.h"

namespace machd::ipc {

namespace {

// splitmix64's finalizer: a bijection on 64-bit values.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The type an entry reports: rights, request bits; a send right to a dead
// port is a dead name (not converted here).
mach_port_type_t reported_type(const Entry& e) {
  mach_port_type_t t = e.type();
  if ((t & MACH_PORT_TYPE_SEND_RIGHTS) && !(t & MACH_PORT_TYPE_RECEIVE) && !e.port()->active())
    return MACH_PORT_TYPE_DEAD_NAME;
  if (e.request != 0 && (t & MACH_PORT_TYPE_PORT_RIGHTS)) t |= request_type(*e.port(), e.request);
  return t;
}

// The object an entry names, for object_id (null: none, or a dead port).
const void* entry_object(const Entry& e, mach_port_type_t reported) {
  if (reported == 0 || reported == MACH_PORT_TYPE_DEAD_NAME) return nullptr;
  return e.object;
}

// XNU's MACH_PORT_NGEN(MACH_PORT_DEAD): the generation bits of a name.
constexpr natural_t kGennoMask = MACH_PORT_MAKE(0, MACH_PORT_GEN(MACH_PORT_DEAD));

uint32_t live_requests(const Port& p) {
  uint32_t n = 0;
  if (p.aux)
    for (const PortRequest& r : p.aux->requests) n += r.notify != nullptr;
  return n;
}

}  // namespace

uint32_t object_id(const void* object) {
  if (!object) return 0;
  // The key: the address of a static object, randomised by ASLR.
  static const uint64_t key = mix(reinterpret_cast<uintptr_t>(&key) ^ 0x6d61636864ull);
  const uint64_t h = mix(reinterpret_cast<uintptr_t>(object) ^ key);
  const uint32_t id = static_cast<uint32_t>(h >> 32) ^ static_cast<uint32_t>(h);
  return id ? id : 1;
}

void si_space_info(const Task& task, ipc_info_space_t* info,
                   std::vector<ipc_info_name_t>* table) {
  const Space& sp = task.space;
  *info = ipc_info_space_t{};
  info->iis_genno_mask = kGennoMask;
  info->iis_table_size = static_cast<natural_t>(sp.table.size());
  info->iis_table_next = static_cast<natural_t>(sp.table.capacity());
  table->assign(sp.table.size(), ipc_info_name_t{});
  for (uint32_t i = 0; i < sp.table.size(); i++) {
    const Entry& e = sp.table[i];
    ipc_info_name_t& iin = (*table)[i];
    // Index 0 is never a name: XNU reports it with every generation bit set.
    iin.iin_name = i == 0 ? Space::make_name(0, kGenMask) : sp.name_of(i);
    if (!e.in_use()) {
      iin.iin_hash = i;
      continue;
    }
    iin.iin_type = reported_type(e);
    iin.iin_urefs = e.urefs();
    iin.iin_object = object_id(entry_object(e, iin.iin_type));
    iin.iin_next = e.request;
    iin.iin_hash = i;
  }
}

void si_space_basic_info(const Task& task, ipc_info_space_basic_t* info) {
  const Space& sp = task.space;
  *info = ipc_info_space_basic_t{};
  info->iisb_genno_mask = kGennoMask;
  info->iisb_table_size = static_cast<natural_t>(sp.table.size());
  info->iisb_table_next = static_cast<natural_t>(sp.table.capacity());
  info->iisb_table_inuse = sp.in_use;
}

kern_return_t si_dnrequest_info(Task& task, mach_port_name_t name, unsigned* total, unsigned* used) {
  Port* p = nullptr;
  kern_return_t kr = translate_receive(task.space, name, &p);
  if (kr != KERN_SUCCESS) return kr;
  *total = request_table_size(*p);
  *used = live_requests(*p);
  return KERN_SUCCESS;
}

kern_return_t si_kobject(Task& task, mach_port_name_t name, KObject* out) {
  *out = KObject{};
  const Entry* e = task.space.lookup(name);
  if (!e) return KERN_INVALID_NAME;
  const mach_port_type_t t = reported_type(*e);
  if (!(t & MACH_PORT_TYPE_SEND_RECEIVE)) return KERN_INVALID_RIGHT;
  *out = port_label(*e->port());
  return KERN_SUCCESS;
}

bool si_queue_full(Task& task, mach_port_name_t name) {
  const Entry* e = task.space.lookup(name);
  if (!e || !(e->type() & MACH_PORT_TYPE_SEND)) return false;
  const Port* p = e->port();
  return p->active() && p->full();
}

void si_names(const Task& task, std::vector<NameDetail>* out) {
  const Space& sp = task.space;
  out->clear();
  out->reserve(sp.in_use);
  for (uint32_t i = 1; i < sp.table.size(); i++) {
    const Entry& e = sp.table[i];
    if (!e.in_use()) continue;
    NameDetail d;
    d.name = sp.name_of(i);
    d.type = reported_type(e);
    d.urefs = e.urefs();
    d.object = object_id(entry_object(e, d.type));
    if (d.type & MACH_PORT_TYPE_PORT_SET) {
      d.members = static_cast<uint32_t>(e.pset()->size());
    } else if (d.object != 0) {
      const Port& p = *e.port();
      d.receiver = p.receiver;
      const uint32_t reserved = credit_reserved(p);
      d.msgcount = p.msgcount > reserved ? p.msgcount - reserved : 0;
      d.qlimit = p.qlimit;
      d.seqno = p.seqno;
      d.srights = p.srights;
      d.sorights = p.sorights;
      d.requests = live_requests(p);
      if (p.aux) {
        d.nsrequest = p.aux->nsrequest != nullptr;
        d.pdrequest = p.aux->pdrequest != nullptr;
      }
      d.kobject = port_label(p);
    }
    out->push_back(d);
  }
}

}  // namespace machd::ipc
