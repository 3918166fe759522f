/*
 * The C server of roundtrip.defs: implements the do_* routines the
 * generated roundtripServer.c calls, as a C program would.
 */
#include <string.h>

#include <mach/mach.h>

#include "roundtripServer.h"

kern_return_t do_rt_add(mach_port_t server, int a, int b, int *sum) {
	(void)server;
	*sum = a + b;
	return KERN_SUCCESS;
}

kern_return_t do_rt_scalars(mach_port_t server, int16_t s, uint8_t u, int64_t w,
    rt_point_t p, int16_t *os, uint8_t *ou, int64_t *ow, rt_point_t *op, int *acc) {
	(void)server;
	*os = (int16_t)(s * 2);
	*ou = (uint8_t)(u + 1);
	*ow = w * 3;
	op->x = p.y;
	op->y = p.x;
	*acc += 100;
	return KERN_SUCCESS;
}

/* oxs = xs reversed, oss = ss doubled (as many as fit), otail = tail + n. */
kern_return_t do_rt_arrays(mach_port_t server, rt_ints_t xs, mach_msg_type_number_t xsCnt,
    rt_shorts_t ss, mach_msg_type_number_t ssCnt, int tail, rt_ints_t oxs,
    mach_msg_type_number_t *oxsCnt, rt_shorts_t oss, mach_msg_type_number_t *ossCnt,
    int *otail) {
	mach_msg_type_number_t i;
	(void)server;
	if (xsCnt > *oxsCnt) return KERN_INVALID_ARGUMENT;
	for (i = 0; i < xsCnt; i++) oxs[i] = xs[xsCnt - 1 - i];
	*oxsCnt = xsCnt;
	if (ssCnt < *ossCnt) *ossCnt = ssCnt;
	for (i = 0; i < *ossCnt; i++) oss[i] = (int16_t)(ss[i] * 2);
	*otail = tail + (int)xsCnt + (int)ssCnt;
	return KERN_SUCCESS;
}

kern_return_t do_rt_samecount(mach_port_t server, int n, rt_ints_t a,
    mach_msg_type_number_t *aCnt, rt_ints_t b, int *c) {
	int i;
	(void)server;
	if (n < 0 || (mach_msg_type_number_t)n > *aCnt) return KERN_INVALID_ARGUMENT;
	for (i = 0; i < n; i++) {
		a[i] = i;
		b[i] = i * i;
	}
	*aCnt = (mach_msg_type_number_t)n;
	*c = -n;
	return KERN_SUCCESS;
}

kern_return_t do_rt_strings(mach_port_t server, rt_name_t name, rt_text_t text, int n,
    rt_name_t oname, rt_text_t otext, int *on) {
	(void)server;
	strcpy(oname, "hello ");
	strncat(oname, name, 40 - strlen(oname) - 1);
	strcpy(otext, text);
	strcat(otext, "!");
	*on = n + (int)strlen(text);
	return KERN_SUCCESS;
}

/* Echo the bytes reversed and the ints plus one, in fresh memory; the
 * received regions belong to this server: free them. */
kern_return_t do_rt_ool(mach_port_t server, rt_bytes_t data, mach_msg_type_number_t dataCnt,
    rt_ool_ints_t ints, mach_msg_type_number_t intsCnt, rt_bytes_t *odata,
    mach_msg_type_number_t *odataCnt, rt_ool_ints_t *oints, mach_msg_type_number_t *ointsCnt) {
	vm_address_t a = 0, b = 0;
	mach_msg_type_number_t i;
	(void)server;
	if (dataCnt) vm_allocate(mach_task_self(), &a, dataCnt, VM_FLAGS_ANYWHERE);
	for (i = 0; i < dataCnt; i++) ((uint8_t *)a)[i] = data[dataCnt - 1 - i];
	if (intsCnt) vm_allocate(mach_task_self(), &b, intsCnt * sizeof(int32_t), VM_FLAGS_ANYWHERE);
	for (i = 0; i < intsCnt; i++) ((int32_t *)b)[i] = ints[i] + 1;
	if (dataCnt) vm_deallocate(mach_task_self(), (vm_address_t)data, dataCnt);
	if (intsCnt) vm_deallocate(mach_task_self(), (vm_address_t)ints, intsCnt * sizeof(int32_t));
	/* odata and oints are "dealloc": the kernel frees them once sent. */
	*odata = (rt_bytes_t)a;
	*odataCnt = dataCnt;
	*oints = (rt_ool_ints_t)b;
	*ointsCnt = intsCnt;
	return KERN_SUCCESS;
}

