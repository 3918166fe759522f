// machd/ipc/kernel.h — the pure Mach IPC state machine (ports, rights, spaces,
// messages, port sets, notifications), with XNU's semantics.
//
// This is the only header the rest of machd uses from machd/ipc/. The core does
// no I/O: no sockets, no shared memory, no userfaultfd, no clock reads, no logs.
// Everything it needs from outside comes in through arguments:
//
//   * tasks are created and terminated by the caller (task_create/task_terminate);
//   * message bytes arrive already copied out of the client's shared memory (the
//     caller owns that copy, the core reads it once);
//   * out-of-line memory is an opaque OolPayload the caller made (a memfd slice in
//     the daemon, a byte vector in tests); the core only moves and destroys it;
//   * time is passed in (`now_ns`, monotonic nanoseconds) and deadlines come back
//     out through next_deadline()/expire();
//   * blocked threads are named by a WaiterId the caller chooses; when a blocked
//     mach_msg finishes (because of another task's action, a timeout or a death)
//     the core records a Completion that the caller collects with
//     take_completions() after each call. The core never calls out.
//
// Threading: not thread-safe. One thread (machd's event loop) owns a Kernel.
//
// Errors are values: every call returns a kern_return_t / mach_msg_return_t with
// the code XNU returns in the same situation.
#pragma once

#include <mach/kern_return.h>
#include <mach/mach_voucher_types.h>
#include <mach/message.h>
#include <mach/port.h>
#include <mach_debug/ipc_info.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace machd::ipc {

class KernelImpl;

using TaskId = uint32_t;    // 0 is never a valid task
using WaiterId = uint64_t;  // chosen by the caller; unique among blocked operations
inline constexpr TaskId kNoTask = 0;

// Kernel-verified identity of a task (from SO_PEERCRED / pidfd in the daemon).
// Builds the security trailer (euid, egid) and the audit token
// [auid, euid, egid, ruid, rgid, pid, asid, pidversion].
struct Credentials {
  uint32_t pid = 0;
  uint32_t uid = 0;   // real
  uint32_t gid = 0;   // real
  uint32_t euid = 0;
  uint32_t egid = 0;
  uint32_t auid = 0xFFFFFFFFu;  // AU_DEFAUDITID
  uint32_t asid = 0;
  uint32_t pidversion = 0;      // distinguishes reused pids
};

// Out-of-line memory in flight. The core never looks inside: it moves the
// payload from sender to receiver and destroys it (by destroying the object)
// when the message is destroyed.
class OolPayload {
 public:
  virtual ~OolPayload() = default;
  virtual uint64_t size() const = 0;
  // Bytes of machd's own heap it occupies (charged to the sender's user
  // while queued; a payload in a memfd costs machd's heap nothing).
  virtual uint64_t heap_bytes() const { return 0; }
};

// Reads the bytes of an out-of-line *ports* array is done by the caller: the
// client library copies the array of names inline; see SendArgs::ool_ports.

// ---------------------------------------------------------------------------
// mach_msg
// ---------------------------------------------------------------------------

struct SendArgs {
  // The message exactly as the user laid it out: header, then (if complex)
  // mach_msg_body_t and descriptors in x86_64 user layout, then inline data.
  // Its length is the user's send_size (checked by the core: too small, not a
  // multiple of 4, or larger than msgh_size allows are send errors).
  std::vector<uint8_t> msg;
  // One payload per MACH_MSG_OOL_DESCRIPTOR / OOL_VOLATILE descriptor, in
  // descriptor order (null for a zero-size region). The address field of the
  // descriptor in `msg` is ignored.
  std::vector<std::unique_ptr<OolPayload>> ool;
  // One array of sender-space names per MACH_MSG_OOL_PORTS_DESCRIPTOR, in
  // descriptor order (length == descriptor count).
  std::vector<std::vector<mach_port_name_t>> ool_ports;
};

struct MsgArgs {
  mach_msg_option_t options = 0;   // MACH_SEND_MSG / MACH_RCV_MSG / ... as given to mach_msg
  std::optional<SendArgs> send;    // present iff options & MACH_SEND_MSG
  mach_port_name_t rcv_name = MACH_PORT_NULL;
  mach_msg_size_t rcv_size = 0;    // receive buffer size (MACH_RCV_LARGE semantics)
  mach_msg_timeout_t timeout = MACH_MSG_TIMEOUT_NONE;  // used iff MACH_SEND_TIMEOUT / MACH_RCV_TIMEOUT
  mach_port_name_t notify = MACH_PORT_NULL;            // MACH_SEND_NOTIFY (send-possible)
  // Caller addresses of the send buffer (where a returned message goes) and
  // of the receive buffer (XNU's ith_msg_addr): a receive right arriving in a
  // guarded port descriptor with MACH_MSG_GUARD_FLAGS_IMMOVABLE_RECEIVE is
  // guarded with the address of the buffer the message is written to.
  uint64_t msg_addr = 0;
  uint64_t rcv_addr = 0;
};

