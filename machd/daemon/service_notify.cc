// machd/daemon/service_notify.cc — see service_notify.h.
#include "service_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>

#include <fmt/format.h>

#include "event_loop.h"

namespace machd {

ServiceNotify::ServiceNotify(bool under_systemd, std::string where) : where_(std::move(where)) {
  const char* ns = getenv("NOTIFY_SOCKET");
  enabled_ = under_systemd && ns != nullptr && ns[0] != '\0';
  uint64_t usec = 0;
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) watchdog_period_ns_ = usec * 1000 / 2;
}

void ServiceNotify::ready() {
  if (!enabled_) return;
  sd_notify(0, fmt::format("READY=1\nSTATUS=listening on {}, no task connected", where_).c_str());
  reported_tasks_ = 0;
  status_pending_ = false;
  last_status_ns_ = monotonic_ns();
  if (watchdog_period_ns_) next_ping_ns_ = last_status_ns_ + watchdog_period_ns_;
}

void ServiceNotify::stopping() {
  if (enabled_) sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
}

std::optional<uint64_t> ServiceNotify::next_deadline() const {
  if (!enabled_) return std::nullopt;
  std::optional<uint64_t> d;
  if (watchdog_period_ns_) d = next_ping_ns_;
  if (status_pending_) {
    const uint64_t s = last_status_ns_ + kStatusPeriodNs;
    d = d ? std::min(*d, s) : s;
  }
  return d;
}

void ServiceNotify::tick(uint64_t now_ns, size_t tasks) {
  if (!enabled_) return;
  if (watchdog_period_ns_ && now_ns >= next_ping_ns_) {
    sd_notify(0, "WATCHDOG=1");
    next_ping_ns_ = now_ns + watchdog_period_ns_;
  }
  if (tasks != reported_tasks_) status_pending_ = true;
  if (status_pending_ && now_ns >= last_status_ns_ + kStatusPeriodNs) {
    send_status(tasks);
    last_status_ns_ = now_ns;
  }
}

void ServiceNotify::send_status(size_t tasks) {
  sd_notify(0, fmt::format("STATUS=listening on {}, {} task{} connected", where_, tasks, tasks == 1 ? "" : "s").c_str());
  reported_tasks_ = tasks;
  status_pending_ = false;
}

}  // namespace machd
