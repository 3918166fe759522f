/*
 * ool_transfer.c - sending a large buffer out-of-line, without copying it.
 *
 *   ool_transfer [--size SIZE]                  both roles: receiver here, the
 *                                               sender as a second process
 *   ool_transfer receiver [NAME]                only the receiver
 *   ool_transfer sender [NAME] [--size SIZE]    only the sender
 *
 * SIZE is in bytes, or with a K, M or G suffix (binary units); default 64M.
 *
 * A Mach message can carry memory "out of line": the message holds an OOL
 * descriptor (address, size) instead of the bytes, and the receiver finds
 * the data mapped at a new address in its own space. Memory the sender got
 * from vm_allocate() and sends with deallocate = TRUE is moved, not copied:
 * the pages leave the sender's address space and appear in the receiver's.
 *
 * The sender fills the buffer with a pattern and sends its checksum along;
 * the receiver recomputes it and prints the transfer rate (from the moment
 * the sender called mach_msg() to the moment the receiver's mach_msg()
 * returned) and the rate at which it then read the data.
 */
#include <mach/mach.h>
#include <servers/bootstrap.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "example_support.h"

#define DEFAULT_NAME "org.machd.example.ool"
#define DEFAULT_SIZE (64ull << 20)
#define DATA_ID 2000

/* Messages are laid out with 4-byte packing, as MIG lays them out, so the
 * 64-bit fields follow the descriptor without padding. */
#pragma pack(push, 4)
typedef struct {
	mach_msg_header_t header;
	mach_msg_body_t body;
	mach_msg_ool_descriptor_t data; /* the buffer */
	uint64_t size;                  /* its size ... */
	uint64_t checksum;              /* ... and checksum */
	uint64_t sent_ns;               /* CLOCK_MONOTONIC when the sender called mach_msg() */
} data_msg_t;

typedef struct {
	data_msg_t msg;
	mach_msg_max_trailer_t trailer;
} data_buffer_t;
#pragma pack(pop)

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* FNV-1a over 64-bit words: cheap, and order-sensitive. */
static uint64_t checksum(const uint64_t *words, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	size_t i;
	for (i = 0; i < n; i++)
		h = (h ^ words[i]) * 1099511628211ull;
	return h;
}

/* "64M" -> 67108864. Returns 0 if the size is unusable. */
static uint64_t parse_size(const char *s)
{
	char *end = NULL;
	unsigned long long v = strtoull(s, &end, 10);
	int shift = 0;

	if (end == s || v > 0xFFFFFFFFull)
		return 0;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	}
	if (*end != '\0' || v > (0xFFFFFFFFull >> shift))
		return 0;
	v <<= shift;
	/* A multiple of 8 (we checksum words) that fits the descriptor's
	 * 32-bit size field. */
	if (v == 0 || v % 8 != 0)
		return 0;
	return v;
}

static void fail(const char *role, const char *what, kern_return_t kr)
{
	fprintf(stderr, "ool_transfer %s: %s: %s (0x%x)\n", role, what, mach_error_string(kr), kr);
	exit(1);
}

static int run_sender(const char *name, uint64_t size)
{
	mach_port_t receiver = MACH_PORT_NULL;
	vm_address_t address = 0;
	uint64_t *words, i, n = size / 8;
	data_msg_t msg;
	mach_msg_return_t mr;
	kern_return_t kr;

	kr = look_up(name, 10, &receiver);
	if (kr != KERN_SUCCESS)
		fail("sender", "bootstrap_look_up", kr);

	/* Page-aligned, zero-filled memory from the kernel: what a sender
	 * should use for anything it means to move out-of-line. */
	kr = vm_allocate(mach_task_self(), &address, (vm_size_t)size, VM_FLAGS_ANYWHERE);
	if (kr != KERN_SUCCESS)
		fail("sender", "vm_allocate", kr);
	words = (uint64_t *)address;
	for (i = 0; i < n; i++)
		words[i] = i * 0x9E3779B97F4A7C15ull + 0x0123456789ABCDEFull;

	memset(&msg, 0, sizeof(msg));
	msg.header.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
	msg.header.msgh_size = sizeof(msg);
	msg.header.msgh_remote_port = receiver;
	msg.header.msgh_local_port = MACH_PORT_NULL;
	msg.header.msgh_id = DATA_ID;
	msg.body.msgh_descriptor_count = 1;
	msg.data.address = (void *)address;
	msg.data.size = (mach_msg_size_t)size;
	msg.data.deallocate = TRUE;            /* move it: the region leaves our space */
	msg.data.copy = MACH_MSG_VIRTUAL_COPY; /* let the kernel map rather than copy */
	msg.data.type = MACH_MSG_OOL_DESCRIPTOR;
	msg.size = size;
	msg.checksum = checksum(words, (size_t)n);
	printf("ool_transfer sender: sending %llu MiB out-of-line (checksum %016llx)\n",
	       (unsigned long long)(size >> 20), (unsigned long long)msg.checksum);
	fflush(stdout);

	msg.sent_ns = now_ns();
	mr = mach_msg(&msg.header, MACH_SEND_MSG, sizeof(msg), 0, MACH_PORT_NULL, MACH_MSG_TIMEOUT_NONE,
	              MACH_PORT_NULL);
	if (mr != MACH_MSG_SUCCESS)
		fail("sender", "mach_msg(send)", mr); /* on failure the region is still ours */

	/* With deallocate = TRUE the region at `address` is gone now: touching
	 * it would fault. Nothing to free. */
	printf("ool_transfer sender: sent in %.3f ms; the buffer left this task\n",
	       (double)(now_ns() - msg.sent_ns) / 1e6);
	mach_port_deallocate(mach_task_self(), receiver);
	return 0;
}

