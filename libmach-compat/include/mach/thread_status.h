/*
 * mach/thread_status.h - machine-independent thread state types.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_THREAD_STATUS_H_
#define _MACH_THREAD_STATUS_H_

#include <mach/machine/vm_types.h>
#include <mach/message.h>
#include <mach/machine/thread_status.h>

typedef natural_t *thread_state_t;                      /* variable-length */
typedef natural_t  thread_state_data_t[THREAD_STATE_MAX];

#define THREAD_STATE_FLAVOR_LIST        0   /* list of supported flavors */
#define THREAD_STATE_FLAVOR_LIST_NEW    128
#define THREAD_STATE_FLAVOR_LIST_10_9   129
#define THREAD_STATE_FLAVOR_LIST_10_13  130
#define THREAD_STATE_FLAVOR_LIST_10_15  131

typedef int  thread_state_flavor_t;
typedef thread_state_flavor_t *thread_state_flavor_array_t;

#define THREAD_CONVERT_THREAD_STATE_TO_SELF     1
#define THREAD_CONVERT_THREAD_STATE_FROM_SELF   2

#endif /* _MACH_THREAD_STATUS_H_ */
