/*
 * fs_personality.c - a file-system personality: an emulation server that is
 * a Mach file server, holding its own file tree in its memory.
 *
 * Mach 3 ran Unix as a server task: a program's system calls left it as
 * messages (through the emulation library in the program), and the Unix
 * server, an ordinary task, answered them from the files it held.  Here the
 * program's emulation vector (<mach/emulation.h>) sends the file-system
 * calls of personality.h (open, read, write, stat, getdents64, mkdir, ...)
 * to this task as emulation_syscall messages; mach_emulation_serve gives
 * each one to serve_call() with the caller's pid, taken from the message's
 * audit token.  Pointers in the arguments are reached through the caller's
 * task port (caller_memory.h).
 *
 * The tree lives in this task's memory and is made at start: /etc/motd,
 * /etc/os-release, /usr/share/README, /dev/console and an empty /tmp.
 * File descriptors are this server's, one table per calling process, so a
 * program under this personality sees only this tree, never Linux's file
 * system; two programs share the tree but not their descriptors or
 * offsets.  Descriptors 0, 1 and 2 of every new program are open on
 * /dev/console: what a program writes there is printed by this server,
 * which owns the console as the Unix server owned the terminals.
 *
 * Not served: symbolic links, permissions (every file is the server's
 * user's), descriptors across fork (a child is a new caller with a fresh
 * table), dup and fcntl (not redirected: Linux answers EBADF).
 *
 * Usage: fs_personality [--name NAME]     (default org.machd.example.fs)
 */
#define _GNU_SOURCE 1 /* struct statx, AT_EMPTY_PATH */
#include <mach/emulation.h>
#include <mach/mach.h>
#include <mach/mach_error.h>

#include <dirent.h> /* IFTODT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "caller_memory.h"
#include "example_support.h"

#define NAME_LEN     64
#define PATH_LEN     1024
#define MAX_FDS      64
#define MAX_CLIENTS  32
#define MAX_FILE     (16u << 20) /* no file grows past 16 MiB */
#define DEV_ID       0x4d46      /* st_dev of every file here */

enum node_kind { NODE_DIR, NODE_FILE, NODE_CONSOLE };

struct node {
	char name[NAME_LEN];
	enum node_kind kind;
	ino_t ino;
	struct node *parent;        /* a directory; the root is its own */
	struct node *children;      /* first entry, in creation order */
	struct node *next;          /* next entry of the parent */
	char *data;                 /* a file's bytes */
	size_t size, cap;
	struct timespec mtime;
	int linked;                 /* in the tree */
	int opens;                  /* open descriptors on it */
};

struct open_file {
	struct node *node;
	uint64_t offset;            /* bytes, or entries of a directory */
	int flags;                  /* open(2)'s */
};

struct client {
	pid_t pid;                  /* 0: a free slot */
	task_t task;                /* for copyin and copyout */
	struct node *cwd;
	struct open_file *fds[MAX_FDS];
};

static struct node *root;
static struct client clients[MAX_CLIENTS];
static ino_t next_ino = 1;

/* ---- the tree --------------------------------------------------------------- */

static struct node *make_node(struct node *dir, const char *name, enum node_kind kind)
{
	struct node *n = calloc(1, sizeof *n);
	if (n == NULL)
		return NULL;
	snprintf(n->name, sizeof n->name, "%s", name);
	n->kind = kind;
	n->ino = next_ino++;
	n->linked = 1;
	clock_gettime(CLOCK_REALTIME, &n->mtime);
	if (dir == NULL) {
		n->parent = n;
		return n;
	}
	n->parent = dir;
	struct node **tail = &dir->children;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = n;
	dir->mtime = n->mtime;
	return n;
}

static void release_node(struct node *n)
{
	if (!n->linked && n->opens == 0) {
		free(n->data);
		free(n);
	}
}

static void detach_node(struct node *n)
{
	struct node **p = &n->parent->children;
	while (*p != n)
		p = &(*p)->next;
	*p = n->next;
	clock_gettime(CLOCK_REALTIME, &n->parent->mtime);
	n->linked = 0;
	release_node(n);
}

