/*
 * machd/machd_relay_types.h - messages another host's task sent: how their
 * trailers say so (machd_relay.defs; <machd/machd_relay.h> declares the
 * calls).
 *
 * Part of machd (Mach IPC in user space on Linux).
 * SPDX-License-Identifier: MIT
 *
 * A message mach-netmsgd passes on from another host carries the remote
 * sender in its audit token: euid and ruid its uid, egid and rgid its gid,
 * pid its pid on that host, asid MACHD_REMOTE_ASID (no local task has it)
 * and pidversion the host's number, which machd_relay_host_name() turns
 * into the host's name. The security token holds the same uid and gid: a
 * server that grants by uid must check machd_audit_token_is_remote() first
 * if remote users are not to be trusted as local ones.
 */
#ifndef _MACHD_RELAY_TYPES_H_
#define _MACHD_RELAY_TYPES_H_

#include <mach/message.h>
#include <stdint.h>

typedef char machd_host_name_t[80];

#define MACHD_REMOTE_ASID 0x7ffffffeu

/* Nonzero when the message came from a task on another host. */
static inline int machd_audit_token_is_remote(audit_token_t token)
{
	return token.val[6] == MACHD_REMOTE_ASID;
}

/* The sending host's number (machd_relay_host_name), for a remote token. */
static inline uint32_t machd_audit_token_remote_host(audit_token_t token)
{
	return token.val[7];
}

#endif /* _MACHD_RELAY_TYPES_H_ */
