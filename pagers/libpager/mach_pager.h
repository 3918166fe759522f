/*
 * mach_pager.h - a library for writing Mach 3 external memory managers
 * (pagers) as a few callbacks, after GNU Hurd's libpager.
 *
 * Part of machd (Mach IPC in user space on Linux).
 * SPDX-License-Identifier: MIT
 *
 * A pager owns a memory object: a port whose receive right it holds.  A
 * client maps the object with vm_map(); the kernel (machd) then talks to the
 * pager over GNU Mach's external pager interface:
 *
 *   kernel -> object port              pager -> control port
 *   (mach/memory_object.defs)          (mach/mach.defs, <mach/memory_object_control.h>)
 *
 *   memory_object_init ------------->  memory_object_ready
 *   memory_object_data_request ----->  read_page per page, then
 *                                      memory_object_data_supply (or
 *                                      _data_unavailable / _data_error)
 *   memory_object_data_unlock ------>  unlock_page, then
 *                                      memory_object_lock_request (or _data_error)
 *   memory_object_data_return ------>  write_page per page
 *   memory_object_lock_completed ---   wakes mach_pager_lock_request(wait)
 *   memory_object_supply_completed -   the supply_completed hook
 *   memory_object_change_completed -   wakes mach_pager_change_attributes(wait)
 *   memory_object_terminate -------->  control and name ports destroyed,
 *                                      notify_terminate
 *
 * The library builds its server side by running mig on
 * mach/memory_object.defs; memory_object_copy (asked only of objects whose
 * copy strategy is MEMORY_OBJECT_COPY_CALL) is not served, so such objects
 * cannot be created.  A default memory manager is written with the
 * mach_pager_default_* calls at the end of this file, which serve
 * mach/memory_object_default.defs as well.
 *
 * One kernel at a time: between memory_object_init and
 * memory_object_terminate the object has one control port; an init from a
 * second kernel meanwhile is refused with memory_object_destroy.  After a
 * terminate the object may be mapped (and initialized) again.
 *
 * Threads: each pager is served by one thread (mach_pager_start, or the
 * caller's in mach_pager_serve), which runs the callbacks one request at a
 * time, in the order the kernel sent them.  The other functions may be
 * called from any thread.
 */
#ifndef MACH_PAGER_H
#define MACH_PAGER_H

#include <mach/mach.h>
#include <mach/memory_object_types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mach_pager_state mach_pager_t;

/* What read_page returns for a page the pager has no data for: the kernel
 * zero-fills it (memory_object_data_unavailable).  A user-defined error
 * code (err_local), which no Mach call returns. */
#define MACH_PAGER_ZERO_FILL ((kern_return_t)(err_local | err_sub(0x70) | 1))

/* The callbacks.  ctx is the pointer given to mach_pager_create.  Each
 * runs on the thread serving the pager; none is called once
 * mach_pager_destroy has returned. */
struct mach_pager_ops {
	/* Required.  Fills buf (len bytes, one page of the kernel's page size,
	 * len > 0) with the object's data at offset (a multiple of len).
	 * Returns KERN_SUCCESS; MACH_PAGER_ZERO_FILL for a page of zeroes; any
	 * other code is reported to the kernel with memory_object_data_error
	 * (the faulting threads get a memory error). */
	kern_return_t (*read_page)(void *ctx, vm_offset_t offset, void *buf,
	                           vm_size_t len);

	/* Required.  Stores len bytes (one page, or less for the tail of a
	 * returned range that ends mid-page) at offset.  Called for each page
	 * of a memory_object_data_return that is dirty, and for every page
	 * when the pager supplies precious pages (the kernel held the only
	 * copy).  The kernel is not told of a failure (data_return has no
	 * answer): the return value is passed to the data_returned hook. */
	kern_return_t (*write_page)(void *ctx, vm_offset_t offset,
	                            const void *buf, vm_size_t len);

	/* Optional.  The kernel holds [offset, offset + len) with
	 * attributes.lock_value forbidden and a thread needs desired_access.
	 * KERN_SUCCESS lifts the lock for desired_access
	 * (memory_object_lock_request with lock_value & ~desired_access); any
	 * other code goes to the kernel as memory_object_data_error.  NULL:
	 * every unlock is granted. */
	kern_return_t (*unlock_page)(void *ctx, vm_offset_t offset,
	                             vm_size_t len, vm_prot_t desired_access);

