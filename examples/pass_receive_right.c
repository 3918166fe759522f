/*
 * pass_receive_right.c - moving a receive right, with its queue, to another task.
 *
 *   pass_receive_right                    both roles: runs the receiver here and
 *                                         starts the sender as a second process
 *   pass_receive_right receiver [NAME]    only the receiver
 *   pass_receive_right sender [NAME]      only the sender
 *
 * A receive right is the one capability to dequeue a port's messages, and it
 * can travel in a message like any other right. Here the sender creates a
 * port, queues three messages on it, and then sends the port's receive right
 * to the receiver in a port descriptor with MACH_MSG_TYPE_MOVE_RECEIVE. The
 * queued messages move with the port: the receiver dequeues them, in order,
 * followed by a fourth one the sender sent after the move through the send
 * right it kept.
 *
 * The two processes meet through the bootstrap: the receiver checks in a
 * rendezvous name, the sender looks it up. (A forked child could not simply
 * inherit a port: after fork() the child is a new task holding none of its
 * parent's rights, on macOS as here. So the single-command mode starts the
 * sender with fork() + exec() and passes it the rendezvous name.)
 */
#include <mach/mach.h>
#include <servers/bootstrap.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "example_support.h"

#define DEFAULT_NAME "org.machd.example.pass"
#define NOTE_ID 1000     /* a message queued on the moved port */
#define TRANSFER_ID 1001 /* the message carrying the receive right */
#define QUEUED_BEFORE 3  /* messages queued before the move */
#define TOTAL 4          /* ... and one more sent after it */

typedef struct {
	mach_msg_header_t header;
	uint32_t seq;
	char text[60];
} note_msg_t;

typedef struct {
	mach_msg_header_t header;
	mach_msg_body_t body;             /* a complex message: descriptors follow */
	mach_msg_port_descriptor_t port;  /* the receive right */
	uint32_t queued;                  /* messages queued when it was sent */
	uint32_t total;                   /* messages the receiver should expect */
} transfer_msg_t;

/* Receive buffers: the message plus room for any trailer. */
typedef struct {
	note_msg_t msg;
	mach_msg_max_trailer_t trailer;
} note_buffer_t;

typedef struct {
	transfer_msg_t msg;
	mach_msg_max_trailer_t trailer;
} transfer_buffer_t;

static void fail(const char *role, const char *what, kern_return_t kr)
{
	fprintf(stderr, "pass_receive_right %s: %s: %s (0x%x)\n", role, what, mach_error_string(kr), kr);
	exit(1);
}

/* ------------------------------------------------------------------------ */
/* The sender.                                                              */

