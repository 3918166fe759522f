/*
 * mach/mach_init.h - per-task Mach state set up at start-up.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_INIT_
#define _MACH_INIT_ 1

#include <stdarg.h>
#include <mach/_cdefs.h>
#include <mach/mach_types.h>
#include <mach/vm_page_size.h>

__BEGIN_DECLS

/* New send right to the host / current thread (caller must deallocate). */
extern mach_port_t mach_host_self(void);
extern mach_port_t mach_thread_self(void);
extern boolean_t   mach_task_is_self(task_name_t task);
extern kern_return_t host_page_size(host_t host, vm_size_t *page_size);

/* This task's own control port; no reference is added by using it. */
extern mach_port_t mach_task_self_;
#define mach_task_self()    mach_task_self_
#define current_task()      mach_task_self()

__END_DECLS

#include <mach/mach_traps.h>

__BEGIN_DECLS

/* Send right to this task's bootstrap server (see servers/bootstrap.h). */
extern mach_port_t bootstrap_port;

/* Number of mach_ports_register() slots used by convention. */
#define MACH_PORTS_SLOTS_USED   3

/* Where libmach-compat's diagnostics go (settable, as on macOS). */
extern int (*vprintf_stderr_func)(const char *format, va_list ap);

__END_DECLS

#endif /* _MACH_INIT_ */
