/*
 * <kern/kcdata.h> — the kcdata format: a buffer of typed items, as XNU
 * hands out crash information (task_map_corpse_info_64). This is the part
 * of Apple's header a reader of corpse information needs: the item layout,
 * the buffer markers, the TASK_CRASHINFO_* types machd fills in, and an
 * iterator with XNU's names.
 *
 * Layout: every item is a 16-byte header (type, size, flags) followed by
 * `size` bytes of payload; `size` is a multiple of 16 (KCDATA_ALIGNMENT_SIZE)
 * and the low 4 bits of `flags` say how many of its last bytes are padding
 * (KCDATA_FLAGS_STRUCT_HAS_PADDING set says the flags carry it). A buffer
 * starts with an empty item whose type names its kind
 * (KCDATA_BUFFER_BEGIN_CRASHINFO) and ends with an empty
 * KCDATA_TYPE_BUFFER_END.
 */
#ifndef _KERN_KCDATA_H_
#define _KERN_KCDATA_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KCDATA_FLAGS_STRUCT_PADDING_MASK 0xf
#define KCDATA_FLAGS_STRUCT_HAS_PADDING 0x80
#define KCDATA_ALIGNMENT_SIZE 0x10

struct kcdata_item {
	uint32_t type;
	uint32_t size;  /* bytes of data[], padding included */
	uint64_t flags; /* padding (low 4 bits) | KCDATA_FLAGS_STRUCT_HAS_PADDING */
	char data[];
};
typedef struct kcdata_item *kcdata_item_t;

/* Buffer markers. */
#define KCDATA_TYPE_INVALID 0x0u
#define KCDATA_TYPE_BUFFER_END 0xF19158EDu
#define KCDATA_BUFFER_BEGIN_CRASHINFO 0xDEADF157u

/* Crash information of a corpse (task_map_corpse_info_64). */
#define TASK_CRASHINFO_BEGIN KCDATA_BUFFER_BEGIN_CRASHINFO
#define TASK_CRASHINFO_END KCDATA_TYPE_BUFFER_END
#define TASK_CRASHINFO_PID 0x805                    /* pid_t */
#define TASK_CRASHINFO_PPID 0x806                   /* pid_t */
#define TASK_CRASHINFO_PROC_NAME 0x809              /* char[MAXCOMLEN + 1] */
#define TASK_CRASHINFO_PROC_STARTTIME 0x80B         /* struct timeval64 */
#define TASK_CRASHINFO_EXCEPTION_CODES 0x80E        /* mach_exception_data_type_t[2] */
#define TASK_CRASHINFO_PROC_PATH 0x80F              /* char[MAXPATHLEN] */
#define TASK_CRASHINFO_UID 0x812                    /* uid_t */
#define TASK_CRASHINFO_GID 0x813                    /* gid_t */
#define TASK_CRASHINFO_PROC_ARGC 0x814              /* int */
#define TASK_CRASHINFO_CPUTYPE 0x816                /* cpu_type_t */
#define TASK_CRASHINFO_CRASHED_THREADID 0x81A       /* uint64_t */
#define TASK_CRASHINFO_TASK_IS_CORPSE_FORK 0x837    /* boolean_t */
#define TASK_CRASHINFO_EXCEPTION_TYPE 0x838         /* int */
#define TASK_CRASHINFO_PROC_CPUTYPE 0x83F           /* cpu_type_t */

#ifndef MAXCOMLEN
#define MAXCOMLEN 16
#endif

/* TASK_CRASHINFO_PROC_STARTTIME's payload. */
struct timeval64 {
	int64_t tv_sec;
	int64_t tv_usec;
};

/* Walking a buffer: an iterator is the current item and the buffer's end. */
typedef struct {
	kcdata_item_t item;
	void *end;
} kcdata_iter_t;

static inline kcdata_iter_t kcdata_iter(void *buffer, unsigned long size) {
	kcdata_iter_t it;
	it.item = (kcdata_item_t)buffer;
	it.end = (char *)buffer + size;
	return it;
}

/* Whether the current item's header and payload lie inside the buffer. */
static inline int kcdata_iter_valid(kcdata_iter_t it) {
	const char *at = (const char *)it.item, *end = (const char *)it.end;
	return at + sizeof(struct kcdata_item) <= end &&
	       (unsigned long)(end - at - sizeof(struct kcdata_item)) >= it.item->size;
}

static inline kcdata_iter_t kcdata_iter_next(kcdata_iter_t it) {
	it.item = (kcdata_item_t)((char *)it.item + sizeof(struct kcdata_item) + it.item->size);
	return it;
}

static inline uint32_t kcdata_iter_type(kcdata_iter_t it) { return it.item->type; }

/* The payload's size without its padding. */
static inline uint32_t kcdata_iter_size(kcdata_iter_t it) {
	const uint32_t pad = (uint32_t)(it.item->flags & KCDATA_FLAGS_STRUCT_PADDING_MASK);
	return it.item->size >= pad ? it.item->size - pad : 0;
}

static inline uint64_t kcdata_iter_flags(kcdata_iter_t it) { return it.item->flags; }

static inline void *kcdata_iter_payload(kcdata_iter_t it) { return it.item->data; }

/* The first item at or after `it` of type `type`, or an invalid iterator. */
static inline kcdata_iter_t kcdata_iter_find_type(kcdata_iter_t it, uint32_t type) {
	while (kcdata_iter_valid(it) && kcdata_iter_type(it) != type) {
		if (kcdata_iter_type(it) == KCDATA_TYPE_BUFFER_END) {
			it.item = (kcdata_item_t)it.end;
			return it;
		}
		it = kcdata_iter_next(it);
	}
	return it;
}

#ifdef __cplusplus
}
#endif

#endif /* _KERN_KCDATA_H_ */
