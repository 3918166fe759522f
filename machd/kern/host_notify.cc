// machd/kern/host_notify.cc — see host_notify.h.
#include "host_notify.h"

#include <mach/host_notify.h>
#include <mach/message.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime.h"
#include "translate.h"

extern "C" {
#include "mach_hostServer.h"
}

namespace machd::kern {

HostNotify::~HostNotify() {
  runtime().host().unwatch_fd(token_);
  if (fd_ >= 0) close(fd_);
}

namespace {
// Arms fd for a far-away absolute CLOCK_REALTIME deadline, cancelled (read
// fails with ECANCELED) when the clock is set.
bool arm(int fd) {
  itimerspec its{};
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  its.it_value.tv_sec = now.tv_sec + 100LL * 365 * 24 * 3600;
  return timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, nullptr) == 0;
}
}  // namespace

bool HostNotify::watch() {
  if (token_) return true;
  if (fd_ < 0) fd_ = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd_ < 0 || !arm(fd_)) return false;
  token_ = runtime().host().watch_fd(fd_, [this] { on_readable(); });
  return token_ != 0;
}

void HostNotify::on_readable() {
  bool set = false;
  for (;;) {
    uint64_t expirations = 0;
    ssize_t n = read(fd_, &expirations, sizeof expirations);
    if (n < 0 && errno == ECANCELED) {
      set = true;
      arm(fd_);  // clears the cancelled state
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) {  // the far deadline passed: arm again
      arm(fd_);
      continue;
    }
    break;  // EAGAIN
  }
  if (set) fire();
}

void HostNotify::sweep() {
  Runtime& rt = runtime();
  for (auto& v : ports_) {
    std::erase_if(v, [&](mach_port_name_t n) {
      mach_port_type_t type = 0;
      if (rt.kernel().port_type(rt.kt(), n, &type) == KERN_SUCCESS && (type & MACH_PORT_TYPE_SEND_ONCE)) return false;
      rt.kernel().port_deallocate(rt.kt(), n);  // a dead name (or nothing)
      return true;
    });
  }
}

kern_return_t HostNotify::register_port(int type, mach_port_name_t kernel_name) {
  sweep();
  if (pending() >= kMaxRegistrations) return KERN_RESOURCE_SHORTAGE;
  if (!watch()) return KERN_RESOURCE_SHORTAGE;
  ports_[size_t(type)].push_back(kernel_name);
  return KERN_SUCCESS;
}

void HostNotify::fire() {
  sweep();
  constexpr mach_msg_id_t kIds[2] = {HOST_CALENDAR_CHANGED_REPLYID, HOST_CALENDAR_SET_REPLYID};
  for (int type : {HOST_NOTIFY_CALENDAR_SET, HOST_NOTIFY_CALENDAR_CHANGE}) {
    std::vector<mach_port_name_t> ports;
    ports.swap(ports_[size_t(type)]);
    for (mach_port_name_t port : ports) {
      mach_msg_header_t h{};
      h.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0);
      h.msgh_size = sizeof h;
      h.msgh_remote_port = port;
      h.msgh_id = kIds[type];
      const auto* b = reinterpret_cast<const uint8_t*>(&h);
      runtime().send(std::vector<uint8_t>(b, b + sizeof h));  // undeliverable: destroyed with its right
    }
  }
}

}  // namespace machd::kern

extern "C" {

// XNU: a null host KERN_INVALID_ARGUMENT, no port KERN_INVALID_CAPABILITY,
// an unknown type KERN_INVALID_ARGUMENT; the send-once right is kept.
kern_return_t host_request_notification(host_t host, host_flavor_t notify_type, mach_port_t notify_port) {
  using namespace machd::kern;
  if (!translate(host, {KType::kHost, KType::kHostPriv})) return KERN_INVALID_ARGUMENT;
  host_notify().sweep();
  if (!MACH_PORT_VALID(notify_port)) return KERN_INVALID_CAPABILITY;
  if (notify_type < 0 || notify_type > HOST_NOTIFY_TYPE_MAX) return KERN_INVALID_ARGUMENT;
  return host_notify().register_port(notify_type, notify_port);
}

}  // extern "C"
