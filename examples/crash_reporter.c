/*
 * crash_reporter.c - a crash reporter: catches a crash in another task,
 * prints the faulting thread's registers and a backtrace read from the
 * task's memory, then lets the crash go on as it would have.
 *
 * The reporter forks a target that will crash (a few nested calls, then a
 * write through a bad pointer), gets the target's task port with
 * task_for_pid, and makes a port of its own the target's exception port
 * for bad accesses, bad instructions and arithmetic faults with
 * EXCEPTION_STATE_IDENTITY | MACH_EXCEPTION_CODES: the message carries the
 * thread and task ports, the codes and the thread state. The backtrace
 * walks the frame-pointer chain with mach_vm_read_overwrite on the task
 * port, and names the frames with dladdr (the target is a fork of this
 * program, so its code is at the same addresses). The reporter answers
 * KERN_FAILURE: the target then dies of SIGSEGV as without a handler.
 *
 * With --corpse it is a reporter as macOS's are: it takes EXC_CORPSE_NOTIFY
 * only. The target dies of its crash at once, and what is left of it, its
 * corpse, comes to the reporter afterwards: the same registers and
 * backtrace, read from the corpse's task and thread ports, its crash
 * information (task_map_corpse_info_64: a kcdata buffer, <kern/kcdata.h>),
 * and where each of the target's threads was (its second one waits in
 * pause()). Dropping those ports frees the corpse.
 *
 * Usage: crash_reporter [--corpse]
 */
#define _GNU_SOURCE 1 /* dladdr */
#include <kern/kcdata.h>
#include <mach/mach.h>
#include <mach/mach_error.h>
#include <mach/mach_exc.h>
#include <mach/mach_vm.h>

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern boolean_t mach_exc_server(mach_msg_header_t *request, mach_msg_header_t *reply);

/* ---- the target ----------------------------------------------------------- */

static volatile int *volatile bad_pointer = (int *)0x10;

__attribute__((noipa)) void crash_in_level3(int n) { *bad_pointer = n; }
__attribute__((noipa)) void crash_in_level2(int n) { crash_in_level3(n + 1); __asm__ volatile(""); }
__attribute__((noipa)) void crash_in_level1(int n) { crash_in_level2(n + 1); __asm__ volatile(""); }

/* A second thread, waiting when the first crashes: a corpse keeps it too. */
static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int target(int go_fd)
{
	pthread_t idle;
	if (pthread_create(&idle, NULL, idle_thread, NULL) != 0)
		return 3;
	char c;
	if (read(go_fd, &c, 1) != 1)
		return 2;
	crash_in_level1(1);
	return 0;
}

/* ---- the reporter ---------------------------------------------------------- */

static const char *exception_name(exception_type_t e)
{
	switch (e) {
	case EXC_BAD_ACCESS: return "EXC_BAD_ACCESS";
	case EXC_BAD_INSTRUCTION: return "EXC_BAD_INSTRUCTION";
	case EXC_ARITHMETIC: return "EXC_ARITHMETIC";
	case EXC_BREAKPOINT: return "EXC_BREAKPOINT";
	case EXC_CORPSE_NOTIFY: return "EXC_CORPSE_NOTIFY";
	default: return "exception";
	}
}

static void print_frame(int i, uint64_t pc)
{
	Dl_info info;
	if (dladdr((void *)(uintptr_t)pc, &info) && info.dli_sname != NULL)
		printf("  #%d 0x%016llx %s + %llu\n", i, (unsigned long long)pc, info.dli_sname,
		       (unsigned long long)(pc - (uint64_t)(uintptr_t)info.dli_saddr));
	else
		printf("  #%d 0x%016llx\n", i, (unsigned long long)pc);
}

