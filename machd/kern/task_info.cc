// machd/kern/task_info.cc — see task_info.h.
#include "task_info.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>

namespace machd::kern {

namespace {

// What one /proc/PID[/task/TID]/stat line says (times in nanoseconds).
struct Stat {
  uint64_t minflt = 0, majflt = 0, utime = 0, stime = 0, vsize = 0, rss_pages = 0;
  int threads = 0;
};

uint64_t ticks_to_ns(uint64_t ticks) {
  static const uint64_t hz = uint64_t(std::max(1L, sysconf(_SC_CLK_TCK)));
  return ticks * (1000000000ull / hz);
}

bool read_file(const std::string& path, std::string* out) {
  FILE* f = fopen(path.c_str(), "re");
  if (!f) return false;
  char buf[4096];
  size_t n;
  out->clear();
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out->append(buf, n);
  fclose(f);
  return true;
}

bool read_stat(const std::string& path, Stat* s) {
  std::string text;
  if (!read_file(path, &text)) return false;
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) return false;
  // Fields after the command name, numbered as proc(5) numbers them.
  unsigned long long v[64] = {};
  int field = 3;
  const char* p = text.c_str() + paren + 1;
  while (*p && field < 64) {
    while (*p == ' ') p++;
    if (!*p) break;
    v[field++] = strtoull(p, const_cast<char**>(&p), 10);
    while (*p && *p != ' ') p++;  // the state letter and anything non-numeric
  }
  if (field < 25) return false;
  s->minflt = v[10];
  s->majflt = v[12];
  s->utime = ticks_to_ns(v[14]);
  s->stime = ticks_to_ns(v[15]);
  s->threads = int(v[20]);
  s->vsize = v[23];
  s->rss_pages = v[24];
  return true;
}

// A "Key:   value" line of /proc/PID/status or io (value's first number).
uint64_t field_of(const std::string& text, const char* key) {
  const std::string k = std::string("\n") + key + ":";
  size_t at = text.find(k);
  if (at == std::string::npos) {
    if (text.compare(0, k.size() - 1, k.c_str() + 1) != 0) return 0;
    at = 0;
  } else {
    at += 1;
  }
  return strtoull(text.c_str() + at + k.size() - 1, nullptr, 10);
}

struct Times {
  uint64_t total_user = 0, total_system = 0;    // whole process
  uint64_t threads_user = 0, threads_system = 0;  // live threads
};

bool times_of(pid_t pid, const Stat& proc, Times* t) {
  t->total_user = proc.utime;
  t->total_system = proc.stime;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return false;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    Stat ts;
    if (!read_stat(dir + "/" + e->d_name + "/stat", &ts)) continue;
    t->threads_user += ts.utime;
    t->threads_system += ts.stime;
  }
  closedir(d);
  // Per-thread ticks are rounded separately: live threads never exceed the total.
  t->threads_user = std::min(t->threads_user, t->total_user);
  t->threads_system = std::min(t->threads_system, t->total_system);
  return true;
}

time_value_t time_value(uint64_t ns) {
  time_value_t tv;
  tv.seconds = integer_t(ns / 1000000000ull);
  tv.microseconds = integer_t((ns % 1000000000ull) / 1000ull);
  return tv;
}

// Everything the flavors draw from, read once per call.
struct Snapshot {
  Stat stat;
  Times times;
  std::string status, io;
  uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
  uint64_t kb(const char* key) const { return field_of(status, key) * 1024; }
  uint64_t resident() const { return stat.rss_pages * page; }
};

bool snapshot(pid_t pid, Snapshot* s) {
  if (pid <= 0) return false;
  const std::string base = "/proc/" + std::to_string(pid);
  if (!read_stat(base + "/stat", &s->stat)) return false;
  if (!times_of(pid, s->stat, &s->times)) return false;
  read_file(base + "/status", &s->status);
  if (!read_file(base + "/io", &s->io)) s->io.clear();  // not readable: no syscall counts
  return true;
}

void region_span(pid_t pid, integer_t* regions, uint64_t* lo, uint64_t* hi) {
  std::string maps;
  *regions = 0;
  *lo = *hi = 0;
  if (!read_file("/proc/" + std::to_string(pid) + "/maps", &maps)) return;
  size_t at = 0;
  while (at < maps.size()) {
    const size_t end = maps.find('\n', at);
    const std::string line = maps.substr(at, end == std::string::npos ? std::string::npos : end - at);
    unsigned long long a = 0, b = 0;
    if (sscanf(line.c_str(), "%llx-%llx", &a, &b) == 2 && line.find("[vsyscall]") == std::string::npos) {
      if (*regions == 0) *lo = a;
      *hi = b;
      ++*regions;
    }
    if (end == std::string::npos) break;
    at = end + 1;
  }
}