	/* Optional.  The kernel ended its use of the object
	 * (memory_object_terminate): the control and name ports are already
	 * destroyed, and waiters of lock or attribute requests have been woken
	 * with KERN_TERMINATED. */
	void (*notify_terminate)(void *ctx);

	/* Optional.  A memory_object_data_return was handled: result is the
	 * first error write_page returned for it, else KERN_SUCCESS. */
	void (*data_returned)(void *ctx, vm_offset_t offset, vm_size_t len,
	                      boolean_t dirty, boolean_t kernel_copy,
	                      kern_return_t result);

	/* Optional.  A lock request that nobody waits for completed
	 * (memory_object_lock_completed). */
	void (*lock_completed)(void *ctx, vm_offset_t offset, vm_size_t len);

	/* Optional.  When set, every memory_object_data_supply asks for a
	 * completion, reported here: result KERN_SUCCESS, or
	 * KERN_MEMORY_PRESENT with error_offset the first page the kernel
	 * already held. */
	void (*supply_completed)(void *ctx, vm_offset_t offset, vm_size_t len,
	                         kern_return_t result, vm_offset_t error_offset);
};

/* How the kernel is to treat the object and the pages it is given. */
struct mach_pager_attributes {
	/* The kernel may keep the pages once no mapping uses them. */
	boolean_t may_cache;
	/* MEMORY_OBJECT_COPY_NONE, _DELAY or _TEMPORARY (_CALL: not
	 * supported). */
	memory_object_copy_strategy_t copy_strategy;
	/* Supplied pages are precious: the kernel returns them (dirty or not)
	 * before dropping them, so the pager need not keep a copy. */
	boolean_t precious;
	/* The accesses forbidden on supplied pages until the pager lifts them
	 * (unlock_page): VM_PROT_NONE for none, VM_PROT_WRITE to hear of the
	 * first write of each page. */
	vm_prot_t lock_value;
};

/* may_cache FALSE, MEMORY_OBJECT_COPY_DELAY, not precious, nothing locked. */
#define MACH_PAGER_ATTRIBUTES_DEFAULT \
	{ FALSE, MEMORY_OBJECT_COPY_DELAY, FALSE, VM_PROT_NONE }

/* Creates a pager: a fresh object port (receive right) served with ops and
 * ctx.  attributes may be NULL (MACH_PAGER_ATTRIBUTES_DEFAULT); they are
 * copied.  Nothing is served until mach_pager_start or mach_pager_serve.
 * Returns KERN_SUCCESS and *out; KERN_INVALID_ARGUMENT if ops, a required
 * callback or out is NULL, or the copy strategy is not NONE, DELAY or
 * TEMPORARY; KERN_RESOURCE_SHORTAGE; or the error of mach_port_allocate. */
kern_return_t mach_pager_create(const struct mach_pager_ops *ops, void *ctx,
                                const struct mach_pager_attributes *attributes,
                                mach_pager_t **out);

/* The object port with one more send-right user reference, owned by the
 * caller: the memory object to pass to vm_map (the caller deallocates it
 * when done).  MACH_PORT_NULL if the right cannot be made. */
mach_port_t mach_pager_object(mach_pager_t *pager);

/* The object port's name (the receive right stays the pager's), for a
 * caller that receives on it in a port set and dispatches with
 * mach_pager_demux. */
mach_port_t mach_pager_port(mach_pager_t *pager);

/* A MIG demultiplexer for the messages to the object port of any live
 * pager of this task: the memory_object requests, served as above, and
 * send-once notifications (a completion right the kernel dropped: ignored).
 * A request to a port that is no live pager's, or naming a control port
 * that is not the object's current one, gets an error RetCode, so that the
 * receive loop destroys it (mach_msg_server does).  Returns FALSE, with
 * MIG_BAD_ID, for any other message id. */
boolean_t mach_pager_demux(mach_msg_header_t *in, mach_msg_header_t *out);

/* Serves the pager on the calling thread (mach_msg_server with
 * mach_pager_demux) until mach_pager_destroy; returns KERN_SUCCESS then, or
 * the receive error that ended the loop.  KERN_INVALID_ARGUMENT if the
 * pager is already served. */
kern_return_t mach_pager_serve(mach_pager_t *pager);