// One out-of-line memory region handed to a receiver: the descriptor at
// `descriptor_offset` in Completion::msg must get the address where the
// receiver maps `payload`.
struct OolOut {
  uint32_t descriptor_offset = 0;
  std::unique_ptr<OolPayload> payload;  // null when the region is empty
};

// One out-of-line ports array handed to a receiver: `names` (already copied out
// into the receiver's space) must be placed in receiver memory and the
// descriptor at `descriptor_offset` pointed at it.
struct OolPortsOut {
  uint32_t descriptor_offset = 0;
  std::vector<mach_port_name_t> names;
};

// The result of a finished mach_msg, for the caller to hand back to the thread.
struct Completion {
  WaiterId waiter = 0;
  mach_msg_return_t result = MACH_MSG_SUCCESS;
  // What goes back into the user's receive buffer (or, for a send that failed
  // after copyin, into its send buffer: the message with its rights returned
  // to the sender, as XNU's pseudo-receive does). Empty when nothing is
  // written. For MACH_RCV_TOO_LARGE with MACH_RCV_LARGE this holds only the
  // header fields XNU writes (msgh_size = needed size; msgh_local_port for
  // MACH_RCV_LARGE_IDENTITY). Includes the trailer the receiver asked for.
  //   [machd/ipc] For MACH_RCV_TOO_LARGE with MACH_RCV_LARGE, `msg` is a
  //   24-byte mach_msg_header_t of which only msgh_size and (with
  //   MACH_RCV_LARGE_IDENTITY) msgh_local_port are to be written to the user
  //   buffer; it is empty when rcv_size < 16 (XNU writes nothing then). For
  //   MACH_RCV_TOO_LARGE without MACH_RCV_LARGE it is the bare header
  //   (msgh_size = 24) plus trailer, truncated to rcv_size: write it all.
  //   A returned send message (returned_send) has no trailer. Every received
  //   message is at most rcv_size bytes including its trailer.
  std::vector<uint8_t> msg;
  std::vector<OolOut> ool;
  std::vector<OolPortsOut> ool_ports;
  // True when `msg` is the returned send message (pseudo-receive), not a
  // received one.
  bool returned_send = false;
};

// A mach_msg either finishes now or blocks (the thread waits; its Completion
// arrives later through take_completions()).
struct MsgOutcome {
  bool blocked = false;
  Completion done;  // valid iff !blocked
};

// ---------------------------------------------------------------------------
// Fast lanes (send credits and receive lanes). Both are invisible to Mach
// programs except for speed: every Mach-visible answer is the one XNU gives.
// ---------------------------------------------------------------------------
using CreditId = uint64_t;  // 0 = none; assigned by the core
using LaneId = uint64_t;    // chosen by the daemon, opaque to the core, never 0

// Implemented by the daemon. The core calls these synchronously from inside
// its operations; implementations must not call back into Kernel. The hooks
// object must outlive the Kernel, or be replaced with set_lane_hooks(nullptr)
// before it goes (after which a revoked credit counts as wholly unused and a
// closing lane as having nothing consumed).
class LaneHooks {
 public:
  virtual ~LaneHooks() = default;
  // Credit `id` is being revoked: make sure the client can take no more of it
  // and return how many of its slots the client had NOT taken.
  virtual uint32_t credit_revoke(CreditId id) = 0;
  // Credit `id` is gone from the core (revoked and nothing left in flight,
  // or its task went away). The daemon forgets it.
  virtual void credit_closed(CreditId id) = 0;
  // Returns how many MORE lent messages of `lane` the receiver consumed since
  // the previous call for this lane (in lending order). With `close` the lane
  // is also closed: the client can take no more from it.
  virtual uint32_t lane_reclaim(LaneId lane, bool close) = 0;
};

// A kernel object's label on its port (machd/kern gives the types meaning;
// type 0 is no object). Task ports are labelled {kKObjectTaskType, TaskId}.
struct KObject {
  uint16_t type = 0;
  uint64_t id = 0;
  bool operator==(const KObject&) const = default;
};
inline constexpr uint16_t kKObjectTaskType = 1;
// Voucher ports are labelled {kKObjectVoucherType, voucher id} (the value of
// kern::KType::kVoucher; machd/kern/voucher.cc checks that they agree).
inline constexpr uint16_t kKObjectVoucherType = 20;

