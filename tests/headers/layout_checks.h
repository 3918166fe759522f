/*
 * Compile-time checks of the libmach-compat public ABI against macOS
 * x86_64 user space (XNU osfmk/mach headers).  Shared by the C and C++
 * checkers; any wrong size, offset or value fails the build.
 * SPDX-License-Identifier: MIT
 */
#ifndef MACH_HEADERS_LAYOUT_CHECKS_H
#define MACH_HEADERS_LAYOUT_CHECKS_H

#include <stddef.h>
#include "all_headers.h"

#ifdef __cplusplus
#define CHECK(expr) static_assert(expr, #expr)
#define ALIGNOF(type) alignof(type)
#else
#define CHECK(expr) _Static_assert(expr, #expr)
#define ALIGNOF(type) _Alignof(type)
#endif
#define SIZE(type, n)          CHECK(sizeof(type) == (n))
#define OFF(type, field, n)    CHECK(offsetof(type, field) == (n))

/* ---- scalar widths ---------------------------------------------------- */
SIZE(natural_t, 4);
SIZE(integer_t, 4);
SIZE(boolean_t, 4);
SIZE(kern_return_t, 4);
SIZE(mach_port_name_t, 4);
SIZE(mach_port_t, 4);
SIZE(mach_msg_bits_t, 4);
SIZE(mach_msg_size_t, 4);
SIZE(mach_msg_id_t, 4);
SIZE(mach_msg_option_t, 4);
SIZE(mach_msg_timeout_t, 4);
SIZE(mach_msg_type_number_t, 4);
SIZE(vm_offset_t, 8);
SIZE(vm_size_t, 8);
SIZE(vm_address_t, 8);
SIZE(mach_vm_address_t, 8);
SIZE(mach_vm_size_t, 8);
SIZE(mach_vm_offset_t, 8);
SIZE(mach_port_context_t, 8);
SIZE(memory_object_offset_t, 8);
SIZE(memory_object_size_t, 8);
SIZE(memory_object_cluster_size_t, 4);
SIZE(memory_object_fault_info_t, 8);
SIZE(memory_object_t, 4);
SIZE(memory_object_control_t, 4);
SIZE(memory_object_name_t, 4);
SIZE(memory_object_copy_strategy_t, 4);
SIZE(memory_object_return_t, 4);
SIZE(task_t, 4);
SIZE(semaphore_t, 4);
SIZE(vm_prot_t, 4);
SIZE(vm_inherit_t, 4);
SIZE(mach_exception_data_type_t, 8);
SIZE(exception_data_type_t, 4);
SIZE(name_t, 128);
SIZE(cmd_t, 512);

/* ---- message header and body ------------------------------------------ */
SIZE(mach_msg_header_t, 24);
OFF(mach_msg_header_t, msgh_bits, 0);
OFF(mach_msg_header_t, msgh_size, 4);
OFF(mach_msg_header_t, msgh_remote_port, 8);
OFF(mach_msg_header_t, msgh_local_port, 12);
OFF(mach_msg_header_t, msgh_voucher_port, 16);
OFF(mach_msg_header_t, msgh_id, 20);
SIZE(mach_msg_body_t, 4);
SIZE(mach_msg_base_t, 28);
OFF(mach_msg_base_t, body, 24);

