// machd/ipc/mach_port.cc — names and rights: allocate, deallocate, destroy,
// mod_refs, get_refs, type, names, insert_right, extract_right, construct,
// destruct.
#include "mach_port.h"

#include "ipc.h"
#include "notify.h"
#include "port.h"
#include "port_set.h"
#include "right.h"
#include "space.h"

namespace machd::ipc {

kern_return_t translate_receive(Space& space, mach_port_name_t name, Port** out) {
  Entry* e = space.lookup(name);
  if (!e) return KERN_INVALID_NAME;
  if (!(e->type() & MACH_PORT_TYPE_RECEIVE)) return KERN_INVALID_RIGHT;
  *out = e->port();
  return KERN_SUCCESS;
}

namespace {

// Puts a new object of kind `right` in the just-claimed entry `index`.
kern_return_t fill_new_entry(Ipc& ipc, Task& task, uint32_t index, mach_port_right_t right) {
  Space& sp = task.space;
  switch (right) {
    case MACH_PORT_RIGHT_RECEIVE:
      right_alloc_receive(ipc, sp, index, task.user);
      return KERN_SUCCESS;
    case MACH_PORT_RIGHT_PORT_SET: {
      Entry& e = sp.table[index];
      e.object = pset_new(ipc, task.id, sp.name_of(index));
      e.set_type_urefs(MACH_PORT_TYPE_PORT_SET, 0);
      return KERN_SUCCESS;
    }
    case MACH_PORT_RIGHT_DEAD_NAME:
      sp.table[index].set_type_urefs(MACH_PORT_TYPE_DEAD_NAME, 1);
      return KERN_SUCCESS;
    default:
      return KERN_INVALID_VALUE;
  }
}

// KERN_INVALID_VALUE for a right that cannot be allocated; for a receive
// right beyond the user's port bound KERN_RESOURCE_SHORTAGE (what XNU's
// mach_port_allocate says when no port can be had). Checked before a name is
// taken.
kern_return_t allocatable(Ipc& ipc, const Task& task, mach_port_right_t right) {
  if (right != MACH_PORT_RIGHT_RECEIVE && right != MACH_PORT_RIGHT_PORT_SET && right != MACH_PORT_RIGHT_DEAD_NAME)
    return KERN_INVALID_VALUE;
  if (right == MACH_PORT_RIGHT_RECEIVE && !ipc.port_fits(task.user)) return KERN_RESOURCE_SHORTAGE;
  return KERN_SUCCESS;
}

}  // namespace

kern_return_t mp_allocate(Ipc& ipc, Task& task, mach_port_right_t right, mach_port_name_t* name) {
  kern_return_t kr = allocatable(ipc, task, right);
  if (kr != KERN_SUCCESS) return kr;
  uint32_t index = 0;
  kr = task.space.alloc(name, &index);
  if (kr != KERN_SUCCESS) return kr;
  return fill_new_entry(ipc, task, index, right);
}

kern_return_t mp_allocate_name(Ipc& ipc, Task& task, mach_port_right_t right, mach_port_name_t name) {
  if (!MACH_PORT_VALID(name)) return KERN_INVALID_VALUE;
  kern_return_t kr = allocatable(ipc, task, right);
  if (kr != KERN_SUCCESS) return kr;
  uint32_t index = 0;
  bool existing = false;
  kr = task.space.alloc_name(name, &index, &existing);
  if (kr != KERN_SUCCESS) return kr;
  if (existing) return KERN_NAME_EXISTS;
  return fill_new_entry(ipc, task, index, right);
}

kern_return_t mp_construct(Ipc& ipc, Task& task, const mach_port_options_t& options,
                           mach_port_context_t context, mach_port_name_t* name) {
  const uint32_t flags = options.flags;
  if ((flags & MPO_QLIMIT) && options.mpl.mpl_qlimit > MACH_PORT_QLIMIT_MAX)
    return KERN_INVALID_VALUE;
  if (!ipc.port_fits(task.user)) return KERN_RESOURCE_SHORTAGE;
  uint32_t index = 0;
  kern_return_t kr = task.space.alloc(name, &index);
  if (kr != KERN_SUCCESS) return kr;
  Port* p = right_alloc_receive(ipc, task.space, index, task.user);
  p->context = context;
  if (flags & MPO_CONTEXT_AS_GUARD) {
    p->flags |= Port::kGuarded;
    if (flags & MPO_STRICT) p->flags |= Port::kStrictGuard;
  }
  if (flags & MPO_IMMOVABLE_RECEIVE) p->flags |= Port::kImmovableReceive;
  if (flags & MPO_QLIMIT) p->qlimit = static_cast<uint16_t>(options.mpl.mpl_qlimit);
  if (flags & MPO_INSERT_SEND_RIGHT) {
    p->srights = 1;
    p->mscount = 1;
    task.space.table[index].set_type_urefs(MACH_PORT_TYPE_SEND_RECEIVE, 1);
  }
  return KERN_SUCCESS;
}

kern_return_t mp_destruct(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_delta_t srdelta,
                          mach_port_context_t guard) {
  if (!MACH_PORT_VALID(name)) return KERN_INVALID_NAME;
  Entry* e = task.space.lookup(name);
  if (!e) return KERN_INVALID_NAME;
  return right_destruct(ipc, task.space, task.space.index_of(e), srdelta, guard);
}

kern_return_t mp_deallocate(Ipc& ipc, Task& task, mach_port_name_t name) {
  if (!MACH_PORT_VALID(name)) return KERN_SUCCESS;
  Entry* e = task.space.lookup(name);
  if (!e) return KERN_INVALID_NAME;
  return right_dealloc(ipc, task.space, task.space.index_of(e));
}

kern_return_t mp_destroy(Ipc& ipc, Task& task, mach_port_name_t name) {
  if (!MACH_PORT_VALID(name)) return KERN_SUCCESS;
  Entry* e = task.space.lookup(name);
  if (!e) return KERN_INVALID_NAME;
  return right_destroy(ipc, task.space, task.space.index_of(e));
}

kern_return_t mp_mod_refs(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_right_t right,
                          mach_port_delta_t delta) {
  if (right >= MACH_PORT_RIGHT_NUMBER) return KERN_INVALID_VALUE;
  if (!MACH_PORT_VALID(name)) {
    if (right == MACH_PORT_RIGHT_SEND || right == MACH_PORT_RIGHT_SEND_ONCE) return KERN_SUCCESS;
    return KERN_INVALID_NAME;
  }
  Entry* e = task.space.lookup(name);
  if (!e) return KERN_INVALID_NAME;
  return right_delta(ipc, task.space, task.space.index_of(e), right, delta);
}

kern_return_t mp_get_refs(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_right_t right,
                          mach_port_urefs_t* refs) {
  if (right >= MACH_PORT_RIGHT_NUMBER) return KERN_INVALID_VALUE;
  if (!MACH_PORT_VALID(name)) {
    if (right == MACH_PORT_RIGHT_SEND || right == MACH_PORT_RIGHT_SEND_ONCE) {
      *refs = 0;
      return KERN_SUCCESS;
    }
    return KERN_INVALID_NAME;
  }
  Entry* e = task.space.lookup(name);
  if (!e) return KERN_INVALID_NAME;
  mach_port_type_t type = 0;
  mach_port_urefs_t urefs = 0;
  right_info(ipc, task.space, task.space.index_of(e), &type, &urefs);
  if (type & MACH_PORT_TYPE(right)) {
    *refs = (right == MACH_PORT_RIGHT_SEND || right == MACH_PORT_RIGHT_DEAD_NAME) ? urefs : 1;
  } else {
    *refs = 0;
  }
  return KERN_SUCCESS;
}

kern_return_t mp_type(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_type_t* type) {
  if (name == MACH_PORT_NULL) return KERN_INVALID_NAME;
  if (name == MACH_PORT_DEAD) {
    *type = MACH_PORT_TYPE_DEAD_NAME;
    return KERN_SUCCESS;
  }
  Entry* e = task.space.lookup(name);
  if (!e) return KERN_INVALID_NAME;
  mach_port_urefs_t urefs = 0;
  right_info(ipc, task.space, task.space.index_of(e), type, &urefs);
  return KERN_SUCCESS;
}

kern_return_t mp_names(Ipc& ipc, Task& task, std::vector<mach_port_name_t>* names,
                       std::vector<mach_port_type_t>* types) {
  (void)ipc;
  Space& sp = task.space;
  names->clear();
  types->clear();
  for (uint32_t i = 1; i < sp.table.size(); i++) {
    const Entry& e = sp.table[i];
    if (!e.in_use()) continue;
    mach_port_type_t t = e.type();
    if ((t & MACH_PORT_TYPE_SEND_RIGHTS) && !(t & MACH_PORT_TYPE_RECEIVE) && !e.port()->active()) {
      t = MACH_PORT_TYPE_DEAD_NAME;  // reported dead without converting (XNU)
    } else if (e.request != 0 && (t & MACH_PORT_TYPE_PORT_RIGHTS)) {
      t |= request_type(*e.port(), e.request);
    }
    names->push_back(sp.name_of(i));
    types->push_back(t);
  }
  return KERN_SUCCESS;
}

kern_return_t mp_insert_right(Ipc& ipc, Task& caller, Task& task, mach_port_name_t name,
                              mach_port_name_t poly, mach_msg_type_name_t poly_type) {
  // The right travels in the request message: MIG copyin errors come first.
  // Into the caller's own space, libsystem uses XNU's
  // _kernelrpc_mach_port_insert_right_trap instead: its ipc_object_copyin
  // reports the copyin error itself (KERN_INVALID_NAME / KERN_INVALID_RIGHT).
  const bool trap = &caller == &task;
  if (!is_port_disposition(poly_type)) return MACH_SEND_INVALID_TYPE;
  Port* right = nullptr;
  if (poly == MACH_PORT_DEAD) {
    right = dead_port();
  } else if (poly != MACH_PORT_NULL) {
    Entry* e = caller.space.lookup(poly);
    if (!e) return trap ? KERN_INVALID_NAME : MACH_SEND_INVALID_RIGHT;
    kern_return_t kr = right_copyin(ipc, caller.space, caller.space.index_of(e), poly_type,
                                    CopyinFlags{true, false}, &right);
    if (kr != KERN_SUCCESS) return trap ? kr : MACH_SEND_INVALID_RIGHT;
  }
  const mach_msg_type_name_t type = copyin_result_type(poly_type);
  if (!MACH_PORT_VALID(name)) {
    right_release(ipc, right, type);
    return KERN_INVALID_VALUE;
  }
  if (!port_valid(right)) return KERN_INVALID_CAPABILITY;
  return right_copyout_name(ipc, task.space, right, type, name);
}

kern_return_t mp_extract_right(Ipc& ipc, Task& caller, Task& task, mach_port_name_t name,
                               mach_msg_type_name_t msgt_name, mach_port_name_t* poly,
                               mach_msg_type_name_t* poly_type) {
  if (!is_port_disposition(msgt_name)) return KERN_INVALID_VALUE;
  if (!MACH_PORT_VALID(name)) return KERN_INVALID_RIGHT;
  Entry* e = task.space.lookup(name);
  if (!e) return KERN_INVALID_NAME;
  Port* right = nullptr;
  kern_return_t kr = right_copyin(ipc, task.space, task.space.index_of(e), msgt_name,
                                  CopyinFlags{true, false}, &right);
  if (kr != KERN_SUCCESS) return kr;
  const mach_msg_type_name_t type = copyin_result_type(msgt_name);
  // The reply message carries the right into the caller's space.
  mach_msg_return_t mr = right_copyout(ipc, caller.space, right, type, poly);
  if (mr != MACH_MSG_SUCCESS) return MACH_RCV_HEADER_ERROR | mr;
  *poly_type = type;
  return KERN_SUCCESS;
}

}  // namespace machd::ipc