// ---------------------------------------------------------------------------
// Vouchers (XNU osfmk/ipc/ipc_voucher.c). A voucher is an immutable set of
// attribute values, one slot per key 1..kVoucherKeys (MACH_VOUCHER_ATTR_KEY_*;
// 0 is a key's default value), named by a port whose receive right the
// kernel task holds. Equal sets are one voucher. A voucher lives while send
// rights to its port exist: the last one going destroys it, its port and
// its references to values (XNU ipc_voucher_no_senders). What a value means
// is the business of its key's manager (machd/kern: bank, importance, user
// data); a key without a manager only ever holds its default.
// ---------------------------------------------------------------------------
inline constexpr uint32_t kVoucherKeys = 8;  // XNU MACH_VOUCHER_ATTR_KEY_NUM on macOS

// The task on whose behalf a manager is asked (XNU's current_task()).
struct VoucherCaller {
  TaskId task = kNoTask;
  Credentials creds;
};

// An attribute manager (XNU struct ipc_voucher_attr_manager). Called from
// inside Kernel operations: it must not call back into the Kernel. Value
// handles are the manager's own (0 is the default value and never
// released). "Made" references as XNU counts them: every successful
// get_value returning a non-persistent handle is one made reference; the
// core sums them per (key, handle) and hands the sum back in one
// release_value call when the last voucher using that value goes.
class VoucherAttrManager {
 public:
  enum Flags : uint32_t {
    kSendPreprocess = 1,      // IVAM_FLAGS_SUPPORT_SEND_PREPROCESS
    kReceivePostprocess = 2,  // IVAM_FLAGS_SUPPORT_RECEIVE_POSTPROCESS
  };
  virtual ~VoucherAttrManager() = default;
  virtual uint32_t flags() const { return 0; }
  // ivam_get_value: the value `command` with `content` makes, given the
  // previous value(s) of the key (`prev`, empty for the default). *persist:
  // the core never releases it.
  virtual kern_return_t get_value(const VoucherCaller& who, mach_voucher_attr_key_t key,
                                  mach_voucher_attr_recipe_command_t command,
                                  std::span<const uint64_t> prev, std::span<const uint8_t> content,
                                  uint64_t* value, bool* persist) = 0;
  // ivam_extract_content: a recipe command and content that describe
  // `values` (never empty). *size: capacity of `out` in, bytes written out.
  virtual kern_return_t extract_content(const VoucherCaller& who, mach_voucher_attr_key_t key,
                                        std::span<const uint64_t> values,
                                        mach_voucher_attr_recipe_command_t* command, uint8_t* out,
                                        uint32_t* size) = 0;
  // ivam_command: `values` is empty for the default value. *out_size as above.
  virtual kern_return_t command(const VoucherCaller& who, mach_voucher_attr_key_t key,
                                std::span<const uint64_t> values, mach_voucher_attr_command_t command,
                                std::span<const uint8_t> in, uint8_t* out, uint32_t* out_size) = 0;
  // ivam_release_value: no voucher holds `value` any more; `made` is the
  // number of made references the core received for it.
  virtual void release_value(mach_voucher_attr_key_t key, uint64_t value, uint32_t made) = 0;
};

// One in-use name of a space and what the core knows of the object behind
// it, for introspection (Kernel::space_names). Read without changing the
// space: a send right to a dead port is reported as a dead name.
struct NameDetail {
  mach_port_name_t name = MACH_PORT_NULL;
  mach_port_type_t type = 0;   // MACH_PORT_TYPE_* rights and request bits
  mach_port_urefs_t urefs = 0;
  uint32_t object = 0;         // Kernel::space_info's iin_object (0: dead name)
  // The port's state (zero for port sets and dead names):
  TaskId receiver = kNoTask;   // holder of the receive right (kNoTask: in transit)
  uint32_t msgcount = 0;       // queued messages (credit reservations excluded)
  uint32_t qlimit = 0;
  mach_port_seqno_t seqno = 0;
  mach_port_rights_t srights = 0;   // send rights extant
  mach_port_rights_t sorights = 0;  // send-once rights extant
  uint32_t requests = 0;       // live dead-name / send-possible requests
  bool nsrequest = false;      // a no-senders notification is armed
  bool pdrequest = false;      // a port-destroyed notification is armed
  KObject kobject;             // kernel object label ({} for an ordinary port)
  // A port set's member count (0 for ports).
  uint32_t members = 0;
};

struct CreditGrant {
  CreditId id = 0;
  uint32_t count = 0;
};

// ---------------------------------------------------------------------------
// Leak accounting (tests end by checking that all of these are zero once every
// task is gone, except what the kernel task itself holds).
// ---------------------------------------------------------------------------
struct Stats {
  uint64_t tasks = 0;
  uint64_t ports = 0;        // live ports (including dead ones still referenced)
  uint64_t port_sets = 0;
  uint64_t entries = 0;      // names in use, over all spaces
  uint64_t messages = 0;     // queued messages + messages held by blocked senders
  uint64_t ool_payloads = 0; // payloads owned by the core (queued)
  uint64_t waiters = 0;
  uint64_t credits = 0;      // open send credits
  uint64_t lanes = 0;        // ports with a receive lane
  uint64_t vouchers = 0;     // live vouchers
  uint64_t voucher_values = 0;  // non-persistent attribute values vouchers hold
  uint64_t dying_tasks = 0;  // terminated tasks whose spaces reap() has not finished
};