static struct node *child_named(struct node *dir, const char *name)
{
	for (struct node *c = dir->children; c != NULL; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* Writes n bytes at `offset` of a file from the caller's `addr`; bytes
 * written or -errno. */
static int64_t file_write(struct client *c, struct node *f, uint64_t offset, uint64_t addr, uint64_t n)
{
	if (offset >= MAX_FILE)
		return -EFBIG;
	if (n > MAX_FILE - offset)
		n = MAX_FILE - offset;
	if (offset + n > f->cap) {
		size_t cap = f->cap ? f->cap : 256;
		while (cap < offset + n)
			cap *= 2;
		char *data = realloc(f->data, cap);
		if (data == NULL)
			return -ENOSPC;
		f->data = data;
		f->cap = cap;
	}
	if (offset > f->size)
		memset(f->data + f->size, 0, offset - f->size);
	int err = copy_in(c->task, addr, f->data + offset, n);
	if (err != 0)
		return err;
	if (offset + n > f->size)
		f->size = offset + n;
	clock_gettime(CLOCK_REALTIME, &f->mtime);
	return (int64_t)n;
}

static void put_text(struct node *dir, const char *name, const char *text)
{
	struct node *f = make_node(dir, name, NODE_FILE);
	f->size = f->cap = strlen(text);
	f->data = malloc(f->cap);
	memcpy(f->data, text, f->size);
}

static void make_tree(void)
{
	root = make_node(NULL, "", NODE_DIR);
	struct node *etc = make_node(root, "etc", NODE_DIR);
	put_text(etc, "motd",
	         "This file system lives in the memory of a Mach task, fs_personality.\n"
	         "Its files were made when the server started and go when it exits.\n");
	put_text(etc, "os-release",
	         "PRETTY_NAME=\"a file tree served by a Mach task (fs_personality)\"\n"
	         "NAME=\"fs_personality\"\n");
	struct node *share = make_node(make_node(root, "usr", NODE_DIR), "share", NODE_DIR);
	put_text(share, "README",
	         "Programs under the file-system personality open, read, write and list\n"
	         "these files with ordinary system calls, which their emulation vector\n"
	         "turns into messages to the server task.\n");
	make_node(make_node(root, "dev", NODE_DIR), "console", NODE_CONSOLE);
	make_node(root, "tmp", NODE_DIR);
}

/* ---- callers ---------------------------------------------------------------- */

static int open_on(struct client *c, int fd, struct node *n, int flags)
{
	struct open_file *of = calloc(1, sizeof *of);
	if (of == NULL)
		return -ENOMEM;
	of->node = n;
	of->flags = flags;
	n->opens++;
	c->fds[fd] = of;
	return fd;
}

static void close_fd(struct client *c, int fd)
{
	struct open_file *of = c->fds[fd];
	c->fds[fd] = NULL;
	of->node->opens--;
	release_node(of->node);
	free(of);
}

static void forget_client(struct client *c)
{
	for (int fd = 0; fd < MAX_FDS; fd++)
		if (c->fds[fd] != NULL)
			close_fd(c, fd);
	mach_port_deallocate(mach_task_self(), c->task);
	memset(c, 0, sizeof *c);
}

/* The caller's state, made on its first call: its task port and a table
 * with 0, 1 and 2 on the console.  Slots of processes that are gone are
 * reused.  NULL if the table is full or the task cannot be reached. */
static struct client *client_of(pid_t pid)
{
	struct client *free_slot = NULL;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i].pid == pid)
			return &clients[i];
		if (clients[i].pid != 0 && kill(clients[i].pid, 0) != 0 && errno == ESRCH)
			forget_client(&clients[i]);
		if (clients[i].pid == 0 && free_slot == NULL)
			free_slot = &clients[i];
	}
	if (free_slot == NULL)
		return NULL;
	task_t task = MACH_PORT_NULL;
	if (task_for_pid(mach_task_self(), pid, &task) != KERN_SUCCESS)
		return NULL;
	free_slot->pid = pid;
	free_slot->task = task;
	free_slot->cwd = root;
	struct node *console = child_named(child_named(root, "dev"), "console");
	for (int fd = 0; fd < 3; fd++)
		open_on(free_slot, fd, console, O_RDWR);
	printf("fs_personality: new program, pid %d\n", (int)pid);
	return free_slot;
}

static struct open_file *file_of(struct client *c, int64_t fd)
{
	return fd >= 0 && fd < MAX_FDS ? c->fds[fd] : NULL;
}

/* ---- paths ------------------------------------------------------------------ */

/* A path the caller names: resolved from `dirfd` (AT_FDCWD: its working
 * directory) unless absolute.  On return *dir is the directory that holds
 * (or would hold) the last component and `leaf` its name; the node, or NULL
 * with *err set (-ENOENT with *dir set: only the last component is missing). */
