/*
 * sandbox_personality.c - a sandbox personality: an emulation server that
 * gives programs another system's identity and no network.
 *
 * With Mach's emulation vector the answer to a system call is whatever the
 * task that serves it decides: the same program binary can run as a
 * 4.3BSD, a System V or an MS-DOS program depending on the server its
 * calls go to.  The programs that take this personality send the calls of
 * personality.h (uname, sethostname, socket, connect, sendto, ...) to this
 * task as emulation_syscall messages (<mach/emulation.h>); everything else,
 * their files included, stays Linux's.
 *
 *   uname            answers System V Release 4's identity, not Linux's
 *                    (copied into the caller's struct utsname through its
 *                    task port, caller_memory.h)
 *   sethostname,     refused: EPERM
 *   setdomainname
 *   socket, connect, refused: EACCES, and logged with the caller's pid and
 *   bind, sendto,    what it asked for (the family of a socket, the address
 *   ... (network)    of a connect or sendto, read from its memory)
 *
 * Usage: sandbox_personality [--name NAME]  (default org.machd.example.sandbox)
 */
#define _GNU_SOURCE 1 /* struct utsname's domainname */
#include <mach/emulation.h>
#include <mach/mach.h>
#include <mach/mach_error.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>

#include "caller_memory.h"
#include "example_support.h"

static unsigned long refused;

static const char *family_name(long family)
{
	switch (family) {
	case AF_UNIX: return "AF_UNIX";
	case AF_INET: return "AF_INET";
	case AF_INET6: return "AF_INET6";
	case AF_NETLINK: return "AF_NETLINK";
	case AF_PACKET: return "AF_PACKET";
	default: return "another family";
	}
}

/* The socket address the caller passes at `addr` (len bytes), as text. */
static void address_text(pid_t pid, uint64_t addr, uint64_t len, char *out, size_t size)
{
	struct sockaddr_storage sa;
	char host[INET6_ADDRSTRLEN];
	task_t task = MACH_PORT_NULL;

	snprintf(out, size, "no address");
	if (addr == 0 || len < sizeof(sa_family_t))
		return;
	if (len > sizeof sa)
		len = sizeof sa;
	memset(&sa, 0, sizeof sa);
	if (task_for_pid(mach_task_self(), pid, &task) != KERN_SUCCESS) {
		snprintf(out, size, "an address in a task it could not reach");
		return;
	}
	if (copy_in(task, addr, &sa, len) != 0) {
		snprintf(out, size, "a bad address");
	} else if (sa.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		snprintf(out, size, "%s port %u", host, ntohs(in->sin_port));
	} else if (sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		snprintf(out, size, "[%s] port %u", host, ntohs(in6->sin6_port));
	} else if (sa.ss_family == AF_UNIX) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)&sa;
		snprintf(out, size, "unix socket %.*s", (int)sizeof un->sun_path, un->sun_path);
	} else {
		snprintf(out, size, "an address of %s", family_name(sa.ss_family));
	}
	mach_port_deallocate(mach_task_self(), task);
}

static int64_t refuse(pid_t pid, const char *what, int64_t error)
{
	refused++;
	printf("sandbox_personality: refused %s to pid %d (%s)\n", what, (int)pid, strerror((int)-error));
	return error;
}

static int64_t answer_uname(pid_t pid, uint64_t addr)
{
	struct utsname u;
	task_t task = MACH_PORT_NULL;

	memset(&u, 0, sizeof u);
	snprintf(u.sysname, sizeof u.sysname, "UNIX_System_V");
	snprintf(u.nodename, sizeof u.nodename, "sandbox");
	snprintf(u.release, sizeof u.release, "4.0");
	snprintf(u.version, sizeof u.version, "2 (answered by sandbox_personality, a Mach task)");
	snprintf(u.machine, sizeof u.machine, "i386");
	if (task_for_pid(mach_task_self(), pid, &task) != KERN_SUCCESS)
		return -EFAULT;
	int64_t r = copy_out(task, addr, &u, sizeof u);
	mach_port_deallocate(mach_task_self(), task);
	printf("sandbox_personality: uname for pid %d: %s %s\n", (int)pid, u.sysname, u.release);
	return r;
}

static int64_t serve_call(void *ctx, pid_t pid, int tid, int number, const int64_t a[6])
{
	char what[256], where[160];
	(void)ctx;
	(void)tid;
	switch (number) {
	case SYS_uname:
		return answer_uname(pid, (uint64_t)a[0]);
	case SYS_sethostname:
		return refuse(pid, "sethostname", -EPERM);
	case SYS_setdomainname:
		return refuse(pid, "setdomainname", -EPERM);
	case SYS_socket:
	case SYS_socketpair:
		snprintf(what, sizeof what, "%s(%s)", number == SYS_socket ? "socket" : "socketpair",
		         family_name(a[0]));
		return refuse(pid, what, -EACCES);
	case SYS_connect:
	case SYS_bind:
	case SYS_sendto:
		if (number == SYS_sendto)
			address_text(pid, (uint64_t)a[4], (uint64_t)a[5], where, sizeof where);
		else
			address_text(pid, (uint64_t)a[1], (uint64_t)a[2], where, sizeof where);
		snprintf(what, sizeof what, "%s to %s",
		         number == SYS_connect ? "connect" : number == SYS_bind ? "bind" : "sendto", where);
		return refuse(pid, what, -EACCES);
	case SYS_listen: return refuse(pid, "listen", -EACCES);
	case SYS_accept:
	case SYS_accept4: return refuse(pid, "accept", -EACCES);
	case SYS_sendmsg:
	case SYS_sendmmsg: return refuse(pid, "sendmsg", -EACCES);
	default: return -ENOSYS;
	}
}

int main(int argc, char **argv)
{
	const char *name = "org.machd.example.sandbox";
	if (argc == 3 && strcmp(argv[1], "--name") == 0) {
		name = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: sandbox_personality [--name NAME]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	mach_port_t port = MACH_PORT_NULL;
	kern_return_t kr = check_in(name, &port);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "sandbox_personality: check_in(%s): %s\n", name, mach_error_string(kr));
		return 1;
	}
	printf("sandbox_personality: serving System V's identity and no network as %s\n", name);
	mach_msg_return_t mr = mach_emulation_serve(port, serve_call, NULL);
	fprintf(stderr, "sandbox_personality: mach_emulation_serve: %s (refused %lu calls)\n",
	        mach_error_string(mr), refused);
	return 1;
}
