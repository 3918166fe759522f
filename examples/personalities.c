/*
 * personalities.c - one program, three personalities at the same time.
 *
 * Mach 3 moved the operating system's personality out of the kernel: a
 * task's system calls could be sent, through its emulation vector, to a
 * server task, so 4.3BSD, System V and MS-DOS programs could run side by
 * side on one machine, each served by its own server.  This program shows
 * that with machd's emulation vector (<mach/emulation.h>) and two servers
 * written as ordinary Mach tasks:
 *
 *   fs_personality       a file server holding its own file tree in memory
 *   sandbox_personality  System V's identity and no network
 *
 * It forks three children that run the same workload code at the same
 * time: the first without emulation (Linux answers), the second with the
 * file-system calls of personality.h sent to the file server, the third
 * with the identity and network calls sent to the sandbox.  Each child
 * looks its server up by bootstrap name and calls
 * mach_emulation_set_server on its own task; a fork()ed child is a new
 * task, and the seccomp filter behind the vector is for the life of the
 * process, so the personality is taken in the child and the workload is
 * code of this same binary (no exec).  The children wait until all three
 * are set up, then run the workload: uname, list /, read /etc/os-release,
 * create, stat, read back and remove a file in /tmp, connect a TCP socket.
 *
 * A child cannot print its results with write(): under the file-system
 * personality write() belongs to the file server.  Each child sends its
 * results to this process on a pipe through mach_emulation_native, the
 * gate that is never redirected, and this process prints them step by
 * step, the three answers side by side.  It exits 0 if each personality
 * changed the answers it owns and left the others to Linux.
 *
 * Usage: personalities [FS_SERVER_NAME SANDBOX_SERVER_NAME]
 *        (default org.machd.example.fs org.machd.example.sandbox; start
 *        fs_personality and sandbox_personality first)
 */
#include <mach/emulation.h>
#include <mach/mach.h>
#include <mach/mach_error.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "example_support.h"
#include "personality.h"

enum step { STEP_UNAME, STEP_LS, STEP_CAT, STEP_FILE, STEP_NET, NSTEPS };
#define STEP_READY (-1)

static const char *const step_titles[NSTEPS] = {
	"uname()",
	"ls /",
	"first line of /etc/os-release",
	"create, stat, read back and remove /tmp/personalities.PID",
	"socket(AF_INET) and connect to 127.0.0.1 port 9",
};

struct run {
	const char *label;
	const char *server;   /* bootstrap name, NULL: no emulation */
	const int *calls;
	unsigned ncalls;
	const char *how;
	pid_t pid;
	int report;           /* read end of the child's pipe */
	int ready;
	char text[NSTEPS][512];
	int error[NSTEPS];    /* errno of the step, 0 if it worked */
	int seen[NSTEPS];
};

/* ---- the workload (in the children) ------------------------------------------ */

static int report_fd = -1;

/* One result line "STEP\tERRNO\tTEXT\n" to the parent, written through the
 * native gate: the child's write() may belong to its personality. */
static void report(int step, int error, const char *fmt, ...)
{
	char line[600], text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	int n = snprintf(line, sizeof line, "%d\t%d\t%s\n", step, error, text);
	if (n > (int)sizeof line - 1)
		n = (int)sizeof line - 1, line[n - 1] = '\n';
	mach_emulation_native(SYS_write, report_fd, (long)line, n, 0, 0, 0);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_root(void)
{
	DIR *d = opendir("/");
	if (d == NULL) {
		report(STEP_LS, errno, "opendir: %s", strerror(errno));
		return;
	}
	char *names[256];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < 256)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof names[0], by_name);
	char line[512];
	size_t used = 0;
	line[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (used + strlen(names[i]) + 12 < 60)
			used += (size_t)snprintf(line + used, sizeof line - used, "%s ", names[i]);
		else if (used + 5 < sizeof line && strstr(line, "...") == NULL)
			used += (size_t)snprintf(line + used, sizeof line - used, "... ");
		free(names[i]);
	}
	report(STEP_LS, 0, "%s(%d entries)", line, n);
}

