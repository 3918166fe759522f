/*
 * tests/mig/runtime/server.c — the server side of the runtime proof: the
 * routines of test.defs (serverprefix do_) and a mach_msg_server-like loop
 * around the generated rtproof_server() demux. Compiled as C, like the
 * generated stubs it links with.
 *
 * Ownership follows Apple's MIG contract: when a routine returns
 * KERN_SUCCESS it owns the out-of-line memory and rights of the request and
 * must release them; when it returns an error it touches nothing and the
 * loop destroys the request (mach_msg_destroy), as libsyscall's
 * mach_msg_server does.
 */
#include "server.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rtproofServer.h"

/* ---- helpers ---- */

uint32_t rp_checksum(const void *data, size_t len) {
	/* FNV-1a, 32 bits. */
	const unsigned char *p = (const unsigned char *)data;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

int rp_is_mapped(vm_offset_t addr, size_t len) {
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)addr & ~(page - 1);
	uintptr_t end = (uintptr_t)addr + (len > 0 ? len : 1);
	for (uintptr_t a = start; a < end; a += page)
		if (msync((void *)a, page, MS_ASYNC) == 0 || errno != ENOMEM) return 1;
	return 0;
}

/* ---- server state ---- */

enum { kMaxOutPorts = 16 };

static struct {
	int quit;
	int32_t notes;
	int32_t last_note;
	/* The last reply buffer handed out with `dealloc`. */
	vm_offset_t last_reply_addr;
	size_t last_reply_len;
	/* Ports made by ports_out, drained by ports_collect. */
	mach_port_t out_ports[kMaxOutPorts];
	int32_t n_out_ports;
	/* The out-of-line regions reject() saw. */
	vm_offset_t reject_addr[4];
	size_t reject_len[4];
} g;

static void send_id(mach_port_t port, mach_msg_id_t id) {
	mach_msg_header_t h;
	memset(&h, 0, sizeof h);
	h.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND, 0);  /* consumes the right */
	h.msgh_size = sizeof h;
	h.msgh_remote_port = port;
	h.msgh_id = id;
	if (mach_msg(&h, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof h, 0, MACH_PORT_NULL, 1000,
	    MACH_PORT_NULL) != MACH_MSG_SUCCESS)
		mach_port_deallocate(mach_task_self(), port);
}

/* ---- routines ---- */

kern_return_t do_sum_inline(mach_port_t server, rp_ints_t xs, mach_msg_type_number_t xsCnt,
    rp_quad_t quad, int32_t *sum, rp_ints_t reversed, mach_msg_type_number_t *reversedCnt,
    rp_quad_t oquad) {
	(void)server;
	/* The stub offers the whole inline buffer for the variable out array. */
	if (*reversedCnt != 16) return KERN_INVALID_VALUE;
	int32_t s = 0;
	for (mach_msg_type_number_t i = 0; i < xsCnt; i++) {
		s += xs[i];
		reversed[xsCnt - 1 - i] = xs[i];
	}
	*reversedCnt = xsCnt;
	for (int i = 0; i < 4; i++) {
		s += quad[i];
		oquad[i] = quad[3 - i];
	}
	*sum = s;
	return KERN_SUCCESS;
}

kern_return_t do_ool_echo(mach_port_t server, vm_offset_t data, mach_msg_type_number_t dataCnt,
    uint32_t *checksum, vm_offset_t *echo, mach_msg_type_number_t *echoCnt) {
	(void)server;
	*checksum = rp_checksum((const void *)data, dataCnt);
	vm_address_t out = 0;
	if (dataCnt > 0 && vm_allocate(mach_task_self(), &out, dataCnt, VM_FLAGS_ANYWHERE) != KERN_SUCCESS)
		return KERN_RESOURCE_SHORTAGE;
	for (mach_msg_type_number_t i = 0; i < dataCnt; i++)
		((unsigned char *)out)[i] = (unsigned char)(((const unsigned char *)data)[i] ^ 0x5a);
	/* Success: the request's memory is ours to free. */
	if (dataCnt > 0) vm_deallocate(mach_task_self(), data, dataCnt);
	*echo = out;
	*echoCnt = dataCnt;
	g.last_reply_addr = out;
	g.last_reply_len = dataCnt;
	return KERN_SUCCESS;
}