kern_return_t catch_mach_exception_raise_state_identity(mach_port_t port, mach_port_t thread, mach_port_t task,
                                                        exception_type_t exception, mach_exception_data_t code,
                                                        mach_msg_type_number_t code_count, int *flavor,
                                                        thread_state_t old_state, mach_msg_type_number_t old_count,
                                                        thread_state_t new_state, mach_msg_type_number_t *new_count)
{
	(void)port; (void)new_state;
	int pid = 0;
	pid_for_task(task, &pid);
	/* code points into the request, where the 64-bit codes sit at a 4-byte
	 * boundary: copied, not loaded in place. */
	mach_exception_data_type_t c[2] = {0, 0};
	if (code_count > 0)
		memcpy(c, code, (code_count < 2 ? code_count : 2) * sizeof c[0]);
	if (exception == EXC_CORPSE_NOTIFY) /* code: the exception that made it; subcode: (reason << 32) | signal */
		printf("crash_reporter: the corpse of process %d: %s (%s, signal %d)\n", pid, exception_name(exception),
		       c[0] == EXC_CRASH ? "EXC_CRASH" : "?", (int)(c[1] & 0xffffffff));
	else
		printf("crash_reporter: process %d: %s (code 0x%llx, subcode 0x%llx)\n", pid, exception_name(exception),
		       (unsigned long long)c[0], (unsigned long long)c[1]);
	if (*flavor == x86_THREAD_STATE64 && old_count >= x86_THREAD_STATE64_COUNT) {
		/* old_state points into the request (4-byte aligned): copied. */
		x86_thread_state64_t state;
		memcpy(&state, old_state, sizeof state);
		const x86_thread_state64_t *s = &state;
		printf("  rip 0x%016llx  rsp 0x%016llx  rbp 0x%016llx  rflags 0x%llx\n", (unsigned long long)s->__rip,
		       (unsigned long long)s->__rsp, (unsigned long long)s->__rbp, (unsigned long long)s->__rflags);
		printf("  rax 0x%016llx  rbx 0x%016llx  rcx 0x%016llx  rdx 0x%016llx\n", (unsigned long long)s->__rax,
		       (unsigned long long)s->__rbx, (unsigned long long)s->__rcx, (unsigned long long)s->__rdx);
		printf("  rdi 0x%016llx  rsi 0x%016llx  r8  0x%016llx  r9  0x%016llx\n", (unsigned long long)s->__rdi,
		       (unsigned long long)s->__rsi, (unsigned long long)s->__r8, (unsigned long long)s->__r9);
		/* The thread port works too: ask for the same registers. */
		x86_thread_state64_t again;
		mach_msg_type_number_t n = x86_THREAD_STATE64_COUNT;
		kern_return_t kr = thread_get_state(thread, x86_THREAD_STATE64, (thread_state_t)&again, &n);
		printf("  thread_get_state on the thread port: %s, rip %s\n", mach_error_string(kr),
		       kr == KERN_SUCCESS && again.__rip == s->__rip ? "agrees" : "differs");
		printf("backtrace (frame pointers read with mach_vm_read_overwrite):\n");
		print_frame(0, s->__rip);
		uint64_t fp = s->__rbp;
		for (int i = 1; i < 16 && fp != 0; i++) {
			uint64_t frame[2]; /* saved rbp, return address */
			mach_vm_size_t got = 0;
			kr = mach_vm_read_overwrite(task, fp, sizeof frame, (mach_vm_address_t)(uintptr_t)frame, &got);
			if (kr != KERN_SUCCESS || got != sizeof frame || frame[1] == 0)
				break;
			print_frame(i, frame[1]);
			if (frame[0] <= fp)
				break;
			fp = frame[0];
		}
	}
	if (exception == EXC_CORPSE_NOTIFY) {
		/* Its crash information: a kcdata buffer mapped into this task. */
		mach_vm_address_t info = 0;
		mach_vm_size_t info_size = 0;
		kern_return_t kr = task_map_corpse_info_64(mach_task_self(), task, &info, &info_size);
		if (kr == KERN_SUCCESS) {
			kcdata_iter_t it = kcdata_iter((void *)(uintptr_t)info, (unsigned long)info_size);
			kcdata_iter_t name = kcdata_iter_find_type(it, TASK_CRASHINFO_PROC_NAME);
			kcdata_iter_t ppid = kcdata_iter_find_type(it, TASK_CRASHINFO_PPID);
			kcdata_iter_t uid = kcdata_iter_find_type(it, TASK_CRASHINFO_UID);
			int32_t parent = 0;
			uint32_t user = 0;
			if (kcdata_iter_valid(ppid)) memcpy(&parent, kcdata_iter_payload(ppid), sizeof parent);
			if (kcdata_iter_valid(uid)) memcpy(&user, kcdata_iter_payload(uid), sizeof user);
			printf("crash information (task_map_corpse_info_64, %llu bytes): %s, parent %d, uid %u\n",
			       (unsigned long long)info_size,
			       kcdata_iter_valid(name) ? (const char *)kcdata_iter_payload(name) : "?", parent, user);
			mach_vm_deallocate(mach_task_self(), info, info_size);
		} else {
			printf("task_map_corpse_info_64: %s\n", mach_error_string(kr));
		}
		/* A corpse has every thread of the task, each as it was at the crash. */
		thread_act_array_t threads = NULL;
		mach_msg_type_number_t nthreads = 0;
		if (task_threads(task, &threads, &nthreads) == KERN_SUCCESS) {
			printf("the corpse's %u threads (task_threads), where each was:\n", nthreads);
			for (mach_msg_type_number_t i = 0; i < nthreads; i++) {
				x86_thread_state64_t t;
				mach_msg_type_number_t n = x86_THREAD_STATE64_COUNT;
				if (thread_get_state(threads[i], x86_THREAD_STATE64, (thread_state_t)&t, &n) == KERN_SUCCESS)
					print_frame((int)i, t.__rip);
				mach_port_deallocate(mach_task_self(), threads[i]);
			}
			vm_deallocate(mach_task_self(), (vm_address_t)threads, nthreads * sizeof threads[0]);
		}
	}
	*new_count = 0;
	mach_port_deallocate(mach_task_self(), thread);
	mach_port_deallocate(mach_task_self(), task); /* (a corpse's last send right: it is freed) */
	fflush(stdout);
	/* Not handled: the crash goes on. (A corpse's reply changes nothing.) */
	return exception == EXC_CORPSE_NOTIFY ? KERN_SUCCESS : KERN_FAILURE;
}

