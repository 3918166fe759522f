/*
 * pager_demo.c - a client of a memory object served by an external pager
 * (pagers/file-pager, pagers/compress-pager): it finds the object by its
 * bootstrap name, maps it with mach_vm_map and reads or writes bytes in it.
 *
 *   pager_demo NAME OP...
 *     read OFFSET LENGTH   prints LENGTH bytes at OFFSET (others than
 *                          printable ASCII as '.')
 *     write OFFSET TEXT    stores TEXT at OFFSET
 *     wait OFFSET TEXT     waits (up to 10 s) until TEXT is at OFFSET
 *
 * The operations run in order on one mapping, so one process can write,
 * then wait for another process's answer in the same pages: every task
 * that maps the object shares the kernel's one copy of each page, and sees
 * a write at once. A page the kernel does not hold yet faults; the kernel
 * asks the object's pager for it (memory_object_data_request). When the
 * last task unmaps the object, the kernel gives the modified pages back to
 * the pager (memory_object_data_return); file-pager writes them to its
 * file.
 *
 * The bytes are copied out of the mapping before printing: with machd a
 * page is brought in by a fault in user mode, not inside a system call.
 */
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <servers/bootstrap.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "example_support.h"

static int usage(void)
{
	fprintf(stderr, "usage: pager_demo NAME OP...\n"
	                "  read OFFSET LENGTH | write OFFSET TEXT | wait OFFSET TEXT\n");
	return 2;
}

/* Parses an offset or a length; -1 if it is not a number. */
static long long number(const char *s)
{
	char *end = NULL;
	long long v = strtoll(s, &end, 0);
	return (end == s || *end != '\0' || v < 0) ? -1 : v;
}

/* The end of the bytes the operations touch; -1 if one is malformed. */
static long long extent(int argc, char **argv)
{
	long long end = 0;
	for (int i = 0; i < argc; i += 3) {
		if (i + 2 >= argc)
			return -1;
		long long off = number(argv[i + 1]);
		long long len;
		if (strcmp(argv[i], "read") == 0)
			len = number(argv[i + 2]);
		else if (strcmp(argv[i], "write") == 0 || strcmp(argv[i], "wait") == 0)
			len = (long long)strlen(argv[i + 2]);
		else
			return -1;
		if (off < 0 || len < 0)
			return -1;
		if (off + len > end)
			end = off + len;
	}
	return end;
}

static void print_bytes(const volatile unsigned char *at, size_t len)
{
	char *out = malloc(len + 1);
	if (out == NULL)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = at[i]; /* faults here, in user mode */
		out[i] = (c >= 32 && c < 127) ? (char)c : '.';
	}
	out[len] = '\0';
	printf("pager_demo[%d]: read \"%s\"\n", (int)getpid(), out);
	free(out);
}

int main(int argc, char **argv)
{
	/* --can-fault: exit 0 if this system lets a task have a userfaultfd
	 * (which machd needs to route its page faults to a pager), 1 if not. */
	if (argc == 2 && strcmp(argv[1], "--can-fault") == 0) {
		int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);
		if (fd < 0)
			fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "pager_demo: userfaultfd: %s\n", strerror(errno));
			return 1;
		}
		close(fd);
		return 0;
	}
	if (argc < 5)
		return usage();
	const char *name = argv[1];
	long long end = extent(argc - 2, argv + 2);
	if (end <= 0)
		return usage();

	mach_port_t object = MACH_PORT_NULL;
	kern_return_t kr = look_up(name, 5.0, &object);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "pager_demo: %s: %s\n", name, bootstrap_strerror(kr));
		return 1;
	}
	mach_vm_size_t size = ((mach_vm_size_t)end + vm_page_size - 1) & ~((mach_vm_size_t)vm_page_size - 1);
	mach_vm_address_t addr = 0;
	kr = mach_vm_map(mach_task_self(), &addr, size, 0, VM_FLAGS_ANYWHERE, object, 0, FALSE,
	                 VM_PROT_READ | VM_PROT_WRITE, VM_PROT_ALL, VM_INHERIT_NONE);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "pager_demo: mach_vm_map: %s (0x%x)\n", mach_error_string(kr), kr);
		return 1;
	}
	volatile unsigned char *base = (volatile unsigned char *)(uintptr_t)addr;

	int rc = 0;
	for (int i = 2; i < argc; i += 3) {
		long long off = number(argv[i + 1]);
		const char *arg = argv[i + 2];
		if (strcmp(argv[i], "read") == 0) {
			print_bytes(base + off, (size_t)number(arg));
		} else if (strcmp(argv[i], "write") == 0) {
			for (size_t j = 0; arg[j] != '\0'; j++)
				base[off + (long long)j] = (unsigned char)arg[j];
			printf("pager_demo[%d]: wrote \"%s\" at %lld\n", (int)getpid(), arg, off);
		} else { /* wait */
			size_t len = strlen(arg);
			double deadline = now_seconds() + 10.0;
			int seen = 0;
			while (!seen && now_seconds() < deadline) {
				seen = 1;
				for (size_t j = 0; j < len && seen; j++)
					seen = base[off + (long long)j] == (unsigned char)arg[j];
				if (!seen) {
					struct timespec pause = {0, 10 * 1000 * 1000}; /* 10 ms */
					nanosleep(&pause, NULL);
				}
			}
			if (!seen) {
				fprintf(stderr, "pager_demo[%d]: \"%s\" did not appear at %lld\n", (int)getpid(), arg, off);
				rc = 1;
				break;
			}
			printf("pager_demo[%d]: saw \"%s\" at %lld\n", (int)getpid(), arg, off);
		}
		fflush(stdout);
	}
	mach_vm_deallocate(mach_task_self(), addr, size);
	mach_port_deallocate(mach_task_self(), object);
	return rc;
}