class Kernel {
 public:
  Kernel();
  ~Kernel();
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  // ---- tasks ---------------------------------------------------------------
  // The kernel task: machd's own space. Ports whose receive right it holds are
  // served inside machd (bootstrap, task ports). Always exists.
  TaskId kernel_task() const;

  // Creates a task with an empty space, plus its task port (receive right held
  // by the kernel task, associated with the new task) and a send right to it
  // in the new task's space, whose name is returned by task_self_name().
  // The task's bootstrap special port is a copy of the kernel-wide bootstrap
  // port set with set_bootstrap_port() (none if unset).
  TaskId task_create(const Credentials& creds);

  // Destroys the task as its process exiting would: every right it holds is
  // released (receive rights destroy their ports: queued messages destroyed,
  // blocked senders/receivers of other tasks completed, dead-name and other
  // notifications generated), its own blocked operations are dropped silently
  // (no Completion is produced for them), and its task port dies.
  // With `incremental`, only that much happens now and the task is gone
  // from every call; the rights its space holds are released by reap(), a
  // batch at a time, with the same effects in the same order (receive rights
  // first, then the rest): a task holding millions of names does not stall
  // the caller. Until then its ports live on (messages to them queue) and
  // notifications its rights will cause (dead names, no-senders,
  // port-destroyed, send-once) are still to come.
  void task_terminate(TaskId task, bool incremental = false);

  // Continues the teardown of incrementally terminated tasks, oldest first,
  // looking at no more than `budget` name slots. True while some remain.
  bool reap(uint64_t budget);
  // True while some terminated task's space is not torn down yet.
  bool reaping() const;

  // The name of the task's send right to its own task port (mach_task_self()).
  mach_port_name_t task_self_name(TaskId task) const;

  // Resolves a task port name in `caller`'s space (a send right to a task
  // port, or, in the kernel task, its receive right) to the task. Returns
  // kNoTask when `name` is not such a right or the task is gone.
  TaskId resolve_task(TaskId caller, mach_port_name_t name) const;

  // The name, in the kernel task's space, of the receive right of `task`'s
  // task port (machd adds it to the port set its kernel servers listen on).
  mach_port_name_t task_port_kernel_name(TaskId task) const;

  const Credentials* credentials(TaskId task) const;

  // Stamps the identity `relayed` describes on the messages `task` sends
  // from now on to ports whose receive right a user task holds (a network
  // server relaying a remote sender); nullptr: its own identity again.
  // Messages to machd's own ports always carry the task's own identity.
  // KERN_INVALID_ARGUMENT when the task is gone.
  kern_return_t set_relayed_sender(TaskId task, const Credentials* relayed);

  // ---- kernel objects (kobject.h) --------------------------------------------
  // A new port labelled `ko` whose receive right is in `task`'s space (the
  // kernel task for objects machd serves; a user task for an mk_timer).
  kern_return_t kobject_alloc(TaskId task, KObject ko, mach_port_name_t* name);
  // Label of the port a send/send-once/receive right `name` of `caller`
  // denotes ({} when none or the port is dead).
  KObject kobject_of(TaskId caller, mach_port_name_t name) const;
  // The task holding the receive right of the port `name` denotes in
  // `caller` (kNoTask: none, dead, in transit); *port_key: a value unique to
  // the port while it lives (0 if none). Never shown to a task unhashed.
  TaskId port_receiver(TaskId caller, mach_port_name_t name, uint64_t* port_key) const;
  // A send right made from the kernel task's receive right `kernel_name`,
  // copied out into `task` (*out: its name there).
  kern_return_t kobject_make_send(TaskId task, mach_port_name_t kernel_name, mach_port_name_t* out);
  kern_return_t kobject_set(mach_port_name_t kernel_name, KObject ko);
  // No-senders notification on the kernel task's receive right, delivered to
  // the port itself (XNU ipc_kobject_nsrequest).
  kern_return_t kobject_request_no_senders(mach_port_name_t kernel_name);
  mach_port_mscount_t kobject_mscount(mach_port_name_t kernel_name) const;