/* ---- descriptors (LP64 user forms) ------------------------------------ */
SIZE(mach_msg_type_descriptor_t, 12);
SIZE(mach_msg_port_descriptor_t, 12);
OFF(mach_msg_port_descriptor_t, name, 0);
OFF(mach_msg_port_descriptor_t, pad1, 4);
SIZE(mach_msg_ool_descriptor_t, 16);
OFF(mach_msg_ool_descriptor_t, address, 0);
OFF(mach_msg_ool_descriptor_t, size, 12);
SIZE(mach_msg_ool_descriptor32_t, 12);
OFF(mach_msg_ool_descriptor32_t, size, 4);
SIZE(mach_msg_ool_descriptor64_t, 16);
OFF(mach_msg_ool_descriptor64_t, size, 12);
SIZE(mach_msg_ool_ports_descriptor_t, 16);
OFF(mach_msg_ool_ports_descriptor_t, count, 12);
SIZE(mach_msg_ool_ports_descriptor32_t, 12);
OFF(mach_msg_ool_ports_descriptor32_t, count, 4);
SIZE(mach_msg_ool_ports_descriptor64_t, 16);
SIZE(mach_msg_guarded_port_descriptor_t, 16);
OFF(mach_msg_guarded_port_descriptor_t, context, 0);
OFF(mach_msg_guarded_port_descriptor_t, name, 12);
SIZE(mach_msg_guarded_port_descriptor32_t, 12);
SIZE(mach_msg_guarded_port_descriptor64_t, 16);
OFF(mach_msg_guarded_port_descriptor64_t, name, 12);
SIZE(mach_msg_descriptor_t, 16);
CHECK(ALIGNOF(mach_msg_ool_descriptor_t) == 4);   /* #pragma pack(4) */
CHECK(ALIGNOF(mach_msg_guarded_port_descriptor_t) == 4);
CHECK(ALIGNOF(mach_msg_max_trailer_t) == 4);

/* ---- trailers --------------------------------------------------------- */
SIZE(mach_msg_trailer_t, 8);
SIZE(mach_msg_seqno_trailer_t, 12);
SIZE(security_token_t, 8);
SIZE(mach_msg_security_trailer_t, 20);
SIZE(mach_msg_format_0_trailer_t, 20);
SIZE(audit_token_t, 32);
SIZE(mach_msg_audit_trailer_t, 52);
SIZE(mach_msg_context_trailer_t, 60);
SIZE(mach_msg_mac_trailer_t, 68);
SIZE(mach_msg_max_trailer_t, 68);
CHECK(MAX_TRAILER_SIZE == 68);
OFF(mach_msg_max_trailer_t, msgh_seqno, 8);
OFF(mach_msg_max_trailer_t, msgh_sender, 12);
OFF(mach_msg_max_trailer_t, msgh_audit, 20);
OFF(mach_msg_max_trailer_t, msgh_context, 52);
OFF(mach_msg_max_trailer_t, msgh_ad, 60);
OFF(mach_msg_max_trailer_t, msgh_labels, 64);
SIZE(mach_msg_empty_send_t, 24);
SIZE(mach_msg_empty_rcv_t, 32);
SIZE(mach_msg_empty_t, 32);
CHECK(REQUESTED_TRAILER_SIZE(0) == 8);
CHECK(REQUESTED_TRAILER_SIZE(MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_SEQNO)) == 12);
CHECK(REQUESTED_TRAILER_SIZE(MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_SENDER)) == 20);
CHECK(REQUESTED_TRAILER_SIZE(MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT)) == 52);
CHECK(REQUESTED_TRAILER_SIZE(MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_CTX)) == 60);
CHECK(REQUESTED_TRAILER_SIZE(MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AV)) == 68);
CHECK(REQUESTED_TRAILER_SIZE(MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_LABELS)) == 68);
CHECK((MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) |
       MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT)) == 0x03000000);

/* ---- NDR / MIG -------------------------------------------------------- */
SIZE(NDR_record_t, 8);
OFF(NDR_record_t, int_rep, 4);
SIZE(mig_reply_error_t, 36);
OFF(mig_reply_error_t, NDR, 24);
OFF(mig_reply_error_t, RetCode, 32);
SIZE(struct routine_descriptor, 40);
OFF(struct mig_subsystem, start, 8);
OFF(struct mig_subsystem, maxsize, 16);
OFF(struct mig_subsystem, reserved, 24);
OFF(struct mig_subsystem, routine, 32);

/* ---- notifications: request part matches mig-layouts.json (notify) ----
 * port_deleted 65 / no_senders 70 / dead_name 72: 36 bytes, field at 32;
 * port_destroyed 69: 40 bytes, body at 24, descriptor at 28;
 * send_once 71: 24 bytes.  The trailer follows the request part. */