static void send_note(mach_port_t port, uint32_t seq, const char *when)
{
	note_msg_t note;
	mach_msg_return_t mr;

	memset(&note, 0, sizeof(note));
	note.header.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
	note.header.msgh_size = sizeof(note);
	note.header.msgh_remote_port = port;
	note.header.msgh_local_port = MACH_PORT_NULL;
	note.header.msgh_id = NOTE_ID;
	note.seq = seq;
	snprintf(note.text, sizeof(note.text), "note %u of %d, sent %s", seq, TOTAL, when);
	/* The queue limit is 5 by default; we never queue more than 4, so
	 * this send does not block. */
	mr = mach_msg(&note.header, MACH_SEND_MSG, sizeof(note), 0, MACH_PORT_NULL,
	              MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
	if (mr != MACH_MSG_SUCCESS)
		fail("sender", "mach_msg(send note)", mr);
}

static int run_sender(const char *name)
{
	mach_port_t rendezvous = MACH_PORT_NULL, port = MACH_PORT_NULL;
	mach_port_type_t type = 0;
	transfer_msg_t transfer;
	mach_msg_return_t mr;
	kern_return_t kr;
	uint32_t seq;

	kr = look_up(name, 10, &rendezvous);
	if (kr != KERN_SUCCESS)
		fail("sender", "bootstrap_look_up", kr);

	/* A new port: its receive right, plus a send right under the same name. */
	kr = mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port);
	if (kr != KERN_SUCCESS)
		fail("sender", "mach_port_allocate", kr);
	kr = mach_port_insert_right(mach_task_self(), port, port, MACH_MSG_TYPE_MAKE_SEND);
	if (kr != KERN_SUCCESS)
		fail("sender", "mach_port_insert_right", kr);

	for (seq = 1; seq <= QUEUED_BEFORE; seq++)
		send_note(port, seq, "before the move");
	printf("pass_receive_right sender: queued %d messages on port 0x%x\n", QUEUED_BEFORE, port);

	/* Move the receive right. The descriptor names it in our space; the
	 * kernel takes it out of our space and inserts it in the receiver's. */
	memset(&transfer, 0, sizeof(transfer));
	transfer.header.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
	transfer.header.msgh_size = sizeof(transfer);
	transfer.header.msgh_remote_port = rendezvous;
	transfer.header.msgh_local_port = MACH_PORT_NULL;
	transfer.header.msgh_id = TRANSFER_ID;
	transfer.body.msgh_descriptor_count = 1;
	transfer.port.name = port;
	transfer.port.disposition = MACH_MSG_TYPE_MOVE_RECEIVE;
	transfer.port.type = MACH_MSG_PORT_DESCRIPTOR;
	transfer.queued = QUEUED_BEFORE;
	transfer.total = TOTAL;
	mr = mach_msg(&transfer.header, MACH_SEND_MSG, sizeof(transfer), 0, MACH_PORT_NULL,
	              MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
	if (mr != MACH_MSG_SUCCESS)
		fail("sender", "mach_msg(send receive right)", mr);

	/* The name now denotes only our send right. */
	kr = mach_port_type(mach_task_self(), port, &type);
	if (kr != KERN_SUCCESS)
		fail("sender", "mach_port_type", kr);
	printf("pass_receive_right sender: moved the receive right; 0x%x is now %s\n", port,
	       type == MACH_PORT_TYPE_SEND ? "a send right only" : "something unexpected");
	if (type != MACH_PORT_TYPE_SEND)
		return 1;

	/* The send right still reaches the port, wherever its receiver is. */
	send_note(port, TOTAL, "after the move");
	mach_port_deallocate(mach_task_self(), port);
	mach_port_deallocate(mach_task_self(), rendezvous);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The receiver.                                                            */

static int run_receiver(const char *name, const char *self, int spawn)
{
	mach_port_t rendezvous = MACH_PORT_NULL, port;
	mach_port_status_t status;
	mach_msg_type_number_t count = MACH_PORT_RECEIVE_STATUS_COUNT;
	transfer_buffer_t in;
	mach_msg_return_t mr;
	kern_return_t kr;
	pid_t child = -1;
	uint32_t seq;
	int result = 0;

	kr = check_in(name, &rendezvous);
	if (kr != KERN_SUCCESS)
		fail("receiver", "bootstrap_check_in", kr);
	printf("pass_receive_right receiver: checked in \"%s\"\n", name);
	fflush(stdout);

	if (spawn) {
		/* The sender: a second process, this same program. */
		child = fork();
		if (child < 0) {
			perror("fork");
			return 1;
		}
		if (child == 0) {
			execlp(self, self, "sender", name, (char *)NULL);
			perror("exec");
			_exit(127);
		}
	}

	/* The message with the port descriptor. (Wait up to 30 s.) */
	memset(&in, 0, sizeof(in));
	mr = mach_msg(&in.msg.header, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof(in), rendezvous, 30000,
	              MACH_PORT_NULL);
	if (mr != MACH_MSG_SUCCESS)
		fail("receiver", "mach_msg(receive the right)", mr);
	if (in.msg.header.msgh_id != TRANSFER_ID || !(in.msg.header.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||
	    in.msg.header.msgh_size != sizeof(transfer_msg_t) || in.msg.body.msgh_descriptor_count != 1 ||
	    in.msg.port.type != MACH_MSG_PORT_DESCRIPTOR ||
	    in.msg.port.disposition != MACH_MSG_TYPE_PORT_RECEIVE) {
		fprintf(stderr, "pass_receive_right receiver: unexpected message (id %d)\n",
		        in.msg.header.msgh_id);
		mach_msg_destroy(&in.msg.header);
		return 1;
	}
	/* The descriptor now holds the name of the receive right in OUR space. */
	port = in.msg.port.name;

	kr = mach_port_get_attributes(mach_task_self(), port, MACH_PORT_RECEIVE_STATUS,
	                              (mach_port_info_t)&status, &count);
	if (kr != KERN_SUCCESS)
		fail("receiver", "mach_port_get_attributes", kr);
	printf("pass_receive_right receiver: got the receive right of a port as 0x%x, "
	       "%u message(s) queued on it\n", port, status.mps_msgcount);
	if (status.mps_msgcount < in.msg.queued) {
		fprintf(stderr, "pass_receive_right receiver: expected at least %u queued messages\n",
		        in.msg.queued);
		result = 1;
	}

	/* Dequeue them: they must come in the order they were sent. */
	for (seq = 1; seq <= in.msg.total; seq++) {
		note_buffer_t note;
		memset(&note, 0, sizeof(note));
		mr = mach_msg(&note.msg.header, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof(note), port,
		              10000, MACH_PORT_NULL);
		if (mr != MACH_MSG_SUCCESS)
			fail("receiver", "mach_msg(receive a note)", mr);
		note.msg.text[sizeof(note.msg.text) - 1] = '\0';
		printf("pass_receive_right receiver:   %u: \"%s\"%s\n", note.msg.seq, note.msg.text,
		       note.msg.seq == seq ? "" : "  <- OUT OF ORDER");
		if (note.msg.header.msgh_id != NOTE_ID || note.msg.seq != seq)
			result = 1;
	}

	/* Nothing else should be queued: a receive with a zero timeout polls. */
	{
		note_buffer_t extra;
		mr = mach_msg(&extra.msg.header, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof(extra), port, 0,
		              MACH_PORT_NULL);
		if (mr != MACH_RCV_TIMED_OUT) {
			fprintf(stderr, "pass_receive_right receiver: queue not empty at the end (0x%x)\n", mr);
			result = 1;
		}
	}

	mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
	mach_port_mod_refs(mach_task_self(), rendezvous, MACH_PORT_RIGHT_RECEIVE, -1);

	if (child > 0) {
		int st = 0;
		while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "pass_receive_right receiver: the sender failed\n");
			result = 1;
		}
	}
	printf("pass_receive_right receiver: %s\n", result == 0 ? "all messages arrived in order" : "FAILED");
	return result;
}

int main(int argc, char **argv)
{
	char unique[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 1) {
		/* One command: a rendezvous name nobody else uses. */
		snprintf(unique, sizeof(unique), "%s.%ld", DEFAULT_NAME, (long)getpid());
		return run_receiver(unique, argv[0], 1);
	}
	if (strcmp(argv[1], "receiver") == 0 && argc <= 3)
		return run_receiver(argc == 3 ? argv[2] : DEFAULT_NAME, argv[0], 0);
	if (strcmp(argv[1], "sender") == 0 && argc <= 3)
		return run_sender(argc == 3 ? argv[2] : DEFAULT_NAME);
	fprintf(stderr, "usage: pass_receive_right [receiver|sender [NAME]]\n");
	return 2;
}
