/*
 * servers/bootstrap.h - the bootstrap server: a per-session registry
 * mapping service names to send rights.
 *
 * A server calls bootstrap_check_in() to receive the receive right for
 * its name; clients call bootstrap_look_up() to get a send right.
 * Every call returns BOOTSTRAP_* or a kern_return_t / mach_msg_return_t.
 * SPDX-License-Identifier: MIT
 */
#ifndef __BOOTSTRAP_H__
#define __BOOTSTRAP_H__

#include <stdbool.h>
#include <sys/types.h>
#include <mach/_cdefs.h>
#include <mach/std_types.h>
#include <mach/message.h>
#include <servers/bootstrap_defs.h>

__BEGIN_DECLS

/* The service names below are declared as pointers: the type Apple's
 * name_t (char[128]) parameters have after adjustment, so the API and ABI
 * are the same, but a short string ("com.example.service") is not read as
 * 128 bytes by the compiler's array-parameter checks (gcc's
 * -Wstringop-overread). A name is at most BOOTSTRAP_MAX_NAME_LEN bytes,
 * its terminating NUL included (longer: BOOTSTRAP_BAD_COUNT). */

/* Send right to this task's bootstrap server; set before main(). */
extern mach_port_t bootstrap_port;

/* Declare a server launchd would respawn (deprecated on macOS). */
__MACH_COMPAT_DEPRECATED
kern_return_t bootstrap_create_server(mach_port_t bp, char *server_cmd,
    uid_t server_uid, boolean_t on_demand, mach_port_t *server_port);

/* New subset bootstrap port, alive while requestor_port lives. */
__MACH_COMPAT_DEPRECATED
kern_return_t bootstrap_subset(mach_port_t bp, mach_port_t requestor_port,
    mach_port_t *subset_port);

__MACH_COMPAT_DEPRECATED
kern_return_t bootstrap_unprivileged(mach_port_t bp, mach_port_t *unpriv_port);

kern_return_t bootstrap_parent(mach_port_t bp, mach_port_t *parent_port);

/* Publish sp (a send right the caller keeps) under service_name. */
__MACH_COMPAT_DEPRECATED
kern_return_t bootstrap_register(mach_port_t bp, char *service_name,
    mach_port_t sp);

/* Reserve service_name; *sp gets a send right to the new service port. */
__MACH_COMPAT_DEPRECATED
kern_return_t bootstrap_create_service(mach_port_t bp, char *service_name,
    mach_port_t *sp);

/* Claim the receive right of a declared service. */
kern_return_t bootstrap_check_in(mach_port_t bp, const char *service_name,
    mach_port_t *sp);

/* Send right to the named service, or BOOTSTRAP_UNKNOWN_SERVICE. */
kern_return_t bootstrap_look_up(mach_port_t bp, const char *service_name,
    mach_port_t *sp);

/* BOOTSTRAP_STATUS_* of the named service. */
__MACH_COMPAT_DEPRECATED
kern_return_t bootstrap_status(mach_port_t bp, char *service_name,
    bootstrap_status_t *service_active);

/* Text for a BOOTSTRAP_* code (falls back to mach_error_string). */
const char *bootstrap_strerror(kern_return_t r);

__END_DECLS

#endif /* __BOOTSTRAP_H__ */
