/*
 * mach/thread_act.h - thread operations (the thread_act subsystem).
 * SPDX-License-Identifier: MIT
 */
#ifndef _thread_act_user_
#define _thread_act_user_

#include <mach/_cdefs.h>
#include <mach/std_types.h>
#include <mach/mach_types.h>
#include <mach/message.h>
#include <mach/thread_info.h>
#include <mach/thread_special_ports.h>

__BEGIN_DECLS

extern kern_return_t thread_terminate(thread_act_t target_act);
extern kern_return_t act_get_state(thread_read_t target_act, int flavor,
    thread_state_t old_state, mach_msg_type_number_t *old_stateCnt);
extern kern_return_t act_set_state(thread_act_t target_act, int flavor,
    thread_state_t new_state, mach_msg_type_number_t new_stateCnt);
extern kern_return_t thread_get_state(thread_read_t target_act,
    thread_state_flavor_t flavor, thread_state_t old_state,
    mach_msg_type_number_t *old_stateCnt);
extern kern_return_t thread_set_state(thread_act_t target_act,
    thread_state_flavor_t flavor, thread_state_t new_state,
    mach_msg_type_number_t new_stateCnt);
extern kern_return_t thread_suspend(thread_read_t target_act);
extern kern_return_t thread_resume(thread_read_t target_act);
extern kern_return_t thread_abort(thread_act_t target_act);
extern kern_return_t thread_abort_safely(thread_act_t target_act);
extern kern_return_t thread_depress_abort(thread_act_t thread);
extern kern_return_t thread_get_special_port(thread_inspect_t thr_act,
    int which_port, mach_port_t *special_port);
extern kern_return_t thread_set_special_port(thread_act_t thr_act,
    int which_port, mach_port_t special_port);
extern kern_return_t thread_info(thread_inspect_t target_act,
    thread_flavor_t flavor, thread_info_t thread_info_out,
    mach_msg_type_number_t *thread_info_outCnt);
extern kern_return_t thread_set_exception_ports(thread_act_t thread,
    exception_mask_t exception_mask, mach_port_t new_port,
    exception_behavior_t behavior, thread_state_flavor_t new_flavor);
extern kern_return_t thread_get_exception_ports(thread_act_t thread,
    exception_mask_t exception_mask, exception_mask_array_t masks,
    mach_msg_type_number_t *masksCnt, exception_handler_array_t old_handlers,
    exception_behavior_array_t old_behaviors,
    exception_flavor_array_t old_flavors);
extern kern_return_t thread_swap_exception_ports(thread_act_t thread,
    exception_mask_t exception_mask, mach_port_t new_port,
    exception_behavior_t behavior, thread_state_flavor_t new_flavor,
    exception_mask_array_t masks, mach_msg_type_number_t *masksCnt,
    exception_handler_array_t old_handlers,
    exception_behavior_array_t old_behaviors,
    exception_flavor_array_t old_flavors);

extern kern_return_t thread_policy_set(thread_act_t thread,
    thread_policy_flavor_t flavor, thread_policy_t policy_info,
    mach_msg_type_number_t policy_infoCnt);
extern kern_return_t thread_policy_get(thread_inspect_t thread,
    thread_policy_flavor_t flavor, thread_policy_t policy_info,
    mach_msg_type_number_t *policy_infoCnt, boolean_t *get_default);

__END_DECLS

#endif /* _thread_act_user_ */