  // ---- vouchers (voucher.h) -------------------------------------------------
  // The manager of `key` (1..kVoucherKeys); nullptr unregisters (the values
  // it made are then never released to it). The manager must outlive its
  // registration.
  void voucher_register(mach_voucher_attr_key_t key, VoucherAttrManager* manager);
  // The kernel task's port set that voucher ports join when created
  // (MACH_PORT_NULL: none), so that requests to them reach machd's servers.
  void voucher_set_port_set(mach_port_name_t kernel_set);
  // host_create_mach_voucher (XNU ipc_create_mach_voucher_internal with a
  // user recipe array): runs the mach_voucher_attr_recipe_data_t records of
  // `recipes` on behalf of `caller`, whose space names their previous
  // vouchers. On success *kernel_name is a new send right in the kernel
  // task's space to the resulting voucher (the name of its receive right
  // there), or MACH_PORT_NULL for an empty array. Errors as XNU:
  // KERN_INVALID_ARGUMENT (a truncated record, a bad key or command or
  // content, an unknown caller), KERN_INVALID_CAPABILITY (a previous voucher
  // that is not a send right to a voucher; SET_VALUE_HANDLE), the manager's
  // answer, or KERN_RESOURCE_SHORTAGE (no name left for a new voucher's port).
  kern_return_t voucher_create(TaskId caller, std::span<const uint8_t> recipes,
                               mach_port_name_t* kernel_name);
  // The mach_voucher.defs routines on voucher `voucher` (a voucher port's
  // label id) for `caller`; an unknown voucher is KERN_INVALID_ARGUMENT.
  // *size: capacity of `out` in, bytes written out.
  kern_return_t voucher_extract_recipe(TaskId caller, uint64_t voucher, mach_voucher_attr_key_t key,
                                       uint8_t* out, uint32_t* size);
  kern_return_t voucher_extract_all_recipes(TaskId caller, uint64_t voucher, uint8_t* out, uint32_t* size);
  kern_return_t voucher_extract_content(TaskId caller, uint64_t voucher, mach_voucher_attr_key_t key,
                                        uint8_t* out, uint32_t* size);
  kern_return_t voucher_command(TaskId caller, uint64_t voucher, mach_voucher_attr_key_t key,
                                mach_voucher_attr_command_t command, std::span<const uint8_t> in,
                                uint8_t* out, uint32_t* out_size);

  // ---- special ports ---------------------------------------------------------
  // Sets the port that every task created afterwards receives as its bootstrap
  // special port: `name` names a receive or send right in the kernel task
  // (MACH_PORT_NULL: none). The kernel keeps a send right to it.
  kern_return_t set_bootstrap_port(mach_port_name_t kernel_name);

  // task_get_special_port / task_set_special_port for TASK_BOOTSTRAP_PORT,
  // TASK_KERNEL_PORT (the task port) and TASK_HOST_PORT? (KERN_INVALID_ARGUMENT
  // for unknown `which`). A copy of the send right is made in `caller`'s space.
  kern_return_t task_get_special_port(TaskId caller, TaskId target, int which,
                                      mach_port_name_t* out);
  kern_return_t task_set_special_port(TaskId caller, TaskId target, int which,
                                      mach_port_name_t name);

  // ---- mach_msg --------------------------------------------------------------
  // The mach_msg trap for one thread of `task`. `waiter` names the thread while
  // it is blocked. `now_ns` is the monotonic time, for timeouts. A voucher in
  // the header follows XNU's rules (machd/ipc/README.md, "The voucher in a
  // message header"): it reaches only a receiver passing MACH_RCV_VOUCHER.
  MsgOutcome msg(TaskId task, WaiterId waiter, MsgArgs&& args, uint64_t now_ns);

  // Ends a blocked operation early (thread interrupted or going away) with
  // `reason` (MACH_SEND_INTERRUPTED / MACH_RCV_INTERRUPTED). No-op if `waiter`
  // is not blocked. The Completion is queued as usual.
  void abort_wait(WaiterId waiter, mach_msg_return_t reason);

  // Times out every blocked operation whose deadline is <= now_ns.
  void expire(uint64_t now_ns);
  // Earliest deadline among blocked operations, if any.
  std::optional<uint64_t> next_deadline() const;

  // Completions produced since the last call (for waiters of any task).
  std::vector<Completion> take_completions();