SIZE(mach_port_deleted_notification_t, 56);
OFF(mach_port_deleted_notification_t, NDR, 24);
OFF(mach_port_deleted_notification_t, not_port, 32);
OFF(mach_port_deleted_notification_t, trailer, 36);
SIZE(mach_send_possible_notification_t, 56);
OFF(mach_send_possible_notification_t, not_port, 32);
SIZE(mach_port_destroyed_notification_t, 60);
OFF(mach_port_destroyed_notification_t, not_body, 24);
OFF(mach_port_destroyed_notification_t, not_port, 28);
OFF(mach_port_destroyed_notification_t, trailer, 40);
SIZE(mach_no_senders_notification_t, 56);
OFF(mach_no_senders_notification_t, not_count, 32);
OFF(mach_no_senders_notification_t, trailer, 36);
SIZE(mach_send_once_notification_t, 44);
OFF(mach_send_once_notification_t, trailer, 24);
SIZE(mach_dead_name_notification_t, 56);
OFF(mach_dead_name_notification_t, NDR, 24);
OFF(mach_dead_name_notification_t, not_port, 32);
OFF(mach_dead_name_notification_t, trailer, 36);
CHECK(MACH_NOTIFY_FIRST == 64);
CHECK(MACH_NOTIFY_PORT_DELETED == 65);
CHECK(MACH_NOTIFY_SEND_POSSIBLE == 66);
CHECK(MACH_NOTIFY_PORT_DESTROYED == 69);
CHECK(MACH_NOTIFY_NO_SENDERS == 70);
CHECK(MACH_NOTIFY_SEND_ONCE == 71);
CHECK(MACH_NOTIFY_DEAD_NAME == 72);
CHECK(MACH_NOTIFY_LAST == 77);

/* ---- port attributes -------------------------------------------------- */
SIZE(mach_port_status_t, 40);
OFF(mach_port_status_t, mps_qlimit, 12);
OFF(mach_port_status_t, mps_flags, 36);
SIZE(mach_port_limits_t, 4);
SIZE(mach_port_info_ext_t, 68);
SIZE(mach_port_guard_info_t, 8);
SIZE(mach_port_qos_t, 8);
SIZE(mach_port_options_t, 24);
OFF(mach_port_options_t, mpl, 4);
OFF(mach_port_options_t, reserved, 8);
SIZE(mach_service_port_info_data_t, 256);
CHECK(MACH_PORT_LIMITS_INFO_COUNT == 1);
CHECK(MACH_PORT_RECEIVE_STATUS_COUNT == 10);
CHECK(MACH_PORT_INFO_EXT_COUNT == 17);
CHECK(MACH_PORT_GUARD_INFO_COUNT == 2);

