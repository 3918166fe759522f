// machd/ipc/port.h — a port: its message queue state, right counts and
// notification requests. Ports live in a PortPool (slab), referenced by
// pointer; `refs` counts every holder (see below) and the port is freed when
// it reaches zero.
//
// Reference rules (one ref each):
//   * the receive right, wherever it is (a space entry or a message), while
//     the port is active;
//   * every space entry that names the port with a send or send-once right
//     but not the receive right (entries whose port died keep their ref until
//     they are looked at: XNU's lazy dead-name conversion);
//   * every right in flight (message header/descriptor, notification request,
//     special-port slot).
//
// Right counts (XNU's ip_srights/ip_sorights): one per entry holding send
// rights (whatever its urefs), one per send right in flight; one per
// send-once right anywhere.
#pragma once

#include <memory>
#include <vector>

#include "types.h"
#include "waiter.h"

namespace machd::ipc {

struct PsetLink;

// A dead-name / send-possible request registered by (space, name).
struct PortRequest {
  TaskId task = kNoTask;
  mach_port_name_t name = MACH_PORT_NULL;
  Port* notify = nullptr;  // send-once right (owned), null when slot empty
  bool send_possible = false;  // registered via MACH_NOTIFY_SEND_POSSIBLE
  bool sp_armed = false;       // send-possible armed (fires on next dequeue)
  bool dead_fired = false;     // dead-name notification sent at port death
  uint32_t next_free = 0;      // free-list link (1-based), when unused
};

// Rarely used port state, allocated on first use.
struct PortAux {
  WaiterList receivers;             // threads blocked receiving on the port itself
  WaiterList senders;               // threads blocked on a full queue (FIFO)
  std::vector<PsetLink*> sets;      // its memberships in port sets (port_set.h)
  std::vector<PortRequest> requests;  // index+1 is an entry's `request`
  uint32_t free_request = 0;        // 1-based head of the free slot list
  Port* nsrequest = nullptr;        // no-senders send-once right
  Port* pdrequest = nullptr;        // port-destroyed send-once right
  Port* destination = nullptr;      // receive right in transit: dest of its message
  TaskId kobject_task = kNoTask;    // this is the task port of that task
  uint16_t kobject_type = 0;        // kernel object label (kobject.h); 0: none
  uint64_t kobject_id = 0;
  LaneId lane = 0;                  // receive lane the queue head is lent to (lane.h)
  uint32_t lent = 0;                // the first `lent` queued messages are lent
  std::vector<Credit*> credits;     // send credits reserving slots here (credit.h)
};

struct Port {
  enum Flag : uint32_t {
    kActive = 1u << 0,
    kGuarded = 1u << 1,
    kStrictGuard = 1u << 2,
    kImmovableReceive = 1u << 3,
    kSpRequests = 1u << 4,  // some send-possible request is armed
    kFree = 1u << 31,       // slot is on the pool free list
  };

  uint32_t refs = 0;
  uint32_t flags = 0;
  TaskId receiver = kNoTask;            // space holding the receive right; 0 = in transit/dead
  mach_port_name_t receiver_name = MACH_PORT_NULL;
  mach_port_rights_t srights = 0;
  mach_port_rights_t sorights = 0;
  mach_port_mscount_t mscount = 0;
  mach_port_seqno_t seqno = 0;
  uint32_t msgcount = 0;  // XNU's imq_msgcount: queued + reserved slots
  uint16_t qlimit = MACH_PORT_QLIMIT_DEFAULT;
  uint16_t user = 0;  // Ipc::usage slot of the user whose task created it (0: none)
  mach_port_context_t context = 0;
  Kmsg* head = nullptr;  // queued messages, FIFO
  Kmsg* tail = nullptr;
  std::unique_ptr<PortAux> aux;

  bool active() const { return (flags & kActive) != 0; }
  bool in_transit() const { return active() && receiver == kNoTask; }
  bool has_messages() const { return head != nullptr; }
  bool full() const { return msgcount >= qlimit; }
  PortAux& ensure_aux() {
    if (!aux) aux = std::make_unique<PortAux>();
    return *aux;
  }
};

// Slab allocator for ports: chunks of kChunk ports, a free list, no per-port
// heap allocation.
class PortPool {
 public:
  PortPool() = default;
  PortPool(const PortPool&) = delete;
  PortPool& operator=(const PortPool&) = delete;
  ~PortPool();

  // A new port: active, refs = 1 (its receive right), default qlimit.
  Port* alloc();
  // Returns a port whose refs reached zero to the free list.
  void free(Port* port);
  uint64_t live() const { return live_; }

 private:
  static constexpr size_t kChunk = 4096;
  std::vector<std::unique_ptr<Port[]>> chunks_;
  std::vector<Port*> free_;  // freed slots, reused LIFO
  size_t next_in_chunk_ = kChunk;
  uint64_t live_ = 0;
};

// The dead-port sentinel used for rights in flight that are MACH_PORT_DEAD.
Port* dead_port();
inline bool port_valid(const Port* p) { return p != nullptr && p != dead_port(); }

// A new active port whose only reference is its receive right (the caller
// places that right in an entry or a message).
Port* port_new(Ipc& ipc);

// Detaches the receive right from its space for a move (XNU
// ipc_port_clear_receiver): blocked receivers wake with MACH_RCV_PORT_CHANGED,
// the port leaves every port set, mscount, seqno, context and guard reset.
void port_clear_receiver(Ipc& ipc, Port& port);

// Destroys the receive right of `port` (XNU ipc_port_destroy), consuming the
// reference that right held. With a port-destroyed request armed, the right
// is sent in that notification instead and the port lives on (in transit).
// Otherwise the port dies: receivers get MACH_RCV_PORT_CHANGED, blocked
// senders MACH_MSG_SUCCESS (their messages destroyed), queued messages are
// destroyed, a still-armed no-senders request gets a send-once notification,
// dead-name requests fire. The caller has already removed the right from
// any entry. Never copies anything out (safe inside any operation).
void port_destroy(Ipc& ipc, Port* port);

// True if putting the receive right of `port` in a message to `dest` would
// make a cycle of ports in transit (XNU ipc_port_check_circularity);
// otherwise records `dest` as where `port` travels.
bool port_check_circularity(Port* port, Port* dest);

}  // namespace machd::ipc