  // ---- mach_port_* (task = the space operated on; caller = whose rights are
  //      taken for insert_right) -----------------------------------------------
  mach_port_name_t reply_port(TaskId task);  // MACH_PORT_NULL on failure
  kern_return_t port_allocate(TaskId task, mach_port_right_t right, mach_port_name_t* name);
  kern_return_t port_allocate_name(TaskId task, mach_port_right_t right, mach_port_name_t name);
  kern_return_t port_construct(TaskId task, const mach_port_options_t& options,
                               mach_port_context_t context, mach_port_name_t* name);
  kern_return_t port_destruct(TaskId task, mach_port_name_t name, mach_port_delta_t srdelta,
                              mach_port_context_t guard);
  kern_return_t port_deallocate(TaskId task, mach_port_name_t name);
  kern_return_t port_destroy(TaskId task, mach_port_name_t name);
  kern_return_t port_mod_refs(TaskId task, mach_port_name_t name, mach_port_right_t right,
                              mach_port_delta_t delta);
  kern_return_t port_get_refs(TaskId task, mach_port_name_t name, mach_port_right_t right,
                              mach_port_urefs_t* refs);
  kern_return_t port_type(TaskId task, mach_port_name_t name, mach_port_type_t* type);
  kern_return_t port_names(TaskId task, std::vector<mach_port_name_t>* names,
                           std::vector<mach_port_type_t>* types);
  kern_return_t port_rename(TaskId task, mach_port_name_t old_name, mach_port_name_t new_name);
  // Inserts into `task` at `name` a right made from `poly` (a name in `caller`'s
  // space) with disposition `poly_type` (MACH_MSG_TYPE_*), as
  // mach_port_insert_right does when the right travels in its request.
  kern_return_t port_insert_right(TaskId caller, TaskId task, mach_port_name_t name,
                                  mach_port_name_t poly, mach_msg_type_name_t poly_type);
  // Extracts from `task` the right `name` with disposition `msgt_name` into
  // `caller`'s space (returned name and the resulting right type).
  kern_return_t port_extract_right(TaskId caller, TaskId task, mach_port_name_t name,
                                   mach_msg_type_name_t msgt_name, mach_port_name_t* poly,
                                   mach_msg_type_name_t* poly_type);
  kern_return_t port_move_member(TaskId task, mach_port_name_t member, mach_port_name_t after);
  kern_return_t port_insert_member(TaskId task, mach_port_name_t member, mach_port_name_t pset);
  kern_return_t port_extract_member(TaskId task, mach_port_name_t member, mach_port_name_t pset);
  kern_return_t port_get_set_status(TaskId task, mach_port_name_t pset,
                                    std::vector<mach_port_name_t>* members);
  // Registers a notification; the previous send-once right registered for the
  // same (port, variant) is returned in *previous (a name in `task`'s space, or
  // MACH_PORT_NULL). `notify` is a name in `task`'s space with disposition
  // `notify_type` (MAKE_SEND_ONCE or MOVE_SEND_ONCE), or MACH_PORT_NULL to cancel.
  kern_return_t port_request_notification(TaskId task, mach_port_name_t name,
                                          mach_msg_id_t variant, mach_port_mscount_t sync,
                                          mach_port_name_t notify,
                                          mach_msg_type_name_t notify_type,
                                          mach_port_name_t* previous);
  // The same, with the notify right taken from (and the previous one returned
  // into) `caller`'s space, as when the request travels as a MIG message to
  // `task`'s task port and `caller` is the space that received it.
  kern_return_t port_request_notification_from(TaskId caller, TaskId task, mach_port_name_t name,
                                               mach_msg_id_t variant, mach_port_mscount_t sync,
                                               mach_port_name_t notify,
                                               mach_msg_type_name_t notify_type,
                                               mach_port_name_t* previous);
  // flavor: MACH_PORT_LIMITS_INFO, MACH_PORT_RECEIVE_STATUS, MACH_PORT_DNREQUESTS_SIZE,
  // MACH_PORT_INFO_EXT. `info`/`count` as in mach_port_get_attributes (count in
  // natural_t units; on return the number written).
  kern_return_t port_get_attributes(TaskId task, mach_port_name_t name, int flavor,
                                    integer_t* info, mach_msg_type_number_t* count);
  kern_return_t port_set_attributes(TaskId task, mach_port_name_t name, int flavor,
                                    const integer_t* info, mach_msg_type_number_t count);
  kern_return_t port_set_mscount(TaskId task, mach_port_name_t name, mach_port_mscount_t mscount);
  kern_return_t port_set_seqno(TaskId task, mach_port_name_t name, mach_port_seqno_t seqno);
  kern_return_t port_get_context(TaskId task, mach_port_name_t name, mach_port_context_t* ctx);
  kern_return_t port_set_context(TaskId task, mach_port_name_t name, mach_port_context_t ctx);
  // mach_port_guard_with_flags: MPG_STRICT is `strict`, MPG_IMMOVABLE_RECEIVE
  // `immovable_receive`.
  kern_return_t port_guard(TaskId task, mach_port_name_t name, mach_port_context_t guard,
                           bool strict, bool immovable_receive = false);
  kern_return_t port_unguard(TaskId task, mach_port_name_t name, mach_port_context_t guard);
  kern_return_t port_get_srights(TaskId task, mach_port_name_t name, mach_port_rights_t* srights);
  // mach_port_peek: looks at the queued message with sequence number *seqno
  // (or the first one if *seqno is 0? — as XNU) without dequeuing it.
  kern_return_t port_peek(TaskId task, mach_port_name_t name, mach_msg_trailer_type_t trailer_type,
                          mach_port_seqno_t* seqno, mach_msg_size_t* size, mach_msg_id_t* id,
                          std::vector<uint8_t>* trailer);

