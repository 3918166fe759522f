/*
 * mach/mach_types.h - the Mach object types, as user space sees them.
 *
 * Every kernel object (task, thread, host, semaphore, ...) is named by a
 * port right, so each type here is a mach_port_t.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MACH_TYPES_H_
#define _MACH_MACH_TYPES_H_

#include <stdint.h>
#include <mach/_cdefs.h>
#include <mach/host_special_ports.h>
#include <mach/machine/vm_types.h>
#include <mach/memory_object_types.h>
#include <mach/message.h>
#include <mach/exception_types.h>
#include <mach/port.h>
#include <mach/task_special_ports.h>
#include <mach/thread_special_ports.h>
#include <mach/thread_status.h>
#include <mach/time_value.h>
#include <mach/clock_types.h>
#include <mach/vm_inherit.h>
#include <mach/vm_behavior.h>
#include <mach/vm_prot.h>
#include <mach/vm_statistics.h>
#include <mach/vm_sync.h>
#include <mach/vm_types.h>
#include <mach/std_types.h>
#include <mach/host_info.h>
#include <mach/machine.h>
#include <mach/mach_voucher_types.h>
#include <mach/processor_info.h>
#include <mach/task_info.h>
#include <mach/task_inspect.h>
#include <mach/task_policy.h>
#include <mach/thread_info.h>
#include <mach/thread_policy.h>
#include <mach/vm_attributes.h>
#include <mach/vm_purgable.h>
#include <mach/vm_region.h>
#include <mach/dyld_kernel.h>

typedef mach_port_t task_t;
typedef mach_port_t task_name_t;
typedef mach_port_t task_policy_set_t;
typedef mach_port_t task_policy_get_t;
typedef mach_port_t task_inspect_t;
typedef mach_port_t task_read_t;
typedef mach_port_t task_suspension_token_t;
typedef mach_port_t thread_t;
typedef mach_port_t thread_act_t;
typedef mach_port_t thread_inspect_t;
typedef mach_port_t thread_read_t;
typedef mach_port_t ipc_space_t;
typedef mach_port_t ipc_space_read_t;
typedef mach_port_t ipc_space_inspect_t;
typedef mach_port_t coalition_t;
typedef mach_port_t host_t;
typedef mach_port_t host_priv_t;
typedef mach_port_t host_security_t;
typedef mach_port_t processor_t;
typedef mach_port_t processor_set_t;
typedef mach_port_t processor_set_control_t;
typedef mach_port_t semaphore_t;
typedef mach_port_t lock_set_t;
typedef mach_port_t ledger_t;
typedef mach_port_t alarm_t;
typedef mach_port_t clock_serv_t;
typedef mach_port_t clock_ctrl_t;
typedef mach_port_t arcade_register_t;
typedef mach_port_t ipc_eventlink_t;
typedef mach_port_t eventlink_port_pair_t[2];
typedef mach_port_t suid_cred_t;
typedef mach_port_t task_id_token_t;

typedef processor_set_t processor_set_name_t;

typedef mach_port_t clock_reply_t;
typedef mach_port_t bootstrap_t;
typedef mach_port_t mem_entry_name_port_t;
typedef mach_port_t exception_handler_t;
typedef exception_handler_t *exception_handler_array_t;
typedef mach_port_t vm_task_entry_t;
typedef mach_port_t io_main_t;
typedef mach_port_t io_master_t;
typedef mach_port_t UNDServerRef;
typedef mach_port_t mach_eventlink_t;

typedef task_t          *task_array_t;
typedef thread_t        *thread_array_t;
typedef processor_set_t *processor_set_array_t;
typedef processor_set_t *processor_set_name_array_t;
typedef processor_t     *processor_array_t;
typedef thread_act_t    *thread_act_array_t;
typedef ledger_t        *ledger_array_t;

/* Older spellings. */
typedef task_t                    task_port_t;
typedef task_array_t              task_port_array_t;
typedef thread_t                  thread_port_t;
typedef thread_array_t            thread_port_array_t;
typedef ipc_space_t               ipc_space_port_t;
typedef host_t                    host_name_t;
typedef host_t                    host_name_port_t;
typedef processor_set_t           processor_set_port_t;
typedef processor_set_t           processor_set_name_port_t;
typedef processor_set_array_t     processor_set_name_port_array_t;
typedef processor_set_t           processor_set_control_port_t;
typedef processor_t               processor_port_t;
typedef processor_array_t         processor_port_array_t;
typedef thread_act_t              thread_act_port_t;
typedef thread_act_array_t        thread_act_port_array_t;
typedef semaphore_t               semaphore_port_t;
typedef lock_set_t                lock_set_port_t;
typedef ledger_t                  ledger_port_t;
typedef ledger_array_t            ledger_port_array_t;
typedef alarm_t                   alarm_port_t;
typedef clock_serv_t              clock_serv_port_t;
typedef clock_ctrl_t              clock_ctrl_port_t;
typedef exception_handler_t       exception_port_t;
typedef exception_handler_array_t exception_port_arrary_t;  /* sic */
typedef char vfs_path_t[4096];
typedef char nspace_path_t[1024];
typedef char suid_cred_path_t[1024];