/* ---- time, thread state, info records ---------------------------------- */
SIZE(mach_timespec_t, 8);
SIZE(time_value_t, 8);
SIZE(mach_timebase_info_data_t, 8);
CHECK(THREAD_STATE_MAX == 1296);   /* mig-layouts.json: thread_state_t is natural_t[1296] */
SIZE(thread_state_data_t, 1296 * 4);
SIZE(struct vm_region_basic_info_64, 36);
CHECK(VM_REGION_BASIC_INFO_COUNT_64 == 9);
SIZE(vm_region_extended_info_data_t, 36);
CHECK(VM_REGION_EXTENDED_INFO == 13 && VM_REGION_EXTENDED_INFO_COUNT == 9);
OFF(vm_region_extended_info_data_t, share_mode, 31);
OFF(vm_region_extended_info_data_t, pages_reusable, 32);
SIZE(vm_region_top_info_data_t, 20);
CHECK(VM_REGION_TOP_INFO == 12 && VM_REGION_TOP_INFO_COUNT == 5);
SIZE(vm_region_submap_info_data_t, 60);
CHECK(VM_REGION_SUBMAP_INFO_COUNT == 15);
SIZE(vm_region_submap_info_data_64_t, 76);
OFF(vm_region_submap_info_data_64_t, offset, 12);
OFF(vm_region_submap_info_data_64_t, is_submap, 48);
OFF(vm_region_submap_info_data_64_t, object_id_full, 68);
CHECK(VM_REGION_SUBMAP_INFO_COUNT_64 == 19);
CHECK(VM_REGION_SUBMAP_INFO_V1_COUNT_64 == 17 && VM_REGION_SUBMAP_INFO_V0_COUNT_64 == 16);
SIZE(vm_region_submap_short_info_data_64_t, 48);
CHECK(VM_REGION_SUBMAP_SHORT_INFO_COUNT_64 == 12);
CHECK(SM_COW == 1 && SM_PRIVATE == 2 && SM_EMPTY == 3 && SM_SHARED == 4);
CHECK(SM_TRUESHARED == 5 && SM_PRIVATE_ALIASED == 6 && SM_SHARED_ALIASED == 7);
CHECK(SM_LARGE_PAGE == 8);
CHECK(VM_FLAGS_USER_REMAP == 0x104069);
CHECK(VM_FLAGS_USER_MAP == 0xff97509fu);
CHECK(PAGE_SIZE == 4096 && PAGE_SHIFT == 12 && PAGE_MASK == 4095);
CHECK(PAGE_MAX_SIZE == 16384 && PAGE_MIN_SIZE == 4096);
SIZE(mk_timer_expire_msg_t, 48);
CHECK(MK_TIMER_NORMAL == 0 && MK_TIMER_CRITICAL == 1);
SIZE(struct vm_region_basic_info, 32);
CHECK(VM_REGION_BASIC_INFO_COUNT == 8);
SIZE(struct mach_task_basic_info, 48);
CHECK(MACH_TASK_BASIC_INFO_COUNT == 12);
CHECK(TASK_BASIC_INFO_64_COUNT == 10);
CHECK(THREAD_BASIC_INFO_COUNT == 10);
CHECK(THREAD_IDENTIFIER_INFO_COUNT == 6);
SIZE(struct host_basic_info, 48);
CHECK(HOST_BASIC_INFO_COUNT == 12);
SIZE(struct host_priority_info, 32);
CHECK(HOST_PRIORITY_INFO_COUNT == 8);
SIZE(struct host_load_info, 24);
CHECK(HOST_LOAD_INFO_COUNT == 6);
CHECK(LOAD_SCALE == 1000);
CHECK(HOST_VM_INFO_REV0_COUNT == 12 && HOST_VM_INFO_REV1_COUNT == 14 && HOST_VM_INFO_REV2_COUNT == 15);
CHECK(HOST_VM_INFO_COUNT == 15);
SIZE(struct vm_statistics64, 152);
CHECK(ALIGNOF(struct vm_statistics64) == 8);
OFF(struct vm_statistics64, zero_fill_count, 16);
OFF(struct vm_statistics64, purges, 80);
OFF(struct vm_statistics64, purgeable_count, 88);
OFF(struct vm_statistics64, speculative_count, 92);
OFF(struct vm_statistics64, decompressions, 96);
OFF(struct vm_statistics64, compressor_page_count, 128);
OFF(struct vm_statistics64, internal_page_count, 140);
OFF(struct vm_statistics64, total_uncompressed_pages_in_compressor, 144);
CHECK(HOST_VM_INFO64_COUNT == 38 && HOST_VM_INFO64_REV1_COUNT == 38 && HOST_VM_INFO64_REV0_COUNT == 24);
SIZE(struct vm_extmod_statistics, 48);
SIZE(struct processor_set_basic_info, 8);
CHECK(PROCESSOR_SET_BASIC_INFO == 5 && PROCESSOR_SET_BASIC_INFO_COUNT == 2);
SIZE(struct processor_set_load_info, 16);
CHECK(PROCESSOR_SET_LOAD_INFO == 4 && PROCESSOR_SET_LOAD_INFO_COUNT == 4);
CHECK(HOST_EXTMOD_INFO64_COUNT == 12);
CHECK(HOST_CPU_LOAD_INFO_COUNT == 4);
CHECK(MEMORY_OBJECT_ATTR_INFO_COUNT == 4);
SIZE(struct vm_page_info_basic, 32);
CHECK(VM_PAGE_INFO_BASIC_COUNT == 8);
SIZE(exception_handler_info_t, 8);          /* mig-layouts.json: [32] is 256 bytes */
SIZE(dyld_kernel_image_info_t, 40);         /* mig-layouts.json */
SIZE(dyld_kernel_process_info_t, 72);       /* mig-layouts.json */
SIZE(task_purgable_info_t, 272);            /* mig-layouts.json */
SIZE(mach_vm_range_flavor_t, 4);
SIZE(mach_voucher_selector_t, 4);
SIZE(mach_voucher_attr_value_handle_t, 8);
SIZE(mach_voucher_attr_recipe_data_t, 16);   /* packed: content follows at 16 */
OFF(mach_voucher_attr_recipe_data_t, previous_voucher, 8);
OFF(mach_voucher_attr_recipe_data_t, content_size, 12);
CHECK(MACH_VOUCHER_ATTR_USER_DATA_STORE == 211 && MACH_VOUCHER_ATTR_IMPORTANCE_SELF == 200);
CHECK(MACH_VOUCHER_ATTR_REDEEM == 10 && MACH_VOUCHER_ATTR_SEND_PREPROCESS == 5);
SIZE(struct proc_persona_info, 48);
OFF(struct proc_persona_info, macho_uuid, 32);
SIZE(struct persona_token, 96);
SIZE(struct persona_modify_info, 16);
CHECK(MACH_VOUCHER_ATTR_BANK_CREATE == 610 && BANK_ORIGINATOR_PROXIMATE_PID == 5);
SIZE(struct thread_time_constraint_policy, 16);
CHECK(THREAD_TIME_CONSTRAINT_POLICY_COUNT == 4);
CHECK(PROCESSOR_CPU_LOAD_INFO_COUNT == 4);
CHECK(TASK_FLAVOR_NAME == 3 && THREAD_FLAVOR_INSPECT == 2);
CHECK(VM_PURGABLE_PURGE_ALL == 2);