  // ---- fast lanes ------------------------------------------------------------
  // Where the core calls the hooks: while a port has lent messages, every
  // operation that looks at or changes its queue head, its seqno or its
  // receive right, or arms something lending excluded, first reclaims the
  // lane (LaneHooks::lane_reclaim with close=true: receive on the port (a
  // port in a set has no lane), peek, RECEIVE_STATUS / INFO_EXT, set_seqno,
  // set_context, guard, unguard, no-senders / send-possible requests,
  // joining a set, the receive right moving or dying, the receiver task
  // dying). A send finding
  // the port full settles the lane (close=false) and revokes every credit on
  // the port before deciding to block or time out. Credits are revoked also
  // when the port dies, and for every credit of a task when a call may take
  // send rights out of its space (deallocate, destroy, mod_refs, destruct,
  // insert_right / extract_right, a mach_msg send moving a send right or
  // carrying descriptors). A dying task's credits are dropped without asking.

  // nullptr: no lanes or credits are granted from now on.
  void set_lane_hooks(LaneHooks* hooks);

  // Reserves up to `want` slots on the port `name` names in `task` for later
  // credit_post() calls. Eligible only when: hooks set; `name` is a send right
  // (MACH_PORT_TYPE_SEND, whatever else the entry holds) to an ACTIVE port; the
  // port has at least 2 free slots (qlimit - msgcount >= 2); the port's
  // receive right is not held by the kernel task. Grants
  // n = min(want, (qlimit - msgcount) / 2), msgcount += n. The credit holds a
  // port reference; when it is revoked with messages still on their way it
  // takes a send right of its own until they are posted, so no-senders cannot
  // fire before them (credit.h). Returns count 0 (id 0) when not eligible.
  // Reserved slots are not reported as mps_msgcount by port_get_attributes.
  CreditGrant credit_grant(TaskId task, mach_port_name_t name, uint32_t want);

  // Posts one message through credit `id` of `task`, using one of its reserved
  // slots. `msg` is the user message exactly as the sender wrote it (header +
  // inline body). Anything but this shape is MACH_SEND_INVALID_HEADER (the
  // daemon then disconnects the task): size >= sizeof(mach_msg_header_t),
  // multiple of 4, == msgh_size, <= the kernel's maximum message size, not
  // complex, msgh_bits == MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0), local and
  // voucher port fields MACH_PORT_NULL. Unknown id, wrong task, a remote port
  // field other than the name the credit was granted for, or no reserved slot
  // left -> MACH_SEND_INVALID_DEST (also a protocol violation). Nothing is
  // consumed on error.
  // On success the message carries a send right to the credit's port as its
  // destination, no reply, the sender identity of `task`, and is handed to a
  // waiting receiver or queued. If the port died meanwhile it is destroyed
  // (accepted, as XNU). A revoked credit with no reserved slot left closes
  // (drops its send right -> may fire no-senders; LaneHooks::credit_closed).
  // `msg` may lie in memory the sender can still write: it is read once.
  mach_msg_return_t credit_post(TaskId task, CreditId id, std::span<const uint8_t> msg);

  // Revokes credit `id` now, as the core does on its own when a queue fills
  // (LaneHooks::credit_revoke is asked how many slots the client had not
  // taken; the credit closes once nothing it carries is left in flight). The
  // daemon uses it to replace a credit the client has used up. Unknown or
  // already revoked credit: no-op.
  void credit_revoke(CreditId id);

  // Lends up to `max` more messages queued on the receive right `name` of
  // `task` to lane `lane`. For i below the returned count, out[i] holds the
  // image of the i-th lent message in queue order (`out` grows as needed and
  // keeps its elements' buffers for the next call): the bytes exactly as a receive would write them (header as
  // received: bits MACH_MSGH_BITS(0, MACH_MSG_TYPE_PORT_SEND), remote
  // MACH_PORT_NULL, local `name`, the sender's msgh_voucher_port), followed at round_msg(size) by a full
  // mach_msg_max_trailer_t (68 bytes, msgh_trailer_size = 68: the client trims
  // it to what the receiver asked) with the seqno that message WILL get, the
  // sender's tokens and the port's context. Returns how many were lent now.
  // Eligible port (else 0): hooks set; `name` is a receive right of `task`;
  // the port is active, in no port set, has no blocked receivers, no armed
  // send-possible request and no no-senders request, and has no lane yet (it
  // adopts `lane` when it lends something now) or already lane `lane`;
  // `lane` is not in use by another port. Eligible messages (lending stops at
  // the first that is not): not complex, no reply right, no voucher bits, a
  // send-right (not send-once) destination, round_msg(size) + 68 <= max_image. Lent messages
  // stay at the head of the queue (counted in msgcount, seen by nothing else).
  // With something lent, *senders_blocked (if given) tells whether senders
  // are blocked on the full queue: the receiver must then report what it
  // takes, so that they get in as it takes (MACHD_LANE_SENDERS_WAITING).
  uint32_t lane_lend(TaskId task, mach_port_name_t name, LaneId lane, uint32_t max,
                     uint32_t max_image, std::vector<std::vector<uint8_t>>& out,
                     bool* senders_blocked = nullptr);

