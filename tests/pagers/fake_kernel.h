// tests/pagers/fake_kernel.h — the kernel's end of GNU Mach's external pager
// interface, played by a test over real Mach IPC (a private machd): it sends
// the memory_object messages a kernel sends to an object port (our mig's
// user stubs of mach/memory_object.defs, prefixed fake_kernel_) and receives
// what the pager sends on the control port, decoded by the server stubs of
// mach/mach.defs (prefixed fake_kernel_ too).
#pragma once

#include <mach/mach.h>

#include <cstdint>
#include <vector>

namespace pagertest {

// One call a pager made on the control port, as the kernel received it.
struct ControlCall {
  mach_msg_id_t id = 0;  // 2038 data_provided ... 2095 change_attributes
  vm_offset_t offset = 0;
  vm_size_t size = 0;           // bytes named or carried
  std::vector<uint8_t> data;    // data_supply's contents
  vm_prot_t lock_value = 0;
  boolean_t precious = FALSE;
  kern_return_t error = 0;      // data_error's value, destroy's reason
  boolean_t may_cache = FALSE;
  memory_object_copy_strategy_t copy_strategy = 0;
  memory_object_return_t should_return = 0;
  boolean_t should_flush = FALSE;
  // The completion right (a send-once right now the test's), or
  // MACH_PORT_NULL; a test that does not answer must release it.
  mach_port_t reply_to = MACH_PORT_NULL;
  mach_msg_type_name_t reply_to_type = 0;
};

constexpr mach_msg_id_t kDataSupply = 2093;
constexpr mach_msg_id_t kDataUnavailable = 2039;
constexpr mach_msg_id_t kDataError = 2090;
constexpr mach_msg_id_t kLockRequest = 2044;
constexpr mach_msg_id_t kDestroy = 2092;
constexpr mach_msg_id_t kReady = 2094;
constexpr mach_msg_id_t kChangeAttributes = 2095;

// One kernel's view of one memory object: its control and name ports
// (receive rights of the test) and the object port it was given.
class FakeKernel {
 public:
  // Fresh control and name ports for `object`, one of whose send-right user
  // references it takes over (as from mach_pager_object).
  explicit FakeKernel(mach_port_t object);
  // Destroys the control and name ports and releases the object reference,
  // unless terminate() moved them.
  ~FakeKernel();
  FakeKernel(const FakeKernel&) = delete;
  FakeKernel& operator=(const FakeKernel&) = delete;

  mach_port_t control() const { return control_; }
  mach_port_t name() const { return name_; }

  // The next call on the control port, within timeout_ms; false if none.
  bool next(ControlCall* out, int timeout_ms = 5000);
  // True if no call arrives within timeout_ms.
  bool quiet(int timeout_ms = 200);

  // kernel -> pager (one-way messages to the object port).
  kern_return_t init(vm_size_t page_size);
  kern_return_t data_request(vm_offset_t offset, vm_size_t length, vm_prot_t access);
  kern_return_t data_unlock(vm_offset_t offset, vm_size_t length, vm_prot_t access);
  // Sends `data` out of line (copied; the test's buffer stays its own).
  kern_return_t data_return(vm_offset_t offset, const std::vector<uint8_t>& data, boolean_t dirty,
                            boolean_t kernel_copy);
  // Completions, on the reply right a call named (consumed).
  // `reply_type`: the reply right as the request brought it (reply_to_type;
  // MACH_MSG_TYPE_PORT_* equals the MOVE_* that sends it back).
  kern_return_t lock_completed(mach_port_t reply_to, vm_offset_t offset, vm_size_t length,
                               mach_msg_type_name_t reply_type = MACH_MSG_TYPE_MOVE_SEND_ONCE);
  kern_return_t supply_completed(mach_port_t reply_to, vm_offset_t offset, vm_size_t length, kern_return_t result,
                                 vm_offset_t error_offset);
  kern_return_t change_completed(mach_port_t reply_to, boolean_t may_cache, memory_object_copy_strategy_t strategy);
  // Moves the control and name ports' receive rights to the pager, and
  // spends the object reference (MOVE_SEND), as GNU Mach's terminate does.
  kern_return_t terminate();

 private:
  mach_port_t object_;
  mach_port_t control_ = MACH_PORT_NULL;
  mach_port_t name_ = MACH_PORT_NULL;
};

// The number of names in this task's space.
size_t names_in_space();

}  // namespace pagertest
