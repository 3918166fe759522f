/*
 * personality.h - which Linux system calls each example personality takes.
 *
 * A personality is a set of system call numbers a task sends to one
 * emulation server (<mach/emulation.h>: mach_emulation_set_server puts
 * EML_ROUTINE_SERVER in those entries of the task's emulation vector).
 * The servers (fs_personality.c, sandbox_personality.c) answer exactly
 * these numbers; the programs that take a personality (personalities.c,
 * the system test) install exactly these.  Numbers are Linux x86_64's.
 *
 * Every call on the list goes to the server, whatever its arguments: a
 * program under the file-system personality that read()s a pipe asks the
 * file server about that descriptor, which it does not know (EBADF).
 */
#ifndef PERSONALITY_H
#define PERSONALITY_H

#include <sys/syscall.h>

/* The file system of fs_personality: descriptors, paths, directories. */
static const int fs_personality_calls[] = {
	SYS_read,     SYS_write,      SYS_open,     SYS_close,    SYS_stat,   SYS_fstat,
	SYS_lstat,    SYS_lseek,      SYS_pread64,  SYS_pwrite64, SYS_access, SYS_getcwd,
	SYS_chdir,    SYS_fchdir,     SYS_mkdir,    SYS_rmdir,    SYS_creat,  SYS_unlink,
	SYS_getdents64, SYS_openat,   SYS_mkdirat,  SYS_newfstatat, SYS_unlinkat,
	SYS_faccessat, SYS_statx,
};
#define FS_PERSONALITY_NCALLS (sizeof(fs_personality_calls) / sizeof(fs_personality_calls[0]))

/* The identity and the network of sandbox_personality. */
static const int sandbox_personality_calls[] = {
	SYS_uname,   SYS_sethostname, SYS_setdomainname,
	SYS_socket,  SYS_socketpair,  SYS_connect, SYS_bind,    SYS_listen,
	SYS_accept,  SYS_accept4,     SYS_sendto,  SYS_sendmsg, SYS_sendmmsg,
};
#define SANDBOX_PERSONALITY_NCALLS (sizeof(sandbox_personality_calls) / sizeof(sandbox_personality_calls[0]))

#endif /* PERSONALITY_H */
