/*
 * mach/mach_interface.h - all MIG user interfaces provided here.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_INTERFACE_H_
#define _MACH_INTERFACE_H_

#include <mach/clock.h>
#include <mach/mach_host.h>
#include <mach/mach_port.h>
#include <mach/semaphore.h>
#include <mach/task.h>
#include <mach/thread_act.h>
#include <mach/vm_map.h>

#endif /* _MACH_INTERFACE_H_ */
