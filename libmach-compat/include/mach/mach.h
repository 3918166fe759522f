/*
 * mach/mach.h - the Mach C API (umbrella header, as on macOS).
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_H_
#define _MACH_H_

#define __MACH30__
#define MACH_IPC_FLAVOR UNTYPED

#include <mach/_cdefs.h>
#include <mach/std_types.h>
#include <mach/mach_types.h>
#include <mach/mach_interface.h>
#include <mach/mach_init.h>
#include <mach/mach_error.h>
#include <mach/machine.h>
#include <mach/port.h>
#include <mach/message.h>
#include <mach/mig_errors.h>
#include <mach/notify.h>
#include <mach/mk_timer.h>
#include <mach/memory_object_control.h>  /* a pager's calls on a control port (GNU Mach's) */
#include <pthread/mach_np.h>   /* pthread_mach_thread_np(), as <pthread.h> on macOS */

__BEGIN_DECLS

extern void panic_init(mach_port_t);
extern void panic(const char *, ...) __attribute__((noreturn, format(printf, 1, 2)));

extern void safe_gets(char *, char *, int);

extern void slot_name(cpu_type_t, cpu_subtype_t, char **, char **);

/* Fill a reply header from a request header (MIG servers). */
extern void mig_reply_setup(mach_msg_header_t *request, mach_msg_header_t *reply);

/*
 * Receive on rcv_name, hand each request to demux, send the reply.
 * max_size bounds request and reply; options may add MACH_RCV_TRAILER_*.
 * mach_msg_server loops forever (returns only on error).
 */

extern mach_msg_return_t mach_msg_server_once(
    boolean_t (*demux)(mach_msg_header_t *, mach_msg_header_t *),
    mach_msg_size_t max_size, mach_port_t rcv_name, mach_msg_options_t options);
extern mach_msg_return_t mach_msg_server(
    boolean_t (*demux)(mach_msg_header_t *, mach_msg_header_t *),
    mach_msg_size_t max_size, mach_port_t rcv_name, mach_msg_options_t options);
extern mach_msg_return_t mach_msg_server_importance(
    boolean_t (*demux)(mach_msg_header_t *, mach_msg_header_t *),
    mach_msg_size_t max_size, mach_port_t rcv_name, mach_msg_options_t options);

/*
 * A thread's voucher and messages (libdispatch provides these on macOS;
 * libmach-compat keeps the thread's voucher itself).
 */
typedef struct voucher_mach_msg_state_s *voucher_mach_msg_state_t;
/* What adopt returns when it changed nothing; revert then does nothing. */
#define VOUCHER_MACH_MSG_STATE_UNCHANGED ((voucher_mach_msg_state_t)~0ul)
/* Puts the thread's voucher (else the task's default voucher) in a message
 * that has none, copied: send it before the thread's voucher changes.
 * FALSE when the message has voucher bits already or there is no voucher. */
extern boolean_t voucher_mach_msg_set(mach_msg_header_t *msg);
/* Takes out what voucher_mach_msg_set put in (a moved voucher is released). */
extern void voucher_mach_msg_clear(mach_msg_header_t *msg);
/* Makes a received message's voucher the thread's (the header's voucher
 * fields are cleared) and returns the previous state. */
extern voucher_mach_msg_state_t voucher_mach_msg_adopt(mach_msg_header_t *msg);
/* Restores the state voucher_mach_msg_adopt returned, releasing the
 * adopted voucher. */
extern void voucher_mach_msg_revert(voucher_mach_msg_state_t state);

extern kern_return_t clock_get_res(mach_port_t clock_serv, clock_res_t *res);
extern kern_return_t clock_set_res(mach_port_t clock_serv, clock_res_t res);
extern kern_return_t clock_sleep(mach_port_t clock_serv, int sleep_type,
    mach_timespec_t sleep_time, mach_timespec_t *wake_time);

__END_DECLS

#endif /* _MACH_H_ */