kern_return_t do_ool_consume(mach_port_t server, vm_offset_t data, mach_msg_type_number_t dataCnt,
    uint32_t *checksum) {
	(void)server;
	*checksum = rp_checksum((const void *)data, dataCnt);
	if (dataCnt > 0) vm_deallocate(mach_task_self(), data, dataCnt);
	return KERN_SUCCESS;
}

kern_return_t do_ool_ints(mach_port_t server, rp_ool_ints_t ints, mach_msg_type_number_t intsCnt,
    int64_t *total, rp_ool_ints_t *doubled, mach_msg_type_number_t *doubledCnt) {
	(void)server;
	vm_address_t out = 0;
	size_t len = intsCnt * sizeof(int32_t);
	if (len > 0 && vm_allocate(mach_task_self(), &out, len, VM_FLAGS_ANYWHERE) != KERN_SUCCESS)
		return KERN_RESOURCE_SHORTAGE;
	int64_t t = 0;
	for (mach_msg_type_number_t i = 0; i < intsCnt; i++) {
		t += ints[i];
		((int32_t *)out)[i] = ints[i] * 2;
	}
	if (len > 0) vm_deallocate(mach_task_self(), (vm_address_t)ints, len);
	*total = t;
	*doubled = (rp_ool_ints_t)out;
	*doubledCnt = intsCnt;
	g.last_reply_addr = out;
	g.last_reply_len = len;
	return KERN_SUCCESS;
}

kern_return_t do_last_reply_unmapped(mach_port_t server, int32_t *unmapped) {
	(void)server;
	*unmapped = g.last_reply_len > 0 && !rp_is_mapped(g.last_reply_addr, g.last_reply_len);
	return KERN_SUCCESS;
}

static kern_return_t send_on_each(mach_port_t *ports, mach_msg_type_number_t n, int32_t base,
    int32_t *count) {
	/* Each name must hold a send right of ours (one user reference). */
	for (mach_msg_type_number_t i = 0; i < n; i++) {
		mach_port_type_t t = 0;
		if (mach_port_type(mach_task_self(), ports[i], &t) != KERN_SUCCESS ||
		    !(t & MACH_PORT_TYPE_SEND))
			return KERN_INVALID_RIGHT;
	}
	for (mach_msg_type_number_t i = 0; i < n; i++) send_id(ports[i], base + (int32_t)i);
	*count = (int32_t)n;
	return KERN_SUCCESS;
}

kern_return_t do_ports_move(mach_port_t server, rp_move_send_array_t ports,
    mach_msg_type_number_t portsCnt, int32_t base, int32_t *count) {
	(void)server;
	kern_return_t kr = send_on_each(ports, portsCnt, base, count);
	if (kr != KERN_SUCCESS) return kr;
	if (portsCnt > 0) vm_deallocate(mach_task_self(), (vm_address_t)ports, portsCnt * sizeof *ports);
	return KERN_SUCCESS;
}

/* The same on this side: only the disposition the client chose differs. */
kern_return_t do_ports_copy(mach_port_t server, rp_copy_send_array_t ports,
    mach_msg_type_number_t portsCnt, int32_t base, int32_t *count) {
	return do_ports_move(server, ports, portsCnt, base, count);
}

kern_return_t do_ports_copy_few(mach_port_t server, rp_copy_send_few_t ports,
    mach_msg_type_number_t portsCnt, int32_t base, int32_t *count) {
	(void)server;
	return send_on_each(ports, portsCnt, base, count);
}

