/*
 * fault_repair.c - an in-process Mach exception handler that repairs a
 * fault and resumes the faulting thread: the pattern of language runtimes
 * (lazy heaps, garbage collectors with read barriers, guard pages).
 *
 * The program reserves a region with no access, makes a port of its own
 * the task's EXC_BAD_ACCESS port and serves it on a handler thread with
 * mach_msg_server() and the mach_exc server that mig generates from
 * <mach/mach_exc.defs>. Each first touch of a page faults: the handler
 * gives the page access, fills it, answers KERN_SUCCESS, and the thread
 * goes on as if the page had always been there. A fault outside the region
 * is answered KERN_FAILURE: it becomes the usual SIGSEGV.
 *
 * Usage: fault_repair [pages]   (default 64)
 */
#include <mach/mach.h>
#include <mach/mach_error.h>
#include <mach/mach_exc.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The server side mig generates from mach_exc.defs. */
extern boolean_t mach_exc_server(mach_msg_header_t *request, mach_msg_header_t *reply);

static uint8_t *region;
static size_t region_size;
static size_t page_size;
static volatile unsigned long repaired;

/* EXCEPTION_DEFAULT | MACH_EXCEPTION_CODES: code[0] is the kern_return_t of
 * the fault, code[1] the address. */
kern_return_t catch_mach_exception_raise(mach_port_t port, mach_port_t thread, mach_port_t task,
                                         exception_type_t exception, mach_exception_data_t code,
                                         mach_msg_type_number_t code_count)
{
	(void)port;
	kern_return_t result = KERN_FAILURE;
	/* code points into the request, where the 64-bit codes sit at a 4-byte
	 * boundary: copied, not loaded in place. */
	mach_exception_data_type_t c[2] = {0, 0};
	if (code_count == 2)
		memcpy(c, code, sizeof c);
	if (exception == EXC_BAD_ACCESS && code_count == 2 && c[0] == KERN_PROTECTION_FAILURE) {
		uint8_t *address = (uint8_t *)(uintptr_t)c[1];
		if (address >= region && address < region + region_size) {
			uint8_t *page = (uint8_t *)((uintptr_t)address & ~(uintptr_t)(page_size - 1));
			if (mprotect(page, page_size, PROT_READ | PROT_WRITE) == 0) {
				for (size_t i = 0; i < page_size; i += sizeof(uint64_t))
					*(uint64_t *)(page + i) = (uint64_t)(page - region) + i;
				repaired++;
				result = KERN_SUCCESS;
			}
		}
	}
	/* The thread and task send rights are ours to release. */
	mach_port_deallocate(mach_task_self(), thread);
	mach_port_deallocate(mach_task_self(), task);
	return result;
}

kern_return_t catch_mach_exception_raise_state(mach_port_t port, exception_type_t exception,
                                               const mach_exception_data_t code, mach_msg_type_number_t code_count,
                                               int *flavor, const thread_state_t old_state,
                                               mach_msg_type_number_t old_count, thread_state_t new_state,
                                               mach_msg_type_number_t *new_count)
{
	(void)port; (void)exception; (void)code; (void)code_count; (void)flavor;
	(void)old_state; (void)old_count; (void)new_state; (void)new_count;
	return KERN_FAILURE; /* not the behavior this port was set with */
}

kern_return_t catch_mach_exception_raise_state_identity(mach_port_t port, mach_port_t thread, mach_port_t task,
                                                        exception_type_t exception, mach_exception_data_t code,
                                                        mach_msg_type_number_t code_count, int *flavor,
                                                        thread_state_t old_state, mach_msg_type_number_t old_count,
                                                        thread_state_t new_state, mach_msg_type_number_t *new_count)
{
	(void)port; (void)thread; (void)task; (void)exception; (void)code; (void)code_count;
	(void)flavor; (void)old_state; (void)old_count; (void)new_state; (void)new_count;
	return KERN_FAILURE;
}

static void *handler_thread(void *arg)
{
	mach_port_t port = (mach_port_t)(uintptr_t)arg;
	kern_return_t kr = mach_msg_server(mach_exc_server, 4096, port, 0);
	fprintf(stderr, "fault_repair: mach_msg_server: %s\n", mach_error_string(kr));
	return NULL;
}

int main(int argc, char **argv)
{
	size_t pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	region_size = pages * page_size;
	region = mmap(NULL, region_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		perror("mmap");
		return 1;
	}

	mach_port_t port;
	kern_return_t kr = mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port);
	if (kr == KERN_SUCCESS)
		kr = mach_port_insert_right(mach_task_self(), port, port, MACH_MSG_TYPE_MAKE_SEND);
	if (kr == KERN_SUCCESS)
		kr = task_set_exception_ports(mach_task_self(), EXC_MASK_BAD_ACCESS, port,
		                              (exception_behavior_t)(EXCEPTION_DEFAULT | MACH_EXCEPTION_CODES),
		                              THREAD_STATE_NONE);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "fault_repair: setting the exception port: %s\n", mach_error_string(kr));
		return 1;
	}
	pthread_t th;
	pthread_create(&th, NULL, handler_thread, (void *)(uintptr_t)port);

	/* Read every word of the region: each page faults once, is repaired by
	 * the handler, and the read then sees what the handler wrote. */
	uint64_t sum = 0, expect = 0;
	for (size_t off = 0; off < region_size; off += sizeof(uint64_t)) {
		sum += *(volatile uint64_t *)(region + off);
		expect += off;
	}
	printf("fault_repair: %zu pages, %lu faults repaired by the exception handler, checksum %s\n", pages,
	       repaired, sum == expect ? "ok" : "WRONG");
	return sum == expect && repaired == pages ? 0 : 1;
}
