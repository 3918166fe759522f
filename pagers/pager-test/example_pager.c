/*
 * example_pager.c - a small pager that passes mach-pager-test: an object
 * held in memory, written with libmach-pager.
 *
 * Part of machd (Mach IPC in user space on Linux).
 * SPDX-License-Identifier: MIT
 *
 * Run it as the kit does:
 *   mach-pager-test -- example-pager [--lock-writes] [--may-cache] [--clean-ms N]
 *
 * With --lock-writes it supplies every page write-locked (lock_value
 * VM_PROT_WRITE): the first write to each page then costs a
 * memory_object_data_unlock, which libpager grants.
 *
 * With --may-cache the kernel may keep the object's pages once nothing
 * maps it (no memory_object_terminate then).
 *
 * With --clean-ms N it asks for a completion of every supply, and a thread
 * of its own cleans the whole object every N milliseconds (lock_request
 * RETURN_DIRTY, waiting for lock_completed), as a pager that writes its
 * data back on its own schedule does.
 *
 * Its object is MACH_PAGER_SIZE bytes.  A page nobody wrote back yet holds
 * the kit's pattern for MACH_PAGER_SEED (mach_pager_test.h); a page the
 * kernel returned holds what it returned.  The object port is libpager's,
 * so the pager publishes a send right to it with bootstrap_register under
 * MACH_PAGER_NAME, then serves it on the main thread until it is killed.
 */
#include <mach/mach.h>
#include <pthread.h>
#include <servers/bootstrap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mach_pager.h"
#include "mach_pager_test.h"

struct store {
	uint64_t seed;
	uint64_t size;
	unsigned char **pages; /* one per page; NULL: still the pattern */
	vm_size_t page_size;
};

static kern_return_t read_page(void *ctx, vm_offset_t offset, void *buf, vm_size_t len)
{
	struct store *s = ctx;
	if (offset + len > s->size)
		return KERN_INVALID_ADDRESS; /* outside the object: the kernel gets data_error */
	if (s->pages[offset / len] != NULL)
		memcpy(buf, s->pages[offset / len], len);
	else
		mach_pager_test_fill(buf, offset, len, s->seed);
	return KERN_SUCCESS;
}

static kern_return_t write_page(void *ctx, vm_offset_t offset, const void *buf, vm_size_t len)
{
	struct store *s = ctx;
	uint64_t index = offset / s->page_size;
	if (offset + len > s->size)
		return KERN_INVALID_ADDRESS;
	if (s->pages[index] == NULL) {
		s->pages[index] = malloc(s->page_size);
		if (s->pages[index] == NULL)
			return KERN_RESOURCE_SHORTAGE;
		/* A returned tail shorter than a page keeps the rest as it was. */
		mach_pager_test_fill(s->pages[index], index * s->page_size, s->page_size, s->seed);
	}
	memcpy(s->pages[index], buf, len);
	return KERN_SUCCESS;
}

static void supply_completed(void *ctx, vm_offset_t offset, vm_size_t len, kern_return_t result,
                             vm_offset_t error_offset)
{
	(void)ctx;
	(void)len;
	if (result != KERN_SUCCESS)
		fprintf(stderr, "example-pager: supply at 0x%lx: %s at 0x%lx\n", (unsigned long)offset,
		        mach_error_string(result), (unsigned long)error_offset);
}

static const struct mach_pager_ops ops = {
	.read_page = read_page,
	.write_page = write_page,
};

static struct mach_pager_ops ops_with_completions = {
	.read_page = read_page,
	.write_page = write_page,
	.supply_completed = supply_completed,
};

struct cleaner {
	mach_pager_t *pager;
	uint64_t size;
	unsigned ms;
};

/* Cleans the object every c->ms milliseconds.  No kernel holding the
 * object (KERN_INVALID_ARGUMENT) is the normal case between mappings.  The
 * lock value is VM_PROT_NONE: this pager locks nothing. */
static void *clean_loop(void *arg)
{
	const struct cleaner *c = arg;
	for (;;) {
		usleep(c->ms * 1000);
		kern_return_t kr = mach_pager_lock_request(c->pager, 0, c->size, MEMORY_OBJECT_RETURN_DIRTY, FALSE,
		                                           VM_PROT_NONE, 5000);
		if (kr != KERN_SUCCESS && kr != KERN_INVALID_ARGUMENT && kr != KERN_TERMINATED)
			fprintf(stderr, "example-pager: clean: %s\n", mach_error_string(kr));
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct mach_pager_attributes attrs = MACH_PAGER_ATTRIBUTES_DEFAULT;
	const struct mach_pager_ops *callbacks = &ops;
	struct cleaner cleaner = {NULL, 0, 0};
	const char *name = getenv(MACH_PAGER_TEST_ENV_NAME);
	struct store s;
	mach_pager_t *pager = NULL;
	mach_port_t object;
	name_t service;
	kern_return_t kr;

	if (name == NULL || strlen(name) >= sizeof service) {
		fprintf(stderr, "example-pager: run me under mach-pager-test (%s is not set)\n",
		        MACH_PAGER_TEST_ENV_NAME);
		return 2;
	}
	for (int i = 1; i < argc; ++i) {
		if (strcmp(argv[i], "--lock-writes") == 0) {
			attrs.lock_value = VM_PROT_WRITE;
		} else if (strcmp(argv[i], "--may-cache") == 0) {
			attrs.may_cache = TRUE;
		} else if (strcmp(argv[i], "--clean-ms") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0) {
			callbacks = &ops_with_completions;
			cleaner.ms = (unsigned)atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: example-pager [--lock-writes] [--may-cache] [--clean-ms N]\n");
			return 2;
		}
	}
	s.seed = mach_pager_test_env(MACH_PAGER_TEST_ENV_SEED, 0);
	s.size = mach_pager_test_env(MACH_PAGER_TEST_ENV_SIZE, 64 << 20);
	s.page_size = vm_page_size;
	s.pages = calloc(s.size / s.page_size + 1, sizeof *s.pages);
	if (s.pages == NULL)
		return 1;

	kr = mach_pager_create(callbacks, &s, &attrs, &pager);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "example-pager: mach_pager_create: %s\n", mach_error_string(kr));
		return 1;
	}
	object = mach_pager_object(pager);
	strcpy(service, name);
	/* bootstrap_register is deprecated on macOS in favour of check-in, but
	 * libpager makes the object port itself: publishing a send right is the
	 * way to name it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	kr = bootstrap_register(bootstrap_port, service, object);
#pragma GCC diagnostic pop
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "example-pager: bootstrap_register %s: %s\n", name, mach_error_string(kr));
		return 1;
	}
	if (cleaner.ms) {
		pthread_t t;
		cleaner.pager = pager;
		cleaner.size = s.size;
		if (pthread_create(&t, NULL, clean_loop, &cleaner) != 0)
			return 1;
	}
	kr = mach_pager_serve(pager);
	fprintf(stderr, "example-pager: serving ended: %s\n", mach_error_string(kr));
	return kr == KERN_SUCCESS ? 0 : 1;
}