kern_return_t do_ports_out(mach_port_t server, int32_t n, rp_make_send_array_t *ports,
    mach_msg_type_number_t *portsCnt) {
	(void)server;
	if (n < 0 || n > kMaxOutPorts || g.n_out_ports != 0) return KERN_INVALID_ARGUMENT;
	vm_address_t arr = 0;
	if (n > 0 && vm_allocate(mach_task_self(), &arr, n * sizeof(mach_port_t), VM_FLAGS_ANYWHERE) != KERN_SUCCESS)
		return KERN_RESOURCE_SHORTAGE;
	for (int32_t i = 0; i < n; i++) {
		mach_port_t p = MACH_PORT_NULL;
		if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS)
			return KERN_RESOURCE_SHORTAGE;
		g.out_ports[i] = p;
		((mach_port_t *)arr)[i] = p;
	}
	g.n_out_ports = n;
	*ports = (rp_make_send_array_t)arr;
	*portsCnt = (mach_msg_type_number_t)n;
	g.last_reply_addr = arr;
	g.last_reply_len = n * sizeof(mach_port_t);
	return KERN_SUCCESS;
}

kern_return_t do_ports_collect(mach_port_t server, rp_ints_t ids, mach_msg_type_number_t *idsCnt) {
	(void)server;
	for (int32_t i = 0; i < g.n_out_ports; i++) {
		struct {
			mach_msg_header_t h;
			mach_msg_max_trailer_t t;
		} m;
		memset(&m, 0, sizeof m);
		mach_msg_return_t mr = mach_msg(&m.h, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof m,
		    g.out_ports[i], 1000, MACH_PORT_NULL);
		ids[i] = mr == MACH_MSG_SUCCESS ? m.h.msgh_id : -1;
		if (mr == MACH_MSG_SUCCESS) mach_msg_destroy(&m.h);
		mach_port_mod_refs(mach_task_self(), g.out_ports[i], MACH_PORT_RIGHT_RECEIVE, -1);
	}
	*idsCnt = (mach_msg_type_number_t)g.n_out_ports;
	g.n_out_ports = 0;
	return KERN_SUCCESS;
}

kern_return_t do_poly_echo(mach_port_t server, mach_port_t p, mach_msg_type_name_t pPoly,
    uint32_t *received_type, mach_port_t *back, mach_msg_type_name_t *backPoly) {
	(void)server;
	*received_type = pPoly;
	*back = p;
	switch (pPoly) {
	case MACH_MSG_TYPE_PORT_SEND: *backPoly = MACH_MSG_TYPE_MOVE_SEND; break;
	case MACH_MSG_TYPE_PORT_SEND_ONCE: *backPoly = MACH_MSG_TYPE_MOVE_SEND_ONCE; break;
	case MACH_MSG_TYPE_PORT_RECEIVE: *backPoly = MACH_MSG_TYPE_MOVE_RECEIVE; break;
	default: return KERN_INVALID_RIGHT;  /* the loop destroys what came */
	}
	return KERN_SUCCESS;
}

static int32_t upper_copy(char *dst, const char *src, size_t cap) {
	size_t n = strnlen(src, cap);
	if (n == cap) return -1;  /* unterminated */
	for (size_t i = 0; i < n; i++) dst[i] = (char)toupper((unsigned char)src[i]);
	dst[n] = '\0';
	return (int32_t)n;
}

kern_return_t do_strings(mach_port_t server, rp_text_t text, rp_name_t name, rp_text_t upper_text,
    rp_name_t upper_name, int32_t *text_len, int32_t *name_len) {
	(void)server;
	*text_len = upper_copy(upper_text, text, sizeof(rp_text_t));
	*name_len = upper_copy(upper_name, name, sizeof(rp_name_t));
	if (*text_len < 0 || *name_len < 0) return KERN_INVALID_ARGUMENT;
	return KERN_SUCCESS;
}

