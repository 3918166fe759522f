// machd/daemon/service_notify.h — what machd tells its service manager.
//
// Through sd_notify(3), only under systemd (--systemd) and when systemd gave
// a notification socket ($NOTIFY_SOCKET); otherwise every call is a cheap
// no-op (a machd that mach-run started inside some service must not speak
// for that service):
//   READY=1 and STOPPING=1 (ready(), stopping());
//   STATUS=<listening on ..., N tasks connected> when the number of tasks
//     changed, at most once every kStatusPeriodNs;
//   WATCHDOG=1 every half of $WATCHDOG_USEC (the unit's WatchdogSec=) while
//     the event loop turns, so a machd stuck in a handler is restarted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace machd {

class ServiceNotify {
 public:
  static constexpr uint64_t kStatusPeriodNs = 2'000'000'000ull;

  // `under_systemd`: --systemd was given. `where`: what machd listens on,
  // for the status line.
  ServiceNotify(bool under_systemd, std::string where);

  void ready();
  void stopping();
  // The latest deadline (monotonic ns) by which the loop must call tick(),
  // or nullopt if nothing is due (no watchdog, status current).
  std::optional<uint64_t> next_deadline() const;
  // From the event loop, after each turn: pings the watchdog when due and
  // reports `tasks` if it changed and the last report is old enough.
  void tick(uint64_t now_ns, size_t tasks);

 private:
  void send_status(size_t tasks);

  bool enabled_ = false;
  std::string where_;
  uint64_t watchdog_period_ns_ = 0;  // 0: no watchdog
  uint64_t next_ping_ns_ = 0;
  uint64_t last_status_ns_ = 0;
  size_t reported_tasks_ = SIZE_MAX;
  bool status_pending_ = true;
};

}  // namespace machd
