/*
 * example_support.h - how the examples meet through the bootstrap server.
 *
 * A server claims a name with check_in() and gets the receive right of its
 * port; a client finds the name with look_up() and gets a send right. Like
 * the examples, this uses only <mach/mach.h>, <servers/bootstrap.h> and
 * standard C/POSIX, so it builds unchanged on macOS.
 */
#ifndef EXAMPLE_SUPPORT_H
#define EXAMPLE_SUPPORT_H

#include <mach/mach.h>
#include <servers/bootstrap.h>

#include <stdio.h>
#include <time.h>

static inline double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Gets the receive right of `name` from the bootstrap server.
 *
 * bootstrap_check_in() is how a server claims its name. On macOS launchd
 * lets a process check in only names declared for it in a launchd plist;
 * a server started by hand there falls back to registering a port of its
 * own with the legacy bootstrap_register(). */
static inline kern_return_t check_in(const char *name, mach_port_t *port)
{
	name_t service;
	kern_return_t kr;

	snprintf(service, sizeof(service), "%s", name);
	kr = bootstrap_check_in(bootstrap_port, service, port);
	if (kr != BOOTSTRAP_UNKNOWN_SERVICE && kr != BOOTSTRAP_NOT_PRIVILEGED)
		return kr;

	kr = mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, port);
	if (kr != KERN_SUCCESS)
		return kr;
	kr = mach_port_insert_right(mach_task_self(), *port, *port, MACH_MSG_TYPE_MAKE_SEND);
	if (kr == KERN_SUCCESS) {
#ifdef __GNUC__ /* deprecated on macOS, but the way to register outside launchd */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
		kr = bootstrap_register(bootstrap_port, service, *port);
#ifdef __GNUC__
#pragma GCC diagnostic pop
#endif
	}
	/* The bootstrap server keeps its own send right; drop ours. */
	mach_port_deallocate(mach_task_self(), *port);
	if (kr != KERN_SUCCESS)
		mach_port_mod_refs(mach_task_self(), *port, MACH_PORT_RIGHT_RECEIVE, -1);
	return kr;
}

/* bootstrap_look_up(), retried for up to `wait_seconds` while the name is
 * not registered yet, so a client may start before its server. */
static inline kern_return_t look_up(const char *name, double wait_seconds, mach_port_t *port)
{
	double deadline = now_seconds() + wait_seconds;
	name_t service;
	kern_return_t kr;

	snprintf(service, sizeof(service), "%s", name);
	for (;;) {
		kr = bootstrap_look_up(bootstrap_port, service, port);
		if (kr != BOOTSTRAP_UNKNOWN_SERVICE || now_seconds() >= deadline)
			return kr;
		struct timespec pause = {0, 20 * 1000 * 1000}; /* 20 ms */
		nanosleep(&pause, NULL);
	}
}

#endif /* EXAMPLE_SUPPORT_H */
