/*
 * bank/bank_types.h - the bank voucher attribute (MACH_VOUCHER_ATTR_KEY_BANK):
 * its recipe commands, the mach_voucher_attr_command() queries and the
 * structures they answer with. machd's bank is described in
 * machd/kern/README.md (no personas, no ledgers, no entitlements).
 * SPDX-License-Identifier: MIT
 */
#ifndef _BANK_BANK_TYPES_H_
#define _BANK_BANK_TYPES_H_

#include <stdint.h>
#include <mach/mach_types.h>

/* Recipe commands of the bank key. */
#define MACH_VOUCHER_ATTR_BANK_NULL           ((mach_voucher_attr_recipe_command_t) 601)
#define MACH_VOUCHER_ATTR_BANK_CREATE         ((mach_voucher_attr_recipe_command_t) 610)
#define MACH_VOUCHER_ATTR_BANK_MODIFY_PERSONA ((mach_voucher_attr_recipe_command_t) 611)

/* The content buffer a bank value's description needs. */
#define MACH_VOUCHER_BANK_CONTENT_SIZE (500)

/* mach_voucher_attr_command() commands of the bank key. */
typedef uint32_t bank_action_t;
#define BANK_ORIGINATOR_PID           0x1
#define BANK_PERSONA_TOKEN            0x2
#define BANK_PERSONA_ID               0x3
#define BANK_PERSONA_ADOPT_ANY        0x4
#define BANK_ORIGINATOR_PROXIMATE_PID 0x5

#define PROC_PERSONA_INFO_FLAG_ADOPTION_ALLOWED 0x1

/* Who a process is, as BANK_PERSONA_TOKEN reports it. */
struct proc_persona_info {
	uint64_t unique_pid;
	int32_t  pid;
	uint32_t flags;
	uint32_t pidversion;
	uint32_t persona_id;
	uint32_t uid;
	uint32_t gid;
	uint8_t  macho_uuid[16];
};

/* BANK_PERSONA_TOKEN's answer: who started the work and who passed it on. */
struct persona_token {
	struct proc_persona_info originator;
	struct proc_persona_info proximate;
};

/* MACH_VOUCHER_ATTR_BANK_MODIFY_PERSONA's content. */
struct persona_modify_info {
	uint32_t persona_id;
	uint64_t unique_pid;
};

#endif /* _BANK_BANK_TYPES_H_ */
