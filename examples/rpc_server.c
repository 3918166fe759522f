/*
 * rpc_server.c - a Mach echo server that clients find through the bootstrap.
 *
 *   rpc_server [--count N] [--name SERVICE]
 *
 * The server checks in a service name with the bootstrap server, which hands
 * it the receive right of the service port. It then loops: receive a request
 * with mach_msg(), answer on the send-once right the client put in
 * msgh_remote_port. With --count N it exits after N requests; without, it
 * serves until killed.
 *
 * This file and the headers it shares with the other examples use only
 * <mach/mach.h>, <servers/bootstrap.h> and standard C/POSIX, so it builds
 * unchanged on macOS. On Linux:
 *   cc rpc_server.c $(pkg-config --cflags --libs mach-compat) -o rpc_server
 *   mach-run ./rpc_server --count 5 &
 *   mach-run ./rpc_client --count 5
 */
#include <mach/mach.h>
#include <servers/bootstrap.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo_protocol.h"
#include "example_support.h"

/* What we receive into: the request plus room for the trailer the kernel
 * appends. We ask for the "sender" trailer, which carries the sender's
 * uid and gid as the kernel saw them (not as the sender claims). */
typedef struct {
	echo_request_t request;
	mach_msg_security_trailer_t trailer;
} echo_request_buffer_t;

static void usage(void)
{
	fprintf(stderr, "usage: rpc_server [--count N] [--name SERVICE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *name = DEFAULT_SERVICE;
	long count = -1; /* -1: serve forever */
	mach_port_t service = MACH_PORT_NULL;
	kern_return_t kr;
	uint32_t served = 0;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else
			usage();
	}

	/* The receive right of the service port (example_support.h). */
	kr = check_in(name, &service);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "rpc_server: bootstrap_check_in(%s): %s (0x%x)\n", name,
		        bootstrap_strerror(kr), kr);
		return 1;
	}
	printf("rpc_server: serving \"%s\" on port 0x%x", name, service);
	if (count >= 0)
		printf(" for %ld request(s)", count);
	printf("\n");
	fflush(stdout);

	while (count < 0 || (long)served < count) {
		echo_request_buffer_t in;
		echo_reply_t out;
		mach_msg_return_t mr;
		size_t len;

		/* Block until a request arrives. MACH_RCV_TRAILER_ELEMENTS asks
		 * the kernel to append the sender's security token. */
		memset(&in, 0, sizeof(in));
		mr = mach_msg(&in.request.header,
		              MACH_RCV_MSG | MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) |
		                  MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_SENDER),
		              0, sizeof(in), service, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
		if (mr != MACH_MSG_SUCCESS) {
			fprintf(stderr, "rpc_server: mach_msg(receive): %s (0x%x)\n",
			        mach_error_string(mr), mr);
			return 1;
		}

		/* Check what we got before trusting it: the right id, the right
		 * size, and a send-once reply right (the client made it with
		 * MACH_MSG_TYPE_MAKE_SEND_ONCE; we receive it as MOVE_SEND_ONCE). */
		if (in.request.header.msgh_id != ECHO_REQUEST_ID ||
		    in.request.header.msgh_size != sizeof(echo_request_t) ||
		    (in.request.header.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||
		    MACH_MSGH_BITS_REMOTE(in.request.header.msgh_bits) != MACH_MSG_TYPE_MOVE_SEND_ONCE) {
			fprintf(stderr, "rpc_server: ignoring a malformed message (id %d, size %u)\n",
			        in.request.header.msgh_id, in.request.header.msgh_size);
			/* Releases whatever rights it carried (a send-once reply
			 * right, destroyed, tells its client "no reply is coming"). */
			mach_msg_destroy(&in.request.header);
			continue;
		}
		in.request.text[ECHO_TEXT_MAX - 1] = '\0';
		served++;

		/* The reply: back through the send-once right, which the send
		 * consumes. No reply port of our own (local port NULL). */
		memset(&out, 0, sizeof(out));
		out.header.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0);
		out.header.msgh_size = sizeof(out);
		out.header.msgh_remote_port = in.request.header.msgh_remote_port;
		out.header.msgh_local_port = MACH_PORT_NULL;
		out.header.msgh_id = ECHO_REPLY_ID;
		out.number = in.request.number * 2;
		out.served = served;
		for (len = 0; in.request.text[len] != '\0'; len++)
			out.text[len] = (char)toupper((unsigned char)in.request.text[len]);

		printf("rpc_server: request %u from uid %u: %d \"%s\"\n", served,
		       in.trailer.msgh_sender.val[0], in.request.number, in.request.text);
		fflush(stdout);

		/* A send-once destination never blocks, so no timeout is needed.
		 * If the client died meanwhile the right is a dead name and the
		 * send fails; the server just carries on. */
		mr = mach_msg(&out.header, MACH_SEND_MSG, sizeof(out), 0, MACH_PORT_NULL,
		              MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
		if (mr != MACH_MSG_SUCCESS) {
			fprintf(stderr, "rpc_server: mach_msg(send reply): %s (0x%x)\n",
			        mach_error_string(mr), mr);
			/* A failed send leaves the reply right with us: free it. */
			mach_msg_destroy(&out.header);
		}
	}

	printf("rpc_server: served %u request(s), exiting\n", served);
	/* Exiting releases the receive right: the name disappears from the
	 * bootstrap and clients still holding send rights see a dead name. */
	mach_port_mod_refs(mach_task_self(), service, MACH_PORT_RIGHT_RECEIVE, -1);
	return 0;
}
