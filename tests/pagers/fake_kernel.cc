// tests/pagers/fake_kernel.cc — see fake_kernel.h.
#include "fake_kernel.h"

#include <mach/mach.h>
#include <mach/mig_errors.h>

#include <cstring>

#include "fk_machServer.h"
#include "fk_memory_object.h"

namespace pagertest {
namespace {

// The call being decoded by mach_server() on this thread.
thread_local ControlCall* t_call = nullptr;

mach_port_t new_port() {
  mach_port_t p = MACH_PORT_NULL;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) return MACH_PORT_NULL;
  return p;
}

void drop_receive(mach_port_t p) {
  if (MACH_PORT_VALID(p)) (void)mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
}

}  // namespace

FakeKernel::FakeKernel(mach_port_t object) : object_(object), control_(new_port()), name_(new_port()) {}

FakeKernel::~FakeKernel() {
  drop_receive(control_);
  drop_receive(name_);
  if (MACH_PORT_VALID(object_)) (void)mach_port_deallocate(mach_task_self(), object_);
}

bool FakeKernel::next(ControlCall* out, int timeout_ms) {
  union {
    mach_msg_header_t head;
    uint8_t bytes[1024 + MAX_TRAILER_SIZE];
  } in{};
  union {
    mig_reply_error_t error;
    uint8_t bytes[1024];
  } reply{};
  mach_msg_return_t mr = mach_msg(&in.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof in, control_,
                                  mach_msg_timeout_t(timeout_ms), MACH_PORT_NULL);
  if (mr != MACH_MSG_SUCCESS) return false;
  *out = ControlCall{};
  out->id = in.head.msgh_id;
  t_call = out;
  boolean_t known = mach_server(&in.head, &reply.error.Head);
  t_call = nullptr;
  // Every routine but get_attributes is one-way: nothing to answer.
  if (!known || reply.error.RetCode != KERN_SUCCESS) mach_msg_destroy(&in.head);
  return known;
}

bool FakeKernel::quiet(int timeout_ms) {
  ControlCall c;
  if (!next(&c, timeout_ms)) return true;
  if (MACH_PORT_VALID(c.reply_to)) (void)mach_port_deallocate(mach_task_self(), c.reply_to);
  return false;
}

kern_return_t FakeKernel::init(vm_size_t page_size) {
  return fake_kernel_memory_object_init(object_, control_, name_, page_size);
}

kern_return_t FakeKernel::data_request(vm_offset_t offset, vm_size_t length, vm_prot_t access) {
  return fake_kernel_memory_object_data_request(object_, control_, offset, length, access);
}

kern_return_t FakeKernel::data_unlock(vm_offset_t offset, vm_size_t length, vm_prot_t access) {
  return fake_kernel_memory_object_data_unlock(object_, control_, offset, length, access);
}

kern_return_t FakeKernel::data_return(vm_offset_t offset, const std::vector<uint8_t>& data, boolean_t dirty,
                                      boolean_t kernel_copy) {
  return fake_kernel_memory_object_data_return(object_, control_, offset, vm_offset_t(data.data()),
                                               mach_msg_type_number_t(data.size()), dirty, kernel_copy);
}

kern_return_t FakeKernel::lock_completed(mach_port_t reply_to, vm_offset_t offset, vm_size_t length,
                                         mach_msg_type_name_t reply_type) {
  return fake_kernel_memory_object_lock_completed(reply_to, reply_type, control_, offset, length);
}

kern_return_t FakeKernel::supply_completed(mach_port_t reply_to, vm_offset_t offset, vm_size_t length,
                                           kern_return_t result, vm_offset_t error_offset) {
  return fake_kernel_memory_object_supply_completed(reply_to, MACH_MSG_TYPE_MOVE_SEND_ONCE, control_, offset, length,
                                                    result, error_offset);
}

kern_return_t FakeKernel::change_completed(mach_port_t reply_to, boolean_t may_cache,
                                           memory_object_copy_strategy_t strategy) {
  return fake_kernel_memory_object_change_completed(reply_to, MACH_MSG_TYPE_MOVE_SEND_ONCE, may_cache, strategy);
}

kern_return_t FakeKernel::terminate() {
  kern_return_t kr = fake_kernel_memory_object_terminate(object_, control_, name_);
  if (kr == KERN_SUCCESS) object_ = control_ = name_ = MACH_PORT_NULL;
  return kr;
}

size_t names_in_space() {
  mach_port_name_array_t names = nullptr;
  mach_port_type_array_t types = nullptr;
  mach_msg_type_number_t n = 0, nt = 0;
  if (mach_port_names(mach_task_self(), &names, &n, &types, &nt) != KERN_SUCCESS) return ~size_t(0);
  (void)vm_deallocate(mach_task_self(), vm_address_t(names), n * sizeof *names);
  (void)vm_deallocate(mach_task_self(), vm_address_t(types), nt * sizeof *types);
  return n;
}

}  // namespace pagertest

