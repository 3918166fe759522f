/*
 * dead_name.c - learning that a peer died, with a dead-name notification.
 *
 *   dead_name                    both roles: the watcher here, the peer as a
 *                                second process, which the watcher kill -9s
 *   dead_name peer [NAME]        only the peer: checks in NAME and waits
 *   dead_name watcher [NAME]     only the watcher: waits until the peer dies
 *                                (kill it yourself)
 *
 * When the last receive right of a port is destroyed - for instance because
 * the task holding it exited or was killed - every send right to the port
 * turns into a "dead name". A task that asked for it with
 * mach_port_request_notification(MACH_NOTIFY_DEAD_NAME) then gets a message,
 * mach_dead_name_notification_t, naming the right that died. This is how
 * Mach clients notice that their server went away, without polling.
 */
#include <mach/mach.h>
#include <servers/bootstrap.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "example_support.h"

#define DEFAULT_NAME "org.machd.example.peer"

static void fail(const char *role, const char *what, kern_return_t kr)
{
	fprintf(stderr, "dead_name %s: %s: %s (0x%x)\n", role, what, mach_error_string(kr), kr);
	exit(1);
}

/* The peer: a server that checks in and then waits for requests forever. */
static int run_peer(const char *name)
{
	mach_port_t port = MACH_PORT_NULL;
	kern_return_t kr;

	kr = check_in(name, &port);
	if (kr != KERN_SUCCESS)
		fail("peer", "bootstrap_check_in", kr);
	printf("dead_name peer: pid %ld holds the receive right of \"%s\"\n", (long)getpid(), name);
	fflush(stdout);
	for (;;) {
		union {
			mach_msg_header_t header;
			char space[1024];
		} msg;
		mach_msg_return_t mr = mach_msg(&msg.header, MACH_RCV_MSG, 0, sizeof(msg), port,
		                                MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
		if (mr == MACH_MSG_SUCCESS)
			mach_msg_destroy(&msg.header); /* this peer ignores requests */
		else if (mr != MACH_RCV_TOO_LARGE) /* (too large: the kernel dropped it) */
			fail("peer", "mach_msg", mr);
	}
	return 0; /* not reached */
}

static int run_watcher(const char *name, const char *self, int spawn)
{
	mach_port_t peer = MACH_PORT_NULL, notify = MACH_PORT_NULL, previous = MACH_PORT_NULL;
	mach_port_type_t type = 0;
	mach_port_urefs_t refs = 0;
	mach_msg_return_t mr;
	kern_return_t kr;
	pid_t child = -1;
	double killed_at = 0;
	union {
		mach_dead_name_notification_t notification;
		char space[256];
	} msg;

	if (spawn) {
		child = fork();
		if (child < 0) {
			perror("fork");
			return 1;
		}
		if (child == 0) {
			execlp(self, self, "peer", name, (char *)NULL);
			perror("exec");
			_exit(127);
		}
	}

	/* A send right to the peer's port. */
	kr = look_up(name, 10, &peer);
	if (kr != KERN_SUCCESS)
		fail("watcher", "bootstrap_look_up", kr);

	/* A port of our own to receive the notification on. */
	kr = mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &notify);
	if (kr != KERN_SUCCESS)
		fail("watcher", "mach_port_allocate", kr);

	/* Ask for the dead-name notification. The kernel keeps a send-once
	 * right to `notify` (made here from our receive right) and uses it
	 * when `peer` dies. */
	kr = mach_port_request_notification(mach_task_self(), peer, MACH_NOTIFY_DEAD_NAME, 0, notify,
	                                    MACH_MSG_TYPE_MAKE_SEND_ONCE, &previous);
	if (kr != KERN_SUCCESS)
		fail("watcher", "mach_port_request_notification", kr);
	if (previous != MACH_PORT_NULL)
		mach_port_deallocate(mach_task_self(), previous);
	printf("dead_name watcher: holding send right 0x%x to \"%s\"; dead-name notification requested\n",
	       peer, name);
	fflush(stdout);

	if (spawn) {
		printf("dead_name watcher: kill -9 %ld\n", (long)child);
		fflush(stdout);
		killed_at = now_seconds();
		if (kill(child, SIGKILL) != 0) {
			perror("kill");
			return 1;
		}
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
		}
	} else {
		printf("dead_name watcher: waiting for the peer to die\n");
		fflush(stdout);
	}

	/* The notification. (If we are spawning, give up after 10 s.) */
	memset(&msg, 0, sizeof(msg));
	mr = mach_msg(&msg.notification.not_header, MACH_RCV_MSG | (spawn ? MACH_RCV_TIMEOUT : 0), 0,
	              sizeof(msg), notify, spawn ? 10000 : MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
	if (mr != MACH_MSG_SUCCESS)
		fail("watcher", "mach_msg(receive the notification)", mr);
	if (msg.notification.not_header.msgh_id != MACH_NOTIFY_DEAD_NAME) {
		fprintf(stderr, "dead_name watcher: unexpected message id %d\n",
		        msg.notification.not_header.msgh_id);
		return 1;
	}
	if (spawn)
		printf("dead_name watcher: MACH_NOTIFY_DEAD_NAME for 0x%x, %.2f ms after the kill\n",
		       msg.notification.not_port, (now_seconds() - killed_at) * 1e3);
	else
		printf("dead_name watcher: MACH_NOTIFY_DEAD_NAME for 0x%x\n", msg.notification.not_port);

	/* The name we held is now a dead name. The notification carried one
	 * more user reference to it, so we release them all. */
	kr = mach_port_type(mach_task_self(), peer, &type);
	if (kr != KERN_SUCCESS)
		fail("watcher", "mach_port_type", kr);
	mach_port_get_refs(mach_task_self(), peer, MACH_PORT_RIGHT_DEAD_NAME, &refs);
	printf("dead_name watcher: 0x%x is %s with %u user reference(s)\n", peer,
	       type == MACH_PORT_TYPE_DEAD_NAME ? "a dead name" : "NOT a dead name", refs);
	if (refs > 0)
		mach_port_mod_refs(mach_task_self(), peer, MACH_PORT_RIGHT_DEAD_NAME, -(mach_port_delta_t)refs);
	mach_port_mod_refs(mach_task_self(), notify, MACH_PORT_RIGHT_RECEIVE, -1);

	return msg.notification.not_port == peer && type == MACH_PORT_TYPE_DEAD_NAME ? 0 : 1;
}

int main(int argc, char **argv)
{
	char unique[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 1) {
		snprintf(unique, sizeof(unique), "%s.%ld", DEFAULT_NAME, (long)getpid());
		return run_watcher(unique, argv[0], 1);
	}
	if (strcmp(argv[1], "peer") == 0 && argc <= 3)
		return run_peer(argc == 3 ? argv[2] : DEFAULT_NAME);
	if (strcmp(argv[1], "watcher") == 0 && argc <= 3)
		return run_watcher(argc == 3 ? argv[2] : DEFAULT_NAME, argv[0], 0);
	fprintf(stderr, "usage: dead_name [peer|watcher [NAME]]\n");
	return 2;
}
