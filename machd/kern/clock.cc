// machd/kern/clock.cc — see clock.h. The routines of clock.defs and
// host_get_clock_service / host_get_clock_control.
#include "clock.h"

#include <mach/mig_errors.h>
#include <mach/ndr.h>
#include <time.h>

#include <cstring>
#include <vector>

#include "runtime.h"
#include "translate.h"

extern "C" {
#include "clockServer.h"
#include "host_privServer.h"
#include "mach_hostServer.h"
}

namespace machd::kern {

namespace {
Clocks* g_clocks = nullptr;

constexpr clock_res_t kResolution = NSEC_PER_SEC / 100;  // XNU's figure for both clocks
constexpr mach_msg_id_t kClockAlarmReplyId = 3125107;    // clock_reply.defs

mach_port_name_t make_object(KType type, uint64_t id) {
  Runtime& rt = runtime();
  mach_port_name_t name = rt.create_port(type, id);
  rt.make_send(rt.kt(), name);  // the kernel task's send right: replies COPY_SEND it
  return name;
}

uint64_t ns_of(const mach_timespec_t& t) { return uint64_t(t.tv_sec) * NSEC_PER_SEC + t.tv_nsec; }

// XNU check_time: -1 bad type or time; 0 already reached; 1 in the future.
// A relative time becomes absolute (in *alarm).
int check_time(alarm_type_t type, mach_timespec_t* alarm, const mach_timespec_t& now) {
  if (type & ~TIME_RELATIVE) return -1;
  if (BAD_MACH_TIMESPEC(alarm)) return -1;
  if ((type & ALRMTYPE) == TIME_RELATIVE) {
    mach_timespec_t n = now;
    ADD_MACH_TIMESPEC(alarm, &n);
  }
  mach_timespec_t n = now;
  const int r = CMP_MACH_TIMESPEC(alarm, &n);
  return r >= 0 ? r : 0;
}

struct AlarmReply {
  mach_msg_header_t Head;
  NDR_record_t NDR;
  kern_return_t alarm_code;
  alarm_type_t alarm_type;
  mach_timespec_t alarm_time;
};

void alarm_reply(mach_port_name_t port, mach_msg_type_name_t poly, kern_return_t code, alarm_type_t type,
                 mach_timespec_t time) {
  AlarmReply r{};
  const mach_msg_type_name_t disp = poly == MACH_MSG_TYPE_PORT_SEND_ONCE ? MACH_MSG_TYPE_MOVE_SEND_ONCE
                                                                        : MACH_MSG_TYPE_MOVE_SEND;
  r.Head.msgh_bits = MACH_MSGH_BITS(disp, 0);
  r.Head.msgh_size = sizeof r;
  r.Head.msgh_remote_port = port;
  r.Head.msgh_id = kClockAlarmReplyId;
  r.NDR = NDR_record;
  r.alarm_code = code;
  r.alarm_type = type;
  r.alarm_time = time;
  std::vector<uint8_t> msg(sizeof r);
  memcpy(msg.data(), &r, sizeof r);
  runtime().send(std::move(msg));
}

std::optional<clock_id_t> service(mach_port_t port) {
  auto id = translate(port, {KType::kClock});
  if (!id) return std::nullopt;
  return clock_id_t(*id);
}
}  // namespace

Clocks& clocks() { return *g_clocks; }

Clocks::Clocks() {
  for (clock_id_t id : {SYSTEM_CLOCK, CALENDAR_CLOCK}) {
    service_[id] = make_object(KType::kClock, uint64_t(id));
    control_[id] = make_object(KType::kClockCtrl, uint64_t(id));
  }
  g_clocks = this;
}

mach_port_name_t Clocks::service_port(clock_id_t id) const {
  return id == SYSTEM_CLOCK || id == CALENDAR_CLOCK ? service_[id] : MACH_PORT_NULL;
}

mach_port_name_t Clocks::control_port(clock_id_t id) const {
  return id == SYSTEM_CLOCK || id == CALENDAR_CLOCK ? control_[id] : MACH_PORT_NULL;
}

std::optional<clock_id_t> Clocks::clock_of(ipc::TaskId task, mach_port_name_t name) const {
  ipc::KObject ko = runtime().kernel().kobject_of(task, name);
  if (type_of(ko) != KType::kClock && type_of(ko) != KType::kClockCtrl) return std::nullopt;
  return clock_id_t(ko.id);
}

mach_timespec_t Clocks::now(clock_id_t id) {
  timespec ts{};
  clock_gettime(id == CALENDAR_CLOCK ? CLOCK_REALTIME : CLOCK_MONOTONIC, &ts);
  return mach_timespec_t{unsigned(ts.tv_sec), clock_res_t(ts.tv_nsec)};
}

}  // namespace machd::kern