kern_return_t do_audit(mach_port_t server, audit_token_t tok, int32_t *pid, int32_t *euid,
    int32_t *egid) {
	(void)server;
	*euid = (int32_t)tok.val[1];
	*egid = (int32_t)tok.val[2];
	*pid = (int32_t)tok.val[5];
	return KERN_SUCCESS;
}

kern_return_t do_note(mach_port_t server, int32_t value) {
	(void)server;
	g.notes++;
	g.last_note = value;
	return KERN_SUCCESS;
}

kern_return_t do_notes(mach_port_t server, int32_t *count, int32_t *last) {
	(void)server;
	*count = g.notes;
	*last = g.last_note;
	return KERN_SUCCESS;
}

kern_return_t do_fail_with(mach_port_t server, int32_t code, int32_t *never) {
	(void)server;
	*never = 42;
	return code;
}

kern_return_t do_fail_ool_reply(mach_port_t server, int32_t code, vm_offset_t *data,
    mach_msg_type_number_t *dataCnt) {
	(void)server;
	if (code != KERN_SUCCESS) return code;
	vm_address_t out = 0;
	if (vm_allocate(mach_task_self(), &out, 4096, VM_FLAGS_ANYWHERE) != KERN_SUCCESS)
		return KERN_RESOURCE_SHORTAGE;
	memset((void *)out, 0xa5, 4096);
	*data = out;
	*dataCnt = 4096;
	return KERN_SUCCESS;
}

kern_return_t do_reject(mach_port_t server, int32_t code, vm_offset_t data,
    mach_msg_type_number_t dataCnt, vm_offset_t big, mach_msg_type_number_t bigCnt,
    rp_ool_ints_t ints, mach_msg_type_number_t intsCnt, mach_port_t right, mach_port_t recv,
    mach_port_t once, rp_move_send_array_t ports, mach_msg_type_number_t portsCnt) {
	(void)server;
	g.reject_addr[0] = data;
	g.reject_len[0] = dataCnt;
	g.reject_addr[1] = big;
	g.reject_len[1] = bigCnt;
	g.reject_addr[2] = (vm_offset_t)ints;
	g.reject_len[2] = intsCnt * sizeof(int32_t);
	g.reject_addr[3] = (vm_offset_t)ports;
	g.reject_len[3] = portsCnt * sizeof(mach_port_t);
	if (code != KERN_SUCCESS) return code;  /* the loop destroys all of it */
	/* Success: everything is ours, release it all. */
	for (int i = 0; i < 3; i++)
		if (g.reject_len[i] > 0) vm_deallocate(mach_task_self(), g.reject_addr[i], g.reject_len[i]);
	mach_port_deallocate(mach_task_self(), right);
	mach_port_mod_refs(mach_task_self(), recv, MACH_PORT_RIGHT_RECEIVE, -1);
	mach_port_deallocate(mach_task_self(), once);
	for (mach_msg_type_number_t i = 0; i < portsCnt; i++) mach_port_deallocate(mach_task_self(), ports[i]);
	if (portsCnt > 0) vm_deallocate(mach_task_self(), (vm_address_t)ports, portsCnt * sizeof *ports);
	return KERN_SUCCESS;
}

kern_return_t do_census(mach_port_t server, rp_names_t *names, mach_msg_type_number_t *namesCnt,
    rp_names_t *types, mach_msg_type_number_t *typesCnt) {
	(void)server;
	mach_port_name_array_t n = NULL;
	mach_port_type_array_t t = NULL;
	kern_return_t kr = mach_port_names(mach_task_self(), &n, namesCnt, &t, typesCnt);
	if (kr != KERN_SUCCESS) return kr;
	/* mach_port_names hands out vm_allocate'd arrays; the reply's dealloc frees them. */
	*names = (rp_names_t)n;
	*types = (rp_names_t)t;
	return KERN_SUCCESS;
}

