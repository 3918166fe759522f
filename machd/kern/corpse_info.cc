// machd/kern/corpse_info.cc — see corpse_info.h.
#include "corpse_info.h"

#include <kern/kcdata.h>
#include <mach/machine.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

#include "process.h"

namespace machd::kern {

namespace {

constexpr size_t kMaxPathLen = 1024;  // MAXPATHLEN

// Appends kcdata items to a fixed buffer, as XNU's kcdata_get_memory_addr
// lays them out; keeps room for the end marker.
class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& buf) : buf_(buf) {}

  void item(uint32_t type, const void* data, uint32_t size) {
    const uint32_t pad = (-size) & (KCDATA_ALIGNMENT_SIZE - 1);
    const size_t need = sizeof(kcdata_item) + size + pad;
    if (at_ + need + sizeof(kcdata_item) > buf_.size()) return;  // no room: left out
    kcdata_item h{};
    h.type = type;
    h.size = size + pad;
    h.flags = pad | KCDATA_FLAGS_STRUCT_HAS_PADDING;
    memcpy(buf_.data() + at_, &h, sizeof h);
    if (size) memcpy(buf_.data() + at_ + sizeof h, data, size);
    at_ += need;
  }
  template <typename T>
  void value(uint32_t type, const T& v) {
    item(type, &v, sizeof v);
  }
  // A string in a field of `field` bytes (cut to field - 1, NUL-filled).
  void text(uint32_t type, const std::string& s, size_t field) {
    std::vector<char> f(field, '\0');
    memcpy(f.data(), s.data(), std::min(s.size(), field - 1));
    item(type, f.data(), uint32_t(field));
  }
  void end() {
    kcdata_item h{};
    h.type = KCDATA_TYPE_BUFFER_END;
    memcpy(buf_.data() + at_, &h, sizeof h);
  }

 private:
  std::vector<uint8_t>& buf_;
  size_t at_ = 0;
};

// Seconds since the epoch at which the system booted (/proc/stat's btime).
int64_t boot_time() {
  std::ifstream stat("/proc/stat");
  std::string key;
  int64_t v = 0;
  while (stat >> key) {
    if (key == "btime" && (stat >> v)) return v;
    stat.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

}  // namespace

std::vector<uint8_t> corpse_info(const CorpseFacts& f) {
  std::vector<uint8_t> buf(kCorpseInfoSize, 0);
  Writer w(buf);
  w.item(TASK_CRASHINFO_BEGIN, nullptr, 0);
  w.value(TASK_CRASHINFO_EXCEPTION_CODES, f.codes);
  w.value(TASK_CRASHINFO_PID, int32_t(f.pid));
  w.value(TASK_CRASHINFO_PPID, int32_t(f.ppid));
  w.value(TASK_CRASHINFO_CRASHED_THREADID, f.crashed_thread);
  w.text(TASK_CRASHINFO_PROC_NAME, f.name, MAXCOMLEN + 1);
  const timeval64 started{f.start_sec, f.start_usec};
  w.value(TASK_CRASHINFO_PROC_STARTTIME, started);
  w.value(TASK_CRASHINFO_PROC_ARGC, f.argc);
  w.text(TASK_CRASHINFO_PROC_PATH, f.path, kMaxPathLen);
  w.value(TASK_CRASHINFO_UID, f.uid);
  w.value(TASK_CRASHINFO_GID, f.gid);
  const int32_t cpu = CPU_TYPE_X86_64;
  w.value(TASK_CRASHINFO_CPUTYPE, cpu);
  w.value(TASK_CRASHINFO_PROC_CPUTYPE, cpu);
  w.value(TASK_CRASHINFO_TASK_IS_CORPSE_FORK, int32_t(f.generated ? 1 : 0));
  w.value(TASK_CRASHINFO_EXCEPTION_TYPE, f.exception_type);
  w.end();
  return buf;
}

bool read_corpse_facts(pid_t pid, CorpseFacts& f) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream comm(dir + "/comm");
  std::string name;
  if (!std::getline(comm, name)) return false;
  f.pid = pid;
  f.name = name;
  char exe[kMaxPathLen];
  const ssize_t n = readlink((dir + "/exe").c_str(), exe, sizeof exe - 1);
  f.path = n > 0 ? std::string(exe, size_t(n)) : std::string();
  f.ppid = parent_of(pid);
  const uint64_t ticks = start_time_of(pid);
  const long hz = sysconf(_SC_CLK_TCK);
  if (ticks != 0 && hz > 0) {
    f.start_sec = boot_time() + int64_t(ticks / uint64_t(hz));
    f.start_usec = int64_t(ticks % uint64_t(hz)) * 1000000 / hz;
  }
  std::ifstream cmdline(dir + "/cmdline", std::ios::binary);
  const std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  f.argc = 0;
  for (char c : args) f.argc += c == '\0';
  return true;
}

}  // namespace machd::kern