// The kernel's server routines for mach/mach.defs: each records the call.
using pagertest::t_call;

namespace {

void take_range(vm_offset_t offset, vm_size_t size) {
  t_call->offset = offset;
  t_call->size = size;
}

// Out-of-line data: copied into the record, then released.
void take_data(vm_offset_t offset, vm_offset_t data, mach_msg_type_number_t count) {
  take_range(offset, count);
  const auto* bytes = reinterpret_cast<const uint8_t*>(data);
  t_call->data.assign(bytes, bytes + count);
  (void)vm_deallocate(mach_task_self(), data, count);
}

// The completion right: the test's from now on.
void take_reply(mach_port_t reply_to, mach_msg_type_name_t type) {
  t_call->reply_to = reply_to;
  t_call->reply_to_type = type;
}

}  // namespace

extern "C" {

kern_return_t fake_kernel_memory_object_data_provided(memory_object_control_t, vm_offset_t offset, vm_offset_t data,
                                                      mach_msg_type_number_t dataCnt, vm_prot_t lock_value) {
  take_data(offset, data, dataCnt);
  t_call->lock_value = lock_value;
  return KERN_SUCCESS;
}

kern_return_t fake_kernel_memory_object_data_unavailable(memory_object_control_t, vm_offset_t offset, vm_size_t size) {
  take_range(offset, size);
  return KERN_SUCCESS;
}

kern_return_t fake_kernel_memory_object_get_attributes(memory_object_control_t, boolean_t* object_ready,
                                                       boolean_t* may_cache,
                                                       memory_object_copy_strategy_t* copy_strategy) {
  *object_ready = TRUE;
  *may_cache = FALSE;
  *copy_strategy = MEMORY_OBJECT_COPY_DELAY;
  return KERN_SUCCESS;
}

kern_return_t fake_kernel_memory_object_lock_request(memory_object_control_t, vm_offset_t offset, vm_size_t size,
                                                     memory_object_return_t should_return, boolean_t should_flush,
                                                     vm_prot_t lock_value, mach_port_t reply_to,
                                                     mach_msg_type_name_t reply_toPoly) {
  take_range(offset, size);
  t_call->should_return = should_return;
  t_call->should_flush = should_flush;
  t_call->lock_value = lock_value;
  take_reply(reply_to, reply_toPoly);
  return KERN_SUCCESS;
}

kern_return_t fake_kernel_memory_object_data_error(memory_object_control_t, vm_offset_t offset, vm_size_t size,
                                                   kern_return_t error_value) {
  take_range(offset, size);
  t_call->error = error_value;
  return KERN_SUCCESS;
}

kern_return_t fake_kernel_memory_object_set_attributes(memory_object_control_t, boolean_t, boolean_t may_cache,
                                                       memory_object_copy_strategy_t copy_strategy) {
  t_call->may_cache = may_cache;
  t_call->copy_strategy = copy_strategy;
  return KERN_SUCCESS;
}

kern_return_t fake_kernel_memory_object_destroy(memory_object_control_t, kern_return_t reason) {
  t_call->error = reason;
  return KERN_SUCCESS;
}

kern_return_t fake_kernel_memory_object_data_supply(memory_object_control_t, vm_offset_t offset, vm_offset_t data,
                                                    mach_msg_type_number_t dataCnt, vm_prot_t lock_value,
                                                    boolean_t precious, mach_port_t reply_to,
                                                    mach_msg_type_name_t reply_toPoly) {
  take_data(offset, data, dataCnt);
  t_call->lock_value = lock_value;
  t_call->precious = precious;
  take_reply(reply_to, reply_toPoly);
  return KERN_SUCCESS;
}

kern_return_t fake_kernel_memory_object_ready(memory_object_control_t, boolean_t may_cache,
                                              memory_object_copy_strategy_t copy_strategy) {
  t_call->may_cache = may_cache;
  t_call->copy_strategy = copy_strategy;
  return KERN_SUCCESS;
}

kern_return_t fake_kernel_memory_object_change_attributes(memory_object_control_t, boolean_t may_cache,
                                                          memory_object_copy_strategy_t copy_strategy,
                                                          mach_port_t reply_to, mach_msg_type_name_t reply_toPoly) {
  t_call->may_cache = may_cache;
  t_call->copy_strategy = copy_strategy;
  take_reply(reply_to, reply_toPoly);
  return KERN_SUCCESS;
}

}  // extern "C"