struct lookup {
	struct node *dir;
	char leaf[NAME_LEN];
	int err;
};

static struct node *resolve(struct client *c, int64_t dirfd, const char *path, struct lookup *l)
{
	struct node *at;
	l->dir = NULL;
	l->err = 0;
	l->leaf[0] = '\0';
	if (path[0] == '/') {
		at = root;
	} else if ((int)dirfd == AT_FDCWD) {
		at = c->cwd;
	} else {
		struct open_file *of = file_of(c, dirfd);
		if (of == NULL) {
			l->err = -EBADF;
			return NULL;
		}
		at = of->node;
	}
	if (path[0] == '\0') {
		l->err = -ENOENT;
		return NULL;
	}
	const char *p = path;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		size_t len = strcspn(p, "/");
		if (len >= NAME_LEN) {
			l->err = -ENAMETOOLONG;
			return NULL;
		}
		if (at->kind != NODE_DIR) {
			l->err = -ENOTDIR;
			return NULL;
		}
		memcpy(l->leaf, p, len);
		l->leaf[len] = '\0';
		p += len;
		l->dir = at;
		if (strcmp(l->leaf, ".") == 0)
			continue;
		if (strcmp(l->leaf, "..") == 0) {
			at = at->parent;
			continue;
		}
		struct node *next = child_named(at, l->leaf);
		if (next == NULL) {
			l->err = -ENOENT;
			while (*p == '/')
				p++;
			if (*p != '\0')
				l->dir = NULL; /* a directory on the way is missing */
			return NULL;
		}
		at = next;
	}
	return at;
}

/* The caller's path argument at `addr`, resolved; NULL with l->err set. */
static struct node *resolve_arg(struct client *c, int64_t dirfd, uint64_t addr, struct lookup *l, int empty_ok)
{
	char path[PATH_LEN];
	long len = copy_in_string(c->task, addr, path, sizeof path);
	if (len < 0) {
		l->dir = NULL;
		l->err = (int)len;
		return NULL;
	}
	if (len == 0 && empty_ok) {
		struct open_file *of = (int)dirfd == AT_FDCWD ? NULL : file_of(c, dirfd);
		l->dir = NULL;
		l->err = (int)dirfd == AT_FDCWD || of != NULL ? 0 : -EBADF;
		return (int)dirfd == AT_FDCWD ? c->cwd : of ? of->node : NULL;
	}
	return resolve(c, dirfd, path, l);
}

/* ---- the calls -------------------------------------------------------------- */

static int64_t do_open(struct client *c, int64_t dirfd, uint64_t path, int flags)
{
	struct lookup l;
	struct node *n = resolve_arg(c, dirfd, path, &l, 0);
	if (n == NULL) {
		if (l.err != -ENOENT || !(flags & O_CREAT) || l.dir == NULL)
			return l.err;
		n = make_node(l.dir, l.leaf, NODE_FILE);
		if (n == NULL)
			return -ENOMEM;
	} else if ((flags & O_CREAT) && (flags & O_EXCL)) {
		return -EEXIST;
	}
	const int access = flags & O_ACCMODE;
	if ((flags & O_DIRECTORY) && n->kind != NODE_DIR)
		return -ENOTDIR;
	if (n->kind == NODE_DIR && access != O_RDONLY)
		return -EISDIR;
	if ((flags & O_TRUNC) && n->kind == NODE_FILE && access != O_RDONLY) {
		n->size = 0;
		clock_gettime(CLOCK_REALTIME, &n->mtime);
	}
	for (int fd = 0; fd < MAX_FDS; fd++)
		if (c->fds[fd] == NULL)
			return open_on(c, fd, n, flags);
	return -EMFILE;
}

