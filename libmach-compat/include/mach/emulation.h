/*
 * mach/emulation.h - system call redirection, Mach 3's "emulation library"
 * interface, on Linux (machd's; not on macOS).
 *
 * A task's emulation vector maps system call numbers to what a call enters:
 *
 *   EML_ROUTINE_NULL     the kernel (Linux) runs it: the call is not redirected
 *   EML_ROUTINE_SERVER   the task's emulation server: the call becomes an
 *                        emulation_syscall request (servers/emulation.defs)
 *                        sent from the calling thread; its reply's result is
 *                        what the call returns
 *   an address           an emulation routine in the task
 *                        (mach_emulation_routine_t), run on the calling thread
 *
 * Numbers are Linux x86_64 system call numbers (<sys/syscall.h>'s SYS_*),
 * 0 .. EML_VECTOR_SIZE - 1.  Every `syscall` instruction of the task is
 * caught, in every thread (those created later too), whatever code makes
 * it: libc, the vDSO's fallbacks, code generated at run time.  Calls that
 * are not redirected cost nothing (a seccomp filter the kernel resolves
 * without running it); a redirected call costs one SIGSYS.  libmach-compat's
 * own system calls are never redirected.
 *
 * The Mach calls (<mach/task.h>, served by machd on a task's control port,
 * so a task may set another's):
 *   task_set_emulation(task, routine_entry_pt, routine_number)
 *   task_set_emulation_vector(task, vector_start, vector, count)
 *   task_get_emulation_vector(task, &vector_start, &vector, &count)
 *   task_set_emulation_server / task_get_emulation_server (below)
 * A setter returns once the target task installed the change.  Errors:
 * KERN_INVALID_ARGUMENT (a number out of range, an address in page zero or
 * above user space, or a call that cannot be redirected: rt_sigreturn,
 * rt_sigprocmask, sigaltstack, clone, clone3, vfork), KERN_NOT_SUPPORTED
 * (the task cannot filter system calls: seccomp is not available to it).
 *
 * Across fork: the child has its parent's vector and server (Mach's
 * task_create inherited the emulation vector).  Across exec: the calls sent
 * to the server stay redirected to it; routines are gone with the old
 * program's memory, and their calls become native.  Linux keeps the filter
 * across execve and the new program's redirections start working once
 * libmach-compat is loaded in it: a call the dynamic loader makes before
 * that, to a redirected number, kills the process (SIGSYS).  Redirecting a
 * task also sets its no_new_privs bit (set-user-ID programs exec without
 * privileges).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_EMULATION_H_
#define _MACH_EMULATION_H_

#include <mach/_cdefs.h>
#include <mach/kern_return.h>
#include <mach/mach_types.h>
#include <mach/message.h>
#include <mach/task_emulation.h>
#include <stdint.h>
#include <sys/types.h>

__BEGIN_DECLS

#define EML_ROUTINE_NULL   ((vm_address_t)0)
#define EML_ROUTINE_SERVER ((vm_address_t)1)
#define EML_VECTOR_SIZE    512

/* The arguments of a system call in an emulation_syscall request. */
typedef int64_t emulation_args_t[6];

/* One redirected system call, as an emulation routine sees it. */
typedef struct mach_emulation_call {
    int      number;     /* the system call number */
    int      thread_id;  /* the calling thread's Linux tid */
    int64_t  args[6];    /* rdi, rsi, rdx, r10, r8, r9 */
    void    *context;    /* the thread's ucontext_t at the call: a routine may
                            change it (registers other than rax); rax gets the
                            routine's result */
} mach_emulation_call_t;

/* An emulation routine: returns what the system call returns (>= 0, or
 * -errno).  It runs on the calling thread inside a SIGSYS handler: system
 * calls it makes (with mach_emulation_native or through libc) are never
 * redirected. */
typedef int64_t (*mach_emulation_routine_t)(mach_emulation_call_t *call);

/* The system call `number`, run by Linux whatever the vector says;
 * returns its raw result (>= 0, or -errno). */
extern int64_t mach_emulation_native(long number, long a0, long a1, long a2, long a3, long a4, long a5);

/* Sets entries numbers[0 .. count-1] of `task`'s vector to `routine` (an
 * address in that task, EML_ROUTINE_SERVER or EML_ROUTINE_NULL), leaving
 * the others as they are.  Errors as task_set_emulation_vector's. */
extern kern_return_t mach_emulation_set(task_t task, const int *numbers, unsigned count, vm_address_t routine);

/* Sends numbers[0 .. count-1] of `task` to the emulation server `server`
 * (which becomes the task's server: a send right is copied). */
extern kern_return_t mach_emulation_set_server(task_t task, const int *numbers, unsigned count,
                                               mach_port_t server);

/* ---- writing an emulation server ---------------------------------------- */

/* One request: the system call `number` with `args`, made by thread `tid`
 * of process `pid` (from the request's audit token: the kernel's word).
 * Returns what the call returns (>= 0, or -errno).  The caller's memory is
 * reached through its task (task_for_pid(pid), mach_vm_read_overwrite,
 * mach_vm_write). */
typedef int64_t (*mach_emulation_handler_t)(void *ctx, pid_t pid, int tid, int number, const int64_t args[6]);

/* Serves requests arriving on `port` (a receive right or a port set) with
 * `handler` until receiving fails; returns that error. */
extern mach_msg_return_t mach_emulation_serve(mach_port_t port, mach_emulation_handler_t handler, void *ctx);

__END_DECLS

#endif /* _MACH_EMULATION_H_ */