kern_return_t do_reject_unmapped(mach_port_t server, int32_t *unmapped) {
	(void)server;
	int32_t bits = 0;
	for (int i = 0; i < 4; i++)
		if (g.reject_len[i] > 0 && !rp_is_mapped(g.reject_addr[i], g.reject_len[i])) bits |= 1 << i;
	*unmapped = bits;
	return KERN_SUCCESS;
}

kern_return_t do_trade(mach_port_t server, int32_t code, vm_offset_t data, mach_msg_type_number_t dataCnt,
    mach_port_t right, vm_offset_t *odata, mach_msg_type_number_t *odataCnt, mach_port_t *oright) {
	(void)server;
	memset(g.reject_len, 0, sizeof g.reject_len);
	g.reject_addr[0] = data;
	g.reject_len[0] = dataCnt;
	if (code != KERN_SUCCESS) return code;  /* the loop destroys both */
	/* Success: hand both back (the reply's dealloc and MOVE_SEND take them). */
	*odata = data;
	*odataCnt = dataCnt;
	*oright = right;
	return KERN_SUCCESS;
}

kern_return_t do_quit(mach_port_t server) {
	(void)server;
	g.quit = 1;
	return KERN_SUCCESS;
}

/* ---- the loop ---- */

typedef union {
	mach_msg_header_t Head;
	union __RequestUnion__do_rtproof_subsystem requests;
	char bytes[sizeof(union __RequestUnion__do_rtproof_subsystem) + MAX_TRAILER_SIZE];
} request_buffer_t;

typedef union {
	mach_msg_header_t Head;
	mig_reply_error_t error;
	union __ReplyUnion__do_rtproof_subsystem replies;
} reply_buffer_t;

/*
 * What libsyscall's mach_msg_server does for one message, with a buffer
 * large enough for every request of the subsystem.
 */
int rp_serve(mach_port_t port) {
	static request_buffer_t req;
	static reply_buffer_t rep;
	const mach_msg_option_t rcv = MACH_RCV_MSG | MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) |
	    MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT);
	while (!g.quit) {
		memset(&req.Head, 0, sizeof req.Head);
		mach_msg_return_t mr = mach_msg(&req.Head, rcv, 0, sizeof req, port, MACH_MSG_TIMEOUT_NONE,
		    MACH_PORT_NULL);
		if (mr == MACH_RCV_TOO_LARGE) continue;  /* the kernel destroyed it */
		if (mr != MACH_MSG_SUCCESS) return 1;

		(void)rtproof_server(&req.Head, &rep.Head);

		if (!(rep.Head.msgh_bits & MACH_MSGH_BITS_COMPLEX)) {
			if (rep.error.RetCode == MIG_NO_REPLY) {
				rep.Head.msgh_remote_port = MACH_PORT_NULL;
			} else if (rep.error.RetCode != KERN_SUCCESS &&
			    (req.Head.msgh_bits & MACH_MSGH_BITS_COMPLEX)) {
				/* Destroy the request, but not the reply port. */
				req.Head.msgh_remote_port = MACH_PORT_NULL;
				mach_msg_destroy(&req.Head);
			}
		}
		if (rep.Head.msgh_remote_port != MACH_PORT_NULL) {
			/* A send-once reply never blocks; any other must not block the server. */
			mach_msg_option_t snd = MACH_SEND_MSG;
			if (MACH_MSGH_BITS_REMOTE(rep.Head.msgh_bits) != MACH_MSG_TYPE_MOVE_SEND_ONCE)
				snd |= MACH_SEND_TIMEOUT;
			mr = mach_msg(&rep.Head, snd, rep.Head.msgh_size, 0, MACH_PORT_NULL, MACH_MSG_TIMEOUT_NONE,
			    MACH_PORT_NULL);
			if (mr == MACH_SEND_INVALID_DEST || mr == MACH_SEND_TIMED_OUT) mach_msg_destroy(&rep.Head);
		}
	}
	return 0;
}
