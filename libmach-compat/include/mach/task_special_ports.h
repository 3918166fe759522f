/*
 * mach/task_special_ports.h - selectors for task_get/set_special_port.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_TASK_SPECIAL_PORTS_H_
#define _MACH_TASK_SPECIAL_PORTS_H_

typedef int task_special_port_t;

#define TASK_KERNEL_PORT            1   /* task control port */
#define TASK_HOST_PORT              2   /* host (priv) port */
#define TASK_NAME_PORT              3   /* task name port */
#define TASK_BOOTSTRAP_PORT         4   /* bootstrap server */
#define TASK_INSPECT_PORT           5
#define TASK_READ_PORT              6
/* 7 (seatbelt) and 8 (gssd) are retired. */
#define TASK_ACCESS_PORT            9   /* task_for_pid permission checks */
#define TASK_DEBUG_CONTROL_PORT     10
#define TASK_RESOURCE_NOTIFY_PORT   11

#define TASK_MAX_SPECIAL_PORT       TASK_RESOURCE_NOTIFY_PORT

#define task_get_kernel_port(task, port) \
	(task_get_special_port((task), TASK_KERNEL_PORT, (port)))
#define task_set_kernel_port(task, port) \
	(task_set_special_port((task), TASK_KERNEL_PORT, (port)))
#define task_get_host_port(task, port) \
	(task_get_special_port((task), TASK_HOST_PORT, (port)))
#define task_set_host_port(task, port) \
	(task_set_special_port((task), TASK_HOST_PORT, (port)))
#define task_get_bootstrap_port(task, port) \
	(task_get_special_port((task), TASK_BOOTSTRAP_PORT, (port)))
#define task_set_bootstrap_port(task, port) \
	(task_set_special_port((task), TASK_BOOTSTRAP_PORT, (port)))
#define task_get_debug_control_port(task, port) \
	(task_get_special_port((task), TASK_DEBUG_CONTROL_PORT, (port)))
#define task_set_task_debug_control_port(task, port) \
	(task_set_special_port((task), TASK_DEBUG_CONTROL_PORT, (port)))
#define task_get_task_access_port(task, port) \
	(task_get_special_port((task), TASK_ACCESS_PORT, (port)))
#define task_set_task_access_port(task, port) \
	(task_set_special_port((task), TASK_ACCESS_PORT, (port)))

#endif /* _MACH_TASK_SPECIAL_PORTS_H_ */
