/*
 * mach/mach_param.h - fixed limits of the Mach interface.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MACH_PARAM_H_
#define _MACH_MACH_PARAM_H_

/* Ports a task can stash with mach_ports_register(). */
#define TASK_PORT_REGISTER_MAX 3

#endif /* _MACH_MACH_PARAM_H_ */