/* ---- constant values (XNU) --------------------------------------------- */
CHECK(KERN_SUCCESS == 0);
CHECK(KERN_INVALID_ADDRESS == 1);
CHECK(KERN_NO_SPACE == 3);
CHECK(KERN_INVALID_ARGUMENT == 4);
CHECK(KERN_FAILURE == 5);
CHECK(KERN_NOT_RECEIVER == 7);
CHECK(KERN_NOT_IN_SET == 12);
CHECK(KERN_NAME_EXISTS == 13);
CHECK(KERN_ABORTED == 14);
CHECK(KERN_INVALID_NAME == 15);
CHECK(KERN_INVALID_TASK == 16);
CHECK(KERN_INVALID_RIGHT == 17);
CHECK(KERN_INVALID_VALUE == 18);
CHECK(KERN_UREFS_OVERFLOW == 19);
CHECK(KERN_INVALID_CAPABILITY == 20);
CHECK(KERN_RIGHT_EXISTS == 21);
CHECK(KERN_TERMINATED == 37);
CHECK(KERN_SEMAPHORE_DESTROYED == 42);
CHECK(KERN_NOT_SUPPORTED == 46);
CHECK(KERN_OPERATION_TIMED_OUT == 49);
CHECK(KERN_INVALID_KC == 55);
CHECK(KERN_NOT_FOUND == 56);
CHECK(KERN_RETURN_MAX == 0x100);

CHECK(MACH_PORT_NULL == 0);
CHECK(MACH_PORT_DEAD == 0xffffffffu);
CHECK(MACH_PORT_TYPE_SEND == 0x10000);
CHECK(MACH_PORT_TYPE_RECEIVE == 0x20000);
CHECK(MACH_PORT_TYPE_SEND_ONCE == 0x40000);
CHECK(MACH_PORT_TYPE_PORT_SET == 0x80000);
CHECK(MACH_PORT_TYPE_DEAD_NAME == 0x100000);
CHECK(MACH_PORT_TYPE_DNREQUEST == 0x80000000u);
CHECK(MACH_PORT_MAKE(5u, MACH_PORT_GEN(3u)) == 0x503u);
CHECK(MACH_PORT_INDEX(0x503u) == 5u);
CHECK(MACH_PORT_QLIMIT_DEFAULT == 5);
CHECK(MACH_PORT_QLIMIT_LARGE == 1024);
CHECK(MACH_PORT_QLIMIT_KERNEL == 65534);
CHECK(MPO_INSERT_SEND_RIGHT == 0x10);
CHECK(MPO_IMMOVABLE_RECEIVE == 0x80);