static int run_receiver(const char *name, const char *self, int spawn, uint64_t size)
{
	mach_port_t port = MACH_PORT_NULL;
	data_buffer_t in;
	mach_msg_return_t mr;
	kern_return_t kr;
	uint64_t received_ns, verified_ns, sum, got;
	double transfer_s, verify_s;
	pid_t child = -1;
	int result = 0;

	kr = check_in(name, &port);
	if (kr != KERN_SUCCESS)
		fail("receiver", "bootstrap_check_in", kr);
	printf("ool_transfer receiver: checked in \"%s\"\n", name);
	fflush(stdout);

	if (spawn) {
		char size_arg[32];
		snprintf(size_arg, sizeof(size_arg), "%llu", (unsigned long long)size);
		child = fork();
		if (child < 0) {
			perror("fork");
			return 1;
		}
		if (child == 0) {
			execlp(self, self, "sender", name, "--size", size_arg, (char *)NULL);
			perror("exec");
			_exit(127);
		}
	}

	/* The receive buffer holds only the inline part; the data itself
	 * arrives as a new region, whatever its size. */
	memset(&in, 0, sizeof(in));
	mr = mach_msg(&in.msg.header, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof(in), port, 60000,
	              MACH_PORT_NULL);
	received_ns = now_ns();
	if (mr != MACH_MSG_SUCCESS)
		fail("receiver", "mach_msg(receive)", mr);
	if (in.msg.header.msgh_id != DATA_ID || !(in.msg.header.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||
	    in.msg.header.msgh_size != sizeof(data_msg_t) || in.msg.body.msgh_descriptor_count != 1 ||
	    in.msg.data.type != MACH_MSG_OOL_DESCRIPTOR || in.msg.data.size != in.msg.size ||
	    in.msg.size % 8 != 0) {
		fprintf(stderr, "ool_transfer receiver: unexpected message (id %d)\n", in.msg.header.msgh_id);
		mach_msg_destroy(&in.msg.header);
		return 1;
	}
	got = in.msg.size;
	transfer_s = (double)(received_ns - in.msg.sent_ns) / 1e9;
	printf("ool_transfer receiver: %llu MiB arrived at %p in %.3f ms: %.0f MB/s\n",
	       (unsigned long long)(got >> 20), in.msg.data.address, transfer_s * 1e3,
	       (double)got / 1e6 / transfer_s);

	sum = checksum((const uint64_t *)in.msg.data.address, (size_t)(got / 8));
	verified_ns = now_ns();
	verify_s = (double)(verified_ns - received_ns) / 1e9;
	if (sum == in.msg.checksum) {
		printf("ool_transfer receiver: checksum %016llx matches (read at %.0f MB/s)\n",
		       (unsigned long long)sum, (double)got / 1e6 / verify_s);
	} else {
		printf("ool_transfer receiver: checksum %016llx, expected %016llx: MISMATCH\n",
		       (unsigned long long)sum, (unsigned long long)in.msg.checksum);
		result = 1;
	}
	if (spawn && got != size) {
		printf("ool_transfer receiver: got %llu bytes, expected %llu\n", (unsigned long long)got,
		       (unsigned long long)size);
		result = 1;
	}

	/* The region is ours now, to free like any vm_allocate'd memory. */
	vm_deallocate(mach_task_self(), (vm_address_t)in.msg.data.address, (vm_size_t)got);
	mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);

	if (child > 0) {
		int st = 0;
		while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "ool_transfer receiver: the sender failed\n");
			result = 1;
		}
	}
	return result;
}

static void usage(void)
{
	fprintf(stderr, "usage: ool_transfer [--size SIZE]\n"
	                "       ool_transfer receiver [NAME]\n"
	                "       ool_transfer sender [NAME] [--size SIZE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *role = NULL, *name = DEFAULT_NAME;
	uint64_t size = DEFAULT_SIZE;
	char unique[128];
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
			size = parse_size(argv[++i]);
			if (size == 0) {
				fprintf(stderr, "ool_transfer: bad size '%s' (a multiple of 8 below 4G)\n", argv[i]);
				return 2;
			}
		} else if (role == NULL && (strcmp(argv[i], "sender") == 0 || strcmp(argv[i], "receiver") == 0)) {
			role = argv[i];
			if (i + 1 < argc && argv[i + 1][0] != '-')
				name = argv[++i];
		} else {
			usage();
		}
	}

	if (role == NULL) {
		snprintf(unique, sizeof(unique), "%s.%ld", DEFAULT_NAME, (long)getpid());
		return run_receiver(unique, argv[0], 1, size);
	}
	if (strcmp(role, "sender") == 0)
		return run_sender(name, size);
	return run_receiver(name, argv[0], 0, size);
}