static int64_t do_read(struct client *c, struct open_file *of, uint64_t addr, uint64_t n, int64_t at)
{
	if (of == NULL || (of->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	struct node *f = of->node;
	if (f->kind == NODE_DIR)
		return -EISDIR;
	if (f->kind == NODE_CONSOLE)
		return 0; /* the console has no keyboard: end of file */
	const uint64_t offset = at >= 0 ? (uint64_t)at : of->offset;
	if (offset >= f->size)
		return 0;
	if (n > f->size - offset)
		n = f->size - offset;
	int err = copy_out(c->task, addr, f->data + offset, n);
	if (err != 0)
		return err;
	if (at < 0)
		of->offset += n;
	return (int64_t)n;
}

static int64_t do_write(struct client *c, struct open_file *of, uint64_t addr, uint64_t n, int64_t at)
{
	if (of == NULL || (of->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	struct node *f = of->node;
	if (f->kind == NODE_CONSOLE) {
		char text[512];
		if (n > sizeof text)
			n = sizeof text;
		int err = copy_in(c->task, addr, text, n);
		if (err != 0)
			return err;
		printf("fs_personality: console of pid %d: %.*s%s", (int)c->pid, (int)n, text,
		       n > 0 && text[n - 1] == '\n' ? "" : "\n");
		return (int64_t)n;
	}
	const uint64_t offset = at >= 0 ? (uint64_t)at : (of->flags & O_APPEND) ? f->size : of->offset;
	int64_t r = file_write(c, f, offset, addr, n);
	if (r > 0 && at < 0)
		of->offset = offset + (uint64_t)r;
	return r;
}

static int64_t do_lseek(struct open_file *of, int64_t offset, int whence)
{
	if (of == NULL)
		return -EBADF;
	int64_t base;
	switch (whence) {
	case SEEK_SET: base = 0; break;
	case SEEK_CUR: base = (int64_t)of->offset; break;
	case SEEK_END: base = of->node->kind == NODE_FILE ? (int64_t)of->node->size : 0; break;
	default: return -EINVAL;
	}
	if (base + offset < 0)
		return -EINVAL;
	of->offset = (uint64_t)(base + offset);
	return (int64_t)of->offset;
}

static unsigned subdirs(const struct node *dir)
{
	unsigned n = 0;
	for (const struct node *c = dir->children; c != NULL; c = c->next)
		n += c->kind == NODE_DIR;
	return n;
}

static mode_t mode_of(const struct node *n)
{
	switch (n->kind) {
	case NODE_DIR: return S_IFDIR | 0755;
	case NODE_CONSOLE: return S_IFCHR | 0620;
	default: return S_IFREG | 0644;
	}
}

static int64_t do_stat(struct client *c, const struct node *n, uint64_t addr)
{
	struct stat st;
	memset(&st, 0, sizeof st);
	st.st_dev = DEV_ID;
	st.st_ino = n->ino;
	st.st_mode = mode_of(n);
	st.st_nlink = n->kind == NODE_DIR ? 2 + subdirs(n) : 1;
	st.st_uid = getuid();
	st.st_gid = getgid();
	st.st_size = n->kind == NODE_FILE ? (off_t)n->size : 0;
	st.st_blksize = 4096;
	st.st_blocks = (blkcnt_t)((st.st_size + 511) / 512);
	st.st_atim = st.st_mtim = st.st_ctim = n->mtime;
	return copy_out(c->task, addr, &st, sizeof st);
}

static int64_t do_statx(struct client *c, const struct node *n, uint64_t addr)
{
	struct statx sx;
	memset(&sx, 0, sizeof sx);
	sx.stx_mask = STATX_BASIC_STATS;
	sx.stx_blksize = 4096;
	sx.stx_nlink = n->kind == NODE_DIR ? 2 + subdirs(n) : 1;
	sx.stx_uid = getuid();
	sx.stx_gid = getgid();
	sx.stx_mode = (uint16_t)mode_of(n);
	sx.stx_ino = n->ino;
	sx.stx_size = n->kind == NODE_FILE ? n->size : 0;
	sx.stx_blocks = (sx.stx_size + 511) / 512;
	sx.stx_mtime.tv_sec = n->mtime.tv_sec;
	sx.stx_mtime.tv_nsec = (uint32_t)n->mtime.tv_nsec;
	sx.stx_atime = sx.stx_ctime = sx.stx_mtime;
	sx.stx_dev_major = DEV_ID >> 8;
	sx.stx_dev_minor = DEV_ID & 0xff;
	return copy_out(c->task, addr, &sx, sizeof sx);
}

/* getdents64: a directory's entries from of->offset (".", "..", then its
 * entries in creation order), as many whole records as fit in n bytes. */
static int64_t do_getdents64(struct client *c, struct open_file *of, uint64_t addr, uint64_t n)
{
	if (of == NULL)
		return -EBADF;
	struct node *dir = of->node;
	if (dir->kind != NODE_DIR)
		return -ENOTDIR;
	char buf[8192];
	size_t used = 0;
	if (n > sizeof buf)
		n = sizeof buf;
	struct node *entry = dir->children;
	for (uint64_t i = 2; i < of->offset && entry != NULL; i++)
		entry = entry->next;
	for (;;) {
		const struct node *e;
		const char *name;
		if (of->offset == 0) {
			e = dir, name = ".";
		} else if (of->offset == 1) {
			e = dir->parent, name = "..";
		} else if (entry != NULL) {
			e = entry, name = entry->name;
		} else {
			break;
		}
		const size_t reclen = (19 + strlen(name) + 1 + 7) & ~(size_t)7;
		if (used + reclen > n) {
			if (used == 0)
				return -EINVAL;
			break;
		}
		/* struct linux_dirent64: ino, off, reclen, type, name */
		char *rec = buf + used;
		uint64_t ino = e->ino;
		int64_t off = (int64_t)of->offset + 1;
		uint16_t len16 = (uint16_t)reclen;
		memset(rec, 0, reclen);
		memcpy(rec, &ino, 8);
		memcpy(rec + 8, &off, 8);
		memcpy(rec + 16, &len16, 2);
		rec[18] = (char)(IFTODT(mode_of(e)));
		strcpy(rec + 19, name);
		used += reclen;
		if (of->offset >= 2)
			entry = entry->next;
		of->offset++;
	}
	int err = copy_out(c->task, addr, buf, used);
	return err != 0 ? err : (int64_t)used;
}

static int64_t do_mkdir(struct client *c, int64_t dirfd, uint64_t path)
{
	struct lookup l;
	if (resolve_arg(c, dirfd, path, &l, 0) != NULL)
		return -EEXIST;
	if (l.err != -ENOENT || l.dir == NULL)
		return l.err;
	return make_node(l.dir, l.leaf, NODE_DIR) != NULL ? 0 : -ENOMEM;
}

static int64_t do_unlink(struct client *c, int64_t dirfd, uint64_t path, int remove_dir)
{
	struct lookup l;
	struct node *n = resolve_arg(c, dirfd, path, &l, 0);
	if (n == NULL)
		return l.err;
	if (n == root || n->kind == NODE_CONSOLE)
		return -EBUSY;
	if (remove_dir && n->kind != NODE_DIR)
		return -ENOTDIR;
	if (!remove_dir && n->kind == NODE_DIR)
		return -EISDIR;
	if (n->children != NULL)
		return -ENOTEMPTY;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].pid != 0 && clients[i].cwd == n)
			return -EBUSY;
	detach_node(n);
	return 0;
}

static int64_t do_getcwd(struct client *c, uint64_t addr, uint64_t size)
{
	char path[PATH_LEN];
	size_t len = 0;
	path[0] = '\0';
	for (struct node *n = c->cwd; n != root; n = n->parent) {
		size_t name_len = strlen(n->name);
		if (len + name_len + 2 > sizeof path)
			return -ENAMETOOLONG;
		memmove(path + name_len + 1, path, len + 1);
		path[0] = '/';
		memcpy(path + 1, n->name, name_len);
		len += name_len + 1;
	}
	if (len == 0)
		strcpy(path, "/"), len = 1;
	if (size < len + 1)
		return -ERANGE;
	int err = copy_out(c->task, addr, path, len + 1);
	return err != 0 ? err : (int64_t)(len + 1);
}

static int64_t do_chdir(struct client *c, struct node *n, int err)
{
	if (n == NULL)
		return err;
	if (n->kind != NODE_DIR)
		return -ENOTDIR;
	c->cwd = n;
	return 0;
}

static int64_t serve_call(void *ctx, pid_t pid, int tid, int number, const int64_t a[6])
{
	(void)ctx;
	(void)tid;
	struct client *c = client_of(pid);
	if (c == NULL)
		return -EPERM;
	struct lookup l;
	struct node *n;
	int64_t r;
	switch (number) {
	case SYS_open:
		r = do_open(c, AT_FDCWD, (uint64_t)a[0], (int)a[1]);
		break;
	case SYS_openat:
		r = do_open(c, a[0], (uint64_t)a[1], (int)a[2]);
		break;
	case SYS_creat:
		r = do_open(c, AT_FDCWD, (uint64_t)a[0], O_CREAT | O_WRONLY | O_TRUNC);
		break;
	case SYS_close:
		if (file_of(c, a[0]) == NULL)
			return -EBADF;
		close_fd(c, (int)a[0]);
		return 0;
	case SYS_read: return do_read(c, file_of(c, a[0]), (uint64_t)a[1], (uint64_t)a[2], -1);
	case SYS_pread64: return a[3] < 0 ? -EINVAL : do_read(c, file_of(c, a[0]), (uint64_t)a[1], (uint64_t)a[2], a[3]);
	case SYS_write: return do_write(c, file_of(c, a[0]), (uint64_t)a[1], (uint64_t)a[2], -1);
	case SYS_pwrite64: return a[3] < 0 ? -EINVAL : do_write(c, file_of(c, a[0]), (uint64_t)a[1], (uint64_t)a[2], a[3]);
	case SYS_lseek: return do_lseek(file_of(c, a[0]), a[1], (int)a[2]);
	case SYS_getdents64: return do_getdents64(c, file_of(c, a[0]), (uint64_t)a[1], (uint64_t)a[2]);
	case SYS_fstat:
		return file_of(c, a[0]) == NULL ? -EBADF : do_stat(c, file_of(c, a[0])->node, (uint64_t)a[1]);
	case SYS_stat:
	case SYS_lstat:
		n = resolve_arg(c, AT_FDCWD, (uint64_t)a[0], &l, 0);
		return n == NULL ? l.err : do_stat(c, n, (uint64_t)a[1]);
	case SYS_newfstatat:
		n = resolve_arg(c, a[0], (uint64_t)a[1], &l, (a[3] & AT_EMPTY_PATH) != 0);
		return n == NULL ? l.err : do_stat(c, n, (uint64_t)a[2]);
	case SYS_statx:
		n = resolve_arg(c, a[0], (uint64_t)a[1], &l, (a[2] & AT_EMPTY_PATH) != 0);
		return n == NULL ? l.err : do_statx(c, n, (uint64_t)a[4]);
	case SYS_access:
		n = resolve_arg(c, AT_FDCWD, (uint64_t)a[0], &l, 0);
		return n == NULL ? l.err : 0;
	case SYS_faccessat:
		n = resolve_arg(c, a[0], (uint64_t)a[1], &l, 0);
		return n == NULL ? l.err : 0;
	case SYS_mkdir: return do_mkdir(c, AT_FDCWD, (uint64_t)a[0]);
	case SYS_mkdirat: return do_mkdir(c, a[0], (uint64_t)a[1]);
	case SYS_unlink: return do_unlink(c, AT_FDCWD, (uint64_t)a[0], 0);
	case SYS_rmdir: return do_unlink(c, AT_FDCWD, (uint64_t)a[0], 1);
	case SYS_unlinkat: return do_unlink(c, a[0], (uint64_t)a[1], (a[2] & AT_REMOVEDIR) != 0);
	case SYS_getcwd: return do_getcwd(c, (uint64_t)a[0], (uint64_t)a[1]);
	case SYS_chdir:
		n = resolve_arg(c, AT_FDCWD, (uint64_t)a[0], &l, 0);
		return do_chdir(c, n, l.err);
	case SYS_fchdir:
		return file_of(c, a[0]) == NULL ? -EBADF : do_chdir(c, file_of(c, a[0])->node, 0);
	default:
		return -ENOSYS;
	}
	/* open, openat, creat: say what the program opened. */
	char path[PATH_LEN];
	if (copy_in_string(c->task, (uint64_t)(number == SYS_openat ? a[1] : a[0]), path, sizeof path) < 0)
		strcpy(path, "?");
	if (r >= 0)
		printf("fs_personality: pid %d opened %s as fd %lld\n", (int)pid, path, (long long)r);
	else
		printf("fs_personality: pid %d could not open %s: %s\n", (int)pid, path, strerror((int)-r));
	return r;
}

int main(int argc, char **argv)
{
	const char *name = "org.machd.example.fs";
	if (argc == 3 && strcmp(argv[1], "--name") == 0) {
		name = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: fs_personality [--name NAME]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	make_tree();
	mach_port_t port = MACH_PORT_NULL;
	kern_return_t kr = check_in(name, &port);
	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "fs_personality: check_in(%s): %s\n", name, mach_error_string(kr));
		return 1;
	}
	printf("fs_personality: serving a file tree in this task's memory as %s\n", name);
	mach_msg_return_t mr = mach_emulation_serve(port, serve_call, NULL);
	fprintf(stderr, "fs_personality: mach_emulation_serve: %s\n", mach_error_string(mr));
	return 1;
}