CHECK(MACH_MSG_TYPE_PORT_NAME == 15);
CHECK(MACH_MSG_TYPE_MOVE_RECEIVE == 16);
CHECK(MACH_MSG_TYPE_MOVE_SEND == 17);
CHECK(MACH_MSG_TYPE_MOVE_SEND_ONCE == 18);
CHECK(MACH_MSG_TYPE_COPY_SEND == 19);
CHECK(MACH_MSG_TYPE_MAKE_SEND == 20);
CHECK(MACH_MSG_TYPE_MAKE_SEND_ONCE == 21);
CHECK(MACH_MSG_TYPE_COPY_RECEIVE == 22);
CHECK(MACH_MSG_TYPE_DISPOSE_RECEIVE == 24);
CHECK(MACH_MSG_TYPE_DISPOSE_SEND_ONCE == 26);
CHECK(MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE) == 0x1513);
CHECK(MACH_MSGH_BITS_SET(19, 21, 17, MACH_MSGH_BITS_COMPLEX) == 0x80111513u);
CHECK(MACH_MSGH_BITS_COMPLEX == 0x80000000u);
CHECK(MACH_MSG_OOL_VOLATILE_DESCRIPTOR == 3);
CHECK(MACH_MSG_GUARDED_PORT_DESCRIPTOR == 4);
CHECK(MACH_MSG_ALLOCATE == 2);

CHECK(MACH_SEND_MSG == 1 && MACH_RCV_MSG == 2 && MACH_RCV_LARGE == 4);
CHECK(MACH_SEND_TIMEOUT == 0x10 && MACH_RCV_TIMEOUT == 0x100);
CHECK(MACH_SEND_INTERRUPT == 0x40 && MACH_RCV_INTERRUPT == 0x400);
CHECK(MACH_SEND_NOTIFY == 0x80);
CHECK(MACH_MSG_STRICT_REPLY == 0x200);
CHECK(MACH_RCV_VOUCHER == 0x800 && MACH_RCV_GUARDED_DESC == 0x1000);
CHECK(MACH_SEND_TRAILER == 0x20000);
CHECK(MACH_SEND_SYNC_BOOTSTRAP_CHECKIN == 0x800000);

CHECK(MACH_SEND_INVALID_DATA == 0x10000002);
CHECK(MACH_SEND_INVALID_DEST == 0x10000003);
CHECK(MACH_SEND_TIMED_OUT == 0x10000004);
CHECK(MACH_SEND_INTERRUPTED == 0x10000007);
CHECK(MACH_SEND_MSG_TOO_SMALL == 0x10000008);
CHECK(MACH_SEND_INVALID_REPLY == 0x10000009);
CHECK(MACH_SEND_INVALID_RIGHT == 0x1000000a);
CHECK(MACH_SEND_INVALID_MEMORY == 0x1000000c);
CHECK(MACH_SEND_TOO_LARGE == 0x1000000e);
CHECK(MACH_SEND_INVALID_TYPE == 0x1000000f);
CHECK(MACH_SEND_INVALID_HEADER == 0x10000010);
CHECK(MACH_SEND_INVALID_OPTIONS == 0x10000013);
CHECK(MACH_SEND_MSG_FILTERED == 0x10000017);
CHECK(MACH_RCV_INVALID_NAME == 0x10004002);
CHECK(MACH_RCV_TIMED_OUT == 0x10004003);
CHECK(MACH_RCV_TOO_LARGE == 0x10004004);
CHECK(MACH_RCV_INTERRUPTED == 0x10004005);
CHECK(MACH_RCV_PORT_CHANGED == 0x10004006);
CHECK(MACH_RCV_PORT_DIED == 0x10004009);
CHECK(MACH_RCV_HEADER_ERROR == 0x1000400b);
CHECK(MACH_RCV_BODY_ERROR == 0x1000400c);
CHECK(MACH_RCV_INVALID_TRAILER == 0x1000400f);
CHECK(MACH_RCV_INVALID_REPLY == 0x10004012);
CHECK(MACH_MSG_IPC_SPACE == 0x2000 && MACH_MSG_VM_SPACE == 0x1000);
CHECK(MACH_MSG_IPC_KERNEL == 0x800 && MACH_MSG_VM_KERNEL == 0x400);
CHECK(err_get_system(MACH_RCV_TIMED_OUT) == 4 && err_get_sub(MACH_RCV_TIMED_OUT) == 1);

