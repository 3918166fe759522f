#include "diag.h"

#include <algorithm>
#include <map>

namespace mig {

std::string SourceLoc::str() const {
  if (!file) return "<unknown>";
  return *file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

void Diagnostics::emit(const SourceLoc& loc, const char* kind,
                       const std::string& msg) {
  std::string text = loc.valid() ? loc.str() + ": " + kind + ": " + msg
                                 : std::string("mig: ") + kind + ": " + msg;
  pending_.push_back({loc, std::move(text), pending_.size()});
}

void Diagnostics::flush() {
  std::map<std::string, size_t> rank;
  for (const auto& p : pending_)
    if (p.loc.valid()) rank.emplace(*p.loc.file, rank.size());
  std::stable_sort(pending_.begin(), pending_.end(), [&](const Pending& a, const Pending& b) {
    if (!a.loc.valid() || !b.loc.valid()) return a.seq < b.seq && !b.loc.valid();
    size_t ra = rank[*a.loc.file], rb = rank[*b.loc.file];
    if (ra != rb) return ra < rb;
    if (a.loc.line != b.loc.line) return a.loc.line < b.loc.line;
    if (a.loc.column != b.loc.column) return a.loc.column < b.loc.column;
    return a.seq < b.seq;
  });
  for (const auto& p : pending_) std::fprintf(out_, "%s\n", p.text.c_str());
  pending_.clear();
  std::fflush(out_);
}

void Diagnostics::error(const SourceLoc& loc, const std::string& msg) {
  ++errors_;
  if (errors_ <= kMaxErrors) emit(loc, "error", msg);
  if (errors_ == kMaxErrors + 1)
    emit(SourceLoc{}, "error", "too many errors, further errors suppressed");
}

void Diagnostics::warning(const SourceLoc& loc, const std::string& msg) {
  if (!quiet_) emit(loc, "warning", msg);
}

void Diagnostics::note(const SourceLoc& loc, const std::string& msg) {
  if (errors_ <= kMaxErrors) emit(loc, "note", msg);
}

void Diagnostics::fatal(const std::string& msg) {
  ++errors_;
  emit(SourceLoc{}, "error", msg);
}

}  // namespace mig