/* Gives back what it got: the send right made from `give`, the polymorphic
 * right, the inline and out-of-line port lists. */
kern_return_t do_rt_ports(mach_port_t server, mach_port_t give, mach_port_t poly,
    mach_msg_type_name_t polyPoly, rt_ports_t list, mach_msg_type_number_t listCnt,
    rt_ool_ports_t ool, mach_msg_type_number_t oolCnt, mach_port_t *got,
    mach_msg_type_name_t *gotPoly, mach_port_t *opoly, mach_msg_type_name_t *opolyPoly,
    rt_ports_t olist, mach_msg_type_number_t *olistCnt, rt_ool_ports_t *oool,
    mach_msg_type_number_t *ooolCnt) {
	mach_msg_type_number_t i;
	(void)server;
	*got = give;
	*gotPoly = MACH_MSG_TYPE_MOVE_SEND;
	*opoly = poly;
	*opolyPoly = polyPoly == MACH_MSG_TYPE_PORT_RECEIVE ? MACH_MSG_TYPE_MOVE_RECEIVE
	                                                    : MACH_MSG_TYPE_MOVE_SEND;
	for (i = 0; i < listCnt; i++) olist[i] = list[i];
	*olistCnt = listCnt;
	/* olist goes out with MAKE_SEND: the received send rights are not
	 * needed any more. */
	for (i = 0; i < listCnt; i++) mach_port_deallocate(mach_task_self(), list[i]);
	for (i = 0; i < oolCnt; i++) mach_port_deallocate(mach_task_self(), ool[i]);
	*oool = ool;
	*ooolCnt = oolCnt;
	return KERN_SUCCESS;
}

int rt_oneway_last = 0;

kern_return_t do_rt_oneway(mach_port_t server, int v) {
	(void)server;
	rt_oneway_last = v;
	return KERN_SUCCESS;
}

/* Fails after receiving memory and rights: the request must be destroyed
 * by the receive loop, and nothing leak. */
kern_return_t do_rt_fail(mach_port_t server, rt_bytes_t data, mach_msg_type_number_t dataCnt,
    mach_port_t right, mach_port_t recv, rt_ool_ports_t ports, mach_msg_type_number_t portsCnt) {
	(void)server; (void)data; (void)dataCnt; (void)right; (void)recv; (void)ports;
	(void)portsCnt;
	return KERN_NO_SPACE;
}

kern_return_t do_rt_trailer(mach_port_t server, mach_port_seqno_t seq, audit_token_t tok,
    natural_t *seen) {
	(void)server; (void)seq;
	*seen = tok.val[5];
	return KERN_SUCCESS;
}

kern_return_t do_rt_noreply(mach_port_t server, int *v) {
	(void)server;
	*v = 0;
	return MIG_NO_REPLY;
}

/* xs: each element doubled and one appended; text and n changed too. */
kern_return_t do_rt_inout(mach_port_t server, rt_ints_t xs, mach_msg_type_number_t *xsCnt,
    rt_text_t text, int *n) {
	mach_msg_type_number_t i;
	(void)server;
	for (i = 0; i < *xsCnt; i++) xs[i] *= 2;
	xs[*xsCnt] = -1;
	*xsCnt += 1;
	strcat(text, "+");
	*n += 1;
	return KERN_SUCCESS;
}

kern_return_t do_rt_explicit(mach_port_t server, mach_port_t reply, int *v) {
	(void)server;
	*v = (int)reply;
	return KERN_SUCCESS;
}