  // The receiver consumed `consumed` more lent messages of `lane` (learned
  // outside any core operation; clamped to the lent count, the client is
  // untrusted): each is received as mach_msg would have (dequeued with the
  // next seqno, its slot released, its destination right consumed). With
  // `close` the lane is also dropped: the remaining lent messages are ordinary
  // queued messages again (same seqnos on their next delivery). Unknown lane:
  // no-op. The core does not call LaneHooks::lane_reclaim here.
  void lane_settle(LaneId lane, uint32_t consumed, bool close);

  // ---- introspection (XNU mach_debug.c; space_info.h) -----------------------
  // mach_port_space_info of `task`: every table slot (free ones too), rights
  // and request bits, object ids equal across spaces for the same port,
  // never an address. KERN_INVALID_TASK for an unknown task.
  kern_return_t space_info(TaskId task, ipc_info_space_t* info, std::vector<ipc_info_name_t>* table) const;
  kern_return_t space_basic_info(TaskId task, ipc_info_space_basic_t* info) const;
  // mach_port_dnrequest_info: size of the request table of the receive right
  // `name` and the live requests in it (KERN_INVALID_NAME, KERN_INVALID_RIGHT).
  kern_return_t port_dnrequest_info(TaskId task, mach_port_name_t name, unsigned* total, unsigned* used) const;
  // mach_port_kobject: the label of the port a send or receive right denotes
  // ({} for an ordinary port); KERN_INVALID_NAME, KERN_INVALID_RIGHT (no send
  // or receive right), KERN_INVALID_TASK.
  kern_return_t port_kobject(TaskId task, mach_port_name_t name, KObject* out) const;
  // Every in-use name of `task` with its object's state (NameDetail), in
  // name-index order. KERN_INVALID_TASK for an unknown task.
  kern_return_t space_names(TaskId task, std::vector<NameDetail>* out) const;
  // Every live task, the kernel task included, in creation order.
  std::vector<TaskId> task_ids() const;
  // Whether the port a send right `name` of `task` denotes has a full queue
  // (msgcount >= qlimit: a user's send would wait). The kernel task's own
  // sends ignore the limit (as XNU's), so a server of machd that must
  // respect a user's queue limit asks first. False for no such right.
  bool queue_full(TaskId task, mach_port_name_t name) const;

  Stats stats() const;

  // Upper bound on names per space (a hostile task cannot exhaust machd's
  // memory): allocation beyond it fails with KERN_NO_SPACE. Default 1<<22.
  void set_space_limit(uint32_t max_names);

  // Upper bound on the bytes of machd's heap that messages sent by one user
  // (the sender's uid) may occupy while in flight: message bodies and
  // out-of-line regions held in machd's memory. A send beyond it fails
  // with MACH_SEND_NO_BUFFER (as XNU's when a kernel buffer cannot be had)
  // before anything is copied in: the sender keeps its rights. Messages
  // machd itself sends are not charged.
  // Default 1 GiB.
  void set_user_queued_bytes_limit(uint64_t bytes);
  // The bytes now charged to `uid` (0 when nothing is in flight).
  uint64_t user_queued_bytes(uint32_t uid) const;

  // Upper bound on the messages one user (the sender's uid) may have in
  // flight, whatever their size: queued, or held by its blocked senders.
  // It bounds what queue limits do not: messages to send-once rights pass
  // any qlimit (up to MACH_PORT_QLIMIT_KERNEL per port). A send beyond it
  // fails with MACH_SEND_NO_BUFFER before anything is copied in. Messages
  // machd itself sends (notifications, kernel replies) are not counted.
  // Default 1<<20.
  void set_user_queued_messages_limit(uint64_t messages);
  uint64_t user_queued_messages(uint32_t uid) const;

  // Upper bound on the live ports created by one user's tasks (receive
  // rights from mach_port_allocate / allocate_name / construct /
  // reply_port, kernel objects made in its space). A port stays charged to
  // its creator wherever its receive right goes, until it is freed. Beyond
  // the bound, allocation fails with KERN_RESOURCE_SHORTAGE (reply_port
  // returns MACH_PORT_NULL). Default 1<<22.
  void set_user_ports_limit(uint64_t ports);
  uint64_t user_ports(uint32_t uid) const;

 private:
  std::unique_ptr<KernelImpl> impl_;
};

}  // namespace machd::ipc