kern_return_t catch_mach_exception_raise(mach_port_t port, mach_port_t thread, mach_port_t task,
                                         exception_type_t exception, mach_exception_data_t code,
                                         mach_msg_type_number_t code_count)
{
	(void)port; (void)thread; (void)task; (void)exception; (void)code; (void)code_count;
	return KERN_FAILURE;
}

kern_return_t catch_mach_exception_raise_state(mach_port_t port, exception_type_t exception,
                                               const mach_exception_data_t code, mach_msg_type_number_t code_count,
                                               int *flavor, const thread_state_t old_state,
                                               mach_msg_type_number_t old_count, thread_state_t new_state,
                                               mach_msg_type_number_t *new_count)
{
	(void)port; (void)exception; (void)code; (void)code_count; (void)flavor;
	(void)old_state; (void)old_count; (void)new_state; (void)new_count;
	return KERN_FAILURE;
}

int main(int argc, char **argv)
{
	const int corpse = argc > 1 && strcmp(argv[1], "--corpse") == 0;
	int go[2];
	if (pipe(go) != 0) {
		perror("pipe");
		return 1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(go[1]);
		_exit(target(go[0]));
	}
	close(go[0]);

	/* The child becomes a Mach task as it starts: wait until it is one. */
	mach_port_t task = MACH_PORT_NULL;
	kern_return_t kr = KERN_FAILURE;
	for (int i = 0; i < 500 && kr != KERN_SUCCESS; i++) {
		kr = task_for_pid(mach_task_self(), pid, &task);
		if (kr != KERN_SUCCESS) {
			struct timespec t = {0, 10 * 1000 * 1000};
			nanosleep(&t, NULL);
		}
	}
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "crash_reporter: task_for_pid(%d): %s\n", pid, mach_error_string(kr));
		kill(pid, SIGKILL);
		return 1;
	}
	mach_port_t port;
	mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port);
	mach_port_insert_right(mach_task_self(), port, port, MACH_MSG_TYPE_MAKE_SEND);
	const exception_mask_t mask =
		corpse ? EXC_MASK_CORPSE_NOTIFY : EXC_MASK_BAD_ACCESS | EXC_MASK_BAD_INSTRUCTION | EXC_MASK_ARITHMETIC;
	kr = task_set_exception_ports(task, mask, port,
	                              (exception_behavior_t)(EXCEPTION_STATE_IDENTITY | MACH_EXCEPTION_CODES),
	                              x86_THREAD_STATE64);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "crash_reporter: task_set_exception_ports: %s\n", mach_error_string(kr));
		kill(pid, SIGKILL);
		return 1;
	}
	printf("crash_reporter: watching process %d%s; telling it to crash\n", pid,
	       corpse ? " for its corpse" : "");
	fflush(stdout);
	if (write(go[1], "x", 1) != 1)
		return 1;
	kr = mach_msg_server_once(mach_exc_server, 8192, port, 0);
	if (kr != KERN_SUCCESS)
		fprintf(stderr, "crash_reporter: mach_msg_server_once: %s\n", mach_error_string(kr));

	int status = 0;
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		printf("crash_reporter: process %d died of signal %d (%s), as it would have without a handler\n", pid,
		       WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		printf("crash_reporter: process %d exited with status %d\n", pid, WEXITSTATUS(status));
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV ? 0 : 1;
}