CHECK(MIG_TYPE_ERROR == -300 && MIG_BAD_ID == -303 && MIG_NO_REPLY == -305);
CHECK(MIG_SERVER_DIED == -308 && MIG_TRAILER_ERROR == -309);

CHECK(TASK_KERNEL_PORT == 1 && TASK_HOST_PORT == 2 && TASK_NAME_PORT == 3);
CHECK(TASK_BOOTSTRAP_PORT == 4 && TASK_ACCESS_PORT == 9);
CHECK(HOST_PORT == 1 && HOST_PRIV_PORT == 2 && HOST_DYNAMIC_PAGER_PORT == 8);
CHECK(EXC_BAD_ACCESS == 1 && EXC_CRASH == 10 && EXC_CORPSE_NOTIFY == 13);
CHECK(EXC_MASK_ALL == 0x1bfe);
CHECK(EXCEPTION_STATE_IDENTITY == 3 && MACH_EXCEPTION_CODES == 0x80000000u);

CHECK(VM_FLAGS_FIXED == 0 && VM_FLAGS_ANYWHERE == 1 && VM_FLAGS_OVERWRITE == 0x4000);
CHECK(VM_PROT_DEFAULT == 3 && VM_PROT_ALL == 7 && VM_PROT_NO_CHANGE == 0x01000000);
CHECK(VM_INHERIT_SHARE == 0 && VM_INHERIT_COPY == 1 && VM_INHERIT_NONE == 2);
CHECK(VM_MAKE_TAG(VM_MEMORY_MALLOC) == 0x01000000);
CHECK(MEMORY_OBJECT_COPY_DELAY == 2 && MEMORY_OBJECT_RETURN_ALL == 2);
/* The values GNU Mach's pager interface shares with XNU. */
CHECK(MEMORY_OBJECT_COPY_NONE == 0 && MEMORY_OBJECT_COPY_CALL == 1 &&
      MEMORY_OBJECT_COPY_TEMPORARY == 3);
CHECK(MEMORY_OBJECT_RETURN_NONE == 0 && MEMORY_OBJECT_RETURN_DIRTY == 1);
CHECK(MEMORY_OBJECT_NULL == 0 && MEMORY_OBJECT_CONTROL_NULL == 0 &&
      MEMORY_OBJECT_NAME_NULL == 0);
CHECK(MEMORY_OBJECT_DATA_FLUSH_ALL == 0x40);
CHECK(SYNC_POLICY_FIFO == 0 && SYNC_POLICY_LIFO == 2);

CHECK(BOOTSTRAP_MAX_NAME_LEN == 128);
CHECK(BOOTSTRAP_NOT_PRIVILEGED == 1100 && BOOTSTRAP_NAME_IN_USE == 1101);
CHECK(BOOTSTRAP_UNKNOWN_SERVICE == 1102 && BOOTSTRAP_SERVICE_ACTIVE == 1103);
CHECK(BOOTSTRAP_BAD_COUNT == 1104 && BOOTSTRAP_NO_MEMORY == 1105);
CHECK(BOOTSTRAP_NO_CHILDREN == 1106);

#include "thread_state_checks.h"

#endif /* MACH_HEADERS_LAYOUT_CHECKS_H */
