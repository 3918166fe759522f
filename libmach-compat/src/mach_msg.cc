// libmach-compat/src/mach_msg.cc — mach_msg, mach_msg_overwrite and friends.
//
// The message is written straight into the thread's channel. Out-of-line
// memory travels three ways (see machd_abi.h): small regions are copied into
// the channel; a whole memfd-backed vm_allocate region sent with `deallocate`
// is moved (unmapped here, its memfd passed); anything else is copied once
// into a new memfd. Received regions are mapped copy-on-write from machd's
// sealed memfds, or copied from the channel when small.
#include <mach/mach.h>
#include <mach/message.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "connection.h"
#include "fast_lanes.h"
#include "native_syscall.h"
#include "vm_regions.h"
#include "vm_self.h"

namespace {

using machcompat::CallBuilder;
using machcompat::CallResult;

constexpr uint64_t align8(uint64_t v) { return (v + 7) & ~uint64_t(7); }

// Descriptor sizes in the x86_64 user layout.
constexpr size_t kPortDescSize = sizeof(mach_msg_port_descriptor_t);
constexpr size_t kWideDescSize = sizeof(mach_msg_ool_descriptor_t);

// Writes n bytes from p at offset off of fd (from our own address space: a
// bad address fails, as the kernel's copyin does).
bool write_all(int fd, const void* p, size_t n, off_t off) {
  for (size_t done = 0; done < n;) {
    ssize_t w = pwrite(fd, static_cast<const uint8_t*>(p) + done, n - done, off + off_t(done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    done += size_t(w);
  }
  return true;
}

struct OutOol {
  size_t desc_offset = 0;
  uintptr_t addr = 0;
  uint64_t size = 0;
  bool deallocate = false;
  bool ports = false;  // an OOL ports descriptor
  uint32_t count = 0;  // ports: number of names
  // How it travels:
  uint32_t kind = MACHD_OOL_EMPTY;
  int fd = -1;           // FD kinds: our fd (closed after the call)
  bool moved = false;    // zero-copy: the region was unmapped here
  size_t moved_len = 0;
};

struct Marshal {
  std::vector<OutOol> ool;  // descriptor order (memory and ports mixed)
  std::vector<int> fds;     // at most MACHD_MAX_FDS_PER_MSG (one socket message)
  // Copied regions share one memfd, each at a page-aligned offset.
  int copy_fd = -1;
  uint32_t copy_index = 0;
  uint64_t copy_len = 0;
  int msg_fd = -1;  // a message larger than a channel holds (the last fd)
  mach_msg_return_t error = MACH_MSG_SUCCESS;
};

// Finds the out-of-line descriptors of the message as it will be sent. Parsing
// stops at anything malformed: machd then reports the precise error.
void scan_descriptors(const uint8_t* m, size_t send_size, Marshal& out) {
  mach_msg_header_t h;
  memcpy(&h, m, sizeof h);
  if ((h.msgh_bits & MACH_MSGH_BITS_COMPLEX) == 0 || send_size < sizeof h + sizeof(mach_msg_body_t)) return;
  mach_msg_body_t body;
  memcpy(&body, m + sizeof h, sizeof body);
  size_t off = sizeof h + sizeof body;
  for (uint32_t i = 0; i < body.msgh_descriptor_count; ++i) {
    if (off + kPortDescSize > send_size) return;
    mach_msg_type_descriptor_t t;
    memcpy(&t, m + off, sizeof t);
    if (t.type == MACH_MSG_PORT_DESCRIPTOR) {
      off += kPortDescSize;
      continue;
    }
    if (off + kWideDescSize > send_size) return;
    if (t.type == MACH_MSG_OOL_DESCRIPTOR || t.type == MACH_MSG_OOL_VOLATILE_DESCRIPTOR) {
      mach_msg_ool_descriptor_t d;
      memcpy(&d, m + off, sizeof d);
      OutOol o;
      o.desc_offset = off;
      o.addr = reinterpret_cast<uintptr_t>(d.address);
      o.size = d.size;
      o.deallocate = d.deallocate != 0;
      out.ool.push_back(o);
    } else if (t.type == MACH_MSG_OOL_PORTS_DESCRIPTOR) {
      mach_msg_ool_ports_descriptor_t d;
      memcpy(&d, m + off, sizeof d);
      OutOol o;
      o.desc_offset = off;
      o.addr = reinterpret_cast<uintptr_t>(d.address);
      o.count = d.count;
      o.size = uint64_t(d.count) * sizeof(mach_port_name_t);
      o.deallocate = d.deallocate != 0;
      o.ports = true;
      out.ool.push_back(o);
    } else if (t.type != MACH_MSG_GUARDED_PORT_DESCRIPTOR) {
      return;  // unknown type: machd says MACH_SEND_INVALID_TYPE
    }
    off += kWideDescSize;
  }
}

// Lays out the out-of-line parts after the message, at offsets counted from
// the message's start, into `channel`, which begins at offset `base` (0, or
// for a message that travels in a memfd, its padded size). Returns the
// channel data length.
size_t marshal_ool(uint8_t* channel, size_t base, size_t send_size, Marshal& mr, uint64_t& n_ool,
                   uint64_t& n_ports) {
  auto dst = [&](size_t off) { return channel + (off - base); };  // off >= base
  const size_t cap = base + MACHD_CHANNEL_DATA_SIZE;
  n_ool = n_ports = 0;
  for (auto& o : mr.ool) (o.ports ? n_ports : n_ool)++;
  size_t rec_off = align8(send_size);
  size_t ports_off = rec_off + n_ool * sizeof(machd_ool_in);
  size_t ports_len = 0;
  for (auto& o : mr.ool)
    if (o.ports) ports_len += 8 + align8(o.size);
  size_t inline_off = ports_off + ports_len;
  if (inline_off > cap) {
    mr.error = MACH_SEND_TOO_LARGE;
    return 0;
  }
  size_t rec = rec_off, port_cur = ports_off;
  for (auto& o : mr.ool) {
    if (o.ports) {
      uint32_t hdr[2] = {o.count, 0};
      memcpy(dst(port_cur), hdr, 8);
      if (!machcompat::copy_self(uintptr_t(dst(port_cur + 8)), o.addr, o.size)) {
        mr.error = MACH_SEND_INVALID_MEMORY;
        return 0;
      }
      port_cur += 8 + align8(o.size);
      continue;
    }
    machd_ool_in in{};
    in.size = o.size;
    const size_t pages = machcompat::round_to_page(o.size);
    if (o.size == 0) {
      in.kind = MACHD_OOL_EMPTY;
    } else if (o.size < MACHD_OOL_INLINE_MAX && inline_off + align8(o.size) <= cap) {
      in.kind = MACHD_OOL_INLINE;
      in.offset = inline_off;
      if (!machcompat::copy_self(uintptr_t(dst(inline_off)), o.addr, o.size)) {
        mr.error = MACH_SEND_INVALID_MEMORY;
        return 0;
      }
      inline_off += align8(o.size);
    } else {
      // Move only while one fd stays free for the shared copy memfd.
      int fd = o.deallocate && mr.fds.size() + 1 < MACHD_MAX_FDS_PER_MSG
                   ? machcompat::take_memfd_region(o.addr, pages)
                   : -1;
      in.kind = MACHD_OOL_FD;
      if (fd >= 0) {
        // Move: unmap so machd can seal the pages; they travel by reference.
        munmap(reinterpret_cast<void*>(o.addr), pages);
        o.moved = true;
        o.moved_len = pages;
        o.fd = fd;
        in.fd_index = uint32_t(mr.fds.size());
        mr.fds.push_back(fd);
      } else {
        if (mr.copy_fd < 0) {
          mr.copy_fd = memfd_create("mach-ool", MFD_CLOEXEC | MFD_ALLOW_SEALING);
          if (mr.copy_fd < 0) {
            mr.error = MACH_SEND_NO_BUFFER;
            return 0;
          }
          mr.copy_index = uint32_t(mr.fds.size());
          mr.fds.push_back(mr.copy_fd);
        }
        const uint64_t at = mr.copy_len;
        if (ftruncate(mr.copy_fd, off_t(at + pages)) != 0 ||
            !write_all(mr.copy_fd, reinterpret_cast<const void*>(o.addr), o.size, off_t(at))) {
          mr.error = MACH_SEND_INVALID_MEMORY;
          return 0;
        }
        mr.copy_len = at + pages;
        in.offset = at;
        in.fd_index = mr.copy_index;
      }
    }
    o.kind = in.kind;
    memcpy(dst(rec), &in, sizeof in);
    rec += sizeof in;
  }
  return inline_off - base;
}

// After the call: the sender's side of out-of-line memory.
void settle_sent(Marshal& mr, bool sent) {
  for (auto& o : mr.ool) {
    if (o.moved) {
      if (sent) close(o.fd);
      else machcompat::restore_memfd_region(o.addr, o.moved_len, o.fd, true);
      continue;
    }
    if (o.fd >= 0) close(o.fd);
    if (sent && o.deallocate && o.size > 0) machcompat::deallocate_self(o.addr, o.size);
  }
  if (mr.copy_fd >= 0) close(mr.copy_fd);
  mr.copy_fd = -1;
  if (mr.msg_fd >= 0) close(mr.msg_fd);
  mr.msg_fd = -1;
}

void put_address(uint8_t* desc, void* addr) { memcpy(desc, &addr, sizeof addr); }

// A region that could not be placed in our address space, as XNU reports it.
constexpr mach_msg_return_t kNoVmSpace = MACH_RCV_BODY_ERROR | MACH_MSG_VM_SPACE;

// Places received out-of-line data in our address space and points the
// descriptors at it.
mach_msg_return_t place_received(uint8_t* msg, size_t len, const CallResult& r, size_t rec_off, size_t nrec) {
  mach_msg_return_t status = MACH_MSG_SUCCESS;
  for (size_t i = 0; i < nrec; ++i) {
    machd_ool_out rec;
    if (rec_off + (i + 1) * sizeof rec > r.data.size()) return MACH_RCV_INVALID_DATA;
    memcpy(&rec, r.data.data() + rec_off + i * sizeof rec, sizeof rec);
    if (rec.descriptor_offset + kWideDescSize > len) continue;
    uint8_t* desc = msg + rec.descriptor_offset;
    // A returned send (pseudo-receive) is copied out like a received message:
    // XNU ipc_kmsg_copyout_pseudo gives the sender new memory (its own went
    // into the message at copyin) and port arrays with the names its space
    // now has.
    if (rec.kind == MACHD_OOL_FD) {
      int fd = machcompat::take_fd(rec.fd_tag);
      if (fd >= 0) {
        void* p = mmap(nullptr, machcompat::round_to_page(rec.size), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
                       off_t(rec.offset));
        close(fd);
        put_address(desc, p == MAP_FAILED ? nullptr : p);
        if (p == MAP_FAILED) status = kNoVmSpace;
      } else {
        put_address(desc, nullptr);
        status = kNoVmSpace;
      }
    } else {
      void* p = nullptr;
      if (rec.kind == MACHD_OOL_INLINE && rec.size > 0 && rec.offset + rec.size <= r.data.size()) {
        p = machcompat::alloc_ool(rec.size);
        if (p) memcpy(p, r.data.data() + rec.offset, rec.size);
        else status = kNoVmSpace;
      }
      put_address(desc, p);
    }
  }
  return status;
}

bool is_send_error(mach_msg_return_t mr) {
  return (mr & ~MACH_MSG_MASK) >= MACH_SEND_IN_PROGRESS && (mr & ~MACH_MSG_MASK) < MACH_RCV_IN_PROGRESS;
}

// One mach_msg trap (XNU's mach_msg_overwrite_trap).
mach_msg_return_t msg_trap(mach_msg_header_t* msg, mach_msg_option_t option, mach_msg_size_t send_size,
                           mach_msg_size_t rcv_size, mach_port_name_t rcv_name, mach_msg_timeout_t timeout,
                           mach_port_name_t notify, mach_msg_header_t* rcv_msg, mach_msg_size_t rcv_limit) {
  machcompat::NativeScope native;  // the library's own system calls are never redirected
  (void)rcv_limit;
  const bool sending = (option & MACH_SEND_MSG) != 0;
  const bool receiving = (option & MACH_RCV_MSG) != 0;
  // The fast lanes first: they decline anything they cannot do exactly.
  if (sending && !receiving && machcompat::fast_send(msg, option, send_size)) return MACH_MSG_SUCCESS;
  if (receiving && !sending) {
    mach_msg_return_t fast = MACH_MSG_SUCCESS;
    if (machcompat::fast_receive(rcv_msg ? rcv_msg : msg, option, rcv_size, rcv_name, &fast)) return fast;
  }
  CallBuilder b(MACHD_OP_MSG);
  if (!b.ok()) return sending ? MACH_SEND_INVALID_DEST : MACH_RCV_PORT_DIED;
  uint64_t* a = b.args();
  uint8_t* data = b.data();
  Marshal mr;
  uint64_t n_ool = 0, n_ports = 0;
  size_t len = 0;
  if (sending) {
    if (msg == nullptr) return MACH_SEND_INVALID_DATA;
    if (send_size > MACHD_MSG_SIZE_LIMIT) return MACH_SEND_TOO_LARGE;
    if (send_size <= MACHD_MSG_MAX) {
      memcpy(data, msg, send_size);
      if (send_size >= sizeof(mach_msg_header_t)) scan_descriptors(data, send_size, mr);
      len = marshal_ool(data, 0, send_size, mr, n_ool, n_ports);
    } else {
      // The message travels in a memfd, the request's last fd, and is scanned
      // there as machd will read it; the channel gets what follows it
      // (machd_abi.h).
      mr.msg_fd = memfd_create("mach-msg", MFD_CLOEXEC);
      void* image = mr.msg_fd >= 0 && write_all(mr.msg_fd, msg, send_size, 0)
                        ? mmap(nullptr, send_size, PROT_READ, MAP_SHARED, mr.msg_fd, 0)
                        : MAP_FAILED;
      if (image == MAP_FAILED) {
        mr.error = MACH_SEND_NO_BUFFER;
      } else {
        scan_descriptors(static_cast<const uint8_t*>(image), send_size, mr);
        munmap(image, send_size);
        len = marshal_ool(data, align8(send_size), send_size, mr, n_ool, n_ports);
        if (mr.error == MACH_MSG_SUCCESS && mr.fds.size() >= MACHD_MAX_FDS_PER_MSG) mr.error = MACH_SEND_TOO_LARGE;
        mr.fds.push_back(mr.msg_fd);
      }
    }
    if (mr.error != MACH_MSG_SUCCESS) {
      settle_sent(mr, false);
      return mr.error;
    }
  }
  a[0] = uint32_t(option);
  a[1] = send_size;
  a[2] = rcv_size;
  a[3] = rcv_name;
  a[4] = timeout;
  a[5] = notify;
  a[6] = n_ool;
  a[7] = n_ports;
  a[8] = uint64_t(uintptr_t(msg));  // buffers: guards of received receive rights
  a[9] = uint64_t(uintptr_t(rcv_msg ? rcv_msg : msg));
  b.set_data_len(uint32_t(len));
  CallResult r = b.submit(mr.fds);
  if (r.machd_gone) {
    settle_sent(mr, false);
    return sending ? MACH_SEND_INVALID_DEST : MACH_RCV_PORT_DIED;
  }
  mach_msg_return_t result = r.result;
  const uint64_t flags = r.rets[0];
  const bool returned = (flags & MACHD_MSG_HAS_MSG) && (flags & MACHD_MSG_RETURNED_SEND);
  // A returned send was copied in: the sender's memory went with it.
  const bool sent = sending && (!is_send_error(result) || returned);
  settle_sent(mr, sent);

  if ((flags & MACHD_MSG_HAS_MSG) == 0) return result;
  mach_msg_header_t* dest = returned ? msg : (rcv_msg ? rcv_msg : msg);
  size_t mlen = size_t(r.rets[1]);
  const bool in_fd = (flags & MACHD_MSG_IN_FD) != 0;  // a message larger than a channel (machd_abi.h)
  if (dest == nullptr || (!in_fd && mlen > r.data.size()) || (!returned && !receiving)) return result;
  size_t rec_off = 0;  // where the out-of-line records start in the channel
  if (in_fd) {
    int fd = machcompat::take_fd(r.rets[4]);
    bool ok = fd >= 0;
    for (size_t done = 0; ok && done < mlen;) {
      ssize_t n = pread(fd, reinterpret_cast<uint8_t*>(dest) + done, mlen - done, off_t(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) ok = false;
      else done += size_t(n);
    }
    if (fd >= 0) close(fd);
    if (!ok) return result == MACH_MSG_SUCCESS ? MACH_RCV_INVALID_DATA : result;
  } else if (result == MACH_RCV_TOO_LARGE && (option & MACH_RCV_LARGE)) {
    // XNU writes only the size needed (and, with LARGE_IDENTITY, the port).
    mach_msg_header_t h{};
    memcpy(&h, r.data.data(), std::min(mlen, sizeof h));
    dest->msgh_size = h.msgh_size;
    if (option & MACH_RCV_LARGE_IDENTITY) dest->msgh_local_port = h.msgh_local_port;
    return result;
  } else {
    memcpy(dest, r.data.data(), mlen);
    rec_off = align8(mlen);
  }
  size_t nrec = size_t(r.rets[2] + r.rets[3]);
  if (nrec) {
    mach_msg_return_t st = place_received(reinterpret_cast<uint8_t*>(dest), mlen, r, rec_off, nrec);
    if (st != MACH_MSG_SUCCESS && result == MACH_MSG_SUCCESS) result = st;
  }
  return result;
}

}  // namespace

extern "C" {

// As libsyscall: an interrupted send (thread_abort) is retried unless
// MACH_SEND_INTERRUPT is given, an interrupted receive unless
// MACH_RCV_INTERRUPT (the retry only receives).
mach_msg_return_t mach_msg_overwrite(mach_msg_header_t* msg, mach_msg_option_t option, mach_msg_size_t send_size,
                                     mach_msg_size_t rcv_size, mach_port_name_t rcv_name,
                                     mach_msg_timeout_t timeout, mach_port_name_t notify,
                                     mach_msg_header_t* rcv_msg, mach_msg_size_t rcv_limit) {
  mach_msg_return_t mr = msg_trap(msg, option, send_size, rcv_size, rcv_name, timeout, notify, rcv_msg, rcv_limit);
  if (mr == MACH_MSG_SUCCESS) return mr;
  if ((option & MACH_SEND_INTERRUPT) == 0)
    while (mr == MACH_SEND_INTERRUPTED)
      mr = msg_trap(msg, option, send_size, rcv_size, rcv_name, timeout, notify, rcv_msg, rcv_limit);
  if ((option & MACH_RCV_INTERRUPT) == 0)
    while (mr == MACH_RCV_INTERRUPTED)
      mr = msg_trap(msg, option & ~MACH_SEND_MSG, 0, rcv_size, rcv_name, timeout, notify, rcv_msg, rcv_limit);
  return mr;
}

// The traps behind mach_msg: one trap each, no retry.
mach_msg_return_t mach_msg_trap(mach_msg_header_t* msg, mach_msg_option_t option, mach_msg_size_t send_size,
                                mach_msg_size_t rcv_size, mach_port_name_t rcv_name, mach_msg_timeout_t timeout,
                                mach_port_name_t notify) {
  return msg_trap(msg, option, send_size, rcv_size, rcv_name, timeout, notify, nullptr, 0);
}

mach_msg_return_t mach_msg_overwrite_trap(mach_msg_header_t* msg, mach_msg_option_t option,
                                          mach_msg_size_t send_size, mach_msg_size_t rcv_size,
                                          mach_port_name_t rcv_name, mach_msg_timeout_t timeout,
                                          mach_msg_priority_t priority, mach_msg_header_t* rcv_msg,
                                          mach_msg_size_t rcv_limit) {
  (void)priority;  // no QoS here
  return msg_trap(msg, option, send_size, rcv_size, rcv_name, timeout, MACH_PORT_NULL, rcv_msg, rcv_limit);
}

mach_msg_return_t mach_msg(mach_msg_header_t* msg, mach_msg_option_t option, mach_msg_size_t send_size,
                           mach_msg_size_t rcv_size, mach_port_name_t rcv_name, mach_msg_timeout_t timeout,
                           mach_port_name_t notify) {
  return mach_msg_overwrite(msg, option, send_size, rcv_size, rcv_name, timeout, notify, nullptr, 0);
}

mach_msg_return_t mach_msg_send(mach_msg_header_t* msg) {
  return mach_msg(msg, MACH_SEND_MSG, msg->msgh_size, 0, MACH_PORT_NULL, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
}

mach_msg_return_t mach_msg_receive(mach_msg_header_t* msg) {
  return mach_msg(msg, MACH_RCV_MSG, 0, msg->msgh_size, msg->msgh_local_port, MACH_MSG_TIMEOUT_NONE,
                  MACH_PORT_NULL);
}

static void destroy_right(mach_port_name_t name, mach_msg_type_name_t type) {
  if (!MACH_PORT_VALID(name)) return;
  switch (type) {
    case MACH_MSG_TYPE_MOVE_SEND:
    case MACH_MSG_TYPE_MOVE_SEND_ONCE:
      mach_port_deallocate(mach_task_self(), name);
      break;
    case MACH_MSG_TYPE_MOVE_RECEIVE:
      mach_port_mod_refs(mach_task_self(), name, MACH_PORT_RIGHT_RECEIVE, -1);
      break;
    case MACH_MSG_TYPE_MAKE_SEND:  // make one and destroy it (counts for no-senders)
      if (mach_port_insert_right(mach_task_self(), name, name, MACH_MSG_TYPE_MAKE_SEND) == KERN_SUCCESS)
        mach_port_deallocate(mach_task_self(), name);
      break;
    case MACH_MSG_TYPE_MAKE_SEND_ONCE: {  // make one and destroy it (fires send-once)
      mach_port_t so = MACH_PORT_NULL;
      mach_msg_type_name_t ty = 0;
      if (mach_port_extract_right(mach_task_self(), name, MACH_MSG_TYPE_MAKE_SEND_ONCE, &so, &ty) == KERN_SUCCESS)
        mach_port_deallocate(mach_task_self(), so);
      break;
    }
    default:  // COPY_SEND: the right stays with its holder
      break;
  }
}

void mach_msg_destroy(mach_msg_header_t* msg) {
  if (msg == nullptr) return;
  mach_msg_bits_t bits = msg->msgh_bits;
  // msgh_local_port holds no right in a received message.
  destroy_right(msg->msgh_remote_port, MACH_MSGH_BITS_REMOTE(bits));
  destroy_right(msg->msgh_voucher_port, MACH_MSGH_BITS_VOUCHER(bits));
  if ((bits & MACH_MSGH_BITS_COMPLEX) == 0) return;
  auto* base = reinterpret_cast<uint8_t*>(msg);
  mach_msg_body_t body;
  memcpy(&body, base + sizeof(mach_msg_header_t), sizeof body);
  size_t off = sizeof(mach_msg_header_t) + sizeof body;
  for (uint32_t i = 0; i < body.msgh_descriptor_count; ++i) {
    mach_msg_type_descriptor_t t;
    memcpy(&t, base + off, sizeof t);
    switch (t.type) {
      case MACH_MSG_PORT_DESCRIPTOR: {
        mach_msg_port_descriptor_t d;
        memcpy(&d, base + off, sizeof d);
        destroy_right(d.name, d.disposition);
        off += sizeof d;
        break;
      }
      case MACH_MSG_GUARDED_PORT_DESCRIPTOR: {
        mach_msg_guarded_port_descriptor_t d;
        memcpy(&d, base + off, sizeof d);
        if (d.disposition == MACH_MSG_TYPE_MOVE_RECEIVE && MACH_PORT_VALID(d.name))
          mach_port_destruct(mach_task_self(), d.name, 0, d.context);
        else destroy_right(d.name, d.disposition);
        off += sizeof d;
        break;
      }
      case MACH_MSG_OOL_DESCRIPTOR:
      case MACH_MSG_OOL_VOLATILE_DESCRIPTOR: {
        mach_msg_ool_descriptor_t d;
        memcpy(&d, base + off, sizeof d);
        if (d.size > 0 && d.address) vm_deallocate(mach_task_self(), vm_address_t(d.address), d.size);
        off += sizeof d;
        break;
      }
      case MACH_MSG_OOL_PORTS_DESCRIPTOR: {
        mach_msg_ool_ports_descriptor_t d;
        memcpy(&d, base + off, sizeof d);
        auto* names = static_cast<mach_port_name_t*>(d.address);
        if (names) {
          for (uint32_t k = 0; k < d.count; ++k) destroy_right(names[k], d.disposition);
          if (d.count) vm_deallocate(mach_task_self(), vm_address_t(d.address), d.count * sizeof(mach_port_name_t));
        }
        off += sizeof d;
        break;
      }
      default:
        return;  // malformed: stop
    }
  }
}

}  // extern "C"
