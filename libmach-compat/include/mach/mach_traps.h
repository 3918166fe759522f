/*
 * mach/mach_traps.h - the Mach traps (calls that need no MIG message).
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MACH_TRAPS_H_
#define _MACH_MACH_TRAPS_H_

#include <stdint.h>
#include <mach/_cdefs.h>
#include <mach/std_types.h>
#include <mach/mach_types.h>
#include <mach/kern_return.h>
#include <mach/port.h>
#include <mach/message.h>
#include <mach/clock_types.h>
#include <mach/thread_switch.h>

__BEGIN_DECLS

/* Allocate a fresh receive right for replies (caller owns it). */
extern mach_port_name_t mach_reply_port(void);
extern mach_port_name_t thread_get_special_reply_port(void);

/* Self ports; each call returns a new send right (except task_self_trap,
 * whose result is cached in mach_task_self_). */
extern mach_port_name_t thread_self_trap(void);
extern mach_port_name_t host_self_trap(void);
extern mach_port_name_t task_self_trap(void);

/* Raw message traps: like mach_msg() but never restart on interrupt. */
extern mach_msg_return_t mach_msg_trap(mach_msg_header_t *msg,
    mach_msg_option_t option, mach_msg_size_t send_size,
    mach_msg_size_t rcv_size, mach_port_name_t rcv_name,
    mach_msg_timeout_t timeout, mach_port_name_t notify);
extern mach_msg_return_t mach_msg_overwrite_trap(mach_msg_header_t *msg,
    mach_msg_option_t option, mach_msg_size_t send_size,
    mach_msg_size_t rcv_size, mach_port_name_t rcv_name,
    mach_msg_timeout_t timeout, mach_msg_priority_t priority,
    mach_msg_header_t *rcv_msg, mach_msg_size_t rcv_limit);

extern kern_return_t semaphore_signal_trap(mach_port_name_t signal_name);
extern kern_return_t semaphore_signal_all_trap(mach_port_name_t signal_name);
extern kern_return_t semaphore_signal_thread_trap(mach_port_name_t signal_name,
    mach_port_name_t thread_name);
extern kern_return_t semaphore_wait_trap(mach_port_name_t wait_name);
extern kern_return_t semaphore_wait_signal_trap(mach_port_name_t wait_name,
    mach_port_name_t signal_name);
extern kern_return_t semaphore_timedwait_trap(mach_port_name_t wait_name,
    unsigned int sec, clock_res_t nsec);
extern kern_return_t semaphore_timedwait_signal_trap(mach_port_name_t wait_name,
    mach_port_name_t signal_name, unsigned int sec, clock_res_t nsec);

extern kern_return_t clock_sleep_trap(mach_port_name_t clock_name,
    sleep_type_t sleep_type, int sleep_sec, int sleep_nsec,
    mach_timespec_t *wakeup_time);

struct mach_timebase_info;
extern kern_return_t mach_timebase_info_trap(struct mach_timebase_info *info);

extern kern_return_t task_for_pid(mach_port_name_t target_tport, int pid,
    mach_port_name_t *t);
extern kern_return_t task_name_for_pid(mach_port_name_t target_tport, int pid,
    mach_port_name_t *tn);
extern kern_return_t pid_for_task(mach_port_name_t t, int *x);

extern boolean_t     swtch_pri(int pri);
extern boolean_t     swtch(void);
extern kern_return_t thread_switch(mach_port_name_t thread_name, int option,
    mach_msg_timeout_t option_time);

__END_DECLS

#endif /* _MACH_MACH_TRAPS_H_ */