static void first_line(const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		report(STEP_CAT, errno, "open: %s", strerror(errno));
		return;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	int error = errno;
	close(fd);
	if (n < 0) {
		report(STEP_CAT, error, "read: %s", strerror(error));
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	report(STEP_CAT, 0, "%s", buf);
}

static void file_round_trip(void)
{
	char path[64], text[64], back[64];
	struct stat st;
	snprintf(path, sizeof path, "/tmp/personalities.%d", (int)getpid());
	int len = snprintf(text, sizeof text, "written by pid %d", (int)getpid());
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0) {
		report(STEP_FILE, errno, "open: %s", strerror(errno));
		return;
	}
	ssize_t wrote = write(fd, text, (size_t)len);
	close(fd);
	if (wrote != len || stat(path, &st) != 0) {
		report(STEP_FILE, errno ? errno : EIO, "write or stat: %s", strerror(errno));
		unlink(path);
		return;
	}
	fd = open(path, O_RDONLY);
	ssize_t got = fd >= 0 ? read(fd, back, sizeof back - 1) : -1;
	if (fd >= 0)
		close(fd);
	back[got > 0 ? got : 0] = '\0';
	int removed = unlink(path) == 0;
	report(STEP_FILE, 0, "%zd bytes, stat: %lld bytes on device %#llx, read back \"%s\"%s", wrote,
	       (long long)st.st_size, (unsigned long long)st.st_dev, back, removed ? "" : ", not removed");
}

static void try_network(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0) {
		report(STEP_NET, errno, "socket: %s", strerror(errno));
		return;
	}
	struct sockaddr_in to;
	memset(&to, 0, sizeof to);
	to.sin_family = AF_INET;
	to.sin_port = htons(9);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int r = connect(s, (struct sockaddr *)&to, sizeof to);
	int error = errno;
	close(s);
	if (r == 0)
		report(STEP_NET, 0, "connected");
	else
		report(STEP_NET, error, "socket made; connect: %s", strerror(error));
}

static void workload(void)
{
	struct utsname u;
	if (uname(&u) == 0)
		report(STEP_UNAME, 0, "%s %s %s", u.sysname, u.release, u.machine);
	else
		report(STEP_UNAME, errno, "%s", strerror(errno));
	list_root();
	first_line("/etc/os-release");
	file_round_trip();
	try_network();
}

/* The child: takes its personality, says it is ready, waits for `go` to
 * close, runs the workload. */
static int child(const struct run *r, int go)
{
	if (r->server != NULL) {
		mach_port_t server = MACH_PORT_NULL;
		kern_return_t kr = look_up(r->server, 10.0, &server);
		if (kr == KERN_SUCCESS)
			kr = mach_emulation_set_server(mach_task_self(), r->calls, r->ncalls, server);
		if (kr != KERN_SUCCESS) {
			report(STEP_READY, EINVAL, "%s: %s", r->server, mach_error_string(kr));
			return 3;
		}
	}
	report(STEP_READY, 0, "ready");
	char c;
	mach_emulation_native(SYS_read, go, (long)&c, 1, 0, 0, 0); /* end of file: go */
	workload();
	return 0;
}

/* ---- the parent ------------------------------------------------------------- */