template <typename T>
kern_return_t put(const T& v, mach_msg_type_number_t words, integer_t* out, mach_msg_type_number_t* count) {
  memcpy(out, &v, words * sizeof(integer_t));
  *count = words;
  return KERN_SUCCESS;
}

constexpr mach_msg_type_number_t words_of(size_t bytes) { return mach_msg_type_number_t(bytes / sizeof(natural_t)); }

}  // namespace

kern_return_t task_info_of(pid_t pid, const ipc::Credentials& creds, task_flavor_t flavor, integer_t* out,
                           mach_msg_type_number_t* count) {
  const mach_msg_type_number_t have = *count;
  auto need = [&](mach_msg_type_number_t n) { return have >= n; };

  // Identity flavors come from the verified credentials, not from /proc.
  if (flavor == TASK_SECURITY_TOKEN) {
    if (!need(TASK_SECURITY_TOKEN_COUNT)) return KERN_INVALID_ARGUMENT;
    security_token_t t{{creds.euid, creds.egid}};
    return put(t, TASK_SECURITY_TOKEN_COUNT, out, count);
  }
  if (flavor == TASK_AUDIT_TOKEN) {
    if (!need(TASK_AUDIT_TOKEN_COUNT)) return KERN_INVALID_ARGUMENT;
    audit_token_t t{{creds.auid, creds.euid, creds.egid, creds.uid, creds.gid, creds.pid, creds.asid,
                     creds.pidversion}};
    return put(t, TASK_AUDIT_TOKEN_COUNT, out, count);
  }
  if (flavor == TASK_FLAGS_INFO) {
    if (!need(TASK_FLAGS_INFO_COUNT)) return KERN_INVALID_ARGUMENT;
    task_flags_info_data_t f{TF_LP64 | TF_64B_DATA};  // every task machd serves is x86_64
    return put(f, TASK_FLAGS_INFO_COUNT, out, count);
  }

  // The minimum count of each /proc flavor (checked before any reading).
  mach_msg_type_number_t min = 0;
  switch (flavor) {
    case TASK_BASIC_INFO_32:
    case TASK_BASIC2_INFO_32: min = TASK_BASIC_INFO_32_COUNT; break;
    case TASK_BASIC_INFO_64: min = TASK_BASIC_INFO_64_COUNT; break;
    case MACH_TASK_BASIC_INFO: min = MACH_TASK_BASIC_INFO_COUNT; break;
    case TASK_EVENTS_INFO: min = TASK_EVENTS_INFO_COUNT; break;
    case TASK_THREAD_TIMES_INFO: min = TASK_THREAD_TIMES_INFO_COUNT; break;
    case TASK_ABSOLUTETIME_INFO: min = TASK_ABSOLUTETIME_INFO_COUNT; break;
    case TASK_VM_INFO:
    case TASK_VM_INFO_PURGEABLE: min = TASK_VM_INFO_REV0_COUNT; break;
    case TASK_POWER_INFO: min = TASK_POWER_INFO_COUNT; break;
    case TASK_POWER_INFO_V2: min = TASK_POWER_INFO_V2_COUNT_OLD; break;
    default: return KERN_INVALID_ARGUMENT;
  }
  if (!need(min)) return KERN_INVALID_ARGUMENT;
  Snapshot s;
  if (!snapshot(pid, &s)) return KERN_FAILURE;
  const Times& t = s.times;
  const uint64_t dead_user = t.total_user - t.threads_user, dead_system = t.total_system - t.threads_system;

  switch (flavor) {
    case TASK_BASIC_INFO_32:
    case TASK_BASIC2_INFO_32: {
      task_basic_info_32_data_t i{};
      i.virtual_size = natural_t(std::min<uint64_t>(s.stat.vsize, UINT32_MAX));
      // BASIC2 reports the peak resident size where BASIC reports the current one.
      const uint64_t res = flavor == TASK_BASIC2_INFO_32 ? s.kb("VmHWM") : s.resident();
      i.resident_size = natural_t(std::min<uint64_t>(res, UINT32_MAX));
      i.user_time = time_value(dead_user);
      i.system_time = time_value(dead_system);
      i.policy = POLICY_TIMESHARE;
      return put(i, TASK_BASIC_INFO_32_COUNT, out, count);
    }
    case TASK_BASIC_INFO_64: {
      task_basic_info_64_data_t i{};
      i.virtual_size = s.stat.vsize;
      i.resident_size = s.resident();
      i.user_time = time_value(dead_user);
      i.system_time = time_value(dead_system);
      i.policy = POLICY_TIMESHARE;
      return put(i, TASK_BASIC_INFO_64_COUNT, out, count);
    }
    case MACH_TASK_BASIC_INFO: {
      mach_task_basic_info_data_t i{};
      i.virtual_size = s.stat.vsize;
      i.resident_size = s.resident();
      i.resident_size_max = std::max(s.kb("VmHWM"), i.resident_size);
      i.user_time = time_value(dead_user);
      i.system_time = time_value(dead_system);
      i.policy = POLICY_TIMESHARE;
      return put(i, MACH_TASK_BASIC_INFO_COUNT, out, count);
    }
    case TASK_EVENTS_INFO: {
      task_events_info_data_t e{};
      e.faults = integer_t(s.stat.minflt + s.stat.majflt);
      e.pageins = integer_t(s.stat.majflt);
      e.syscalls_unix = integer_t(field_of(s.io, "syscr") + field_of(s.io, "syscw"));
      e.csw = integer_t(field_of(s.status, "voluntary_ctxt_switches") +
                        field_of(s.status, "nonvoluntary_ctxt_switches"));
      return put(e, TASK_EVENTS_INFO_COUNT, out, count);
    }
    case TASK_THREAD_TIMES_INFO: {
      task_thread_times_info_data_t i{};
      i.user_time = time_value(t.threads_user);
      i.system_time = time_value(t.threads_system);
      return put(i, TASK_THREAD_TIMES_INFO_COUNT, out, count);
    }
    case TASK_ABSOLUTETIME_INFO: {  // mach_absolute_time units are nanoseconds here
      task_absolutetime_info_data_t i{t.total_user, t.total_system, t.threads_user, t.threads_system};
      return put(i, TASK_ABSOLUTETIME_INFO_COUNT, out, count);
    }
    case TASK_VM_INFO:
    case TASK_VM_INFO_PURGEABLE: {
      task_vm_info_data_t v{};
      uint64_t lo = 0, hi = 0;
      region_span(pid, &v.region_count, &lo, &hi);
      v.virtual_size = s.stat.vsize;
      v.page_size = integer_t(s.page);
      v.resident_size = s.resident();
      v.resident_size_peak = std::max(s.kb("VmHWM"), v.resident_size);
      v.internal = s.kb("RssAnon") + s.kb("RssShmem");
      v.internal_peak = v.internal;
      v.external = s.kb("RssFile");
      v.external_peak = v.external;
      v.phys_footprint = s.kb("RssAnon") + s.kb("VmSwap");
      v.min_address = lo;
      v.max_address = hi;
      v.ledger_phys_footprint_peak = int64_t(std::max(v.phys_footprint, v.resident_size_peak));
      v.limit_bytes_remaining = 0;  // no footprint limit
      // The newest revision the caller's count holds (XNU fills in that order).
      mach_msg_type_number_t n = TASK_VM_INFO_REV0_COUNT;
      for (mach_msg_type_number_t r : {TASK_VM_INFO_REV1_COUNT, TASK_VM_INFO_REV2_COUNT, TASK_VM_INFO_REV3_COUNT,
                                       TASK_VM_INFO_REV4_COUNT, TASK_VM_INFO_REV5_COUNT, TASK_VM_INFO_REV6_COUNT,
                                       TASK_VM_INFO_REV7_COUNT})
        if (have >= r) n = r;
      return put(v, n, out, count);
    }
    case TASK_POWER_INFO:
    case TASK_POWER_INFO_V2: {
      task_power_info_v2_data_t p{};
      p.cpu_energy.total_user = t.total_user;
      p.cpu_energy.total_system = t.total_system;
      p.task_ptime = 0;  // time on performance cores: none on Linux's model
      if (flavor == TASK_POWER_INFO) return put(p.cpu_energy, TASK_POWER_INFO_COUNT, out, count);
      return put(p, have >= TASK_POWER_INFO_V2_COUNT ? TASK_POWER_INFO_V2_COUNT : TASK_POWER_INFO_V2_COUNT_OLD, out,
                 count);
    }
    default:
      return KERN_INVALID_ARGUMENT;
  }
}

static_assert(words_of(sizeof(task_vm_info_data_t)) == TASK_VM_INFO_COUNT);

void set_suspend_count(task_flavor_t flavor, integer_t* out, uint32_t suspensions) {
  const integer_t n = integer_t(std::min<uint32_t>(suspensions, INT32_MAX));
  switch (flavor) {
    case TASK_BASIC_INFO_32:
    case TASK_BASIC2_INFO_32:
      memcpy(reinterpret_cast<char*>(out) + offsetof(task_basic_info_32_data_t, suspend_count), &n, sizeof n);
      break;
    case TASK_BASIC_INFO_64:
      memcpy(reinterpret_cast<char*>(out) + offsetof(task_basic_info_64_data_t, suspend_count), &n, sizeof n);
      break;
    case MACH_TASK_BASIC_INFO:
      memcpy(reinterpret_cast<char*>(out) + offsetof(mach_task_basic_info_data_t, suspend_count), &n, sizeof n);
      break;
    default:
      break;
  }
}

}  // namespace machd::kern
