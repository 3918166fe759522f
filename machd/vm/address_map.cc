// machd/vm/address_map.cc — see address_map.h.
#include "address_map.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

namespace machd::vm {

namespace {

bool hex(std::string_view& s, uint64_t* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out, 16);
  if (r.ec != std::errc() || r.ptr == s.data()) return false;
  s.remove_prefix(size_t(r.ptr - s.data()));
  return true;
}

void skip_spaces(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
}

std::string_view word(std::string_view& s) {
  skip_spaces(s);
  size_t n = 0;
  while (n < s.size() && s[n] != ' ' && s[n] != '\t') ++n;
  std::string_view w = s.substr(0, n);
  s.remove_prefix(n);
  return w;
}

// "7f00-7f10 rw-p 00000000 00:00 0   [path]"
bool parse_header(std::string_view line, MapEntry* e) {
  if (!hex(line, &e->start) || line.empty() || line.front() != '-') return false;
  line.remove_prefix(1);
  if (!hex(line, &e->end) || e->end <= e->start) return false;
  std::string_view perms = word(line);
  if (perms.size() != 4) return false;
  e->protection = (perms[0] == 'r' ? VM_PROT_READ : 0) | (perms[1] == 'w' ? VM_PROT_WRITE : 0) |
                  (perms[2] == 'x' ? VM_PROT_EXECUTE : 0);
  e->shared = perms[3] == 's';
  skip_spaces(line);
  if (!hex(line, &e->offset)) return false;
  word(line);  // device
  std::string_view ino = word(line);
  std::from_chars(ino.data(), ino.data() + ino.size(), e->inode);
  skip_spaces(line);
  e->path = std::string(line);
  return true;
}

// "Rss:   12 kB"
bool counter(std::string_view line, std::string_view key, uint64_t* out) {
  if (line.substr(0, key.size()) != key || line.size() <= key.size() || line[key.size()] != ':') return false;
  line.remove_prefix(key.size() + 1);
  std::string_view n = word(line);
  uint64_t kb = 0;
  std::from_chars(n.data(), n.data() + n.size(), kb);
  *out = kb * 1024;
  return true;
}

void parse_vmflags(std::string_view flags, MapEntry* e) {
  vm_prot_t max = VM_PROT_NONE;
  while (true) {
    std::string_view f = word(flags);
    if (f.empty()) break;
    if (f == "mr") max |= VM_PROT_READ;
    if (f == "mw") max |= VM_PROT_WRITE;
    if (f == "me") max |= VM_PROT_EXECUTE;
    if (f == "dc") e->dontfork = true;
  }
  e->max_protection = max | e->protection;
}

}  // namespace

std::vector<MapEntry> parse_maps(std::string_view text) {
  std::vector<MapEntry> out;
  bool in_entry = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    MapEntry e;
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') != std::string_view::npos &&
        line.find(':') > line.find('-') && parse_header(line, &e)) {
      out.push_back(std::move(e));
      in_entry = true;
      continue;
    }
    if (!in_entry) continue;
    MapEntry& cur = out.back();
    if (line.substr(0, 8) == "VmFlags:") {
      parse_vmflags(line.substr(8), &cur);
      cur.detailed = true;
      continue;
    }
    counter(line, "Rss", &cur.rss) || counter(line, "Private_Dirty", &cur.private_dirty) ||
        counter(line, "Shared_Dirty", &cur.shared_dirty) || counter(line, "Private_Clean", &cur.private_clean) ||
        counter(line, "Shared_Clean", &cur.shared_clean) || counter(line, "Swap", &cur.swap);
  }
  return out;
}

std::optional<std::vector<MapEntry>> read_map(pid_t pid, bool detailed) {
  if (pid <= 0) return std::nullopt;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", int(pid), detailed ? "smaps" : "maps");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[16384];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buf, size_t(n));
  }
  close(fd);
  return parse_maps(text);
}

vm_inherit_t inheritance_of(const MapEntry& e) {
  if (e.dontfork) return VM_INHERIT_NONE;
  if (!e.shared) return VM_INHERIT_COPY;
  // The library's vm_allocate memfds are shared only to move without a copy;
  // fork privatizes them (COPY). Anything else shared stays shared.
  std::string_view p = e.path;
  constexpr std::string_view kAlloc = "/memfd:mach-vm";
  if (p.substr(0, kAlloc.size()) == kAlloc && (p.size() == kAlloc.size() || p[kAlloc.size()] == ' '))
    return VM_INHERIT_COPY;
  return VM_INHERIT_SHARE;
}

const MapEntry* entry_at_or_above(const std::vector<MapEntry>& map, uint64_t addr) {
  for (const MapEntry& e : map)
    if (e.end > addr) return &e;
  return nullptr;
}

kern_return_t check_range(const std::vector<MapEntry>& map, uint64_t start, uint64_t end, vm_prot_t need) {
  uint64_t at = start;
  bool prot_ok = true;
  for (const MapEntry& e : map) {
    if (at >= end) break;
    if (e.end <= at) continue;
    if (e.start > at) return KERN_INVALID_ADDRESS;
    if ((e.protection & need) != need) prot_ok = false;
    at = e.end;
  }
  if (at < end) return KERN_INVALID_ADDRESS;
  return prot_ok ? KERN_SUCCESS : KERN_PROTECTION_FAILURE;
}

}  // namespace machd::vm
