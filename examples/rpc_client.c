/*
 * rpc_client.c - calls the echo server of rpc_server.c.
 *
 *   rpc_client [--count N] [--name SERVICE] [--wait SECONDS]
 *
 * The client looks the service up in the bootstrap (retrying for a while, so
 * it may start before the server), then makes N remote procedure calls. Each
 * call is one mach_msg() that sends the request and waits for the reply: the
 * request carries a send-once right to the client's reply port
 * (MACH_MSG_TYPE_MAKE_SEND_ONCE), which the server uses to answer.
 *
 * Exit status: 0 when every reply checked out, 1 otherwise.
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

/* The reply as received: the message plus the (default) trailer. */
typedef struct {
	echo_reply_t reply;
	mach_msg_trailer_t trailer;
} echo_reply_buffer_t;

static void usage(void)
{
	fprintf(stderr, "usage: rpc_client [--count N] [--name SERVICE] [--wait SECONDS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *name = DEFAULT_SERVICE;
	long count = 5;
	double wait_seconds = 10;
	mach_port_t server = MACH_PORT_NULL, reply_port = MACH_PORT_NULL;
	kern_return_t kr;
	double started, elapsed;
	long i, failures = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc)
			wait_seconds = strtod(argv[++i], NULL);
		else
			usage();
	}

	/* A send right to the server's port (look_up: example_support.h). */
	kr = look_up(name, wait_seconds, &server);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "rpc_client: bootstrap_look_up(%s): %s (0x%x)\n", name,
		        bootstrap_strerror(kr), kr);
		return 1;
	}

	/* Our reply port: a receive right in our own space. (MIG-generated
	 * code would use mig_get_reply_port() instead.) */
	kr = mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &reply_port);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "rpc_client: mach_port_allocate: %s\n", mach_error_string(kr));
		return 1;
	}
	printf("rpc_client: found \"%s\" (send right 0x%x), reply port 0x%x\n", name, server,
	       reply_port);

	started = now_seconds();
	for (i = 1; i <= count; i++) {
		union {
			echo_request_t request;
			echo_reply_buffer_t reply;
		} msg;
		char expected[ECHO_TEXT_MAX];
		mach_msg_return_t mr;
		size_t k;

		memset(&msg, 0, sizeof(msg));
		/* Remote: copy our send right to the server (we keep ours).
		 * Local: make a send-once right from our receive right; it
		 * travels with the request and the server answers through it. */
		msg.request.header.msgh_bits =
		    MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE);
		msg.request.header.msgh_size = sizeof(echo_request_t);
		msg.request.header.msgh_remote_port = server;
		msg.request.header.msgh_local_port = reply_port;
		msg.request.header.msgh_id = ECHO_REQUEST_ID;
		msg.request.number = (int32_t)i;
		snprintf(msg.request.text, sizeof(msg.request.text), "hello %ld", i);
		for (k = 0; k < sizeof(expected); k++)
			expected[k] = (char)toupper((unsigned char)msg.request.text[k]);

		/* Send and receive in one call: the reply cannot slip in between.
		 * The receive gives up after 10 s rather than hang forever. */
		mr = mach_msg(&msg.request.header, MACH_SEND_MSG | MACH_RCV_MSG | MACH_RCV_TIMEOUT,
		              sizeof(echo_request_t), sizeof(msg), reply_port, 10000, MACH_PORT_NULL);
		if (mr != MACH_MSG_SUCCESS) {
			fprintf(stderr, "rpc_client: call %ld: mach_msg: %s (0x%x)\n", i,
			        mach_error_string(mr), mr);
			return 1;
		}

		/* If the server died holding our send-once right, the kernel
		 * answers in its place with a send-once notification. */
		if (msg.reply.reply.header.msgh_id == MACH_NOTIFY_SEND_ONCE) {
			fprintf(stderr, "rpc_client: call %ld: the server died before replying\n", i);
			return 1;
		}
		if (msg.reply.reply.header.msgh_id != ECHO_REPLY_ID ||
		    msg.reply.reply.header.msgh_size != sizeof(echo_reply_t)) {
			fprintf(stderr, "rpc_client: call %ld: unexpected reply (id %d, size %u)\n", i,
			        msg.reply.reply.header.msgh_id, msg.reply.reply.header.msgh_size);
			mach_msg_destroy(&msg.reply.reply.header);
			return 1;
		}
		msg.reply.reply.text[ECHO_TEXT_MAX - 1] = '\0';
		if (msg.reply.reply.number != 2 * (int32_t)i || strcmp(msg.reply.reply.text, expected) != 0) {
			failures++;
			printf("rpc_client: call %ld: \"hello %ld\" -> %d \"%s\": WRONG\n", i, i,
			       msg.reply.reply.number, msg.reply.reply.text);
		} else {
			printf("rpc_client: call %ld: \"hello %ld\" -> %d \"%s\" (request %u at the server): ok\n",
			       i, i, msg.reply.reply.number, msg.reply.reply.text, msg.reply.reply.served);
		}
	}
	elapsed = now_seconds() - started;

	if (count > 0)
		printf("rpc_client: %ld call(s), %ld wrong, %.1f us per round trip\n", count, failures,
		       elapsed * 1e6 / (double)count);

	mach_port_mod_refs(mach_task_self(), reply_port, MACH_PORT_RIGHT_RECEIVE, -1);
	mach_port_deallocate(mach_task_self(), server);
	return failures == 0 ? 0 : 1;
}