#define TASK_NULL               ((task_t) 0)
#define TASK_NAME_NULL          ((task_name_t) 0)
#define TASK_INSPECT_NULL       ((task_inspect_t) 0)
#define TASK_READ_NULL          ((task_read_t) 0)
#define THREAD_NULL             ((thread_t) 0)
#define THREAD_INSPECT_NULL     ((thread_inspect_t) 0)
#define THREAD_READ_NULL        ((thread_read_t) 0)
#define TID_NULL                ((uint64_t) 0)
#define THR_ACT_NULL            ((thread_act_t) 0)
#define IPC_SPACE_NULL          ((ipc_space_t) 0)
#define IPC_SPACE_READ_NULL     ((ipc_space_read_t) 0)
#define IPC_SPACE_INSPECT_NULL  ((ipc_space_inspect_t) 0)
#define COALITION_NULL          ((coalition_t) 0)
#define HOST_NULL               ((host_t) 0)
#define HOST_PRIV_NULL          ((host_priv_t) 0)
#define HOST_SECURITY_NULL      ((host_security_t) 0)
#define PROCESSOR_SET_NULL      ((processor_set_t) 0)
#define PROCESSOR_NULL          ((processor_t) 0)
#define SEMAPHORE_NULL          ((semaphore_t) 0)
#define LOCK_SET_NULL           ((lock_set_t) 0)
#define LEDGER_NULL             ((ledger_t) 0)
#define ALARM_NULL              ((alarm_t) 0)
#define CLOCK_NULL              ((clock_serv_t) 0)
#define UND_SERVER_NULL         ((UNDServerRef) 0)
#define ARCADE_REG_NULL         ((arcade_register_t) 0)
#define MACH_EVENTLINK_NULL     ((mach_eventlink_t) 0)
#define IPC_EVENTLINK_NULL      ((ipc_eventlink_t) 0)
#define TASK_ID_TOKEN_NULL      ((task_id_token_t) 0)

typedef mach_port_t kcdata_object_t;
#define KCDATA_OBJECT_NULL      ((kcdata_object_t) 0)

/* Which kind of task / thread port to return (task_get_special_port_from_user & co.). */
typedef natural_t mach_task_flavor_t;
#define TASK_FLAVOR_CONTROL     0   /* task_t */
#define TASK_FLAVOR_READ        1   /* task_read_t */
#define TASK_FLAVOR_INSPECT     2   /* task_inspect_t */
#define TASK_FLAVOR_NAME        3   /* task_name_t */
#define TASK_FLAVOR_MAX         TASK_FLAVOR_NAME

typedef natural_t mach_thread_flavor_t;
#define THREAD_FLAVOR_CONTROL   0
#define THREAD_FLAVOR_READ      1
#define THREAD_FLAVOR_INSPECT   2
#define THREAD_FLAVOR_MAX       THREAD_FLAVOR_INSPECT

typedef natural_t ledger_item_t;
#define LEDGER_ITEM_INFINITY    ((ledger_item_t) (~0))

typedef int64_t ledger_amount_t;
#define LEDGER_LIMIT_INFINITY   ((ledger_amount_t)((1ULL << 63) - 1))

typedef mach_vm_offset_t *emulation_vector_t;
typedef char             *user_subsystem_t;
typedef char             *labelstr_t;

#endif /* _MACH_MACH_TYPES_H_ */