/* Reads the child's lines until its "ready" (until_ready) or its end. */
static void read_reports(struct run *r, FILE *in, int until_ready)
{
	char line[640];
	while (fgets(line, sizeof line, in) != NULL) {
		int step, error, at = 0;
		if (sscanf(line, "%d\t%d\t%n", &step, &error, &at) != 2 || at == 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (step == STEP_READY) {
			r->ready = error == 0;
			if (!r->ready)
				fprintf(stderr, "personalities: %s: %s\n", r->label, line + at);
			if (until_ready)
				return;
		} else if (step >= 0 && step < NSTEPS) {
			snprintf(r->text[step], sizeof r->text[step], "%s", line + at);
			r->error[step] = error;
			r->seen[step] = 1;
		}
	}
}

/* A check of what the personalities changed; prints and counts a failure. */
static int expect(int ok, const char *what)
{
	if (!ok)
		fprintf(stderr, "personalities: FAILED: %s\n", what);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *fs_name = "org.machd.example.fs", *sandbox_name = "org.machd.example.sandbox";
	if (argc == 3) {
		fs_name = argv[1];
		sandbox_name = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: personalities [FS_SERVER_NAME SANDBOX_SERVER_NAME]\n");
		return 2;
	}
	struct run runs[3] = {
		{.label = "native", .how = "no emulation vector: Linux answers every call"},
		{.label = "fs", .server = fs_name, .calls = fs_personality_calls, .ncalls = FS_PERSONALITY_NCALLS,
		 .how = "file-system calls -> fs_personality"},
		{.label = "sandbox", .server = sandbox_name, .calls = sandbox_personality_calls,
		 .ncalls = SANDBOX_PERSONALITY_NCALLS, .how = "uname and network calls -> sandbox_personality"},
	};
	struct run *native = &runs[0], *fs = &runs[1], *sandbox = &runs[2];
	FILE *in[3];
	int go[2];
	if (pipe(go) != 0) {
		perror("pipe");
		return 1;
	}
	fflush(stdout);
	for (int i = 0; i < 3; i++) {
		int p[2];
		if (pipe(p) != 0) {
			perror("pipe");
			return 1;
		}
		runs[i].pid = fork();
		if (runs[i].pid == 0) {
			/* Closed before the personality: close() may become the server's. */
			close(p[0]);
			close(go[1]);
			for (int j = 0; j < i; j++)
				fclose(in[j]);
			report_fd = p[1];
			_exit(child(&runs[i], go[0]));
		}
		close(p[1]);
		in[i] = fdopen(p[0], "r");
		if (runs[i].pid < 0) {
			perror("fork");
			return 1;
		}
	}
	close(go[0]);
	for (int i = 0; i < 3; i++)
		read_reports(&runs[i], in[i], 1);
	close(go[1]); /* all three start */
	int failures = 0;
	for (int i = 0; i < 3; i++) {
		read_reports(&runs[i], in[i], 0);
		fclose(in[i]);
		int status = 0;
		waitpid(runs[i].pid, &status, 0);
		char what[96];
		snprintf(what, sizeof what, "the %s run exits 0 after every step", runs[i].label);
		int all = runs[i].ready;
		for (int s = 0; s < NSTEPS; s++)
			all &= runs[i].seen[s];
		failures += expect(all && WIFEXITED(status) && WEXITSTATUS(status) == 0, what);
	}

	printf("One program, three runs at the same time:\n");
	for (int i = 0; i < 3; i++)
		printf("  %-8s pid %-7d %s%s%s\n", runs[i].label, (int)runs[i].pid, runs[i].how,
		       runs[i].server ? " at " : "", runs[i].server ? runs[i].server : "");
	for (int s = 0; s < NSTEPS; s++) {
		printf("\n%s\n", step_titles[s]);
		for (int i = 0; i < 3; i++)
			printf("  %-8s %s\n", runs[i].label, runs[i].seen[s] ? runs[i].text[s] : "(no answer)");
	}
	printf("\n");

	/* Each personality answers what it owns and leaves the rest to Linux. */
	failures += expect(strcmp(fs->text[STEP_UNAME], native->text[STEP_UNAME]) == 0,
	                   "the fs run's uname is Linux's");
	failures += expect(strcmp(sandbox->text[STEP_UNAME], native->text[STEP_UNAME]) != 0 &&
	                       sandbox->error[STEP_UNAME] == 0,
	                   "the sandbox run's uname is not Linux's");
	failures += expect(fs->error[STEP_CAT] == 0 && strcmp(fs->text[STEP_CAT], native->text[STEP_CAT]) != 0,
	                   "the fs run reads the file server's /etc/os-release");
	failures += expect(strcmp(sandbox->text[STEP_CAT], native->text[STEP_CAT]) == 0,
	                   "the sandbox run reads Linux's /etc/os-release");
	failures += expect(strcmp(fs->text[STEP_LS], native->text[STEP_LS]) != 0,
	                   "the fs run lists the file server's root");
	failures += expect(fs->error[STEP_FILE] == 0, "the fs run writes and reads back a file in the server's /tmp");
	failures += expect(sandbox->error[STEP_NET] == EACCES, "the sandbox refuses the socket with EACCES");
	failures += expect(fs->error[STEP_NET] != EACCES && native->error[STEP_NET] != EACCES,
	                   "the other runs are not refused the socket");
	if (failures == 0)
		printf("personalities: each personality answered its own calls and left the others to Linux\n");
	return failures == 0 ? 0 : 1;
}
