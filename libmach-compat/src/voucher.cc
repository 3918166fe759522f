// libmach-compat/src/voucher.cc — the voucher calls of libsyscall:
// mach_voucher_deallocate, and the voucher_mach_msg_* calls <mach/mach.h>
// declares (on macOS libdispatch provides them, on its current thread
// voucher; here the library keeps the thread's voucher itself).
//
// A thread's voucher is the one it adopted from a received message
// (voucher_mach_msg_adopt) until it reverts; with none adopted,
// voucher_mach_msg_set puts the task's default voucher in a message, as
// libdispatch does: a bank voucher made once per task
// (MACH_VOUCHER_ATTR_BANK_CREATE), which machd's send processing turns into
// "the sender" (machd/kern/voucher_bank.h).
#include <bank/bank_types.h>
#include <mach/mach.h>
#include <mach/mach_host.h>
#include <unistd.h>

#include <mutex>

namespace {

// The task's default voucher and the process it was made in (a forked child
// is another task: it makes its own).
std::mutex g_task_voucher_lock;
mach_voucher_t g_task_voucher = MACH_VOUCHER_NULL;
pid_t g_task_voucher_pid = 0;

mach_voucher_t task_voucher() {
  std::lock_guard<std::mutex> lock(g_task_voucher_lock);
  if (g_task_voucher != MACH_VOUCHER_NULL && g_task_voucher_pid == getpid()) return g_task_voucher;
  mach_voucher_attr_recipe_data_t recipe{};
  recipe.key = MACH_VOUCHER_ATTR_KEY_BANK;
  recipe.command = MACH_VOUCHER_ATTR_BANK_CREATE;
  mach_port_t host = mach_host_self();
  mach_voucher_t v = MACH_VOUCHER_NULL;
  kern_return_t kr = host_create_mach_voucher(host, reinterpret_cast<mach_voucher_attr_raw_recipe_array_t>(&recipe),
                                              sizeof recipe, &v);
  mach_port_deallocate(mach_task_self(), host);
  if (kr != KERN_SUCCESS) return MACH_VOUCHER_NULL;
  g_task_voucher = v;  // kept for the task's life
  g_task_voucher_pid = getpid();
  return v;
}

// The voucher this thread adopted (one send right it owns), in the process
// that adopted it.
thread_local mach_voucher_t t_voucher = MACH_VOUCHER_NULL;
thread_local pid_t t_voucher_pid = 0;

mach_voucher_t thread_voucher() { return t_voucher_pid == getpid() ? t_voucher : MACH_VOUCHER_NULL; }

}  // namespace

extern "C" {

// As libsyscall: one user reference of the caller's send right goes.
kern_return_t mach_voucher_deallocate(mach_voucher_t voucher) {
  return mach_port_deallocate(mach_task_self(), voucher);
}

// The thread's voucher (else the task's) into a message that has none,
// copied (the message borrows it: send it before reverting). FALSE when the
// message already has voucher bits or there is no voucher to give.
boolean_t voucher_mach_msg_set(mach_msg_header_t* msg) {
  if (MACH_MSGH_BITS_HAS_VOUCHER(msg->msgh_bits)) return FALSE;
  mach_voucher_t v = thread_voucher();
  if (v == MACH_VOUCHER_NULL) v = task_voucher();
  if (v == MACH_VOUCHER_NULL) return FALSE;
  msg->msgh_voucher_port = v;
  msg->msgh_bits |= MACH_MSGH_BITS_SET_PORTS(0, 0, MACH_MSG_TYPE_COPY_SEND);
  return TRUE;
}

// Takes the voucher out of a message header (a moved one is released).
void voucher_mach_msg_clear(mach_msg_header_t* msg) {
  const mach_msg_type_name_t disp = MACH_MSGH_BITS_VOUCHER(msg->msgh_bits);
  const mach_voucher_t v = msg->msgh_voucher_port;
  if ((disp != MACH_MSG_TYPE_COPY_SEND && disp != MACH_MSG_TYPE_MOVE_SEND) || v == MACH_VOUCHER_NULL) return;
  if (disp == MACH_MSG_TYPE_MOVE_SEND) mach_voucher_deallocate(v);
  msg->msgh_voucher_port = MACH_VOUCHER_NULL;
  msg->msgh_bits &= ~MACH_MSGH_BITS_VOUCHER_MASK;
}

// The message's voucher becomes the thread's (the header's voucher fields
// are cleared); the previous state comes back for voucher_mach_msg_revert.
voucher_mach_msg_state_t voucher_mach_msg_adopt(mach_msg_header_t* msg) {
  const mach_msg_type_name_t disp = MACH_MSGH_BITS_VOUCHER(msg->msgh_bits);
  if (disp == 0) return VOUCHER_MACH_MSG_STATE_UNCHANGED;
  const mach_voucher_t v = msg->msgh_voucher_port;
  msg->msgh_voucher_port = MACH_VOUCHER_NULL;
  msg->msgh_bits &= ~(MACH_MSGH_BITS_VOUCHER_MASK | MACH_MSGH_BITS_RAISEIMP);
  if (v == MACH_VOUCHER_NULL) return VOUCHER_MACH_MSG_STATE_UNCHANGED;
  // A copied voucher was only lent by the message: the thread takes a
  // reference of its own.
  if (disp != MACH_MSG_TYPE_MOVE_SEND) mach_port_mod_refs(mach_task_self(), v, MACH_PORT_RIGHT_SEND, 1);
  const mach_voucher_t previous = thread_voucher();
  t_voucher = v;
  t_voucher_pid = getpid();
  return reinterpret_cast<voucher_mach_msg_state_t>(uintptr_t(previous));
}

// Back to the state before voucher_mach_msg_adopt; the adopted voucher is
// released.
void voucher_mach_msg_revert(voucher_mach_msg_state_t state) {
  if (state == VOUCHER_MACH_MSG_STATE_UNCHANGED) return;
  if (mach_voucher_t current = thread_voucher(); current != MACH_VOUCHER_NULL) mach_voucher_deallocate(current);
  t_voucher = mach_voucher_t(reinterpret_cast<uintptr_t>(state));
  t_voucher_pid = getpid();
}

}  // extern "C"
