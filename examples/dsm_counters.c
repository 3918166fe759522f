/*
 * dsm_counters.c - a parallel program over one shared memory object: every
 * worker adds to a table of counters that all of them map, then checks the
 * sums. Run as WORKERS processes, one per WORKER number; they may be tasks
 * of one machd or (once ports cross hosts) of machds on several hosts: the
 * object's pager (pagers/dsm-pager) keeps the kernels' copies of each page
 * coherent, one writer or many readers at a time.
 *
 *   dsm_counters NAME WORKER WORKERS ROUNDS
 *
 * NAME is the object's bootstrap name (dsm-pager --name NAME); the object
 * must be fresh (zeroes) and at least 64 KiB. Layout, one concern per page
 * so that workers contend only where they share on purpose:
 *
 *   page 0          the start and finish barriers (two counters)
 *   pages 1-4       the table: 32 counters, 512 bytes apart (8 a page)
 *   page 5 + W      worker W's own line: the rounds it did
 *
 * Each worker waits until all WORKERS arrived, then ROUNDS times adds W + 1
 * to every counter of the table with an atomic add, records its rounds,
 * and waits until all finished. Then every counter must be
 *
 *   ROUNDS * (1 + 2 + ... + WORKERS) = ROUNDS * WORKERS * (WORKERS + 1) / 2
 *
 * and every worker's line ROUNDS. Each worker checks that and prints
 *
 *   dsm_counters[W]: 32 counters = X each, WORKERS workers x ROUNDS rounds: ok
 *
 * An atomic add on a page held by one writer at a time is atomic across
 * hosts too: the instruction runs once the page is writable here, and a
 * revocation takes the page only between instructions.
 *
 * Exit status: 0 the sums are right; 1 they are not; 2 usage; 3 the object
 * cannot be found or mapped; 4 a barrier waited more than 60 s.
 */
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <servers/bootstrap.h>

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "example_support.h"

#define PAGE 4096u
#define COUNTERS 32u
#define COUNTER_STRIDE 512u
#define TABLE_OFFSET PAGE
#define LINES_OFFSET (5u * PAGE)
#define MAX_WORKERS 11u /* pages 5-15: the object's first 64 KiB */
#define MAPPED (16u * PAGE)

static long parse(const char *s, long lo, long hi)
{
	char *end = NULL;
	long v = strtol(s, &end, 10);
	return (end == s || *end != '\0' || v < lo || v > hi) ? -1 : v;
}

static _Atomic uint64_t *at(volatile unsigned char *base, size_t offset)
{
	return (_Atomic uint64_t *)(uintptr_t)(base + offset);
}

/* Adds one to *counter and waits until it reaches `goal`; 0, or -1 after
 * 60 s. */
static int barrier(_Atomic uint64_t *counter, uint64_t goal)
{
	atomic_fetch_add(counter, 1);
	double deadline = now_seconds() + 60.0;
	while (atomic_load(counter) < goal) {
		if (now_seconds() > deadline)
			return -1;
		struct timespec pause = {0, 1000 * 1000}; /* 1 ms */
		nanosleep(&pause, NULL);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: dsm_counters NAME WORKER WORKERS ROUNDS\n"
		                "  WORKER from 0 to WORKERS-1, WORKERS from 1 to %u\n", MAX_WORKERS);
		return 2;
	}
	const char *name = argv[1];
	long workers = parse(argv[3], 1, MAX_WORKERS);
	long worker = workers < 0 ? -1 : parse(argv[2], 0, workers - 1);
	long rounds = parse(argv[4], 1, 1000000);
	if (workers < 0 || worker < 0 || rounds < 0) {
		fprintf(stderr, "dsm_counters: bad WORKER, WORKERS or ROUNDS (see dsm_counters without arguments)\n");
		return 2;
	}

	mach_port_t object = MACH_PORT_NULL;
	kern_return_t kr = look_up(name, 10.0, &object);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "dsm_counters: %s: %s\n", name, bootstrap_strerror(kr));
		return 3;
	}
	mach_vm_address_t addr = 0;
	kr = mach_vm_map(mach_task_self(), &addr, MAPPED, 0, VM_FLAGS_ANYWHERE, object, 0, FALSE,
	                 VM_PROT_READ | VM_PROT_WRITE, VM_PROT_ALL, VM_INHERIT_NONE);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "dsm_counters: mach_vm_map: %s\n", mach_error_string(kr));
		return 3;
	}
	volatile unsigned char *base = (volatile unsigned char *)(uintptr_t)addr;

	int rc = 0;
	double started = 0.0;
	if (barrier(at(base, 0), (uint64_t)workers) != 0) {
		fprintf(stderr, "dsm_counters[%ld]: not all %ld workers arrived\n", worker, workers);
		rc = 4;
		goto out;
	}
	started = now_seconds();
	for (long r = 0; r < rounds; r++)
		for (unsigned c = 0; c < COUNTERS; c++)
			atomic_fetch_add(at(base, TABLE_OFFSET + c * COUNTER_STRIDE), (uint64_t)worker + 1);
	atomic_store(at(base, LINES_OFFSET + (size_t)worker * PAGE), (uint64_t)rounds);
	if (barrier(at(base, 8), (uint64_t)workers) != 0) {
		fprintf(stderr, "dsm_counters[%ld]: not all %ld workers finished\n", worker, workers);
		rc = 4;
		goto out;
	}

	uint64_t expected = (uint64_t)rounds * (uint64_t)workers * (uint64_t)(workers + 1) / 2;
	for (unsigned c = 0; c < COUNTERS; c++) {
		uint64_t v = atomic_load(at(base, TABLE_OFFSET + c * COUNTER_STRIDE));
		if (v != expected) {
			fprintf(stderr, "dsm_counters[%ld]: counter %u is %llu, not %llu\n", worker, c,
			        (unsigned long long)v, (unsigned long long)expected);
			rc = 1;
		}
	}
	for (long w = 0; w < workers; w++) {
		uint64_t v = atomic_load(at(base, LINES_OFFSET + (size_t)w * PAGE));
		if (v != (uint64_t)rounds) {
			fprintf(stderr, "dsm_counters[%ld]: worker %ld's line says %llu rounds, not %ld\n", worker, w,
			        (unsigned long long)v, rounds);
			rc = 1;
		}
	}
	if (rc == 0)
		printf("dsm_counters[%ld]: %u counters = %llu each, %ld workers x %ld rounds: ok (%.3f s)\n", worker,
		       COUNTERS, (unsigned long long)expected, workers, rounds, now_seconds() - started);
out:
	mach_vm_deallocate(mach_task_self(), addr, MAPPED);
	mach_port_deallocate(mach_task_self(), object);
	return rc;
}