/* Starts a thread that serves the pager (mach_pager_serve); it ends in
 * mach_pager_destroy.  KERN_INVALID_ARGUMENT if already served;
 * KERN_RESOURCE_SHORTAGE if no thread can be made. */
kern_return_t mach_pager_start(mach_pager_t *pager);

/* Stops serving and frees the pager: the object port is destroyed (a
 * kernel still using the object sees it die: destroy a pager after
 * notify_terminate), the control and name ports, if any, are released, the
 * serving thread is joined, waiters are woken with KERN_TERMINATED.  Must
 * not be called from a callback: KERN_INVALID_ARGUMENT then, nothing done.
 * NULL is KERN_SUCCESS. */
kern_return_t mach_pager_destroy(mach_pager_t *pager);

/* How long mach_pager_lock_request and mach_pager_change_attributes wait
 * for their completion, in milliseconds; or one of: */
#define MACH_PAGER_NO_WAIT      0    /* send and return */
#define MACH_PAGER_WAIT_FOREVER (-1)

/* memory_object_lock_request on the object's control port: for the pages
 * of [offset, offset + size) the kernel holds, forbid lock_value
 * (VM_PROT_NO_CHANGE: keep each page's lock), send back with
 * memory_object_data_return those should_return names
 * (MEMORY_OBJECT_RETURN_NONE, _DIRTY, _ALL), then drop them if
 * should_flush.  With wait_ms != MACH_PAGER_NO_WAIT the object port is the
 * reply port and the call returns once the kernel's
 * memory_object_lock_completed has been served, so every page the kernel
 * returned for it has gone through write_page.  Without a wait, the
 * lock_completed hook (if any) hears of the completion.
 * Returns KERN_SUCCESS; KERN_INVALID_ARGUMENT if no kernel has the object
 * initialized, or if the caller would wait on the serving thread (from a
 * callback); KERN_OPERATION_TIMED_OUT when wait_ms passed; KERN_TERMINATED
 * if the object was terminated (or the pager destroyed) meanwhile; or the
 * error of the send. */
kern_return_t mach_pager_lock_request(mach_pager_t *pager, vm_offset_t offset,
                                      vm_size_t size,
                                      memory_object_return_t should_return,
                                      boolean_t should_flush,
                                      vm_prot_t lock_value, int wait_ms);

/* Drops the kernel's copies of the range; modified data is lost
 * (lock_request: RETURN_NONE, flush, VM_PROT_NO_CHANGE). */
kern_return_t mach_pager_flush(mach_pager_t *pager, vm_offset_t offset,
                               vm_size_t size, int wait_ms);

/* Has the kernel send back the modified pages of the range (and the
 * precious ones, for a precious pager), keeping its copies
 * (lock_request: RETURN_DIRTY or RETURN_ALL, no flush, VM_PROT_NO_CHANGE). */
kern_return_t mach_pager_clean(mach_pager_t *pager, vm_offset_t offset,
                               vm_size_t size, int wait_ms);

/* memory_object_change_attributes: new may_cache and copy strategy (as in
 * mach_pager_create), kept for later inits too.  Waits as
 * mach_pager_lock_request does (for memory_object_change_completed).  Same
 * errors. */
kern_return_t mach_pager_change_attributes(mach_pager_t *pager,
                                           boolean_t may_cache,
                                           memory_object_copy_strategy_t copy_strategy,
                                           int wait_ms);

/* memory_object_destroy: the pager gives the object up; the kernel stops
 * paging it and terminates it (memory_object_terminate follows).
 * KERN_INVALID_ARGUMENT if no kernel has the object initialized. */
kern_return_t mach_pager_destroy_object(mach_pager_t *pager,
                                        kern_return_t reason);

