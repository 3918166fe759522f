/*
 * net_echo.c - the echo service across hosts: a server checks its port in
 * with the network name service, a client on another host looks it up and
 * calls it as it would a local port. Needs mach-netmsgd on both hosts.
 *
 *   net_echo serve NAME            serve echo requests under NAME
 *   net_echo call HOST NAME [N]    look NAME up on HOST, make N calls (default 3)
 *   net_echo relay HOST NAME AS    look NAME up on HOST and offer the right
 *                                  here under AS, with netname and bootstrap
 *                                  (a right passed on: a caller on a third
 *                                  host reaches HOST directly; a local program
 *                                  finds a remote pager's object by name)
 *
 * Part of machd (Mach IPC in user space on Linux).
 * SPDX-License-Identifier: MIT
 */
#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <servers/netname.h>
#include <machd/machd_relay.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echo_protocol.h"

static mach_port_t name_server(void)
{
	mach_port_t ns = MACH_PORT_NULL;
	kern_return_t kr = bootstrap_look_up(bootstrap_port, NETNAME_SERVICE_NAME, &ns);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "net_echo: no netname service (is mach-netmsgd running?): %s\n", mach_error_string(kr));
		exit(1);
	}
	return ns;
}

static int serve(const char *name)
{
	mach_port_t ns = name_server(), port;
	mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port);
	mach_port_insert_right(mach_task_self(), port, port, MACH_MSG_TYPE_MAKE_SEND);
	kern_return_t kr = netname_check_in(ns, (char *)name, port, port);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "net_echo: netname_check_in(%s): %d\n", name, kr);
		return 1;
	}
	printf("net_echo: serving %s\n", name);
	fflush(stdout);
	uint32_t served = 0;
	for (;;) {
		union {
			echo_request_t req;
			uint8_t space[sizeof(echo_request_t) + sizeof(mach_msg_max_trailer_t)];
		} in;
		mach_msg_return_t mr = mach_msg(&in.req.header,
		                                MACH_RCV_MSG | MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) |
		                                    MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT),
		                                0, sizeof in, port, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
		if (mr != MACH_MSG_SUCCESS) {
			fprintf(stderr, "net_echo: receive: %s\n", mach_error_string(mr));
			return 1;
		}
		if (in.req.header.msgh_id != ECHO_REQUEST_ID || in.req.header.msgh_size != sizeof in.req) {
			mach_msg_destroy(&in.req.header);
			continue;
		}
		if (served == 0) {
			/* Who is calling: a task here, or one on another host. */
			const mach_msg_audit_trailer_t *t =
			        (const mach_msg_audit_trailer_t *)((const uint8_t *)&in.req + in.req.header.msgh_size);
			machd_host_name_t from = "this host";
			if (machd_audit_token_is_remote(t->msgh_audit))
				machd_relay_host_name(mach_host_self(), machd_audit_token_remote_host(t->msgh_audit), from);
			printf("net_echo: first call from pid %u, uid %u, on %s\n", t->msgh_audit.val[5], t->msgh_audit.val[1],
			       from);
			fflush(stdout);
		}
		echo_reply_t reply;
		memset(&reply, 0, sizeof reply);
		reply.header.msgh_bits = MACH_MSGH_BITS(MACH_MSGH_BITS_REMOTE(in.req.header.msgh_bits), 0);
		reply.header.msgh_size = sizeof reply;
		reply.header.msgh_remote_port = in.req.header.msgh_remote_port;
		reply.header.msgh_id = ECHO_REPLY_ID;
		reply.number = in.req.number * 2;
		reply.served = ++served;
		for (int i = 0; i < ECHO_TEXT_MAX && in.req.text[i]; i++)
			reply.text[i] = (char)toupper((unsigned char)in.req.text[i]);
		mach_msg(&reply.header, MACH_SEND_MSG, sizeof reply, 0, MACH_PORT_NULL, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
	}
}

static int call(const char *host, const char *name, int count)
{
	mach_port_t ns = name_server(), server = MACH_PORT_NULL, reply_port;
	kern_return_t kr = netname_look_up(ns, (char *)host, (char *)name, &server);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "net_echo: netname_look_up(%s, %s): %d\n", host, name, kr);
		return 1;
	}
	mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &reply_port);
	for (int i = 0; i < count; i++) {
		union {
			echo_request_t req;
			struct {
				echo_reply_t reply;
				mach_msg_max_trailer_t trailer;
			} out;
		} m;
		memset(&m, 0, sizeof m);
		m.req.header.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE);
		m.req.header.msgh_size = sizeof m.req;
		m.req.header.msgh_remote_port = server;
		m.req.header.msgh_local_port = reply_port;
		m.req.header.msgh_id = ECHO_REQUEST_ID;
		m.req.number = i;
		snprintf(m.req.text, sizeof m.req.text, "hello %d from afar", i);
		mach_msg_return_t mr = mach_msg(&m.req.header, MACH_SEND_MSG | MACH_RCV_MSG | MACH_RCV_TIMEOUT, sizeof m.req,
		                                sizeof m.out, reply_port, 10000, MACH_PORT_NULL);
		if (mr != MACH_MSG_SUCCESS) {
			fprintf(stderr, "net_echo: call %d: %s\n", i, mach_error_string(mr));
			return 1;
		}
		char want[ECHO_TEXT_MAX];
		snprintf(want, sizeof want, "HELLO %d FROM AFAR", i);
		if (m.out.reply.header.msgh_id != ECHO_REPLY_ID || m.out.reply.number != 2 * i ||
		    strcmp(m.out.reply.text, want) != 0) {
			fprintf(stderr, "net_echo: call %d: wrong reply (id %d, number %d, \"%.*s\")\n", i,
			        m.out.reply.header.msgh_id, m.out.reply.number, ECHO_TEXT_MAX, m.out.reply.text);
			return 1;
		}
	}
	printf("net_echo: %d calls to %s on %s answered\n", count, name, host);
	return 0;
}

static int relay(const char *host, const char *name, const char *as)
{
	mach_port_t ns = name_server(), server = MACH_PORT_NULL, signature;
	kern_return_t kr = netname_look_up(ns, (char *)host, (char *)name, &server);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "net_echo: netname_look_up(%s, %s): %d\n", host, name, kr);
		return 1;
	}
	mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &signature);
	mach_port_insert_right(mach_task_self(), signature, signature, MACH_MSG_TYPE_MAKE_SEND);
	kr = netname_check_in(ns, (char *)as, signature, server);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "net_echo: netname_check_in(%s): %d\n", as, kr);
		return 1;
	}
	kr = bootstrap_register(bootstrap_port, (char *)as, server);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "net_echo: bootstrap_register(%s): %s\n", as, bootstrap_strerror(kr));
		return 1;
	}
	printf("net_echo: %s on %s checked in here as %s\n", name, host, as);
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2]);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "call") == 0)
		return call(argv[2], argv[3], argc == 5 ? atoi(argv[4]) : 3);
	if (argc == 5 && strcmp(argv[1], "relay") == 0)
		return relay(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: net_echo serve NAME\n       net_echo call HOST NAME [N]\n       net_echo relay HOST NAME AS\n");
	return 2;
}
