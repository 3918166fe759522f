// machd/ipc/notify.h — notification requests and the messages the kernel
// generates for them (XNU ipc_notify.c + the request table of ipc_port.c).
//
// Every notification is a message sent with a send-once right that the
// requester registered; sending it consumes that right. Messages use the
// <mach/notify.h> layouts (msgh_id 0101..0110, NDR record, name / count) and
// are delivered through the deferred queue (Ipc::defer_deliver), so building
// one is safe inside any operation.
#pragma once

#include "types.h"

namespace machd::ipc {

// ---- generated messages (each consumes the send-once right `so`) ----------
void notify_port_deleted(Ipc& ipc, Port* so, mach_port_name_t name);
void notify_send_possible(Ipc& ipc, Port* so, mach_port_name_t name);
void notify_dead_name(Ipc& ipc, Port* so, mach_port_name_t name);
void notify_no_senders(Ipc& ipc, Port* so, mach_port_mscount_t mscount);
// Consumes the send-once right `so` itself by sending a send-once
// notification to its port (or just drops it if the port is dead).
void notify_send_once(Ipc& ipc, Port* so);
// Sends the receive right `receive` (ownership passes to the message).
void notify_port_destroyed(Ipc& ipc, Port* so, Port* receive);

// ---- dead-name / send-possible requests (one per entry) ---------------------
// Registers `notify` (a send-once right, consumed) for (task, name) on `port`;
// returns the 1-based request index the entry keeps.
uint32_t request_alloc(Port& port, TaskId task, mach_port_name_t name, Port* notify,
                       bool send_possible, bool armed);
// Cancels request `index`; returns its send-once right (owned by the caller,
// null if already used) — the caller usually sends port-deleted with it.
Port* request_cancel(Port& port, uint32_t index);
// True if request `index` of dead `port` fired a dead-name notification.
bool request_dead_fired(const Port& port, uint32_t index);
// Type bits (MACH_PORT_TYPE_DNREQUEST / SPREQUEST...) of request `index`.
mach_port_type_t request_type(const Port& port, uint32_t index);
// Arms the send-possible request `index` (a send saw the queue full).
void request_sparm(Port& port, uint32_t index);
// Number of request slots (MACH_PORT_DNREQUESTS_SIZE).
uint32_t request_table_size(const Port& port);

// At port death: a dead-name notification for every live request.
void port_dnnotify(Ipc& ipc, Port& port);
// After a message is received from `port`: armed send-possible requests fire.
void port_spnotify(Ipc& ipc, Port& port);

}  // namespace machd::ipc
