// machd/kern/voucher_server.cc — the voucher routines: mach_voucher.defs on a
// voucher port, host_create_mach_voucher (mach_host.defs) and the task's
// voucher calls of task.defs. Each translates its port and makes one call
// into the IPC core's vouchers (ipc/voucher.h) for the requesting task.
//
// mach_voucher_debug_info stays KERN_NOT_SUPPORTED (generated), as on XNU's
// release kernels; so do thread_get/set/swap_mach_voucher (machd threads
// hold no voucher) and task_swap_mach_voucher (KERN_NOT_SUPPORTED on XNU).
#include <mach/mach_types.h>

#include <span>

#include "task.h"
#include "translate.h"

extern "C" {
#include "mach_hostServer.h"
#include "mach_voucherServer.h"
#include "taskServer.h"
}

using machd::kern::KType;
using machd::kern::runtime;
using machd::kern::translate;

namespace {

machd::ipc::TaskId caller() { return runtime().request().sender; }

// Runs `call(kernel, caller, voucher id)` on the voucher `port` denotes; a
// port that is no voucher is a null voucher to XNU: KERN_INVALID_ARGUMENT.
template <typename F>
kern_return_t on_voucher(ipc_voucher_t port, F&& call) {
  auto v = translate(port, {KType::kVoucher});
  return v ? call(runtime().kernel(), caller(), *v) : KERN_INVALID_ARGUMENT;
}

using Kernel = machd::ipc::Kernel;
using TaskId = machd::ipc::TaskId;

}  // namespace

extern "C" {

// XNU host_create_mach_voucher: a null host is KERN_INVALID_ARGUMENT; the
// recipes run for the requesting task (its space names previous vouchers).
kern_return_t host_create_mach_voucher(host_t host, mach_voucher_attr_raw_recipe_array_t recipes,
                                       mach_msg_type_number_t recipesCnt, ipc_voucher_t* voucher) {
  if (!translate(host, {KType::kHost, KType::kHostPriv})) return KERN_INVALID_ARGUMENT;
  mach_port_name_t kname = MACH_PORT_NULL;
  kern_return_t kr = runtime().kernel().voucher_create(caller(), std::span<const uint8_t>(recipes, recipesCnt), &kname);
  if (kr == KERN_SUCCESS) *voucher = runtime().release_after_reply(kname);
  return kr;
}

kern_return_t mach_voucher_extract_attr_content(ipc_voucher_t voucher, mach_voucher_attr_key_t key,
                                                mach_voucher_attr_content_t content,
                                                mach_msg_type_number_t* contentCnt) {
  return on_voucher(voucher, [&](Kernel& k, TaskId t, uint64_t v) {
    return k.voucher_extract_content(t, v, key, content, contentCnt);
  });
}

kern_return_t mach_voucher_extract_attr_recipe(ipc_voucher_t voucher, mach_voucher_attr_key_t key,
                                               mach_voucher_attr_raw_recipe_t recipe,
                                               mach_msg_type_number_t* recipeCnt) {
  return on_voucher(voucher, [&](Kernel& k, TaskId t, uint64_t v) {
    return k.voucher_extract_recipe(t, v, key, recipe, recipeCnt);
  });
}

kern_return_t mach_voucher_extract_all_attr_recipes(ipc_voucher_t voucher, mach_voucher_attr_raw_recipe_array_t recipes,
                                                    mach_msg_type_number_t* recipesCnt) {
  return on_voucher(voucher, [&](Kernel& k, TaskId t, uint64_t v) {
    return k.voucher_extract_all_recipes(t, v, recipes, recipesCnt);
  });
}

kern_return_t mach_voucher_attr_command(ipc_voucher_t voucher, mach_voucher_attr_key_t key,
                                        mach_voucher_attr_command_t command, mach_voucher_attr_content_t in_content,
                                        mach_msg_type_number_t in_contentCnt, mach_voucher_attr_content_t out_content,
                                        mach_msg_type_number_t* out_contentCnt) {
  return on_voucher(voucher, [&](Kernel& k, TaskId t, uint64_t v) {
    return k.voucher_command(t, v, key, command, std::span<const uint8_t>(in_content, in_contentCnt), out_content,
                             out_contentCnt);
  });
}

// XNU task_get_mach_voucher / task_set_mach_voucher: a task holds no
// voucher; getting one gives none, setting one is accepted and changes
// nothing. A port that is no task control port is KERN_INVALID_TASK.
kern_return_t task_get_mach_voucher(task_t task, mach_voucher_selector_t, ipc_voucher_t* voucher) {
  if (!machd::kern::tasks().translate(task, machd::kern::TaskFlavor::kControl)) return KERN_INVALID_TASK;
  *voucher = MACH_PORT_NULL;
  return KERN_SUCCESS;
}

kern_return_t task_set_mach_voucher(task_t task, ipc_voucher_t voucher) {
  if (!machd::kern::tasks().translate(task, machd::kern::TaskFlavor::kControl)) return KERN_INVALID_TASK;
  runtime().release_send(voucher);  // the voucher's send right came with the request
  return KERN_SUCCESS;
}

}  // extern "C"