using machd::kern::Clocks;
using machd::kern::clocks;
using machd::kern::KType;
using machd::kern::translate;

extern "C" {

kern_return_t host_get_clock_service(host_t host, clock_id_t clock_id, clock_serv_t* clock_serv) {
  if (!translate(host, {KType::kHost, KType::kHostPriv})) return KERN_INVALID_ARGUMENT;
  mach_port_name_t p = clocks().service_port(clock_id);
  if (!MACH_PORT_VALID(p)) return KERN_INVALID_ARGUMENT;
  *clock_serv = p;
  return KERN_SUCCESS;
}

kern_return_t host_get_clock_control(host_priv_t host_priv, clock_id_t clock_id, clock_ctrl_t* clock_ctrl) {
  if (!translate(host_priv, {KType::kHostPriv})) return KERN_INVALID_ARGUMENT;
  mach_port_name_t p = clocks().control_port(clock_id);
  if (!MACH_PORT_VALID(p)) return KERN_INVALID_ARGUMENT;
  *clock_ctrl = p;
  return KERN_SUCCESS;
}

kern_return_t clock_get_time(clock_serv_t clock_serv, mach_timespec_t* cur_time) {
  auto id = machd::kern::service(clock_serv);
  if (!id) return KERN_INVALID_ARGUMENT;
  *cur_time = Clocks::now(*id);
  return KERN_SUCCESS;
}

kern_return_t clock_get_attributes(clock_serv_t clock_serv, clock_flavor_t flavor, clock_attr_t attr,
                                   mach_msg_type_number_t* count) {
  auto id = machd::kern::service(clock_serv);
  if (!id) return KERN_INVALID_ARGUMENT;
  if (*count != 1) return KERN_FAILURE;
  switch (flavor) {
    case CLOCK_GET_TIME_RES:
      *attr = machd::kern::kResolution;
      return KERN_SUCCESS;
    case CLOCK_ALARM_CURRES:
    case CLOCK_ALARM_MINRES:
    case CLOCK_ALARM_MAXRES:
      *attr = *id == SYSTEM_CLOCK ? machd::kern::kResolution : 0;
      return KERN_SUCCESS;
    default:
      return KERN_INVALID_VALUE;
  }
}

kern_return_t clock_alarm(clock_serv_t clock_serv, alarm_type_t alarm_type, mach_timespec_t alarm_time,
                          clock_reply_t alarm_port, mach_msg_type_name_t alarm_portPoly) {
  auto id = machd::kern::service(clock_serv);
  if (!id) return KERN_INVALID_ARGUMENT;
  if (*id != SYSTEM_CLOCK) return KERN_FAILURE;
  if (!MACH_PORT_VALID(alarm_port)) return KERN_INVALID_CAPABILITY;
  // From here the routine owns alarm_port (XNU consumes it on success).
  const mach_timespec_t now = Clocks::now(SYSTEM_CLOCK);
  const int chk = machd::kern::check_time(alarm_type, &alarm_time, now);
  if (chk <= 0) {
    machd::kern::alarm_reply(alarm_port, alarm_portPoly, chk < 0 ? KERN_INVALID_VALUE : KERN_SUCCESS, alarm_type,
                             now);
    return KERN_SUCCESS;
  }
  machd::kern::runtime().timers().add(machd::kern::ns_of(alarm_time), [alarm_port, alarm_portPoly, alarm_type] {
    machd::kern::alarm_reply(alarm_port, alarm_portPoly, KERN_SUCCESS, alarm_type, Clocks::now(SYSTEM_CLOCK));
  });
  return KERN_SUCCESS;
}

}  // extern "C"