/* ---- the default memory manager -------------------------------------------
 *
 * The pager the kernel pages anonymous memory out to (machd --memory-limit;
 * GNU Mach's default pager).  It registers with host_default_memory_manager;
 * the kernel then hands it each anonymous object it first pages out:
 *
 *   kernel -> manager port (mach/memory_object_default.defs)
 *   memory_object_create --------->  object_created: a new object, whose
 *                                    pages are then served with object_ops
 *                                    (read_page, write_page, ...) and ctx the
 *                                    value object_created returned
 *   kernel -> that object's port
 *   memory_object_data_initialize ->  write_page per page (pages it never had)
 *   memory_object_data_return ----->  write_page per page
 *   memory_object_data_request ---->  read_page per page, data_supply
 *   memory_object_terminate ------->  notify_terminate (if set), then
 *                                    object_terminated: its storage may go
 *
 * The objects need no memory_object_ready (the kernel made them).
 *
 * The manager port also serves mach/default_pager.defs (a task gets the
 * port from host_default_memory_manager with a null port):
 *   default_pager_object_create   a new zero-filled object of the given
 *                                 size (object_created as above), for
 *                                 vm_map; unlike the kernel's objects it
 *                                 outlives terminate (its pages stay in the
 *                                 store) and ends when no task holds a send
 *                                 right to it (no-senders)
 *   default_pager_info            store_space, and the page size
 *   default_pager_objects         every live object: its port name as id,
 *                                 object_store_bytes, and a send right
 *   default_pager_object_pages    object_pages of the object whose name
 *                                 port (or object port) is given
 *   default_pager_paging_file, default_pager_register_fileserver
 *                                 KERN_NOT_SUPPORTED (no devices)
 * Their client stubs are in this library, declared by <mach/default_pager.h>.
 *
 * One thread (mach_pager_default_start's) serves the manager port and
 * every object, one message at a time.  One default memory manager per
 * task. */

typedef struct mach_pager_default_state mach_pager_default_t;

struct mach_pager_default_ops {
	/* Required.  The kernel hands over an object of size bytes: returns
	 * the ctx its object_ops callbacks get, or NULL to refuse it (the
	 * kernel then cannot page it out). */
	void *(*object_created)(void *ctx, vm_size_t size);
	/* Required.  The object ended; object_ctx (what object_created
	 * returned) is called no more. */
	void (*object_terminated)(void *ctx, void *object_ctx);
	/* Optional (default_pager_info): the backing store's total and free
	 * bytes.  NULL: default_pager_info answers KERN_NOT_SUPPORTED. */
	void (*store_space)(void *ctx, vm_size_t *total, vm_size_t *free_bytes);
	/* Optional (default_pager_objects): the bytes of store an object
	 * uses.  NULL: reported as 0. */
	vm_size_t (*object_store_bytes)(void *ctx, void *object_ctx);
	/* Optional (default_pager_object_pages): fills up to max offsets of the
	 * pages the store holds for the object, returns how many it holds in
	 * all.  NULL: default_pager_object_pages answers KERN_NOT_SUPPORTED. */
	size_t (*object_pages)(void *ctx, void *object_ctx, vm_offset_t *offsets, size_t max);
};

/* Creates a default memory manager: a fresh manager port (receive right)
 * and the port set it serves.  ops and object_ops are copied; object_ops
 * needs read_page and write_page.  Nothing is served or registered yet.
 * KERN_INVALID_ARGUMENT for a missing callback or out, or if this task
 * has one already; KERN_RESOURCE_SHORTAGE; or the error of a port call. */
kern_return_t mach_pager_default_create(const struct mach_pager_default_ops *ops,
                                        const struct mach_pager_ops *object_ops,
                                        void *ctx, mach_pager_default_t **out);

/* host_default_memory_manager(host, manager): the kernel's anonymous
 * memory is paged out to this manager from now on.  host: host_priv, or
 * (on machd) the host port of machd's own user.  *previous (if previous
 * is not NULL) receives a send right to the manager it replaced, or
 * MACH_PORT_NULL; without previous that right is released.  Errors: the
 * routine's (KERN_INVALID_HOST when host may not), or the send's. */
kern_return_t mach_pager_default_register(mach_pager_default_t *manager, mach_port_t host,
                                          mach_port_t *previous);

/* Starts the thread that serves the manager and its objects.
 * KERN_INVALID_ARGUMENT if already started; KERN_RESOURCE_SHORTAGE. */
kern_return_t mach_pager_default_start(mach_pager_default_t *manager);

/* How many objects the kernel handed over that have not ended. */
unsigned long mach_pager_default_objects(mach_pager_default_t *manager);

/* Stops serving and frees everything: the serving thread is joined, every
 * object's pager destroyed (the kernel sees their ports die: faults on
 * pages only this manager held fail), object_terminated called for each,
 * the manager port destroyed.  NULL is KERN_SUCCESS. */
kern_return_t mach_pager_default_destroy(mach_pager_default_t *manager);

#ifdef __cplusplus
}
#endif

#endif /* MACH_PAGER_H */
