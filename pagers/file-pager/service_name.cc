// pagers/file-pager/service_name.cc — see service_name.h.
#include "service_name.h"

#include <limits.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdio>

namespace filepager {

std::string default_service_name(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) return "";
  const std::string prefix = "file-pager:";
  const std::string full = resolved;
  constexpr size_t kMax = 127;  // a name_t holds 128 bytes with its NUL
  if (prefix.size() + full.size() <= kMax) return prefix + full;
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a, 64 bits
  for (unsigned char c : full) h = (h ^ c) * 0x100000001b3ull;
  char hash[24];
  snprintf(hash, sizeof hash, "%016llx:...", static_cast<unsigned long long>(h));
  const std::string head = prefix + hash;
  return head + full.substr(full.size() - (kMax - head.size()));
}

}  // namespace filepager
