// machd/kern/corpse_info.h — a corpse's crash information as XNU hands it
// out (task_map_corpse_info_64): a kcdata buffer (<kern/kcdata.h>) of
// XNU's size, CORPSEINFO_ALLOCATION_SIZE, beginning with
// TASK_CRASHINFO_BEGIN and ending with TASK_CRASHINFO_END.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace machd::kern {

// What machd knows of the process a corpse was made of.
struct CorpseFacts {
  pid_t pid = 0;
  pid_t ppid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string name;             // its comm (at most MAXCOMLEN bytes are kept)
  std::string path;             // its executable (at most MAXPATHLEN - 1 bytes)
  int64_t start_sec = 0;        // when it started (wall clock)
  int64_t start_usec = 0;
  int32_t argc = 0;             // words of /proc/PID/cmdline (a process that rewrote its arguments shows those)
  uint64_t crashed_thread = 0;  // thread_identifier_info's thread_id of the crashed (or first) thread
  int32_t exception_type = 0;   // EXC_CRASH for a crash, 0 for task_generate_corpse
  int64_t codes[2] = {};        // the exception codes (EXC_CORPSE_NOTIFY's)
  bool generated = false;       // made by task_generate_corpse (TASK_IS_CORPSE_FORK)
};

// XNU's CORPSEINFO_ALLOCATION_SIZE: every corpse's buffer is this long.
constexpr size_t kCorpseInfoSize = 48 * 1024;

// The buffer: kCorpseInfoSize bytes, the items of `facts` in XNU's order
// (exception codes, pid, ppid, crashed thread, process name, start time,
// argc, path, uid, gid, CPU types, corpse fork, exception type), each
// padded to 16 bytes with its padding in its flags, then the end marker;
// zero after it.
std::vector<uint8_t> corpse_info(const CorpseFacts& facts);

// The facts /proc gives about process `pid` (name, path, parent, start
// time, argc); the rest stays as it is in `facts`. False if `pid` is gone.
bool read_corpse_facts(pid_t pid, CorpseFacts& facts);

}  // namespace machd::kern
