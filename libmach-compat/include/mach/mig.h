/*
 * mach/mig.h - types and helpers used by MIG-generated stubs.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MIG_H_
#define _MACH_MIG_H_

#include <stdint.h>
#include <mach/_cdefs.h>
#include <mach/port.h>
#include <mach/message.h>
#include <mach/vm_types.h>

/* Type checking in generated stubs is on unless the user says otherwise. */
#if !defined(__MigTypeCheck)
#if defined(TypeCheck)
#define __MigTypeCheck TypeCheck
#else
#define __MigTypeCheck 1
#endif
#endif

/* MIG message structs are packed (to 4) for a binary-stable layout. */
#define __MigPackStructs 1

/* Server stub: unpack request, call the implementation, pack the reply. */
typedef void (*mig_stub_routine_t)(mach_msg_header_t *InHeadP,
    mach_msg_header_t *OutHeadP);
typedef mig_stub_routine_t mig_routine_t;

/* Demux: msgh_id -> stub (NULL when the id is not served). */
typedef mig_routine_t (*mig_server_routine_t)(mach_msg_header_t *InHeadP);

/* Implementation routine, stored type-erased in the subsystem table. */
typedef kern_return_t (*mig_impl_routine_t)(void);

typedef mach_msg_type_descriptor_t  routine_arg_descriptor;
typedef mach_msg_type_descriptor_t *routine_arg_descriptor_t;
typedef mach_msg_type_descriptor_t *mig_routine_arg_descriptor_t;

#define MIG_ROUTINE_ARG_DESCRIPTOR_NULL ((mig_routine_arg_descriptor_t) 0)

struct routine_descriptor {
	mig_impl_routine_t       impl_routine;   /* server work function */
	mig_stub_routine_t       stub_routine;   /* unmarshalling stub */
	unsigned int             argc;           /* argument words */
	unsigned int             descr_count;    /* complex descriptors */
	routine_arg_descriptor_t arg_descr;      /* descriptor array */
	unsigned int             max_reply_msg;  /* max reply size */
};
typedef struct routine_descriptor *routine_descriptor_t;

typedef struct routine_descriptor  mig_routine_descriptor;
typedef mig_routine_descriptor    *mig_routine_descriptor_t;

#define MIG_ROUTINE_DESCRIPTOR_NULL ((mig_routine_descriptor_t) 0)

/* What a generated server exports as <name>_subsystem. */
typedef struct mig_subsystem {
	mig_server_routine_t   server;     /* demux routine */
	mach_msg_id_t          start;      /* lowest msgh_id */
	mach_msg_id_t          end;        /* highest msgh_id + 1 */
	mach_msg_size_t        maxsize;    /* largest reply */
	vm_address_t           reserved;
	mig_routine_descriptor routine[1]; /* really [end - start] */
} *mig_subsystem_t;

#define MIG_SUBSYSTEM_NULL ((mig_subsystem_t) 0)

typedef struct mig_symtab {
	char *ms_routine_name;
	int   ms_routine_number;
	void (*ms_routine)(void);   /* signature unknown */
} mig_symtab_t;

/* Clang's static checker annotation for server routines. */
#if defined(__has_attribute)
#if __has_attribute(mig_server_routine)
#define MIG_SERVER_ROUTINE __attribute__((mig_server_routine))
#endif
#endif
#ifndef MIG_SERVER_ROUTINE
#define MIG_SERVER_ROUTINE
#endif

__BEGIN_DECLS

/* Per-thread reply port used by user stubs (created on first use). */
extern mach_port_t mig_get_reply_port(void);
/* Destroy the thread's reply port (after an RPC failed midway). */
extern void mig_dealloc_reply_port(mach_port_t reply_port);
/* Hand the reply port back after a successful RPC. */
extern void mig_put_reply_port(mach_port_t reply_port);

/* Bounded copy; returns the length copied including the NUL. */
extern int mig_strncpy(char *dest, const char *src, int len);
/* As mig_strncpy, and zero-fill the rest of dest. */
extern int mig_strncpy_zerofill(char *dest, const char *src, int len);

/* Out-of-line buffers for MIG (vm_allocate/vm_deallocate in this task). */
extern void mig_allocate(vm_address_t *addr, vm_size_t size);
extern void mig_deallocate(vm_address_t addr, vm_size_t size);

__END_DECLS

#endif /* _MACH_MIG_H_ */
