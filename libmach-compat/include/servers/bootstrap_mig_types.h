/*
 * servers/bootstrap_mig_types.h - the C types of servers/bootstrap.defs
 * that <servers/bootstrap_defs.h> does not declare (launchd kept them in
 * its private headers).  Imported by the code mig generates from
 * bootstrap.defs.
 * SPDX-License-Identifier: MIT
 */
#ifndef _SERVERS_BOOTSTRAP_MIG_TYPES_H_
#define _SERVERS_BOOTSTRAP_MIG_TYPES_H_

#include <sys/types.h>
#include <servers/bootstrap_defs.h>

/* transfer_subset: the pids of the services, out of line. */
typedef pid_t *pid_array_t;

#endif /* _SERVERS_BOOTSTRAP_MIG_TYPES_H_ */
