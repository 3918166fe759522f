/*
 * caller_memory.h - how an emulation server reaches the memory of the
 * program whose system call it answers.
 *
 * A redirected call's arguments are the caller's registers, so its
 * pointers are addresses in the caller's address space.  The server names
 * the caller by the pid of the request's audit token, gets its task port
 * with task_for_pid, and copies through the port with
 * mach_vm_read_overwrite and mach_vm_write: the copyin and copyout of a
 * Unix server on Mach, which reached its clients the same way.  A bad
 * address makes the call fail with EFAULT, as the kernel's would.
 */
#ifndef CALLER_MEMORY_H
#define CALLER_MEMORY_H

#include <mach/mach.h>
#include <mach/mach_vm.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Copies n bytes at `addr` in `task` into buf; 0, or -EFAULT. */
static inline int copy_in(task_t task, uint64_t addr, void *buf, size_t n)
{
	mach_vm_size_t got = 0;
	if (n == 0)
		return 0;
	if (mach_vm_read_overwrite(task, addr, n, (mach_vm_address_t)(uintptr_t)buf, &got) != KERN_SUCCESS ||
	    got != n)
		return -EFAULT;
	return 0;
}

/* Copies n bytes of buf to `addr` in `task`; 0, or -EFAULT. */
static inline int copy_out(task_t task, uint64_t addr, const void *buf, size_t n)
{
	if (n == 0)
		return 0;
	if (mach_vm_write(task, addr, (vm_offset_t)(uintptr_t)buf, (mach_msg_type_number_t)n) != KERN_SUCCESS)
		return -EFAULT;
	return 0;
}

/* Copies the NUL-terminated string at `addr` in `task` into buf (size
 * bytes), a page at most per copy so the read never crosses into a page
 * the string does not reach.  Its length, -EFAULT, or -ENAMETOOLONG. */
static inline long copy_in_string(task_t task, uint64_t addr, char *buf, size_t size)
{
	size_t have = 0;
	while (have < size) {
		size_t chunk = 4096 - (size_t)((addr + have) & 4095);
		if (chunk > size - have)
			chunk = size - have;
		if (copy_in(task, addr + have, buf + have, chunk) != 0)
			return -EFAULT;
		char *nul = memchr(buf + have, '\0', chunk);
		if (nul != NULL)
			return (long)(nul - buf);
		have += chunk;
	}
	return -ENAMETOOLONG;
}

#endif /* CALLER_MEMORY_H */
