/*
 * mach/task.h - task operations (the task subsystem, msgh_id 3400..).
 * SPDX-License-Identifier: MIT
 */
#ifndef _task_user_
#define _task_user_

#include <mach/_cdefs.h>
#include <mach/std_types.h>
#include <mach/mach_types.h>
#include <mach/message.h>
#include <mach/task_info.h>
#include <mach/task_special_ports.h>

__BEGIN_DECLS

extern kern_return_t task_create(task_t target_task, ledger_array_t ledgers,
    mach_msg_type_number_t ledgersCnt, boolean_t inherit_memory,
    task_t *child_task);
extern kern_return_t task_terminate(task_t target_task);
/* Threads of the task (OOL array of send rights). */
extern kern_return_t task_threads(task_inspect_t target_task,
    thread_act_array_t *act_list, mach_msg_type_number_t *act_listCnt);
extern kern_return_t mach_ports_register(task_t target_task,
    mach_port_array_t init_port_set, mach_msg_type_number_t init_port_setCnt);
extern kern_return_t mach_ports_lookup(task_t target_task,
    mach_port_array_t *init_port_set, mach_msg_type_number_t *init_port_setCnt);
extern kern_return_t task_info(task_name_t target_task, task_flavor_t flavor,
    task_info_t task_info_out, mach_msg_type_number_t *task_info_outCnt);
extern kern_return_t task_set_info(task_t target_task, task_flavor_t flavor,
    task_info_t task_info_in, mach_msg_type_number_t task_info_inCnt);
extern kern_return_t task_suspend(task_read_t target_task);
extern kern_return_t task_resume(task_read_t target_task);
extern kern_return_t task_suspend2(task_read_t target_task,
    task_suspension_token_t *suspend_token);
extern kern_return_t task_resume2(task_suspension_token_t suspend_token);

/* which_port: TASK_*_PORT (mach/task_special_ports.h). */
extern kern_return_t task_get_special_port(task_inspect_t task, int which_port,
    mach_port_t *special_port);
extern kern_return_t task_set_special_port(task_t task, int which_port,
    mach_port_t special_port);

extern kern_return_t thread_create(task_t parent_task, thread_act_t *child_act);
extern kern_return_t thread_create_running(task_t parent_task,
    thread_state_flavor_t flavor, thread_state_t new_state,
    mach_msg_type_number_t new_stateCnt, thread_act_t *child_act);

extern kern_return_t task_set_exception_ports(task_t task,
    exception_mask_t exception_mask, mach_port_t new_port,
    exception_behavior_t behavior, thread_state_flavor_t new_flavor);
extern kern_return_t task_get_exception_ports(task_t task,
    exception_mask_t exception_mask, exception_mask_array_t masks,
    mach_msg_type_number_t *masksCnt, exception_handler_array_t old_handlers,
    exception_behavior_array_t old_behaviors,
    exception_flavor_array_t old_flavors);
extern kern_return_t task_swap_exception_ports(task_t task,
    exception_mask_t exception_mask, mach_port_t new_port,
    exception_behavior_t behavior, thread_state_flavor_t new_flavor,
    exception_mask_array_t masks, mach_msg_type_number_t *masksCnt,
    exception_handler_array_t old_handlers,
    exception_behavior_array_t old_behaviors,
    exception_flavor_array_t old_flavors);

extern kern_return_t lock_set_create(task_t task, lock_set_t *new_lock_set,
    int n_ulocks, int policy);
extern kern_return_t lock_set_destroy(task_t task, lock_set_t lock_set);

/* policy: SYNC_POLICY_*; value: initial count (>= 0). */
extern kern_return_t semaphore_create(task_t task, semaphore_t *semaphore,
    int policy, int value);
extern kern_return_t semaphore_destroy(task_t task, semaphore_t semaphore);

extern kern_return_t task_get_state(task_read_t task,
    thread_state_flavor_t flavor, thread_state_t old_state,
    mach_msg_type_number_t *old_stateCnt);
extern kern_return_t task_set_state(task_t task, thread_state_flavor_t flavor,
    thread_state_t new_state, mach_msg_type_number_t new_stateCnt);

extern kern_return_t task_policy_set(task_policy_set_t task,
    task_policy_flavor_t flavor, task_policy_t policy_info,
    mach_msg_type_number_t policy_infoCnt);
extern kern_return_t task_policy_get(task_policy_get_t task,
    task_policy_flavor_t flavor, task_policy_t policy_info,
    mach_msg_type_number_t *policy_infoCnt, boolean_t *get_default);

__END_DECLS

#endif /* _task_user_ */
